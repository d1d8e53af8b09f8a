package eventtime

import (
	"bufio"
	"container/heap"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/revertwatch/revertwatch/event"
)

// DefaultBudget is the memory a Sorter holds events in before it spills.
const DefaultBudget = 256 << 20

// eventOverhead is what an event costs beyond its byte fields and the
// strings Size counts: the struct (about 1.2 KB), its slices' backing
// arrays, and the allocator's rounding, as measured on CloudTrail events.
const eventOverhead = 1600

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
	opt   SorterOptions
	mem   []*event.Event
	bytes int64
	dir   string
	runs  []string
	stats SorterStats
	done  bool
}

// NewSorter returns an empty Sorter.
func NewSorter(opt SorterOptions) *Sorter {
	if opt.Budget == 0 {
		opt.Budget = DefaultBudget
	}
	return &Sorter{opt: opt}
}

// Size estimates the memory an event holds.
func Size(ev *event.Event) int64 {
	n := len(ev.Raw) + len(ev.Request) + len(ev.Response) + eventOverhead
	n += len(ev.UID) + len(ev.CorrelationUID) + len(ev.OriginalUID) + len(ev.Account) + len(ev.Region) + len(ev.Service) +
		len(ev.Operation) + len(ev.OperationName) + len(ev.EventType) + len(ev.Caller) + len(ev.SrcIP) + len(ev.SrcDomain) +
		len(ev.UserAgent) + len(ev.ResourceGroup) + len(ev.ResourceID) + len(ev.ErrorCode) + len(ev.ErrorMessage)
	a := &ev.Actor
	n += len(a.UID) + len(a.Name) + len(a.Type) + len(a.Account) + len(a.PrincipalID) + len(a.AccessKeyID) + len(a.Role) +
		len(a.AppID) + len(a.InvokedBy)
	k := &ev.Keys
	for _, l := range [][]string{k.Instances, k.SourceInstances, k.Volumes, k.SourceVolumes, k.Snapshots, k.SourceSnapshots, k.Images, k.Devices} {
		for _, x := range l {
			n += len(x) + 16
		}
	}
	for _, r := range ev.Resources {
		n += len(r.UID) + 48
	}
	return int64(n)
}

// Add takes one event; the Sorter keeps it, so the caller must not
// modify it afterwards.
func (s *Sorter) Add(ev *event.Event) error {
	if s.done {
		return errors.New("eventtime: Add after Each")
	}
	s.mem = append(s.mem, ev)
	s.bytes += Size(ev)
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
	slices.SortFunc(s.mem, Compare)
	name := fmt.Sprintf("%s/run-%06d", s.dir, len(s.runs))
	f, err := os.Create(name)
	if err != nil {
		return fmt.Errorf("spilling events to disk: %w", err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var hdr [binary.MaxVarintLen64]byte
	for _, ev := range s.mem {
		b, err := json.Marshal(ev)
		if err != nil {
			f.Close()
			return fmt.Errorf("spilling %s:%d: %w", ev.Source.Name, ev.Source.Line, err)
		}
		n := binary.PutUvarint(hdr[:], uint64(len(b)))
		w.Write(hdr[:n])
		w.Write(b)
		s.stats.Spilled += int64(n + len(b))
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
	clear(s.mem)
	s.mem = s.mem[:0]
	s.bytes = 0
	return nil
}

// Each hands every event to fn in the order of Less, merging the runs on
// disk with the events still in memory, and stops at fn's first error.
// It may be called once; Close removes the runs afterwards.
func (s *Sorter) Each(fn func(*event.Event) error) error {
	if s.done {
		return errors.New("eventtime: Each called twice")
	}
	s.done = true
	slices.SortFunc(s.mem, Compare)
	h := &mergeHeap{}
	if len(s.mem) > 0 {
		mem := s.mem
		s.mem = nil
		i := 0
		h.srcs = append(h.srcs, &source{next: func() (*event.Event, error) {
			if i == len(mem) {
				return nil, io.EOF
			}
			ev := mem[i]
			mem[i] = nil
			i++
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
	ev := new(event.Event)
	if err := json.Unmarshal(b, ev); err != nil {
		return nil, fmt.Errorf("reading spilled events from %s: %w", name, err)
	}
	ev.ShareBodies()
	return ev, nil
}

// Close removes the runs and their directory. It is safe to call more
// than once, and without Each (an interrupted hunt).
func (s *Sorter) Close() error {
	s.mem = nil
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
