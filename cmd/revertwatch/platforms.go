package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/revertwatch/revertwatch/content"
	"github.com/revertwatch/revertwatch/platforms"
)

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

Without -o the rules go to stdout as one multi-document stream. -o
FILE.yml writes that stream to a file; -o DIR writes one file per rule.
Load them back with 'revertwatch hunt --rules PATH --no-builtin'.

The other formats (sumo, spl, kql, eql, sql) are one file: -o FILE writes
it there, -o DIR/ (an existing directory, or a path ending in /) writes
DIR/revertwatch.<format>.`,
		Example: `  revertwatch rules export --format sigma > revertwatch.yml
  revertwatch rules export --format sigma -o sigma/
  revertwatch rules export --format kql -o queries/`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != platforms.FormatSigma {
				return exportPlatform(cmd, format, out)
			}
			docs, err := platforms.ExportSigma(content.Reverts(), platforms.SigmaOptions{Author: author, Date: date})
			if err != nil {
				return err
			}
			switch {
			case out == "" || out == "-":
				return platforms.WriteSigma(cmd.OutOrStdout(), docs)
			case strings.HasSuffix(out, ".yml") || strings.HasSuffix(out, ".yaml"):
				var b bytes.Buffer
				if err := platforms.WriteSigma(&b, docs); err != nil {
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
	registerOutput(cmd.Flags(), &out, "a directory (sigma: one file per rule; other formats: revertwatch.<format>) or a file; default stdout")
	registerOutAlias(cmd.Flags(), &out)
	cmd.Flags().StringVar(&author, "author", "", "author of the rules (default revertwatch)")
	cmd.Flags().StringVar(&date, "date", "", "date of the rules, YYYY-MM-DD (default the content's date)")
	return cmd
}

// platformGlobs are the inputs the SQL export reads.
type platformGlobs struct{ cloudtrail, azure, gcp string }

var exportGlobs platformGlobs

// addPlatformFlags adds the flags of the non-Sigma export formats to
// 'rules export'.
func addPlatformFlags(fs *pflag.FlagSet) {
	fs.StringVar(&exportGlobs.cloudtrail, "cloudtrail-glob", platforms.DefaultCloudTrailGlob, "sql: CloudTrail files the script reads (S3 delivery files or JSON lines)")
	fs.StringVar(&exportGlobs.azure, "azure-glob", platforms.DefaultAzureGlob, "sql: Azure Activity Log diagnostic exports the script reads")
	fs.StringVar(&exportGlobs.gcp, "gcp-glob", platforms.DefaultGCPGlob, "sql: Cloud Audit Logs entries the script reads (LogEntry JSON lines, as the Cloud Storage sink writes them, or gcloud's JSON array)")
}

// exportPlatform writes the detections for another engine: sumo, spl,
// kql, eql or sql. out is a file, or stdout when empty or "-".
func exportPlatform(cmd *cobra.Command, format, out string) (err error) {
	if !isPlatformFormat(format) {
		return &exitError{code: exitUsage, err: fmt.Errorf("unknown --format %q (want sigma, %s)", format, strings.Join(platforms.Formats, ", "))}
	}
	if out != "" && out != "-" && isDirTarget(out) {
		if err := os.MkdirAll(out, 0o755); err != nil {
			return &exitError{code: exitUsage, err: err}
		}
		out = filepath.Join(out, "revertwatch."+format)
		defer func() {
			if err == nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "wrote the %s queries to %s\n", format, out)
			}
		}()
	}
	return writeTo(cmd.OutOrStdout(), out, func(w io.Writer) error {
		return platforms.Write(w, format, platforms.SQLOptions{CloudTrail: exportGlobs.cloudtrail, Azure: exportGlobs.azure, GCP: exportGlobs.gcp})
	})
}

func isPlatformFormat(f string) bool {
	for _, x := range platforms.Formats {
		if x == f {
			return true
		}
	}
	return false
}

// writeTo runs write on stdout or on a new file.
func writeTo(stdout io.Writer, out string, write func(io.Writer) error) error {
	w, done, err := createOutput(stdout, out)
	if err != nil {
		return err
	}
	err = write(w)
	if derr := done(); err == nil {
		err = derr
	}
	return err
}

// newRulesHuntingCmd is 'revertwatch rules hunting'.
func newRulesHuntingCmd() *cobra.Command {
	var list bool
	cmd := &cobra.Command{
		Use:   "hunting [ID]",
		Short: "Print the hunting queries, runnable with 'revertwatch query'",
		Long: `hunting prints revertwatch's hunting queries: broader than the detections
(snapshots shared out, volumes from snapshots the data never saw made,
principals who rarely stop or start instances, root-device attaches,
deletions, Azure disk exports and restores), in the query language of
'revertwatch query'. Without an id every query is printed under a comment
saying what its rows mean; with an id only that query's text, to run.`,
		Example: `  revertwatch rules hunting --list
  revertwatch query "$(revertwatch rules hunting hunt-volume-from-foreign-snapshot)" logs/`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			w := c.OutOrStdout()
			hs := platforms.Hunts()
			if len(args) == 1 {
				for _, h := range hs {
					if h.ID == args[0] {
						_, err := fmt.Fprintln(w, h.Text)
						return err
					}
				}
				var ids []string
				for _, h := range hs {
					ids = append(ids, h.ID)
				}
				return &exitError{code: exitUsage, err: fmt.Errorf("no hunting query %q (have: %s)", args[0], strings.Join(ids, ", "))}
			}
			for i, h := range hs {
				if list {
					fmt.Fprintf(w, "%s\t%s\n", h.ID, h.Title)
					continue
				}
				if i > 0 {
					fmt.Fprintln(w)
				}
				fmt.Fprintf(w, "// %s: %s\n// %s\n%s\n", h.ID, h.Title, h.Why, h.Text)
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&list, "list", "l", false, "list ids and titles only")
	return cmd
}
