package live

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/revertwatch/revertwatch/finding"
	"github.com/revertwatch/revertwatch/live/sink"
)

// Debt is what the sinks still owe, kept in every checkpoint: the
// findings some sink has not taken yet, oldest first, numbered from Seq,
// and for each sink (by name) the number of the first finding it has not
// taken. A finding leaves the outbox when every sink has taken it (or
// dead-lettered it, which its Deliver counts as taken).
type Debt struct {
	Outbox []finding.Finding `json:"outbox"`
	// Seq numbers Outbox[0]; the numbers go on across restarts.
	Seq uint64 `json:"outbox_seq,omitempty"`
	// Owed is, per sink, the number of the first finding it owes. A
	// checkpoint written before sinks had their own debt has none: every
	// sink owes the whole outbox.
	Owed map[string]uint64 `json:"owed,omitempty"`
}

// SinkBacklog is what one sink owes now.
type SinkBacklog struct {
	Sink     string
	Findings int
	// Oldest is how long the oldest finding it owes has waited for it
	// (since it entered the outbox, or since the start for a finding of
	// an earlier run).
	Oldest time.Duration
	// Err is its last delivery error, nil once a delivery succeeded.
	Err error
}

// Default sink backoff.
const (
	DefaultSinkBackoff    = 500 * time.Millisecond
	DefaultSinkMaxBackoff = 30 * time.Second
	// sinkBatch caps the findings handed to a sink at once.
	sinkBatch = 256
)

// item is one finding of the outbox.
type item struct {
	f finding.Finding
	// recv is when the input that completed it was received (zero:
	// unknown); added when it entered the outbox; fresh that it was made
	// in this run.
	recv, added time.Time
	fresh       bool
}

// outbox holds the findings made and checkpointed, until every sink has
// them, and runs one courier per sink, each on its own goroutine: a sink
// that fails or hangs holds back nothing but its own backlog.
type outbox struct {
	opt *LoopOptions
	log *slog.Logger

	mu       sync.Mutex
	seq      uint64 // of items[0]
	items    []item
	couriers []*courier
	// moves counts the couriers' steps forward, so that the Loop knows
	// whether the debt it last recorded is still the debt.
	moves uint64
	// changed is signalled after each delivery, done or failed.
	changed chan struct{}

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// courier delivers one sink's share of the outbox.
type courier struct {
	s    sink.Sink
	name string
	next uint64 // the first finding it owes
	// recover: findings numbered below were in the outbox at the start; a
	// Holder is asked which it already holds.
	recover uint64
	// held is what a Holder said it holds of them, asked once.
	held map[string]bool
	wake chan struct{}
	// failed counts the deliveries that failed since the last that did
	// not; err is the last error.
	failed int
	err    error
}

// newOutbox restores the debt of a checkpoint for sinks.
func newOutbox(opt *LoopOptions, sinks []sink.Sink, d Debt) *outbox {
	o := &outbox{opt: opt, log: opt.Logger, seq: d.Seq, changed: make(chan struct{}, 1)}
	now := time.Now()
	for _, f := range d.Outbox {
		o.items = append(o.items, item{f: f, added: now})
	}
	end := o.end()
	names := map[string]int{}
	for _, s := range sinks {
		name := s.Name()
		if names[name]++; names[name] > 1 {
			name = fmt.Sprintf("%s#%d", name, names[name])
		}
		c := &courier{s: s, name: name, next: d.Seq, recover: end, wake: make(chan struct{}, 1)}
		if n, ok := d.Owed[name]; ok {
			c.next = min(max(n, d.Seq), end)
		}
		o.couriers = append(o.couriers, c)
	}
	for name := range d.Owed {
		if names[name] == 0 && !o.has(name) {
			o.log.Warn("a sink of the last run is not configured now; what it still owed is forgotten", "sink", name)
		}
	}
	o.trim()
	return o
}

func (o *outbox) has(name string) bool {
	for _, c := range o.couriers {
		if c.name == name {
			return true
		}
	}
	return false
}

// end is the number the next finding gets.
func (o *outbox) end() uint64 { return o.seq + uint64(len(o.items)) }

// debt returns the debt now, for a checkpoint, and the count of moves it
// includes.
func (o *outbox) debt() (Debt, uint64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	d := Debt{Seq: o.seq, Owed: make(map[string]uint64, len(o.couriers))}
	d.Outbox = make([]finding.Finding, len(o.items))
	for i := range o.items {
		d.Outbox[i] = o.items[i].f
	}
	for _, c := range o.couriers {
		d.Owed[c.name] = c.next
	}
	return d, o.moves
}

// movedSince reports whether a courier moved since the debt with moves
// was taken.
func (o *outbox) movedSince(moves uint64) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.moves > moves
}

// add appends findings that a written checkpoint holds and wakes the
// couriers.
func (o *outbox) add(fs []finding.Finding, recv []time.Time) {
	if len(fs) == 0 {
		return
	}
	now := time.Now()
	o.mu.Lock()
	for i, f := range fs {
		o.items = append(o.items, item{f: f, recv: recv[i], added: now, fresh: true})
	}
	o.trim()
	cs := o.couriers
	o.mu.Unlock()
	for _, c := range cs {
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
}

// trim drops the findings every sink has, reporting them. o.mu is held.
func (o *outbox) trim() {
	low := o.end()
	for _, c := range o.couriers {
		low = min(low, c.next)
	}
	n := int(low - o.seq)
	if n <= 0 {
		return
	}
	gone := o.items[:n]
	now := time.Now()
	fresh := 0
	for i := range gone {
		if !gone[i].fresh {
			continue
		}
		fresh++
		if o.opt.Latency != nil && !gone[i].recv.IsZero() {
			o.opt.Latency(now.Sub(gone[i].recv))
		}
	}
	if fresh > 0 && o.opt.OnDeliver != nil {
		o.opt.OnDeliver(fresh)
	}
	o.items = append([]item(nil), o.items[n:]...)
	o.seq = low
}

// start runs the couriers until stop.
func (o *outbox) start() {
	ctx, cancel := context.WithCancel(context.Background())
	o.cancel = cancel
	for _, c := range o.couriers {
		o.wg.Add(1)
		go func() {
			defer o.wg.Done()
			o.run(ctx, c)
		}()
	}
}

// stop ends the couriers, waiting for the deliveries in flight (their
// context is cancelled).
func (o *outbox) stop() {
	if o.cancel != nil {
		o.cancel()
		o.wg.Wait()
		o.cancel = nil
	}
}

// take returns the next findings c owes.
func (o *outbox) take(c *courier) (from uint64, fs []finding.Finding) {
	o.mu.Lock()
	defer o.mu.Unlock()
	i := int(c.next - o.seq)
	j := min(len(o.items), i+sinkBatch)
	for _, it := range o.items[i:j] {
		fs = append(fs, it.f)
	}
	return c.next, fs
}

// run is one courier: deliver what the sink owes, oldest first; on an
// error wait (doubling, up to the maximum) and try the same again.
func (o *outbox) run(ctx context.Context, c *courier) {
	wait := o.opt.SinkBackoff
	for ctx.Err() == nil {
		from, fs := o.take(c)
		if len(fs) == 0 {
			select {
			case <-ctx.Done():
			case <-c.wake:
			}
			continue
		}
		err := o.deliver(ctx, c, from, fs)
		if ctx.Err() != nil {
			return
		}
		o.mu.Lock()
		if err != nil {
			c.failed++
			c.err = err
		} else {
			c.failed, c.err = 0, nil
			c.next = from + uint64(len(fs))
			if c.next >= c.recover {
				c.held = nil // past the findings of the last run
			}
			o.moves++
			o.trim()
		}
		o.mu.Unlock()
		select {
		case o.changed <- struct{}{}:
		default:
		}
		if err == nil {
			wait = o.opt.SinkBackoff
			continue
		}
		o.log.Error("delivering findings", "sink", c.name, "findings", len(fs), "retry_in", wait, "err", err)
		if o.opt.OnSinkError != nil {
			o.opt.OnSinkError(c.name, err)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
		wait = min(2*wait, o.opt.SinkMaxBackoff)
	}
}

// deliver hands fs to the sink; findings of the last run go to a Holder
// only when it does not hold them yet.
func (o *outbox) deliver(ctx context.Context, c *courier, from uint64, fs []finding.Finding) error {
	if h, ok := c.s.(sink.Holder); ok && from < c.recover {
		if c.held == nil {
			// Once for all the findings of the last run it owes: a file
			// is read whole to answer.
			held, err := h.Holds(o.ids(from, c.recover))
			if err != nil {
				return err
			}
			c.held = held
		}
		var todo []finding.Finding
		for i := range fs {
			if !c.held[fs[i].ID] {
				todo = append(todo, fs[i])
			}
		}
		fs = todo
	}
	return c.s.Deliver(ctx, fs)
}

// ids returns the ids of the findings numbered from..to.
func (o *outbox) ids(from, to uint64) []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []string
	for i := max(from, o.seq); i < min(to, o.end()); i++ {
		out = append(out, o.items[i-o.seq].f.ID)
	}
	return out
}

// settled reports whether every courier has taken all there is or failed
// at least once since (a mark from failures).
func (o *outbox) settled(since []int) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	end := o.end()
	for i, c := range o.couriers {
		if c.next < end && c.failed <= since[i] {
			return false
		}
	}
	return true
}

// failures are the couriers' failure counts now, for settled.
func (o *outbox) failures() []int {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]int, len(o.couriers))
	for i, c := range o.couriers {
		out[i] = c.failed
	}
	return out
}

// backlog reports what each sink owes.
func (o *outbox) backlog() []SinkBacklog {
	o.mu.Lock()
	defer o.mu.Unlock()
	now := time.Now()
	out := make([]SinkBacklog, len(o.couriers))
	for i, c := range o.couriers {
		b := SinkBacklog{Sink: c.name, Findings: int(o.end() - c.next), Err: c.err}
		if b.Findings > 0 {
			b.Oldest = now.Sub(o.items[c.next-o.seq].added)
		}
		out[i] = b
	}
	return out
}

// SumBacklogs adds up the backlogs of several Loops sharing sinks (the
// partitions of a replica): per sink, in the order first seen, the
// findings summed, the oldest wait and the first error.
func SumBacklogs(all ...[]SinkBacklog) []SinkBacklog {
	var out []SinkBacklog
	at := map[string]int{}
	for _, bs := range all {
		for _, b := range bs {
			i, ok := at[b.Sink]
			if !ok {
				at[b.Sink] = len(out)
				out = append(out, b)
				continue
			}
			out[i].Findings += b.Findings
			out[i].Oldest = max(out[i].Oldest, b.Oldest)
			if out[i].Err == nil {
				out[i].Err = b.Err
			}
		}
	}
	return out
}

// ErrOwed is what OwedError wraps.
var ErrOwed = errors.New("findings not delivered")

// OwedError says what the sinks of bs still owe, nil when nothing: the
// error of a run meant to deliver everything (watch --once). It wraps
// ErrOwed.
func OwedError(bs []SinkBacklog) error {
	var msgs []string
	for _, b := range bs {
		if b.Findings > 0 {
			msgs = append(msgs, fmt.Sprintf("%s still owes %d findings (kept in the state for the next run): %v", b.Sink, b.Findings, b.Err))
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrOwed, strings.Join(msgs, "; "))
}
