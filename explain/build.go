package explain

import (
	"context"
	"os"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/finding"
	"github.com/revertwatch/revertwatch/ingest"
	"github.com/revertwatch/revertwatch/internal/jsonx"
)

// maxReads caps the reads of Build before the last one keeps every call:
// a read after the first follows what the links did not foresee, one
// generation of lineage at a time.
const maxReads = 4

// BuildStats says what Build read.
type BuildStats struct {
	Reads   int // reads of the inputs
	Entries int // calls the last read kept
	Skipped int // files the last read did not read again (Facts)
	Packed  int // files whose calls the last read took from the first read's pack (Facts)
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
//
// facts, when not nil, are the first read's Facts: files they prove hold
// no call the scope keeps are not read again, and files whose calls they
// packed are not read again either (their calls were kept by the first
// read, which applied the filters opt.Keep applies to the others).
func Build(ctx context.Context, fs []finding.Finding, links *Links, facts *Facts, inputs []string, ropt ingest.Options, opt Options) ([]*Bundle, BuildStats, error) {
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
		if err := s.readAll(ctx, x, facts, inputs, ropt, opt.Keep, &st); err != nil {
			return nil, st, err
		}
		st.Reads++
		bs := x.explainAll(fs, opt, ropt.Jobs)
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

// explainAll builds the bundles of fs over x, in order, on up to jobs
// goroutines (zero: one per CPU): once the index is sorted, Explain only
// reads it, and notes its gaps under their lock.
func (x *Index) explainAll(fs []finding.Finding, opt Options, jobs int) []*Bundle {
	x.sort()
	if jobs <= 0 {
		jobs = runtime.NumCPU()
	}
	bs := make([]*Bundle, len(fs))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(jobs, len(fs)) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < len(fs); i = int(next.Add(1) - 1) {
				bs[i] = x.Explain(fs[i], opt)
			}
		})
	}
	wg.Wait()
	return bs
}

// readAll fills x with the calls of the inputs the scope keeps, in the
// inputs' order: the calls of files the facts packed from memory, the
// files between them by reading those the facts say may hold one.
func (s *Scope) readAll(ctx context.Context, x *Index, facts *Facts, inputs []string, ropt ingest.Options, keep func(*event.Event) bool, st *BuildStats) error {
	st.Skipped, st.Packed = 0, 0
	for i := 0; i < len(inputs); {
		if facts.covered(inputs[i]) {
			if err := facts.replay(inputs[i], s, x); err != nil {
				return err
			}
			facts.release(inputs[i])
			st.Packed++
			i++
			continue
		}
		var read []string
		for ; i < len(inputs) && !facts.covered(inputs[i]); i++ {
			if facts.needed(inputs[i], s) {
				read = append(read, inputs[i])
			} else {
				st.Skipped++
			}
		}
		if len(read) == 0 {
			continue
		}
		if err := s.read(ctx, x, read, ropt, keep); err != nil {
			return err
		}
	}
	return nil
}

// read fills x with the calls of the inputs the scope keeps. Records
// are decoded partially, and whole only where the scope may keep them
// (Scope.maybe): the decoding goroutines decide, so that the few calls
// kept are all this goroutine sees.
func (s *Scope) read(ctx context.Context, x *Index, inputs []string, ropt ingest.Options, keep func(*event.Event) bool) error {
	ropt.Want, ropt.Progress, ropt.Select, ropt.NewSelect, ropt.QueryFields = nil, nil, nil, nil, false
	// admit reads an event only while it builds its Entry, which keeps
	// copies of its strings and none of its bytes.
	ropt.BorrowEvents = true
	if !s.everything {
		ropt.Want = func(string, string) bool { return false }
		ropt.Select = func(ev *event.Event) ingest.Selection {
			if s.maybe(ev) {
				return ingest.SelectWhole
			}
			return ingest.SelectDrop
		}
	}
	h := ingest.Handlers{Event: func(ev *event.Event) error {
		if keep == nil || keep(ev) {
			s.admit(x, ev)
		}
		return nil
	}}
	sum, err := ingest.Read(ctx, inputs, ropt, h)
	if err != nil {
		return err
	}
	if sum.Events > 0 {
		// A scoped index holds few of the events it was given.
		x.read = true
	}
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
// the findings of that read needs: the Links and the files' Facts (with
// the packed calls of the Azure and Google Cloud files), so that Build
// reads the logs once more for only what the bundles can need, or, when
// the logs cannot be read again, an Index of every call.
type Collector struct {
	links *Links
	facts *Facts
	full  *Index
}

// NewCollector returns a collector for a read of the inputs.
func NewCollector(inputs []string) *Collector {
	if Rereadable(inputs) {
		return &Collector{links: NewLinks(), facts: NewFacts()}
	}
	return &Collector{full: NewIndex()}
}

// Want returns the ingest.Options.Want of the read given the reader's
// own want: that, LinkWants, and every call of a provider other than AWS,
// which Facts pack until the pack is full; or nil (every call whole) when
// the collector keeps every call.
func (c *Collector) Want(want func(provider, op string) bool) func(provider, op string) bool {
	if c.full != nil || want == nil {
		return nil
	}
	return func(provider, op string) bool {
		return provider != event.AWS && (c.facts == nil || !c.facts.calls.full.Load()) ||
			want(provider, op) || LinkWants(provider, op)
	}
}

// NewSelect returns the ingest.Options.NewSelect of the read: each
// decoding goroutine's select hands every partial event on, having taken
// the Facts of its file from the record's members. It is nil when the
// collector keeps every call.
func (c *Collector) NewSelect() func() func(ev *event.Event, members []jsonx.Member) ingest.Selection {
	if c.facts == nil {
		return nil
	}
	return func() func(ev *event.Event, members []jsonx.Member) ingest.Selection {
		o := &observer{facts: c.facts, seen: new(seenTokens)}
		return func(ev *event.Event, members []jsonx.Member) ingest.Selection {
			// A partial CloudTrail event's Caller is its principal
			// (see Scope.maybe).
			o.observe(ev, ev.Caller, members)
			return ingest.SelectPartial
		}
	}
}

// Add takes one event of the read.
func (c *Collector) Add(ev *event.Event) {
	if c.full != nil {
		c.full.Add(ev)
		return
	}
	c.links.Add(ev)
	switch {
	case c.facts == nil || partialEvent(ev):
	case ev.Provider != event.AWS:
		c.facts.pack(ev)
	default:
		c.facts.observe(ev, principalOf(ev))
	}
}

// File takes the stats of a file once the read of it ended
// (ingest.Handlers.File): the Facts of a file speak for it only if every
// event of it was taken.
func (c *Collector) File(st ingest.FileStats) {
	if c.facts != nil {
		c.facts.done(st.File, st.Events)
	}
}

// partialEvent reports whether an event is a partial decode, which
// Select took: no id, actor or resources.
func partialEvent(ev *event.Event) bool {
	return ev.UID == "" && len(ev.Resources) == 0 && ev.Actor == (event.Actor{})
}

// Bundles builds the bundles of fs, in order, from the inputs read with
// ropt (see Build).
func (c *Collector) Bundles(ctx context.Context, fs []finding.Finding, inputs []string, ropt ingest.Options, opt Options) ([]*Bundle, error) {
	if c.full != nil {
		return c.full.explainAll(fs, opt, ropt.Jobs), nil
	}
	bs, _, err := Build(ctx, fs, c.links, c.facts, inputs, ropt, opt)
	return bs, err
}
