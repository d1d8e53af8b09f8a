package detect_test

import (
	"bytes"
	"encoding/json"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/revertwatch/revertwatch/detect"
	"github.com/revertwatch/revertwatch/emulate"
	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/eventtime"
	"github.com/revertwatch/revertwatch/finding"
	"github.com/revertwatch/revertwatch/internal/emutest"
	"github.com/revertwatch/revertwatch/sigma"
	"github.com/revertwatch/revertwatch/tune"
)

// liveEvents decodes the emulated corpus in event-time order, as a live
// input of clouds with in-order delivery would see it.
func liveEvents(t *testing.T) []*event.Event {
	t.Helper()
	evs := emutest.Events(t, emulate.Options{Seed: 3})
	sort.SliceStable(evs, func(i, j int) bool { return eventtime.Less(evs[i], evs[j]) })
	return evs
}

// engineOf tells a Sigma finding from a built-in one: the exported rules
// have the built-in ids.
func engineOf(f finding.Finding) string {
	for _, r := range f.Reasons {
		if strings.HasPrefix(r, "Sigma ") {
			return "sigma"
		}
	}
	return "builtin"
}

// streaming is a live Detector that collects the ids of its findings.
type streaming struct {
	d   *detect.Detector
	ids *[]string
}

func newStreaming(t *testing.T, rs *sigma.Ruleset, noBuiltin bool, ids *[]string) streaming {
	t.Helper()
	d, err := detect.New(detect.Options{Lateness: time.Hour, Rules: rs, NoBuiltin: noBuiltin, Stream: true,
		OnFinding: func(f finding.Finding, _ tune.Decision) { *ids = append(*ids, engineOf(f)+" "+f.RuleID+" "+f.ID) }})
	if err != nil {
		t.Fatal(err)
	}
	return streaming{d, ids}
}

// TestSnapshotRestoreWithSigma: a Detector running the built-in content
// and the same content as Sigma rules is cut at many points; restored
// into a fresh Detector it makes the findings of an uninterrupted run,
// built-in and Sigma alike, and its state snapshots to the same bytes.
func TestSnapshotRestoreWithSigma(t *testing.T) {
	rs := exported(t)
	evs := liveEvents(t)
	var whole []string
	w := newStreaming(t, rs, false, &whole)
	for _, ev := range evs {
		w.d.Process(ev)
	}
	w.d.Idle()
	var builtin, sig int
	for _, id := range whole {
		switch {
		case strings.HasPrefix(id, "builtin aws-stop-start "):
			builtin++
		case strings.HasPrefix(id, "sigma aws-stop-start "):
			sig++
		}
	}
	if builtin == 0 || sig == 0 {
		t.Fatalf("no built-in or Sigma aws-stop-start finding to cut: %v", whole)
	}
	for cut := 0; cut <= len(evs); cut += max(1, len(evs)/20) {
		var got []string
		a := newStreaming(t, rs, false, &got)
		for _, ev := range evs[:cut] {
			a.d.Process(ev)
		}
		snap, err := a.d.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		b := newStreaming(t, rs, false, &got)
		if err := b.d.Restore(snap); err != nil {
			t.Fatalf("cut %d: %v", cut, err)
		}
		again, err := b.d.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(snap, again) {
			t.Fatalf("cut %d: the restored detector snapshots to other bytes", cut)
		}
		for _, ev := range evs[cut:] {
			b.d.Process(ev)
		}
		b.d.Idle()
		if strings.Join(got, "\n") != strings.Join(whole, "\n") {
			t.Fatalf("cut %d: findings\n%s\nwant\n%s", cut, strings.Join(got, "\n"), strings.Join(whole, "\n"))
		}
	}
}

// TestRestoreAcrossSigmaChanges: the state of a Detector without Sigma
// rules (the engine's own format, as every checkpoint before Sigma in
// the live modes) restores into one with them, and the other way round
// Sigma's part is dropped; a bad Sigma part fails the whole restore and
// leaves the Detector as it was.
func TestRestoreAcrossSigmaChanges(t *testing.T) {
	rs := exported(t)
	evs := liveEvents(t)
	cut := len(evs) / 2
	run := func(rs *sigma.Ruleset) ([]byte, []string) {
		var ids []string
		s := newStreaming(t, rs, false, &ids)
		for _, ev := range evs[:cut] {
			s.d.Process(ev)
		}
		snap, err := s.d.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		return snap, ids
	}
	plain, _ := run(nil)
	withSigma, _ := run(rs)
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(plain, &probe); err != nil || probe["engine"] != nil || probe["version"] == nil {
		t.Fatalf("without Sigma rules the state is not the engine's own: %.200s", plain)
	}
	if err := json.Unmarshal(withSigma, &probe); err != nil || probe["engine"] == nil || probe["sigma"] == nil {
		t.Fatalf("with Sigma rules the state has no engine and sigma parts: %.200s", withSigma)
	}

	// Builtin findings of the rest are the same whichever state they
	// resume from.
	rest := func(rs *sigma.Ruleset, state []byte) []string {
		var ids []string
		s := newStreaming(t, rs, false, &ids)
		if err := s.d.Restore(state); err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs[cut:] {
			s.d.Process(ev)
		}
		s.d.Idle()
		var out []string
		for _, id := range ids {
			if strings.HasPrefix(id, "builtin ") {
				out = append(out, id)
			}
		}
		return out
	}
	builtin := rest(nil, plain)
	if len(builtin) == 0 {
		t.Fatal("no built-in finding after the cut")
	}
	if got := rest(rs, plain); strings.Join(got, " ") != strings.Join(builtin, " ") {
		t.Errorf("plain state into a detector with Sigma rules: %v, want %v", got, builtin)
	}
	if got := rest(nil, withSigma); strings.Join(got, " ") != strings.Join(builtin, " ") {
		t.Errorf("state with Sigma into a detector without: %v, want %v", got, builtin)
	}

	var ids []string
	s := newStreaming(t, rs, false, &ids)
	before, _ := s.d.Snapshot()
	for _, bad := range []string{
		`{"detector_state":2,"engine":{}}`,
		`{"detector_state":1}`,
		`{"detector_state":1,"engine":` + string(bytes.TrimSpace(plain)) + `,"sigma":{"version":9}}`,
		`{"detector_state":1,"engine":{"version":9},"sigma":` + string(bytes.TrimSpace(mustSigma(t, withSigma))) + `}`,
		`{`,
	} {
		if err := s.d.Restore([]byte(bad)); err == nil {
			t.Errorf("Restore(%.80s) accepted", bad)
		}
		after, _ := s.d.Snapshot()
		if !bytes.Equal(before, after) {
			t.Fatalf("Restore(%.80s) failed and changed the detector", bad)
		}
	}
}

func mustSigma(t *testing.T, state []byte) []byte {
	t.Helper()
	var s struct {
		Sigma json.RawMessage `json:"sigma"`
	}
	if err := json.Unmarshal(state, &s); err != nil || s.Sigma == nil {
		t.Fatalf("no sigma part: %v", err)
	}
	return s.Sigma
}
