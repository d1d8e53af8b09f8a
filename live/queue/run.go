package queue

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/revertwatch/revertwatch/live"
	"github.com/revertwatch/revertwatch/live/sink"
	"github.com/revertwatch/revertwatch/live/store"
)

// RunOptions configure Run.
type RunOptions struct {
	Input     Options
	StateDir  string
	Processor live.Options
	Sinks     *sink.Fanout
	// IdleFlush releases buffered events after this long without new
	// objects (0: never).
	IdleFlush time.Duration
	Logger    *slog.Logger
	// OnStart, when set, gets the Input once it is made (for its Stats).
	OnStart func(*Input)
	// Findings counts the findings delivered.
	Findings *atomic.Int64
	// StopTimeout is how long a stopped run gives its sinks to take what
	// they owe before it records what they still do (default 5 s).
	StopTimeout time.Duration
}

// Run consumes the queue until ctx is done, with the detection's state,
// the objects read and the undelivered findings checkpointed together in
// StateDir (bbolt) after every read that changed something.
func Run(ctx context.Context, opt RunOptions) error {
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	st, err := store.Open(opt.StateDir)
	if err != nil {
		return err
	}
	defer st.Close()
	loop, err := live.NewLoop(ctx, store.Checkpoints{S: st}, live.LoopOptions{
		Processor: opt.Processor, Sinks: opt.Sinks, IdleFlush: opt.IdleFlush, Logger: opt.Logger,
		OnDeliver: func(n int) {
			if opt.Findings != nil {
				opt.Findings.Add(int64(n))
			}
		},
	})
	if err != nil {
		return err
	}
	pos, err := store.LoopPosition(loop)
	if err != nil {
		return fmt.Errorf("%s: %w", st.Path(), err)
	}
	if opt.Input.Logger == nil {
		opt.Input.Logger = opt.Logger
	}
	// The Loop flushes idle state between reads, so a long poll must not
	// outlast the idle flush (SQS waits in whole seconds).
	if opt.IdleFlush > 0 && (opt.Input.Wait <= 0 || opt.Input.Wait > opt.IdleFlush) {
		opt.Input.Wait = max(opt.IdleFlush, time.Second)
	}
	in, err := New(opt.Input, pos.Files)
	if err != nil {
		return fmt.Errorf("%s: %w", st.Path(), err)
	}
	defer in.Close()
	if opt.OnStart != nil {
		opt.OnStart(in)
	}
	// Stopped, the input reads no more: the checkpoint after every read
	// leaves nothing to drain, and a message held comes back. The sinks
	// get until StopTimeout to take what they owe, and what they took is
	// recorded (as watch does for files).
	stopTimeout := opt.StopTimeout
	if stopTimeout <= 0 {
		stopTimeout = 5 * time.Second
	}
	drainCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-ctx.Done():
			t := time.NewTimer(stopTimeout)
			defer t.Stop()
			select {
			case <-t.C:
			case <-drainCtx.Done():
			}
		case <-drainCtx.Done():
		}
		cancel()
	}()
	return loop.Run(ctx, drainCtx, positioned{in})
}

// positioned writes the Input's position where the bbolt store keeps an
// input's own position (store.Position.Files), as watch's file positions
// are kept.
type positioned struct{ *Input }

func (p positioned) Position() (json.RawMessage, error) {
	raw, err := p.Input.Position()
	if err != nil {
		return nil, err
	}
	return json.Marshal(store.Position{Files: raw})
}
