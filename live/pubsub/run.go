package pubsub

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
	// messages (0: never).
	IdleFlush time.Duration
	Logger    *slog.Logger
	// OnStart, when set, gets the Input once it is made (for its Stats).
	OnStart func(*Input)
	// Findings counts the findings delivered.
	Findings *atomic.Int64
}

// Run consumes the subscription until ctx is done, with the detection's
// state, the messages read and the undelivered findings checkpointed
// together in StateDir (bbolt) after every read that changed something;
// a message is acknowledged after the checkpoint that holds it.
func Run(ctx context.Context, opt RunOptions) error {
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Input.Logger == nil {
		opt.Input.Logger = opt.Logger
	}
	if opt.IdleFlush > 0 && (opt.Input.Wait <= 0 || opt.Input.Wait > opt.IdleFlush) {
		opt.Input.Wait = opt.IdleFlush
	}
	return store.RunStream(ctx, store.Stream{
		StateDir: opt.StateDir, Processor: opt.Processor, Sinks: opt.Sinks, IdleFlush: opt.IdleFlush,
		Logger: opt.Logger, Findings: opt.Findings,
	}, func(pos json.RawMessage) (*Input, error) { return New(opt.Input, pos) }, opt.OnStart)
}
