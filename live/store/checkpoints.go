package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/revertwatch/revertwatch/finding"
	"github.com/revertwatch/revertwatch/live"
)

// Position is where a live.Loop on a Store stands in its input: the last
// journal entry applied (serve), or the follower's file positions
// (watch). It is kept in the fields of State, as before there was a Loop,
// so that a state directory written then is read the same now.
type Position struct {
	Applied uint64          `json:"applied,omitempty"`
	Files   json.RawMessage `json:"files,omitempty"`
}

// LoopPosition is the Position the checkpoint a Loop on a Store restored
// covers: where its input starts (zero on a first start).
func LoopPosition(l *live.Loop) (Position, error) {
	var pos Position
	if p := l.Position(); len(p) > 0 {
		if err := json.Unmarshal(p, &pos); err != nil {
			return Position{}, fmt.Errorf("checkpoint position: %w", err)
		}
	}
	return pos, nil
}

// Checkpoints is the live.Store of a Store: the checkpoint, the outbox and
// the position in one bbolt transaction, and the outbox alone again once
// it has left.
type Checkpoints struct{ S *Store }

// Load implements live.Store.
func (c Checkpoints) Load(context.Context) (*live.Checkpoint, error) {
	s, err := c.S.Load()
	if err != nil {
		return nil, err
	}
	if s.Checkpoint == nil {
		return nil, nil
	}
	cp, err := live.DecodeCheckpoint(s.Checkpoint)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.S.Path(), err)
	}
	if len(s.Outbox) > 0 {
		if err := json.Unmarshal(s.Outbox, &cp.Outbox); err != nil {
			return nil, fmt.Errorf("%s: outbox: %w", c.S.Path(), err)
		}
	}
	if cp.Position, err = json.Marshal(Position{Applied: s.Applied, Files: s.Files}); err != nil {
		return nil, fmt.Errorf("%s: position: %w", c.S.Path(), err)
	}
	return cp, nil
}

// Commit implements live.Store.
func (c Checkpoints) Commit(_ context.Context, cp *live.Checkpoint) error {
	var pos Position
	if len(cp.Position) > 0 {
		if err := json.Unmarshal(cp.Position, &pos); err != nil {
			return fmt.Errorf("checkpoint position: %w", err)
		}
	}
	// The outbox and the position have keys of their own: the outbox is
	// written again alone once it has left, without the engine state.
	state := *cp
	state.Outbox, state.Position = nil, nil
	enc, err := state.Encode()
	if err != nil {
		return err
	}
	ob, err := encodeOutbox(cp.Outbox)
	if err != nil {
		return err
	}
	return c.S.Commit(State{Checkpoint: enc, Applied: pos.Applied, Outbox: ob, Files: pos.Files})
}

// Delivered implements live.Store: the outbox is written at once.
func (c Checkpoints) Delivered(_ context.Context, outbox []finding.Finding) (bool, error) {
	ob, err := encodeOutbox(outbox)
	if err != nil {
		return false, err
	}
	return true, c.S.Commit(State{Outbox: ob})
}

func encodeOutbox(fs []finding.Finding) ([]byte, error) {
	if fs == nil {
		fs = []finding.Finding{}
	}
	b, err := json.Marshal(fs)
	if err != nil {
		return nil, fmt.Errorf("encoding the outbox: %w", err)
	}
	return b, nil
}
