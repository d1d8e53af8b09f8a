package ingest

import (
	"context"
	"sync"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/internal/jsonx"
)

// Chunking: a file's splitter (the scanner, which only balances brackets
// and strings, and is cheap) cuts the stream into records and packs them
// into chunks; workers parse and decode the chunks in parallel; the reader
// takes each file's chunks back in order. See Read.
const (
	chunkBytes   = 128 << 10 // record bytes in a chunk before it is sent
	chunkRecords = 1024      // records in a chunk before it is sent
	chunkMembers = 2048      // top-level members a pooled chunk has room for (some 100 records' worth)
	chunksAhead  = 4         // chunks a file's splitter may run ahead of the reader
	filesAhead   = 16        // files split ahead of the reader (Read's window)
)

// item is one output of decoding: an event or a diagnostic.
type item struct {
	ev   *event.Event
	diag *Diag
}

// chunk is a run of consecutive records of one file, with the splitter's
// diagnostics in their places among them.
type chunk struct {
	file   string
	forced Format
	buf    []byte // the records' bytes, back to back
	recs   []pending
	done   chan struct{} // closed when items and stats are filled

	members  []jsonx.Member // top-level members of the records the splitter indexed
	items    []item
	partials []event.Event // partial events (Options.Want, QueryFields), reused once consumed
	stats    FileStats     // what decoding the records counted
	final    *FileStats    // on a file's last chunk: the splitter's stats (records, bytes, file errors)
}

// The buffers of consumed chunks are reused: partial events and their Raw
// live only until the handler returns (Options.Want).
var (
	bufPool      = sync.Pool{New: func() any { return make([]byte, 0, chunkBytes+chunkBytes/4) }}
	partialsPool = sync.Pool{New: func() any { return []event.Event(nil) }}
	recsPool     = sync.Pool{New: func() any { return make([]pending, 0, 256) }}
	membersPool  = sync.Pool{New: func() any { return make([]jsonx.Member, 0, chunkMembers) }}
)

// partial returns a zeroed event from the chunk's partial events.
func (ch *chunk) partial() *event.Event {
	if len(ch.partials) == cap(ch.partials) {
		return &event.Event{} // a chunk with more records than chunkRecords (diagnostics count too)
	}
	ch.partials = ch.partials[:len(ch.partials)+1]
	ev := &ch.partials[len(ch.partials)-1]
	*ev = event.Event{}
	return ev
}

// selectSlots is the least number of partial events a chunk holds at
// once when Options.NewSelect decides (more when the goroutine's last
// chunk handed more on): past them, partial events it hands on are
// allocated one by one.
const selectSlots = 64

// release takes back the slot of the partial event last handed out, when
// ev is that event: it was dropped, nothing refers to it.
func (ch *chunk) release(ev *event.Event) {
	if n := len(ch.partials); n > 0 && ev == &ch.partials[n-1] {
		ch.partials = ch.partials[:n-1]
	}
}

// shrink copies the buffers of a chunk that fills little of them (a small
// file's, the end of a file's) to buffers of its size, and gives the big
// ones back at once: a small file's chunk may wait long for the reader
// (Read's window holds up to filesAhead of them), and would hold the
// buffers of a full one.
func (ch *chunk) shrink() {
	if len(ch.buf) >= cap(ch.buf)/4 || cap(ch.buf) > 2*chunkBytes {
		return
	}
	buf := append(make([]byte, 0, len(ch.buf)), ch.buf...)
	if ch.members != nil {
		rebase(ch.members, ch.buf, buf)
		if len(ch.members) < cap(ch.members)/4 {
			ms := append(make([]jsonx.Member, 0, len(ch.members)), ch.members...)
			clear(ch.members)
			membersPool.Put(ch.members[:0]) //lint:ignore SA6002 the slice header is small; the pool is for its array
			ch.members = ms
		}
	}
	bufPool.Put(ch.buf[:0]) //lint:ignore SA6002 as above
	ch.buf = buf
}

// recycle gives a consumed chunk's buffers back for reuse.
func (ch *chunk) recycle() {
	if ch.buf != nil && cap(ch.buf) >= chunkBytes && cap(ch.buf) <= 2*chunkBytes {
		bufPool.Put(ch.buf[:0]) //lint:ignore SA6002 the slice header is small; the pool is for its array
	}
	if ch.partials != nil {
		partialsPool.Put(ch.partials[:0]) //lint:ignore SA6002 as above
	}
	if ch.members != nil && cap(ch.members) >= chunkMembers {
		clear(ch.members)               // they point into the buffer
		membersPool.Put(ch.members[:0]) //lint:ignore SA6002 as above
	}
	ch.buf, ch.partials, ch.items, ch.members = nil, nil, nil, nil
}

// pending is a record waiting for a worker, or a diagnostic of the
// splitter.
type pending struct {
	start, end int
	pos        recordPos
	index      int
	envelope   string
	cwSkip     bool
	cwGroup    string
	diag       *Diag
	ev         *event.Event // decoded by the splitter
	mFrom, mTo int          // the record's members in chunk.members, when indexed
	indexed    bool
}

// chunker packs a splitter's records into chunks.
type chunker struct {
	sc      *scanner // the splitter's, in append mode: its buffer is the current chunk's
	ctx     context.Context
	file    string
	forced  Format
	ordered chan<- *chunk
	work    chan<- *chunk
	cur     *chunk
	stopped bool
}

func (c *chunker) current() *chunk {
	if c.cur == nil {
		c.cur = &chunk{file: c.file, forced: c.forced, done: make(chan struct{}), recs: recsPool.Get().([]pending)[:0],
			members: membersPool.Get().([]jsonx.Member)[:0]}
	}
	return c.cur
}

// add puts one record into the current chunk. The scanner reads records
// straight into the chunk's buffer (append mode), so a record that is the
// tail of it is not copied.
func (c *chunker) add(buf []byte, pos recordPos, index int, envelope string, cwSkip bool, cwGroup string) {
	ch := c.current()
	sb := c.sc.buf
	var start int
	if n := len(buf); n > 0 && len(sb) >= n && &sb[len(sb)-1] == &buf[n-1] {
		start = len(sb) - n
	} else {
		start = len(sb)
		sb = append(sb, buf...)
		c.sc.buf = sb
	}
	ch.buf = sb
	ch.recs = append(ch.recs, pending{start: start, end: len(sb), pos: pos, index: index, envelope: envelope, cwSkip: cwSkip, cwGroup: cwGroup})
	if len(sb) >= chunkBytes || len(ch.recs) >= chunkRecords {
		c.flush()
	}
}

// addIndexed puts a record the splitter indexed into the current chunk:
// buf is the tail of the chunk's buffer, its members are
// members[from:to].
func (c *chunker) addIndexed(buf []byte, pos recordPos, index int, envelope string, cwSkip bool, cwGroup string, from, to int) {
	ch := c.current()
	sb := c.sc.buf
	ch.buf = sb
	ch.recs = append(ch.recs, pending{start: len(sb) - len(buf), end: len(sb), pos: pos, index: index, envelope: envelope,
		cwSkip: cwSkip, cwGroup: cwGroup, mFrom: from, mTo: to, indexed: true})
	if len(sb) >= chunkBytes || len(ch.recs) >= chunkRecords {
		c.flush()
	}
}

// event puts an event the splitter decoded itself (a console CSV row) in
// its place.
func (c *chunker) event(ev *event.Event) {
	ch := c.current()
	ch.recs = append(ch.recs, pending{ev: ev})
	if len(ch.recs) >= chunkRecords {
		c.flush()
	}
}

// diag puts a diagnostic of the splitter in its place.
func (c *chunker) diag(dg Diag) {
	ch := c.current()
	ch.recs = append(ch.recs, pending{diag: &dg})
}

// flush sends the current chunk: first to the reader's queue for its file,
// which bounds how far the splitter runs ahead, then to the workers.
func (c *chunker) flush() {
	ch := c.cur
	if ch == nil {
		return
	}
	c.cur = nil
	if c.sc != nil {
		// The chunk takes the scanner's buffer, bytes between records
		// (member names, separators) included; the scanner starts anew.
		ch.buf = c.sc.buf
		c.sc.buf = bufPool.Get().([]byte)[:0]
		ch.shrink()
	}
	if c.stopped {
		return
	}
	select {
	case c.ordered <- ch:
	case <-c.ctx.Done():
		c.stopped = true
		return
	}
	c.work <- ch
}

// decodeChunks is a worker: it decodes the records of each chunk it is
// given into the chunk's items.
func decodeChunks(work <-chan *chunk, opt *Options) {
	d := &fileDecoder{opt: opt}
	var cur *chunk
	kept := 0 // partial events the last chunk handed on
	d.emit = func(ev *event.Event) { cur.items = append(cur.items, item{ev: ev}) }
	d.diag = func(dg Diag) { cur.items = append(cur.items, item{diag: &dg}) }
	for ch := range work {
		cur = ch
		d.name, d.forced, d.stats, d.arena = ch.file, ch.forced, &ch.stats, ch
		ch.items = make([]item, 0, len(ch.recs))
		if opt.Want != nil || opt.QueryFields {
			// As many events as records: a small file's chunk holds few.
			ch.partials = partialsPool.Get().([]event.Event)
			n := len(ch.recs)
			if opt.NewSelect != nil {
				// A select that drops nearly every event (whose slot
				// is then taken again, chunk.release) needs a few
				// slots; one that hands most on (explain's Facts), as
				// many as it kept of this goroutine's last chunk.
				n = min(n, max(selectSlots, kept+kept/4))
			}
			if cap(ch.partials) < n {
				ch.partials = make([]event.Event, 0, n)
			}
		}
		for _, r := range ch.recs {
			if r.diag != nil {
				ch.items = append(ch.items, item{diag: r.diag})
				continue
			}
			if r.ev != nil {
				if !d.filtered(r.ev) {
					ch.items = append(ch.items, item{ev: r.ev})
				}
				continue
			}
			d.cwSkip, d.cwGroup = r.cwSkip, r.cwGroup
			d.pre = nil
			if r.indexed {
				d.pre = ch.members[r.mFrom:r.mTo:r.mTo]
			}
			d.decode(ch.buf[r.start:r.end], r.pos, r.index, r.envelope)
		}
		kept = len(ch.partials)
		clear(ch.recs)            // drop the diagnostics' pointers before reuse
		recsPool.Put(ch.recs[:0]) //lint:ignore SA6002 the slice header is small; the pool is for its array
		ch.recs = nil
		close(ch.done)
	}
}

// merge adds what o counted to s. Formats keep their order of first
// appearance when chunks are merged in file order.
func (s *FileStats) merge(o *FileStats) {
	for _, f := range o.Formats {
		s.addFormat(f)
	}
	s.Bytes += o.Bytes
	s.Records += o.Records
	s.Events += o.Events
	for k, n := range o.Skipped {
		if s.Skipped == nil {
			s.Skipped = map[string]int{}
		}
		s.Skipped[k] += n
	}
	for k, n := range o.Rejected {
		if s.Rejected == nil {
			s.Rejected = map[string]int{}
		}
		s.Rejected[k] += n
	}
	if s.Error == "" {
		s.Error = o.Error
	}
}
