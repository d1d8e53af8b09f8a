package sequence

import (
	"container/heap"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/revertwatch/revertwatch/event"
)

// Defaults of Options.
const (
	DefaultLateness    = 15 * time.Minute
	DefaultMaxPerKey   = 16
	DefaultMaxPartials = 100_000
	DefaultMaxBuffered = 1_000_000
	DefaultMaxContext  = 100_000
	DefaultMaxSeen     = 1_000_000
	DefaultMaxPending  = 100_000
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
	// OnMatch receives each match, in event-time order of completion. The
	// match is the receiver's to keep.
	OnMatch func(*Match)
	// OnLate receives each relevant event that arrived older than the
	// watermark. Such events still feed single-event rules but no
	// sequence.
	OnLate func(*event.Event)
}

// Stats count what the engine saw and did. Counters only grow; the
// gauges (Partials, Buffered, ...) give the current state size.
type Stats struct {
	Events     uint64 `json:"events"`      // events given to Process
	Relevant   uint64 `json:"relevant"`    // events of an operation some rule uses
	Duplicates uint64 `json:"duplicates"`  // same event id or CloudTrail original id seen before
	Late       uint64 `json:"late"`        // relevant events beyond the allowed lateness
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

	Partials     int `json:"partials"`
	PeakPartials int `json:"peak_partials"`
	Buffered     int `json:"buffered"`
	PeakBuffered int `json:"peak_buffered"`
	Contexts     int `json:"contexts"`
	Pending      int `json:"pending"`
	Seen         int `json:"seen"`
}

// Engine runs rules over a stream of events. It is not safe for
// concurrent use: one goroutine owns it (per key partition, when scaled
// out).
type Engine struct {
	opt       Options
	lateness  time.Duration
	maxWindow time.Duration
	rules     []*rule
	byID      map[string]*rule
	contexts  []*cctx
	ctxRule   []*rule
	ops       map[uint64][]*opGroup

	maxTime  time.Time // latest event time seen
	frontier time.Time // every buffered event at or before it is released
	seq      uint64    // arrival counter: the tie-break of equal times
	nextID   uint64    // partial sequence ids

	buf     itemHeap
	seen    map[string]time.Time
	seenQ   queue
	pending map[string][]*event.Event
	pendQ   queue
	index   map[string][]*partial
	expiry  partialHeap
	ctx     map[string]*ctxRing
	ctxQ    queue
	ctxN    int

	stats Stats
	done  []done

	keyBuf           []byte
	ibuf, jbuf, vbuf [1]string
	cands            []*partial
}

type opGroup struct {
	provider, op string
	refs         []opRef
}

// opRef is a use of an operation: a step of a rule, or a context.
type opRef struct {
	rule *rule
	step int
	ctx  int // engine-wide context index, -1 for a step
}

type item struct {
	ev  *event.Event
	seq uint64
}

type evid struct {
	step   int
	ev     *event.Event
	phases []*event.Event
}

type partial struct {
	id       uint64
	rule     *rule
	next     int
	scope    string
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
	scope   string
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
		opt:     opt,
		byID:    map[string]*rule{},
		ops:     map[uint64][]*opGroup{},
		seen:    map[string]time.Time{},
		pending: map[string][]*event.Event{},
		index:   map[string][]*partial{},
		ctx:     map[string]*ctxRing{},
	}
	e.lateness = opt.Lateness
	if e.lateness == 0 {
		e.lateness = DefaultLateness
	} else if e.lateness < 0 {
		e.lateness = 0
	}
	def := func(p *int, v int) {
		if *p <= 0 {
			*p = v
		}
	}
	def(&e.opt.MaxPerKey, DefaultMaxPerKey)
	def(&e.opt.MaxPartials, DefaultMaxPartials)
	def(&e.opt.MaxBuffered, DefaultMaxBuffered)
	def(&e.opt.MaxContext, DefaultMaxContext)
	def(&e.opt.MaxSeen, DefaultMaxSeen)
	def(&e.opt.MaxPending, DefaultMaxPending)

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
			c := &r.ctx[ci]
			c.gidx = len(e.contexts)
			e.contexts = append(e.contexts, c)
			e.ctxRule = append(e.ctxRule, r)
			for _, op := range c.Operations {
				e.addOp(c.Provider, op, opRef{rule: r, step: -1, ctx: c.gidx})
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
	return e, nil
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
			// Contexts first, then rules in order: deterministic output.
			sort.SliceStable(g.refs, func(a, b int) bool {
				ra, rb := g.refs[a], g.refs[b]
				if (ra.ctx >= 0) != (rb.ctx >= 0) {
					return ra.ctx >= 0
				}
				return ra.rule.idx < rb.rule.idx
			})
			return
		}
	}
	e.ops[h] = append(e.ops[h], &opGroup{provider: provider, op: op, refs: []opRef{ref}})
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
	for _, g := range e.ops[hashOp(ev.Provider, ev.Operation)] {
		if g.provider == ev.Provider && strings.EqualFold(g.op, ev.Operation) {
			return g.refs
		}
	}
	return nil
}

// Stats returns the counters and the current state size.
func (e *Engine) Stats() Stats {
	s := e.stats
	s.Buffered = len(e.buf)
	s.Contexts = e.ctxN
	s.Pending = len(e.pending)
	s.Seen = len(e.seen)
	return s
}

// Watermark returns the event time up to which events have been released
// in order; an event older than it is late.
func (e *Engine) Watermark() time.Time { return e.frontier }

// Process takes one event. Events of operations no rule uses only move the
// watermark. The engine keeps ev (as evidence) if a rule uses it; the
// caller must not modify it afterwards.
func (e *Engine) Process(ev *event.Event) {
	if ev == nil {
		return
	}
	e.stats.Events++
	if e.lookup(ev) == nil {
		e.advance(ev.Time)
		return
	}
	e.stats.Relevant++
	if e.duplicate(ev) {
		e.stats.Duplicates++
		return
	}
	switch {
	case ev.Time.IsZero():
		e.stats.NoTime++
		e.late(ev)
		return
	case ev.Time.Before(e.frontier):
		e.stats.Late++
		e.late(ev)
		return
	}
	e.seq++
	heap.Push(&e.buf, item{ev: ev, seq: e.seq})
	if len(e.buf) > e.stats.PeakBuffered {
		e.stats.PeakBuffered = len(e.buf)
	}
	e.advance(ev.Time)
	for len(e.buf) > e.opt.MaxBuffered {
		it := heap.Pop(&e.buf).(item)
		e.stats.ForcedReleases++
		if it.ev.Time.After(e.frontier) {
			e.frontier = it.ev.Time
		}
		e.release(it.ev, false)
	}
}

// Flush ends the input: every buffered event is released in order and the
// watermark moves to the latest event time. Partial sequences stay until
// their window closes, so that a later Process (or a restored state) can
// still complete them.
func (e *Engine) Flush() {
	for len(e.buf) > 0 {
		it := heap.Pop(&e.buf).(item)
		e.release(it.ev, false)
	}
	if e.maxTime.After(e.frontier) {
		e.frontier = e.maxTime
	}
	e.expire()
}

// late reports an event that cannot take its place in order and runs the
// single-event rules on it.
func (e *Engine) late(ev *event.Event) {
	if e.opt.OnLate != nil {
		e.opt.OnLate(ev)
	}
	e.release(ev, true)
}

// advance moves the watermark with a new event time and releases what it
// passes.
func (e *Engine) advance(t time.Time) {
	if !t.After(e.maxTime) {
		return
	}
	e.maxTime = t
	w := t.Add(-e.lateness)
	if !w.After(e.frontier) {
		return
	}
	for len(e.buf) > 0 && !e.buf[0].ev.Time.After(w) {
		it := heap.Pop(&e.buf).(item)
		e.release(it.ev, false)
	}
	e.frontier = w
	e.expire()
}

// expire closes partial sequences whose window the watermark has passed
// and forgets what no window can need any more.
func (e *Engine) expire() {
	for len(e.expiry) > 0 && e.expiry[0].deadline.Before(e.frontier) {
		e.remove(e.expiry[0])
		e.stats.Expired++
	}
	cutoff := e.frontier.Add(-e.maxWindow)
	for e.seenQ.len() > 0 {
		q := e.seenQ.front()
		if !q.t.Before(cutoff) && len(e.seen) <= e.opt.MaxSeen {
			break
		}
		e.seenQ.pop()
		if t, ok := e.seen[q.key]; ok && !t.After(q.t) {
			delete(e.seen, q.key)
			if !q.t.Before(cutoff) {
				e.stats.EvictedSeen++
			}
		}
	}
	for e.pendQ.len() > 0 {
		q := e.pendQ.front()
		if !q.t.Before(cutoff) && len(e.pending) <= e.opt.MaxPending {
			break
		}
		e.pendQ.pop()
		if g, ok := e.pending[q.key]; ok && !g[len(g)-1].Time.After(q.t) {
			delete(e.pending, q.key)
			if !q.t.Before(cutoff) {
				e.stats.EvictedPending++
			}
		}
	}
	for e.ctxQ.len() > 0 {
		q := e.ctxQ.front()
		if !q.t.Before(cutoff) && e.ctxN <= e.opt.MaxContext {
			break
		}
		e.ctxQ.pop()
		ring := e.ctx[q.key]
		if ring == nil {
			continue
		}
		if len(ring.entries) > 0 && !ring.entries[0].ev.Time.After(q.t) {
			if !q.t.Before(cutoff) {
				e.stats.EvictedContext++
			}
			ring.entries = ring.entries[1:]
			e.ctxN--
		}
		if len(ring.entries) == 0 {
			delete(e.ctx, q.key)
		}
	}
}

// duplicate remembers the event's ids and reports whether one was seen.
func (e *Engine) duplicate(ev *event.Event) bool {
	if ev.UID == "" {
		return false
	}
	uid := ev.Provider + "\x00" + ev.UID
	if _, ok := e.seen[uid]; ok {
		return true
	}
	var orig string
	if ev.OriginalUID != "" {
		orig = ev.Provider + "\x00" + ev.OriginalUID
		if _, ok := e.seen[orig]; ok {
			return true
		}
	}
	e.remember(uid, ev.Time)
	if orig != "" {
		e.remember(orig, ev.Time)
	}
	return false
}

func (e *Engine) remember(key string, t time.Time) {
	e.seen[key] = t
	e.seenQ.push(key, t)
	if len(e.seen) > e.opt.MaxSeen {
		e.expire()
	}
}

// scope is what keys are unique within: provider, account and region for
// AWS; provider and subscription for Azure, whose ARM ids are global and
// whose records carry no reliable region.
func scope(ev *event.Event) string {
	if ev.Provider == event.Azure {
		return ev.Provider + "\x00" + strings.ToLower(ev.Account) + "\x00"
	}
	return ev.Provider + "\x00" + ev.Account + "\x00" + ev.Region
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

func phaseKey(ev *event.Event) string {
	return scope(ev) + "\x00" + ev.CorrelationUID + "\x00" + ev.Operation + "\x00" + strings.ToLower(ev.ResourceID)
}

// release hands one event, in order, to the rules. lateOnly is set for an
// event past the watermark: it feeds single-event rules and contexts only.
func (e *Engine) release(ev *event.Event, lateOnly bool) {
	var phases []*event.Event
	if ev.Provider == event.Azure {
		key := phaseKey(ev)
		if ev.Outcome == event.OutcomePending {
			e.stats.Phases++
			g := e.pending[key]
			i := len(g)
			for i > 0 && g[i-1].Time.After(ev.Time) {
				i--
			}
			g = append(g, nil)
			copy(g[i+1:], g[i:])
			g[i] = ev
			e.pending[key] = g
			e.pendQ.push(key, ev.Time)
			if len(e.pending) > e.opt.MaxPending {
				e.expire()
			}
			return
		}
		if g, ok := e.pending[key]; ok {
			phases = g
			delete(e.pending, key)
		}
	}
	if !ev.Succeeded() {
		e.stats.NotSuccess++
		return
	}
	if len(phases) > 0 {
		ev = mergePhases(ev, phases)
	}
	e.match(ev, phases, lateOnly)
}

// mergePhases returns a copy of the terminal record of an Azure operation
// with the keys its earlier phases carried: the request body is often only
// on Start, the response body only on Accept.
func mergePhases(end *event.Event, phases []*event.Event) *event.Event {
	m := *end
	m.Resources = append([]event.Resource(nil), end.Resources...)
	k := &m.Keys
	k.Instances = append([]string(nil), k.Instances...)
	k.Snapshots = append([]string(nil), k.Snapshots...)
	k.SourceSnapshots = append([]string(nil), k.SourceSnapshots...)
	for i := len(phases) - 1; i >= 0; i-- { // latest phase first
		p := phases[i]
		for _, r := range p.Resources {
			if !hasResource(m.Resources, r) {
				m.Resources = append(m.Resources, r)
			}
		}
		pk := &p.Keys
		fill := func(dst *string, src string) {
			if *dst == "" {
				*dst = src
			}
		}
		fill(&k.Disk, pk.Disk)
		fill(&k.VM, pk.VM)
		fill(&k.OSDisk, pk.OSDisk)
		fill(&k.SourceResource, pk.SourceResource)
		fill(&k.CreateOption, pk.CreateOption)
		fill(&k.RecoveryPoint, pk.RecoveryPoint)
		k.Instances = union(k.Instances, pk.Instances)
		k.Snapshots = union(k.Snapshots, pk.Snapshots)
		k.SourceSnapshots = union(k.SourceSnapshots, pk.SourceSnapshots)
		if len(m.Request) == 0 {
			m.Request = p.Request
		}
		if len(m.Response) == 0 {
			m.Response = p.Response
		}
		if m.Caller == "" {
			m.Caller = p.Caller
		}
	}
	return &m
}

func union(a, b []string) []string {
	for _, s := range b {
		if !contains(a, s) {
			a = append(a, s)
		}
	}
	return a
}

func hasResource(list []event.Resource, r event.Resource) bool {
	for _, x := range list {
		if x.UID == r.UID && x.Type == r.Type {
			return true
		}
	}
	return false
}

// match runs one released, successful event through the rules using its
// operation.
func (e *Engine) match(ev *event.Event, phases []*event.Event, lateOnly bool) {
	refs := e.lookup(ev)
	if refs == nil {
		return
	}
	sc := scope(ev)
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
func (e *Engine) start(r *rule, sc string, ev *event.Event, phases []*event.Event) {
	for _, vals := range e.combos(r, nil, r.steps[0].news, ev) {
		e.nextID++
		p := &partial{id: e.nextID, rule: r, next: 1, scope: sc, vals: vals,
			evidence: []evid{{step: 0, ev: ev, phases: phases}},
			first:    ev.Time, last: ev.Time, deadline: ev.Time.Add(r.window), hidx: -1}
		if len(r.steps) == 1 {
			e.complete(p)
		} else {
			e.insert(p)
		}
	}
}

// step advances the sequences waiting for step j that ev joins.
func (e *Engine) step(r *rule, j int, sc string, ev *event.Event, phases []*event.Event) {
	st := &r.steps[j]
	for _, v := range st.index.field.values(ev, &e.ibuf) {
		list := e.index[string(e.indexKey(sc, r.idx, j, v))]
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
		if !contains(vs, want) {
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
	add := evid{step: j, ev: ev, phases: phases}
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
		np := &partial{id: e.nextID, rule: r, next: j + 1, scope: p.scope, vals: vals,
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
	if v == "" {
		return
	}
	key := string(e.indexKey(p.scope, r.idx, p.next, v))
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
	heap.Push(&e.expiry, p)
	e.stats.Partials++
	if e.stats.Partials > e.stats.PeakPartials {
		e.stats.PeakPartials = e.stats.Partials
	}
	for e.stats.Partials > e.opt.MaxPartials {
		e.remove(e.expiry[0])
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
	heap.Remove(&e.expiry, p.hidx)
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
func (e *Engine) addContext(gidx int, sc string, ev *event.Event, phases []*event.Event) {
	c := e.contexts[gidx]
	if !e.where(c.Where, ev) {
		return
	}
	for _, v := range c.Field.values(ev, &e.ibuf) {
		key := string(e.ctxKey(sc, gidx, v))
		ring := e.ctx[key]
		if ring == nil {
			ring = &ctxRing{ctx: gidx, scope: sc, value: v}
			e.ctx[key] = ring
		}
		ring.insert(ctxEntry{ev: ev, phases: phases})
		e.ctxN++
		if len(ring.entries) > contextDepth {
			ring.entries = ring.entries[1:]
			e.ctxN--
		}
		e.ctxQ.push(key, ev.Time)
	}
	if e.ctxN > e.opt.MaxContext {
		e.expire()
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
		m.Evidence = append(m.Evidence, Evidence{Step: r.steps[x.step].name, Event: x.ev, Phases: x.phases})
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
			if !hasResource(m.Resources, res) {
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
	ring := e.ctx[string(e.ctxKey(p.scope, c.gidx, v))]
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

// itemHeap orders buffered events by time, then arrival.
type itemHeap []item

func (h itemHeap) Len() int { return len(h) }
func (h itemHeap) Less(i, j int) bool {
	if !h[i].ev.Time.Equal(h[j].ev.Time) {
		return h[i].ev.Time.Before(h[j].ev.Time)
	}
	return h[i].seq < h[j].seq
}
func (h itemHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *itemHeap) Push(x any)   { *h = append(*h, x.(item)) }
func (h *itemHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	old[len(old)-1] = item{}
	*h = old[:len(old)-1]
	return it
}

// partialHeap orders partial sequences by deadline, then id.
type partialHeap []*partial

func (h partialHeap) Len() int { return len(h) }
func (h partialHeap) Less(i, j int) bool {
	if !h[i].deadline.Equal(h[j].deadline) {
		return h[i].deadline.Before(h[j].deadline)
	}
	return h[i].id < h[j].id
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

// queue is a FIFO of keys with times, used to forget state in arrival
// order.
type queue struct {
	items []queued
	head  int
}

type queued struct {
	key string
	t   time.Time
}

func (q *queue) len() int      { return len(q.items) - q.head }
func (q *queue) front() queued { return q.items[q.head] }
func (q *queue) push(key string, t time.Time) {
	q.items = append(q.items, queued{key, t})
}
func (q *queue) pop() {
	q.items[q.head] = queued{}
	q.head++
	if q.head > 1024 && q.head*2 > len(q.items) {
		q.items = append(q.items[:0:0], q.items[q.head:]...)
		q.head = 0
	}
}
