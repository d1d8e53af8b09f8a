package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/pflag"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/ingest"
	"github.com/revertwatch/revertwatch/source"
)

// inputFlags are the flags of every command that reads logs.
type inputFlags struct {
	jobs           int
	maxRecordSize  int
	format         string
	sourceCategory string
	sourceHost     string
	stats          bool
	quiet          bool

	since, until string
	accounts     []string
	regions      []string
	slack        time.Duration
	aws          source.AWSOptions

	// Set by options: the filter, the resolver of remote paths and the
	// records the filter refused (counted from Read's goroutine).
	run *inputRun
}

// inputRun is what one command's reading resolved and counted.
type inputRun struct {
	filter   *source.Filter
	resolver *source.Resolver
	records  source.Counts
	remote   bool
}

func (f *inputFlags) register(fs *pflag.FlagSet) {
	fs.IntVarP(&f.jobs, "jobs", "j", 0, "files decoded in parallel (default: number of CPUs)")
	fs.IntVar(&f.maxRecordSize, "max-record-size", ingest.DefaultMaxRecordSize, "largest record accepted, in bytes")
	fs.StringVar(&f.format, "input-format", "auto", "force an input format: auto, cloudtrail, cloudtrail-eventbridge, cloudtrail-cloudwatch, cloudtrail-lookupevents, azure, azure-rest, azure-export, azure-loganalytics")
	fs.StringVar(&f.sourceCategory, "source-category", "", "set _sourceCategory on every event (default aws/cloudtrail, azure/activitylog or gcp/cloudaudit)")
	fs.StringVar(&f.sourceHost, "source-host", "", "set _sourceHost on every event (default the account or subscription)")
	fs.BoolVar(&f.stats, "stats", false, "print per-file statistics to stderr")
	fs.BoolVarP(&f.quiet, "quiet", "q", false, "no progress bar on a terminal")
	fs.StringVar(&f.since, "since", "", "only records at or after this time: RFC 3339, a date (UTC) or a duration back from now (7d, 12h); prunes the CloudTrail, Azure and Cloud Storage sink layouts")
	fs.StringVar(&f.until, "until", "", "only records before this time (a date means the end of that day); same forms as --since")
	fs.StringSliceVar(&f.accounts, "account", nil, "only this AWS account or Azure subscription (repeatable); prunes the layouts")
	fs.StringSliceVar(&f.regions, "region", nil, "only this region (repeatable); prunes the CloudTrail layout")
	fs.DurationVar(&f.slack, "delivery-slack", source.DefaultSlack, "how long after --until a log file may be delivered and still hold records of the window")
	fs.StringVar(&f.aws.Profile, "aws-profile", "", "AWS shared-config profile for s3:// paths (default the standard chain: AWS_PROFILE, environment, SSO, roles)")
	fs.StringVar(&f.aws.Region, "aws-region", "", "AWS region of the S3 client (default from the environment or profile, else us-east-1; without it each bucket's region is found with HeadBucket)")
	fs.StringVar(&f.aws.S3Endpoint, "s3-endpoint", "", "S3-compatible endpoint URL (also AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL); path-style addressing")
}

// filter checks the filter flags.
func (f *inputFlags) filter(now time.Time) (*source.Filter, error) {
	since, err := source.ParseTime(f.since, now, false)
	if err != nil {
		return nil, fmt.Errorf("--since: %w", err)
	}
	until, err := source.ParseTime(f.until, now, true)
	if err != nil {
		return nil, fmt.Errorf("--until: %w", err)
	}
	if !since.IsZero() && !until.IsZero() && !until.After(since) {
		return nil, fmt.Errorf("--until %s is not after --since %s", until.Format(time.RFC3339), since.Format(time.RFC3339))
	}
	if f.slack < 0 {
		return nil, fmt.Errorf("--delivery-slack must not be negative")
	}
	return &source.Filter{Since: since, Until: until, Accounts: f.accounts, Regions: f.regions, Slack: f.slack}, nil
}

// options checks the flags and resolves the paths: local files,
// directories and globs, and s3://, azblob:// and gs:// URLs, pruned by
// the filters.
func (f *inputFlags) options(ctx context.Context, args []string) (ingest.Options, []string, error) {
	format, err := ingest.ParseFormat(f.format)
	if err != nil {
		return ingest.Options{}, nil, &exitError{code: exitUsage, err: err}
	}
	if f.jobs < 0 {
		return ingest.Options{}, nil, &exitError{code: exitUsage, err: fmt.Errorf("--jobs must be positive (or 0 for the number of CPUs)")}
	}
	if f.maxRecordSize <= 0 {
		return ingest.Options{}, nil, &exitError{code: exitUsage, err: fmt.Errorf("--max-record-size must be positive")}
	}
	if len(args) == 0 {
		return ingest.Options{}, nil, &exitError{code: exitUsage, err: fmt.Errorf("no input: give files, directories, globs or - for stdin")}
	}
	filter, err := f.filter(time.Now())
	if err != nil {
		return ingest.Options{}, nil, &exitError{code: exitUsage, err: err}
	}
	res := &source.Resolver{Filter: filter, AWS: f.aws, Jobs: max(f.jobs, 8)}
	f.run = &inputRun{filter: filter, resolver: res}
	for _, a := range args {
		f.run.remote = f.run.remote || source.IsRemote(a)
	}
	inputs, err := res.Expand(ctx, args)
	if err != nil {
		return ingest.Options{}, nil, &exitError{code: exitUsage, err: err}
	}
	return ingest.Options{
		Jobs: f.jobs, MaxRecordSize: f.maxRecordSize, Format: format,
		SourceCategory: f.sourceCategory, SourceHost: f.sourceHost, Stdin: os.Stdin,
		Progress: &ingest.Progress{},
		Open:     res.Opener(ctx),
		Size:     res.Size,
	}, inputs, nil
}

// keep wraps an event handler with the record filters, counting what they
// refuse. options must have been called.
func (f *inputFlags) keep(next func(*event.Event) error) func(*event.Event) error {
	run := f.run
	if run == nil || !run.filter.Active() {
		return next
	}
	return func(ev *event.Event) error {
		if why := run.filter.Keep(ev); why != source.Kept {
			run.records.Add(why)
			return nil
		}
		return next(ev)
	}
}

// keeps is the record filters as a predicate that counts nothing, for a
// second read of the same inputs (explain's bundles), or nil when no
// filter is set. options must have been called.
func (f *inputFlags) keeps() func(*event.Event) bool {
	run := f.run
	if run == nil || !run.filter.Active() {
		return nil
	}
	return func(ev *event.Event) bool { return run.filter.Keep(ev) == source.Kept }
}

// writeSourceSummary says, when filters or remote paths were used, what
// the filters skipped (files of a known layout, S3 folders and objects,
// records) by filter, and the S3 calls made.
func (f *inputFlags) writeSourceSummary(w io.Writer) {
	run := f.run
	if run == nil || (!run.filter.Active() && !run.remote) {
		return
	}
	rep := run.resolver.Report()
	fmt.Fprintf(w, "filters: skipped local files: %s; records: %s", rep.LocalSkipped.String(), run.records.String())
	if rep.S3Lists+rep.S3Gets > 0 {
		fmt.Fprintf(w, "; s3: %d list and %d get calls, pruned folders and objects: %s", rep.S3Lists, rep.S3Gets, rep.S3Pruned.String())
	}
	if rep.BlobLists+rep.BlobGets > 0 {
		fmt.Fprintf(w, "; blob: %d list and %d get calls, pruned folders and blobs: %s", rep.BlobLists, rep.BlobGets, rep.BlobPruned.String())
	}
	if rep.GCSLists+rep.GCSGets > 0 {
		fmt.Fprintf(w, "; gs: %d list and %d get calls, pruned folders and objects: %s", rep.GCSLists, rep.GCSGets, rep.GCSPruned.String())
	}
	fmt.Fprintln(w)
}

// handlers prints diagnostics (rejects and file errors always, skips with
// --stats) and, with --stats, the per-file report.
func (f *inputFlags) handlers() ingest.Handlers {
	return ingest.Handlers{
		Diag: func(d ingest.Diag) {
			if d.Severity == ingest.Skipped && !f.stats {
				return
			}
			fmt.Fprintln(os.Stderr, d.String())
		},
		File: func(s ingest.FileStats) {
			if f.stats {
				fmt.Fprintln(os.Stderr, s.String())
			}
		},
	}
}

// chainFile returns a Handlers.File that calls a, then b.
func chainFile(a, b func(ingest.FileStats)) func(ingest.FileStats) {
	return func(s ingest.FileStats) {
		if a != nil {
			a(s)
		}
		b(s)
	}
}

// finish turns a run's summary into the exit code.
func finish(sum ingest.Summary, stats bool) error {
	if stats {
		fmt.Fprintf(os.Stderr, "total: files=%d records=%d events=%d skipped=%d rejected=%d file-errors=%d bytes=%d\n",
			sum.Files, sum.Records, sum.Events, sum.Skipped, sum.Rejected, sum.FileErrors, sum.Bytes)
	}
	switch code := sum.ExitCode(); code {
	case exitUsage:
		return &exitError{code: code, err: fmt.Errorf("nothing readable in the input")}
	case exitRejected:
		return &exitError{code: code}
	}
	return nil
}
