// Package watch follows files as they grow — an aws s3 sync target, a
// mounted Azure Storage container — and runs live detection over them:
// new files and appended lines are read once, and the file positions are
// checkpointed with the detection's state in one transaction, so that a
// restart neither reads a byte twice nor skips one.
package watch

import (
	"bytes"
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
	Paths     []string
	StateDir  string
	Processor live.Options
	Ingest    ingest.Options // record size cap, forced format, source overrides
	Sinks     *sink.Fanout
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

// Watcher is a running watch.
type Watcher struct {
	opt  Options
	st   *store.Store
	fol  *Follower
	proc *live.Processor
	// rest holds what Once reads, until it is all read.
	rest *eventtime.Sorter

	chunks, events, findings atomic.Int64
}

// New opens the state and restores the last checkpoint.
func New(opt Options) (*Watcher, error) {
	if opt.Poll <= 0 {
		opt.Poll = 2 * time.Second
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	st, err := store.Open(opt.StateDir)
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
	s, err := w.st.Load()
	if err != nil {
		return err
	}
	proc, err := live.Resume(w.opt.Processor, s.Checkpoint, s.Outbox, w.st.Path())
	if err != nil {
		return err
	}
	fol, err := NewFollower(w.opt.Paths, s.Files)
	if err != nil {
		return fmt.Errorf("%s: %w", w.st.Path(), err)
	}
	w.proc, w.fol = proc, fol
	return nil
}

// Rules describes the rules, for renderers.
func (w *Watcher) Rules() []finding.RuleInfo { return w.proc.Rules() }

// Stats returns the counters; safe to call while Run runs.
func (w *Watcher) Stats() Stats {
	return Stats{Chunks: int(w.chunks.Load()), Events: int(w.events.Load()), Findings: int(w.findings.Load())}
}

// Close closes the state.
func (w *Watcher) Close() error { return w.st.Close() }

// Run follows the files until ctx is done (or, with Once, until what is
// there has been read), checkpointing after every poll that read data.
func (w *Watcher) Run(ctx context.Context) error {
	if ob := w.proc.Outbox(); len(ob) > 0 {
		if err := w.opt.Sinks.Recover(ctx, ob); err != nil {
			w.opt.Logger.Error("delivering recovered findings", "err", err)
		}
		if err := w.delivered(len(ob)); err != nil {
			return err
		}
	}
	if w.opt.Once {
		w.rest = eventtime.NewSorter(eventtime.SorterOptions{Budget: w.opt.MemoryBudget, Dir: w.opt.SpillDir})
		defer w.rest.Close()
	}
	tick := time.NewTicker(w.opt.Poll)
	defer tick.Stop()
	lastData := time.Now()
	settling := 0
	for {
		n, err := w.poll(ctx)
		if err != nil {
			return err
		}
		now := time.Now()
		if n > 0 {
			lastData = now
			settling = 0
		} else {
			settling++
		}
		// Once: a file is read when it has stopped changing between two
		// polls, so two quiet polls in a row mean everything is read.
		done := w.opt.Once && settling >= 2
		if done {
			if err := w.rest.Each(func(ev *event.Event) error {
				w.proc.Process(ev)
				return ctx.Err()
			}); err != nil {
				return err
			}
			w.proc.End()
		} else if w.opt.IdleFlush > 0 && now.Sub(lastData) >= w.opt.IdleFlush && w.proc.Buffered() > 0 {
			w.proc.Flush()
		}
		// Once checkpoints nothing before it has all been read and gone
		// through the rules in order.
		if (!w.opt.Once || done) && (w.proc.Dirty() || n > 0) {
			if err := w.commit(ctx); err != nil {
				return err
			}
		}
		if w.opt.Sinks.Owed() > 0 {
			_ = w.opt.Sinks.Deliver(ctx, nil)
		}
		if done {
			return nil
		}
		if w.opt.Once && n > 0 {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// poll reads the new data of every file and says how many chunks.
func (w *Watcher) poll(ctx context.Context) (int, error) {
	chunks, err := w.fol.Poll()
	if err != nil {
		w.opt.Logger.Warn("reading files", "err", err)
	}
	for _, c := range chunks {
		if ctx.Err() != nil {
			return 0, nil
		}
		_, err := ingest.DecodeStream(ctx, c.Path, bytes.NewReader(c.Data), w.opt.Ingest, ingest.Handlers{
			Event: func(ev *event.Event) error {
				ev.Source.Offset += c.Offset
				ev.Source.Line += c.Line
				w.events.Add(1)
				if w.rest != nil {
					return w.rest.Add(ev)
				}
				w.proc.Process(ev)
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
			return 0, nil // cancelled: the chunk is read again after a restart
		}
		w.fol.Advance(c)
		w.chunks.Add(1)
	}
	return len(chunks), nil
}

// commit writes the checkpoint, the file positions and the outbox in one
// transaction, then delivers the outbox.
func (w *Watcher) commit(ctx context.Context) error {
	cp, err := w.proc.Checkpoint()
	if err != nil {
		return err
	}
	outbox := cp.Outbox
	cp.Outbox = nil
	enc, err := cp.Encode()
	if err != nil {
		return err
	}
	ob, err := json.Marshal(nonNil(outbox))
	if err != nil {
		return err
	}
	if err := w.st.Commit(store.State{Checkpoint: enc, Outbox: ob, Files: w.fol.Save()}); err != nil {
		return err
	}
	if len(outbox) == 0 {
		return nil
	}
	if err := w.opt.Sinks.Deliver(ctx, outbox); err != nil {
		w.opt.Logger.Error("delivering findings", "err", err)
	}
	w.findings.Add(int64(len(outbox)))
	return w.delivered(len(outbox))
}

func (w *Watcher) delivered(n int) error {
	w.proc.Delivered(n)
	ob, err := json.Marshal(nonNil(w.proc.Outbox()))
	if err != nil {
		return err
	}
	return w.st.Commit(store.State{Outbox: ob})
}

func nonNil(fs []finding.Finding) []finding.Finding {
	if fs == nil {
		return []finding.Finding{}
	}
	return fs
}
