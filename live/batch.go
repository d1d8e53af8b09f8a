package live

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/revertwatch/revertwatch/event"
)

// Batch is one unit of accepted input — the events of an HTTP request or
// of a JetStream message — with when and where it was received.
type Batch struct {
	Received time.Time      `json:"received"`
	Source   string         `json:"source,omitempty"` // the intake: http, watch, nats
	Events   []*event.Event `json:"events"`
}

// Encode writes the batch as JSON.
func (b *Batch) Encode() ([]byte, error) {
	out, err := json.Marshal(b)
	if err != nil {
		return nil, fmt.Errorf("encoding batch: %w", err)
	}
	return out, nil
}

// DecodeBatch reads a batch written by Encode.
func DecodeBatch(data []byte) (*Batch, error) {
	var b Batch
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("decoding batch: %w", err)
	}
	for i, ev := range b.Events {
		if ev == nil {
			return nil, fmt.Errorf("decoding batch: event %d is null", i)
		}
	}
	return &b, nil
}
