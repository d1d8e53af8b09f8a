package detect

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand"
	"path/filepath"
	"slices"
	"testing"

	"github.com/revertwatch/revertwatch/emulate"
	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/finding"
	"github.com/revertwatch/revertwatch/ingest"
)

// emulatedEvents decodes every file of the emulated scenarios, in the
// order of the corpus.
func emulatedEvents(t *testing.T) []*event.Event {
	return corpusEvents(t, emulate.Options{Seed: 1})
}

// corpusEvents decodes every file of the corpus opt generates, in order.
func corpusEvents(t *testing.T, opt emulate.Options) []*event.Event {
	t.Helper()
	corpus, err := emulate.Generate(opt)
	if err != nil {
		t.Fatal(err)
	}
	var evs []*event.Event
	for _, f := range corpus.Files {
		_, err := ingest.DecodeStream(context.Background(), f.Path, bytes.NewReader(f.Data), ingest.Options{},
			ingest.Handlers{Event: func(ev *event.Event) error { evs = append(evs, ev); return nil }})
		if err != nil {
			t.Fatal(err)
		}
	}
	return evs
}

// huntAtRest runs the at-rest detector over events in the given order and
// returns its findings as ndjson.
func huntAtRest(t *testing.T, evs []*event.Event, budget int64) []byte {
	t.Helper()
	b, _ := huntAtRestSummary(t, evs, budget)
	return b
}

// huntAtRestSummary is huntAtRest that also returns the run's summary.
func huntAtRestSummary(t *testing.T, evs []*event.Event, budget int64) ([]byte, Summary) {
	t.Helper()
	d, err := New(Options{AtRest: true, MemoryBudget: budget, SpillDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		// Each run gets its own copy: the detector keeps what it is given.
		c := *ev
		d.Process(&c)
	}
	if err := d.FlushContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := finding.Write(&b, finding.FormatNDJSON, d.Findings(), d.Rules(), "test"); err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), d.Summary()
}

// TestOrderProperty: random permutations of the records of the emulated
// set — inside files and across them, every scenario in every shape, with
// its duplicates across shapes — give byte-identical findings, and so
// does a memory budget small enough to spill nearly every event.
func TestOrderProperty(t *testing.T) {
	evs := emulatedEvents(t)
	want := huntAtRest(t, evs, 0)
	if n := bytes.Count(want, []byte("\n")); n < 20 {
		t.Fatalf("only %d findings in the emulated set", n)
	}
	rng := rand.New(rand.NewSource(7))
	runs := 12
	if testing.Short() {
		runs = 3
	}
	for i := 0; i < runs; i++ {
		perm := append([]*event.Event(nil), evs...)
		rng.Shuffle(len(perm), func(a, b int) { perm[a], perm[b] = perm[b], perm[a] })
		if i%2 == 1 {
			// Newest first: the order of lookup-events and of the Azure
			// activity-log list.
			for a, b := 0, len(perm)-1; a < b; a, b = a+1, b-1 {
				perm[a], perm[b] = perm[b], perm[a]
			}
		}
		budget := int64(0)
		if i%3 == 2 {
			budget = 8 << 10
		}
		if got := huntAtRest(t, perm, budget); !bytes.Equal(got, want) {
			t.Fatalf("permutation %d (budget %d) changed the findings:\n%s", i, budget, firstDiff(got, want))
		}
	}
}

func firstDiff(a, b []byte) string {
	la, lb := bytes.Split(a, []byte("\n")), bytes.Split(b, []byte("\n"))
	for i := 0; i < len(la) && i < len(lb); i++ {
		if !bytes.Equal(la[i], lb[i]) {
			var fa, fb struct {
				ID     string `json:"id"`
				RuleID string `json:"rule_id"`
			}
			json.Unmarshal(la[i], &fa)
			json.Unmarshal(lb[i], &fb)
			return "line " + itoa(i) + ": got " + fa.RuleID + " " + fa.ID + ", want " + fb.RuleID + " " + fb.ID
		}
	}
	return "lengths " + itoa(len(la)) + " and " + itoa(len(lb))
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

// TestSpillCleanup: an interrupted hunt removes its runs.
func TestSpillCleanup(t *testing.T) {
	dir := t.TempDir()
	d, err := New(Options{AtRest: true, MemoryBudget: 1024, SpillDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range emulatedEvents(t) {
		d.Process(ev)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := d.FlushContext(ctx); err == nil {
		t.Error("a cancelled flush reported no error")
	}
	if s := d.Summary().Sort; s.Runs == 0 {
		t.Fatalf("nothing spilled: %+v", s)
	}
	if err := d.Close(); err != nil && err != context.Canceled {
		t.Fatal(err)
	}
	if left, _ := filepathGlob(dir); len(left) != 0 {
		t.Errorf("spilled runs left behind: %v", left)
	}
}

func filepathGlob(dir string) ([]string, error) { return filepath.Glob(filepath.Join(dir, "*")) }

// TestAtRestEvidenceKeepsItsBytes: at rest the held CloudTrail records'
// bytes wait on disk; every finding's evidence still carries each
// record's bytes as read, with or without spilling.
func TestAtRestEvidenceKeepsItsBytes(t *testing.T) {
	evs := emulatedEvents(t)
	raw := map[string][]string{}
	for _, ev := range evs {
		raw[ev.UID] = append(raw[ev.UID], string(ev.Raw))
	}
	for _, budget := range []int64{0, 8 << 10} {
		out := huntAtRest(t, evs, budget)
		var n int
		for _, line := range bytes.Split(bytes.TrimSpace(out), []byte("\n")) {
			var f struct {
				Evidence []struct {
					UID string          `json:"uid"`
					Raw json.RawMessage `json:"raw"`
				} `json:"evidence"`
			}
			if err := json.Unmarshal(line, &f); err != nil {
				t.Fatal(err)
			}
			for _, e := range f.Evidence {
				n++
				found := false
				for _, r := range raw[e.UID] {
					found = found || r == string(e.Raw)
				}
				if !found {
					t.Fatalf("budget %d: evidence %s carries %.80q, not its record", budget, e.UID, e.Raw)
				}
			}
		}
		if n < 40 {
			t.Fatalf("only %d evidence events", n)
		}
	}
}

// TestPruneLoneSameFindings: at rest the engine keeps no sequence waiting
// on a value no other event holds, nor a context entry under one. The
// findings are byte-identical to keeping them, in the corpus order, newest
// first and shuffled, with a background that starts many sequences that
// never advance; and the pruning does keep less.
func TestPruneLoneSameFindings(t *testing.T) {
	evs := corpusEvents(t, emulate.Options{Seed: 3, Noise: 3000})
	peak := func(evs []*event.Event, prune bool) ([]byte, int) {
		t.Helper()
		pruneLone = prune
		defer func() { pruneLone = true }()
		b, sum := huntAtRestSummary(t, evs, 0)
		return b, sum.Engine.PeakPartials
	}
	rng := rand.New(rand.NewSource(11))
	for i := range 3 {
		perm := append([]*event.Event(nil), evs...)
		switch i {
		case 1:
			slices.Reverse(perm)
		case 2:
			rng.Shuffle(len(perm), func(a, b int) { perm[a], perm[b] = perm[b], perm[a] })
		}
		kept, keptPeak := peak(perm, false)
		pruned, prunedPeak := peak(perm, true)
		if n := bytes.Count(kept, []byte("\n")); n < 20 {
			t.Fatalf("order %d: only %d findings", i, n)
		}
		if !bytes.Equal(kept, pruned) {
			t.Fatalf("order %d: pruning changed the findings:\n%s", i, firstDiff(pruned, kept))
		}
		if prunedPeak*2 > keptPeak {
			t.Errorf("order %d: at most %d sequences waiting with pruning, %d without", i, prunedPeak, keptPeak)
		}
	}
}
