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

// worker runs one partition.
type worker struct {
	r  *Replica
	p  int
	lg func(msg string, args ...any)

	ctx      context.Context // cancelled by abandon
	cancel   context.CancelFunc
	stopReq  chan struct{}
	done     chan struct{}
	leaseRev atomic.Uint64

	proc     *live.Processor
	stateRev uint64
	object   string
	gen      uint64
	applied  map[uint64]bool
	pending  []jetstream.Msg
	recv     []time.Time
	lastData time.Time
	written  int // findings in the outbox of the last checkpoint written
}

func newWorker(r *Replica, p int) *worker {
	ctx, cancel := context.WithCancel(context.Background())
	w := &worker{r: r, p: p, ctx: ctx, cancel: cancel, stopReq: make(chan struct{}), done: make(chan struct{}), applied: map[uint64]bool{}}
	w.lg = func(msg string, args ...any) { r.opt.Logger.Info(msg, append(args, "partition", p)...) }
	return w
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
	if err := w.load(); err != nil {
		return err
	}
	if ob := w.proc.Outbox(); len(ob) > 0 {
		// The last owner wrote these and may have died before they left:
		// the stream drops the copies it already has.
		w.lg("publishing the findings of the last checkpoint", "findings", len(ob))
		if err := w.emit(); err != nil {
			return err
		}
	}
	cons, err := w.r.js.Consumer(w.ctx, EventStream, consumerName(w.p))
	if err != nil {
		return fmt.Errorf("consumer: %w", err)
	}
	every := w.r.opt.CheckpointInterval
	lastCommit := time.Now()
	w.lastData = time.Now()
	for {
		select {
		case <-w.stopReq:
			if w.proc.Dirty() || len(w.pending) > 0 {
				if err := w.commit(); err != nil {
					return err
				}
			}
			if w.written > 0 {
				// Once more, now that the outbox has left, so that the
				// next owner does not deliver it again to its own sinks.
				if err := w.commit(); err != nil {
					return err
				}
			}
			return errStopped
		default:
		}
		if w.ctx.Err() != nil {
			return errStopped
		}
		n := w.fetch(cons)
		now := time.Now()
		if n > 0 {
			w.lastData = now
		} else if idle := w.r.opt.IdleFlush; idle > 0 && now.Sub(w.lastData) >= idle && w.proc.Buffered() > 0 {
			w.proc.Flush()
			lastCommit = time.Time{}
		}
		since := now.Sub(lastCommit)
		if (w.proc.Dirty() || len(w.pending) > 0) && (since >= every || len(w.proc.Outbox()) > 0 && since >= every/10) {
			if err := w.commit(); err != nil {
				return err
			}
			lastCommit = now
		}
	}
}

// fetch pulls a batch and processes it, returning how many events.
func (w *worker) fetch(cons jetstream.Consumer) int {
	// The wait is the server's (MaxWait), not a client deadline: a client
	// that gave up first could miss messages the server sent at the last
	// moment, which would come back only after the ack wait.
	opts := []jetstream.FetchOpt{jetstream.FetchMaxWait(fetchWait)}
	if w.r.pinned {
		opts = append(opts, jetstream.FetchPriorityGroup(priorityGroup))
	}
	batch, err := cons.Fetch(w.r.opt.FetchBatch, opts...)
	if err != nil {
		// Pinned to another client, or a hiccup: try again shortly.
		t := time.NewTimer(fetchWait)
		defer t.Stop()
		select {
		case <-t.C:
		case <-w.ctx.Done():
		case <-w.stopReq:
		}
		return 0
	}
	n := 0
	for msg := range batch.Messages() {
		meta, err := msg.Metadata()
		if err != nil {
			_ = msg.Term()
			continue
		}
		if w.applied[meta.Sequence.Stream] {
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
		before := len(w.proc.Outbox())
		for _, ev := range env.Events {
			if ev == nil {
				continue
			}
			w.proc.Process(ev)
			if h := w.r.opt.Hooks.Event; h != nil {
				h(ev)
			}
			n++
		}
		for range len(w.proc.Outbox()) - before {
			w.recv = append(w.recv, env.Received)
		}
		w.pending = append(w.pending, msg)
	}
	return n
}

// load restores the partition's last checkpoint.
func (w *worker) load() error {
	proc, err := live.New(w.r.opt.Processor)
	if err != nil {
		return err
	}
	w.proc = proc
	e, err := w.r.state.Get(w.ctx, partKey(w.p))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the checkpoint pointer: %w", err)
	}
	var ptr pointer
	if err := json.Unmarshal(e.Value(), &ptr); err != nil {
		return fmt.Errorf("checkpoint pointer: %w", err)
	}
	data, err := w.r.obs.GetBytes(w.ctx, ptr.Object)
	if err != nil {
		return fmt.Errorf("reading checkpoint %s: %w", ptr.Object, err)
	}
	cp, err := live.DecodeCheckpoint(data)
	if err != nil {
		return fmt.Errorf("checkpoint %s: %w", ptr.Object, err)
	}
	if err := proc.Restore(cp); err != nil {
		return fmt.Errorf("checkpoint %s: %w", ptr.Object, err)
	}
	var pos position
	if len(cp.Position) > 0 {
		if err := json.Unmarshal(cp.Position, &pos); err != nil {
			return fmt.Errorf("checkpoint %s: position: %w", ptr.Object, err)
		}
	}
	for _, s := range pos.Seqs {
		w.applied[s] = true
	}
	w.stateRev, w.object, w.gen = e.Revision(), ptr.Object, ptr.Gen
	w.recv = make([]time.Time, len(proc.Outbox()))
	return nil
}

// commit writes the checkpoint, compare-and-set on the pointer, then
// publishes the findings and acknowledges the events it covers.
func (w *worker) commit() error {
	start := time.Now()
	cp, err := w.proc.Checkpoint()
	if err != nil {
		return err
	}
	pos := position{Seqs: make([]uint64, 0, len(w.pending))}
	for _, m := range w.pending {
		if meta, err := m.Metadata(); err == nil {
			pos.Seqs = append(pos.Seqs, meta.Sequence.Stream)
		}
	}
	cp.Position, _ = json.Marshal(pos)
	data, err := cp.Encode()
	if err != nil {
		return err
	}
	gen := w.gen + 1
	name := fmt.Sprintf("%s-%s-%d", partKey(w.p), w.r.opt.Replica, gen)
	if _, err := w.r.obs.PutBytes(w.ctx, name, data); err != nil {
		return fmt.Errorf("writing checkpoint: %w", err)
	}
	ptr, _ := json.Marshal(pointer{Object: name, Replica: w.r.opt.Replica, Gen: gen})
	var rev uint64
	if w.stateRev == 0 {
		rev, err = w.r.state.Create(w.ctx, partKey(w.p), ptr)
	} else {
		rev, err = w.r.state.Update(w.ctx, partKey(w.p), ptr, w.stateRev)
	}
	if err != nil {
		_ = w.r.obs.Delete(context.Background(), name)
		if errors.Is(err, jetstream.ErrKeyExists) {
			return errLost
		}
		return fmt.Errorf("writing the checkpoint pointer: %w", err)
	}
	if w.object != "" {
		_ = w.r.obs.Delete(w.ctx, w.object)
	}
	w.stateRev, w.object, w.gen = rev, name, gen
	w.written = len(cp.Outbox)
	if h := w.r.opt.Hooks.Checkpoint; h != nil {
		h(time.Since(start), len(data))
	}
	if h := w.r.opt.Hooks.Engine; h != nil {
		h(w.p, w.proc.Summary().Engine)
	}
	if err := w.emit(); err != nil {
		return err
	}
	w.applied = make(map[uint64]bool, len(pos.Seqs))
	for _, s := range pos.Seqs {
		w.applied[s] = true
	}
	for _, m := range w.pending {
		_ = m.Ack()
	}
	w.pending = w.pending[:0]
	return nil
}

// emit publishes the outbox to the findings stream and hands it to the
// replica's own sinks.
func (w *worker) emit() error {
	ob := w.proc.Outbox()
	if len(ob) == 0 {
		return nil
	}
	if err := w.r.pub.Deliver(w.ctx, ob); err != nil {
		// Kept in the outbox: the next commit tries again, and a successor
		// would publish it from the checkpoint.
		if h := w.r.opt.Hooks.SinkError; h != nil {
			h(err)
		}
		return nil
	}
	if err := w.r.opt.Sinks.Deliver(w.ctx, ob); err != nil {
		if h := w.r.opt.Hooks.SinkError; h != nil {
			h(err)
		}
	}
	now := time.Now()
	for i := range ob {
		if h := w.r.opt.Hooks.Latency; h != nil && i < len(w.recv) && !w.recv[i].IsZero() {
			h(now.Sub(w.recv[i]))
		}
	}
	w.recv = w.recv[:0]
	w.proc.Delivered(len(ob))
	return nil
}
