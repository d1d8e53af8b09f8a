package serve

import (
	"context"
	"encoding/json"

	"github.com/revertwatch/revertwatch/live"
	"github.com/revertwatch/revertwatch/live/store"
)

// StreamOpener opens a streaming input (an SQS queue of S3 notifications,
// a Kafka topic or Event Hub, a Pub/Sub subscription) from the position
// the last checkpoint covers (nil on a first start), and returns how to
// close it.
type StreamOpener func(pos json.RawMessage) (live.Input, func(), error)

// withStream is the live.Input of a local backend that reads a stream
// beside the journal: one loop, one processor, one checkpoint that holds
// the journal's position (Applied) and the stream's (Files), so that the
// stream acknowledges (deletes or acks its messages, commits its offsets)
// only what a written checkpoint covers.
//
// The stream's Wait (an SQS long poll, a Kafka fetch, a wait for a
// Pub/Sub message) runs on its own
// goroutine, so that a body posted meanwhile is not kept waiting; the
// stream is read only when no Wait of it is running, and never once the
// run is stopping: the drain reads the journal's accepted bodies only.
type withStream struct {
	j       *journal
	s       live.Input
	ctx     context.Context // the run's: the stream's Wait ends with it
	waiting chan struct{}   // non-nil while the stream's Wait runs; closed when it returns
}

func (w *withStream) streamIdle() bool {
	if w.waiting == nil {
		return true
	}
	select {
	case <-w.waiting:
		w.waiting = nil
		return true
	default:
		return false
	}
}

// Read implements live.Input: the journal first, then the stream.
func (w *withStream) Read(ctx context.Context, f live.Feed) (int, bool, error) {
	n, more, err := w.j.Read(ctx, f)
	if err != nil || more || w.ctx.Err() != nil || !w.streamIdle() {
		return n, more, err
	}
	m, more, err := w.s.Read(ctx, f)
	return n + m, more, err
}

// Wait implements live.Input: until a body is posted, the journal's tick,
// or the stream's Wait returns.
func (w *withStream) Wait(ctx context.Context) {
	if w.waiting == nil && w.ctx.Err() == nil {
		done := make(chan struct{})
		w.waiting = done
		go func() {
			defer close(done)
			w.s.Wait(w.ctx)
		}()
	}
	select {
	case <-ctx.Done():
	case <-w.j.l.notify:
	case <-w.j.tick.C:
	case <-w.waiting:
		w.waiting = nil
	}
}

// Position implements live.Input: the journal's and the stream's.
func (w *withStream) Position() (json.RawMessage, error) {
	raw, err := w.s.Position()
	if err != nil {
		return nil, err
	}
	return json.Marshal(store.Position{Applied: w.j.l.applied, Files: raw})
}

// Pending implements live.Input.
func (w *withStream) Pending() bool { return w.j.Pending() || w.s.Pending() }

// Committed implements live.Input: both may forget what the checkpoint
// covers; the stream acknowledges it.
func (w *withStream) Committed() {
	w.j.Committed()
	w.s.Committed()
}

// wait returns once no Wait of the stream runs (the run's ctx is done).
func (w *withStream) wait() {
	if w.waiting != nil {
		<-w.waiting
		w.waiting = nil
	}
}
