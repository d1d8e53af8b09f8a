package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/ingest"
	"github.com/revertwatch/revertwatch/live"
	"github.com/revertwatch/revertwatch/live/store"
)

// readBatch is how many journal entries are processed between looks at
// the clock.
const readBatch = 64

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
}

func newLocal(dir string, reset bool, h Hooks, open StreamOpener) (*local, error) {
	if dir == "" {
		return nil, fmt.Errorf("no state directory (--state-dir)")
	}
	st, err := store.Open(dir, store.Options{Reset: reset})
	if err != nil {
		return nil, err
	}
	l := &local{h: h, st: st, notify: make(chan struct{}, 1)}
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
	l.loop, l.applied, l.committed = loop, pos.Applied, pos.Applied
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
// when it returns nil. Only the number of events is needed here: step
// decodes them again from the journal.
func (l *local) Accept(_ context.Context, in *Intake) error {
	if l.st.PendingEvents()+int64(in.Events) > l.h.MaxQueue {
		return ErrOverloaded
	}
	if _, err := l.st.Append(in.Entry, in.Events); err != nil {
		return err
	}
	l.h.Metrics.QueueDepth.Set(float64(l.st.PendingEvents()))
	select {
	case l.notify <- struct{}{}:
	default:
	}
	return nil
}

// KeepEvents implements Backend: the journal needs only the count.
func (l *local) KeepEvents() int64 { return 0 }

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

// Read implements live.Input: up to readBatch journal entries.
func (in *journal) Read(ctx context.Context, f live.Feed) (int, bool, error) {
	n, err := in.l.step(ctx, f)
	return n, n == readBatch, err
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

// step processes up to readBatch journal entries and says how many.
func (l *local) step(ctx context.Context, f live.Feed) (int, error) {
	if ctx.Err() != nil {
		return 0, nil
	}
	entries, err := l.st.Read(l.applied, readBatch)
	if err != nil {
		return 0, err
	}
	for _, e := range entries {
		var h entryHeader
		i := bytes.IndexByte(e.Data, '\n')
		if i < 0 || json.Unmarshal(e.Data[:i], &h) != nil {
			// Written by this program; unreadable means damage. Skip it
			// rather than stop for good, and say so.
			l.h.Logger.Error("journal entry unreadable; skipped", "seq", e.Seq)
			l.applied = e.Seq
			continue
		}
		var newest time.Time
		opt := ingest.Options{MaxRecordSize: h.MaxRecord, SourceCategory: h.Category, SourceHost: h.Host}
		body := Body{Name: h.Name, Category: h.Category, Host: h.Host, Data: e.Data[i+1:]}
		_, err := decodeBody(context.Background(), body, opt, nil, ingest.Handlers{
			Event: func(ev *event.Event) error {
				f.Process(ev)
				l.h.Metrics.EventsProcessed.WithLabelValues(ev.Provider).Inc()
				if ev.Time.After(newest) {
					newest = ev.Time
				}
				return nil
			},
		})
		if err != nil {
			return 0, err
		}
		f.Received(h.Received)
		l.applied = e.Seq
		l.h.Metrics.Lag.Set(time.Since(h.Received).Seconds())
		if !newest.IsZero() {
			l.h.Metrics.EventTimeLag.Set(time.Since(newest).Seconds())
		}
	}
	return len(entries), nil
}
