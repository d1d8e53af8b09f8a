package sequence

import (
	"container/heap"
	"fmt"
	"hash/maphash"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/eventtime"
)

// Defaults of Options. The ordering ones are the event-time core's.
const (
	DefaultLateness    = eventtime.DefaultLateness
	DefaultMaxPerKey   = 16
	DefaultMaxPartials = 100_000
	DefaultMaxBuffered = eventtime.DefaultMaxBuffered
	DefaultMaxContext  = 100_000
	DefaultMaxSeen     = eventtime.DefaultMaxSeen
	DefaultMaxPending  = eventtime.DefaultMaxPending
	DefaultHorizon     = eventtime.DefaultHorizon
	DefaultMaxHistory  = eventtime.DefaultMaxHistory
)

// maxForks caps the sequences one event starts or branches into (a
// StopInstances of many instances); contextDepth is how many events the
// engine remembers per context key.
const (
	maxForks     = 16
	contextDepth = 4
)

// Options tune an Engine. Zero values take the defaults.
type Options struct {
	// Lateness is how far behind the latest event time an event may arrive
	// and still take its place in order. Zero means DefaultLateness; a
	// negative value means none.
	Lateness time.Duration
	// MaxPerKey caps the partial sequences waiting on one key of one step.
	MaxPerKey int
	// MaxPartials caps all partial sequences; the one closest to its
	// deadline is evicted first.
	MaxPartials int
	// MaxBuffered caps events held for ordering; past it the oldest is
	// released early.
	MaxBuffered int
	// MaxContext caps remembered context events.
	MaxContext int
	// MaxSeen caps the event ids remembered for de-duplication.
	MaxSeen int
	// MaxPending caps Azure operations waiting for their terminal record.
	MaxPending int
	// Horizon is how far behind its scope's watermark a late event may be
	// and still complete sequences: the engine keeps the relevant events
	// of the last window plus Horizon, and replays them with a late event
	// in its place. Zero means DefaultHorizon; a negative value keeps no
	// history, for input already in event-time order (logs at rest), where
	// nothing is late.
	Horizon time.Duration
	// MaxHistory caps the events kept for late events; past it the oldest
	// are forgotten first, and counted.
	MaxHistory int
	// OnMatch receives each match, in event-time order of completion. The
	// match is the receiver's to keep.
	OnMatch func(*Match)
	// OnLate receives each relevant event that arrived older than the
	// watermark. One within the Horizon is replayed in its place and
	// completes sequences as if on time (the match says it was late); an
	// older one feeds single-event rules only (Stats.TooLate).
	OnLate func(*event.Event)
	// Also is another handler of the events the core orders (the Sigma
	// runner), given every record Wants calls relevant besides the rules'
	// own, with the same de-duplication, order and replays.
	Also      eventtime.Handler
	AlsoWants func(*event.Event) bool
	// AlsoWindow is the longest window of the Also handler's rules: the
	// core keeps and replays events for the longer of it and the rules'.
	AlsoWindow time.Duration
}

// Stats count what the engine saw and did. Counters only grow; the
// gauges (Partials, Buffered, ...) give the current state size.
type Stats struct {
	Events     uint64 `json:"events"`      // events given to Process
	Relevant   uint64 `json:"relevant"`    // events of an operation some rule uses
	Duplicates uint64 `json:"duplicates"`  // same event id or CloudTrail original id seen before
	Late       uint64 `json:"late"`        // relevant events beyond the allowed lateness, replayed in place
	TooLate    uint64 `json:"too_late"`    // late events beyond the horizon: single-event rules only
	Replays    uint64 `json:"replays"`     // replays of a scope's history with late events in place
	Unlogged   uint64 `json:"unlogged"`    // Azure operations counted done with their outcome never logged
	NoTime     uint64 `json:"no_time"`     // relevant events without an event time
	NotSuccess uint64 `json:"not_success"` // failed, dry-run or unfinished calls: never advance
	Phases     uint64 `json:"phases"`      // Azure Start/Accept records folded into their operation
	Matches    uint64 `json:"matches"`
	Superseded uint64 `json:"superseded"` // matches dropped for a longer chain on the same event
	Expired    uint64 `json:"expired"`    // partial sequences whose window closed

	// What the caps cost.
	EvictedPerKey  uint64 `json:"evicted_per_key"`
	EvictedTotal   uint64 `json:"evicted_total"`
	EvictedContext uint64 `json:"evicted_context"`
	EvictedSeen    uint64 `json:"evicted_seen"`
	EvictedPending uint64 `json:"evicted_pending"`
	ForcedReleases uint64 `json:"forced_releases"`
	ForksCapped    uint64 `json:"forks_capped"`
	EvictedHistory uint64 `json:"evicted_history"`

	Partials     int `json:"partials"`
	PeakPartials int `json:"peak_partials"`
	Buffered     int `json:"buffered"`
	PeakBuffered int `json:"peak_buffered"`
	Contexts     int `json:"contexts"`
	Pending      int `json:"pending"`
	Seen         int `json:"seen"`
	History      int `json:"history"`
	LateWaiting  int `json:"late_waiting"` // late events waiting for their replay
}

// Engine runs rules over a stream of events, ordered by the event-time
// core (package eventtime). It is not safe for concurrent use: one
// goroutine owns it (per key partition, when scaled out).
type Engine struct {
	opt       Options
	core      *eventtime.Core
	maxWindow time.Duration
	rules     []*rule
	byID      map[string]*rule
	contexts  []*cctx
	ctxRule   []*rule
	ops       map[uint64][]*opGroup

	nextID uint64 // partial sequence ids

	scopes map[*eventtime.ScopeState]*scopeState
	last   *scopeState
	index  map[string][]*partial
	ctx    map[string]*ctxRing
	ctxN   int

	stats Stats // this engine's own counters; the core keeps the rest
	done  []done

	// What the release being matched says: an unlogged operation, or a
	// late event (and how late).
	unloggedNow, lateNow bool
	lateByNow            time.Duration
	replaying            bool

	keyBuf           []byte
	ibuf, jbuf, vbuf [1]string
	cands            []*partial

	lone loneValues
}

// loneValues counts, at rest, the calls whose events hold each key value
// (NoteHeld), so that the engine does not keep a sequence waiting on a
// value no other call holds, nor a context entry no other call can look
// up (PruneLone). Values and calls (eventtime.Identity: the copies of a
// record in several shapes are one call) are counted by 64-bit hashes, up
// to two calls: a collision can only keep something, never drop it.
type loneValues struct {
	seed maphash.Seed
	n    map[uint64]loneCount
	on   bool
}

type loneCount struct {
	calls uint8  // 1 or 2 (two or more)
	first uint64 // the identity of the first call, 0 for none
}

// scopeState is the engine's part of one scope: the partial sequences by
// deadline and the context entries in the order they were made.
type scopeState struct {
	core   *eventtime.ScopeState
	name   string
	expiry partialHeap
	ctxQ   eventtime.Queue
}

type opGroup struct {
	provider, op string
	refs         []opRef
	// rank is the latest step position the operation takes in any rule.
	// CloudTrail times have one-second precision, so a stop and a start,
	// or a CreateVolume and its AttachVolume, may share a time; releasing
	// equal times by rank puts them in causal order whatever their arrival.
	rank int
}

// opRef is a use of an operation: a step of a rule, or a context.
type opRef struct {
	rule *rule
	step int
	ctx  int // engine-wide context index, -1 for a step
}

type evid struct {
	step     int
	ev       *event.Event
	phases   []*event.Event
	unlogged bool
	late     bool
	lateBy   time.Duration
}

type partial struct {
	id       uint64
	rule     *rule
	next     int
	sc       *scopeState
	vals     []string
	evidence []evid
	first    time.Time
	last     time.Time
	deadline time.Time
	key      string
	hidx     int
}

type ctxEntry struct {
	ev     *event.Event
	phases []*event.Event
}

// ctxRing is the latest few events of one context for one key value, in
// time order.
type ctxRing struct {
	ctx     int // engine-wide context index
	sc      *scopeState
	value   string
	entries []ctxEntry
}

type done struct {
	m *Match
	p *partial
}

// New checks and compiles rules. Rule ids must be unique.
func New(rules []Rule, opt Options) (*Engine, error) {
	e := &Engine{
		opt:    opt,
		byID:   map[string]*rule{},
		ops:    map[uint64][]*opGroup{},
		scopes: map[*eventtime.ScopeState]*scopeState{},
		index:  map[string][]*partial{},
		ctx:    map[string]*ctxRing{},
	}
	def := func(p *int, v int) {
		if *p <= 0 {
			*p = v
		}
	}
	def(&e.opt.MaxPerKey, DefaultMaxPerKey)
	def(&e.opt.MaxPartials, DefaultMaxPartials)
	def(&e.opt.MaxContext, DefaultMaxContext)

	for i, in := range rules {
		r, err := compile(in, i)
		if err != nil {
			return nil, err
		}
		if e.byID[r.ID] != nil {
			return nil, fmt.Errorf("rule %s: id used twice", r.ID)
		}
		if i > 0xffff {
			return nil, fmt.Errorf("too many rules (%d)", len(rules))
		}
		e.byID[r.ID] = r
		e.rules = append(e.rules, r)
		if r.window > e.maxWindow {
			e.maxWindow = r.window
		}
	}
	for _, r := range e.rules {
		r.supersedes = make([]bool, len(e.rules))
		for _, id := range r.Supersedes {
			o := e.byID[id]
			if o == nil {
				return nil, fmt.Errorf("rule %s supersedes unknown rule %s", r.ID, id)
			}
			r.supersedes[o.idx] = true
		}
		for ci := range r.ctx {
			// Rules that declare the same context share its memory.
			c := &r.ctx[ci]
			sig := c.signature()
			c.gidx = -1
			for g, o := range e.contexts {
				if o.signature() == sig {
					c.gidx = g
				}
			}
			if c.gidx >= 0 {
				continue
			}
			c.gidx = len(e.contexts)
			e.contexts = append(e.contexts, c)
			e.ctxRule = append(e.ctxRule, r)
			for _, op := range c.Operations {
				e.addOp(c.Provider, op, opRef{step: -1, ctx: c.gidx})
			}
		}
		// Later steps first, so that an event never advances the same
		// sequence twice.
		for j := len(r.Steps) - 1; j >= 0; j-- {
			for _, op := range r.Steps[j].Operations {
				e.addOp(r.Steps[j].Provider, op, opRef{rule: r, step: j, ctx: -1})
			}
		}
	}
	e.core = eventtime.NewCore(eventtime.CoreOptions{Lateness: opt.Lateness, Horizon: opt.Horizon, Window: max(e.maxWindow, opt.AlsoWindow),
		MaxBuffered: opt.MaxBuffered, MaxSeen: opt.MaxSeen, MaxPending: opt.MaxPending, MaxHistory: opt.MaxHistory,
		OnLate: opt.OnLate}, e.rankOf, handler{e})
	return e, nil
}

// rankOf says whether the engine (or its Also handler) needs an event, and
// its tie-break among events of the same time.
func (e *Engine) rankOf(ev *event.Event) (int, bool) {
	if g := e.group(ev); g != nil {
		return g.rank, true
	}
	if e.opt.AlsoWants != nil && e.opt.AlsoWants(ev) {
		return 0, true
	}
	return 0, false
}

func (e *Engine) addOp(provider, op string, ref opRef) {
	h := hashOp(provider, op)
	for _, g := range e.ops[h] {
		if g.provider == provider && strings.EqualFold(g.op, op) {
			for _, x := range g.refs {
				if x == ref {
					return
				}
			}
			g.refs = append(g.refs, ref)
			g.rank = max(g.rank, ref.step)
			// Contexts first, then rules in order: deterministic output.
			sort.SliceStable(g.refs, func(a, b int) bool {
				ra, rb := g.refs[a], g.refs[b]
				if (ra.ctx >= 0) != (rb.ctx >= 0) {
					return ra.ctx >= 0
				}
				if ra.ctx >= 0 {
					return ra.ctx < rb.ctx
				}
				return ra.rule.idx < rb.rule.idx
			})
			return
		}
	}
	e.ops[h] = append(e.ops[h], &opGroup{provider: provider, op: op, refs: []opRef{ref}, rank: max(0, ref.step)})
}

// hashOp is FNV-1a over the provider and the ASCII-lower-cased operation,
// so that looking an operation up never allocates.
func hashOp(provider, op string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(provider); i++ {
		h = (h ^ uint64(provider[i])) * 1099511628211
	}
	h *= 1099511628211 // a zero byte between provider and operation
	for i := 0; i < len(op); i++ {
		c := op[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		h = (h ^ uint64(c)) * 1099511628211
	}
	return h
}

func (e *Engine) lookup(ev *event.Event) []opRef {
	if g := e.group(ev); g != nil {
		return g.refs
	}
	return nil
}

func (e *Engine) group(ev *event.Event) *opGroup {
	for _, g := range e.ops[hashOp(ev.Provider, ev.Operation)] {
		if g.provider == ev.Provider && strings.EqualFold(g.op, ev.Operation) {
			return g
		}
	}
	return nil
}

// Uses reports whether some rule or context uses the operation: events of
// other operations only move their scope's watermark, so a reader may hand
// them over with only time, provider, account and region
// (ingest.Options.Want). It is safe to call from several goroutines.
func (e *Engine) Uses(provider, op string) bool {
	for _, g := range e.ops[hashOp(provider, op)] {
		if g.provider == provider && strings.EqualFold(g.op, op) {
			return true
		}
	}
	return false
}

// Stats returns the counters and the current state size.
func (e *Engine) Stats() Stats {
	s := e.stats
	c := e.core.Stats()
	s.Events, s.Relevant, s.Duplicates, s.Late, s.TooLate, s.Replays, s.Unlogged = c.Events, c.Relevant, c.Duplicates, c.Late, c.TooLate, c.Replays, c.Unlogged
	s.NoTime, s.NotSuccess, s.Phases = c.NoTime, c.NotSuccess, c.Phases
	s.EvictedSeen, s.EvictedPending, s.EvictedHistory, s.ForcedReleases = c.EvictedSeen, c.EvictedPending, c.EvictedHistory, c.ForcedReleases
	s.Buffered, s.PeakBuffered, s.Pending, s.Seen, s.History, s.LateWaiting = c.Buffered, c.PeakBuffered, c.Pending, c.Seen, c.History, c.LateWaiting
	s.Contexts = e.ctxN
	return s
}

// coreStats is the core's part of Stats, for restoring it.
func coreStats(s Stats) eventtime.CoreStats {
	return eventtime.CoreStats{Events: s.Events, Relevant: s.Relevant, Duplicates: s.Duplicates, Late: s.Late, TooLate: s.TooLate,
		Replays: s.Replays, Unlogged: s.Unlogged, NoTime: s.NoTime, NotSuccess: s.NotSuccess, Phases: s.Phases,
		EvictedSeen: s.EvictedSeen, EvictedPending: s.EvictedPending, EvictedHistory: s.EvictedHistory, ForcedReleases: s.ForcedReleases,
		PeakBuffered: s.PeakBuffered}
}

// Watermark returns the event time up to which a scope's events have been
// released in order; an older event of that scope is late. Azure scopes
// have no region.
func (e *Engine) Watermark(provider, account, region string) time.Time {
	return e.core.Watermark(provider, account, region)
}

// NoteHeld counts the key values of ev, an event the engine will be
// given at rest, before the first Process (see PruneLone). A value counts
// once per call: a sequence never joins a call to itself, and the copies
// of one record are one call to the rules.
func (e *Engine) NoteHeld(ev *event.Event) {
	if !e.Uses(ev.Provider, ev.Operation) {
		return
	}
	if e.lone.n == nil {
		e.lone.seed, e.lone.n = maphash.MakeSeed(), map[uint64]loneCount{}
	}
	var call uint64 // 0: a record of no known identity counts on its own
	if id := eventtime.Identity(ev); id != "" {
		call = maphash.String(e.lone.seed, id) | 1
	}
	var buf [16]uint64
	seen := buf[:0]
	for f := Field(1); f < numFields; f++ {
		for _, v := range f.values(ev, &e.vbuf) {
			if v == "" {
				continue
			}
			h := maphash.String(e.lone.seed, v)
			if slices.Contains(seen, h) {
				continue
			}
			seen = append(seen, h)
			switch c := e.lone.n[h]; {
			case c.calls == 0:
				e.lone.n[h] = loneCount{calls: 1, first: call}
			case c.calls == 1 && (call == 0 || c.first == 0 || call != c.first):
				e.lone.n[h] = loneCount{calls: 2}
			}
		}
	}
}

// PruneLone tells the engine that every event it will be given was
// noted (NoteHeld): a sequence waiting on a value that only one of them
// holds can never advance, and a context entry under such a value can
// never be looked up by another event's sequence, so neither is kept.
// The findings are the same; the state, at rest, is what can still
// match. End lets the counts go.
func (e *Engine) PruneLone() { e.lone.on = e.lone.n != nil }

// isLone reports whether pruning is on and at most one noted call holds v.
func (e *Engine) isLone(v string) bool {
	return e.lone.on && e.lone.n[maphash.String(e.lone.seed, v)].calls < 2
}

// Process takes one event, in any order. Events of operations no rule
// uses only move the watermark. The engine keeps ev (as evidence) if a
// rule uses it; the caller must not modify it afterwards.
func (e *Engine) Process(ev *event.Event) { e.core.Process(ev) }

// Flush releases every buffered event in event-time order, moves each
// scope's watermark to its latest event time and replays the late events
// waiting, as when the input has been quiet. Partial sequences stay until
// their window closes, so that a later Process (or a restored state) can
// still complete them; an event older than the new watermark is late and
// is replayed in its place.
func (e *Engine) Flush() { e.core.Flush() }

// End ends the input: Flush, then every Azure operation still waiting for
// its outcome record counts as done with its outcome not logged (a Failure
// record arriving later no longer cancels it).
func (e *Engine) End() {
	e.core.End()
	e.lone = loneValues{}
}

// PhaseKey names the Azure operation a record is a phase of, as the
// engine groups its Start, Accept and outcome records.
func PhaseKey(ev *event.Event) string { return eventtime.PhaseKey(ev) }

// ExpectUnlogged tells the engine, before it sees them, that the Azure
// operation with this PhaseKey never logged its outcome and that uid is
// its last record in event-time order: when that record is released the
// operation counts as done, in its place (see eventtime.Core).
func (e *Engine) ExpectUnlogged(key, uid string) { e.core.ExpectUnlogged(key, uid) }

// scope returns the engine's part of a core scope.
func (e *Engine) scope(cs *eventtime.ScopeState) *scopeState {
	if e.last != nil && e.last.core == cs {
		return e.last
	}
	sc := e.scopes[cs]
	if sc == nil {
		sc = &scopeState{core: cs, name: cs.Name}
		e.scopes[cs] = sc
	}
	e.last = sc
	return sc
}

func (e *Engine) sortedScopes() []*scopeState {
	out := make([]*scopeState, 0, len(e.scopes))
	for _, s := range e.scopes {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// handler is the engine as the core's Handler.
type handler struct{ e *Engine }

// Release runs one released event through the rules (and the Also
// handler).
func (h handler) Release(cs *eventtime.ScopeState, r *eventtime.Release) {
	e := h.e
	if r.Op != nil && e.group(r.Op) != nil {
		e.unloggedNow, e.lateNow, e.lateByNow, e.replaying = r.Unlogged, r.Late, r.LateBy, r.Replay
		e.matchEvent(e.scope(cs), r.Op, r.Phases, r.TooLate)
		e.unloggedNow, e.lateNow, e.lateByNow, e.replaying = false, false, 0, false
	}
	if e.opt.Also != nil {
		e.opt.Also.Release(cs, r)
	}
}

// Reset forgets a scope's partial sequences and contexts before a replay
// rebuilds them.
func (h handler) Reset(cs *eventtime.ScopeState) {
	e := h.e
	sc := e.scope(cs)
	for len(sc.expiry) > 0 {
		e.remove(sc.expiry[0])
	}
	for _, q := range sc.ctxQ.Live() {
		if ring := e.ctx[q.Key()]; ring != nil {
			e.ctxN -= len(ring.entries)
			delete(e.ctx, q.Key())
		}
	}
	sc.ctxQ = eventtime.Queue{}
	if e.opt.Also != nil {
		e.opt.Also.Reset(cs)
	}
}

// Expire closes a scope's partial sequences whose window its watermark
// has passed and forgets contexts no window can need.
func (h handler) Expire(cs *eventtime.ScopeState) {
	e := h.e
	sc := e.scope(cs)
	f := cs.Frontier()
	for len(sc.expiry) > 0 && sc.expiry[0].deadline.Before(f) {
		e.remove(sc.expiry[0])
		e.stats.Expired++
	}
	e.trimContext(sc)
	if e.opt.Also != nil {
		e.opt.Also.Expire(cs)
	}
}

func (e *Engine) trimContext(sc *scopeState) {
	eventtime.Trim(sc, sc.core.Frontier().Add(-e.maxWindow), e.sortedScopes, func(s *scopeState) *eventtime.Queue { return &s.ctxQ },
		func() bool { return e.ctxN > e.opt.MaxContext },
		func(q eventtime.Queued, forced bool) {
			ring := e.ctx[q.Key()]
			if ring == nil {
				return
			}
			if len(ring.entries) > 0 && !ring.entries[0].ev.Time.After(q.Time()) {
				if forced {
					e.stats.EvictedContext++
				}
				ring.entries = ring.entries[1:]
				e.ctxN--
			}
			if len(ring.entries) == 0 {
				delete(e.ctx, q.Key())
			}
		})
}

func (e *Engine) indexKey(scope string, rule, step int, value string) []byte {
	b := append(e.keyBuf[:0], scope...)
	b = append(b, 0x1f, byte(rule>>8), byte(rule), byte(step), 0x1f)
	b = append(b, value...)
	e.keyBuf = b
	return b
}

func (e *Engine) ctxKey(scope string, ctx int, value string) []byte {
	b := append(e.keyBuf[:0], scope...)
	b = append(b, 0x1e, byte(ctx>>8), byte(ctx), 0x1e)
	b = append(b, value...)
	e.keyBuf = b
	return b
}

// matchEvent runs one released, successful call through the rules using
// its operation. lateOnly is set for an event too late to replay: it
// feeds single-event rules and contexts only.
func (e *Engine) matchEvent(sc *scopeState, ev *event.Event, phases []*event.Event, lateOnly bool) {
	refs := e.lookup(ev)
	if refs == nil {
		return
	}
	e.done = e.done[:0]
	for _, ref := range refs {
		if ref.ctx >= 0 {
			e.addContext(ref.ctx, sc, ev, phases)
			continue
		}
		r := ref.rule
		if lateOnly && len(r.steps) > 1 {
			continue
		}
		st := &r.steps[ref.step]
		if !e.where(st.where, ev) {
			continue
		}
		if ref.step == 0 {
			e.start(r, sc, ev, phases)
		} else {
			e.step(r, ref.step, sc, ev, phases)
		}
	}
	e.finish()
}

func (e *Engine) where(conds []Cond, ev *event.Event) bool {
	for i := range conds {
		c := &conds[i]
		if !c.holds(c.Field.values(ev, &e.vbuf)) {
			return false
		}
	}
	return true
}

// combos returns the bindings an event gives a sequence: base with each
// new binding filled, one set per combination of values, or nil when a
// required binding has no value.
func (e *Engine) combos(r *rule, base []string, news []cbind, ev *event.Event) [][]string {
	first := make([]string, len(r.names))
	copy(first, base)
	out := [][]string{first}
	for _, b := range news {
		vs := b.field.values(ev, &e.vbuf)
		if len(vs) == 0 {
			if b.optional {
				continue
			}
			return nil
		}
		next := make([][]string, 0, len(out)*len(vs))
	fork:
		for _, c := range out {
			for _, v := range vs {
				if len(next) == maxForks {
					e.stats.ForksCapped++
					break fork
				}
				n := append([]string(nil), c...)
				n[b.slot] = v
				next = append(next, n)
			}
		}
		out = next
	}
	return out
}

// start begins sequences at their first step.
func (e *Engine) start(r *rule, sc *scopeState, ev *event.Event, phases []*event.Event) {
	for _, vals := range e.combos(r, nil, r.steps[0].news, ev) {
		e.nextID++
		p := &partial{id: e.nextID, rule: r, next: 1, sc: sc, vals: vals,
			evidence: []evid{{step: 0, ev: ev, phases: phases, unlogged: e.unloggedNow, late: e.lateNow, lateBy: e.lateByNow}},
			first:    ev.Time, last: ev.Time, deadline: ev.Time.Add(r.window), hidx: -1}
		if len(r.steps) == 1 {
			e.complete(p)
		} else {
			e.insert(p)
		}
	}
}

// step advances the sequences waiting for step j that ev joins.
func (e *Engine) step(r *rule, j int, sc *scopeState, ev *event.Event, phases []*event.Event) {
	st := &r.steps[j]
	for _, v := range st.index.field.values(ev, &e.ibuf) {
		list := e.index[string(e.indexKey(sc.name, r.idx, j, v))]
		if len(list) == 0 {
			continue
		}
		e.cands = append(e.cands[:0], list...)
		for _, p := range e.cands {
			if p.hidx < 0 || ev.Time.After(p.deadline) || ev.Time.Before(p.last) {
				continue
			}
			if !e.joins(st, p, ev) {
				continue
			}
			e.advanceTo(p, j, ev, phases)
		}
	}
}

func (e *Engine) joins(st *cstep, p *partial, ev *event.Event) bool {
	for _, b := range st.joins {
		want := p.vals[b.slot]
		vs := b.field.values(ev, &e.jbuf)
		if len(vs) == 0 || want == "" {
			if b.optional {
				continue
			}
			return false
		}
		if !slices.Contains(vs, want) {
			return false
		}
	}
	return true
}

// advanceTo moves p past step j with ev. A step that binds nothing new
// consumes the sequence; one that binds new keys branches it, so that one
// snapshot restored into two volumes gives two sequences.
func (e *Engine) advanceTo(p *partial, j int, ev *event.Event, phases []*event.Event) {
	r := p.rule
	st := &r.steps[j]
	add := evid{step: j, ev: ev, phases: phases, unlogged: e.unloggedNow, late: e.lateNow, lateBy: e.lateByNow}
	if len(st.news) == 0 {
		e.remove(p)
		p.evidence = append(p.evidence, add)
		p.next, p.last = j+1, ev.Time
		if p.next == len(r.steps) {
			e.complete(p)
		} else {
			e.insert(p)
		}
		return
	}
	for _, vals := range e.combos(r, p.vals, st.news, ev) {
		e.nextID++
		ev2 := make([]evid, len(p.evidence), len(p.evidence)+1)
		copy(ev2, p.evidence)
		np := &partial{id: e.nextID, rule: r, next: j + 1, sc: p.sc, vals: vals,
			evidence: append(ev2, add), first: p.first, last: ev.Time, deadline: p.deadline, hidx: -1}
		if np.next == len(r.steps) {
			e.complete(np)
		} else {
			e.insert(np)
		}
	}
}

// insert files p under the key its next step joins on. An identical
// sequence (same rule, step and keys) is replaced by the newer one.
func (e *Engine) insert(p *partial) {
	r := p.rule
	v := p.vals[r.steps[p.next].index.slot]
	if v == "" || e.isLone(v) {
		return
	}
	key := string(e.indexKey(p.sc.name, r.idx, p.next, v))
	for _, q := range e.index[key] {
		if q.next == p.next && equal(q.vals, p.vals) {
			e.remove(q)
			break
		}
	}
	if list := e.index[key]; len(list) >= e.opt.MaxPerKey {
		e.remove(list[0])
		e.stats.EvictedPerKey++
	}
	p.key = key
	e.index[key] = append(e.index[key], p)
	heap.Push(&p.sc.expiry, p)
	e.stats.Partials++
	if e.stats.Partials > e.stats.PeakPartials {
		e.stats.PeakPartials = e.stats.Partials
	}
	for e.stats.Partials > e.opt.MaxPartials {
		// The sequence nearest its deadline goes first: in this scope, or
		// anywhere when this scope holds none.
		h := p.sc.expiry
		if len(h) == 0 {
			for _, s := range e.scopes {
				if len(s.expiry) > 0 && (len(h) == 0 || partialBefore(s.expiry[0], h[0])) {
					h = s.expiry
				}
			}
		}
		e.remove(h[0])
		e.stats.EvictedTotal++
	}
}

func (e *Engine) remove(p *partial) {
	if p.hidx < 0 {
		return
	}
	list := e.index[p.key]
	for i, q := range list {
		if q == p {
			list = append(list[:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(e.index, p.key)
	} else {
		e.index[p.key] = list
	}
	heap.Remove(&p.sc.expiry, p.hidx)
	p.hidx = -1
	e.stats.Partials--
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// addContext remembers a context event under each of its key values.
func (e *Engine) addContext(gidx int, sc *scopeState, ev *event.Event, phases []*event.Event) {
	c := e.contexts[gidx]
	if !e.where(c.Where, ev) {
		return
	}
	for _, v := range c.Field.values(ev, &e.ibuf) {
		if e.isLone(v) {
			continue
		}
		key := string(e.ctxKey(sc.name, gidx, v))
		ring := e.ctx[key]
		if ring == nil {
			ring = &ctxRing{ctx: gidx, sc: sc, value: v}
			e.ctx[key] = ring
		}
		ring.insert(ctxEntry{ev: ev, phases: phases})
		e.ctxN++
		if len(ring.entries) > contextDepth {
			ring.entries = ring.entries[1:]
			e.ctxN--
		}
		sc.ctxQ.Push(key, ev.Time)
	}
	if e.ctxN > e.opt.MaxContext {
		e.trimContext(sc)
	}
}

// insert adds an entry in time order, after entries of the same time.
func (r *ctxRing) insert(ce ctxEntry) {
	i := len(r.entries)
	for i > 0 && r.entries[i-1].ev.Time.After(ce.ev.Time) {
		i--
	}
	r.entries = append(r.entries, ctxEntry{})
	copy(r.entries[i+1:], r.entries[i:])
	r.entries[i] = ce
}

// complete turns a finished sequence into a match, looking up its
// contexts and adjustments.
func (e *Engine) complete(p *partial) {
	r := p.rule
	first := p.evidence[0].ev
	m := &Match{Rule: r.ID, Provider: first.Provider, Account: first.Account, Region: first.Region}
	for slot, name := range r.names {
		if v := p.vals[slot]; v != "" {
			m.Bindings = append(m.Bindings, Binding{Name: name, Value: v})
		}
	}
	for _, x := range p.evidence {
		m.Evidence = append(m.Evidence, Evidence{Step: r.steps[x.step].name, Event: x.ev, Phases: x.phases, Unlogged: x.unlogged})
		if x.late {
			m.Late = true
			m.LateBy = max(m.LateBy, x.lateBy)
		}
	}
	found := make([]bool, len(r.ctx))
	for ci := range r.ctx {
		c := &r.ctx[ci]
		ce, ok := e.findContext(c, p)
		if !ok {
			if c.Required {
				return
			}
			continue
		}
		found[ci] = true
		x := Evidence{Step: c.Name, Context: true, Event: ce.ev, Phases: ce.phases}
		i := len(m.Evidence)
		for i > 0 && m.Evidence[i-1].Event.Time.After(ce.ev.Time) {
			i--
		}
		m.Evidence = append(m.Evidence, Evidence{})
		copy(m.Evidence[i+1:], m.Evidence[i:])
		m.Evidence[i] = x
	}
	for ai := range r.adjust {
		a := &r.adjust[ai]
		if e.triggered(a, p, found) {
			m.Adjustments = append(m.Adjustments, Adjustment{Reason: a.Reason, Severity: a.Severity, Confidence: a.Confidence})
		}
	}
	m.First, m.Last = m.Evidence[0].Event.Time, m.Evidence[0].Event.Time
	for _, x := range m.Evidence {
		if x.Event.Time.Before(m.First) {
			m.First = x.Event.Time
		}
		if x.Event.Time.After(m.Last) {
			m.Last = x.Event.Time
		}
		for _, res := range x.Event.Resources {
			if !eventtime.HasResource(m.Resources, res) {
				m.Resources = append(m.Resources, res)
			}
		}
	}
	e.done = append(e.done, done{m: m, p: p})
}

// findContext returns the latest context event for c's binding at or
// before its step and within the window before it, leaving out the
// sequence's own events.
func (e *Engine) findContext(c *cctx, p *partial) (ctxEntry, bool) {
	v := p.vals[c.slot]
	if v == "" {
		return ctxEntry{}, false
	}
	at := p.evidence[c.before].ev.Time
	from := at.Add(-p.rule.window)
	ring := e.ctx[string(e.ctxKey(p.sc.name, c.gidx, v))]
	if ring == nil {
		return ctxEntry{}, false
	}
	for i := len(ring.entries) - 1; i >= 0; i-- {
		ce := ring.entries[i]
		t := ce.ev.Time
		if t.After(at) || ce.ev.Time.Before(from) {
			continue
		}
		own := false
		for _, x := range p.evidence {
			if x.ev == ce.ev || x.ev.UID != "" && x.ev.UID == ce.ev.UID {
				own = true
			}
		}
		if !own {
			return ce, true
		}
	}
	return ctxEntry{}, false
}

func (e *Engine) triggered(a *cadjust, p *partial, found []bool) bool {
	switch {
	case a.step >= 0:
		for _, x := range p.evidence {
			if x.step == a.step && e.where(a.Where, x.ev) {
				return true
			}
		}
	case a.ctx >= 0:
		return found[a.ctx]
	case a.ServiceActor:
		for _, x := range p.evidence {
			if x.ev.Actor.ServiceInitiated {
				return true
			}
		}
	}
	return false
}

// finish reports the matches completed by one event, dropping those a
// longer chain supersedes.
func (e *Engine) finish() {
	for i, d := range e.done {
		if e.supersededBy(d, i) {
			e.stats.Superseded++
			continue
		}
		if e.replaying && !d.m.Late {
			// Reported when it completed, before the replay.
			continue
		}
		e.stats.Matches++
		if e.opt.OnMatch != nil {
			e.opt.OnMatch(d.m)
		}
	}
	e.done = e.done[:0]
}

func (e *Engine) supersededBy(d done, i int) bool {
	for k, o := range e.done {
		if k == i || !o.p.rule.supersedes[d.p.rule.idx] {
			continue
		}
		all := true
		for _, x := range d.p.evidence {
			in := false
			for _, y := range o.p.evidence {
				if x.ev == y.ev {
					in = true
					break
				}
			}
			if !in {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

// partialHeap orders partial sequences by deadline, then id.
type partialHeap []*partial

func (h partialHeap) Len() int           { return len(h) }
func (h partialHeap) Less(i, j int) bool { return partialBefore(h[i], h[j]) }

func partialBefore(a, b *partial) bool {
	if !a.deadline.Equal(b.deadline) {
		return a.deadline.Before(b.deadline)
	}
	return a.id < b.id
}
func (h partialHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].hidx = i
	h[j].hidx = j
}
func (h *partialHeap) Push(x any) {
	p := x.(*partial)
	p.hidx = len(*h)
	*h = append(*h, p)
}
func (h *partialHeap) Pop() any {
	old := *h
	p := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	p.hidx = -1
	return p
}
