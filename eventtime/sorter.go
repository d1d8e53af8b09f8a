package eventtime

import (
	"bufio"
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"unsafe"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/internal/strnum"
)

// DefaultBudget is the memory a Sorter holds events in before it spills.
const DefaultBudget = 256 << 20

// SorterOptions configure a Sorter.
type SorterOptions struct {
	// Budget is roughly how many bytes of events are held in memory;
	// past it they are sorted and written to a run on disk. Zero means
	// DefaultBudget; a negative value never spills.
	Budget int64
	// Dir is where the runs' temporary directory is made ("" means the
	// system's temporary directory).
	Dir string
}

// SorterStats say what a Sorter held and spilled.
type SorterStats struct {
	Events    int   `json:"events"`     // events added
	Runs      int   `json:"runs"`       // sorted runs written to disk
	Spilled   int64 `json:"spilled"`    // bytes written to runs
	PeakBytes int64 `json:"peak_bytes"` // the most bytes of events held in memory at once
}

// Sorter puts events into the order of Less, whatever order they are
// added in, within a memory budget: past the budget the events held are
// sorted and written to a run file, and Each merges the runs back. It is
// not safe for concurrent use.
type Sorter struct {
	opt     SorterOptions
	mem     []held   // the events held in memory, in the order added
	blocks  [][]byte // their compact forms
	tab     *strnum.Table
	scratch []byte
	bytes   int64
	dir     string
	runs    []string
	stats   SorterStats
	done    bool
}

// held is an event the Sorter holds in memory: its time, and where its
// compact form is.
type held struct {
	sec  int64
	nsec int32
	blk  int32
	off  uint32
	n    uint32
}

// heldSize is what a held event costs beyond its compact form.
const heldSize = int64(unsafe.Sizeof(held{}))

// blockSize is the size of the blocks the compact forms are kept in.
const blockSize = 1 << 20

// NewSorter returns an empty Sorter.
func NewSorter(opt SorterOptions) *Sorter {
	if opt.Budget == 0 {
		opt.Budget = DefaultBudget
	}
	return &Sorter{opt: opt}
}

// Add takes one event; the Sorter keeps it, so the caller must not
// modify it afterwards.
func (s *Sorter) Add(ev *event.Event) error {
	if s.done {
		return errors.New("eventtime: Add after Each")
	}
	if s.tab == nil {
		s.tab = &strnum.Table{}
	}
	var added int64
	s.scratch, added = appendCompact(s.scratch[:0], ev, s.tab)
	b := s.scratch
	if len(b) > math.MaxUint32 {
		return fmt.Errorf("eventtime: an event of %d bytes is too large to hold", len(b))
	}
	last := len(s.blocks) - 1
	if last < 0 || cap(s.blocks[last])-len(s.blocks[last]) < len(b) {
		s.blocks = append(s.blocks, make([]byte, 0, max(blockSize, len(b))))
		last++
	}
	blk := s.blocks[last]
	s.mem = append(s.mem, held{sec: ev.Time.Unix(), nsec: int32(ev.Time.Nanosecond()), blk: int32(last), off: uint32(len(blk)), n: uint32(len(b))})
	s.blocks[last] = append(blk, b...)
	s.bytes += int64(len(b)) + heldSize + added
	s.stats.Events++
	if s.bytes > s.stats.PeakBytes {
		s.stats.PeakBytes = s.bytes
	}
	if s.opt.Budget > 0 && s.bytes > s.opt.Budget {
		return s.spill()
	}
	return nil
}

// Len is the number of events added.
func (s *Sorter) Len() int { return s.stats.Events }

// Stats returns what the Sorter held and spilled.
func (s *Sorter) Stats() SorterStats { return s.stats }

func (s *Sorter) spill() error {
	if s.dir == "" {
		dir, err := os.MkdirTemp(s.opt.Dir, "revertwatch-sort-")
		if err != nil {
			return fmt.Errorf("spilling events to disk: %w", err)
		}
		s.dir = dir
	}
	s.sortMem()
	name := fmt.Sprintf("%s/run-%06d", s.dir, len(s.runs))
	f, err := os.Create(name)
	if err != nil {
		return fmt.Errorf("spilling events to disk: %w", err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var hdr [binary.MaxVarintLen64]byte
	for _, h := range s.mem {
		// A run is written with its strings in full, so that it reads
		// back without the table.
		ev, err := decodeCompact(h.in(s.blocks), s.tab, true)
		if err != nil {
			f.Close()
			return fmt.Errorf("spilling events: %w", err)
		}
		s.scratch, _ = appendCompact(s.scratch[:0], ev, nil)
		n := binary.PutUvarint(hdr[:], uint64(len(s.scratch)))
		w.Write(hdr[:n])
		w.Write(s.scratch)
		s.stats.Spilled += int64(n + len(s.scratch))
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("spilling events to %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("spilling events to %s: %w", name, err)
	}
	s.runs = append(s.runs, name)
	s.stats.Runs++
	s.mem, s.blocks, s.tab = s.mem[:0], nil, nil
	s.bytes = 0
	return nil
}

// in is the compact form of a held event, in blocks.
func (h held) in(blocks [][]byte) []byte {
	return blocks[h.blk][h.off : h.off+h.n : h.off+h.n]
}

// sortMem puts the held events into Compare's order.
func (s *Sorter) sortMem() {
	slices.SortFunc(s.mem, func(a, b held) int {
		if a.sec != b.sec {
			return cmpInt(a.sec, b.sec)
		}
		if a.nsec != b.nsec {
			return cmpInt(int64(a.nsec), int64(b.nsec))
		}
		return compareCompact(a.in(s.blocks), b.in(s.blocks), s.tab)
	})
}

// Each hands every event to fn in the order of Less, merging the runs on
// disk with the events still in memory, and stops at fn's first error.
// It may be called once; Close removes the runs afterwards.
func (s *Sorter) Each(fn func(*event.Event) error) error {
	if s.done {
		return errors.New("eventtime: Each called twice")
	}
	s.done = true
	s.sortMem()
	h := &mergeHeap{}
	if len(s.mem) > 0 {
		// The events read back are views of the blocks, which are
		// never written again: the table's strings and the blocks are
		// shared by every event the rules keep.
		mem, blocks, tab := s.mem, s.blocks, s.tab
		s.mem, s.blocks, s.tab = nil, nil, nil
		i := 0
		h.srcs = append(h.srcs, &source{next: func() (*event.Event, error) {
			if i == len(mem) {
				return nil, io.EOF
			}
			m := mem[i]
			i++
			ev, err := decodeCompact(m.in(blocks), tab, true)
			if err != nil {
				return nil, fmt.Errorf("reading held events: %w", err)
			}
			return ev, nil
		}})
	}
	var files []*os.File
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	for _, name := range s.runs {
		f, err := os.Open(name)
		if err != nil {
			return fmt.Errorf("reading spilled events: %w", err)
		}
		files = append(files, f)
		r := bufio.NewReaderSize(f, 256<<10)
		h.srcs = append(h.srcs, &source{next: func() (*event.Event, error) { return readRun(r, name) }})
	}
	for _, src := range h.srcs {
		if err := src.advance(); err != nil {
			return err
		}
		if src.ev != nil {
			h.live = append(h.live, src)
		}
	}
	heap.Init(h)
	for h.Len() > 0 {
		src := h.live[0]
		ev := src.ev
		if err := src.advance(); err != nil {
			return err
		}
		if src.ev == nil {
			heap.Pop(h)
		} else {
			heap.Fix(h, 0)
		}
		if err := fn(ev); err != nil {
			return err
		}
	}
	return nil
}

func readRun(r *bufio.Reader, name string) (*event.Event, error) {
	n, err := binary.ReadUvarint(r)
	if err == io.EOF {
		return nil, io.EOF
	}
	if err != nil {
		return nil, fmt.Errorf("reading spilled events from %s: %w", name, err)
	}
	// Read what is there rather than trust the length: a damaged run must
	// not make us allocate what it claims.
	b, err := io.ReadAll(io.LimitReader(r, int64(min(n, 1<<40))))
	if err != nil {
		return nil, fmt.Errorf("reading spilled events from %s: %w", name, err)
	}
	if uint64(len(b)) != n {
		return nil, fmt.Errorf("reading spilled events from %s: a record is cut short (%d of %d bytes)", name, len(b), n)
	}
	ev, err := decodeCompact(b, nil, true)
	if err != nil {
		return nil, fmt.Errorf("reading spilled events from %s: %w", name, err)
	}
	return ev, nil
}

// Close removes the runs and their directory. It is safe to call more
// than once, and without Each (an interrupted hunt).
func (s *Sorter) Close() error {
	s.mem, s.blocks, s.tab = nil, nil, nil
	if s.dir == "" {
		return nil
	}
	err := os.RemoveAll(s.dir)
	s.dir, s.runs = "", nil
	return err
}

// Dir is the directory the runs are in, "" before the first spill.
func (s *Sorter) Dir() string { return s.dir }

type source struct {
	next func() (*event.Event, error)
	ev   *event.Event
}

func (s *source) advance() error {
	ev, err := s.next()
	if err == io.EOF {
		s.ev = nil
		return nil
	}
	if err != nil {
		return err
	}
	s.ev = ev
	return nil
}

type mergeHeap struct {
	srcs []*source
	live []*source
}

func (h *mergeHeap) Len() int           { return len(h.live) }
func (h *mergeHeap) Less(i, j int) bool { return Less(h.live[i].ev, h.live[j].ev) }
func (h *mergeHeap) Swap(i, j int)      { h.live[i], h.live[j] = h.live[j], h.live[i] }
func (h *mergeHeap) Push(x any)         { h.live = append(h.live, x.(*source)) }
func (h *mergeHeap) Pop() any {
	s := h.live[len(h.live)-1]
	h.live = h.live[:len(h.live)-1]
	return s
}
