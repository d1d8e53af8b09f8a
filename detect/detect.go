// Package detect is the detection pipeline shared by hunt, watch and
// serve: events go through the sequence engine with the built-in revert
// content, each match becomes a finding, and tuning decides what is
// reported.
package detect

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/revertwatch/revertwatch/attack"
	"github.com/revertwatch/revertwatch/content"
	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/eventtime"
	"github.com/revertwatch/revertwatch/finding"
	"github.com/revertwatch/revertwatch/level"
	"github.com/revertwatch/revertwatch/sequence"
	"github.com/revertwatch/revertwatch/sigma"
	"github.com/revertwatch/revertwatch/tune"
)

// Options configure a Detector.
type Options struct {
	// Lateness overrides the configuration's allowed lateness when non-zero.
	Lateness time.Duration
	// Config is the tuning; nil applies the built-in benign actors only.
	Config *tune.Config
	// OnFinding, when set, receives each finding as its sequence closes,
	// with the tuning decision (dropped findings included, for counting).
	OnFinding func(finding.Finding, tune.Decision)
	// OnLate receives each relevant event that arrived beyond the allowed
	// lateness: it still feeds single-event rules, but no sequence.
	OnLate func(*event.Event)
	// Rules are Sigma rules run beside the built-in content; their
	// findings go through the same tuning. At rest, without OnFinding
	// or Stream, a rule of one record fires as Process is given the
	// record and its findings wait in a spool bounded by MemoryBudget
	// (Findings, EachFinding, WriteNDJSON read them back in order).
	Rules *sigma.Ruleset
	// NoBuiltin runs only Rules, not the built-in revert content.
	NoBuiltin bool
	// Stream keeps no findings in the Detector: they go to OnFinding
	// only, so that a long-running watch or serve does not grow without
	// bound. Findings then returns nothing.
	Stream bool
	// AtRest makes the Detector exact for logs at rest (hunt, watch
	// --once): events are held (spilling past MemoryBudget to SpillDir)
	// and run through the rules in one deterministic event-time order at
	// Flush, so that the findings do not depend on the order of records
	// or files. Nothing is late at rest; Lateness is ignored.
	AtRest bool
	// MemoryBudget bounds the bytes of events held at rest before they
	// spill to sorted runs on disk; zero means DefaultMemoryBudget.
	MemoryBudget int64
	// SpillDir is where sorted runs go ("" means os.TempDir()); they are
	// removed by Close.
	SpillDir string
	// EachHit reports, at rest, every record a single-record Sigma rule
	// matches as a finding of its own. Without it they fold into one
	// finding per rule, scope, caller and repeat window of the tuning
	// (see folds); a repeat window of 0 reports each as well.
	EachHit bool
	// noDirect holds the events of single-event Sigma rules at rest and
	// fires those rules on release, as a correlation's are: the
	// reference the direct firing is tested against.
	noDirect bool
}

// DefaultMemoryBudget is how many bytes of events hunt holds before it
// spills them to sorted runs on disk.
const DefaultMemoryBudget = 96 << 20

// Summary counts what a Detector did.
type Summary struct {
	Findings   int            `json:"findings"`   // emitted (suppressed ones included)
	ByRule     map[string]int `json:"by_rule"`    // emitted findings per rule
	Suppressed int            `json:"suppressed"` // emitted but downgraded by an allow entry
	Dropped    int            `json:"dropped"`    // not emitted: an allow entry said drop
	Engine     sequence.Stats `json:"engine"`
	// Sort says what was held and spilled at rest.
	Sort eventtime.SorterStats `json:"sort"`
}

// Detector runs the built-in revert detections over events. It is not
// safe for concurrent use.
type Detector struct {
	opt      Options
	eng      *sequence.Engine
	byID     map[string]content.Detection
	order    []content.Detection
	findings []finding.Finding
	sig      *sigma.Runner
	sum      Summary

	// At rest: the events the rules need, put in order at Flush, and what
	// the Azure operations among them logged.
	rest    *eventtime.Sorter
	raws    *rawStore
	ops     map[string]*azureOp
	restErr error
	// direct is set at rest when single-event Sigma rules fire as their
	// events are read (sigma.RunOptions.Direct), into spool.
	direct bool
	spool  *spool
	// folds gathers the direct hits unless Options.EachHit.
	folds *folds
	// The workers that make the direct findings (fire), and the batch
	// being filled for them.
	fireq  chan []fireJob
	firing []fireJob
	fireWG sync.WaitGroup
	// inDecoders is set when the rules fire in the decoding goroutines
	// (DecoderFilter), by firers.
	inDecoders bool
	firersMu   sync.Mutex
	firers     []*decoderFirer
}

// azureOp is what logs at rest hold of one Azure operation: whether an
// outcome record was logged, and its last Start/Accept record.
type azureOp struct {
	outcome bool
	last    time.Time
	lastUID string
}

// New builds a Detector over the built-in revert content.
func New(opt Options) (*Detector, error) {
	d := &Detector{opt: opt, byID: map[string]content.Detection{}, sum: Summary{ByRule: map[string]int{}}}
	if !opt.NoBuiltin {
		d.order = content.Reverts()
	}
	rules := make([]sequence.Rule, len(d.order))
	for i, det := range d.order {
		rules[i] = det.Rule
		d.byID[det.ID()] = det
	}
	lateness := opt.Lateness
	if lateness == 0 && opt.Config != nil {
		lateness = opt.Config.Lateness
	}
	var horizon time.Duration
	if opt.AtRest {
		// Events reach the rules in order: equal times wait for their
		// rank, nothing is ever late, no history is needed.
		lateness, horizon = time.Nanosecond, -1
		d.opt.Lateness = lateness
		d.rest = eventtime.NewSorter(eventtime.SorterOptions{Budget: cmpOr(opt.MemoryBudget, DefaultMemoryBudget), Dir: opt.SpillDir})
		d.ops = map[string]*azureOp{}
	}
	seqOpt := sequence.Options{Lateness: lateness, Horizon: horizon, OnMatch: d.match, OnLate: opt.OnLate}
	// At rest, with no one to hand findings to as they come, a Sigma
	// rule of one event fires as its event is read: it needs no order,
	// so the events only it matches are not held.
	d.direct = opt.AtRest && opt.Rules != nil && opt.OnFinding == nil && !opt.Stream && !opt.noDirect
	if d.direct {
		d.spool = newSpool(cmpOr(opt.MemoryBudget, DefaultMemoryBudget), opt.SpillDir)
		window := tune.DefaultRepeatWindow
		if opt.Config != nil {
			window = opt.Config.RepeatWindow
		}
		if !opt.EachHit && window > 0 {
			d.folds = newFolds(window, cmpOr(opt.MemoryBudget, DefaultMemoryBudget), opt.SpillDir)
		}
	}
	d.newSigma()
	if d.sig != nil {
		// The Sigma runner is a second handler of the engine's event-time
		// core: one de-duplication, one order, one replay of late events.
		seqOpt.Also, seqOpt.AlsoWants, seqOpt.AlsoWindow = sigmaHandler{d}, func(ev *event.Event) bool { return d.sig.Wants(ev) }, d.sig.Window()
	}
	if opt.AtRest {
		// At rest the held records' bytes wait on disk until a finding
		// names them.
		d.raws = &rawStore{dir: opt.SpillDir}
		seqOpt.Also = restHandler{d}
	}
	eng, err := sequence.New(rules, seqOpt)
	if err != nil {
		return nil, err
	}
	d.eng = eng
	return d, nil
}

func cmpOr(v, def int64) int64 {
	if v != 0 {
		return v
	}
	return def
}

// Process takes one event, in any order; the engine orders by event time.
// At rest, the events the rules need are held until Flush and the others
// dropped.
func (d *Detector) Process(ev *event.Event) {
	if d.rest != nil {
		if ev == nil {
			return
		}
		switch {
		case d.inDecoders:
			// The decoders' filter let through only what is needed.
		case d.direct:
			d.fire(ev)
			fallthrough
		default:
			if !d.Needs(ev) {
				return
			}
		}
		if event.Phased(ev.Provider) && ev.Phase != event.PhaseNone {
			d.observeOp(ev)
		}
		d.eng.NoteHeld(ev)
		if d.sig == nil && ev.Provider == event.AWS {
			// Nothing reads a CloudTrail record's bytes before a finding
			// names it: they wait on disk, and the Sorter holds the rest.
			d.raws.strip(ev)
		}
		if err := d.rest.Add(ev); err != nil && d.restErr == nil {
			d.restErr = err
		}
		return
	}
	d.eng.Process(ev)
}

// pruneLone turns the engine's at-rest pruning on (a switch for the test
// that holds the findings to those without it).
var pruneLone = true

// Needs reports whether some rule needs ev (a whole event): the
// engine's operations, and the records a loaded Sigma rule matches. What
// no rule needs is never held at rest.
func (d *Detector) Needs(ev *event.Event) bool {
	return d.eng.Uses(ev.Provider, ev.Operation) || d.sig != nil && d.sig.Wants(ev)
}

// observeOp notes an Azure phase record at rest: an operation that never
// logged its outcome counts as done at its last record.
func (d *Detector) observeOp(ev *event.Event) {
	key := sequence.PhaseKey(ev)
	op := d.ops[key]
	if op == nil {
		op = &azureOp{}
		d.ops[key] = op
	}
	if ev.Outcome != event.OutcomePending {
		op.outcome = true
		return
	}
	if op.lastUID == "" || ev.Time.After(op.last) || ev.Time.Equal(op.last) && ev.UID > op.lastUID {
		op.last, op.lastUID = ev.Time, ev.UID
	}
}

// Wants reports whether the Detector needs whole events of an operation
// (ingest.Options.Want): the built-in content needs only the operations
// its rules use; Sigma rules may match any event, so they need them all.
// It is safe to call from several goroutines.
func (d *Detector) Wants(provider, op string) bool {
	return d.sig != nil || d.eng.Uses(provider, op)
}

// Flush ends the input and releases every buffered event, so that the
// sequences the data completes are reported. At rest it runs the held
// events through the rules in event-time order (Close reports whether
// reading spilled events failed).
func (d *Detector) Flush() { _ = d.FlushContext(context.Background()) }

// FlushContext is Flush that stops early, with ctx's error, when ctx is
// done: an interrupted hunt then removes its spilled runs with Close.
func (d *Detector) FlushContext(ctx context.Context) error {
	if d.rest != nil {
		return d.flushRest(ctx)
	}
	d.eng.End()
	if d.sig != nil {
		d.sig.CloseWindows()
	}
	return nil
}

// Idle releases every buffered event and replays the late ones, as when
// a live input has been quiet; unlike Flush it does not end the input
// (an Azure operation may still log its outcome).
func (d *Detector) Idle() {
	d.eng.Flush()
	if d.sig != nil {
		d.sig.CloseWindows()
	}
}

// Buffered is the number of events and Sigma occurrences waiting for a
// watermark, for the replay of late events or for an anchored count
// window to end: what Idle would release. A live mode idles only when
// it is non-zero.
func (d *Detector) Buffered() int {
	s := d.eng.Stats()
	n := s.Buffered + s.LateWaiting
	if d.sig != nil {
		st := d.sig.Stats()
		n += st.Buffered + st.OpenWindows
	}
	return n
}

func (d *Detector) flushRest(ctx context.Context) error {
	d.drainFire()
	keys := make([]string, 0, len(d.ops))
	for k, op := range d.ops {
		if !op.outcome && op.lastUID != "" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		d.eng.ExpectUnlogged(k, d.ops[k].lastUID)
	}
	d.ops = nil
	// Every event the rules will see was noted: what waits on a value
	// no other event holds is not kept (the findings are the same).
	if pruneLone {
		d.eng.PruneLone()
	}
	n := 0
	err := d.rest.Each(func(ev *event.Event) error {
		if n++; n%4096 == 1 && ctx.Err() != nil {
			return ctx.Err()
		}
		d.eng.Process(ev)
		return nil
	})
	if err != nil && d.restErr == nil {
		d.restErr = err
	}
	d.sum.Sort = d.rest.Stats()
	if err != nil {
		return err
	}
	d.eng.End()
	if d.sig != nil {
		d.sig.CloseWindows()
	}
	return nil
}

// Close removes what the Detector spilled to disk and reports the first
// error spilling or reading it back, if any: the findings are then
// incomplete.
func (d *Detector) Close() error {
	if d.rest == nil {
		return nil
	}
	d.drainFire()
	cerr := d.rest.Close()
	if err := d.raws.close(); cerr == nil {
		cerr = err
	}
	if d.folds != nil {
		// Interrupted before the folds were done.
		d.folds.close()
		d.folds = nil
	}
	if d.spool != nil {
		if err := d.spool.close(); cerr == nil {
			cerr = err
		}
		if d.spool.err != nil && d.restErr == nil {
			d.restErr = d.spool.err
		}
	}
	if d.restErr != nil {
		return d.restErr
	}
	if d.raws.err != nil {
		return d.raws.err
	}
	return cerr
}

// detectorState is a Detector's checkpoint when Sigma rules are loaded:
// the sequence engine's state and the Sigma runner's side by side. Its
// Format key is what tells it from the engine's own state, which is what
// a Detector without Sigma rules writes, as before: older checkpoints and
// older binaries keep reading each other, and an older binary, finding
// no version it knows, refuses this one instead of misreading it.
type detectorState struct {
	Format int             `json:"detector_state"`
	Engine json.RawMessage `json:"engine"`
	Sigma  json.RawMessage `json:"sigma,omitempty"`
}

// detectorStateFormat is the version of detectorState.
const detectorStateFormat = 1

// Snapshot returns the detection state — the engine's partial sequences,
// buffered and context events and seen ids, and the loaded Sigma rules'
// watermarks, buffered occurrences and correlation groups — deterministic
// byte for byte, for a checkpoint. The counters of Summary are not part
// of it.
func (d *Detector) Snapshot() ([]byte, error) {
	eng, err := d.eng.Snapshot()
	if err != nil {
		return nil, err
	}
	if d.sig == nil {
		return eng, nil
	}
	sig, err := d.sig.Snapshot()
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(detectorState{Format: detectorStateFormat, Engine: eng, Sigma: sig}); err != nil {
		return nil, fmt.Errorf("encoding detector state: %w", err)
	}
	return b.Bytes(), nil
}

// Restore replaces the detection state with one taken by Snapshot, with
// or without Sigma rules: a state without Sigma's part leaves the Sigma
// rules starting afresh, and Sigma's part is dropped when no Sigma rules
// are loaded (their state, like that of any rule that is gone, has no
// use). On error the Detector is left as it was.
func (d *Detector) Restore(state []byte) error {
	eng, sig, err := splitState(state)
	if err != nil {
		return err
	}
	if d.sig == nil {
		return d.eng.Restore(eng)
	}
	// The runner is restored first, into a fresh one, so that a bad Sigma
	// part leaves the engine untouched too.
	fresh := d.newRunner()
	if sig != nil {
		if err := fresh.Restore(sig); err != nil {
			return err
		}
	}
	if err := d.eng.Restore(eng); err != nil {
		return err
	}
	d.sig = fresh
	return nil
}

// splitState tells a detectorState from an engine's own state and
// returns the parts.
func splitState(state []byte) (eng, sig []byte, err error) {
	var probe struct {
		Format *int `json:"detector_state"`
	}
	if err := json.Unmarshal(state, &probe); err != nil || probe.Format == nil {
		// Not an envelope: the engine's own state (or garbage, which the
		// engine reports).
		return state, nil, nil
	}
	if *probe.Format != detectorStateFormat {
		return nil, nil, fmt.Errorf("detector state format %d, want %d", *probe.Format, detectorStateFormat)
	}
	var s detectorState
	if err := json.Unmarshal(state, &s); err != nil {
		return nil, nil, fmt.Errorf("decoding detector state: %w", err)
	}
	if len(s.Engine) == 0 {
		return nil, nil, fmt.Errorf("detector state without the engine's")
	}
	return s.Engine, s.Sigma, nil
}

// Findings returns the emitted findings in output order (first event time,
// rule, id). At rest with Sigma rules, those of single-event rules are
// read back from where they wait (see WriteNDJSON, which does not hold
// them all); an error reading them back is Close's.
func (d *Detector) Findings() []finding.Finding {
	out := append([]finding.Finding(nil), d.findings...)
	finding.Sort(out)
	if d.spool == nil || d.spool.empty() {
		return out
	}
	var all []finding.Finding
	err := d.EachFinding(func(f *finding.Finding, line []byte) error {
		if f == nil {
			var g finding.Finding
			if err := json.Unmarshal(line, &g); err != nil {
				return fmt.Errorf("reading a spooled finding back: %w", err)
			}
			f = &g
		}
		all = append(all, *f)
		return nil
	})
	if err != nil && d.restErr == nil {
		d.restErr = err
	}
	return all
}

// Summary returns the counters so far.
func (d *Detector) Summary() Summary {
	s := d.sum
	s.ByRule = make(map[string]int, len(d.sum.ByRule))
	for k, v := range d.sum.ByRule {
		s.ByRule[k] = v
	}
	s.Engine = d.eng.Stats()
	if d.rest != nil {
		s.Sort = d.rest.Stats()
	}
	return s
}

// Rules describes the built-in rules, in their declaration order, then
// the loaded Sigma rules.
func (d *Detector) Rules() []finding.RuleInfo {
	out := make([]finding.RuleInfo, len(d.order))
	for i, det := range d.order {
		out[i] = finding.RuleInfo{ID: det.ID(), Title: det.Title, Description: det.Description, Severity: det.Severity.String()}
	}
	return append(out, d.sigmaRules()...)
}

func (d *Detector) match(m *sequence.Match) {
	det, ok := d.byID[m.Rule]
	if !ok {
		return
	}
	var evs []*event.Event
	for _, e := range m.Evidence {
		evs = append(evs, e.Event)
		if d.raws != nil {
			d.restore(e.Event)
			for _, p := range e.Phases {
				d.restore(p)
			}
		}
	}
	d.report(FromMatch(det, m), evs)
}

// restore gives an evidence event held at rest its record's bytes back,
// and storage of its own (eventtime.Detach): the finding outlives the
// Sorter's blocks, which it would otherwise keep.
func (d *Detector) restore(ev *event.Event) {
	eventtime.Detach(ev)
	d.raws.restore(ev)
}

// report tunes a finding of the built-in content or of a Sigma rule,
// counts it, keeps it unless streaming, and hands it to OnFinding.
func (d *Detector) report(f finding.Finding, evs []*event.Event) {
	dec := d.tune(&f, evs)
	if dec.Emit() && !d.opt.Stream {
		d.findings = append(d.findings, f)
	}
	d.count(f.RuleID, dec.Emit(), f.Suppressed)
	if d.opt.OnFinding != nil {
		d.opt.OnFinding(f, dec)
	}
}

// tune applies the tuning to a finding.
func (d *Detector) tune(f *finding.Finding, evs []*event.Event) tune.Decision {
	dec := d.opt.Config.Apply(f, evs)
	fixConfidence(f)
	return dec
}

// fixConfidence claims the least confidence for a finding whose
// confidence is not one.
func fixConfidence(f *finding.Finding) {
	if c, ok := level.Parse(f.Confidence); !ok || c.Confidence() != c {
		f.Confidence = level.Low.String()
	}
}

// count counts a finding into the Summary.
func (d *Detector) count(rule string, emit, suppressed bool) {
	if !emit {
		d.sum.Dropped++
		return
	}
	d.sum.Findings++
	d.sum.ByRule[rule]++
	if suppressed {
		d.sum.Suppressed++
	}
}

// FromMatch turns an engine match into a finding: the detection's text and
// ATT&CK mapping, severity and confidence moved by the match's
// adjustments, every step and context event as evidence, and a stable id
// from the rule and the bound keys.
func FromMatch(det content.Detection, m *sequence.Match) finding.Finding {
	sev, conf := det.Assess(m)
	a := det.Attack
	if a.Tactic.Name == "" {
		a = attack.RevertCloudInstance
	}
	f := finding.Finding{
		RuleID: det.ID(), Title: det.Title, Description: det.Description,
		Tactic: a.Tactic.Name, TacticID: a.Tactic.ID,
		Technique: a.SubTechnique.ID, TechniqueName: a.SubTechnique.Name,
		Tags:     a.Tags(),
		Severity: sev.String(), Confidence: conf.Confidence().String(),
		Provider: m.Provider, Account: m.Account, Region: m.Region,
		Resources: append([]event.Resource(nil), m.Resources...),
		FirstSeen: m.First, LastSeen: m.Last,
		NextSteps: append([]string(nil), det.NextSteps...),
	}
	for _, a := range m.Adjustments {
		f.Reasons = append(f.Reasons, a.Reason)
	}
	scope := eventtime.Canonical(eventtime.Scope{Provider: m.Provider, Account: m.Account, Region: m.Region})
	keys := []string{scope.Provider, scope.Account, scope.Region}
	for _, b := range m.Bindings {
		keys = append(keys, b.Name+"="+b.Value)
	}
	f.GroupID = finding.StableID(det.ID(), keys...)
	f.ID = OccurrenceID(det.ID(), scope, m.Steps())
	if m.Late {
		f.Late, f.LateBy = true, m.LateBy.String()
	}
	if why := bodyless(m); why != "" {
		// A console export has no request or response bodies: the keys
		// that joined the steps were inferred (resources' parts, resource
		// ids), so the match is less sure than the same rule on whole
		// records. The body-less rule is graded for this already.
		if det.ID() != content.RuleAzureDiskSwapBodyless {
			conf = conf.Shift(-1)
			f.Confidence = conf.Confidence().String()
		}
		f.Reasons = append(f.Reasons, "confidence lowered: "+why)
	}
	for _, x := range m.Steps() {
		if x.Unlogged {
			f.Confidence = conf.Shift(-1).Confidence().String()
			f.Reasons = append(f.Reasons, fmt.Sprintf("the outcome of %s on %s was not logged (only its Start/Accept records were found); counted as done",
				x.Event.OperationName, x.Event.ResourceID))
		}
	}

	// The actor is whoever made the first step; the others' addresses and
	// agents are added as context.
	var actorSet bool
	for _, e := range m.Evidence {
		if e.Event == nil {
			continue
		}
		name := e.Step
		if e.Context {
			name = "context:" + e.Step
		}
		f.Evidence = append(f.Evidence, finding.NewEvidence(name, e.Event))
		if !e.Context {
			if !actorSet {
				f.Actor, actorSet = finding.ActorOf(e.Event), true
			} else {
				f.Actor.AddContext(e.Event)
			}
		}
	}
	sort.SliceStable(f.Evidence, func(i, j int) bool { return f.Evidence[i].Time.Before(f.Evidence[j].Time) })
	return f
}

// OccurrenceID is a finding's id: the rule, the scope and the sorted
// identities of the calls its steps are (eventtime.Identity), so that it
// does not depend on which export shape or copy of a record came first.
func OccurrenceID(rule string, scope eventtime.Scope, steps []sequence.Evidence) string {
	ids := make([]string, 0, len(steps))
	for _, x := range steps {
		if x.Event != nil {
			ids = append(ids, eventtime.Identity(x.Event))
		}
	}
	sort.Strings(ids)
	return finding.StableID(rule, append([]string{"occurrence", scope.Provider, scope.Account, scope.Region}, ids...)...)
}

// RuleIDs lists the built-in rule ids, for checking a configuration.
func RuleIDs() []string {
	var ids []string
	for _, d := range content.Reverts() {
		ids = append(ids, d.ID())
	}
	sort.Strings(ids)
	return ids
}

// bodyless says what the step events of a match lack when one of them
// came from a console export without bodies (event.Format.Bodyless), or
// returns "".
func bodyless(m *sequence.Match) string {
	for _, x := range m.Steps() {
		if x.Event != nil {
			if why := x.Event.Format.Bodyless(); why != "" {
				return "step " + x.Step + " is " + why
			}
		}
	}
	return ""
}
