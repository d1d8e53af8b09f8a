package serve

import (
	"testing"
	"time"

	"github.com/revertwatch/revertwatch/internal/livetest"
	"github.com/revertwatch/revertwatch/live/store"
)

// Past the queue bound, ingest answers 503 with Retry-After; everything
// answered 202 is processed once the daemon catches up.
func TestOverloadQueue(t *testing.T) {
	mem := &livetest.MemSink{Gate: make(chan struct{})}
	r := start(t, Config{StateDir: t.TempDir(), Lateness: time.Hour, IdleFlush: 100 * time.Millisecond, MaxQueue: 4, Sinks: sinks(mem)})
	// The first finding blocks the sink, and with it the processing.
	first, _ := stopStart(0)
	_, second := stopStart(0)
	if code, _, _ := post(t, r.url, livetest.Lines(first, second)); code != 202 {
		t.Fatal("first body refused")
	}
	livetest.WaitFor(t, 10*time.Second, "the first checkpoint", func() bool { return r.s.be.(*local).st.PendingEvents() == 0 })
	var accepted [][]byte
	accepted = append(accepted, livetest.Lines(first, second))
	refused := 0
	for i := 1; i <= 10; i++ {
		stop, startRec := stopStart(i)
		body := livetest.Lines(stop, startRec)
		code, a, h := post(t, r.url, body)
		switch code {
		case 202:
			accepted = append(accepted, body)
		case 503:
			refused++
			if h.Get("Retry-After") == "" || a.Reason != "overloaded" {
				t.Errorf("503 without Retry-After or reason: %+v", a)
			}
		default:
			t.Fatalf("answer %d %+v", code, a)
		}
	}
	if refused == 0 || len(accepted) < 2 {
		t.Fatalf("accepted %d, refused %d: the queue bound did not hold", len(accepted), refused)
	}
	want, err := livetest.Oracle(time.Hour, nil, accepted...)
	if err != nil {
		t.Fatal(err)
	}
	close(mem.Gate)
	livetest.WaitFor(t, 20*time.Second, "the accepted findings", func() bool { return mem.Len() >= len(want) })
	r.shutdown(t)
	if got := mem.IDs(); !equalStrings(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// SIGTERM's path: intake stops, what was accepted is processed and
// checkpointed, and the journal is empty afterwards.
func TestShutdownDrains(t *testing.T) {
	dir := t.TempDir()
	r := start(t, Config{StateDir: dir, CheckpointInterval: time.Hour, Sinks: sinks(&livetest.MemSink{})})
	for i := range 20 {
		stop, startRec := stopStart(i)
		if code, _, _ := post(t, r.url, livetest.Lines(stop, startRec)); code != 202 {
			t.Fatal("refused")
		}
	}
	r.shutdown(t)
	if code, _, err := tryPost(r.url, []byte("{}")); err == nil {
		t.Errorf("ingest answered %d after shutdown", code)
	}
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s, err := st.Load()
	if err != nil {
		t.Fatal(err)
	}
	if n := st.PendingEvents(); n != 0 || s.Applied != 20 || s.Checkpoint == nil {
		t.Fatalf("after shutdown: %d events pending, applied %d, checkpoint %v", n, s.Applied, s.Checkpoint != nil)
	}
}
