package detect

import (
	"bufio"
	"bytes"
	"cmp"
	"container/heap"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"os"
	"slices"
	"sync"

	"github.com/klauspost/compress/s2"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/finding"
	"github.com/revertwatch/revertwatch/tune"
)

// spool holds the findings of single-event Sigma rules at rest, made as
// their events are read (sigma.RunOptions.Direct): a rule that matches
// most records (SigmaHQ's AssumeRole misuse matches every assumed-role
// call) makes about as many findings as there are events, so they are
// kept as their NDJSON lines, spill to sorted runs past the memory
// budget, and come back merged in output order. Copies of one record
// make findings of one id: the merge keeps the copy the event-time core
// would have kept (eventtime.Compare's, but for the record's bytes),
// the same for any order of records and files. The Start, Accept and
// Success records of one Azure operation are not copies (the core keeps
// each); their findings share an id, as they did when released.
type spool struct {
	budget int64
	dir    string
	// mu guards what follows: fire's workers add at once.
	mu    sync.Mutex
	mem   []spoolEntry
	size  int64
	runs  []*os.File
	err   error
	added int // entries added, spilled ones included
	// counted is set once a whole pass has counted the findings into
	// the Detector's Summary.
	counted bool
}

// spoolEntry is one finding in the spool: its output order key, and its
// NDJSON line, or none when tuning dropped it (counted, never shown).
type spoolEntry struct {
	first    int64 // FirstSeen, Unix nanoseconds
	rule, id string
	// record tells apart the records of one id that are not copies (an
	// Azure operation's phases): their UID, else "".
	record string
	// copy orders copies of one record as eventtime.Compare does after
	// the record's bytes: uid, provider, format, source, offset.
	copy       string
	suppressed bool
	line       []byte
	// dec is the tuning's decision, counted only for the copy kept.
	dec tune.Decision
}

// maxSpooled bounds a field of a spilled finding as read back: a line
// is a finding whose record was at most --max-record-size.
const maxSpooled = 1 << 32

// spoolBlock is the compressed runs' block size: a merge holds one block
// per run.
const spoolBlock = 256 << 10

// spoolOverhead is what an entry costs besides its line and strings.
const spoolOverhead = 80

func newSpool(budget int64, dir string) *spool {
	return &spool{budget: budget, dir: dir}
}

// spoolEncoder is one worker's NDJSON encoder.
type spoolEncoder struct {
	buf bytes.Buffer
	enc *json.Encoder
}

func (s *spool) newEncoder() *spoolEncoder {
	e := &spoolEncoder{}
	e.enc = json.NewEncoder(&e.buf)
	e.enc.SetEscapeHTML(false)
	return e
}

// add keeps a finding as finding.WriteNDJSON would write it, or only
// its key when it is not emitted. It is safe for concurrent use, each
// goroutine with its own encoder.
func (s *spool) add(enc *spoolEncoder, f *finding.Finding, dec tune.Decision, ev *event.Event) {
	e := spoolEntry{first: f.FirstSeen.UnixNano(), rule: f.RuleID, id: f.ID, suppressed: f.Suppressed, copy: copyKey(ev), dec: dec}
	if event.Phased(ev.Provider) && ev.CorrelationUID != "" {
		// The core takes a record for a copy when its id or original id
		// was seen (a Log Analytics row and its export record).
		e.record = cmp.Or(ev.OriginalUID, ev.UID)
	}
	var err error
	if dec.Emit() {
		if e.line, err = enc.encode(f); err != nil {
			err = fmt.Errorf("encoding a finding of %s: %w", f.RuleID, err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return
	}
	if err != nil {
		s.err = err
		return
	}
	s.mem = append(s.mem, e)
	s.added++
	s.size += int64(len(e.line)+len(e.rule)+len(e.id)+len(e.record)+len(e.copy)) + spoolOverhead
	if s.size > s.budget {
		s.spill()
	}
}

// rawMark is how a one-event finding's NDJSON ends its evidence when the
// record's bytes are left out: the record goes in place of the 0.
var rawMark = []byte(`,"raw":0}]`)

// encode returns f's NDJSON line. The record's bytes are most of it, and
// encoding/json would copy them through its compacting scanner: a record
// that is compact already (decoded, so valid; no whitespace between
// tokens) is what that scanner would write, and is put in as it is.
func (s *spoolEncoder) encode(f *finding.Finding) ([]byte, error) {
	s.buf.Reset()
	if len(f.Evidence) != 1 || !compactJSON(f.Evidence[0].Raw) {
		if err := s.enc.Encode(f); err != nil {
			return nil, err
		}
		return bytes.Clone(s.buf.Bytes()), nil
	}
	raw := f.Evidence[0].Raw
	f.Evidence[0].Raw = json.RawMessage("0")
	err := s.enc.Encode(f)
	f.Evidence[0].Raw = raw
	if err != nil {
		return nil, err
	}
	b := s.buf.Bytes()
	i := bytes.LastIndex(b, rawMark)
	if i < 0 {
		return nil, fmt.Errorf("no evidence record in the encoded finding")
	}
	at := i + len(`,"raw":`)
	line := make([]byte, 0, len(b)-1+len(raw))
	line = append(append(append(line, b[:at]...), raw...), b[at+1:]...)
	return line, nil
}

// compactJSON reports whether the JSON text b has no whitespace between
// its tokens.
func compactJSON(b []byte) bool {
	in := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if in {
			switch c {
			case '\\':
				i++
			case '"':
				in = false
			}
			continue
		}
		switch c {
		case '"':
			in = true
		case ' ', '\t', '\n', '\r':
			return false
		}
	}
	return len(b) > 0 && !in
}

// copyKey is eventtime.Compare's order of copies of one record, after
// its time and without its bytes, as a string.
func copyKey(ev *event.Event) string {
	return fmt.Sprintf("%s\x00%s\x00%s\x00%s\x00%020d\x00%010d", ev.UID, ev.Provider, ev.Format, ev.Source.Name, ev.Source.Offset, ev.Source.Sub)
}

// empty reports whether nothing was added.
func (s *spool) empty() bool { return s.added == 0 }

// compareEntries is output order (finding.Sort's: first event time, rule,
// id), then the record and the copy, so that which copy of a record wins
// does not depend on which was read first.
func compareEntries(a, b *spoolEntry) int {
	if c := cmp.Compare(a.first, b.first); c != 0 {
		return c
	}
	if c := cmp.Compare(a.rule, b.rule); c != 0 {
		return c
	}
	if c := cmp.Compare(a.id, b.id); c != 0 {
		return c
	}
	if c := cmp.Compare(a.record, b.record); c != 0 {
		return c
	}
	return cmp.Compare(a.copy, b.copy)
}

// spill writes the findings in memory to a sorted run on disk.
func (s *spool) spill() {
	slices.SortFunc(s.mem, func(a, b spoolEntry) int { return compareEntries(&a, &b) })
	f, err := os.CreateTemp(s.dir, "revertwatch-findings-")
	if err != nil {
		s.err = fmt.Errorf("spilling findings: %w", err)
		return
	}
	// Removed now: the open file is all that is needed, and nothing is
	// left behind if the process dies.
	os.Remove(f.Name())
	// Compressed: the runs are JSON, most of it records that repeat one
	// another's names, and a run is written and read once; S2 costs less
	// than the I/O it saves.
	zw := s2.NewWriter(f, s2.WriterConcurrency(1), s2.WriterBlockSize(spoolBlock))
	w := bufio.NewWriterSize(zw, 1<<20)
	writeEntries(w, s.mem)
	if err := errors.Join(w.Flush(), zw.Close()); err != nil {
		f.Close()
		s.err = fmt.Errorf("spilling findings: %w", err)
		return
	}
	s.runs = append(s.runs, f)
	s.mem, s.size = nil, 0
}

// writeEntries writes entries as a run holds them (cursor.next reads
// them back).
func writeEntries(w *bufio.Writer, entries []spoolEntry) {
	var hdr [binary.MaxVarintLen64]byte
	put := func(b []byte) {
		n := binary.PutUvarint(hdr[:], uint64(len(b)))
		w.Write(hdr[:n])
		w.Write(b)
	}
	for i := range entries {
		e := &entries[i]
		n := binary.PutVarint(hdr[:], e.first)
		w.Write(hdr[:n])
		put([]byte(e.rule))
		put([]byte(e.id))
		put([]byte(e.record))
		put([]byte(e.copy))
		flag := byte(0)
		if e.suppressed {
			flag = 1
		}
		w.WriteByte(flag)
		put(e.line)
		dec, _ := e.dec.AppendBinary(nil)
		put(dec)
	}
}

// close removes the spilled runs.
func (s *spool) close() error {
	var first error
	for _, f := range s.runs {
		if err := f.Close(); err != nil && first == nil {
			first = err
		}
	}
	s.runs = nil
	return first
}

// cursor is one sorted source of a merge: a run on disk, or the sorted
// findings in memory.
type cursor struct {
	r   *bufio.Reader
	mem []spoolEntry
	cur spoolEntry
}

// next moves to the cursor's next entry; io.EOF at the end.
func (c *cursor) next() error {
	if c.r == nil {
		if len(c.mem) == 0 {
			return io.EOF
		}
		c.cur, c.mem = c.mem[0], c.mem[1:]
		return nil
	}
	first, err := binary.ReadVarint(c.r)
	if err != nil {
		return err // io.EOF between entries is the end
	}
	get := func() ([]byte, error) {
		n, err := binary.ReadUvarint(c.r)
		if err != nil {
			return nil, err
		}
		if n > maxSpooled {
			return nil, fmt.Errorf("a field of %d bytes", n)
		}
		// Grown as the bytes come: a damaged length asks for no memory
		// the run does not hold.
		var b bytes.Buffer
		_, err = io.CopyN(&b, c.r, int64(n))
		return b.Bytes(), err
	}
	rule, err1 := get()
	id, err2 := get()
	record, err5 := get()
	cp, err6 := get()
	flag, err3 := c.r.ReadByte()
	line, err4 := get()
	decb, err7 := get()
	if err := errors.Join(err1, err2, err3, err4, err5, err6, err7); err != nil {
		return fmt.Errorf("reading spilled findings back: %w", noEOF(err))
	}
	dec, _, err := tune.DecodeDecision(decb)
	if err != nil {
		return fmt.Errorf("reading spilled findings back: %w", err)
	}
	if len(line) == 0 {
		line = nil
	}
	c.cur = spoolEntry{first: first, rule: string(rule), id: string(id), record: string(record), copy: string(cp), suppressed: flag == 1, line: line, dec: dec}
	return nil
}

func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

type cursorHeap []*cursor

func (h cursorHeap) Len() int           { return len(h) }
func (h cursorHeap) Less(i, j int) bool { return compareEntries(&h[i].cur, &h[j].cur) < 0 }
func (h cursorHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *cursorHeap) Push(x any)        { *h = append(*h, x.(*cursor)) }
func (h *cursorHeap) Pop() any {
	old := *h
	c := old[len(old)-1]
	*h = old[:len(old)-1]
	return c
}

// merger walks the spool in output order, one entry per finding id (and
// record). Copies of one record in two shapes may differ in their time's
// precision, so they need not be next to each other: the merger
// remembers what it took, 16 bytes per finding.
type merger struct {
	h    cursorHeap
	seed [2]maphash.Seed
	seen map[[2]uint64]struct{}
	next [2]uint64 // the key of the entry peek returned, for take
}

// merge starts a walk of everything added so far. The spool must not be
// added to while it runs.
func (s *spool) merge() (*merger, error) {
	if s.err != nil {
		return nil, s.err
	}
	slices.SortFunc(s.mem, func(a, b spoolEntry) int { return compareEntries(&a, &b) })
	m := &merger{seed: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}, seen: map[[2]uint64]struct{}{}}
	srcs := []*cursor{{mem: s.mem}}
	for _, f := range s.runs {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return nil, fmt.Errorf("reading spilled findings back: %w", err)
		}
		srcs = append(srcs, &cursor{r: bufio.NewReaderSize(s2.NewReader(f, s2.ReaderMaxBlockSize(spoolBlock)), 64<<10)})
	}
	for _, c := range srcs {
		switch err := c.next(); {
		case err == nil:
			m.h = append(m.h, c)
		case err != io.EOF:
			return nil, err
		}
	}
	heap.Init(&m.h)
	return m, nil
}

// peek returns the next entry without taking it, or nil at the end.
func (m *merger) peek() (*spoolEntry, error) {
	for len(m.h) > 0 {
		e := &m.h[0].cur
		m.next = m.key(e)
		if _, dup := m.seen[m.next]; dup {
			// Another copy of a record already taken.
			if err := m.advance(); err != nil {
				return nil, err
			}
			continue
		}
		return e, nil
	}
	return nil, nil
}

// take consumes the entry peek returned.
func (m *merger) take() error {
	m.seen[m.next] = struct{}{}
	return m.advance()
}

// key names an entry's finding and record.
func (m *merger) key(e *spoolEntry) [2]uint64 {
	var k [2]uint64
	for i, seed := range m.seed {
		var h maphash.Hash
		h.SetSeed(seed)
		h.WriteString(e.rule)
		h.WriteByte(0)
		h.WriteString(e.id)
		h.WriteByte(0)
		h.WriteString(e.record)
		k[i] = h.Sum64()
	}
	return k
}

func (m *merger) advance() error {
	c := m.h[0]
	switch err := c.next(); {
	case err == nil:
		heap.Fix(&m.h, 0)
	case err == io.EOF:
		heap.Pop(&m.h)
	default:
		return err
	}
	return nil
}
