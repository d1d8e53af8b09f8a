package serve

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/ingest"
)

// maxGzipLayers is how deep gzip may be nested in a body. A .json.gz
// posted with Content-Encoding: gzip is two layers; nothing real is more,
// and each layer costs a decompressor's window.
const maxGzipLayers = 4

// errDecodedTooLarge marks a body whose decompression produced more than
// MaxDecodedBytes, every layer counted.
var errDecodedTooLarge = errors.New("body too large once decompressed")

// errTooManyEvents stops the check of a body holding more events than the
// queue may ever hold.
var errTooManyEvents = errors.New("more events than the queue holds")

// badEncoding is a body whose compression cannot be read, or a
// Content-Encoding other than gzip.
type badEncoding struct{ msg string }

func (e *badEncoding) Error() string { return e.msg }

// budget is what the decompressors of one body may still produce: every
// layer's output counts against it, so a body gzipped twice cannot scan
// more than one gzipped once.
type budget struct {
	left int64
	over bool
}

// budgetReader is one decompression layer's output, counted against a
// shared budget; past it, reads fail with errDecodedTooLarge.
type budgetReader struct {
	r io.Reader
	b *budget
}

func (c *budgetReader) Read(p []byte) (int, error) {
	if c.b.left <= 0 {
		// One byte more tells a body of exactly the cap from a larger one.
		var one [1]byte
		if k, _ := c.r.Read(one[:]); k > 0 {
			c.b.over = true
			return 0, errDecodedTooLarge
		}
		return 0, io.EOF
	}
	if int64(len(p)) > c.b.left {
		p = p[:c.b.left]
	}
	k, err := c.r.Read(p)
	c.b.left -= int64(k)
	return k, err
}

// unwrap peels every gzip layer off a body, by Content-Encoding for the
// first and by the magic bytes for all, each layer's output counted
// against b (nil: no cap). It returns the JSON stream and what closes the
// decompressors.
func unwrap(data []byte, encoding string, b *budget) (io.Reader, func(), error) {
	if err := checkEncoding(encoding); err != nil {
		return nil, nil, err
	}
	enc := strings.ToLower(strings.TrimSpace(encoding))
	var closers []io.Closer
	closeAll := func() {
		for _, c := range closers {
			c.Close()
		}
	}
	br := bufio.NewReaderSize(bytes.NewReader(data), 32<<10)
	for layer := 0; ; layer++ {
		magic, _ := br.Peek(2)
		isGzip := len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b
		if !isGzip && (layer > 0 || enc == "" || enc == "identity") {
			return br, closeAll, nil
		}
		if layer == maxGzipLayers {
			closeAll()
			return nil, nil, &badEncoding{msg: fmt.Sprintf("gzip nested more than %d deep", maxGzipLayers)}
		}
		zr, err := gzip.NewReader(br)
		if err != nil {
			closeAll()
			return nil, nil, &badEncoding{msg: "gzip body unreadable: " + err.Error()}
		}
		closers = append(closers, zr)
		var r io.Reader = zr
		if b != nil {
			r = &budgetReader{r: zr, b: b}
		}
		br = bufio.NewReaderSize(r, 32<<10)
	}
}

// checkEncoding refuses a Content-Encoding other than gzip or none.
func checkEncoding(encoding string) error {
	switch enc := strings.ToLower(strings.TrimSpace(encoding)); enc {
	case "", "identity", "gzip", "x-gzip":
		return nil
	default:
		return &badEncoding{msg: "unsupported Content-Encoding " + enc + " (gzip or none)"}
	}
}

// decodeBody decodes a body as ingest does, every gzip layer peeled
// under b (nil: no cap): the check of a request, its replay from the
// journal and its publication decode the same bytes into the same events.
func decodeBody(ctx context.Context, body Body, opt ingest.Options, b *budget, h ingest.Handlers) (ingest.FileStats, error) {
	r, closeAll, err := unwrap(body.Data, body.Encoding, b)
	if err != nil {
		return ingest.FileStats{File: body.Name}, err
	}
	defer closeAll()
	return ingest.DecodeStream(ctx, body.Name, r, opt, h)
}

// eventCost is roughly what an event holds on the heap: its struct and
// strings, its record and the bodies decoded from it.
func eventCost(ev *event.Event) int64 {
	return 1024 + int64(len(ev.Raw)+len(ev.Request)+len(ev.Response))
}

// checked is what the check of a body found.
type checked struct {
	stats   ingest.FileStats
	answer  Answer
	events  int
	formats map[event.Format]int
	// kept are the body's events when the backend wants them and they
	// cost less than its budget (keptCost, by eventCost); nil otherwise.
	// A partialEvents backend gets them as handed instead.
	kept     []*event.Event
	handed   []handedEvent
	keptCost int64
}

// handedEvent is an event the check hands to the local loop: whole
// (ev), or, for an operation no rule uses, only what the detection reads
// of such an event — a tenth of the memory, and no copy of a partial
// event, which lives only until the handler returns.
type handedEvent struct {
	ev    *event.Event
	brief briefEvent
}

// briefEvent is what the detection reads of an event no rule uses: where
// it happened and when (event-time scopes and watermarks).
type briefEvent struct {
	provider, account, region, operation, operationName string
	time                                                time.Time
}

// briefCost is what a briefEvent holds, as eventCost counts.
const briefCost = 128

// event makes the event of a handedEvent, in scratch for a brief one:
// the Processor does not keep events of operations no rule uses
// (live.Processor.Wants).
func (h *handedEvent) event(scratch *event.Event) *event.Event {
	if h.ev != nil {
		return h.ev
	}
	b := &h.brief
	*scratch = event.Event{Provider: b.provider, Account: b.account, Region: b.region, Operation: b.operation,
		OperationName: b.operationName, Time: b.time}
	return scratch
}

// partialEvents is a Backend whose events may be partial (ingest.Options.
// Want) for the operations Wants refuses: those of no rule, which the
// detection reads only the time, provider, account and region of. The
// check then decodes whole only what some rule needs.
type partialEvents interface {
	Wants(provider, op string) bool
}

// check decodes a body once, keeping none of its events beyond keep bytes
// of them, so that what a request holds in memory does not grow with what
// its body holds; it stops at the first event past maxEvents.
func (s *Server) check(ctx context.Context, body Body, maxEvents int64, keep int64) (*checked, error) {
	c := &checked{formats: map[event.Format]int{}}
	b := &budget{left: s.cfg.MaxDecodedBytes}
	var cost int64
	keeping := keep > 0
	opt := s.ingestOptions(body.Category, body.Host)
	if p, ok := s.be.(partialEvents); ok {
		opt.Want = p.Wants
	}
	// A CloudWatch Logs payload handed to Lambda is gzip inside a record:
	// one more layer, counted like the others.
	opt.Inflate = func(n int) bool {
		b.left -= int64(n)
		if b.left < 0 {
			b.over = true
		}
		return !b.over
	}
	st, err := decodeBody(ctx, body, opt, b, ingest.Handlers{
		Event: func(ev *event.Event) error {
			if b.over {
				return errDecodedTooLarge
			}
			c.events++
			if int64(c.events) > maxEvents {
				return errTooManyEvents
			}
			c.formats[ev.Format]++
			switch {
			case !keeping:
			case opt.Want != nil && !opt.Want(ev.Provider, ev.Operation):
				// Perhaps a partial event: only its brief is kept.
				cost += briefCost
				c.handed = append(c.handed, handedEvent{brief: briefEvent{provider: ev.Provider, account: ev.Account,
					region: ev.Region, operation: ev.Operation, operationName: ev.OperationName, time: ev.Time}})
			case opt.Want != nil:
				cost += eventCost(ev)
				c.handed = append(c.handed, handedEvent{ev: ev})
			default:
				cost += eventCost(ev)
				c.kept = append(c.kept, ev)
			}
			if keeping && cost > keep {
				keeping, c.kept, c.handed = false, nil, nil
			}
			return nil
		},
		Diag: func(d ingest.Diag) {
			if d.Severity == ingest.Rejected {
				s.m.Rejects.WithLabelValues("record: " + d.Reason).Inc()
			}
			if len(c.answer.Diagnostics) < maxDiagnostics && d.Severity != ingest.Notice {
				c.answer.Diagnostics = append(c.answer.Diagnostics, d)
			}
		},
	})
	c.stats, c.keptCost = st, cost
	if b.over {
		err = errDecodedTooLarge
	}
	return c, err
}
