package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/revertwatch/revertwatch/content"
)

func newRulesCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "List and show the built-in detection content",
		Example: `  revertwatch rules list
  revertwatch rules show t1578.004-sumo
  revertwatch rules export --format sigma -o sigma/
  revertwatch rules benign`,
	}
	cmd.AddCommand(newRulesBenignCmd())
	cmd.AddCommand(newRulesExportCmd())
	cmd.AddCommand(newRulesHuntingCmd())
	cmd.AddCommand(newRulesLintCmd())
	cmd.AddCommand(&cobra.Command{
		Use:     "list",
		Short:   "List the built-in detections and queries",
		Example: `  revertwatch rules list`,
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			for _, d := range content.Reverts() {
				fmt.Fprintf(c.OutOrStdout(), "%s\tdetection\t%s\n", d.ID(), d.Title)
			}
			for _, q := range content.Queries() {
				fmt.Fprintf(c.OutOrStdout(), "%s\t%s\t%s\n", q.ID, q.Language, q.Title)
			}
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:     "show ID",
		Short:   "Print a built-in query exactly as published",
		Example: `  revertwatch rules show t1578.004-sumo`,
		Args:    cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			q, ok := content.Query(args[0])
			if !ok {
				return &exitError{code: exitUsage, err: fmt.Errorf("no built-in query %q (have: %s)", args[0], builtinIDs())}
			}
			_, err := fmt.Fprint(c.OutOrStdout(), q.Text)
			return err
		},
	})
	return cmd
}
