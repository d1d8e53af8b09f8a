package live

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"testing"
	"time"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/finding"
	"github.com/revertwatch/revertwatch/ingest"
	"github.com/revertwatch/revertwatch/internal/livetest"
	"github.com/revertwatch/revertwatch/tune"
)

func decode(t *testing.T, b []byte) []*event.Event {
	t.Helper()
	var out []*event.Event
	if _, err := ingest.DecodeStream(context.Background(), "t", bytes.NewReader(b), ingest.Options{},
		ingest.Handlers{Event: func(ev *event.Event) error { out = append(out, ev); return nil }}); err != nil {
		t.Fatal(err)
	}
	return out
}

// A checkpoint taken mid-sequence and restored into a new Processor
// completes the sequence there; a restored Processor checkpoints to the
// same bytes; the repeat window survives, so the same revert inside it is
// held back after the restore.
// Encode writes the engine state as it is rather than through
// encoding/json; what it writes must read as what encoding/json writes,
// with an outbox, windows and a position around it, and without an
// engine state.
func TestCheckpointEncodeAsJSON(t *testing.T) {
	t0 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	acct := livetest.Account(1)
	inst := livetest.Instance(acct, "web")
	p, err := New(Options{Lateness: -1})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range decode(t, livetest.Lines(livetest.Record(acct, "us-east-1", "StopInstances", inst, t0),
		livetest.Record(acct, "us-east-1", "StartInstances", inst, t0.Add(time.Minute)))) {
		p.Process(ev)
	}
	cp, err := p.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	if len(cp.Outbox) != 1 || len(cp.Engine) == 0 {
		t.Fatalf("checkpoint with %d findings and %d bytes of engine, want 1 and some", len(cp.Outbox), len(cp.Engine))
	}
	cp.Position = json.RawMessage(`{"applied":7}`)
	cp.Windows = append(cp.Windows, Window{ID: "w<&>"})
	noEngine := *cp
	noEngine.Engine = nil
	for name, c := range map[string]*Checkpoint{"whole": cp, "no engine": &noEngine} {
		enc, err := c.Encode()
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(bytes.NewReader(enc))
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		var want bytes.Buffer
		e := json.NewEncoder(&want)
		e.SetEscapeHTML(false)
		if err := e.Encode(c); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("%s: Encode wrote\n%.300s\nencoding/json\n%.300s", name, got, want.Bytes())
		}
		if _, err := DecodeCheckpoint(enc); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
}

func TestCheckpointRoundTrip(t *testing.T) {
	t0 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	acct := livetest.Account(1)
	inst := livetest.Instance(acct, "web")
	rec := func(op string, at time.Duration) []byte {
		return livetest.Record(acct, "us-east-1", op, inst, t0.Add(at))
	}
	var fates []Fate
	a, err := New(Options{Lateness: -1})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range decode(t, livetest.Lines(rec("StopInstances", 0))) {
		a.Process(ev)
	}
	cp, err := a.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	enc, err := cp.Encode()
	if err != nil {
		t.Fatal(err)
	}
	dec, err := DecodeCheckpoint(enc)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := New(Options{Lateness: -1, OnFinding: func(f finding.Finding, fate Fate) { fates = append(fates, fate) }})
	if err := b.Restore(dec); err != nil {
		t.Fatal(err)
	}
	again, err := b.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Engine, cp.Engine) {
		t.Fatal("the restored engine checkpoints differently")
	}
	for _, ev := range decode(t, livetest.Lines(rec("StartInstances", 3*time.Minute))) {
		b.Process(ev)
	}
	if len(b.Outbox()) != 1 {
		t.Fatalf("outbox %d after the restored sequence completed, want 1", len(b.Outbox()))
	}
	first := b.Outbox()[0]
	b.Delivered(1)
	// Another revert of the same instance an hour later is another
	// occurrence: reported, with its own id and the same group id.
	cp, _ = b.Checkpoint()
	c, _ := New(Options{Lateness: -1, OnFinding: func(f finding.Finding, fate Fate) { fates = append(fates, fate) }})
	if err := c.Restore(cp); err != nil {
		t.Fatal(err)
	}
	for _, ev := range decode(t, livetest.Lines(rec("StopInstances", time.Hour), rec("StartInstances", time.Hour+3*time.Minute))) {
		c.Process(ev)
	}
	if len(c.Outbox()) != 1 || c.Outbox()[0].ID == first.ID || c.Outbox()[0].GroupID != first.GroupID {
		t.Fatalf("outbox %v; want a second occurrence of the group", c.Outbox())
	}
	// The same occurrence again, inside its repeat window (which survived
	// the restores), is held back.
	c.finding(first, tune.Decision{})
	if len(c.Outbox()) != 1 || len(fates) != 3 || fates[0] != Emitted || fates[1] != Emitted || fates[2] != Repeat {
		t.Fatalf("outbox %d, fates %v; want the repeat held back", len(c.Outbox()), fates)
	}
}
