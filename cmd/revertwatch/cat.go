package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/ingest"
)

func newCatCmd() *cobra.Command {
	var in inputFlags
	var output string
	cmd := &cobra.Command{
		Use:   "cat [flags] PATH...",
		Short: "Print the normalized events of the input, one JSON object per line",
		Long: `cat decodes every input (files, directories, globs, - for stdin; gzip or not;
every CloudTrail and Azure Activity Log format, recognised by content) and
prints one normalized event per line. The raw record is kept under "raw".`,
		Example: `  revertwatch cat testdata/formats
  revertwatch cat --stats 'logs/**/*.json.gz'
  aws cloudtrail lookup-events | revertwatch cat -`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "ndjson" {
				return &exitError{code: exitUsage, err: fmt.Errorf("unknown --output %q (want ndjson)", output)}
			}
			opt, inputs, err := in.options(args)
			if err != nil {
				return err
			}
			w := bufio.NewWriterSize(os.Stdout, 256<<10)
			defer w.Flush()
			enc := json.NewEncoder(w)
			enc.SetEscapeHTML(false)
			h := in.handlers()
			h.Event = func(ev *event.Event) error { return enc.Encode(ev) }
			stop := func() {}
			if in.stats {
				stop = startProgress(opt.Progress, in.quiet)
			}
			sum, err := ingest.Read(cmd.Context(), inputs, opt, h)
			stop()
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			if err := w.Flush(); err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			return finish(sum, in.stats)
		},
	}
	in.register(cmd.Flags())
	cmd.Flags().StringVarP(&output, "output", "o", "ndjson", "output format (ndjson)")
	return cmd
}
