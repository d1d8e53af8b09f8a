package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/revertwatch/revertwatch/tune"
)

// newRulesBenignCmd is `revertwatch rules benign`: the built-in benign
// actors, their version, signatures and sources.
func newRulesBenignCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "benign",
		Short: "List the built-in benign actors (cloud services whose work looks like a revert)",
		Long: `benign lists the cloud services and tools whose normal work looks like a
revert: AWS Backup, Data Lifecycle Manager, Auto Scaling, EC2 Image Builder,
Packer, Azure Backup, Site Recovery, Automation and autoscale. A finding
whose every event was made by one of them has its confidence lowered and is
marked service-initiated; it is never suppressed unless a config entry
names the actor (match: {benign: ID, ...}). Packer's marks are chosen by
the caller, so it only adds context.`,
		Example: `  revertwatch rules benign
  revertwatch rules benign --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch format {
			case "text":
				return writeBenignText(cmd.OutOrStdout(), tune.Builtin())
			case "json":
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				enc.SetEscapeHTML(false)
				return enc.Encode(tune.Builtin())
			}
			return &exitError{code: exitUsage, err: fmt.Errorf("unknown --format %q (want text or json)", format)}
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "text", "output: text or json")
	return cmd
}

func writeBenignText(w io.Writer, set *tune.BenignSet) error {
	fmt.Fprintf(w, "built-in benign actors, version %s\n", set.Version)
	for _, a := range set.Actors {
		var kind []string
		if a.ServiceInitiated {
			kind = append(kind, "service-initiated")
		}
		if a.CallerSet {
			kind = append(kind, "caller-set marks: context only")
		} else {
			kind = append(kind, "lowers confidence")
		}
		fmt.Fprintf(w, "\n%s  %s (%s; %s)\n", a.ID, a.Name, a.Provider, strings.Join(kind, ", "))
		fmt.Fprintf(w, "  %s\n", a.Description)
		for _, s := range a.Signatures {
			fmt.Fprintf(w, "  when: %s\n", s)
		}
		for _, s := range a.Sources {
			fmt.Fprintf(w, "  source: %s\n", s)
		}
	}
	return nil
}
