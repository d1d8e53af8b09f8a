package sigma

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/revertwatch/revertwatch/emulate"
	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/eventtime"
	"github.com/revertwatch/revertwatch/internal/emutest"
)

// countRules are correlations of every other kind over the exported
// detection rules: an unbounded and an anchored event count, a value
// count, an unordered temporal, and a correlation of a correlation.
const countRules = `
title: stops by one caller
name: test-stops
correlation:
    type: event_count
    rules: [aws-stop-start.stop]
    group-by: [recipientAccountId]
    timespan: 2h
    condition: {gte: 2}
---
title: at most one stop
name: test-few-stops
correlation:
    type: event_count
    rules: [aws-stop-start.stop]
    group-by: [recipientAccountId]
    timespan: 20m
    condition: {lte: 1}
---
title: operations of many kinds
name: test-kinds
correlation:
    type: value_count
    rules: [aws-stop-start.stop, aws-stop-start.start, aws-volume-from-snapshot.create, aws-volume-from-snapshot.attach]
    group-by: [recipientAccountId]
    timespan: 1h
    condition: {field: eventName, gte: 3}
---
title: stop and start in any order
name: test-any-order
correlation:
    type: temporal
    rules: [aws-stop-start.stop, aws-stop-start.start]
    group-by: [recipientAccountId]
    timespan: 1h
---
title: two stop-and-starts
name: test-twice
correlation:
    type: event_count
    rules: [test-any-order]
    group-by: [recipientAccountId]
    timespan: 6h
    condition: {gte: 2}
    generate: true
`

// stateRules is the exported content (testdata/exported.yml, which a
// test of platforms keeps equal to the export) and countRules, as one
// Ruleset.
func stateRules(t testing.TB) *Ruleset {
	t.Helper()
	exported, err := os.ReadFile("testdata/exported.yml")
	if err != nil {
		t.Fatal(err)
	}
	rs := NewRuleset(nil)
	rs.AddFile("exported.yml", exported)
	rs.AddFile("counts.yml", []byte(countRules))
	rs.Resolve()
	for _, p := range rs.Problems {
		t.Fatalf("rule does not load: %s", p)
	}
	return rs
}

// emulated decodes every file of the emulated corpus and puts the events
// in the order a live input delivers them: event time, each moved by up
// to jitter (a deterministic amount per event), so that some arrive after
// newer ones.
func emulated(t testing.TB, opt emulate.Options, jitter time.Duration) []*event.Event {
	t.Helper()
	evs := emutest.Events(t, opt)
	at := func(ev *event.Event) time.Time {
		if jitter <= 0 {
			return ev.Time
		}
		h := fnv.New64a()
		h.Write([]byte(ev.UID + ev.Source.Name))
		return ev.Time.Add(time.Duration(h.Sum64() % uint64(jitter)))
	}
	sort.SliceStable(evs, func(i, j int) bool {
		if a, b := at(evs[i]), at(evs[j]); !a.Equal(b) {
			return a.Before(b)
		}
		return eventtime.Less(evs[i], evs[j])
	})
	return evs
}

// hitLog renders hits in the order they came, with everything a finding
// is built from.
type hitLog struct{ lines []string }

func (l *hitLog) add(h *Hit) {
	var b strings.Builder
	fmt.Fprintf(&b, "%s count=%d %s..%s", h.Rule.Ref(), h.Count, h.First.Format(time.RFC3339), h.Last.Format(time.RFC3339))
	for _, g := range h.Group {
		fmt.Fprintf(&b, " %s=%s", g.Field, g.Value)
	}
	for _, e := range h.Events {
		fmt.Fprintf(&b, " [%s %s %s]", e.Rule, e.Event.UID, e.Event.Time.Format(time.RFC3339))
	}
	l.lines = append(l.lines, b.String())
}

func newLogged(rs *Ruleset, lateness time.Duration, l *hitLog) *Runner {
	return NewRunner(rs, RunOptions{Lateness: lateness, OnHit: l.add})
}

// roundTrip snapshots r, restores the snapshot into a fresh Runner that
// logs to l, and checks the restored Runner snapshots to the same bytes.
func roundTrip(t *testing.T, rs *Ruleset, r *Runner, lateness time.Duration, l *hitLog) *Runner {
	t.Helper()
	snap, err := r.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	n := newLogged(rs, lateness, l)
	if err := n.Restore(snap); err != nil {
		t.Fatal(err)
	}
	again, err := n.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(snap, again) {
		t.Fatalf("snapshot of the restored runner differs (%d vs %d bytes):\n%s\n%s", len(snap), len(again), snap, again)
	}
	return n
}

func sameLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") == strings.Join(want, "\n") {
		return
	}
	for i := 0; i < len(got) || i < len(want); i++ {
		var g, w string
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			t.Fatalf("%s: %d hits, want %d; first difference at %d:\n got %s\nwant %s", what, len(got), len(want), i, g, w)
		}
	}
}

// TestSnapshotRestore cuts the emulated corpus at every event: the
// runner is snapshotted after it, restored into a fresh runner, and the
// fresh one goes on. The hits, their order and the counters must be
// those of an uninterrupted run, and every restored runner snapshots to
// the bytes it was restored from. A few cuts are also taken alone, each
// from a runner that ran the prefix uninterrupted.
func TestSnapshotRestore(t *testing.T) {
	rs := stateRules(t)
	all := []string{"aws-stop-start", "azure-disk-swap", "azure-disk-swap-bodyless", "aws-snapshot-volume-instance",
		"test-stops", "test-few-stops", "test-kinds", "test-any-order", "test-twice"}
	for _, c := range []struct {
		name             string
		lateness, jitter time.Duration
		want             []string
		// stride spaces the chained cuts under the race detector, which
		// makes each round trip ten times slower.
		stride int
	}{
		{"in-order", time.Hour, 0, all, 5},
		{"jitter-20m/lateness-30m", 30 * time.Minute, 20 * time.Minute, all, 1},
		// Some events late: they complete no correlation.
		{"jitter-2h/lateness-30m", 30 * time.Minute, 2 * time.Hour, all[:3], 5},
	} {
		t.Run(c.name, func(t *testing.T) {
			// The rules are AWS and Azure ones; every cut is a round
			// trip, so the Google Cloud shapes would only make it slower.
			evs := emulated(t, emulate.Options{Seed: 1, Noise: 20,
				Shapes: append(append([]emulate.Shape(nil), emulate.AWSShapes...), emulate.AzureShapes...)}, c.jitter)
			var whole hitLog
			w := newLogged(rs, c.lateness, &whole)
			for _, ev := range evs {
				w.Process(ev)
			}
			w.Flush()
			if len(whole.lines) == 0 {
				t.Fatal("the corpus should give hits")
			}
			kinds := map[string]bool{}
			for _, l := range whole.lines {
				kinds[strings.Fields(l)[0]] = true
			}
			for _, k := range c.want {
				if !kinds[k] {
					t.Errorf("no hit of %s: the test would not cover its state (hits: %v)", k, kinds)
				}
			}
			t.Logf("%d events, %d hits, %+v", len(evs), len(whole.lines), w.Stats())
			if t.Failed() {
				return
			}

			// Every cut, one after another.
			stride := 1
			if raceEnabled {
				stride = c.stride
			}
			var chained hitLog
			r := newLogged(rs, c.lateness, &chained)
			for i, ev := range evs {
				if i%stride == 0 {
					r = roundTrip(t, rs, r, c.lateness, &chained)
				}
				r.Process(ev)
				if t.Failed() {
					t.Fatalf("at cut %d", i)
				}
			}
			r = roundTrip(t, rs, r, c.lateness, &chained)
			r.Flush()
			sameLines(t, "every cut", chained.lines, whole.lines)
			if a, b := w.Stats(), r.Stats(); a != b {
				t.Fatalf("stats differ:\n%+v\n%+v", a, b)
			}

			// Single cuts.
			for _, cut := range []int{0, 1, len(evs) / 3, len(evs) / 2, len(evs) - 1, len(evs)} {
				var l hitLog
				first := newLogged(rs, c.lateness, &l)
				for _, ev := range evs[:cut] {
					first.Process(ev)
				}
				second := roundTrip(t, rs, first, c.lateness, &l)
				for _, ev := range evs[cut:] {
					second.Process(ev)
				}
				second.Flush()
				sameLines(t, fmt.Sprintf("cut %d", cut), l.lines, whole.lines)
			}
		})
	}
}

// TestRestoreChangedRules: a state survives rules being added; the state
// of a correlation that is gone, or whose definition changed, is dropped.
func TestRestoreChangedRules(t *testing.T) {
	rs := load(t, stopStart)
	var l hitLog
	r := newLogged(rs, time.Hour, &l)
	r.Process(stopEv(0, "i-1"))
	r.Process(rec(62, "DescribeInstances")) // moves the watermark past the stop: it is in a group
	snap, err := r.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if r.Stats().Groups != 1 {
		t.Fatalf("groups %d, want 1", r.Stats().Groups)
	}

	// Rules added: the stop still completes with a later start.
	more := load(t, stopStart+`
---
title: attach
name: attach
logsource: {product: aws, service: cloudtrail}
detection:
    sel: {eventName: AttachVolume}
    condition: sel
`)
	var l2 hitLog
	n := newLogged(more, time.Hour, &l2)
	if err := n.Restore(snap); err != nil {
		t.Fatal(err)
	}
	n.Process(startEv(5, "i-1"))
	n.Flush()
	if len(l2.lines) != 1 || !strings.HasPrefix(l2.lines[0], "stopstart ") {
		t.Errorf("after rules were added: %v, want stopstart", l2.lines)
	}

	// The correlation redefined (its rules swapped): its state is dropped.
	redefined := load(t, strings.Replace(stopStart, "rules: [stop, start]", "rules: [start, stop]", 1))
	var l3 hitLog
	n = newLogged(redefined, time.Hour, &l3)
	if err := n.Restore(snap); err != nil {
		t.Fatal(err)
	}
	if g := n.Stats().Groups; g != 0 {
		t.Errorf("groups of a redefined correlation kept: %d", g)
	}

	// The correlation gone: dropped, and the counters stay.
	gone := load(t, strings.SplitN(stopStart, "---\ntitle: stop then start", 2)[0])
	n = NewRunner(gone, RunOptions{})
	if err := n.Restore(snap); err != nil {
		t.Fatal(err)
	}
	if st := n.Stats(); st.Groups != 0 || st.Events != 2 {
		t.Errorf("stats after the correlation went: %+v", st)
	}
	again, err := n.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	var s runState
	if err := json.Unmarshal(again, &s); err != nil {
		t.Fatal(err)
	}
	// (The core's history keeps the events themselves a while: they are
	// the scope's, not the correlation's.)
	if len(s.Rules) != 0 || len(s.Occs) != 0 {
		t.Errorf("a dropped correlation's state is written again: %s", again)
	}
}

// TestRestoreCorrupt: every corrupt state is an error, and the Runner is
// left as it was.
func TestRestoreCorrupt(t *testing.T) {
	rs := load(t, stopStart)
	r := NewRunner(rs, RunOptions{Lateness: time.Hour})
	r.Process(stopEv(0, "i-1"))
	r.Process(rec(70, "DescribeInstances"))
	good, err := r.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	var s runState
	if err := json.Unmarshal(good, &s); err != nil {
		t.Fatal(err)
	}
	if len(s.Rules) != 1 || len(s.Scopes) != 1 || len(s.Scopes[0].Groups) != 1 {
		t.Fatalf("unexpected state: %s", good)
	}
	mutate := func(f func(s *runState)) string {
		var c runState
		if err := json.Unmarshal(good, &c); err != nil {
			t.Fatal(err)
		}
		f(&c)
		b, err := json.Marshal(&c)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	bad := []string{
		"", "{", "null", `{"version":1}`, `{"version":2,"events":[null]}`,
		`{"version":2,"scopes":[{"provider":"Azure","account":"ABC"}]}`,
		`{"version":2,"scopes":[{"provider":"AWS"},{"provider":"AWS"}]}`,
		`{"version":2,"core":{"Scopes":[{"provider":"AWS","buffer":[{"event":0}]}]}}`,
		`{"version":2,"occurrences":[{"rule":0}]}`,
		mutate(func(s *runState) { s.Occs[0].Events[0].Event = 9 }),
		mutate(func(s *runState) { s.Occs[0].Pos = 2 }),
		mutate(func(s *runState) { s.Occs[0].Groups = [][]string{{"a", "b"}} }),
		mutate(func(s *runState) { s.Scopes[0].Groups[0].Rule = 5 }),
		mutate(func(s *runState) { s.Scopes[0].Groups[0].Vals = nil }),
		mutate(func(s *runState) { s.Scopes[0].Groups[0].Chains = s.Scopes[0].Groups[0].Chains[1:] }),
		mutate(func(s *runState) { s.Scopes[0].Groups[0].Chains[1].Occs = []int{7} }),
		mutate(func(s *runState) { s.Scopes[0].Groups[0].Last = []int{0, -1} }),
		mutate(func(s *runState) { s.Scopes[0].Groups[0].Open = true }),
		mutate(func(s *runState) { s.Scopes[0].Groups = append(s.Scopes[0].Groups, s.Scopes[0].Groups[0]) }),
		mutate(func(s *runState) { s.Core.Pending = []eventtime.GroupSnapshot{{Scope: 3}} }),
	}
	for _, b := range bad {
		if err := r.Restore([]byte(b)); err == nil {
			t.Errorf("Restore(%s) accepted", b)
		}
		after, err := r.Snapshot()
		if err != nil || !bytes.Equal(after, good) {
			t.Fatalf("Restore(%s) failed and changed the runner", b)
		}
	}
}

// FuzzRestore restores arbitrary bytes, then runs events and snapshots:
// a corrupt state is an error, never a panic, and an accepted state
// runs.
func FuzzRestore(f *testing.F) {
	rs := stateRules(f)
	evs := []*event.Event{stopEv(0, "i-1"), startEv(1, "i-1"), stopEv(2, "i-2"), rec(90, "DescribeInstances")}
	for _, n := range []int{0, 1, 3} {
		r := NewRunner(rs, RunOptions{Lateness: time.Hour})
		for _, ev := range evs[:n] {
			r.Process(ev)
		}
		snap, err := r.Snapshot()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(snap)
	}
	f.Add([]byte(`{"version":1,"rules":[{"ref":"test-stops"}],"occurrences":[{"rule":0,"groups":[[]]}],"scopes":[{"provider":"AWS","buffer":[0]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewRunner(rs, RunOptions{Lateness: time.Hour, MaxSeen: 3})
		if err := r.Restore(data); err != nil {
			return
		}
		for _, ev := range evs {
			r.Process(ev)
		}
		if _, err := r.Snapshot(); err != nil {
			return
		}
		r.Flush()
	})
}
