package store

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/revertwatch/revertwatch/live"
	"github.com/revertwatch/revertwatch/live/sink"
)

// RunOptions configure RunInput.
type RunOptions struct {
	StateDir string
	Loop     live.LoopOptions
	// StopTimeout is how long a stopped run gives its sinks to take what
	// they owe before it records what they still do (default 5 s).
	StopTimeout time.Duration
}

// RunInput runs a live.Loop on a bbolt Store in StateDir over the input
// open makes from the position the last checkpoint covers (nil on a first
// start). The input's position is kept where the store keeps an input's
// own (Position.Files, as watch's file positions are). Stopped (ctx
// done), the input reads no more; the sinks get until StopTimeout to take
// what they owe, and what they took is recorded, as watch does for files.
func RunInput(ctx context.Context, opt RunOptions, open func(pos json.RawMessage) (live.Input, func(), error)) error {
	st, err := Open(opt.StateDir)
	if err != nil {
		return err
	}
	defer st.Close()
	loop, err := live.NewLoop(ctx, Checkpoints{S: st}, opt.Loop)
	if err != nil {
		return err
	}
	pos, err := LoopPosition(loop)
	if err != nil {
		return fmt.Errorf("%s: %w", st.Path(), err)
	}
	in, closeIn, err := open(pos.Files)
	if err != nil {
		return fmt.Errorf("%s: %w", st.Path(), err)
	}
	defer closeIn()
	stopTimeout := opt.StopTimeout
	if stopTimeout <= 0 {
		stopTimeout = 5 * time.Second
	}
	drainCtx, cancel := live.DrainContext(ctx, stopTimeout)
	defer cancel()
	return loop.Run(ctx, drainCtx, filesPosition{in})
}

// filesPosition writes an input's position as Position.Files.
type filesPosition struct{ live.Input }

func (p filesPosition) Position() (json.RawMessage, error) {
	raw, err := p.Input.Position()
	if err != nil {
		return nil, err
	}
	return json.Marshal(Position{Files: raw})
}

// Stream is what the Run of each streaming input (SQS, Kafka and Event
// Hubs, Pub/Sub, Blob Storage) shares: where its state lives, the
// detection, the sinks, the idle flush and the stop.
type Stream struct {
	StateDir  string
	Processor live.Options
	Sinks     *sink.Fanout
	// IdleFlush releases buffered events after this long without new
	// input (0: never).
	IdleFlush time.Duration
	Logger    *slog.Logger // nil: discard
	// Findings, when set, counts the findings delivered.
	Findings *atomic.Int64
	// StopTimeout is as in RunOptions.
	StopTimeout time.Duration
}

// Closer is a live.Input that holds a connection or a client until closed.
type Closer interface {
	live.Input
	Close()
}

// RunStream runs the input open makes (from the position the last
// checkpoint covers) with RunInput, with the detection's state, the
// input's position and the undelivered findings checkpointed together in
// StateDir; onStart, when not nil, gets the input once it is made (for
// its stats), and the input is closed when the run ends.
func RunStream[I Closer](ctx context.Context, s Stream, open func(pos json.RawMessage) (I, error), onStart func(I)) error {
	logger := s.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return RunInput(ctx, RunOptions{
		StateDir: s.StateDir, StopTimeout: s.StopTimeout,
		Loop: live.LoopOptions{
			Processor: s.Processor, Sinks: s.Sinks, IdleFlush: s.IdleFlush, Logger: logger,
			OnDeliver: func(n int) {
				if s.Findings != nil {
					s.Findings.Add(int64(n))
				}
			},
		},
	}, Opener(open, onStart))
}

// Opener adapts newInput, which makes an input from the position the
// last checkpoint covers, to the opener RunInput and serve take: the
// input and how to close it; made, when not nil, gets the input once it
// is made (for its stats).
func Opener[I Closer](newInput func(pos json.RawMessage) (I, error), made func(I)) func(pos json.RawMessage) (live.Input, func(), error) {
	return func(pos json.RawMessage) (live.Input, func(), error) {
		in, err := newInput(pos)
		if err != nil {
			return nil, nil, err
		}
		if made != nil {
			made(in)
		}
		return in, in.Close, nil
	}
}
