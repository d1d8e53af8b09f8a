package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/finding"
	"github.com/revertwatch/revertwatch/ingest"
	"github.com/revertwatch/revertwatch/live"
	"github.com/revertwatch/revertwatch/live/store"
)

// readBatch is how many journal entries are processed between looks at
// the clock.
const readBatch = 64

// local is the Backend of a Server alone: the bbolt journal, one
// Processor, checkpoints in the same file.
type local struct {
	h       Hooks
	st      *store.Store
	proc    *live.Processor
	applied uint64
	notify  chan struct{}
	// recv holds, for each outbox finding, when the batch that completed
	// it was accepted, for the latency metric.
	recv []time.Time
}

func newLocal(dir string, h Hooks) (*local, error) {
	if dir == "" {
		return nil, fmt.Errorf("no state directory (--state-dir)")
	}
	st, err := store.Open(dir)
	if err != nil {
		return nil, err
	}
	l := &local{h: h, st: st, notify: make(chan struct{}, 1)}
	if err := l.load(); err != nil {
		st.Close()
		return nil, err
	}
	return l, nil
}

// load restores the last checkpoint and its outbox.
func (l *local) load() error {
	s, err := l.st.Load()
	if err != nil {
		return err
	}
	proc, err := live.Resume(l.h.Processor, s.Checkpoint, s.Outbox, l.st.Path())
	if err != nil {
		return err
	}
	l.proc, l.applied = proc, s.Applied
	l.recv = make([]time.Time, len(proc.Outbox()))
	l.h.Metrics.QueueDepth.Set(float64(l.st.PendingEvents()))
	l.h.Metrics.StateBytes.Set(float64(l.st.Size()))
	return nil
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

// Accept implements Backend: the request body is in the journal, fsynced,
// when it returns nil.
func (l *local) Accept(_ context.Context, b *live.Batch, body Body) error {
	if l.st.PendingEvents()+int64(len(b.Events)) > l.h.MaxQueue {
		return ErrOverloaded
	}
	head, err := json.Marshal(entryHeader{Received: b.Received, Name: body.Name, Category: body.Category, Host: body.Host, MaxRecord: l.h.MaxRecordSize})
	if err != nil {
		return err
	}
	data := make([]byte, 0, len(head)+1+len(body.Data))
	data = append(append(append(data, head...), '\n'), body.Data...)
	if _, err := l.st.Append(data, len(b.Events)); err != nil {
		return err
	}
	l.h.Metrics.QueueDepth.Set(float64(l.st.PendingEvents()))
	select {
	case l.notify <- struct{}{}:
	default:
	}
	return nil
}

// Ready implements Backend.
func (l *local) Ready() error { return nil }

// Close implements Backend.
func (l *local) Close() error { return l.st.Close() }

// Run implements Backend.
func (l *local) Run(ctx, drainCtx context.Context) error {
	// The outbox of the previous run: the sinks that can tell skip what
	// they already hold.
	if ob := l.proc.Outbox(); len(ob) > 0 {
		l.h.Logger.Info("delivering the findings of the last checkpoint", "findings", len(ob))
		if err := l.h.Sinks.Recover(drainCtx, ob); err != nil {
			l.h.Logger.Error("delivering recovered findings", "err", err)
		}
		if err := l.delivered(len(ob)); err != nil {
			return err
		}
	}
	// Checkpoints cost in proportion to the engine's state, not to the
	// input, so they are spaced by the interval; a finding shortens the
	// wait to a tenth of it, since it leaves only after its checkpoint.
	every := l.h.CheckpointInterval
	tick := time.NewTicker(every / 5)
	defer tick.Stop()
	lastInput, lastCommit := time.Now(), time.Now()
	for {
		n, err := l.step(drainCtx)
		if err != nil {
			return err
		}
		now := time.Now()
		if n > 0 {
			lastInput = now
		} else if l.h.IdleFlush > 0 && now.Sub(lastInput) >= l.h.IdleFlush && l.proc.Buffered() > 0 {
			l.proc.Flush()
			lastCommit = time.Time{}
		}
		since := now.Sub(lastCommit)
		if l.proc.Dirty() && (since >= every || len(l.proc.Outbox()) > 0 && since >= every/10) {
			if err := l.commit(drainCtx); err != nil {
				return err
			}
			lastCommit = now
		}
		if n == readBatch {
			continue
		}
		if l.h.Sinks.Owed() > 0 {
			if err := l.h.Sinks.Deliver(drainCtx, nil); err != nil {
				l.h.Logger.Warn("sink still failing", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return l.drain(drainCtx)
		case <-l.notify:
		case <-tick.C:
		}
	}
}

// drain processes what the journal holds, until it is empty or the
// deadline, and checkpoints.
func (l *local) drain(ctx context.Context) error {
	for ctx.Err() == nil {
		n, err := l.step(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			break
		}
	}
	if l.proc.Dirty() {
		return l.commit(ctx)
	}
	return nil
}

// step processes up to readBatch journal entries and says how many.
func (l *local) step(ctx context.Context) (int, error) {
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
		before := len(l.proc.Outbox())
		var newest time.Time
		opt := ingest.Options{MaxRecordSize: h.MaxRecord, SourceCategory: h.Category, SourceHost: h.Host}
		_, err := ingest.DecodeStream(context.Background(), h.Name, bytes.NewReader(e.Data[i+1:]), opt, ingest.Handlers{
			Event: func(ev *event.Event) error {
				l.proc.Process(ev)
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
		for i := before; i < len(l.proc.Outbox()); i++ {
			l.recv = append(l.recv, h.Received)
		}
		l.applied = e.Seq
		l.h.Metrics.Lag.Set(time.Since(h.Received).Seconds())
		if !newest.IsZero() {
			l.h.Metrics.EventTimeLag.Set(time.Since(newest).Seconds())
		}
	}
	return len(entries), nil
}

// commit writes the checkpoint, the journal position and the outbox in
// one transaction, then delivers the outbox.
func (l *local) commit(ctx context.Context) error {
	start := time.Now()
	cp, err := l.proc.Checkpoint()
	if err != nil {
		return err
	}
	outbox := cp.Outbox
	cp.Outbox = nil
	enc, err := cp.Encode()
	if err != nil {
		return err
	}
	ob, err := encodeOutbox(outbox)
	if err != nil {
		return err
	}
	if err := l.st.Commit(store.State{Checkpoint: enc, Applied: l.applied, Outbox: ob}); err != nil {
		return err
	}
	l.h.Metrics.Checkpoints.Observe(time.Since(start).Seconds())
	l.h.Metrics.QueueDepth.Set(float64(l.st.PendingEvents()))
	l.h.Metrics.StateBytes.Set(float64(l.st.Size()))
	l.h.Metrics.ObserveEngine("local", l.proc.Summary().Engine)
	if len(outbox) == 0 {
		return nil
	}
	if err := l.h.Sinks.Deliver(ctx, outbox); err != nil {
		// The Fanout keeps what a failing sink did not take and retries
		// it; the others have theirs.
		l.h.Metrics.SinkErrors.WithLabelValues("any").Inc()
		l.h.Logger.Error("delivering findings", "err", err)
	}
	now := time.Now()
	for i := range outbox {
		if i < len(l.recv) && !l.recv[i].IsZero() {
			l.h.Metrics.Latency.Observe(now.Sub(l.recv[i]).Seconds())
		}
	}
	return l.delivered(len(outbox))
}

// delivered drops n findings from the outbox, on disk too.
func (l *local) delivered(n int) error {
	l.proc.Delivered(n)
	if n >= len(l.recv) {
		l.recv = l.recv[:0]
	} else {
		l.recv = append(l.recv[:0], l.recv[n:]...)
	}
	ob, err := encodeOutbox(l.proc.Outbox())
	if err != nil {
		return err
	}
	return l.st.Commit(store.State{Outbox: ob})
}

func encodeOutbox(fs []finding.Finding) ([]byte, error) {
	if fs == nil {
		fs = []finding.Finding{}
	}
	b, err := json.Marshal(fs)
	if err != nil {
		return nil, fmt.Errorf("encoding the outbox: %w", err)
	}
	return b, nil
}
