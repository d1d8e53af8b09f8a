package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/revertwatch/revertwatch/event"
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
	// Delivered records the debt alone, the sinks having moved since the
	// last checkpoint. A store whose every write is a whole checkpoint may
	// record nothing and say false: the Loop then commits a whole
	// checkpoint, holding the smaller debt, at its interval and before it
	// stops.
	Delivered(ctx context.Context, d Debt) (bool, error)
}

// LoopOptions configure a Loop.
type LoopOptions struct {
	Processor Options
	// Sinks receive the findings, each from its own goroutine and its
	// own durable backlog (Debt): a finding leaves the outbox once every
	// sink has taken it. A sink that fails is tried again with backoff and
	// holds back nothing but its own backlog; at a restart it gets what it
	// still owed, a Holder without what it already holds.
	Sinks *sink.Fanout
	// First, when set, is one more sink, listed first (the JetStream
	// findings stream of a cluster replica).
	First sink.Sink
	// SinkBackoff is the wait after a sink's first failed delivery,
	// doubled after each until SinkMaxBackoff (defaults
	// DefaultSinkBackoff, DefaultSinkMaxBackoff).
	SinkBackoff, SinkMaxBackoff time.Duration
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
	// OnSinkError gets each failed delivery. It, Latency and OnDeliver
	// are called from the sinks' goroutines.
	OnSinkError func(sink string, err error)
	// Latency gets, for each finding that left the outbox (every sink has
	// it), the time since the input that completed it was received
	// (Feed.Received).
	Latency func(time.Duration)
	// OnDeliver gets the number of findings of this run that left the
	// outbox.
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
	out  *outbox
	pos  json.RawMessage
	// recv holds, for each finding of the Processor's outbox (made, not
	// yet checkpointed), when the input that completed it was received
	// (zero: unknown).
	recv []time.Time
	// recorded is the count of the couriers' moves the last durable write
	// holds; lazy that the store records the debt only with a checkpoint.
	recorded uint64
	lazy     bool
	// took is how long the last checkpoint took to make and write.
	took time.Duration
}

// checkpointShare bounds the share of the Loop's time spent on
// checkpoints that findings hurried: they are spaced by at least this
// many times what the last one took. A checkpoint costs in proportion to
// the state, which at high rates holds megabytes of context; every tenth
// of the interval it would take most of the Loop's time.
const checkpointShare = 4

// NewLoop restores the last checkpoint of st into a new Processor.
func NewLoop(ctx context.Context, st Store, opt LoopOptions) (*Loop, error) {
	if opt.Sinks == nil {
		opt.Sinks = sink.NewFanout()
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.SinkBackoff <= 0 {
		opt.SinkBackoff = DefaultSinkBackoff
	}
	if opt.SinkMaxBackoff <= 0 {
		opt.SinkMaxBackoff = DefaultSinkMaxBackoff
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
	var debt Debt
	if cp != nil {
		if err := proc.Restore(cp); err != nil {
			return nil, fmt.Errorf("restoring the checkpoint: %w", err)
		}
		l.pos = cp.Position
		debt = cp.Debt
		// The outbox is the sinks' now; the Processor's holds what is
		// made from here on.
		proc.Delivered(len(proc.Outbox()))
	}
	sinks := opt.Sinks.Sinks()
	if opt.First != nil {
		sinks = append([]sink.Sink{opt.First}, sinks...)
	}
	l.out = newOutbox(&l.opt, sinks, debt)
	return l, nil
}

// Backlog reports what each sink owes now; safe to call while Run runs.
func (l *Loop) Backlog() []SinkBacklog { return l.out.backlog() }

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

// DrainContext returns the drainCtx of Run for a stop that gives the
// sinks timeout to take what they owe: it is done timeout after ctx is,
// or when cancel is called.
func DrainContext(ctx context.Context, timeout time.Duration) (drainCtx context.Context, cancel context.CancelFunc) {
	drainCtx, cancel = context.WithCancel(context.Background())
	go func() {
		select {
		case <-ctx.Done():
			t := time.NewTimer(timeout)
			defer t.Stop()
			select {
			case <-t.C:
			case <-drainCtx.Done():
			}
		case <-drainCtx.Done():
		}
		cancel()
	}()
	return drainCtx, cancel
}

// Run reads input until ctx is done (or the input ends), while the sinks
// take the outbox — first what the last run left — on their own
// goroutines. Then it reads what is left (Drain), checkpoints, gives the
// sinks until they have it all or fail (or drainCtx is done) and records
// what they still owe, within drainCtx; if drainCtx is already done it
// stops where it is, as a crash would.
func (l *Loop) Run(ctx, drainCtx context.Context, in Input) error {
	if n := len(l.out.items); n > 0 {
		// The previous run may have died after its checkpoint and before
		// these left: sinks that can tell skip what they already hold.
		l.opt.Logger.Info("delivering the findings of the last checkpoint", "findings", n)
	}
	l.out.start()
	defer l.out.stop()
	lastInput, lastCommit, lastRecord := time.Now(), time.Now(), time.Now()
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
			lastCommit, lastRecord = now, now
		} else if l.out.movedSince(l.recorded) && now.Sub(lastRecord) >= l.opt.Interval/10 {
			if err := l.record(drainCtx, in, now.Sub(lastCommit) >= l.opt.Interval); err != nil {
				return err
			}
			lastRecord = now
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
// checkpoint, so it shortens the wait to a tenth — and no less than
// checkpointShare times what the last checkpoint took, so that a large
// state does not make the Loop spend its time writing it.
func (l *Loop) due(since time.Duration) bool {
	every := l.opt.Interval
	return since >= every || len(l.proc.Outbox()) > 0 && since >= max(every/10, checkpointShare*l.took)
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

// finish writes the last checkpoint of a run, waits until every sink has
// taken its backlog or failed once more (or ctx is done), stops the sinks
// and records what they still owe.
func (l *Loop) finish(ctx context.Context, in Input) error {
	if l.changed(in) {
		if err := l.commit(ctx, in); err != nil {
			return err
		}
	}
	marks := l.out.failures()
	for !l.out.settled(marks) && ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-l.out.changed:
		}
	}
	l.out.stop()
	if ctx.Err() != nil || !l.out.movedSince(l.recorded) {
		return nil
	}
	return l.record(ctx, in, true)
}

// record writes the debt, the sinks having moved: alone when the store
// can, else (full) with a whole checkpoint.
func (l *Loop) record(ctx context.Context, in Input, full bool) error {
	if !l.lazy {
		d, moves := l.out.debt()
		ok, err := l.st.Delivered(ctx, d)
		if err != nil {
			return err
		}
		if ok {
			l.recorded = moves
			return nil
		}
		l.lazy = true
	}
	if full {
		return l.commit(ctx, in)
	}
	return nil
}

// commit writes the checkpoint — the state, the input position it covers
// and the debt with the findings made since the last one — then hands
// those to the sinks (rules 2 and 3).
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
	made := cp.Outbox
	d, moves := l.out.debt()
	cp.Debt = d
	cp.Outbox = append(d.Outbox, made...)
	if err := l.st.Commit(ctx, cp); err != nil {
		return err
	}
	l.recorded = moves
	in.Committed()
	l.took = time.Since(start)
	if l.opt.OnCheckpoint != nil {
		l.opt.OnCheckpoint(l.took)
	}
	l.out.add(made, l.recv[:len(made)])
	l.proc.Delivered(len(made))
	l.recv = append(l.recv[:0], l.recv[len(made):]...)
	return nil
}
