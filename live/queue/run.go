package queue

import (
	"context"
	"encoding/json"
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
	if opt.Input.Logger == nil {
		opt.Input.Logger = opt.Logger
	}
	// The Loop flushes idle state between reads, so a long poll must not
	// outlast the idle flush (SQS waits in whole seconds).
	if opt.IdleFlush > 0 && (opt.Input.Wait <= 0 || opt.Input.Wait > opt.IdleFlush) {
		opt.Input.Wait = max(opt.IdleFlush, time.Second)
	}
	return store.RunStream(ctx, store.Stream{
		StateDir: opt.StateDir, Processor: opt.Processor, Sinks: opt.Sinks, IdleFlush: opt.IdleFlush,
		Logger: opt.Logger, Findings: opt.Findings, StopTimeout: opt.StopTimeout,
	}, func(pos json.RawMessage) (*Input, error) { return New(opt.Input, pos) }, opt.OnStart)
}
