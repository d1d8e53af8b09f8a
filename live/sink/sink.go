// Package sink delivers findings out of a live revertwatch: to a writer
// (standard output), a rotating file, a webhook with a dead-letter file,
// or a NATS subject. Findings carry stable ids; every sink is
// at-least-once, and those that can tell what they already hold (the
// file, JetStream with Nats-Msg-Id) make redelivery after a crash
// idempotent. Retries, backoff and what each sink still owes belong to
// the caller (live.Loop): a Deliver is one attempt.
package sink

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/revertwatch/revertwatch/finding"
)

// Sink receives findings. Deliver returns once the findings are handed
// over (written and synced, acknowledged by the receiver) or have been
// given up on in a way the sink records (a dead-letter file); an error
// means they must be delivered again. Deliver may be called from several
// goroutines at once (the partitions of a cluster replica).
type Sink interface {
	Name() string
	Deliver(ctx context.Context, fs []finding.Finding) error
	Close() error
}

// Holder is a sink that can tell which findings it already holds, so that
// the outbox of a crashed run is not delivered to it twice.
type Holder interface {
	Holds(ids []string) (map[string]bool, error)
}

// Render holds what renderers need besides the findings.
type Render struct {
	Format  string // table, ndjson, ocsf or sarif
	Rules   []finding.RuleInfo
	Version string
}

// Bytes renders findings in the format. Table and SARIF are written per
// delivery: a table with its header, a SARIF log document.
func (r Render) Bytes(fs []finding.Finding) ([]byte, error) {
	var buf bytes.Buffer
	if err := finding.Write(&buf, r.Format, fs, r.Rules, r.Version); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// JSON renders one finding as a JSON object: OCSF when the format is ocsf,
// else revertwatch's own finding JSON (for webhooks and NATS, where one
// message carries one finding).
func (r Render) JSON(f *finding.Finding) ([]byte, error) {
	var v any = f
	if r.Format == finding.FormatOCSF {
		v = finding.OCSF(f, r.Version)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// Writer writes findings to an io.Writer, standard output for instance.
type Writer struct {
	name string
	r    Render
	mu   sync.Mutex
	w    io.Writer
}

// NewWriter returns a sink writing to w.
func NewWriter(name string, w io.Writer, r Render) *Writer { return &Writer{name: name, w: w, r: r} }

// Name implements Sink.
func (w *Writer) Name() string { return w.name }

// Deliver implements Sink.
func (w *Writer) Deliver(_ context.Context, fs []finding.Finding) error {
	if len(fs) == 0 {
		return nil
	}
	b, err := w.r.Bytes(fs)
	if err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, err := w.w.Write(b); err != nil {
		return fmt.Errorf("%s: %w", w.name, err)
	}
	if s, ok := w.w.(interface{ Sync() error }); ok {
		// Standard output to a terminal or pipe cannot sync; that is fine.
		_ = s.Sync()
	}
	return nil
}

// Close implements Sink; it does not close the underlying writer.
func (w *Writer) Close() error { return nil }

// Fanout is the set of sinks of a live run. A live.Loop delivers to each
// on its own goroutine from its own durable backlog, so that a sink that
// fails or hangs holds back nothing but itself.
type Fanout struct {
	sinks []Sink
}

// NewFanout returns the set of sinks.
func NewFanout(sinks ...Sink) *Fanout { return &Fanout{sinks: sinks} }

// Sinks lists the sinks.
func (f *Fanout) Sinks() []Sink {
	if f == nil {
		return nil
	}
	return f.sinks
}

// Close closes every sink.
func (f *Fanout) Close() error {
	var errs []error
	for _, s := range f.sinks {
		errs = append(errs, s.Close())
	}
	return errors.Join(errs...)
}
