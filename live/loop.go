package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/finding"
	"github.com/revertwatch/revertwatch/live/sink"
)

// Input is where a Loop's events come from: a followed file, a journal of
// accepted requests, a JetStream consumer. Its data is durable before the
// Loop sees it (rule 1), and it can say how far it has been read, so that
// the position is written with the state that covers it (rule 2).
type Input interface {
	// Read hands what input there is now, up to a batch, to f and says
	// how many units it read (entries, chunks, events) and whether more
	// is there already, to be read before waiting. It returns ErrEnd when
	// the input is over.
	Read(ctx context.Context, f Feed) (n int, more bool, err error)
	// Wait returns when there may be new input, or when ctx is done.
	Wait(ctx context.Context)
	// Position encodes how far the input has been read, for the
	// checkpoint about to be written.
	Position() (json.RawMessage, error)
	// Pending reports input read since the last checkpoint that the next
	// one must cover, even if it changed no state.
	Pending() bool
	// Committed says that the checkpoint holding the last Position is
	// written: the input may forget or acknowledge what it covers.
	Committed()
}

// ErrEnd is what Input.Read returns when the input is over (watch --once):
// the Loop checkpoints, delivers and returns.
var ErrEnd = errors.New("end of input")

// Store keeps a Loop's checkpoints.
type Store interface {
	// Load returns the last checkpoint written, with its outbox and
	// position; nil on a first start.
	Load(ctx context.Context) (*Checkpoint, error)
	// Commit writes a checkpoint — state, outbox and position — at once:
	// when it returns nil, all of it survives a crash, and none of it
	// did if it returns an error.
	Commit(ctx context.Context, cp *Checkpoint) error
	// Delivered records that the outbox of the last checkpoint has left
	// but for outbox. A store whose every write is a whole checkpoint may
	// record nothing and say false: the next Commit holds the smaller
	// outbox anyway, and the Loop commits once more before it stops.
	Delivered(ctx context.Context, outbox []finding.Finding) (bool, error)
}

// LoopOptions configure a Loop.
type LoopOptions struct {
	Processor Options
	// Sinks receive the findings; Recover gets the outbox of a previous
	// run.
	Sinks *sink.Fanout
	// First, when set, must take the findings before any other sink: when
	// it fails they stay in the outbox, to go with the next checkpoint
	// (the JetStream findings stream, which a successor publishes to
	// from the checkpoint too).
	First sink.Sink
	// Interval is the longest time between checkpoints while input
	// flows; a finding waiting in the outbox shortens it to a tenth. Zero
	// checkpoints after every read that changed something.
	Interval time.Duration
	// IdleFlush releases the buffered events (Processor.Flush) after this
	// long without input; 0 never.
	IdleFlush time.Duration
	// Drain reads what input is left when the run ends, before the last
	// checkpoint.
	Drain bool
	// Logger receives delivery errors; nil discards them.
	Logger *slog.Logger
	// OnCheckpoint gets the time each checkpoint took to make and write.
	OnCheckpoint func(took time.Duration)
	// OnSinkError gets each failed delivery.
	OnSinkError func(error)
	// Latency gets, for each finding delivered, the time since the input
	// that completed it was received (Feed.Received).
	Latency func(time.Duration)
	// OnDeliver gets the number of findings of this run delivered.
	OnDeliver func(n int)
}

// Loop runs a Processor over an Input with exactly-once delivery: it owns
// the checkpoint cadence, the idle flush, the delivery of the outbox after
// the checkpoint that holds it and the measurement of latency, and keeps
// the rules of the package documentation for every input and store.
type Loop struct {
	opt  LoopOptions
	st   Store
	proc *Processor
	pos  json.RawMessage
	// recv holds, for each outbox finding, when the input that completed
	// it was received (zero: unknown).
	recv []time.Time
	// unrecorded: findings have left that the last durable write still
	// lists.
	unrecorded bool
}

// NewLoop restores the last checkpoint of st into a new Processor.
func NewLoop(ctx context.Context, st Store, opt LoopOptions) (*Loop, error) {
	if opt.Sinks == nil {
		opt.Sinks = sink.NewFanout()
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	proc, err := New(opt.Processor)
	if err != nil {
		return nil, err
	}
	cp, err := st.Load(ctx)
	if err != nil {
		return nil, err
	}
	l := &Loop{opt: opt, st: st, proc: proc}
	if cp != nil {
		if err := proc.Restore(cp); err != nil {
			return nil, fmt.Errorf("restoring the checkpoint: %w", err)
		}
		l.pos = cp.Position
	}
	l.align(time.Time{})
	return l, nil
}

// Position is the input position the restored checkpoint covers (nil on
// a first start): where the Input starts.
func (l *Loop) Position() json.RawMessage { return l.pos }

// Processor is the Loop's Processor.
func (l *Loop) Processor() *Processor { return l.proc }

// Feed is how an Input hands its events to the Loop.
type Feed struct{ l *Loop }

// Process runs one event through the detection.
func (f Feed) Process(ev *event.Event) { f.l.proc.Process(ev) }

// Received says that the input fed since the last call was received at
// t: the findings it completed are timed from t.
func (f Feed) Received(t time.Time) { f.l.align(t) }

// Needs reports whether some rule needs ev (Processor.Needs): an input
// that holds events before feeding them holds only those.
func (f Feed) Needs(ev *event.Event) bool { return f.l.proc.Needs(ev) }

// End ends the input (Processor.End).
func (f Feed) End() { f.l.proc.End() }

// align gives every outbox finding without a receive time t, so that
// recv stays aligned with the outbox by index.
func (l *Loop) align(t time.Time) {
	for len(l.recv) < len(l.proc.Outbox()) {
		l.recv = append(l.recv, t)
	}
}

// Run delivers the outbox of the last run, then reads in until ctx is
// done (or the input ends). Then it reads what is left (Drain) and
// checkpoints within drainCtx; if drainCtx is already done it stops where
// it is, as a crash would.
func (l *Loop) Run(ctx, drainCtx context.Context, in Input) error {
	if n := len(l.proc.Outbox()); n > 0 {
		// The previous run may have died after its checkpoint and before
		// these left: sinks that can tell skip what they already hold.
		l.opt.Logger.Info("delivering the findings of the last checkpoint", "findings", n)
		if err := l.deliver(drainCtx, true); err != nil {
			return err
		}
	}
	lastInput, lastCommit := time.Now(), time.Now()
	for ctx.Err() == nil {
		n, more, err := in.Read(ctx, Feed{l})
		end := errors.Is(err, ErrEnd)
		if err != nil && !end {
			return err
		}
		now := time.Now()
		if n > 0 {
			lastInput = now
		} else if l.opt.IdleFlush > 0 && now.Sub(lastInput) >= l.opt.IdleFlush && l.proc.Buffered() > 0 {
			l.proc.Flush()
			lastCommit = time.Time{}
		}
		if l.changed(in) && (end || l.due(now.Sub(lastCommit))) {
			if err := l.commit(drainCtx, in); err != nil {
				return err
			}
			lastCommit = now
		}
		if !more {
			l.retry(drainCtx)
		}
		if end {
			return l.finish(drainCtx, in)
		}
		if !more {
			in.Wait(ctx)
		}
	}
	return l.stop(drainCtx, in)
}

// changed reports state or input position not yet in a checkpoint.
func (l *Loop) changed(in Input) bool { return l.proc.Dirty() || in.Pending() }

// due says whether a checkpoint is due since after the last one:
// checkpoints cost in proportion to the state, not to the input, so they
// are spaced by the interval, but a finding leaves only after its
// checkpoint, so it shortens the wait to a tenth.
func (l *Loop) due(since time.Duration) bool {
	every := l.opt.Interval
	return since >= every || len(l.proc.Outbox()) > 0 && since >= every/10
}

// stop ends a run: what is left is read (Drain) and checkpointed.
func (l *Loop) stop(ctx context.Context, in Input) error {
	if ctx.Err() != nil {
		return nil
	}
	for l.opt.Drain && ctx.Err() == nil {
		n, _, err := in.Read(ctx, Feed{l})
		if err != nil && !errors.Is(err, ErrEnd) {
			return err
		}
		if n == 0 || err != nil {
			break
		}
	}
	return l.finish(ctx, in)
}

// finish writes the last checkpoint of a run.
func (l *Loop) finish(ctx context.Context, in Input) error {
	if l.changed(in) {
		if err := l.commit(ctx, in); err != nil {
			return err
		}
	}
	if l.unrecorded {
		// Once more, now that the outbox has left, so that the next run
		// does not deliver it again to sinks that cannot tell.
		return l.commit(ctx, in)
	}
	return nil
}

// commit writes the checkpoint with the input position it covers, then
// delivers its outbox (rules 2 and 3).
func (l *Loop) commit(ctx context.Context, in Input) error {
	start := time.Now()
	l.align(time.Time{})
	cp, err := l.proc.Checkpoint()
	if err != nil {
		return err
	}
	if cp.Position, err = in.Position(); err != nil {
		return err
	}
	if err := l.st.Commit(ctx, cp); err != nil {
		return err
	}
	l.unrecorded = false
	in.Committed()
	if l.opt.OnCheckpoint != nil {
		l.opt.OnCheckpoint(time.Since(start))
	}
	return l.deliver(ctx, false)
}

// deliver hands the outbox — all of it in the last checkpoint — to the
// sinks, measures latency and drops it from the outbox. recovered: the
// outbox of a previous run.
func (l *Loop) deliver(ctx context.Context, recovered bool) error {
	ob := l.proc.Outbox()
	if len(ob) == 0 {
		return nil
	}
	if l.opt.First != nil {
		if err := l.opt.First.Deliver(ctx, ob); err != nil {
			l.sinkError(err)
			return nil
		}
	}
	var err error
	if recovered {
		err = l.opt.Sinks.Recover(ctx, ob)
	} else {
		// The Fanout keeps what a failing sink did not take and retries
		// it; the others have theirs, so the outbox moves on.
		err = l.opt.Sinks.Deliver(ctx, ob)
	}
	if err != nil {
		l.sinkError(err)
	}
	if l.opt.Latency != nil {
		now := time.Now()
		for _, t := range l.recv[:len(ob)] {
			if !t.IsZero() {
				l.opt.Latency(now.Sub(t))
			}
		}
	}
	if !recovered && l.opt.OnDeliver != nil {
		l.opt.OnDeliver(len(ob))
	}
	l.proc.Delivered(len(ob))
	l.recv = append(l.recv[:0], l.recv[len(ob):]...)
	recorded, err := l.st.Delivered(ctx, l.proc.Outbox())
	if err != nil {
		return err
	}
	l.unrecorded = !recorded
	return nil
}

func (l *Loop) sinkError(err error) {
	l.opt.Logger.Error("delivering findings", "err", err)
	if l.opt.OnSinkError != nil {
		l.opt.OnSinkError(err)
	}
}

// retry gives the sinks that failed what they owe, while the input is
// quiet.
func (l *Loop) retry(ctx context.Context) {
	if l.opt.Sinks.Owed() == 0 {
		return
	}
	if err := l.opt.Sinks.Deliver(ctx, nil); err != nil {
		l.opt.Logger.Warn("sink still failing", "err", err)
	}
}
