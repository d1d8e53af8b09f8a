package main

import (
	"fmt"
	"os"

	"github.com/spf13/pflag"

	"github.com/revertwatch/revertwatch/ingest"
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
}

func (f *inputFlags) register(fs *pflag.FlagSet) {
	fs.IntVarP(&f.jobs, "jobs", "j", 0, "files decoded in parallel (default: number of CPUs)")
	fs.IntVar(&f.maxRecordSize, "max-record-size", ingest.DefaultMaxRecordSize, "largest record accepted, in bytes")
	fs.StringVar(&f.format, "input-format", "auto", "force an input format: auto, cloudtrail, cloudtrail-eventbridge, cloudtrail-cloudwatch, cloudtrail-lookupevents, azure, azure-rest, azure-export, azure-loganalytics")
	fs.StringVar(&f.sourceCategory, "source-category", "", "set _sourceCategory on every event (default aws/cloudtrail, azure/activitylog or gcp/cloudaudit)")
	fs.StringVar(&f.sourceHost, "source-host", "", "set _sourceHost on every event (default the account or subscription)")
	fs.BoolVar(&f.stats, "stats", false, "print per-file statistics to stderr")
	fs.BoolVarP(&f.quiet, "quiet", "q", false, "no progress bar on a terminal")
}

// options checks the flags and resolves the paths.
func (f *inputFlags) options(args []string) (ingest.Options, []string, error) {
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
	inputs, err := ingest.Expand(args)
	if err != nil {
		return ingest.Options{}, nil, &exitError{code: exitUsage, err: err}
	}
	return ingest.Options{
		Jobs: f.jobs, MaxRecordSize: f.maxRecordSize, Format: format,
		SourceCategory: f.sourceCategory, SourceHost: f.sourceHost, Stdin: os.Stdin,
		Progress: &ingest.Progress{},
	}, inputs, nil
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
