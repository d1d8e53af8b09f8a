package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/ingest"
	"github.com/revertwatch/revertwatch/live"
	"github.com/revertwatch/revertwatch/live/store"
)

// stepEvents is about how many events are processed between looks at the
// clock (a checkpoint may be due), and readBatch how many journal entries
// at most.
const (
	stepEvents = 4096
	readBatch  = 64
)

// handoffBudget caps what the events handed from the check to the loop
// hold (eventCost): past it, an accepted body's events are dropped and
// decoded again from the journal, so that a backlog costs disk, not
// memory.
const handoffBudget = 128 << 20

// keepPerRequest is how much of a request's events the check keeps for
// the loop (Backend.KeepEvents); a larger body is decoded again from the
// journal.
const keepPerRequest = 8 << 20

// local is the Backend of a Server alone: the bbolt journal, one
// live.Loop, checkpoints in the same file.
type local struct {
	h      Hooks
	st     *store.Store
	loop   *live.Loop
	notify chan struct{}
	// applied is the last journal entry processed; committed the last one
	// a checkpoint covers.
	applied, committed uint64
	// stream, when set, is read beside the journal (Config.Stream).
	stream      live.Input
	closeStream func()
	// replayTo is the last entry journaled before this run: those are
	// decoded from the journal, in order, before the queue.
	replayTo uint64

	// mu guards the entries numbered by Accept this run, in journal
	// order: last is the last number given, queue those not yet taken by
	// the loop and held the cost of the events they hold.
	mu    sync.Mutex
	last  uint64
	queue []*accepted
	held  int64
	// budget is handoffBudget (tests lower it); redecoded counts the
	// entries of this run decoded again from the journal.
	budget    int64
	redecoded atomic.Int64
	// scratch is the event a brief one is fed in, by the loop.
	scratch event.Event
}

// accepted is one request Accept numbered: its entry is being written,
// written (durable) or failed. The loop takes the entries in their
// order, each once it is durable, skipping the failed ones; it feeds the
// events the check decoded, or, when they were not kept, decodes the
// entry from the journal.
type accepted struct {
	seq             uint64
	durable, failed bool
	received        time.Time
	events          []handedEvent
	cost            int64
}

func newLocal(dir string, reset bool, h Hooks, open StreamOpener) (*local, error) {
	if dir == "" {
		return nil, fmt.Errorf("no state directory (--state-dir)")
	}
	st, err := store.Open(dir, store.Options{Reset: reset})
	if err != nil {
		return nil, err
	}
	l := &local{h: h, st: st, notify: make(chan struct{}, 1), budget: handoffBudget}
	if err := l.load(); err != nil {
		st.Close()
		return nil, err
	}
	if open != nil {
		pos, err := store.LoopPosition(l.loop)
		if err == nil {
			l.stream, l.closeStream, err = open(pos.Files)
		}
		if err != nil {
			st.Close()
			return nil, fmt.Errorf("%s: %w", st.Path(), err)
		}
	}
	return l, nil
}

// load restores the last checkpoint and its outbox.
func (l *local) load() error {
	m := l.h.Metrics
	loop, err := live.NewLoop(context.Background(), store.Checkpoints{S: l.st}, live.LoopOptions{
		Processor: l.h.Processor, Sinks: l.h.Sinks, Logger: l.h.Logger,
		Interval: l.h.CheckpointInterval, IdleFlush: l.h.IdleFlush, Drain: true,
		OnCheckpoint: func(took time.Duration) {
			m.Checkpoints.Observe(took.Seconds())
			l.gauges()
			m.ObserveEngine("local", l.loop.Processor().Summary().Engine)
		},
		OnSinkError: func(name string, _ error) { m.SinkErrors.WithLabelValues(name).Inc() },
		SinkBackoff: l.h.SinkBackoff,
		Latency:     func(d time.Duration) { m.Latency.Observe(d.Seconds()) },
	})
	if err != nil {
		return err
	}
	pos, err := store.LoopPosition(loop)
	if err != nil {
		return fmt.Errorf("%s: %w", l.st.Path(), err)
	}
	last, err := l.st.LastSeq()
	if err != nil {
		return fmt.Errorf("%s: %w", l.st.Path(), err)
	}
	l.loop, l.applied, l.committed = loop, pos.Applied, pos.Applied
	l.replayTo, l.last = last, last
	m.SetBacklog(loop.Backlog)
	l.gauges()
	return nil
}

// gauges sets the metrics of the journal and the state file.
func (l *local) gauges() {
	l.h.Metrics.QueueDepth.Set(float64(l.st.PendingEvents()))
	l.h.Metrics.StateBytes.Set(float64(l.st.Size()))
}

// entryHeader heads a journal entry; the request body follows it, after
// a newline.
type entryHeader struct {
	Received  time.Time `json:"received"`
	Name      string    `json:"name"`
	Category  string    `json:"category,omitempty"`
	Host      string    `json:"host,omitempty"`
	MaxRecord int       `json:"max_record,omitempty"`
}

// JournalHead implements Backend: a journal entry is a header line, then
// the request body.
func (l *local) JournalHead(received time.Time, body Body) ([]byte, error) {
	head, err := json.Marshal(entryHeader{Received: received, Name: body.Name, Category: body.Category, Host: body.Host, MaxRecord: l.h.MaxRecordSize})
	return append(head, '\n'), err
}

// Accept implements Backend: the request body is in the journal, fsynced,
// when it returns nil. The entry is numbered before it is written, so that
// the loop takes the entries in that order whatever order their
// transactions commit in; the events the check decoded go to the loop
// with it, within handoffBudget, sparing a second decoding.
func (l *local) Accept(_ context.Context, in *Intake) error {
	if l.st.PendingEvents()+int64(in.Events) > l.h.MaxQueue {
		return ErrOverloaded
	}
	a := &accepted{received: in.Received}
	l.mu.Lock()
	l.last++
	a.seq = l.last
	if in.handed != nil && l.held+in.DecodedCost <= l.budget {
		a.events, a.cost = in.handed, in.DecodedCost
		l.held += a.cost
	}
	l.queue = append(l.queue, a)
	l.mu.Unlock()
	err := l.st.AppendAt(a.seq, in.Entry, in.Events)
	if err == nil {
		// Before the loop may take the entry: the checkpoint that covers
		// it sets the gauge after this.
		l.h.Metrics.QueueDepth.Set(float64(l.st.PendingEvents()))
	}
	l.mu.Lock()
	if err != nil {
		a.failed = true
	} else {
		a.durable = true
	}
	l.mu.Unlock()
	if err != nil {
		return err
	}
	select {
	case l.notify <- struct{}{}:
	default:
	}
	return nil
}

// next takes the first entry of the queue once it is durable, dropping
// the failed ones before it; nil when there is none yet.
func (l *local) next() *accepted {
	l.mu.Lock()
	defer l.mu.Unlock()
	for len(l.queue) > 0 {
		a := l.queue[0]
		if !a.durable && !a.failed {
			return nil
		}
		l.queue[0] = nil
		l.queue = l.queue[1:]
		l.held -= a.cost
		if a.durable {
			return a
		}
	}
	return nil
}

// KeepEvents implements Backend: the events of a request of a usual size
// go to the loop without a second decoding.
func (l *local) KeepEvents() int64 { return keepPerRequest }

// Wants is the Processor's: the check decodes whole only the events some
// rule needs (partialEvents).
func (l *local) Wants(provider, op string) bool { return l.loop.Processor().Wants(provider, op) }

// Ready implements Backend.
func (l *local) Ready() error { return nil }

// Close implements Backend.
func (l *local) Close() error {
	if l.closeStream != nil {
		l.closeStream()
		l.closeStream = nil
	}
	return l.st.Close()
}

// Run implements Backend.
func (l *local) Run(ctx, drainCtx context.Context) error {
	// The tick bounds the wait for input, so that the checkpoint interval
	// and the idle flush are kept while nothing arrives.
	in := &journal{l: l, tick: time.NewTicker(l.h.CheckpointInterval / 5)}
	defer in.tick.Stop()
	if l.stream != nil {
		sctx, cancel := context.WithCancel(ctx)
		ws := &withStream{j: in, s: l.stream, ctx: sctx}
		defer ws.wait()
		defer cancel() // first: ends the stream's Wait
		return l.loop.Run(ctx, drainCtx, ws)
	}
	return l.loop.Run(ctx, drainCtx, in)
}

// journal is the live.Input of a local backend: the entries Accept wrote.
type journal struct {
	l    *local
	tick *time.Ticker
}

// Read implements live.Input: up to readBatch journal entries or about
// stepEvents events.
func (in *journal) Read(ctx context.Context, f live.Feed) (int, bool, error) {
	return in.l.step(ctx, f)
}

// Wait implements live.Input: until Accept wrote an entry, or a tick.
func (in *journal) Wait(ctx context.Context) {
	select {
	case <-ctx.Done():
	case <-in.l.notify:
	case <-in.tick.C:
	}
}

// Position implements live.Input.
func (in *journal) Position() (json.RawMessage, error) {
	return json.Marshal(store.Position{Applied: in.l.applied})
}

// Pending implements live.Input.
func (in *journal) Pending() bool { return in.l.applied > in.l.committed }

// Committed implements live.Input: the store dropped the entries the
// checkpoint covers.
func (in *journal) Committed() { in.l.committed = in.l.applied }

// step processes journal entries, up to readBatch or about stepEvents
// events: first those of earlier runs, from the journal, then those
// Accept queued. It says how many and whether more are there already.
func (l *local) step(ctx context.Context, f live.Feed) (int, bool, error) {
	if ctx.Err() != nil {
		return 0, false, nil
	}
	if l.applied < l.replayTo {
		return l.replay(f)
	}
	c := l.newCounter()
	n := 0
	for n < readBatch && c.events < stepEvents {
		a := l.next()
		if a == nil {
			break
		}
		if a.events != nil {
			for i := range a.events {
				c.process(f, a.events[i].event(&l.scratch))
			}
		} else {
			l.redecoded.Add(1)
			entries, err := l.st.Read(a.seq-1, 1)
			if err != nil {
				return n, false, err
			}
			if len(entries) == 0 || entries[0].Seq != a.seq {
				// Only a checkpoint covering it removes an entry.
				l.h.Logger.Error("journal entry missing; skipped", "seq", a.seq)
			} else if err := l.decode(entries[0], f, c); err != nil {
				return n, false, err
			}
		}
		f.Received(a.received)
		l.applied = a.seq
		l.h.Metrics.Lag.Set(time.Since(a.received).Seconds())
		n++
	}
	c.done()
	return n, n > 0 && (n == readBatch || c.events >= stepEvents), nil
}

// replay processes up to readBatch entries journaled before this run.
func (l *local) replay(f live.Feed) (int, bool, error) {
	entries, err := l.st.Read(l.applied, readBatch)
	if err != nil {
		return 0, false, err
	}
	c := l.newCounter()
	n := 0
	for _, e := range entries {
		if e.Seq > l.replayTo {
			break
		}
		if err := l.decode(e, f, c); err != nil {
			return n, false, err
		}
		l.applied = e.Seq
		n++
	}
	if n < readBatch {
		// The journal holds nothing else from before this run.
		l.applied = max(l.applied, l.replayTo)
	}
	c.done()
	return n, true, nil
}

// decode feeds the events of one journal entry, decoded from it.
func (l *local) decode(e store.Entry, f live.Feed, c *counter) error {
	var h entryHeader
	i := bytes.IndexByte(e.Data, '\n')
	if i < 0 || json.Unmarshal(e.Data[:i], &h) != nil {
		// Written by this program; unreadable means damage. Skip it
		// rather than stop for good, and say so.
		l.h.Logger.Error("journal entry unreadable; skipped", "seq", e.Seq)
		return nil
	}
	opt := ingest.Options{MaxRecordSize: h.MaxRecord, SourceCategory: h.Category, SourceHost: h.Host, Want: l.Wants}
	body := Body{Name: h.Name, Category: h.Category, Host: h.Host, Data: e.Data[i+1:]}
	_, err := decodeBody(context.Background(), body, opt, nil, ingest.Handlers{
		Event: func(ev *event.Event) error {
			// A partial event lives only until this returns.
			cp := *ev
			c.process(f, &cp)
			return nil
		},
	})
	if err != nil {
		return err
	}
	f.Received(h.Received)
	l.h.Metrics.Lag.Set(time.Since(h.Received).Seconds())
	return nil
}

// counter counts the events a step feeds, for the metrics, which are
// updated once per step rather than per event.
type counter struct {
	l      *local
	events int
	by     map[string]int
	newest time.Time
}

func (l *local) newCounter() *counter { return &counter{l: l, by: map[string]int{}} }

func (c *counter) process(f live.Feed, ev *event.Event) {
	f.Process(ev)
	c.events++
	c.by[ev.Provider]++
	if ev.Time.After(c.newest) {
		c.newest = ev.Time
	}
}

// done updates the metrics.
func (c *counter) done() {
	m := c.l.h.Metrics
	for _, p := range slices.Sorted(maps.Keys(c.by)) {
		m.EventsProcessed.WithLabelValues(p).Add(float64(c.by[p]))
	}
	if !c.newest.IsZero() {
		m.EventTimeLag.Set(time.Since(c.newest).Seconds())
	}
}
