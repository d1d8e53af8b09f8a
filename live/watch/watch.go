// Package watch follows files as they grow — an aws s3 sync target, a
// mounted Azure Storage container — and runs live detection over them:
// new files and appended lines are read once, and the file positions are
// checkpointed with the detection's state in one transaction, so that a
// restart neither reads a byte twice nor skips one.
package watch

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/eventtime"
	"github.com/revertwatch/revertwatch/finding"
	"github.com/revertwatch/revertwatch/ingest"
	"github.com/revertwatch/revertwatch/live"
	"github.com/revertwatch/revertwatch/live/sink"
	"github.com/revertwatch/revertwatch/live/store"
)

// Options configure a Watcher.
type Options struct {
	Paths    []string
	StateDir string
	// ResetState starts with no state when the state file is empty or
	// unreadable, moving it aside (store.Options.Reset); else that is an
	// error.
	ResetState bool
	Processor  live.Options
	Ingest     ingest.Options // record size cap, forced format, source overrides
	Sinks      *sink.Fanout
	// StopTimeout is how long a stopped watch gives its sinks to take
	// what they owe before it records what they still do (default 5 s).
	StopTimeout time.Duration
	// SinkBackoff is the wait after a sink's first failed delivery
	// (live.LoopOptions).
	SinkBackoff time.Duration
	// Poll is the time between looks at the files (default 2 s).
	Poll time.Duration
	// IdleFlush releases buffered events after this long without new data
	// (0: never while running).
	IdleFlush time.Duration
	// Once reads what is there, runs it through the rules in event-time
	// order as hunt does (exact, whatever the order of files and
	// records), checkpoints and returns; the next run continues from the
	// checkpoint.
	Once bool
	// MemoryBudget and SpillDir bound what Once holds in memory, as
	// hunt's flags of the same names do.
	MemoryBudget int64
	SpillDir     string
	// OnDiag receives decoding diagnostics.
	OnDiag func(ingest.Diag)
	Logger *slog.Logger
}

// Stats count what a Watcher did.
type Stats struct {
	Chunks, Events int
	Findings       int
}

// Watcher is a running watch: a live.Loop over the followed files, on a
// bbolt store.
type Watcher struct {
	opt  Options
	st   *store.Store
	fol  *Follower
	loop *live.Loop

	chunks, events, findings atomic.Int64
	// polls counts the looks at the files (for tests).
	polls atomic.Int64
}

// New opens the state and restores the last checkpoint.
func New(opt Options) (*Watcher, error) {
	if opt.Poll <= 0 {
		opt.Poll = 2 * time.Second
	}
	if opt.StopTimeout <= 0 {
		opt.StopTimeout = 5 * time.Second
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	st, err := store.Open(opt.StateDir, store.Options{Reset: opt.ResetState})
	if err != nil {
		return nil, err
	}
	w := &Watcher{opt: opt, st: st}
	if err := w.load(); err != nil {
		st.Close()
		return nil, err
	}
	return w, nil
}

func (w *Watcher) load() error {
	// Once checkpoints only when all is read and through the rules, so a
	// checkpoint after every poll that read data is the cadence: no
	// interval.
	loop, err := live.NewLoop(context.Background(), store.Checkpoints{S: w.st}, live.LoopOptions{
		Processor: w.opt.Processor, Sinks: w.opt.Sinks, IdleFlush: w.opt.IdleFlush, Logger: w.opt.Logger,
		OnDeliver: func(n int) { w.findings.Add(int64(n)) }, SinkBackoff: w.opt.SinkBackoff,
	})
	if err != nil {
		return err
	}
	pos, err := store.LoopPosition(loop)
	if err != nil {
		return fmt.Errorf("%s: %w", w.st.Path(), err)
	}
	fol, err := NewFollower(w.opt.Paths, pos.Files)
	if err != nil {
		return fmt.Errorf("%s: %w", w.st.Path(), err)
	}
	w.loop, w.fol = loop, fol
	return nil
}

// Rules describes the rules, for renderers.
func (w *Watcher) Rules() []finding.RuleInfo { return w.loop.Processor().Rules() }

// Stats returns the counters; safe to call while Run runs.
func (w *Watcher) Stats() Stats {
	return Stats{Chunks: int(w.chunks.Load()), Events: int(w.events.Load()), Findings: int(w.findings.Load())}
}

// Close closes the state.
func (w *Watcher) Close() error { return w.st.Close() }

// Run follows the files until ctx is done (or, with Once, until what is
// there has been read), checkpointing after every poll that read data.
func (w *Watcher) Run(ctx context.Context) error {
	in := &files{w: w, tick: time.NewTicker(w.opt.Poll)}
	defer in.tick.Stop()
	if w.opt.Once {
		in.rest = eventtime.NewSorter(eventtime.SorterOptions{Budget: w.opt.MemoryBudget, Dir: w.opt.SpillDir})
		defer in.rest.Close()
	}
	// Stopped, the watch reads no more: the checkpoint after every poll
	// leaves nothing to drain. The sinks get until StopTimeout to take
	// what they owe, and what they took is recorded.
	drainCtx, cancel := live.DrainContext(ctx, w.opt.StopTimeout)
	defer cancel()
	if err := w.loop.Run(ctx, drainCtx, in); err != nil {
		return err
	}
	if w.opt.Once && ctx.Err() == nil {
		// Once ends when every sink has taken its findings or failed
		// again; what a failing sink owes stays in the state.
		return live.OwedError(w.loop.Backlog())
	}
	return nil
}

// files is the live.Input of a Watcher: the new data of the followed
// files.
type files struct {
	w    *Watcher
	tick *time.Ticker
	// rest holds what Once reads, until it is all read.
	rest *eventtime.Sorter
	// settling counts the polls in a row that read nothing; moved, that
	// positions advanced since the last checkpoint.
	settling int
	moved    bool
	ended    bool
}

// Read implements live.Input.
func (in *files) Read(ctx context.Context, f live.Feed) (int, bool, error) {
	n := in.w.poll(ctx, f, in.rest)
	if n > 0 {
		in.settling, in.moved = 0, true
	} else {
		in.settling++
	}
	// Once: a file is read when it has stopped changing between two
	// polls, so two quiet polls in a row mean everything is read; then it
	// goes through the rules in event-time order, as hunt reads.
	if in.rest != nil && in.settling >= 2 {
		if err := in.rest.Each(func(ev *event.Event) error {
			f.Process(ev)
			return ctx.Err()
		}); err != nil {
			return 0, false, err
		}
		f.End()
		in.ended = true
		return 0, false, live.ErrEnd
	}
	return n, in.rest != nil && n > 0, nil
}

// Wait implements live.Input.
func (in *files) Wait(ctx context.Context) {
	select {
	case <-ctx.Done():
	case <-in.tick.C:
	}
}

// Position implements live.Input.
func (in *files) Position() (json.RawMessage, error) {
	return json.Marshal(store.Position{Files: in.w.fol.Save()})
}

// Pending implements live.Input: Once checkpoints nothing before it has
// all been read and gone through the rules in order.
func (in *files) Pending() bool { return in.moved && (in.rest == nil || in.ended) }

// Committed implements live.Input.
func (in *files) Committed() { in.moved = false }

// poll streams the new data of every file, one file at a time, into f
// (or rest, with Once) and says how many chunks.
func (w *Watcher) poll(ctx context.Context, f live.Feed, rest *eventtime.Sorter) int {
	defer w.polls.Add(1)
	n := 0
	err := w.fol.Poll(func(c *Chunk) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		_, err := ingest.DecodeStream(ctx, c.Path, c.R, w.opt.Ingest, ingest.Handlers{
			Event: func(ev *event.Event) error {
				ev.Source.Offset += c.Offset
				ev.Source.Line += c.Line
				w.events.Add(1)
				if rest != nil {
					if !f.Needs(ev) {
						return nil // only moves a watermark; at rest nothing is late
					}
					return rest.Add(ev)
				}
				f.Process(ev)
				return nil
			},
			Diag: func(d ingest.Diag) {
				d.Offset += c.Offset
				if d.Line > 0 {
					d.Line += c.Line
				}
				if w.opt.OnDiag != nil {
					w.opt.OnDiag(d)
				}
			},
		})
		if err != nil {
			return err // cancelled: the chunk is read again after a restart
		}
		n++
		w.chunks.Add(1)
		return nil
	})
	if err != nil && ctx.Err() == nil {
		w.opt.Logger.Warn("reading files", "err", err)
	}
	if ctx.Err() != nil {
		return 0
	}
	return n
}
