package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/revertwatch/revertwatch/content"
	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/ingest"
	"github.com/revertwatch/revertwatch/internal/jsonx"
	"github.com/revertwatch/revertwatch/query"
	qsyntax "github.com/revertwatch/revertwatch/query/syntax"
	"github.com/revertwatch/revertwatch/source"
)

func newQueryCmd() *cobra.Command {
	var in inputFlags
	var file, builtin, format, output, dialect, lookupDir string
	var explain, nullDrop bool
	cmd := &cobra.Command{
		Use:   "query [flags] 'QUERY' PATH...",
		Short: "Run a Sumo Logic pipeline query over the input",
		Long: `query runs a Sumo Logic search query (scope, then | stages) over local
CloudTrail and Azure Activity Log files. Fields resolve from the record
(after json auto) first, then from the seed aliases operationName, caller,
resourceGroup, _sourceHost and _sourceCategory, so one query works on every
format. The compat dialect (default) also takes the Splunk forms of the seed
detection (eval, stats, matches() as a call); --dialect sumo rejects them.`,
		Example: `  revertwatch query --builtin t1578.004-sumo logs/
  revertwatch query '| json auto | count by operationName' logs/
  revertwatch query --file detect.sumo -f json -o rows.ndjson logs/
  revertwatch query --explain --builtin t1578.004-sumo`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !validQueryFormat(format) && file == "" {
				// -f was --file before it was --format.
				if info, err := os.Stat(format); err == nil && info.Mode().IsRegular() {
					warnDeprecated(fmt.Sprintf("-f %s (a query file)", format), "-f is --format now: use --file "+format)
					file, format = format, "table"
				}
			}
			if !validQueryFormat(format) {
				return &exitError{code: exitUsage, err: fmt.Errorf("unknown --format %q (want table, json or csv; a query file is --file)", format)}
			}
			src, args, err := querySource(file, builtin, args)
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			d, ok := query.ParseDialect(dialect)
			if !ok {
				return &exitError{code: exitUsage, err: fmt.Errorf("unknown --dialect %q (want compat or sumo)", dialect)}
			}
			opts := query.DefaultOptions()
			opts.Dialect = d
			opts.LookupDir = lookupDir
			if nullDrop {
				opts.Semantics.KeepNullGroups = false
			}
			prog, err := query.Compile(src, opts)
			if err != nil {
				var qe *qsyntax.Errors
				if errors.As(err, &qe) {
					fmt.Fprintln(cmd.ErrOrStderr(), err)
					return &exitError{code: exitUsage, err: fmt.Errorf("%d error(s) in the query", len(qe.List))}
				}
				return &exitError{code: exitUsage, err: err}
			}
			if explain {
				fmt.Fprint(cmd.OutOrStdout(), prog.Explain())
				if len(args) == 0 {
					return nil
				}
			}
			for _, w := range prog.Warnings() {
				fmt.Fprintln(os.Stderr, "revertwatch: warning:", w)
			}
			opt, inputs, err := in.options(cmd.Context(), args)
			if err != nil {
				return err
			}
			// The query reads the record and the seed aliases, nothing
			// else of an event: most records need no full decode.
			opt.QueryFields = true
			run := prog.NewRunner()
			countRefused := func() {}
			if prog.Parallel() {
				// The per-record stages and the aggregation run in the
				// decoding goroutines, on the members the reader found:
				// only the partial aggregations leave them, at the end.
				opt.NewSelect, countRefused = in.selectWorker(run)
			}
			h := in.handlers()
			h.Event = in.keep(func(ev *event.Event) error {
				run.Push(ev)
				return nil
			})
			stop := startProgress(opt.Progress, in.quiet)
			sum, err := ingest.Read(cmd.Context(), inputs, opt, h)
			stop()
			countRefused()
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			res := run.Finish()
			w, done, err := createOutput(cmd.OutOrStdout(), output)
			if err != nil {
				return err
			}
			defer done()
			switch format {
			case "json":
				err = res.WriteJSON(w)
			case "csv":
				err = res.WriteCSV(w)
			default:
				err = res.WriteTable(w)
			}
			if err == nil {
				err = done()
			}
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			if explain {
				fmt.Fprintln(cmd.ErrOrStderr(), "aliases used in this run (lookups answered by an alias):")
				if len(res.AliasUse) == 0 {
					fmt.Fprintln(cmd.ErrOrStderr(), "  none")
				}
				for _, u := range res.AliasUse {
					fmt.Fprintf(cmd.ErrOrStderr(), "  %-15s %d\n", u.Name, u.Count)
				}
			}
			if len(res.Rows) == 0 && format == "table" {
				fmt.Fprintln(cmd.ErrOrStderr(), "revertwatch: no rows")
			}
			for _, msg := range res.Warnings {
				fmt.Fprintln(os.Stderr, "revertwatch: warning:", msg)
			}
			if res.Stats.BadRecords > 0 {
				fmt.Fprintf(os.Stderr, "revertwatch: %d record(s) failed in the query engine and were skipped\n", res.Stats.BadRecords)
			}
			if in.stats {
				fmt.Fprintf(os.Stderr, "query: events=%d in-scope=%d rows=%d bad-records=%d\n",
					res.Stats.Events, res.Stats.InScope, res.Stats.Rows, res.Stats.BadRecords)
			}
			in.writeSourceSummary(os.Stderr)
			return finish(sum, in.stats)
		},
	}
	in.register(cmd.Flags())
	f := cmd.Flags()
	f.StringVar(&file, "file", "", "read the query from `FILE`")
	f.StringVar(&builtin, "builtin", "", "run the built-in query `ID` (see rules show)")
	f.StringVarP(&format, "format", "f", "table", "output format: table, json (one object per row) or csv")
	registerOutput(f, &output, "write the rows to this file instead of standard output")
	f.StringVar(&dialect, "dialect", "compat", "compat (Sumo plus the seed's Splunk forms) or sumo (Sumo only)")
	f.BoolVar(&explain, "explain", false, "print the lowered plan and the seed aliases it may use")
	f.StringVar(&lookupDir, "lookup-dir", ".", "directory that lookup table paths are relative to")
	f.BoolVar(&nullDrop, "drop-null-groups", false, "drop rows whose group-by key is null (Splunk behaviour)")
	return cmd
}

func validQueryFormat(f string) bool { return f == "table" || f == "json" || f == "csv" }

// querySource picks the query text from --file, --builtin or the first
// argument, and returns the remaining arguments as paths.
func querySource(file, builtin string, args []string) (string, []string, error) {
	switch {
	case file != "" && builtin != "":
		return "", nil, fmt.Errorf("give either --file or --builtin, not both")
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", nil, err
		}
		return string(b), args, nil
	case builtin != "":
		q, ok := content.Query(builtin)
		if !ok {
			return "", nil, fmt.Errorf("no built-in query %q (have: %s)", builtin, builtinIDs())
		}
		return q.Text, args, nil
	case len(args) == 0:
		return "", nil, fmt.Errorf("no query: give it as the first argument, with --file FILE or with --builtin ID")
	}
	return args[0], args[1:], nil
}

func builtinIDs() string {
	var ids []string
	for _, q := range content.Queries() {
		ids = append(ids, q.ID)
	}
	return strings.Join(ids, ", ")
}

// selectWorker returns an ingest.Options.NewSelect that hands each
// partial event to a query.Worker of run in the decoding goroutine, after
// the record filters, and nothing on; and a function that adds the
// records the filters refused there to what keep counts, once Read has
// returned.
func (f *inputFlags) selectWorker(run *query.Runner) (func() func(*event.Event, []jsonx.Member) ingest.Selection, func()) {
	var mu sync.Mutex
	var refused source.Counts
	var filter *source.Filter
	if f.run != nil && f.run.filter.Active() {
		filter = f.run.filter
	}
	newSelect := func() func(*event.Event, []jsonx.Member) ingest.Selection {
		w := run.NewWorker()
		return func(ev *event.Event, members []jsonx.Member) ingest.Selection {
			if filter != nil {
				if why := filter.Keep(ev); why != source.Kept {
					mu.Lock()
					refused.Add(why)
					mu.Unlock()
					return ingest.SelectDrop
				}
			}
			w.Push(ev, members)
			return ingest.SelectDrop
		}
	}
	return newSelect, func() {
		if f.run == nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		for i, n := range refused {
			f.run.records[i] += n
		}
		refused = source.Counts{}
	}
}
