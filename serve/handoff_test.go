package serve

import (
	"testing"
	"time"

	"github.com/revertwatch/revertwatch/internal/livetest"
)

// decodeOnceBodies are bodies of reverts among reads no rule uses (which
// the check decodes as partial events), with the findings they make.
func decodeOnceBodies(t *testing.T) ([][]byte, []string) {
	t.Helper()
	var bodies [][]byte
	for i := range 12 {
		stop, startRec := stopStart(i)
		acct := livetest.Account(i)
		recs := [][]byte{stop}
		for k := range 20 {
			recs = append(recs, livetest.Record(acct, "us-east-1", "DescribeInstances", livetest.Instance(acct, "web"), t0.Add(time.Duration(i)*time.Minute+time.Duration(k)*time.Second)))
		}
		bodies = append(bodies, gz(livetest.Lines(append(recs, startRec)...)))
	}
	want, err := livetest.Oracle(time.Hour, nil, bodies...)
	if err != nil || len(want) != 12 {
		t.Fatalf("oracle: %d findings, %v", len(want), err)
	}
	return bodies, want
}

// Accepted events are decoded once: the check's events go to the loop
// with the journal entry, and the journal is decoded again only when they
// were not kept — here, with the budget of the handoff at nothing — and
// both ways make the same findings.
func TestAcceptedDecodedOnce(t *testing.T) {
	bodies, want := decodeOnceBodies(t)
	for _, budget := range []int64{handoffBudget, 0} {
		mem := &livetest.MemSink{}
		r := start(t, Config{StateDir: t.TempDir(), Lateness: time.Hour, IdleFlush: 100 * time.Millisecond, Sinks: sinks(mem)})
		l := r.s.be.(*local)
		l.mu.Lock()
		l.budget = budget
		l.mu.Unlock()
		for _, b := range bodies {
			if code, a, _ := post(t, r.url, b, "Content-Encoding", "gzip"); code != 202 {
				t.Fatalf("post: %d %+v", code, a)
			}
		}
		livetest.WaitFor(t, 20*time.Second, "the findings", func() bool { return mem.Len() >= len(want) })
		r.shutdown(t)
		got := mem.IDs()
		sortStrings(got)
		if !equalStrings(got, want) {
			t.Fatalf("budget %d: findings %v, want %v", budget, got, want)
		}
		n := l.redecoded.Load()
		switch {
		case budget > 0 && n != 0:
			t.Fatalf("%d entries decoded again from the journal, want none", n)
		case budget == 0 && n != int64(len(bodies)):
			t.Fatalf("with no budget, %d entries decoded again from the journal, want %d", n, len(bodies))
		}
	}
}

// The loop takes the entries in the order Accept numbered them, each once
// it is durable, whatever order their writes end in; a failed one is
// skipped.
func TestHandoffOrder(t *testing.T) {
	l := &local{}
	a1, a2, a3 := &accepted{seq: 1}, &accepted{seq: 2, durable: true}, &accepted{seq: 3, durable: true}
	l.queue = []*accepted{a1, a2, a3}
	if a := l.next(); a != nil {
		t.Fatalf("took entry %d while entry 1 is being written", a.seq)
	}
	a1.failed = true
	for _, want := range []uint64{2, 3} {
		if a := l.next(); a == nil || a.seq != want {
			t.Fatalf("took %v, want entry %d", a, want)
		}
	}
	if a := l.next(); a != nil || len(l.queue) != 0 {
		t.Fatalf("took %v from an empty queue", a)
	}
}
