package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/revertwatch/revertwatch/sigma"
)

// exitLint is 'rules lint”s exit code when a rule has an error or uses
// something revertwatch does not run.
const exitLint = 1

// sigmaFlags are the flags for Sigma rules of hunt, watch and serve.
type sigmaFlags struct {
	paths     []string
	noBuiltin bool
	config    string
}

func (f *sigmaFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringArrayVar(&f.paths, "rules", nil, "Sigma rules to run (file or directory, repeatable): detection, correlation and filter rules")
	cmd.Flags().BoolVar(&f.noBuiltin, "no-builtin", false, "run only the --rules, not the built-in revert detections")
	cmd.Flags().StringVar(&f.config, "sigma-config", "", "Sigma field mappings and placeholder values (YAML: fieldmappings, placeholders)")
}

// load reads the rules; every problem goes to w as FILE:LINE:COL, and the
// rules without one run.
func (f *sigmaFlags) load(w io.Writer) (*sigma.Ruleset, error) {
	if len(f.paths) == 0 {
		if f.noBuiltin {
			return nil, &exitError{code: exitUsage, err: fmt.Errorf("--no-builtin needs --rules: there would be nothing to run")}
		}
		if f.config != "" {
			return nil, &exitError{code: exitUsage, err: fmt.Errorf("--sigma-config needs --rules")}
		}
		return nil, nil
	}
	rs, err := loadRuleset(f.paths, f.config)
	if err != nil {
		return nil, err
	}
	for _, p := range rs.Problems {
		fmt.Fprintln(w, p)
	}
	if len(rs.Problems) > 0 {
		fmt.Fprintf(w, "sigma: %d rules run; %d problems above (rules with an error or an unsupported construct do not run)\n",
			len(rs.Rules), len(rs.Problems))
	}
	return rs, nil
}

func loadRuleset(paths []string, config string) (*sigma.Ruleset, error) {
	var cfg *sigma.Config
	if config != "" {
		c, err := sigma.LoadConfig(config)
		if err != nil {
			return nil, &exitError{code: exitUsage, err: err}
		}
		cfg = c
	}
	rs, err := sigma.Load(paths, cfg)
	if err != nil {
		return nil, &exitError{code: exitUsage, err: err}
	}
	return rs, nil
}

// newRulesLintCmd is `revertwatch rules lint`.
func newRulesLintCmd() *cobra.Command {
	var format, config, schemas string
	var strict bool
	cmd := &cobra.Command{
		Use:   "lint PATH...",
		Short: "Check Sigma rule files against the schemas and for semantic problems",
		Long: `lint checks Sigma rule files (detection, correlation and filter rules)
against the rules of the Sigma schemas (and, with --schemas DIR, the
specification's JSON schema files themselves) and for what a schema cannot see: conditions
naming unknown search identifiers, unknown modifiers, bad regular
expressions, correlations naming missing rules or cycles, aliases of
unknown rules, duplicate ids, search identifiers no condition uses. Every
problem is reported as FILE:LINE:COL. It also says which rules revertwatch
cannot run and why (an unsupported construct).

The exit code is 1 when there is an error or an unsupported construct (with
--strict, a warning too), else 0.`,
		Example: `  revertwatch rules lint my-rules/
  revertwatch rules lint --format json my-rules/aws_stop_start_stop.yml`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var cfg *sigma.Config
			if config != "" {
				c, err := sigma.LoadConfig(config)
				if err != nil {
					return &exitError{code: exitUsage, err: err}
				}
				cfg = c
			}
			res, err := sigma.LintPaths(args, sigma.LintOptions{Config: cfg, SchemaDir: schemas})
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			w := cmd.OutOrStdout()
			switch format {
			case "text":
				for _, p := range res.Problems {
					fmt.Fprintln(w, p)
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "lint: %d files, %d rules, %d run; %d errors, %d unsupported, %d warnings\n",
					res.Files, res.Rules, res.Runnable, res.Count(sigma.SevError), res.Count(sigma.SevUnsupported), res.Count(sigma.SevWarning))
			case "json":
				enc := json.NewEncoder(w)
				enc.SetEscapeHTML(false)
				for _, p := range res.Problems {
					if err := enc.Encode(p); err != nil {
						return err
					}
				}
			default:
				return &exitError{code: exitUsage, err: fmt.Errorf("unknown --format %q (want text or json)", format)}
			}
			if res.Count(sigma.SevError)+res.Count(sigma.SevUnsupported) > 0 || strict && res.Count(sigma.SevWarning) > 0 {
				return &exitError{code: exitLint}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "text", "output: text (FILE:LINE:COL: severity: message) or json (one problem a line)")
	cmd.Flags().StringVar(&config, "sigma-config", "", "field mappings and placeholder values (YAML)")
	cmd.Flags().BoolVar(&strict, "strict", false, "exit 1 on warnings too")
	cmd.Flags().StringVar(&schemas, "schemas", "", "also validate against the specification's JSON schemas in this directory")
	return cmd
}
