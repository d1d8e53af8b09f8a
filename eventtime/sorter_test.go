package eventtime

import (
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/revertwatch/revertwatch/event"
)

func testEvents(n int, seed int64) []*event.Event {
	rng := rand.New(rand.NewSource(seed))
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var out []*event.Event
	for i := 0; i < n; i++ {
		ev := &event.Event{Time: t0.Add(time.Duration(rng.Intn(90*24*60)) * time.Minute), Provider: event.AWS,
			UID: fmt.Sprintf("u-%d", rng.Intn(n)), Account: "1", Region: "r", Operation: "Op", OperationName: "Op",
			Outcome: event.OutcomeSuccess, Raw: []byte(fmt.Sprintf(`{"n":%d}`, i)), Source: event.Source{Name: "f", Offset: int64(i)}}
		out = append(out, ev)
	}
	return out
}

// The Sorter gives the order of Less whatever the input order, in memory
// or merged back from runs on disk, and removes its runs.
func TestSorterOrderAndSpill(t *testing.T) {
	evs := testEvents(3000, 1)
	for _, budget := range []int64{-1, 4 << 10, 64 << 10} {
		dir := t.TempDir()
		s := NewSorter(SorterOptions{Budget: budget, Dir: dir})
		for _, i := range rand.New(rand.NewSource(budget)).Perm(len(evs)) {
			c := *evs[i]
			if err := s.Add(&c); err != nil {
				t.Fatal(err)
			}
		}
		var got []*event.Event
		if err := s.Each(func(ev *event.Event) error { got = append(got, ev); return nil }); err != nil {
			t.Fatal(err)
		}
		if len(got) != len(evs) {
			t.Fatalf("budget %d: %d events out of %d", budget, len(got), len(evs))
		}
		for i := 1; i < len(got); i++ {
			if Less(got[i], got[i-1]) {
				t.Fatalf("budget %d: out of order at %d", budget, i)
			}
		}
		if budget == 4<<10 && s.Stats().Runs < 10 {
			t.Errorf("budget %d: only %d runs", budget, s.Stats().Runs)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) != 0 {
			t.Errorf("left behind: %v", left)
		}
	}
}

// A damaged run is an error naming the file, never a panic.
func FuzzSorterRun(f *testing.F) {
	f.Add([]byte{3, '{', '}', '\n'})
	f.Add([]byte{0xff, 0xff, 0xff})
	f.Add([]byte{10, '{', '"', 't', 'i', 'm', 'e', '"', ':', '1', '}'})
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		name := filepath.Join(dir, "run-000000")
		if err := os.WriteFile(name, data, 0o600); err != nil {
			t.Fatal(err)
		}
		s := NewSorter(SorterOptions{Dir: dir})
		s.dir, s.runs = dir, []string{name}
		_ = s.Each(func(*event.Event) error { return nil })
		_ = s.Close()
	})
}
