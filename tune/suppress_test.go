package tune

import (
	"strings"
	"testing"
	"time"

	"github.com/revertwatch/revertwatch/finding"
)

func TestSuppressorWindow(t *testing.T) {
	s := NewSuppressor(24 * time.Hour)
	t0 := time.Date(2026, 11, 1, 19, 0, 0, 0, time.UTC)
	steps := []struct {
		id      string
		at      time.Duration
		emit    bool
		repeats int
	}{
		{"a", 0, true, 0},              // first sighting
		{"a", 1 * time.Hour, false, 1}, // repeat
		{"b", 2 * time.Hour, true, 0},  // another id is independent
		{"a", 23*time.Hour + 59*time.Minute, false, 2},
		{"a", -30 * time.Minute, false, 3}, // late event, within a window of the start
		{"a", 24 * time.Hour, true, 3},     // window over: reported with the 3 held back
		{"a", 25 * time.Hour, false, 1},    // new window
		{"a", 72 * time.Hour, true, 1},
		{"a", 72 * time.Hour, false, 1}, // same event time: a repeat
	}
	for i, st := range steps {
		v := s.Observe(st.id, t0.Add(st.at))
		if v.Emit != st.emit || v.Repeats != st.repeats {
			t.Fatalf("step %d (%s at %v): %+v, want emit=%v repeats=%d", i, st.id, st.at, v, st.emit, st.repeats)
		}
	}
	observed, held := s.Stats()
	if observed != int64(len(steps)) || held != 5 {
		t.Fatalf("stats %d %d", observed, held)
	}
	if p := s.Pending(); len(p) != 1 || p[0].ID != "a" || p[0].Repeats != 1 {
		t.Fatalf("pending %+v", p)
	}
	// The watermark passes b's window (no repeats: forgotten silently) but
	// not a's.
	if h := s.Expire(t0.Add(30 * time.Hour)); len(h) != 0 || s.Len() != 1 {
		t.Fatalf("expire: %+v, %d open", h, s.Len())
	}
	if h := s.Expire(t0.Add(96 * time.Hour)); len(h) != 1 || h[0].ID != "a" || h[0].Repeats != 1 || s.Len() != 0 {
		t.Fatalf("expire: %+v, %d open", h, s.Len())
	}
}

func TestSuppressorDisabled(t *testing.T) {
	c := mustParse(t, "repeat_window: 0s\n")
	s := c.NewSuppressor()
	for i := 0; i < 3; i++ {
		if v := s.Observe("a", time.Unix(0, 0)); !v.Emit {
			t.Fatal("window 0 must report every occurrence")
		}
	}
	if (*Config)(nil).NewSuppressor().window != DefaultRepeatWindow {
		t.Fatal("nil config window")
	}
}

func TestSuppressorCheckAddsReason(t *testing.T) {
	s := NewSuppressor(time.Hour)
	t0 := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	mk := func(d time.Duration) *finding.Finding {
		return &finding.Finding{ID: "rw-1", FirstSeen: t0.Add(d)}
	}
	if v := s.Check(mk(0)); !v.Emit {
		t.Fatal("first")
	}
	s.Check(mk(10 * time.Minute))
	s.Check(mk(20 * time.Minute))
	f := mk(2 * time.Hour)
	if v := s.Check(f); !v.Emit || v.Repeats != 2 {
		t.Fatalf("%+v", v)
	}
	if len(f.Reasons) != 1 || !strings.HasPrefix(f.Reasons[0], "also seen 2 more time(s) between 2026-11-01T10:00:00Z and 2026-11-01T10:20:00Z") {
		t.Fatalf("reasons %q", f.Reasons)
	}
	// A finding without a first time falls back to its last time.
	g := &finding.Finding{ID: "rw-2", LastSeen: t0}
	if v := s.Check(g); !v.Emit {
		t.Fatal("last seen")
	}
}
