package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/revertwatch/revertwatch/live"
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
