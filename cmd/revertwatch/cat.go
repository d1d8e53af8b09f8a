package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/ingest"
)

func newCatCmd() *cobra.Command {
	var in inputFlags
	var format, output string
	cmd := &cobra.Command{
		Use:   "cat [flags] PATH...",
		Short: "Print the normalized events of the input, one JSON object per line",
		Long: `cat decodes every input (files, directories, globs, - for stdin; gzip or not;
every CloudTrail, Azure Activity Log and Google Cloud Audit Logs format,
and the CloudTrail console's and the Azure portal's CSV downloads,
recognised by content) and
prints one normalized event per line. The raw record is kept under "raw".`,
		Example: `  revertwatch cat testdata/formats
  revertwatch cat --stats 'testdata/formats/**/*.json.gz'
  revertwatch cat -o events.ndjson testdata/formats/azure
  aws cloudtrail lookup-events | revertwatch cat -`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if output == "ndjson" && !cmd.Flags().Changed("format") {
				// -o was the output format before it named a file.
				warnDeprecated("-o ndjson (an output format)", "-o/--output names a file now: use -f/--format ndjson")
				format, output = "ndjson", ""
			}
			if format != "ndjson" {
				return &exitError{code: exitUsage, err: fmt.Errorf("unknown --format %q (want ndjson)", format)}
			}
			opt, inputs, err := in.options(cmd.Context(), args)
			if err != nil {
				return err
			}
			w, done, err := createOutput(cmd.OutOrStdout(), output)
			if err != nil {
				return err
			}
			defer done()
			enc := json.NewEncoder(w)
			enc.SetEscapeHTML(false)
			h := in.handlers()
			h.Event = in.keep(func(ev *event.Event) error { return enc.Encode(ev) })
			stop := func() {}
			if in.stats {
				stop = startProgress(opt.Progress, in.quiet)
			}
			sum, err := ingest.Read(cmd.Context(), inputs, opt, h)
			stop()
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			if err := done(); err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			in.writeSourceSummary(cmd.ErrOrStderr())
			return finish(sum, in.stats)
		},
	}
	in.register(cmd.Flags())
	cmd.Flags().StringVarP(&format, "format", "f", "ndjson", "output format (ndjson)")
	registerOutput(cmd.Flags(), &output, "write the events to this file instead of standard output")
	return cmd
}
