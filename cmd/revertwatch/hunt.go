package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/revertwatch/revertwatch/detect"
	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/explain"
	"github.com/revertwatch/revertwatch/finding"
	"github.com/revertwatch/revertwatch/ingest"
	"github.com/revertwatch/revertwatch/level"
	"github.com/revertwatch/revertwatch/tune"
)

// exitFindings is hunt's exit code for findings with --fail-on-findings.
const exitFindings = 1

// maxLateReports caps the late events named one by one on stderr; the
// rest are counted in the summary.
const maxLateReports = 20

func newHuntCmd() *cobra.Command {
	var in inputFlags
	var cfg configFlag
	var format, output, color string
	var summary bool
	var lateness time.Duration
	var budget sizeFlag = detect.DefaultMemoryBudget
	var spillDir string
	var failOnFindings, showSuppressed, eachHit bool
	var minSeverity string
	var sig sigmaFlags
	var explainFormat string
	cmd := &cobra.Command{
		Use:   "hunt [flags] PATH...",
		Short: "Find reverted instances and disks in CloudTrail and Azure Activity Logs",
		Long: `hunt reads the input once and reports every revert it finds: an EC2 stop and
start, a volume restored from a snapshot and attached, an Azure disk copied
from a snapshot and swapped into a VM, an image registered from a snapshot
and launched, the chains that start at the snapshot, and the native restore
APIs (replace root volume, AWS Backup, RDS, Azure reimage and Backup).

hunt is exact at rest: the findings, their ids, evidence and order are the
same for any order of records and files and any time span (a 90-day
newest-first export from 'aws cloudtrail lookup-events' or 'az monitor
activity-log list' included). The events the rules need are held and run
through the rules in event-time order once the input is read; past
--memory-budget they spill to sorted runs in a temporary directory
(--spill-dir), removed on exit and on Ctrl-C. Nothing is late at rest.
A Sigma rule of one record (--rules) fires as the record is read; its
findings spill the same way, so a rule that fires on most records costs
output, not memory.

--lateness reproduces the live daemon instead: events stream through the
rules as they are read, and one later than the lateness is replayed in its
place (the finding says it was late).`,
		Example: `  revertwatch hunt testdata/formats
  revertwatch hunt -o findings.sarif testdata/formats
  revertwatch hunt --format ocsf -o findings.ocsf.json 'testdata/formats/**/*.json.gz'
  revertwatch hunt --explain html -o bundles.html testdata/formats`,
		RunE: func(cmd *cobra.Command, args []string) error {
			explainFormat, args = explainArg(cmd, explainFormat, args)
			if format == "" {
				format = huntFormatFor(output)
			}
			if !validFormat(format) {
				return &exitError{code: exitUsage, err: fmt.Errorf("unknown --format %q (want %s)", format, strings.Join(finding.Formats, ", "))}
			}
			conf, err := cfg.load(os.Stderr)
			if err != nil {
				return err
			}
			minLevel, ok := level.ParseInput(minSeverity)
			if minSeverity != "" && !ok {
				return &exitError{code: exitUsage, err: fmt.Errorf("unknown --min-severity %q (want informational, low, medium, high or critical)", minSeverity)}
			}
			ctx, stopSignals := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stopSignals()
			opt, inputs, err := in.options(ctx, args)
			if err != nil {
				return err
			}
			atRest := !cmd.Flags().Changed("lateness")
			start := time.Now()
			lateSeen := 0
			rules, err := sig.load(os.Stderr)
			if err != nil {
				return err
			}
			det, err := detect.New(detect.Options{
				Lateness: lateness, Config: conf, Rules: rules, NoBuiltin: sig.noBuiltin,
				AtRest: atRest, MemoryBudget: int64(budget), SpillDir: spillDir, EachHit: eachHit,
				OnLate: func(ev *event.Event) {
					lateSeen++
					if lateSeen <= maxLateReports {
						fmt.Fprintf(os.Stderr, "%s:%d: late: %s %s at %s arrived beyond the allowed lateness; replayed in its place\n",
							ev.Source.Name, ev.Source.Line, ev.OperationName, ev.UID, ev.Time.UTC().Format(time.RFC3339))
					}
				},
			})
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			defer func() {
				if det != nil {
					det.Close()
				}
			}()
			// Events of operations no rule uses only move the watermark:
			// they are decoded partially, which is most of the input.
			opt.Want = det.Wants
			if !atRest {
				// The watermark follows the input: read the files in the
				// order of their first event, not of their names.
				inputs = ingest.SortByTime(ctx, inputs, opt)
			}
			idx, err := huntExplainIndex(explainFormat, inputs)
			if err != nil {
				return err
			}
			if idx != nil {
				// Partial decoding stays on: the bundles' calls are
				// read again once the findings are known.
				opt.Want = idx.Want(opt.Want)
				opt.NewSelect = idx.NewSelect()
			}
			if idx == nil && in.keeps() == nil {
				// Single-record Sigma rules fire as the records are
				// decoded, on every core; only what the other rules
				// need comes on to the detector.
				opt.NewFilter = det.DecoderFilter()
			}
			h := in.handlers()
			if idx != nil {
				h.File = chainFile(h.File, idx.File)
			}
			// The summary names the files that could not be read: their
			// errors scroll past among the diagnostics.
			var unreadable fileErrors
			printDiag := h.Diag
			h.Diag = func(d ingest.Diag) {
				unreadable.add(d)
				printDiag(d)
			}
			h.Event = in.keep(func(ev *event.Event) error {
				if idx != nil {
					// Before the detector, which may take the
					// record's bytes to a file.
					idx.Add(ev)
				}
				det.Process(ev)
				return nil
			})
			stop := startProgress(opt.Progress, in.quiet)
			sum, err := ingest.Read(ctx, inputs, opt, h)
			stop()
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			if err := det.FlushContext(ctx); err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			// NDJSON goes out as the findings come back in order, without
			// holding them: a noisy Sigma rule may make one per event.
			stream := format == finding.FormatNDJSON && idx == nil && minSeverity == "" && !summary && !failOnFindings
			if stream {
				return huntStream(cmd, det, output, sum, conf, start, &unreadable, &in)
			}
			if n := det.Spooled(); n > manyFindings {
				fmt.Fprintf(os.Stderr, "hunt: about %d findings of single-record Sigma rules; --format %s holds them all in memory, --format ndjson (without --min-severity, --summary, --fail-on-findings or --explain) writes them as they come\n", n, format)
			}
			fs, infos := det.Findings(), det.Rules()
			if err := det.Close(); err != nil {
				return &exitError{code: exitUsage, err: fmt.Errorf("%w: the findings are incomplete", err)}
			}
			dsum := det.Summary()
			if minSeverity != "" {
				var below int
				fs, below = atLeast(fs, minLevel)
				if below > 0 {
					fmt.Fprintf(os.Stderr, "hunt: %d finding(s) below --min-severity %s left out\n", below, minLevel)
				}
			}
			// The rules' state is not needed any more: the bundles'
			// second read has the memory.
			det, opt.Want = nil, nil
			shown := fs
			if format == finding.FormatTable && !showSuppressed {
				shown = nil
				for _, f := range fs {
					if !f.Suppressed {
						shown = append(shown, f)
					}
				}
			}
			w, done, err := createOutput(cmd.OutOrStdout(), output)
			if err != nil {
				return err
			}
			defer done()
			toTerminal := (output == "" || output == "-") && term.IsTerminal(int(os.Stdout.Fd()))
			switch {
			case idx != nil:
				err = explainHunt(ctx, w, explainFormat, fs, showSuppressed, idx, inputs, opt, in.keeps())
			case format == finding.FormatTable:
				topt, cerr := tableOptions(color, toTerminal)
				if cerr != nil {
					return cerr
				}
				err = finding.WriteTableWith(w, shown, topt)
				if err == nil && (summary || toTerminal) {
					fmt.Fprintln(w)
					err = finding.WriteSummary(w, fs)
				}
			default:
				err = finding.Write(w, format, shown, infos, version)
			}
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			if err := done(); err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			if summary && (format != finding.FormatTable || idx != nil) {
				finding.WriteSummary(os.Stderr, fs)
			}
			writeHuntTail(sum, dsum, conf, start, &unreadable, &in)
			if failOnFindings && len(fs) > 0 {
				return &exitError{code: exitFindings}
			}
			return finish(sum, false)
		},
	}
	in.register(cmd.Flags())
	cfg.register(cmd.Flags())
	cmd.Flags().StringVarP(&format, "format", "f", "", "output: table, ndjson, ocsf or sarif (default: from the -o file's extension, .sarif or .ocsf.json; else table on a terminal, ndjson otherwise)")
	registerOutput(cmd.Flags(), &output, "write the findings (or, with --explain, the bundles) to this file instead of standard output")
	cmd.Flags().StringVar(&color, "color", "auto", "colour severities in the table: auto (on a terminal, unless NO_COLOR is set), always or never")
	cmd.Flags().BoolVar(&summary, "summary", false, "end with the overview: counts by severity and rule, and per account and actor the first and last revert (after the table; on stderr with the other formats); the table on a terminal always has it")
	cmd.Flags().DurationVar(&lateness, "lateness", 0, "stream like the live daemon instead of exact at rest: events later than this are replayed in their place")
	cmd.Flags().Var(&budget, "memory-budget", "memory for the events the rules need, and apart for the findings of single-record Sigma rules, before they spill to disk (bytes, or with KiB, MiB, GiB)")
	cmd.Flags().StringVar(&spillDir, "spill-dir", "", "where spilled runs go (default the system's temporary directory); removed on exit")
	cmd.Flags().BoolVar(&failOnFindings, "fail-on-findings", false, "exit 1 when there are findings")
	cmd.Flags().StringVar(&minSeverity, "min-severity", "", "report only findings of this severity or higher: informational, low, medium, high, critical")
	cmd.Flags().BoolVar(&eachHit, "each-hit", false, "report every record a single-record Sigma rule matches; by default they fold into one finding per rule, account, region, caller and repeat window (24h, UTC-aligned) with the count, the first and the last")
	cmd.Flags().BoolVar(&showSuppressed, "show-suppressed", false, "show suppressed findings in the table (ndjson, ocsf and sarif always carry them)")
	sig.register(cmd)
	cmd.Flags().StringVar(&explainFormat, "explain", "", "write each finding's investigation bundle instead of the list: markdown (the default), json or html (--explain html and --explain=html alike)")
	cmd.Flags().Lookup("explain").NoOptDefVal = explain.FormatMarkdown
	return cmd
}

// manyFindings is how many spooled findings hunt holds in memory for a
// format other than NDJSON before it says so.
var manyFindings = 100_000

// huntStream writes hunt's findings as NDJSON straight from the
// detector (Detector.WriteNDJSON), then the summary, as the rest of hunt
// does for the other formats. det is closed by then for its errors
// spilling; the findings that wait in its spool are read back first.
func huntStream(cmd *cobra.Command, det *detect.Detector, output string, sum ingest.Summary, conf *tune.Config, start time.Time, unreadable *fileErrors, in *inputFlags) error {
	w, done, err := createOutput(cmd.OutOrStdout(), output)
	if err != nil {
		return err
	}
	defer done()
	err = det.WriteNDJSON(w)
	if cerr := det.Close(); err == nil && cerr != nil {
		return &exitError{code: exitUsage, err: fmt.Errorf("%w: the findings are incomplete", cerr)}
	}
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	if err := done(); err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	writeHuntTail(sum, det.Summary(), conf, start, unreadable, in)
	return finish(sum, false)
}

// writeHuntTail ends every hunt on stderr: the summary, what the filters
// skipped and, with --stats, the totals.
func writeHuntTail(sum ingest.Summary, dsum detect.Summary, conf *tune.Config, start time.Time, unreadable *fileErrors, in *inputFlags) {
	writeHuntSummary(os.Stderr, sum, dsum, conf, time.Since(start), unreadable.list())
	in.writeSourceSummary(os.Stderr)
	if in.stats {
		fmt.Fprintf(os.Stderr, "total: files=%d records=%d events=%d skipped=%d rejected=%d file-errors=%d bytes=%d\n",
			sum.Files, sum.Records, sum.Events, sum.Skipped, sum.Rejected, sum.FileErrors, sum.Bytes)
	}
}

// tableOptions fits the table to the terminal it goes to, if any, and
// colours it as --color and NO_COLOR (https://no-color.org) say.
func tableOptions(color string, toTerminal bool) (finding.TableOptions, error) {
	var opt finding.TableOptions
	switch color {
	case "always":
		opt.Color = true
	case "never":
	case "auto":
		opt.Color = toTerminal && os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb"
	default:
		return opt, &exitError{code: exitUsage, err: fmt.Errorf("unknown --color %q (want auto, always or never)", color)}
	}
	if toTerminal {
		if w, _, err := term.GetSize(int(os.Stdout.Fd())); err == nil && w > 0 {
			opt.Width = w
		} else if c, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && c > 0 {
			opt.Width = c
		}
	}
	return opt, nil
}

// huntFormatFor is hunt's output format when --format is not given: what
// the -o file's name says, else a table on a terminal and ndjson
// otherwise.
func huntFormatFor(output string) string {
	name := strings.ToLower(output)
	switch {
	case strings.HasSuffix(name, ".sarif"), strings.HasSuffix(name, ".sarif.json"):
		return finding.FormatSARIF
	case strings.HasSuffix(name, ".ocsf"), strings.HasSuffix(name, ".ocsf.json"), strings.HasSuffix(name, ".ocsf.jsonl"):
		return finding.FormatOCSF
	case output == "" || output == "-":
		if term.IsTerminal(int(os.Stdout.Fd())) {
			return finding.FormatTable
		}
	}
	return finding.FormatNDJSON
}

// explainArg lets --explain take its format as the next argument
// (--explain html), as well as --explain=html: the flag has an optional
// value, so the parser hands "html" on as a path. It is taken back when
// --explain was given without =, the value is a format and no file of
// that name exists.
func explainArg(cmd *cobra.Command, format string, args []string) (string, []string) {
	f := cmd.Flags().Lookup("explain")
	if f == nil || !f.Changed || format != f.NoOptDefVal || len(args) == 0 || !validExplainFormat(args[0]) {
		return format, args
	}
	if _, err := os.Stat(args[0]); err == nil {
		return format, args
	}
	return args[0], args[1:]
}

func validFormat(f string) bool {
	for _, x := range finding.Formats {
		if x == f {
			return true
		}
	}
	return false
}

// fileErrors gathers the first error of each file that could not be
// read, or whose damage ended its reading, for the summary.
type fileErrors struct {
	mu   sync.Mutex
	seen map[string]bool
	errs []ingest.Diag
}

func (f *fileErrors) add(d ingest.Diag) {
	if d.Severity != ingest.FileErr {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.seen[d.File] {
		return
	}
	if f.seen == nil {
		f.seen = map[string]bool{}
	}
	f.seen[d.File] = true
	f.errs = append(f.errs, d)
}

func (f *fileErrors) list() []ingest.Diag {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.errs
}

// maxUnreadableLines caps the files the summary lists as unreadable.
const maxUnreadableLines = 20

// writeHuntSummary prints what the hunt read and found, on stderr, and the
// files that could not be read (in full), one line each, with why.
func writeHuntSummary(w io.Writer, in ingest.Summary, d detect.Summary, conf *tune.Config, elapsed time.Duration, unreadable []ingest.Diag) {
	fmt.Fprintf(w, "hunt: %d files, %d events in %s; %d findings", in.Files, in.Events, elapsed.Round(time.Millisecond), d.Findings)
	if d.Suppressed > 0 || d.Dropped > 0 {
		fmt.Fprintf(w, " (%d suppressed, %d dropped)", d.Suppressed, d.Dropped)
	}
	fmt.Fprintf(w, "; %d late, %d duplicates, %d rejected records", d.Engine.Late, d.Engine.Duplicates, in.Rejected)
	if n := len(unreadable); n > 0 {
		fmt.Fprintf(w, "; %d of %d files unreadable or damaged:\n", n, in.Files)
		for i, e := range unreadable {
			if i == maxUnreadableLines {
				fmt.Fprintf(w, "  ... and %d more (each reported above)\n", n-i)
				break
			}
			fmt.Fprintf(w, "  %s: %s\n", e.File, e.Msg)
		}
	} else {
		fmt.Fprintln(w)
	}
	if d.Engine.TooLate > 0 {
		fmt.Fprintf(w, "  %d late event(s) beyond the late horizon completed no sequence (hunt without --lateness is exact)\n", d.Engine.TooLate)
	}
	if d.Engine.Unlogged > 0 {
		fmt.Fprintf(w, "  %d Azure operation(s) without a logged outcome counted as done (lower confidence)\n", d.Engine.Unlogged)
	}
	if d.Sort.Runs > 0 {
		fmt.Fprintf(w, "  %d events held past the memory budget: %d sorted runs, %s spilled to disk\n", d.Sort.Events, d.Sort.Runs, byteSize(d.Sort.Spilled))
	}
	rules := make([]string, 0, len(d.ByRule))
	for r := range d.ByRule {
		rules = append(rules, r)
	}
	sort.Strings(rules)
	for _, r := range rules {
		fmt.Fprintf(w, "  %-40s %d\n", r, d.ByRule[r])
	}
	if conf != nil {
		if ts := conf.Summary(); conf.File != "" || len(ts.Benign) > 0 {
			ts.Write(w)
		}
	}
}

// atLeast keeps the findings of severity min or higher, in order, and
// counts the others.
func atLeast(fs []finding.Finding, min level.Level) ([]finding.Finding, int) {
	var kept []finding.Finding
	for _, f := range fs {
		if l, _ := level.Parse(f.Severity); l >= min {
			kept = append(kept, f)
		}
	}
	return kept, len(fs) - len(kept)
}
