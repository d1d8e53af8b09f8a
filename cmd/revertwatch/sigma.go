package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/revertwatch/revertwatch/content"
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

// newRulesExportCmd is `revertwatch rules export`.
func newRulesExportCmd() *cobra.Command {
	var format, out, author, date string
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write the built-in revert detections as portable Sigma rules",
		Long: `export writes the built-in detections as Sigma (specification 2.1): a
detection rule per step of each sequence and per native-revert API
(logsource aws/cloudtrail or azure/activitylogs), and for each sequence a
temporal_ordered correlation rule that joins the steps on the keys one
step's response gives the next one's request, with group-by, timespan and
aliases. Ids are UUIDv5 of the rule names: the same on every export.

Without --out the rules go to stdout as one multi-document stream. --out
FILE.yml writes that stream to a file; --out DIR writes one file per rule.
Load them back with 'revertwatch hunt --rules PATH --no-builtin'.`,
		Example: `  revertwatch rules export --format sigma > revertwatch.yml
  revertwatch rules export --format sigma --out sigma/`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "sigma" {
				return exportPlatform(cmd, format, out)
			}
			docs, err := sigma.Export(content.Reverts(), sigma.ExportOptions{Author: author, Date: date})
			if err != nil {
				return err
			}
			switch {
			case out == "" || out == "-":
				return sigma.WriteStream(cmd.OutOrStdout(), docs)
			case strings.HasSuffix(out, ".yml") || strings.HasSuffix(out, ".yaml"):
				var b bytes.Buffer
				if err := sigma.WriteStream(&b, docs); err != nil {
					return err
				}
				return os.WriteFile(out, b.Bytes(), 0o644)
			}
			if err := os.MkdirAll(out, 0o755); err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			for _, d := range docs {
				if err := os.WriteFile(filepath.Join(out, d.Name), d.YAML, 0o644); err != nil {
					return &exitError{code: exitUsage, err: err}
				}
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "wrote %d Sigma rules to %s\n", len(docs), out)
			return nil
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "sigma", "output format: sigma, sumo, spl, kql, eql or sql")
	addPlatformFlags(cmd.Flags())
	cmd.Flags().StringVarP(&out, "out", "o", "", "a directory (one file per rule) or a .yml file (one stream); default stdout")
	cmd.Flags().StringVar(&author, "author", "", "author of the rules (default revertwatch)")
	cmd.Flags().StringVar(&date, "date", "", "date of the rules, YYYY-MM-DD (default the content's date)")
	return cmd
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
		Example: `  revertwatch rules lint rules/
  revertwatch rules lint --format json mr_failed_logins.yml`,
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
