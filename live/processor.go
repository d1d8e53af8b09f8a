package live

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/revertwatch/revertwatch/detect"
	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/finding"
	"github.com/revertwatch/revertwatch/sigma"
	"github.com/revertwatch/revertwatch/tune"
)

// checkpointVersion is the format of an encoded Checkpoint.
const checkpointVersion = 1

// Options configure a Processor.
type Options struct {
	// Config is the tuning: allow entries, lateness, repeat window. Nil
	// means tune.Default().
	Config *tune.Config
	// Lateness overrides the config's allowed lateness when non-zero.
	Lateness time.Duration
	// OnLate receives each relevant event that arrived beyond the allowed
	// lateness (for counting).
	OnLate func(*event.Event)
	// OnFinding receives every finding the rules make, with what became
	// of it: emitted (to the outbox), held back as a repeat, or dropped by
	// an allow entry (for counting).
	OnFinding func(finding.Finding, Fate)
	// Rules are Sigma rules run beside the built-in content, and
	// NoBuiltin runs them alone (detect.Options). Their state is
	// checkpointed with the engine's.
	Rules     *sigma.Ruleset
	NoBuiltin bool
}

// Fate is what became of a finding.
type Fate string

// The fates of a finding.
const (
	Emitted    Fate = "emitted"    // into the outbox
	Suppressed Fate = "suppressed" // emitted, downgraded by an allow entry
	Repeat     Fate = "repeat"     // held back: the same id inside its repeat window
	Dropped    Fate = "dropped"    // an allow entry with action drop
)

// Window is one open repeat window of a finding id, as the Suppressor
// holds it.
type Window struct {
	ID      string    `json:"id"`
	Start   time.Time `json:"start"`
	Last    time.Time `json:"last"`
	Repeats int       `json:"repeats,omitempty"`
}

// Checkpoint is a Processor's whole state: the detection state
// (detect.Detector.Snapshot: the engine's, and the Sigma rules' when they
// are loaded), the open repeat windows, the outbox with what each sink
// owes of it (Debt; a Loop fills it in), and an opaque position in the input that the caller stores with it.
type Checkpoint struct {
	Version  int             `json:"version"`
	Engine   json.RawMessage `json:"engine"`
	Windows  []Window        `json:"windows"`
	Debt                     // the outbox and what each sink owes of it
	MaxTime  time.Time       `json:"max_time"`
	Position json.RawMessage `json:"position,omitempty"`
}

// Encode writes the checkpoint as gzip-compressed JSON. The engine state,
// JSON already and most of the checkpoint, is written as it is: through
// encoding/json it would be scanned and copied again (compacted).
func (c *Checkpoint) Encode() ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if err != nil {
		return nil, err
	}
	rest := *c
	rest.Engine = nil
	var head bytes.Buffer
	enc := json.NewEncoder(&head)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&rest); err != nil {
		return nil, fmt.Errorf("encoding checkpoint: %w", err)
	}
	b := bytes.TrimSuffix(head.Bytes(), []byte{'\n'})
	// rest's JSON begins with the version, then "engine":null (the order
	// of the fields): the engine state goes in place of the null.
	const null = "null"
	i := bytes.Index(b, []byte(`"engine":null`))
	if i < 0 {
		return nil, fmt.Errorf("encoding checkpoint: no engine member in %.40q", b)
	}
	i += len(`"engine":`)
	engine := bytes.TrimSpace(c.Engine)
	if len(engine) == 0 {
		engine = []byte(null)
	}
	for _, p := range [][]byte{b[:i], engine, b[i+len(null):]} {
		if _, err := zw.Write(p); err != nil {
			return nil, err
		}
	}
	if _, err := zw.Write([]byte{'\n'}); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// DecodeCheckpoint reads a checkpoint written by Encode.
func DecodeCheckpoint(b []byte) (*Checkpoint, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("decoding checkpoint: %w", err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("decoding checkpoint: %w", err)
	}
	var c Checkpoint
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("decoding checkpoint: %w", err)
	}
	if c.Version != checkpointVersion {
		return nil, fmt.Errorf("checkpoint version %d, want %d", c.Version, checkpointVersion)
	}
	return &c, nil
}

// Processor is the live detection pipeline of one partition of the input
// (all of it for watch and a single serve). It is not safe for concurrent
// use.
type Processor struct {
	opt      Options
	conf     *tune.Config
	lateness time.Duration
	det      *detect.Detector
	sup      *tune.Suppressor
	windows  map[string]*Window
	outbox   []finding.Finding
	maxTime  time.Time
	events   uint64
	dirty    bool
}

// New builds a Processor with empty state.
func New(opt Options) (*Processor, error) {
	p := &Processor{opt: opt, conf: opt.Config, windows: map[string]*Window{}}
	if p.conf == nil {
		p.conf = tune.Default()
	}
	p.lateness = opt.Lateness
	if p.lateness == 0 {
		p.lateness = p.conf.Lateness
	}
	det, err := detect.New(detect.Options{Lateness: p.lateness, Config: p.conf, Stream: true,
		OnFinding: p.finding, OnLate: opt.OnLate, Rules: opt.Rules, NoBuiltin: opt.NoBuiltin})
	if err != nil {
		return nil, err
	}
	p.det = det
	p.sup = p.conf.NewSuppressor()
	return p, nil
}

// Rules describes the rules findings come from, for renderers.
func (p *Processor) Rules() []finding.RuleInfo { return p.det.Rules() }

// Summary returns the detector's counters since the Processor was made.
func (p *Processor) Summary() detect.Summary { return p.det.Summary() }

// Needs reports whether some rule needs ev: watch --once holds only those.
func (p *Processor) Needs(ev *event.Event) bool { return p.det.Needs(ev) }

// Wants reports whether some rule needs whole events of an operation
// (ingest.Options.Want): the others may be fed as the partial events Want
// makes, which carry all the Processor reads of them (provider, account,
// region, operation and time), and Process does not keep them, so that
// the caller may reuse one for the next. Unlike the other methods it is
// safe to call from several goroutines, while the Processor runs.
func (p *Processor) Wants(provider, op string) bool { return p.det.Wants(provider, op) }

// Process takes one event; findings it completes go to the outbox.
func (p *Processor) Process(ev *event.Event) {
	p.events++
	p.dirty = true
	if ev.Time.After(p.maxTime) {
		p.maxTime = ev.Time
	}
	p.det.Process(ev)
}

// Flush releases every buffered event, as at the end of an input: the
// sequences the data completes are reported now instead of when later
// events move the watermark. Used when the input has been quiet.
func (p *Processor) Flush() {
	p.dirty = true
	p.det.Idle()
}

// End ends the input (watch --once): Flush, and the Azure operations
// still waiting for their outcome record count as done.
func (p *Processor) End() {
	p.dirty = true
	p.det.Flush()
}

// Buffered is the number of events (and Sigma occurrences and count
// windows) waiting for the watermark or for the replay of late events:
// what Flush would release.
func (p *Processor) Buffered() int { return p.det.Buffered() }

// Dirty reports whether the state changed since the last Checkpoint.
func (p *Processor) Dirty() bool { return p.dirty }

// Outbox returns the findings made and not yet delivered, in the order
// they were made.
func (p *Processor) Outbox() []finding.Finding { return p.outbox }

// Delivered removes the first n findings from the outbox.
func (p *Processor) Delivered(n int) {
	if n >= len(p.outbox) {
		p.outbox = nil
		return
	}
	p.outbox = append([]finding.Finding(nil), p.outbox[n:]...)
}

func (p *Processor) finding(f finding.Finding, dec tune.Decision) {
	if !dec.Emit() {
		p.report(f, Dropped)
		return
	}
	v := p.sup.Check(&f)
	if !v.Emit {
		w := p.windows[f.ID]
		if w == nil {
			w = &Window{ID: f.ID}
			p.windows[f.ID] = w
		}
		w.Start, w.Last, w.Repeats = v.Since, v.Until, v.Repeats
		p.report(f, Repeat)
		return
	}
	t := f.FirstSeen
	if t.IsZero() {
		t = f.LastSeen
	}
	p.windows[f.ID] = &Window{ID: f.ID, Start: t, Last: t}
	p.outbox = append(p.outbox, f)
	if f.Suppressed {
		p.report(f, Suppressed)
	} else {
		p.report(f, Emitted)
	}
}

func (p *Processor) report(f finding.Finding, fate Fate) {
	if p.opt.OnFinding != nil {
		p.opt.OnFinding(f, fate)
	}
}

// expire forgets repeat windows that ended before the watermark of the
// latest event time, so that state stays bounded.
func (p *Processor) expire() {
	if p.maxTime.IsZero() {
		return
	}
	for _, h := range p.sup.Expire(p.maxTime.Add(-p.lateness)) {
		delete(p.windows, h.ID)
	}
	for id, w := range p.windows {
		if w.Repeats == 0 && !w.Start.Add(p.conf.RepeatWindow).After(p.maxTime.Add(-p.lateness)) {
			delete(p.windows, id)
		}
	}
}

// Checkpoint returns the whole state, deterministic for a given history
// of input, and marks the Processor clean.
func (p *Processor) Checkpoint() (*Checkpoint, error) {
	p.expire()
	snap, err := p.det.Snapshot()
	if err != nil {
		return nil, fmt.Errorf("snapshot of the detection state: %w", err)
	}
	c := &Checkpoint{Version: checkpointVersion, Engine: snap, MaxTime: p.maxTime,
		Debt: Debt{Outbox: append([]finding.Finding(nil), p.outbox...)}}
	for _, w := range p.windows {
		c.Windows = append(c.Windows, *w)
	}
	sort.Slice(c.Windows, func(i, j int) bool { return c.Windows[i].ID < c.Windows[j].ID })
	p.dirty = false
	return c, nil
}

// Restore replaces the state with a checkpoint's. The Processor must be
// fresh (made by New, nothing processed).
func (p *Processor) Restore(c *Checkpoint) error {
	if p.events > 0 {
		return fmt.Errorf("restore into a processor that has processed events")
	}
	if len(c.Engine) > 0 {
		if err := p.det.Restore(c.Engine); err != nil {
			return err
		}
	}
	p.maxTime = c.MaxTime
	p.outbox = append([]finding.Finding(nil), c.Outbox...)
	p.windows = map[string]*Window{}
	for _, w := range c.Windows {
		w := w
		p.windows[w.ID] = &w
		// Replaying the observations rebuilds the Suppressor's window
		// exactly: its start, its last repeat and the repeat count.
		p.sup.Observe(w.ID, w.Start)
		for i := 0; i < w.Repeats; i++ {
			p.sup.Observe(w.ID, w.Last)
		}
	}
	p.dirty = false
	return nil
}
