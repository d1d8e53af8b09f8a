package serve

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/live"
	"github.com/revertwatch/revertwatch/live/cluster"
	"github.com/revertwatch/revertwatch/sequence"
)

// Cluster makes a Server one replica of a JetStream group (package
// live/cluster): opt names the connection and the group's settings; the
// Server supplies the detection settings, its sinks and its metrics.
func Cluster(opt cluster.Options) ClusterBackend {
	return func(h Hooks) (Backend, error) {
		m := h.Metrics
		opt.Processor, opt.Sinks, opt.Logger = h.Processor, h.Sinks, h.Logger
		opt.CheckpointInterval, opt.IdleFlush = h.CheckpointInterval, h.IdleFlush
		opt.Hooks = cluster.Hooks{
			Event: func(ev *event.Event) {
				m.EventsProcessed.WithLabelValues(ev.Provider).Inc()
				m.EventTimeLag.Set(time.Since(ev.Time).Seconds())
			},
			Checkpoint: func(d time.Duration, size int) {
				m.Checkpoints.Observe(d.Seconds())
				m.StateBytes.Set(float64(size))
			},
			Owned:       func(n int) { m.Partitions.Set(float64(n)) },
			Redelivered: m.Redelivered.Inc,
			Latency:     func(d time.Duration) { m.Latency.Observe(d.Seconds()) },
			SinkError:   func(name string, _ error) { m.SinkErrors.WithLabelValues(name).Inc() },
			Engine:      func(p int, s sequence.Stats) { m.ObserveEngine(fmt.Sprint("partition-", p), s) },
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		r, err := cluster.New(ctx, opt)
		if err != nil {
			return nil, err
		}
		m.SetBacklog(r.Backlog)
		return &replica{r: r, m: m}, nil
	}
}

// replica adapts a cluster.Replica to Backend.
type replica struct {
	r *cluster.Replica
	m *Metrics
}

// publishBudget is how many bytes of decoded events one publication
// holds: a request's events when they fit, else each slice of them.
const publishBudget = 8 << 20

// Accept implements Backend: nil once JetStream acknowledged every event.
// A large body is published in slices of publishBudget, decoded again
// slice by slice, so that it is never held whole as events; the slices
// fall the same way when the body is posted again, and so keep their
// message ids.
func (b *replica) Accept(ctx context.Context, in *Intake) error {
	if in.Decoded != nil {
		return b.publish(ctx, &live.Batch{Received: in.Received, Source: "http", Events: in.Decoded})
	}
	var slice []*event.Event
	var cost int64
	flush := func() error {
		err := b.publish(ctx, &live.Batch{Received: in.Received, Source: "http", Events: slice})
		slice, cost = nil, 0
		return err
	}
	err := in.Decode(ctx, func(ev *event.Event) error {
		slice = append(slice, ev)
		if cost += eventCost(ev); cost >= publishBudget {
			return flush()
		}
		return nil
	})
	if err == nil && len(slice) > 0 {
		err = flush()
	}
	return err
}

func (b *replica) publish(ctx context.Context, batch *live.Batch) error {
	err := b.r.Publish(ctx, batch)
	var apiErr *jetstream.APIError
	if err != nil && (errors.As(err, &apiErr) && apiErr.Code == 503 || strings.Contains(err.Error(), "maximum") || errors.Is(err, jetstream.ErrNoStreamResponse)) {
		return ErrOverloaded
	}
	return err
}

// JournalHead implements Backend: JetStream gets the events, not the body.
func (b *replica) JournalHead(time.Time, Body) ([]byte, error) { return nil, nil }

// KeepEvents implements Backend.
func (b *replica) KeepEvents() int64 { return publishBudget }

// Run implements Backend.
func (b *replica) Run(ctx, drainCtx context.Context) error { return b.r.Run(ctx, drainCtx) }

// Ready implements Backend.
func (b *replica) Ready() error { return b.r.Ready() }

// Close implements Backend; the connection belongs to the caller.
func (b *replica) Close() error { return nil }
