package detect

import (
	"bufio"
	"cmp"
	"encoding/json"
	"io"
	"runtime"

	"github.com/valyala/fastjson"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/finding"
	"github.com/revertwatch/revertwatch/sigma"
	"github.com/revertwatch/revertwatch/tune"
)

// fireJob is one event and the single-event rules it fires.
type fireJob struct {
	ev    *event.Event
	rules []*sigma.Rule
}

// fireBatch is how many jobs go to a worker at once.
const fireBatch = 128

// fire reports the single-event Sigma rules ev matches, at rest, as it
// is read: the finding is what releasing ev in event-time order would
// have made, kept in the spool until the findings are asked for. The
// rules are tested here (the runner is not safe for concurrent use);
// the findings are made, tuned and encoded by workers, in any order:
// the spool orders them.
func (d *Detector) fire(ev *event.Event) {
	rules := d.sig.Fire(ev)
	if len(rules) == 0 {
		return
	}
	if d.fireq == nil {
		n := max(1, runtime.GOMAXPROCS(0))
		d.fireq = make(chan []fireJob, n)
		for range n {
			d.fireWG.Add(1)
			go d.fireWorker()
		}
	}
	d.firing = append(d.firing, fireJob{ev: ev, rules: rules})
	if len(d.firing) == fireBatch {
		d.fireq <- d.firing
		d.firing = make([]fireJob, 0, fireBatch)
	}
}

// fireWorker makes the findings of the jobs it is sent.
func (d *Detector) fireWorker() {
	defer d.fireWG.Done()
	enc, memo := d.spool.newEncoder(), d.opt.Config.NewMemo()
	var hits []foldHit
	for batch := range d.fireq {
		for _, j := range batch {
			for _, rule := range j.rules {
				hits = d.hit(enc, memo, hits, rule, j.ev)
			}
		}
		if len(hits) > 0 {
			d.folds.add(hits)
			hits = hits[:0]
		}
	}
}

// hit takes one hit of a single-record rule: with folds, prepared and
// appended to hits for folds.add; else made a finding in the spool. enc
// and memo are the calling goroutine's.
func (d *Detector) hit(enc *spoolEncoder, memo *tune.Memo, hits []foldHit, rule *sigma.Rule, ev *event.Event) []foldHit {
	if d.folds != nil {
		return append(hits, d.folds.prepare(memo, rule, ev))
	}
	d.spoolHit(enc, rule, ev)
	return hits
}

// drainFire waits for the workers to make every finding fire sent
// them. Nothing fires after it.
func (d *Detector) drainFire() {
	for _, w := range d.firers {
		if len(w.batch) > 0 {
			d.folds.add(w.batch)
			w.batch = nil
		}
	}
	d.firers = nil
	if d.fireq == nil {
		d.foldsDone()
		return
	}
	if len(d.firing) > 0 {
		d.fireq <- d.firing
	}
	close(d.fireq)
	d.fireWG.Wait()
	d.fireq, d.firing = nil, nil
	d.foldsDone()
}

// foldsDone puts the folds' findings in the spool, once every hit is
// folded.
func (d *Detector) foldsDone() {
	if d.folds == nil {
		return
	}
	enc := d.spool.newEncoder()
	err := d.folds.each(d.opt.Config, func(f *finding.Finding, dec tune.Decision, ev *event.Event) {
		d.spool.add(enc, f, dec, ev)
	})
	if err != nil && d.spool.err == nil {
		// The findings would come out short: the output and Close
		// say why.
		d.spool.err = err
	}
	d.folds = nil
}

// Spooled is how many findings of single-record Sigma rules wait in the
// spool, copies of a record counted apart: what Findings would hold in
// memory besides the others.
func (d *Detector) Spooled() int {
	if d.spool == nil {
		return 0
	}
	d.drainFire()
	return d.spool.added
}

// EachFinding calls fn with every emitted finding in output order, as
// Findings orders them (a built-in finding before a Sigma one of the
// same rule id, time and id: an exported rule beside its original): a
// finding held in memory as f (line nil), or one
// of the spool as its NDJSON line (f nil), valid only during the call.
// At rest with Sigma rules it walks the spool without holding it; the
// first walk counts the spool's findings into Summary.
func (d *Detector) EachFinding(fn func(f *finding.Finding, line []byte) error) error {
	d.drainFire()
	if d.spool != nil && d.spool.err != nil {
		return d.spool.err
	}
	held := append([]finding.Finding(nil), d.findings...)
	finding.Sort(held)
	if d.spool == nil || d.spool.empty() {
		for i := range held {
			if err := fn(&held[i], nil); err != nil {
				return err
			}
		}
		return nil
	}
	m, err := d.spool.merge()
	if err != nil {
		return err
	}
	counting := !d.spool.counted
	for {
		e, err := m.peek()
		if err != nil {
			return err
		}
		if e == nil && len(held) == 0 {
			break
		}
		if e == nil || len(held) > 0 && compareHeld(&held[0], e) <= 0 {
			if err := fn(&held[0], nil); err != nil {
				return err
			}
			held = held[1:]
			continue
		}
		if counting {
			d.count(e.rule, e.line != nil, e.suppressed)
			d.opt.Config.Count(e.dec)
		}
		if e.line != nil {
			if err := fn(nil, e.line); err != nil {
				return err
			}
		}
		if err := m.take(); err != nil {
			return err
		}
	}
	d.spool.counted = true
	return nil
}

// compareHeld orders a held finding against a spooled one as
// finding.Sort would.
func compareHeld(f *finding.Finding, e *spoolEntry) int {
	if c := cmp.Compare(f.FirstSeen.UnixNano(), e.first); c != 0 {
		return c
	}
	if c := cmp.Compare(f.RuleID, e.rule); c != 0 {
		return c
	}
	return cmp.Compare(f.ID, e.id)
}

// WriteNDJSON writes every emitted finding as finding.WriteNDJSON would
// write Findings, without holding the spool in memory.
func (d *Detector) WriteNDJSON(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	err := d.EachFinding(func(f *finding.Finding, line []byte) error {
		if f != nil {
			return enc.Encode(f)
		}
		_, err := bw.Write(line)
		return err
	})
	if err != nil {
		return err
	}
	return bw.Flush()
}

// decoderFirer fires the single-record Sigma rules in one decoding
// goroutine (DecoderFilter).
type decoderFirer struct {
	d     *Detector
	t     *sigma.Tester
	enc   *spoolEncoder
	memo  *tune.Memo
	batch []foldHit
}

// DecoderFilter returns, at rest with single-record Sigma rules, a maker
// of ingest.Options.NewFilter's filters: each fires those rules on the
// events its decoding goroutine decodes, on every core at once, and
// keeps only the events Process still needs (the built-in content's
// operations and the records of the correlations), so that the rest
// never reach the one goroutine that orders events. Once it is called,
// Process fires nothing: every event must reach Process through one of
// these filters. Nil when the rules fire on release instead.
func (d *Detector) DecoderFilter() func() func(*event.Event, *fastjson.Value) bool {
	if !d.direct {
		return nil
	}
	d.inDecoders = true
	return func() func(*event.Event, *fastjson.Value) bool {
		w := &decoderFirer{d: d, t: d.sig.NewTester(), enc: d.spool.newEncoder(), memo: d.opt.Config.NewMemo()}
		d.firersMu.Lock()
		d.firers = append(d.firers, w)
		d.firersMu.Unlock()
		return w.filter
	}
}

// filter fires ev's rules and reports whether Process needs ev; parsed
// is ev.Raw parsed, when the decoder has it.
func (w *decoderFirer) filter(ev *event.Event, parsed *fastjson.Value) bool {
	rules, wanted := w.t.Fire(ev, parsed)
	for _, rule := range rules {
		w.batch = w.d.hit(w.enc, w.memo, w.batch, rule, ev)
	}
	if len(w.batch) >= fireBatch {
		w.d.folds.add(w.batch)
		w.batch = w.batch[:0]
	}
	return wanted || w.d.eng.Uses(ev.Provider, ev.Operation)
}

// spoolHit makes the finding of one hit and keeps it in the spool.
func (d *Detector) spoolHit(enc *spoolEncoder, rule *sigma.Rule, ev *event.Event) {
	f := FromHit(&sigma.Hit{Rule: rule, Events: []sigma.HitEvent{{Rule: rule.Ref(), Event: ev}}, First: ev.Time, Last: ev.Time})
	// Counted when the spool keeps this copy of the record.
	dec := d.opt.Config.ApplyUncounted(&f, []*event.Event{ev})
	fixConfidence(&f)
	d.spool.add(enc, &f, dec, ev)
}
