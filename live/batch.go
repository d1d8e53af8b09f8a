package live

import (
	"time"

	"github.com/revertwatch/revertwatch/event"
)

// Batch is one unit of accepted input — the events of an HTTP request —
// with when and through which intake it was received.
type Batch struct {
	Received time.Time      `json:"received"`
	Source   string         `json:"source,omitempty"` // the intake: http, watch, nats
	Events   []*event.Event `json:"events"`
}
