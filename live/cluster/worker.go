package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/revertwatch/revertwatch/live"
)

// errStopped ends a worker that was asked to stop; errLost one whose
// checkpoint was refused because another replica wrote the partition's
// state since it was read.
var (
	errStopped = errors.New("partition stopped")
	errLost    = errors.New("partition taken by another replica")
)

// fetchWait is how long one pull waits for events.
const fetchWait = 200 * time.Millisecond

// pointer is the KV entry naming a partition's current checkpoint.
type pointer struct {
	Object  string `json:"object"`
	Replica string `json:"replica"`
	Gen     uint64 `json:"gen"`
}

// position is what a partition's checkpoint covers besides the state: the
// stream sequences of its last batch, acknowledged only after the write,
// so a redelivery of one of them is known for what it is.
type position struct {
	Seqs []uint64 `json:"seqs"`
}

// worker runs one partition: a live.Loop over the partition's consumer,
// with checkpoints in JetStream.
type worker struct {
	r *Replica
	p int

	ctx      context.Context // cancelled by abandon
	cancel   context.CancelFunc
	stopReq  chan struct{}
	done     chan struct{}
	leaseRev atomic.Uint64
	loop     atomic.Pointer[live.Loop] // once made, for Backlog
}

func newWorker(r *Replica, p int) *worker {
	ctx, cancel := context.WithCancel(context.Background())
	return &worker{r: r, p: p, ctx: ctx, cancel: cancel, stopReq: make(chan struct{}), done: make(chan struct{})}
}

// stop asks the worker to checkpoint and return, waiting until it did or
// ctx ends (then it is abandoned).
func (w *worker) stop(ctx context.Context) {
	select {
	case <-w.stopReq:
	default:
		close(w.stopReq)
	}
	select {
	case <-w.done:
	case <-ctx.Done():
		w.abandon()
		<-w.done
	}
}

// abandon stops the worker where it is: no checkpoint, no ack.
func (w *worker) abandon() { w.cancel() }

func (w *worker) finished() bool {
	select {
	case <-w.done:
		return true
	default:
		return false
	}
}

func (w *worker) run() error {
	defer close(w.done)
	defer w.cancel()
	hk := w.r.opt.Hooks
	st := &checkpoints{r: w.r, p: w.p}
	var loop *live.Loop
	loop, err := live.NewLoop(w.ctx, st, live.LoopOptions{
		Processor: w.r.opt.Processor, Sinks: w.r.opt.Sinks, First: w.r.pub,
		Interval: w.r.opt.CheckpointInterval, IdleFlush: w.r.opt.IdleFlush,
		Logger: w.r.opt.Logger.With("partition", w.p),
		OnCheckpoint: func(took time.Duration) {
			if hk.Checkpoint != nil {
				hk.Checkpoint(took, st.size)
			}
			if hk.Engine != nil {
				hk.Engine(w.p, loop.Processor().Summary().Engine)
			}
		},
		OnSinkError: hk.SinkError, Latency: hk.Latency,
	})
	if err != nil {
		return err
	}
	w.loop.Store(loop)
	in := &consumer{w: w, applied: map[uint64]bool{}}
	var pos position
	if p := loop.Position(); len(p) > 0 {
		if err := json.Unmarshal(p, &pos); err != nil {
			return fmt.Errorf("checkpoint %s: position: %w", st.object, err)
		}
	}
	for _, s := range pos.Seqs {
		in.applied[s] = true
	}
	if in.cons, err = w.r.js.Consumer(w.ctx, EventStream, consumerName(w.p)); err != nil {
		return fmt.Errorf("consumer: %w", err)
	}
	// A stop ends the run with a checkpoint; an abandon (w.ctx) without.
	runCtx, stopRun := context.WithCancel(w.ctx)
	defer stopRun()
	go func() {
		select {
		case <-w.stopReq:
			stopRun()
		case <-runCtx.Done():
		}
	}()
	if err := loop.Run(runCtx, w.ctx, in); err != nil && w.ctx.Err() == nil {
		return err
	}
	return errStopped
}

// consumer is the live.Input of a partition: its durable pull consumer.
type consumer struct {
	w    *worker
	cons jetstream.Consumer
	// applied holds the stream sequences the last checkpoint covers, so
	// that a redelivery of one (its ack was lost) is known; pending the
	// messages read since, acknowledged after the next checkpoint.
	applied map[uint64]bool
	pending []jetstream.Msg
	failed  bool
}

// Read implements live.Input: one fetch; the wait is the server's.
func (in *consumer) Read(_ context.Context, f live.Feed) (int, bool, error) {
	w := in.w
	// The wait is the server's (MaxWait), not a client deadline: a client
	// that gave up first could miss messages the server sent at the last
	// moment, which would come back only after the ack wait.
	opts := []jetstream.FetchOpt{jetstream.FetchMaxWait(fetchWait)}
	if w.r.pinned {
		opts = append(opts, jetstream.FetchPriorityGroup(priorityGroup))
	}
	batch, err := in.cons.Fetch(w.r.opt.FetchBatch, opts...)
	// Pinned to another client, or a hiccup: Wait, then try again.
	in.failed = err != nil
	if err != nil {
		return 0, false, nil
	}
	n := 0
	for msg := range batch.Messages() {
		meta, err := msg.Metadata()
		if err != nil {
			_ = msg.Term()
			continue
		}
		if in.applied[meta.Sequence.Stream] {
			// Covered by the checkpoint; its ack was lost.
			_ = msg.Ack()
			if h := w.r.opt.Hooks.Redelivered; h != nil {
				h()
			}
			continue
		}
		var env Envelope
		if err := json.Unmarshal(msg.Data(), &env); err != nil {
			w.r.opt.Logger.Error("undecodable event message; dropped", "partition", w.p, "seq", meta.Sequence.Stream, "err", err)
			_ = msg.Term()
			continue
		}
		for _, ev := range env.Events {
			if ev == nil {
				continue
			}
			f.Process(ev)
			if h := w.r.opt.Hooks.Event; h != nil {
				h(ev)
			}
			n++
		}
		f.Received(env.Received)
		in.pending = append(in.pending, msg)
	}
	// A fetch that came back full may have left more; an empty one
	// already waited.
	return n, n > 0, nil
}

// Wait implements live.Input: a failed fetch is tried again shortly.
func (in *consumer) Wait(ctx context.Context) {
	if !in.failed {
		return
	}
	t := time.NewTimer(fetchWait)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// seqs are the stream sequences of the pending messages.
func (in *consumer) seqs() []uint64 {
	out := make([]uint64, 0, len(in.pending))
	for _, m := range in.pending {
		if meta, err := m.Metadata(); err == nil {
			out = append(out, meta.Sequence.Stream)
		}
	}
	return out
}

// Position implements live.Input: the stream sequences of the last batch.
func (in *consumer) Position() (json.RawMessage, error) {
	return json.Marshal(position{Seqs: in.seqs()})
}

// Pending implements live.Input.
func (in *consumer) Pending() bool { return len(in.pending) > 0 }

// Committed implements live.Input: the events are acknowledged.
func (in *consumer) Committed() {
	seqs := in.seqs()
	in.applied = make(map[uint64]bool, len(seqs))
	for _, s := range seqs {
		in.applied[s] = true
	}
	for _, m := range in.pending {
		_ = m.Ack()
	}
	in.pending = in.pending[:0]
}

// checkpoints is the live.Store of a partition: the checkpoint in the
// object store, the KV entry pointing at it updated with compare-and-set,
// so that a replica that lost the partition cannot overwrite its
// successor's state.
type checkpoints struct {
	r        *Replica
	p        int
	stateRev uint64
	object   string
	gen      uint64
	size     int // of the last checkpoint written
}

// Load implements live.Store.
func (c *checkpoints) Load(ctx context.Context) (*live.Checkpoint, error) {
	e, err := c.r.state.Get(ctx, partKey(c.p))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the checkpoint pointer: %w", err)
	}
	var ptr pointer
	if err := json.Unmarshal(e.Value(), &ptr); err != nil {
		return nil, fmt.Errorf("checkpoint pointer: %w", err)
	}
	data, err := c.r.obs.GetBytes(ctx, ptr.Object)
	if err != nil {
		return nil, fmt.Errorf("reading checkpoint %s: %w", ptr.Object, err)
	}
	cp, err := live.DecodeCheckpoint(data)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", ptr.Object, err)
	}
	c.stateRev, c.object, c.gen = e.Revision(), ptr.Object, ptr.Gen
	return cp, nil
}

// Commit implements live.Store: a new object, then the pointer moved to
// it if nobody else moved it since; errLost if somebody did.
func (c *checkpoints) Commit(ctx context.Context, cp *live.Checkpoint) error {
	data, err := cp.Encode()
	if err != nil {
		return err
	}
	gen := c.gen + 1
	name := fmt.Sprintf("%s-%s-%d", partKey(c.p), c.r.opt.Replica, gen)
	if _, err := c.r.obs.PutBytes(ctx, name, data); err != nil {
		return fmt.Errorf("writing checkpoint: %w", err)
	}
	ptr, _ := json.Marshal(pointer{Object: name, Replica: c.r.opt.Replica, Gen: gen})
	var rev uint64
	if c.stateRev == 0 {
		rev, err = c.r.state.Create(ctx, partKey(c.p), ptr)
	} else {
		rev, err = c.r.state.Update(ctx, partKey(c.p), ptr, c.stateRev)
	}
	if err != nil {
		_ = c.r.obs.Delete(context.Background(), name)
		if errors.Is(err, jetstream.ErrKeyExists) {
			return errLost
		}
		return fmt.Errorf("writing the checkpoint pointer: %w", err)
	}
	if c.object != "" {
		_ = c.r.obs.Delete(ctx, c.object)
	}
	c.stateRev, c.object, c.gen, c.size = rev, name, gen, len(data)
	return nil
}

// Delivered implements live.Store: every write here is a whole
// checkpoint, so the debt is recorded by the next one (the Loop writes one
// at its interval while the sinks move, and before it stops); the
// findings stream drops the copies a successor publishes again before
// then, and a Holder sink skips them.
func (c *checkpoints) Delivered(context.Context, live.Debt) (bool, error) {
	return false, nil
}
