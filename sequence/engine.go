package sequence

import (
	"container/heap"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/eventtime"
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
	DefaultHorizon     = 24 * time.Hour
	DefaultMaxHistory  = 50_000
)

// lateBatch is how many late events of one scope are replayed together;
// fewer wait until their scope's watermark has moved by the lateness, or
// until Flush.
const lateBatch = 256

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

	seq    uint64 // arrival counter: the tie-break of equal times
	nextID uint64 // partial sequence ids

	scopes  map[string]*scopeState // by scopeState.name
	last    *scopeState            // the scope of the previous event: logs come in runs of one scope
	nbuf    int                    // events buffered in all scopes
	seen    map[string]time.Time
	pending map[string][]*event.Event
	index   map[string][]*partial
	ctx     map[string]*ctxRing
	ctxN    int

	stats Stats
	done  []done

	horizon  time.Duration         // negative: no history
	nhist    int                   // events kept in all scopes' histories
	unlogged map[string]string     // at rest: pending key → uid of its last record, when no outcome was logged
	replay   map[*event.Event]late // during a replay: the late events and how late each was
	// unloggedNow is set while an operation counted done without its
	// outcome record goes through the rules.
	unloggedNow bool

	keyBuf           []byte
	ibuf, jbuf, vbuf [1]string
	cands            []*partial
}

// scopeState is one scope's event time and the state ordered by it. Each
// scope has its own watermark: logs at rest are laid out per account and
// region (AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/...), so a
// directory walk reads one scope's months before the next scope's, and a
// shared watermark would make every later scope late.
type scopeState struct {
	key      eventtime.Scope
	name     string    // the scope's part of index keys
	maxTime  time.Time // latest event time seen
	frontier time.Time // every buffered event at or before it is released
	swept    time.Time // the frontier when state was last expired
	buf      itemHeap
	expiry   partialHeap
	seenQ    queue
	pendQ    queue
	ctxQ     queue
	// hist is what the scope released, in release order, for replays;
	// lateQ the late events waiting for one, lateSince the frontier when
	// the first of them came.
	hist      []item
	lateQ     []item
	lateSince time.Time
}

// late is how late a late event was: its scope's newest event time when
// it came, minus its own time.
type late struct{ by time.Duration }

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

type item struct {
	ev   *event.Event
	seq  uint64
	rank int // tie-break of equal times: see opGroup.rank
	// unlogged marks an Azure operation folded from Start/Accept records
	// alone and counted done: no outcome record was ever logged.
	unlogged bool
	phases   []*event.Event // the records folded into an unlogged operation
	lateBy   time.Duration  // for a late event, how late it was
}

type evid struct {
	step     int
	ev       *event.Event
	phases   []*event.Event
	unlogged bool
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
		opt:     opt,
		byID:    map[string]*rule{},
		ops:     map[uint64][]*opGroup{},
		scopes:  map[string]*scopeState{},
		seen:    map[string]time.Time{},
		pending: map[string][]*event.Event{},
		index:   map[string][]*partial{},
		ctx:     map[string]*ctxRing{},
	}
	e.horizon = opt.Horizon
	if e.horizon == 0 {
		e.horizon = DefaultHorizon
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
	def(&e.opt.MaxHistory, DefaultMaxHistory)

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

// rank returns the tie-break of an event's operation.
func (e *Engine) rank(ev *event.Event) int {
	if g := e.group(ev); g != nil {
		return g.rank
	}
	return 0
}

// Stats returns the counters and the current state size.
func (e *Engine) Stats() Stats {
	s := e.stats
	s.Buffered = e.nbuf
	s.Contexts = e.ctxN
	s.Pending = len(e.pending)
	s.Seen = len(e.seen)
	s.History, s.LateWaiting = e.nhist, 0
	for _, sc := range e.scopes {
		s.LateWaiting += len(sc.lateQ)
	}
	return s
}

// Watermark returns the event time up to which a scope's events have been
// released in order; an older event of that scope is late. Azure scopes
// have no region.
func (e *Engine) Watermark(provider, account, region string) time.Time {
	k := eventtime.Canonical(eventtime.Scope{Provider: provider, Account: account, Region: region})
	if s := e.scopes[k.Name()]; s != nil {
		return s.frontier
	}
	return time.Time{}
}

// scopeOf returns the event's scope without allocating for a scope seen
// before.
func (e *Engine) scopeOf(ev *event.Event) *scopeState {
	region := ev.Region
	if ev.Provider == event.Azure {
		region = ""
	}
	if l := e.last; l != nil && l.key.Provider == ev.Provider && l.key.Region == region &&
		(l.key.Account == ev.Account || ev.Provider == event.Azure && strings.EqualFold(l.key.Account, ev.Account)) {
		return l
	}
	e.keyBuf = eventtime.AppendName(e.keyBuf[:0], ev)
	s := e.scopes[string(e.keyBuf)]
	if s == nil {
		s = e.newScope(eventtime.ScopeOf(ev))
	}
	e.last = s
	return s
}

func (e *Engine) newScope(k eventtime.Scope) *scopeState {
	s := &scopeState{key: k, name: k.Name()}
	e.scopes[s.name] = s
	return s
}

// Process takes one event. Events of operations no rule uses only move the
// watermark. The engine keeps ev (as evidence) if a rule uses it; the
// caller must not modify it afterwards.
func (e *Engine) Process(ev *event.Event) {
	if ev == nil {
		return
	}
	e.stats.Events++
	sc := e.scopeOf(ev)
	g := e.group(ev)
	if g == nil {
		e.advance(sc, ev.Time)
		return
	}
	e.stats.Relevant++
	if e.duplicate(sc, ev) {
		e.stats.Duplicates++
		return
	}
	switch {
	case ev.Time.IsZero():
		e.stats.NoTime++
		e.tooLate(sc, ev)
		return
	case ev.Time.Before(sc.frontier):
		e.stats.Late++
		if e.opt.OnLate != nil {
			e.opt.OnLate(ev)
		}
		if e.horizon < 0 || ev.Time.Before(sc.frontier.Add(-e.horizon)) {
			e.stats.TooLate++
			e.release(sc, item{ev: ev}, true)
			return
		}
		e.seq++
		e.queueLate(sc, item{ev: ev, seq: e.seq, rank: g.rank, lateBy: sc.maxTime.Sub(ev.Time)})
		return
	}
	e.seq++
	heap.Push(&sc.buf, item{ev: ev, seq: e.seq, rank: g.rank})
	e.nbuf++
	if e.nbuf > e.stats.PeakBuffered {
		e.stats.PeakBuffered = e.nbuf
	}
	e.advance(sc, ev.Time)
	for e.nbuf > e.opt.MaxBuffered {
		victim := sc
		if len(victim.buf) == 0 {
			victim = e.earliestBuffer()
		}
		it := heap.Pop(&victim.buf).(item)
		e.nbuf--
		e.stats.ForcedReleases++
		if it.ev.Time.After(victim.frontier) {
			victim.frontier = it.ev.Time
		}
		e.release(victim, it, false)
	}
}

// earliestBuffer returns the scope whose next buffered event comes first.
func (e *Engine) earliestBuffer() *scopeState {
	var best *scopeState
	for _, s := range e.scopes {
		if len(s.buf) > 0 && (best == nil || itemBefore(s.buf[0], best.buf[0])) {
			best = s
		}
	}
	return best
}

// Flush releases every buffered event in event-time order, moves each
// scope's watermark to its latest event time and replays the late events
// waiting for it, as when the input has been quiet. Partial sequences
// stay until their window closes, so that a later Process (or a restored
// state) can still complete them; an event older than the new watermark
// is late and is replayed in its place.
func (e *Engine) Flush() {
	type scoped struct {
		sc *scopeState
		it item
	}
	var all []scoped
	for _, s := range e.scopes {
		for _, it := range s.buf {
			all = append(all, scoped{s, it})
		}
		s.buf = nil
	}
	sort.Slice(all, func(i, j int) bool { return itemBefore(all[i].it, all[j].it) })
	e.nbuf = 0
	for _, x := range all {
		e.release(x.sc, x.it, false)
	}
	for _, s := range e.sortedScopes() {
		if s.maxTime.After(s.frontier) {
			s.frontier = s.maxTime
		}
		e.settle(s)
		e.expire(s)
	}
}

// End ends the input: Flush, then every Azure operation still waiting for
// its outcome record counts as done with its outcome not logged (a Failure
// record arriving later no longer cancels it).
func (e *Engine) End() {
	e.Flush()
	for _, s := range e.sortedScopes() {
		for _, q := range append([]queued(nil), s.pendQ.live()...) {
			e.resolvePending(s, q.key, false)
		}
		e.settle(s)
	}
}

// PhaseKey names the Azure operation a record is a phase of, as the
// engine groups its Start, Accept and outcome records.
func PhaseKey(ev *event.Event) string {
	return eventtime.ScopeOf(ev).Name() + "\x00" + ev.CorrelationUID + "\x00" + ev.Operation + "\x00" + strings.ToLower(ev.ResourceID)
}

// ExpectUnlogged tells the engine, before it sees them, that the Azure
// operation with this PhaseKey never logged its outcome and that uid is
// its last record in event-time order: when that record is released the
// operation counts as done, in its place. Logs at rest are read whole
// before the rules run, so hunt knows this; live, an operation counts as
// done once its scope's watermark is the lateness past its last record.
func (e *Engine) ExpectUnlogged(key, uid string) {
	if e.unlogged == nil {
		e.unlogged = map[string]string{}
	}
	e.unlogged[key] = uid
}

func (e *Engine) sortedScopes() []*scopeState {
	out := make([]*scopeState, 0, len(e.scopes))
	for _, s := range e.scopes {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// tooLate reports an event that cannot take its place in order and runs
// the single-event rules on it.
func (e *Engine) tooLate(sc *scopeState, ev *event.Event) {
	if e.opt.OnLate != nil {
		e.opt.OnLate(ev)
	}
	e.release(sc, item{ev: ev}, true)
}

// queueLate holds a late event for the next replay of its scope.
func (e *Engine) queueLate(sc *scopeState, it item) {
	if len(sc.lateQ) == 0 {
		sc.lateSince = sc.frontier
	}
	sc.lateQ = append(sc.lateQ, it)
	if len(sc.lateQ) >= lateBatch {
		e.settle(sc)
	}
}

// settle replays a scope's history with its late events in their places:
// the scope's sequences, contexts and pending operations are rebuilt from
// the events of the last window before the earliest late event on, in
// event-time order, and the matches that hold a late event are reported
// (the others were reported when they completed). Events still buffered
// are not touched; they are released into the rebuilt state.
func (e *Engine) settle(sc *scopeState) {
	if len(sc.lateQ) == 0 {
		return
	}
	lateQ := sc.lateQ
	sc.lateQ, sc.lateSince = nil, time.Time{}
	sort.Slice(lateQ, func(i, j int) bool { return itemBefore(lateQ[i], lateQ[j]) })
	from := lateQ[0].ev.Time.Add(-e.maxWindow)
	i := sort.Search(len(sc.hist), func(i int) bool { return !sc.hist[i].ev.Time.Before(from) })
	merged := make([]item, 0, len(sc.hist)-i+len(lateQ))
	a, b := sc.hist[i:], lateQ
	for len(a) > 0 || len(b) > 0 {
		if len(b) == 0 || len(a) > 0 && itemBefore(a[0], b[0]) {
			merged = append(merged, a[0])
			a = a[1:]
		} else {
			merged = append(merged, b[0])
			b = b[1:]
		}
	}
	e.resetScope(sc)
	e.replay = make(map[*event.Event]late, len(lateQ))
	for _, it := range lateQ {
		e.replay[it.ev] = late{by: it.lateBy}
	}
	for _, it := range merged {
		e.release(sc, it, false)
	}
	e.replay = nil
	e.nhist += len(lateQ)
	sc.hist = append(sc.hist[:i:i], merged...)
	e.stats.Replays++
	e.trimHistory(sc)
}

// resetScope forgets a scope's partial sequences, contexts and pending
// operations, before a replay rebuilds them.
func (e *Engine) resetScope(sc *scopeState) {
	for len(sc.expiry) > 0 {
		e.remove(sc.expiry[0])
	}
	for _, q := range sc.ctxQ.live() {
		if ring := e.ctx[q.key]; ring != nil {
			e.ctxN -= len(ring.entries)
			delete(e.ctx, q.key)
		}
	}
	sc.ctxQ = queue{}
	for _, q := range sc.pendQ.live() {
		delete(e.pending, q.key)
	}
	sc.pendQ = queue{}
}

// advance moves a scope's watermark with a new event time and releases
// what it passes.
func (e *Engine) advance(sc *scopeState, t time.Time) {
	if !t.After(sc.maxTime) {
		return
	}
	sc.maxTime = t
	w := t.Add(-e.lateness)
	if !w.After(sc.frontier) {
		return
	}
	for len(sc.buf) > 0 && !sc.buf[0].ev.Time.After(w) {
		it := heap.Pop(&sc.buf).(item)
		e.nbuf--
		e.release(sc, it, false)
	}
	sc.frontier = w
	// Expiring once per second of event time is as good as per event (a
	// completion checks its deadline itself) and much cheaper.
	if w.Sub(sc.swept) >= time.Second {
		e.expire(sc)
	}
	if len(sc.lateQ) > 0 && !w.Before(sc.lateSince.Add(e.lateness)) {
		e.settle(sc)
	}
}

// retention is how far behind a scope's watermark the engine remembers
// events: the longest window, and the horizon for late events.
func (e *Engine) retention() time.Duration {
	if e.horizon < 0 {
		return e.maxWindow
	}
	return e.maxWindow + e.horizon
}

// expire closes a scope's partial sequences whose window its watermark
// has passed, counts done the Azure operations whose outcome the lateness
// has waited for in vain, and forgets what no window can need any more.
func (e *Engine) expire(sc *scopeState) {
	sc.swept = sc.frontier
	for len(sc.expiry) > 0 && sc.expiry[0].deadline.Before(sc.frontier) {
		e.remove(sc.expiry[0])
		e.stats.Expired++
	}
	if e.horizon >= 0 {
		// Live: an operation whose outcome did not come within the
		// lateness counts as done, in its place (a late event).
		wait := sc.frontier.Add(-e.lateness)
		for sc.pendQ.len() > 0 && sc.pendQ.front().t.Before(wait) {
			q := sc.pendQ.front()
			sc.pendQ.pop()
			if g, ok := e.pending[q.key]; ok && !g[len(g)-1].Time.After(q.t) {
				e.resolvePending(sc, q.key, false)
			}
		}
	}
	e.trimSeen(sc)
	e.trimPending(sc)
	e.trimContext(sc)
	e.trimHistory(sc)
}

// trimHistory forgets a scope's released events older than the retention,
// then, while over the cap, the oldest of this scope (or of the scope
// holding the oldest, when this one has none).
func (e *Engine) trimHistory(sc *scopeState) {
	if e.horizon < 0 {
		return
	}
	cutoff := sc.frontier.Add(-e.retention())
	n := 0
	for n < len(sc.hist) && sc.hist[n].ev.Time.Before(cutoff) {
		n++
	}
	e.dropHistory(sc, n, false)
	for e.nhist > e.opt.MaxHistory {
		victim := sc
		if len(victim.hist) == 0 {
			victim = nil
			for _, s := range e.sortedScopes() {
				if len(s.hist) > 0 && (victim == nil || s.hist[0].ev.Time.Before(victim.hist[0].ev.Time)) {
					victim = s
				}
			}
			if victim == nil {
				return
			}
		}
		e.dropHistory(victim, min(len(victim.hist), e.nhist-e.opt.MaxHistory), true)
	}
}

func (e *Engine) dropHistory(sc *scopeState, n int, forced bool) {
	if n == 0 {
		return
	}
	clear(sc.hist[:n])
	sc.hist = sc.hist[n:]
	e.nhist -= n
	if forced {
		e.stats.EvictedHistory += uint64(n)
	}
	if cap(sc.hist) > 1024 && len(sc.hist) < cap(sc.hist)/4 {
		sc.hist = append([]item(nil), sc.hist...)
	}
}

// trim forgets a scope's queued state older than cutoff, then, while over
// a cap, the oldest state of the scope (or of the scope holding the
// oldest, when this one has none).
func (e *Engine) trim(sc *scopeState, cutoff time.Time, get func(*scopeState) *queue, over func() bool, drop func(q queued, forced bool)) {
	for q := get(sc); q.len() > 0 && q.front().t.Before(cutoff); {
		it := q.front()
		q.pop()
		drop(it, false)
	}
	for over() {
		q := get(sc)
		if q.len() == 0 {
			var best *queue
			for _, s := range e.sortedScopes() {
				if o := get(s); o.len() > 0 && (best == nil || o.front().t.Before(best.front().t)) {
					best = o
				}
			}
			if best == nil {
				return
			}
			q = best
		}
		it := q.front()
		q.pop()
		drop(it, true)
	}
}

// trimSeen forgets event ids past the retention: a re-delivery is
// recognised for as long as the events it could join are kept.
func (e *Engine) trimSeen(sc *scopeState) {
	e.trim(sc, sc.frontier.Add(-e.retention()), func(s *scopeState) *queue { return &s.seenQ },
		func() bool { return len(e.seen) > e.opt.MaxSeen },
		func(q queued, forced bool) {
			if t, ok := e.seen[q.key]; ok && !t.After(q.t) {
				delete(e.seen, q.key)
				if forced {
					e.stats.EvictedSeen++
				}
			}
		})
}

func (e *Engine) trimPending(sc *scopeState) {
	e.trim(sc, sc.frontier.Add(-e.maxWindow), func(s *scopeState) *queue { return &s.pendQ },
		func() bool { return len(e.pending) > e.opt.MaxPending },
		func(q queued, forced bool) {
			if g, ok := e.pending[q.key]; ok && !g[len(g)-1].Time.After(q.t) {
				delete(e.pending, q.key)
				if forced {
					e.stats.EvictedPending++
				}
			}
		})
}

func (e *Engine) trimContext(sc *scopeState) {
	e.trim(sc, sc.frontier.Add(-e.maxWindow), func(s *scopeState) *queue { return &s.ctxQ },
		func() bool { return e.ctxN > e.opt.MaxContext },
		func(q queued, forced bool) {
			ring := e.ctx[q.key]
			if ring == nil {
				return
			}
			if len(ring.entries) > 0 && !ring.entries[0].ev.Time.After(q.t) {
				if forced {
					e.stats.EvictedContext++
				}
				ring.entries = ring.entries[1:]
				e.ctxN--
			}
			if len(ring.entries) == 0 {
				delete(e.ctx, q.key)
			}
		})
}

// duplicate remembers the event's ids and reports whether one was seen.
func (e *Engine) duplicate(sc *scopeState, ev *event.Event) bool {
	// Event ids are GUIDs (CloudTrail eventID, Azure eventDataId) or
	// hashes: unique without a provider prefix.
	if ev.UID == "" {
		return false
	}
	if _, ok := e.seen[ev.UID]; ok {
		return true
	}
	if ev.OriginalUID != "" {
		if _, ok := e.seen[ev.OriginalUID]; ok {
			return true
		}
	}
	e.remember(sc, ev.UID, ev.Time)
	if ev.OriginalUID != "" {
		e.remember(sc, ev.OriginalUID, ev.Time)
	}
	return false
}

func (e *Engine) remember(sc *scopeState, key string, t time.Time) {
	e.seen[key] = t
	sc.seenQ.push(key, t)
	if len(e.seen) > e.opt.MaxSeen {
		e.trimSeen(sc)
	}
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

func phaseKey(sc *scopeState, ev *event.Event) string {
	return sc.name + "\x00" + ev.CorrelationUID + "\x00" + ev.Operation + "\x00" + strings.ToLower(ev.ResourceID)
}

// resolvedKey marks, among the remembered event ids, an Azure operation
// counted done without its outcome: its outcome record, should it come
// after all, is not counted a second time.
func resolvedKey(key string) string { return "resolved\x00" + key }

// resolvePending counts a pending Azure operation done with its outcome
// not logged. inOrder is set when its last record was just released (at
// rest); otherwise the folded operation is late and replayed in place.
func (e *Engine) resolvePending(sc *scopeState, key string, inOrder bool) {
	g, ok := e.pending[key]
	if !ok {
		return
	}
	delete(e.pending, key)
	if _, done := e.seen[resolvedKey(key)]; done {
		return
	}
	end := g[len(g)-1]
	e.remember(sc, resolvedKey(key), end.Time)
	e.stats.Unlogged++
	ev := mergePhases(end, g[:len(g)-1])
	it := item{ev: ev, rank: e.rank(end), unlogged: true, phases: g[: len(g)-1 : len(g)-1]}
	if inOrder {
		e.release(sc, it, false)
		return
	}
	e.seq++
	it.seq = e.seq
	it.lateBy = sc.maxTime.Sub(end.Time)
	e.queueLate(sc, it)
	// It has waited for its outcome already: replay at the next chance.
	sc.lateSince = sc.frontier.Add(-e.lateness)
}

// release hands one event, in order, to the rules and keeps it for
// replays. lateOnly is set for an event too late to replay: it feeds
// single-event rules and contexts only.
func (e *Engine) release(sc *scopeState, it item, lateOnly bool) {
	ev := it.ev
	if e.replay == nil && !lateOnly && e.horizon >= 0 {
		sc.hist = append(sc.hist, it)
		e.nhist++
		if e.nhist > e.opt.MaxHistory {
			e.trimHistory(sc)
		}
	}
	if it.unlogged {
		e.matchEvent(sc, ev, it.phases, lateOnly, true)
		return
	}
	var phases []*event.Event
	if ev.Provider == event.Azure {
		key := phaseKey(sc, ev)
		if _, done := e.seen[resolvedKey(key)]; done && ev.Phase != event.PhaseNone {
			// Counted done already, its outcome not logged: a record of it
			// arriving now changes nothing (explain shows it).
			e.stats.NotSuccess++
			return
		}
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
			sc.pendQ.push(key, ev.Time)
			if uid, ok := e.unlogged[key]; ok && uid == ev.UID {
				e.resolvePending(sc, key, true)
				return
			}
			if len(e.pending) > e.opt.MaxPending {
				e.trimPending(sc)
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
	e.matchEvent(sc, ev, phases, lateOnly, false)
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

// matchEvent runs one released, successful event through the rules using
// its operation. unlogged marks an Azure operation counted done without
// its outcome record.
func (e *Engine) matchEvent(sc *scopeState, ev *event.Event, phases []*event.Event, lateOnly, unlogged bool) {
	refs := e.lookup(ev)
	if refs == nil {
		return
	}
	e.unloggedNow = unlogged
	defer func() { e.unloggedNow = false }()
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
			evidence: []evid{{step: 0, ev: ev, phases: phases, unlogged: e.unloggedNow}},
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
	add := evid{step: j, ev: ev, phases: phases, unlogged: e.unloggedNow}
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
	if v == "" {
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
		sc.ctxQ.push(key, ev.Time)
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
		if l, ok := e.replay[x.ev]; ok {
			m.Late = true
			m.LateBy = max(m.LateBy, l.by)
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
		if e.replay != nil && !d.m.Late {
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

// itemHeap orders buffered events by time, then arrival.
type itemHeap []item

func (h itemHeap) Len() int           { return len(h) }
func (h itemHeap) Less(i, j int) bool { return itemBefore(h[i], h[j]) }

func itemBefore(a, b item) bool {
	if !a.ev.Time.Equal(b.ev.Time) {
		return a.ev.Time.Before(b.ev.Time)
	}
	if a.rank != b.rank {
		return a.rank < b.rank
	}
	return a.seq < b.seq
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

// live returns the entries not yet popped.
func (q *queue) live() []queued { return q.items[q.head:] }

func (q *queue) pop() {
	q.items[q.head] = queued{}
	q.head++
	if q.head > 1024 && q.head*2 > len(q.items) {
		q.items = append(q.items[:0:0], q.items[q.head:]...)
		q.head = 0
	}
}
