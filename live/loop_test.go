package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/finding"
	"github.com/revertwatch/revertwatch/internal/livetest"
	"github.com/revertwatch/revertwatch/live/sink"
)

// errCrash stands for the process dying: a Loop that gets it from its
// store stops right there, and the test starts another on the same store.
var errCrash = errors.New("crash")

// batch is one unit of the scripted input.
type batch struct {
	received time.Time
	events   []*event.Event
}

// script is a fake Input: batches read one a Read, in order; its position
// is the number read. With end, it ends (ErrEnd) once all are read.
type script struct {
	batches         []batch
	next, committed int
	end             bool
}

func (s *script) Read(_ context.Context, f Feed) (int, bool, error) {
	if s.next == len(s.batches) {
		if s.end {
			return 0, false, ErrEnd
		}
		return 0, false, nil
	}
	b := s.batches[s.next]
	for _, ev := range b.events {
		f.Process(ev)
	}
	f.Received(b.received)
	s.next++
	return 1, s.next < len(s.batches), nil
}

func (s *script) Wait(context.Context)               {}
func (s *script) Position() (json.RawMessage, error) { return json.Marshal(s.next) }
func (s *script) Pending() bool                      { return s.next > s.committed }
func (s *script) Committed()                         { s.committed = s.next }

// resume is the script started again where loop's checkpoint left it.
func resume(t *testing.T, loop *Loop, batches []batch) *script {
	t.Helper()
	s := &script{batches: batches, end: true}
	if p := loop.Position(); p != nil {
		if err := json.Unmarshal(p, &s.next); err != nil {
			t.Fatal(err)
		}
	}
	s.committed = s.next
	return s
}

// journal is the log the fake store and sinks share; sinks write to it
// from their own goroutines.
type journal struct {
	mu    sync.Mutex
	lines []string
}

func (j *journal) add(line string) {
	j.mu.Lock()
	j.lines = append(j.lines, line)
	j.mu.Unlock()
}

func (j *journal) all() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]string(nil), j.lines...)
}

// memStore is a fake Store keeping the encoded checkpoint, as a durable
// store would: a new Loop sees only what was written. It logs its writes
// to the journal it shares with the sinks, and can fail (crash) at the
// n-th Commit or at Delivered.
type memStore struct {
	cp            []byte
	log           *journal
	commits       int
	failCommit    int
	failDelivered bool
	// lazy: Delivered records nothing, as the JetStream store does.
	lazy bool
}

func (m *memStore) Load(context.Context) (*Checkpoint, error) {
	if m.cp == nil {
		return nil, nil
	}
	return DecodeCheckpoint(m.cp)
}

func (m *memStore) Commit(_ context.Context, cp *Checkpoint) error {
	m.commits++
	if m.commits == m.failCommit {
		return errCrash
	}
	enc, err := cp.Encode()
	if err != nil {
		return err
	}
	m.cp = enc
	m.log.add("commit " + ids(cp.Outbox))
	return nil
}

func (m *memStore) Delivered(_ context.Context, d Debt) (bool, error) {
	if m.failDelivered {
		return false, errCrash
	}
	if m.lazy {
		return false, nil
	}
	cp, err := DecodeCheckpoint(m.cp)
	if err != nil {
		return false, err
	}
	cp.Debt = d
	if m.cp, err = cp.Encode(); err != nil {
		return false, err
	}
	m.log.add("outbox " + ids(d.Outbox))
	return true, nil
}

func ids(fs []finding.Finding) string {
	var out []string
	for _, f := range fs {
		out = append(out, f.ID)
	}
	return strings.Join(out, ",")
}

// logSink records what it is given, in the shared journal too.
type logSink struct {
	name string
	log  *journal
	mu   sync.Mutex
	got  []string
}

func (s *logSink) Name() string { return s.name }
func (s *logSink) Close() error { return nil }
func (s *logSink) Deliver(_ context.Context, fs []finding.Finding) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range fs {
		s.got = append(s.got, f.ID)
		s.log.add("deliver " + s.name + " " + f.ID)
	}
	return nil
}

// ids returns what the sink got, in order.
func (s *logSink) ids() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.got...)
}

// holder makes a logSink a sink.Holder.
type holder struct{ *logSink }

func (h holder) Holds(want []string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, id := range want {
		for _, g := range h.ids() {
			if g == id {
				out[id] = true
			}
		}
	}
	return out, nil
}

// reverts are two accounts' stop and start, a batch each; with no
// lateness the start completes its sequence at once.
func reverts(t *testing.T, received ...time.Time) []batch {
	t.Helper()
	t0 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	var out []batch
	for i := range 2 {
		acct := livetest.Account(i)
		inst := livetest.Instance(acct, "web")
		at := t0.Add(time.Duration(i) * time.Minute)
		for j, op := range []string{"StopInstances", "StartInstances"} {
			evs := decode(t, livetest.Lines(livetest.Record(acct, "us-east-1", op, inst, at.Add(time.Duration(j)*3*time.Minute))))
			out = append(out, batch{received: received[len(out)%len(received)], events: evs})
		}
	}
	return out
}

func newLoop(t *testing.T, st Store, opt LoopOptions) *Loop {
	t.Helper()
	opt.Processor = Options{Lateness: -1}
	l, err := NewLoop(context.Background(), st, opt)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func run(l *Loop, in Input) error {
	return l.Run(context.Background(), context.Background(), in)
}

// Rule 2: a crash after the state took a batch and before the checkpoint
// holding it was written replays the batch, from the last position, into
// the last state: the same finding comes out, once, and none left before.
func TestLoopCrashBeforeCommitReplays(t *testing.T) {
	log := &journal{}
	out := &logSink{name: "out", log: log}
	st := &memStore{log: log, failCommit: 2}
	in := reverts(t, time.Now())
	l := newLoop(t, st, LoopOptions{Sinks: sink.NewFanout(out)})
	if err := run(l, resume(t, l, in)); !errors.Is(err, errCrash) {
		t.Fatalf("run: %v, want the crash", err)
	}
	if len(out.ids()) != 0 {
		t.Fatalf("delivered %v before the checkpoint holding it", out.ids())
	}
	// The first checkpoint covers the stop only.
	st.failCommit = 0
	l = newLoop(t, st, LoopOptions{Sinks: sink.NewFanout(out)})
	s := resume(t, l, in)
	if s.next != 1 {
		t.Fatalf("restarted at batch %d, want 1", s.next)
	}
	if err := run(l, s); err != nil {
		t.Fatal(err)
	}
	want := oracle(t, in)
	if strings.Join(out.ids(), ",") != want {
		t.Fatalf("delivered %v, want %s once each", out.got, want)
	}
}

// oracle is what one Processor makes of the batches, without a Loop.
func oracle(t *testing.T, in []batch) string {
	t.Helper()
	p, err := New(Options{Lateness: -1})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range in {
		for _, ev := range b.events {
			p.Process(ev)
		}
	}
	if len(p.Outbox()) != 2 {
		t.Fatalf("the oracle made %d findings, want 2", len(p.Outbox()))
	}
	return ids(p.Outbox())
}

// Rule 3: a finding is delivered only after a checkpoint that holds it is
// written, whatever the cadence: here the interval is long, so the
// findings wait for the checkpoint at the end of the input.
func TestLoopDeliversAfterCheckpoint(t *testing.T) {
	log := &journal{}
	out := &logSink{name: "out", log: log}
	st := &memStore{log: log}
	in := reverts(t, time.Now())
	l := newLoop(t, st, LoopOptions{Sinks: sink.NewFanout(out), Interval: time.Hour})
	if err := run(l, resume(t, l, in)); err != nil {
		t.Fatal(err)
	}
	if len(out.ids()) != 2 {
		t.Fatalf("delivered %v, want 2 findings", out.ids())
	}
	held := map[string]bool{}
	lines := log.all()
	for _, e := range lines {
		op, arg, _ := strings.Cut(e, " ")
		switch op {
		case "commit":
			for _, id := range strings.Split(arg, ",") {
				held[id] = true
			}
		case "deliver":
			if _, id, _ := strings.Cut(arg, " "); !held[id] {
				t.Fatalf("%s before a checkpoint held it:\n%s", e, strings.Join(lines, "\n"))
			}
		}
	}
	if last := lines[len(lines)-1]; last != "outbox " {
		t.Fatalf("the last write is %q, want the emptied outbox", last)
	}
}

// Rule 3, after a crash: delivered, then killed before the next write
// recorded it, what the sinks owed by the last write goes again at the
// restart with the same ids; a sink that can tell what it holds skips
// them.
func TestLoopCrashAfterDeliveryRedelivers(t *testing.T) {
	log := &journal{}
	plain := &logSink{name: "plain", log: log}
	held := &logSink{name: "held", log: log}
	sinks := func() *sink.Fanout { return sink.NewFanout(plain, holder{held}) }
	st := &memStore{log: log, failDelivered: true}
	in := reverts(t, time.Now())
	l := newLoop(t, st, LoopOptions{Sinks: sinks()})
	if err := run(l, resume(t, l, in)); !errors.Is(err, errCrash) {
		t.Fatalf("run: %v, want the crash", err)
	}
	first := plain.ids()
	if len(first) == 0 {
		t.Fatal("nothing delivered before the crash")
	}
	st.failDelivered = false
	l = newLoop(t, st, LoopOptions{Sinks: sinks()})
	if err := run(l, resume(t, l, in)); err != nil {
		t.Fatal(err)
	}
	want := oracle(t, in)
	seen := map[string]int{}
	for _, id := range plain.ids() {
		seen[id]++
	}
	for _, id := range strings.Split(want, ",") {
		if seen[id] == 0 {
			t.Fatalf("plain sink never got %s: %v", id, plain.ids())
		}
	}
	if len(plain.ids()) == len(first) {
		t.Fatalf("plain sink got nothing again after the crash: %v", plain.ids())
	}
	if got := strings.Join(held.ids(), ","); got != want {
		t.Fatalf("holder got %s, want %s once each", got, want)
	}
	// Recorded now: a third start delivers nothing.
	n := len(plain.ids())
	l = newLoop(t, st, LoopOptions{Sinks: sinks()})
	if err := run(l, resume(t, l, in)); err != nil || len(plain.ids()) != n {
		t.Fatalf("third start: %v, delivered %v", err, plain.ids()[n:])
	}
}

// A store that records deliveries only with the next checkpoint (the
// JetStream one) gets one more checkpoint when the run ends, so that the
// next start does not deliver the outbox again.
func TestLoopLazyStoreRecordsAtEnd(t *testing.T) {
	log := &journal{}
	out := &logSink{name: "out", log: log}
	st := &memStore{log: log, lazy: true}
	in := reverts(t, time.Now())
	l := newLoop(t, st, LoopOptions{Sinks: sink.NewFanout(out)})
	if err := run(l, resume(t, l, in)); err != nil {
		t.Fatal(err)
	}
	if lines := log.all(); lines[len(lines)-1] != "commit " {
		t.Fatalf("the last write is %q, want a checkpoint with an empty outbox", lines[len(lines)-1])
	}
	n := len(out.ids())
	l = newLoop(t, st, LoopOptions{Sinks: sink.NewFanout(out)})
	if err := run(l, resume(t, l, in)); err != nil || len(out.ids()) != n {
		t.Fatalf("restart: %v, delivered again %v", err, out.ids()[n:])
	}
}

// A run whose context is done before it starts reads what is there
// (Drain), checkpoints and delivers; one whose drain context is done too
// stops where it is, as a crash would.
func TestLoopStop(t *testing.T) {
	log := &journal{}
	out := &logSink{name: "out", log: log}
	st := &memStore{log: log}
	in := reverts(t, time.Now())
	done, cancel := context.WithCancel(context.Background())
	cancel()
	l := newLoop(t, st, LoopOptions{Sinks: sink.NewFanout(out), Drain: true, Interval: time.Hour})
	s := resume(t, l, in)
	s.end = false
	if err := l.Run(done, done, s); err != nil || len(log.all()) != 0 {
		t.Fatalf("abandoned run: %v, wrote %v", err, log.all())
	}
	if err := l.Run(done, context.Background(), s); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(out.ids(), ","), oracle(t, in); got != want || s.committed != len(in) {
		t.Fatalf("drained %d of %d batches, delivered %s, want %s", s.committed, len(in), got, want)
	}
}

// Latency is measured from the receipt of the batch that completed a
// finding, not of the first of its sequence.
func TestLoopLatency(t *testing.T) {
	log := &journal{}
	now := time.Now()
	var lat []time.Duration
	in := reverts(t, now.Add(-2*time.Hour), now.Add(-time.Hour))
	l := newLoop(t, &memStore{log: log}, LoopOptions{Interval: time.Hour, Latency: func(d time.Duration) { lat = append(lat, d) }})
	if err := run(l, resume(t, l, in)); err != nil {
		t.Fatal(err)
	}
	if len(lat) != 2 {
		t.Fatalf("%d latencies, want 2", len(lat))
	}
	for _, d := range lat {
		if d < time.Hour || d >= 2*time.Hour {
			t.Fatalf("latencies %v, want each from the start's receipt an hour ago", lat)
		}
	}
}

// The cadence: past the interval a checkpoint is due; a finding in the
// outbox makes it due at a tenth of it, or at checkpointShare times what
// the last checkpoint took if that is longer.
func TestLoopCadence(t *testing.T) {
	log := &journal{}
	l := newLoop(t, &memStore{log: log}, LoopOptions{Interval: time.Hour})
	if l.due(7*time.Minute) || !l.due(time.Hour) {
		t.Fatal("without findings a checkpoint is due after the interval only")
	}
	s := resume(t, l, reverts(t, time.Now())[:2])
	for range 2 {
		if _, _, err := s.Read(context.Background(), Feed{l}); err != nil {
			t.Fatal(err)
		}
	}
	if len(l.proc.Outbox()) != 1 || !l.due(7*time.Minute) || l.due(5*time.Minute) {
		t.Fatalf("with %d findings waiting, a checkpoint is due after a tenth of the interval", len(l.proc.Outbox()))
	}
	// A checkpoint that took long spaces the hurried ones further, never
	// the interval.
	l.took = 5 * time.Minute
	if l.due(19*time.Minute) || !l.due(20*time.Minute) {
		t.Fatalf("after a checkpoint of %s, findings hurry the next one to %d times that", l.took, checkpointShare)
	}
	l.took = 30 * time.Minute
	if !l.due(time.Hour) {
		t.Fatal("past the interval a checkpoint is due whatever the last one took")
	}
}

// flaky is a sink that fails while fail is set.
type flaky struct {
	logSink
	fail atomic.Bool
}

func (f *flaky) Deliver(ctx context.Context, fs []finding.Finding) error {
	if f.fail.Load() {
		return errors.New("disk full")
	}
	return f.logSink.Deliver(ctx, fs)
}

// A sink that hangs holds back neither the detection, nor the
// checkpoints, nor the other sinks: each delivers on its own. Its backlog
// is reported, and it gets everything once it answers again.
func TestLoopHungSinkHoldsBackNothing(t *testing.T) {
	log := &journal{}
	good := &logSink{name: "good", log: log}
	hung := &livetest.MemSink{Gate: make(chan struct{})}
	st := &memStore{log: log}
	in := reverts(t, time.Now())
	l := newLoop(t, st, LoopOptions{Sinks: sink.NewFanout(hung, good)})
	s := resume(t, l, in)
	s.end = false
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx, context.Background(), s) }()
	want := oracle(t, in)
	livetest.WaitFor(t, 10*time.Second, "the good sink's findings", func() bool { return len(good.ids()) == 2 })
	livetest.WaitFor(t, 10*time.Second, "the backlog", func() bool {
		bl := l.Backlog()
		return bl[0].Sink == "memory" && bl[0].Findings == 2 && bl[0].Oldest > 0 && bl[1].Findings == 0
	})
	if got := strings.Join(good.ids(), ","); got != want {
		t.Fatalf("good sink got %s, want %s", got, want)
	}
	close(hung.Gate)
	livetest.WaitFor(t, 10*time.Second, "the hung sink's findings", func() bool { return hung.Len() == 2 })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if s.committed != len(in) {
		t.Fatalf("checkpoints covered %d of %d batches", s.committed, len(in))
	}
	if bl := l.Backlog(); bl[0].Findings != 0 {
		t.Fatalf("backlog %+v after delivery", bl)
	}
}

// What a failing sink owes is in the store, with the checkpoint: a
// restart — with a store that records the debt alone, or only with whole
// checkpoints (JetStream) — delivers it to that sink and to no other, and
// the run that left it says so.
func TestLoopSinkDebtSurvivesRestart(t *testing.T) {
	for _, lazy := range []bool{false, true} {
		t.Run(fmt.Sprintf("lazy=%v", lazy), func(t *testing.T) {
			log := &journal{}
			good := &logSink{name: "good", log: log}
			bad := &flaky{logSink: logSink{name: "bad", log: log}}
			bad.fail.Store(true)
			st := &memStore{log: log, lazy: lazy}
			in := reverts(t, time.Now())
			opt := LoopOptions{Sinks: sink.NewFanout(good, bad), SinkBackoff: time.Millisecond}
			l := newLoop(t, st, opt)
			if err := run(l, resume(t, l, in)); err != nil {
				t.Fatal(err)
			}
			if err := OwedError(l.Backlog()); err == nil || !strings.Contains(err.Error(), "bad still owes 2 findings") {
				t.Fatalf("owed: %v", err)
			}
			want := oracle(t, in)
			if got := strings.Join(good.ids(), ","); got != want || len(bad.ids()) != 0 {
				t.Fatalf("good got %s, bad %v", got, bad.ids())
			}
			bad.fail.Store(false)
			l = newLoop(t, st, opt)
			if err := run(l, resume(t, l, in)); err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(bad.ids(), ","); got != want {
				t.Fatalf("after the restart bad got %s, want %s", got, want)
			}
			if got := strings.Join(good.ids(), ","); got != want {
				t.Fatalf("after the restart good got %s, want %s once each", got, want)
			}
			if err := OwedError(l.Backlog()); err != nil {
				t.Fatal(err)
			}
		})
	}
}
