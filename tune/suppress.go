package tune

import (
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/revertwatch/revertwatch/finding"
)

// Suppressor reports each finding id once per window of event time, for
// the long-running modes (watch, serve) that see the same revert recur:
// the first occurrence opens a window and is emitted; repeats inside the
// window are held back and counted; the first occurrence after the window
// is emitted again with the count of repeats it closes.
//
// Time is the events' time, never the wall clock, so a replay of old logs
// behaves like the live run did. An occurrence earlier than its window's
// start (a late event) counts as a repeat when it is within one window of
// the start. Call Expire with the engine's watermark to bound memory.
//
// A Suppressor is safe for concurrent use.
type Suppressor struct {
	window time.Duration

	mu    sync.Mutex
	open  map[string]*repeatState
	held  int64
	total int64
}

type repeatState struct {
	start   time.Time
	last    time.Time
	repeats int
}

// NewSuppressor returns a Suppressor with the given window; 0 or less
// reports every occurrence.
func NewSuppressor(window time.Duration) *Suppressor {
	return &Suppressor{window: window, open: map[string]*repeatState{}}
}

// NewSuppressor returns a Suppressor with the config's repeat window (the
// default when c is nil).
func (c *Config) NewSuppressor() *Suppressor {
	if c == nil {
		return NewSuppressor(DefaultRepeatWindow)
	}
	return NewSuppressor(c.RepeatWindow)
}

// Verdict is the Suppressor's answer for one occurrence.
type Verdict struct {
	// Emit is true for the first occurrence of an id in a window.
	Emit bool
	// Repeats counts the occurrences held back: when Emit is true, those of
	// the window this occurrence closed (0 for a first sighting); when
	// false, those of the current window so far, this one included.
	Repeats int
	// Since and Until bound the event times of the counted repeats' window.
	Since, Until time.Time
}

// Observe records an occurrence of finding id at event time t.
func (s *Suppressor) Observe(id string, t time.Time) Verdict {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.total++
	if s.window <= 0 {
		return Verdict{Emit: true}
	}
	st, ok := s.open[id]
	if !ok {
		s.open[id] = &repeatState{start: t, last: t}
		return Verdict{Emit: true}
	}
	if t.Sub(st.start) < s.window && st.start.Sub(t) < s.window {
		st.repeats++
		if t.After(st.last) {
			st.last = t
		}
		s.held++
		return Verdict{Repeats: st.repeats, Since: st.start, Until: st.last}
	}
	v := Verdict{Emit: true, Repeats: st.repeats, Since: st.start, Until: st.last}
	s.open[id] = &repeatState{start: t, last: t}
	return v
}

// Check observes a finding by its id and its first event time (last event
// time when the first is unknown). When the finding is to be emitted after
// held-back repeats, a reason saying how many is added to it.
func (s *Suppressor) Check(f *finding.Finding) Verdict {
	t := f.FirstSeen
	if t.IsZero() {
		t = f.LastSeen
	}
	v := s.Observe(f.ID, t)
	if v.Emit && v.Repeats > 0 {
		f.Reasons = append(f.Reasons, fmt.Sprintf("also seen %d more time(s) between %s and %s; repeats are reported once per %s",
			v.Repeats, v.Since.UTC().Format(time.RFC3339), v.Until.UTC().Format(time.RFC3339), s.window))
	}
	return v
}

// Held is the count of repeats held back for one finding id in a window
// that ended without a later occurrence to report it.
type Held struct {
	ID           string    `json:"id"`
	Repeats      int       `json:"repeats"`
	Since, Until time.Time `json:"-"`
}

// Expire forgets the windows that ended at or before watermark (an event
// time: the engine's watermark) and returns those that held repeats, by
// id, so that the caller can report them.
func (s *Suppressor) Expire(watermark time.Time) []Held {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Held
	for id, st := range s.open {
		if st.start.Add(s.window).After(watermark) {
			continue
		}
		if st.repeats > 0 {
			out = append(out, Held{ID: id, Repeats: st.repeats, Since: st.start, Until: st.last})
		}
		delete(s.open, id)
	}
	sortHeld(out)
	return out
}

// Pending returns the open windows that hold repeats, by id, for the final
// summary of a run.
func (s *Suppressor) Pending() []Held {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Held
	for id, st := range s.open {
		if st.repeats > 0 {
			out = append(out, Held{ID: id, Repeats: st.repeats, Since: st.start, Until: st.last})
		}
	}
	sortHeld(out)
	return out
}

// Stats returns how many occurrences were observed and how many of them
// were held back.
func (s *Suppressor) Stats() (observed, held int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total, s.held
}

// Len is the number of open windows (the Suppressor's memory).
func (s *Suppressor) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.open)
}

func sortHeld(hs []Held) {
	sort.Slice(hs, func(i, j int) bool { return hs[i].ID < hs[j].ID })
}
