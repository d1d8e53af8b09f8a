package explain

import (
	"bytes"
	"context"
	"os"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/finding"
	"github.com/revertwatch/revertwatch/ingest"
)

// maxReads caps the reads of Build before the last one keeps every call:
// a read after the first follows what the links did not foresee, one
// generation of lineage at a time.
const maxReads = 4

// BuildStats says what Build read.
type BuildStats struct {
	Reads   int // reads of the inputs
	Entries int // calls the last read kept
}

// Build builds the bundles of fs, in order, by reading the inputs again
// for only the calls they can need (NewScope): the first read (hunt's)
// cannot keep them, for the findings are known only once it ends. ropt
// are the options of the first read; Build decodes partially what it
// can and whole only what may be kept.
//
// The bundles are the ones Index.Explain builds over an index of every
// event of the inputs, read in the same order. When a bundle asks about
// a resource the scope did not foresee (a relation links missed), an
// Azure operation whose records the scope split, or a re-delivery's
// original, Build reads again with the scope widened, and after maxReads
// keeps every call.
func Build(ctx context.Context, fs []finding.Finding, links *Links, inputs []string, ropt ingest.Options, opt Options) ([]*Bundle, BuildStats, error) {
	var st BuildStats
	if len(fs) == 0 {
		return nil, st, nil
	}
	s := NewScope(fs, links, opt)
	for {
		x := NewIndex()
		if !s.everything {
			x.scope = s
		}
		if err := s.read(ctx, x, inputs, ropt); err != nil {
			return nil, st, err
		}
		st.Reads++
		bs := make([]*Bundle, 0, len(fs))
		for _, f := range fs {
			bs = append(bs, x.Explain(f, opt))
		}
		x.gaps.settle(x)
		st.Entries = x.Len()
		if x.scope == nil || x.gaps.empty() {
			return bs, st, nil
		}
		if st.Reads >= maxReads {
			s.everything = true
		} else {
			s.widen(&x.gaps)
		}
	}
}

// read fills x with the calls of the inputs the scope keeps.
func (s *Scope) read(ctx context.Context, x *Index, inputs []string, ropt ingest.Options) error {
	whole := ropt
	whole.Want, whole.QueryFields, whole.Progress, whole.Open, whole.Stdin, whole.Jobs = nil, false, nil, nil, nil, 1
	whole.Format = ingest.FormatAuto
	ropt.Want, ropt.Progress = nil, nil
	ropt.QueryFields = !s.everything
	q := &queue{ctx: ctx, s: s, x: x, opt: whole}
	h := ingest.Handlers{Event: func(ev *event.Event) error {
		switch {
		case ev.Time.IsZero():
		case s.everything:
			x.Add(ev)
		case !partial(ev):
			q.whole(ev)
		default:
			x.read = true
			if s.maybe(ev) {
				return q.partial(ev)
			}
		}
		return nil
	}}
	if _, err := ingest.Read(ctx, inputs, ropt, h); err != nil {
		return err
	}
	return q.flush()
}

// queue decodes the partial records a scope may keep whole, many at a
// time (one decoder per record costs more than the decode), and offers
// them to the index in the order they were read, among the events that
// came whole.
type queue struct {
	ctx    context.Context
	s      *Scope
	x      *Index
	opt    ingest.Options
	items  []queued
	batch  []byte // the records to decode, one per line
	n      int    // records in batch
	events []*event.Event
}

// queued is an event read whole, or the n-th record of the batch.
type queued struct {
	ev     *event.Event
	n      int
	src    event.Source
	format event.Format
}

// A batch is decoded at this many records or bytes, whichever first.
const (
	queueRecords = 1024
	queueBytes   = 4 << 20
)

func (q *queue) whole(ev *event.Event) {
	if len(q.items) == 0 {
		q.s.admit(q.x, ev)
		return
	}
	q.items = append(q.items, queued{ev: ev})
}

func (q *queue) partial(ev *event.Event) error {
	// The partial event's bytes are the reader's once the handler
	// returns: the batch keeps a copy.
	q.items = append(q.items, queued{n: q.n, src: ev.Source, format: ev.Format})
	q.batch = append(append(q.batch, ev.Raw...), '\n')
	q.n++
	if q.n >= queueRecords || len(q.batch) >= queueBytes || len(q.items) >= 8*queueRecords {
		return q.flush()
	}
	return nil
}

// flush decodes the batch whole, as Read would have at the same places,
// and offers the queue to the index in order.
func (q *queue) flush() error {
	if len(q.items) == 0 {
		return nil
	}
	q.events = q.events[:0]
	for range q.n {
		q.events = append(q.events, nil)
	}
	if q.n > 0 {
		_, err := ingest.DecodeStream(q.ctx, "explain", bytes.NewReader(q.batch), q.opt, ingest.Handlers{Event: func(w *event.Event) error {
			if i := w.Source.Index; i >= 0 && i < len(q.events) && q.events[i] == nil {
				q.events[i] = w
			}
			return nil
		}})
		if err != nil {
			return err
		}
	}
	for _, it := range q.items {
		ev := it.ev
		if ev == nil {
			if ev = q.events[it.n]; ev == nil {
				continue
			}
			ev.Source, ev.Format = it.src, it.format
		}
		q.s.admit(q.x, ev)
	}
	clear(q.items)
	clear(q.events)
	q.items, q.batch, q.n = q.items[:0], q.batch[:0], 0
	return nil
}

// Rereadable reports whether Build can read the inputs again: regular
// files, not standard input or a pipe.
func Rereadable(inputs []string) bool {
	for _, in := range inputs {
		if in == "-" {
			return false
		}
		info, err := os.Stat(in)
		if err != nil || !info.Mode().IsRegular() {
			return false
		}
	}
	return true
}

// Collector gathers, during a read of the logs (hunt's), what explaining
// the findings of that read needs: the Links, so that Build reads the
// logs once more for only what the bundles can need, or, when the logs
// cannot be read again, an Index of every call.
type Collector struct {
	links *Links
	full  *Index
}

// NewCollector returns a collector for a read of the inputs.
func NewCollector(inputs []string) *Collector {
	if Rereadable(inputs) {
		return &Collector{links: NewLinks()}
	}
	return &Collector{full: NewIndex()}
}

// Want returns the ingest.Options.Want of the read given the reader's
// own want: that and LinkWants, or nil (every call whole) when the
// collector keeps every call.
func (c *Collector) Want(want func(provider, op string) bool) func(provider, op string) bool {
	if c.full != nil || want == nil {
		return nil
	}
	return func(provider, op string) bool { return want(provider, op) || LinkWants(provider, op) }
}

// Add takes one event of the read.
func (c *Collector) Add(ev *event.Event) {
	if c.full != nil {
		c.full.Add(ev)
		return
	}
	c.links.Add(ev)
}

// Bundles builds the bundles of fs, in order, from the inputs read with
// ropt (see Build).
func (c *Collector) Bundles(ctx context.Context, fs []finding.Finding, inputs []string, ropt ingest.Options, opt Options) ([]*Bundle, error) {
	if c.full != nil {
		bs := make([]*Bundle, 0, len(fs))
		for _, f := range fs {
			bs = append(bs, c.full.Explain(f, opt))
		}
		return bs, nil
	}
	bs, _, err := Build(ctx, fs, c.links, inputs, ropt, opt)
	return bs, err
}
