package store

import (
	"bytes"
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

// Checkpoints is the live.Store of a Store: the checkpoint, the debt (the
// outbox and what each sink owes of it) and the position in one bbolt
// transaction, and the debt alone again as the sinks take their shares.
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
		if cp.Debt, err = decodeDebt(s.Outbox); err != nil {
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
	// The debt and the position have keys of their own: the debt is
	// written again alone as the sinks take their shares, without the
	// engine state.
	state := *cp
	state.Debt, state.Position = live.Debt{}, nil
	enc, err := state.Encode()
	if err != nil {
		return err
	}
	ob, err := encodeDebt(cp.Debt)
	if err != nil {
		return err
	}
	return c.S.Commit(State{Checkpoint: enc, Applied: pos.Applied, Outbox: ob, Files: pos.Files})
}

// Delivered implements live.Store: the debt is written at once.
func (c Checkpoints) Delivered(_ context.Context, d live.Debt) (bool, error) {
	ob, err := encodeDebt(d)
	if err != nil {
		return false, err
	}
	return true, c.S.Commit(State{Outbox: ob})
}

func encodeDebt(d live.Debt) ([]byte, error) {
	if d.Outbox == nil {
		d.Outbox = []finding.Finding{}
	}
	b, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("encoding the outbox: %w", err)
	}
	return b, nil
}

// decodeDebt reads the debt, or the bare outbox a state written before
// sinks had their own debt holds (every sink owes all of it).
func decodeDebt(b []byte) (live.Debt, error) {
	var d live.Debt
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '[' {
		err := json.Unmarshal(t, &d.Outbox)
		return d, err
	}
	err := json.Unmarshal(b, &d)
	return d, err
}
