package ingest

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/valyala/fastjson"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/internal/jsonx"
)

// Format is the --input-format value: how records are recognised.
type Format string

// The input formats a user can force. Auto recognises each record by its
// members; the others decode every record as that kind.
const (
	FormatAuto              Format = "auto"
	FormatCloudTrail        Format = "cloudtrail"             // a CloudTrail record (S3 file member, JSON line, array member)
	FormatEventBridge       Format = "cloudtrail-eventbridge" // EventBridge envelope
	FormatCloudWatch        Format = "cloudtrail-cloudwatch"  // CloudWatch Logs subscription payload
	FormatLookupEvents      Format = "cloudtrail-lookupevents"
	FormatAzure             Format = "azure" // any Azure shape, recognised per record
	FormatAzureREST         Format = "azure-rest"
	FormatAzureExport       Format = "azure-export" // Event Hub records or Storage PT1H.json
	FormatAzureLogAnalytics Format = "azure-loganalytics"
	FormatGCP               Format = "gcp"          // a Cloud Audit Logs LogEntry (or BigQuery row), recognised per record
	FormatGCPPubSub         Format = "gcp-pubsub"   // a Pub/Sub push body, pulled message or PubsubMessage with the LogEntry in data
	FormatGCPBigQuery       Format = "gcp-bigquery" // a BigQuery sink row

	kindDigest       Format = "digest"
	kindInsight      Format = "insight"
	kindNotification Format = "notification"
	kindNonAudit     Format = "non-audit" // a record of another AWS service: see nonAudit
	kindTruth        Format = "truth"     // revertwatch emulate's truth.json
)

// InputFormats lists the values --input-format accepts.
var InputFormats = []Format{FormatAuto, FormatCloudTrail, FormatEventBridge, FormatCloudWatch, FormatLookupEvents,
	FormatAzure, FormatAzureREST, FormatAzureExport, FormatAzureLogAnalytics, FormatGCP, FormatGCPPubSub, FormatGCPBigQuery}

// ParseFormat checks an --input-format value.
func ParseFormat(s string) (Format, error) {
	if s == "" {
		return FormatAuto, nil
	}
	for _, f := range InputFormats {
		if strings.EqualFold(s, string(f)) {
			return f, nil
		}
	}
	names := make([]string, len(InputFormats))
	for i, f := range InputFormats {
		names[i] = string(f)
	}
	return "", fmt.Errorf("unknown input format %q (want one of %s)", s, strings.Join(names, ", "))
}

// Options control reading.
type Options struct {
	Jobs           int    // files decoded at once; 0 means the number of CPUs
	MaxRecordSize  int    // cap on one record; 0 means DefaultMaxRecordSize
	Format         Format // forced input format; "" or auto to recognise
	SourceCategory string // overrides _sourceCategory
	SourceHost     string // overrides _sourceHost
	Stdin          io.Reader
	Progress       *Progress // if set, updated as reading goes on
	// Open opens an input by name; nil means os.Open. It lets a caller
	// feed inputs that are not files (validate's in-memory emulation).
	Open func(name string) (io.ReadCloser, error)
	// Size, when set, gives the size of an input Open reads that is not
	// a file on disk, for Progress.
	Size func(name string) (int64, bool)
	// Want, when set, says which operations need a whole event. A CloudTrail
	// record or an Azure export record whose operation it refuses becomes a
	// partial event: Provider, Format, Time, TimeField, Account, Region,
	// Operation, OperationName and Source are set as a full decode sets
	// them, the rest is empty and Raw is nil. The record is still checked
	// to be JSON, so bad input is reported as without Want. op is spelled
	// as Event.Operation (Azure operations lower-cased). Want is called from
	// several goroutines at once. A partial event, and its Raw, is valid
	// only until Handlers.Event returns: the reader reuses its memory.
	Want func(provider, op string) bool
	// QueryFields decodes CloudTrail and Azure export records only as far
	// as the query engine reads them, where that can be done exactly from
	// their top-level members: what Want keeps, plus Caller,
	// ResourceGroup and Raw (the fields of event.Alias and the record).
	// Like Want's, these partial events are valid only until
	// Handlers.Event returns.
	QueryFields bool
	// BorrowEvents, when set, lets a worker of Read hand whole events as
	// it hands partial ones: the event from the chunk's own slots and its
	// Raw the chunk's bytes (and so the Request and Response a decoder
	// cuts from it), valid only until Handlers.Event returns. For a
	// reader that keeps nothing of an event but copies of its strings, a
	// second read of a large export allocates that much less.
	BorrowEvents bool
	// Select, when set, is asked about each partial event (see Want and
	// QueryFields) once it is filled, before it is handed on: to hand it
	// on (SelectPartial), to decode its record whole instead
	// (SelectWhole), or to count it and hand nothing on (SelectDrop). It
	// lets a reader that looks for a few records among many decide in
	// the decoding goroutines, from the partial event and its Raw, which
	// it needs whole. Whatever Want and QueryFields say, the partial events
	// Select is asked about carry their Raw, and CloudTrail ones their
	// Caller. Select is called from several goroutines at once.
	Select func(ev *event.Event) Selection
	// NewSelect, when set, is called once by each decoding goroutine
	// for a Select of its own, asked in place of Select, which is also
	// given the record's top-level members as the splitter or the
	// partial decoder indexed them (valid only during the call, like the
	// event). A reader that keeps state per record (the query engine's
	// per-record stages and partial aggregation) keeps it per goroutine
	// without locks, and looks fields up in the members instead of
	// parsing Raw again.
	NewSelect func() func(ev *event.Event, members []jsonx.Member) Selection
	// NewFilter, when set, is called once by each decoding goroutine for
	// a filter of its own, asked about every event before it is handed
	// on, in that goroutine: false counts the event and hands nothing
	// on. A reader whose per-event work needs no order (single-record
	// rules) does it there, on every core, and keeps on one goroutine
	// only what still needs one. The event is the reader's to keep, as
	// Handlers.Event's is, unless BorrowEvents is set. v is ev.Raw as the
	// decoder parsed it, when Raw is the very record it parsed (nil
	// otherwise: a record inside an envelope, a CSV row), valid only
	// during the call, and not to be changed.
	NewFilter func() func(ev *event.Event, v *fastjson.Value) bool
	// Inflate, when set, is asked before a record's own compressed
	// payload (CloudWatch Logs' awslogs.data) is inflated, with 0, and
	// told after how many bytes it inflated to: a caller that counts what
	// its input decompresses to (serve's --max-body-decoded) answers false
	// once over, and the record is rejected, not inflated further. Read
	// calls it from several goroutines at once.
	Inflate func(n int) bool
}

// Selection is what Options.Select decides for a partial event.
type Selection uint8

// The decisions of Options.Select.
const (
	SelectPartial Selection = iota // hand the partial event on
	SelectWhole                    // decode the record whole and hand that on
	SelectDrop                     // count the event, hand nothing on
)

// Progress counts how far a Read has got, for a progress display. Read
// sets the totals before it starts; the counters may be read at any time
// from any goroutine.
type Progress struct {
	FilesTotal int64
	BytesTotal int64 // sum of the input files' sizes on disk (stdin counts 0)
	FilesDone  atomic.Int64
	BytesRead  atomic.Int64 // bytes read from disk so far (compressed)
	Events     atomic.Int64
}

func (o *Options) maxRecord() int {
	if o.MaxRecordSize > 0 {
		return o.MaxRecordSize
	}
	return DefaultMaxRecordSize
}

func (o *Options) jobs() int {
	if o.Jobs > 0 {
		return o.Jobs
	}
	return runtime.NumCPU()
}

// Handlers receive what reading produces. All calls come from the goroutine
// that called Read, in input order: file by file in the order of the
// paths, record by record within a file.
type Handlers struct {
	Event func(*event.Event) error // an error stops reading and is returned by Read
	Diag  func(Diag)
	File  func(FileStats)
}

// Summary totals a run.
type Summary struct {
	Files      int
	FilesOK    int // files that produced at least one event or were validly empty of events
	FileErrors int
	Records    int
	Events     int
	Skipped    int
	Rejected   int
	Bytes      int64
}

// ExitCode maps a summary to the documented exit codes: 0 when all input
// was read, 3 when some input was rejected, 2 when nothing was readable.
func (s Summary) ExitCode() int {
	switch {
	case s.Files > 0 && s.FileErrors == s.Files && s.Events == 0:
		return 2
	case s.FileErrors > 0 || s.Rejected > 0:
		return 3
	}
	return 0
}

// Expand turns command-line paths into the list of inputs: "-" is standard
// input, a directory gives its files recursively in lexical order (names
// starting with a dot are left out), and a pattern with *, ? or [ is a
// glob, ** included (see Glob). Each path must match something.
func Expand(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		if p == "-" {
			out = append(out, p)
			continue
		}
		if _, err := os.Stat(p); err != nil && strings.ContainsAny(p, "*?[") {
			matches, gerr := Glob(p)
			if gerr != nil {
				return nil, fmt.Errorf("bad pattern %q: %w", p, gerr)
			}
			if len(matches) == 0 {
				return nil, fmt.Errorf("%s: no files match", p)
			}
			sort.Strings(matches)
			for _, m := range matches {
				files, err := walk(m)
				if err != nil {
					return nil, err
				}
				out = append(out, files...)
			}
			continue
		}
		files, err := walk(p)
		if err != nil {
			return nil, err
		}
		out = append(out, files...)
	}
	return out, nil
}

func walk(root string) ([]string, error) {
	info, err := os.Stat(root)
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		return []string{root}, nil
	}
	var out []string
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path != root && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() {
			out = append(out, path)
		}
		return nil
	})
	return out, err
}

// Read decodes the inputs and hands events, diagnostics and file stats to h
// in input order. Up to Options.Jobs files are split into records at once,
// and as many workers decode the records, in chunks, whatever file they
// come from: a single large file is decoded in parallel too. Memory stays
// bounded because each file's splitter waits while its chunks are not yet
// consumed.
func Read(ctx context.Context, inputs []string, opt Options, h Handlers) (Summary, error) {
	var sum Summary
	jobs := opt.jobs()
	if p := opt.Progress; p != nil {
		p.FilesTotal = int64(len(inputs))
		for _, in := range inputs {
			if opt.Size != nil {
				if n, ok := opt.Size(in); ok {
					p.BytesTotal += n
					continue
				}
			}
			if info, err := os.Stat(in); err == nil && in != "-" {
				p.BytesTotal += info.Size()
			}
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// One channel of chunks per input, in the order the chunks must be
	// consumed; inputs start in order, at most jobs at a time. Every chunk
	// also goes to the shared work queue, which the workers always drain,
	// so a splitter never waits on a worker that waits on it.
	chans := make([]chan *chunk, len(inputs))
	for i := range chans {
		chans[i] = make(chan *chunk, chunksAhead)
	}
	work := make(chan *chunk, jobs*chunksAhead)
	var workers sync.WaitGroup
	for range jobs {
		workers.Add(1)
		go func() {
			defer workers.Done()
			decodeChunks(work, &opt)
		}()
	}
	defer workers.Wait()
	// A file holds a place in the window from the start of its split to
	// the end of its consumption: small files are split far ahead of the
	// reader, but never more than filesAhead of them.
	window := make(chan struct{}, max(filesAhead, jobs))
	var splitters sync.WaitGroup
	splitters.Add(1)
	go func() {
		defer splitters.Done()
		sem := make(chan struct{}, jobs)
		for i, in := range inputs {
			stop := func() {
				for _, c := range chans[i:] {
					close(c)
				}
			}
			select {
			case window <- struct{}{}:
			case <-ctx.Done():
				stop()
				return
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				stop()
				return
			}
			splitters.Add(1)
			go func(in string, out chan *chunk) {
				defer splitters.Done()
				defer func() { <-sem }()
				splitInput(ctx, in, &opt, out, work)
			}(in, chans[i])
		}
	}()
	defer func() {
		splitters.Wait()
		close(work)
	}()

	var stopErr error
	for _, c := range chans {
		stats := &FileStats{}
		for ch := range c {
			if stopErr != nil {
				continue // drain so the splitter can finish
			}
			<-ch.done
			for _, it := range ch.items {
				switch {
				case it.ev != nil:
					sum.Events++
					if opt.Progress != nil {
						opt.Progress.Events.Add(1)
					}
					if h.Event != nil {
						if err := h.Event(it.ev); err != nil {
							stopErr = err
							cancel()
						}
					}
				case it.diag != nil:
					if h.Diag != nil {
						h.Diag(*it.diag)
					}
				}
				if stopErr != nil {
					break
				}
			}
			sum.Events += ch.stats.dropped
			if opt.Progress != nil {
				opt.Progress.Events.Add(int64(ch.stats.dropped))
			}
			stats.merge(&ch.stats)
			ch.recycle()
			if ch.final == nil {
				continue
			}
			stats.merge(ch.final)
			stats.File, stats.Gzip = ch.final.File, ch.final.Gzip
			sum.Files++
			if opt.Progress != nil {
				opt.Progress.FilesDone.Add(1)
			}
			sum.Records += stats.Records
			sum.Skipped += stats.NSkipped()
			sum.Rejected += stats.NRejected()
			sum.Bytes += stats.Bytes
			if stats.Error != "" {
				sum.FileErrors++
			} else {
				sum.FilesOK++
			}
			if h.File != nil {
				h.File(*stats)
			}
		}
		select {
		case <-window:
		default: // the file never started: the reading was cancelled
		}
	}
	return sum, stopErr
}

// splitInput splits one input into records, in chunks sent in order to
// out and to the workers, and closes out when done. The last chunk
// carries the file's stats.
func splitInput(ctx context.Context, in string, opt *Options, out chan<- *chunk, work chan<- *chunk) {
	defer close(out)
	stats := &FileStats{File: in}
	c := &chunker{ctx: ctx, file: in, forced: opt.Format, ordered: out, work: work}
	d := &fileDecoder{
		name: in, opt: opt, stats: stats, forced: opt.Format, chunks: c,
		emit: func(*event.Event) {}, // records go to the workers
		diag: c.diag,
	}
	defer func() {
		c.current().final = stats
		c.flush()
	}()
	var r io.Reader
	if in == "-" {
		r = opt.Stdin
		if r == nil {
			r = os.Stdin
		}
	} else {
		open := opt.Open
		if open == nil {
			open = openFile
		}
		f, err := open(in)
		if err != nil {
			d.report(FileErr, recordPos{}, -1, "open", err.Error())
			return
		}
		defer f.Close()
		r = f
	}
	zr, plain, err := openZip(r)
	switch {
	case err != nil:
		d.report(FileErr, recordPos{}, -1, "zip", fmt.Sprintf("a zip archive that cannot be read: %v", err))
	case zr != nil:
		d.zipMembers(ctx, zr)
	default:
		d.run(&ctxReader{ctx: ctx, r: plain})
	}
}

// ctxReader stops a read when the context is cancelled.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// countingReader counts the bytes read through it, into the progress
// counters when there are some.
type countingReader struct {
	r        io.Reader
	n        int64
	progress *Progress
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.progress != nil {
		c.progress.BytesRead.Add(int64(n))
	}
	return n, err
}

func openFile(name string) (io.ReadCloser, error) { return os.Open(name) }
