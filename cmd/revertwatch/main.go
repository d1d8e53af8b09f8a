// Command revertwatch detects MITRE ATT&CK T1578.004, Revert Cloud Instance,
// in AWS CloudTrail and Azure Activity Log records.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/revertwatch/revertwatch/internal/suggest"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

// Exit codes (documented in README.md).
const (
	exitOK       = 0
	exitUsage    = 2 // usage error, or nothing readable
	exitRejected = 3 // some input rejected; the good part was processed
)

// exitError carries an exit code out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

func main() {
	root := newRootCmd()
	stopProfiles := startProfiles()
	err := root.Execute()
	stopProfiles()
	if err == nil {
		return
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(os.Stderr, "revertwatch:", ee.err)
		}
		os.Exit(ee.code)
	}
	fmt.Fprintln(os.Stderr, "revertwatch:", err)
	os.Exit(exitUsage)
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "revertwatch",
		Short: "Detect cloud instances rolled back to hide an intrusion (ATT&CK T1578.004)",
		Long: `revertwatch reads AWS CloudTrail and Azure Activity Log records, in every
delivery format, and finds instances and disks reverted to an earlier
snapshot or image, or stop/started to wipe ephemeral storage.`,
		Example: `  revertwatch validate                       # what it detects, on built-in emulated logs
  revertwatch hunt testdata/formats          # hunt the committed sample logs
  revertwatch hunt --format sarif logs/ > findings.sarif`,
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &exitError{code: exitUsage, err: fmt.Errorf("%w\nrun '%s --help' for usage", err, c.CommandPath())}
	})
	root.AddCommand(newCatCmd())
	root.AddCommand(newEmulateCmd())
	root.AddCommand(newHuntCmd())
	root.AddCommand(newExplainCmd())
	root.AddCommand(newValidateCmd())
	root.AddCommand(newQueryCmd())
	root.AddCommand(newRulesCmd())
	root.AddCommand(newConfigCmd())
	root.AddCommand(newWatchCmd())
	root.AddCommand(newServeCmd())
	root.AddCommand(newPullCmd())
	root.AddCommand(newManCmd())
	for _, c := range root.Commands() {
		refuseUnknown(c)
	}
	return root
}

// refuseUnknown makes a command group (rules, config) refuse an unknown
// subcommand with a usage error and a suggestion, as the root does, instead
// of printing its help and exiting 0.
func refuseUnknown(c *cobra.Command) {
	if c.HasSubCommands() && c.Run == nil && c.RunE == nil {
		c.Args = cobra.ArbitraryArgs
		c.RunE = func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return c.Help()
			}
			msg := fmt.Sprintf("unknown command %q for %q", args[0], c.CommandPath())
			var names []string
			for _, sub := range c.Commands() {
				if sub.IsAvailableCommand() {
					names = append(names, sub.Name())
				}
			}
			if s := suggest.Closest(args[0], names); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			}
			return &exitError{code: exitUsage, err: fmt.Errorf("%s\nrun '%s --help' for usage", msg, c.CommandPath())}
		}
	}
	for _, sub := range c.Commands() {
		refuseUnknown(sub)
	}
}
