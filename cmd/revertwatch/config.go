package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/revertwatch/revertwatch/content"
	"github.com/revertwatch/revertwatch/tune"
)

// configEnv names the tuning config when --config is not given.
const configEnv = "REVERTWATCH_CONFIG"

// configFlag is the --config flag of the commands that detect (hunt,
// watch, serve), defaulting to $REVERTWATCH_CONFIG.
type configFlag struct {
	path string
}

func (c *configFlag) register(fs *pflag.FlagSet) {
	fs.StringVar(&c.path, "config", "", "tuning config, YAML (see examples/revertwatch.yaml); default $"+configEnv)
}

// file is the config to read: the flag, else the environment, else "".
func (c *configFlag) file() string {
	if c.path != "" {
		return c.path
	}
	return os.Getenv(configEnv)
}

// load reads the config and prints its warnings (expired entries, rules
// that match no detection) to w. With no config named it returns
// tune.Default(): the built-in benign actors and default engine settings.
// An invalid config is a usage error (exit 2) listing every problem as
// FILE:LINE:COL: message.
func (c *configFlag) load(w io.Writer) (*tune.Config, error) {
	path := c.file()
	if path == "" {
		return tune.Default(), nil
	}
	cfg, err := tune.Load(path)
	if err != nil {
		var ds tune.Diagnostics
		if errors.As(err, &ds) {
			return nil, &exitError{code: exitUsage, err: fmt.Errorf("invalid config (%d error(s)):\n%w", ds.Errors(), err)}
		}
		return nil, &exitError{code: exitUsage, err: err}
	}
	for _, d := range append(cfg.Warnings, cfg.CheckRules(ruleIDs())...) {
		fmt.Fprintln(w, d)
	}
	return cfg, nil
}

// ruleIDs are the ids of the built-in detections, which allow entries may
// be limited to.
func ruleIDs() []string {
	var ids []string
	for _, d := range content.Reverts() {
		ids = append(ids, d.ID())
	}
	return ids
}

func newConfigCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "config",
		Short:   "Check tuning config files",
		Example: `  revertwatch config check examples/revertwatch.yaml`,
	}
	var verbose, strict bool
	check := &cobra.Command{
		Use:   "check [flags] FILE...",
		Short: "Validate tuning config files; errors are printed as FILE:LINE:COL: message",
		Long: `check reads each config file as hunt --config would and reports every
problem with its line and column: unknown keys, bad globs, CIDRs, durations,
time windows, entries too weak to be safe (a user agent alone, or a single
attribute without single_attribute: true). It warns about entries that have
expired or expire within two weeks, and rules that match no detection.

Exit status: 0 when every file is valid (warnings allowed), 2 when any has
errors (or, with --strict, warnings).`,
		Example: `  revertwatch config check examples/revertwatch.yaml
  revertwatch config check -v --strict revertwatch.yaml`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			failed := false
			for _, path := range args {
				if !checkConfigFile(cmd.OutOrStdout(), cmd.ErrOrStderr(), path, verbose, strict) {
					failed = true
				}
			}
			if failed {
				return &exitError{code: exitUsage}
			}
			return nil
		},
	}
	check.Flags().BoolVarP(&verbose, "verbose", "v", false, "list the engine settings and every allow entry")
	check.Flags().BoolVar(&strict, "strict", false, "treat warnings as errors (for CI)")
	cmd.AddCommand(check)
	return cmd
}

// checkConfigFile reports on one file and says whether it passed.
func checkConfigFile(stdout, stderr io.Writer, path string, verbose, strict bool) bool {
	cfg, err := tune.Load(path)
	if err != nil {
		var ds tune.Diagnostics
		if !errors.As(err, &ds) {
			fmt.Fprintln(stderr, err)
			return false
		}
		for _, d := range ds {
			fmt.Fprintln(stderr, d)
		}
		fmt.Fprintf(stderr, "%s: %d error(s)\n", path, ds.Errors())
		return false
	}
	warnings := append(cfg.Warnings, cfg.CheckRules(ruleIDs())...)
	for _, d := range warnings {
		fmt.Fprintln(stderr, d)
	}
	drops := 0
	for _, e := range cfg.Entries {
		if e.Action == tune.Drop {
			drops++
		}
	}
	fmt.Fprintf(stdout, "%s: ok: %d allow entries (%d drop), %d warning(s)\n", path, len(cfg.Entries), drops, len(warnings))
	if verbose {
		writeConfig(stdout, cfg)
	}
	return !(strict && len(warnings) > 0)
}

// writeConfig lists the settings and entries as the tool understood them.
func writeConfig(w io.Writer, cfg *tune.Config) {
	fmt.Fprintf(w, "  lateness %s, window %s, repeat window %s\n", cfg.Lateness, cfg.Window, cfg.RepeatWindow)
	now := cfg.Now()
	for _, e := range cfg.Entries {
		state := e.Action.String()
		if e.Action == tune.Downgrade {
			state += " to " + e.Severity.String()
		}
		if e.Expired(now) {
			state += ", expired"
		} else if !e.Expires.IsZero() {
			state += ", through " + e.ExpiresText()
		}
		rules := "all rules"
		if len(e.Rules) > 0 {
			rules = strings.Join(e.Rules, ",")
		}
		fmt.Fprintf(w, "  %d:%d %s (%s; %s)\n      %s\n", e.Line, e.Column, e.Name, state, rules, e.Match)
	}
}
