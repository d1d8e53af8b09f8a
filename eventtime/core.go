package eventtime

import (
	"container/heap"
	"sort"
	"strings"
	"time"

	"github.com/revertwatch/revertwatch/event"
)

// Defaults of CoreOptions.
const (
	DefaultLateness    = 15 * time.Minute
	DefaultHorizon     = 24 * time.Hour
	DefaultMaxBuffered = 1_000_000
	DefaultMaxSeen     = 1_000_000
	DefaultMaxPending  = 100_000
	DefaultMaxHistory  = 50_000
	// DefaultRemember is how long record ids are remembered for
	// de-duplication: far longer than the events themselves are kept,
	// since an id costs little and a re-delivery days late must still not
	// fire a single-event rule a second time.
	DefaultRemember = 7 * 24 * time.Hour
)

// lateBatch is how many late events of one scope are replayed together;
// fewer wait until their scope's watermark has moved by the lateness, or
// until Flush.
const lateBatch = 256

// CoreOptions tune a Core. Zero values take the defaults.
type CoreOptions struct {
	// Lateness is how far behind the latest event time of its scope an
	// event may arrive and still be released in order. Zero means
	// DefaultLateness; a negative value means none.
	Lateness time.Duration
	// Horizon is how far behind its scope's watermark a late event may be
	// and still be replayed in its place: the Core keeps the relevant
	// events of the last Window plus Horizon. Zero means DefaultHorizon; a
	// negative value keeps no history, for input already in event-time
	// order (logs at rest), where nothing is late.
	Horizon time.Duration
	// Window is the longest window of the rules the handler runs: how far
	// back a replay starts, and what is kept besides the horizon.
	Window time.Duration
	// MaxBuffered caps events held for ordering; past it the oldest is
	// released early.
	MaxBuffered int
	// MaxSeen caps the event ids remembered for de-duplication.
	MaxSeen int
	// Remember is how far behind the watermark record ids are remembered
	// (at least the window and horizon); zero means DefaultRemember.
	Remember time.Duration
	// MaxPending caps Azure operations waiting for their outcome record.
	MaxPending int
	// MaxHistory caps the events kept for replays; past it the oldest are
	// forgotten first, and counted.
	MaxHistory int
	// OnLate receives each relevant event that arrived behind its scope's
	// watermark (replayed in place, or too late for that).
	OnLate func(*event.Event)
}

// Release is one event the Core hands its Handler, in event-time order
// within its scope.
type Release struct {
	// Record is the record released; nil for an Azure operation counted
	// done without an outcome record (Unlogged).
	Record *event.Event
	// Op is the call the record completes successfully — for Azure, a
	// copy of the outcome record with the keys of its Start and Accept
	// records merged in — or nil: a pending phase, a failed or dry-run
	// call.
	Op *event.Event
	// Phases are the Azure Start and Accept records folded into Op.
	Phases []*event.Event
	// Unlogged marks an Azure operation whose outcome was never logged,
	// counted done at the end of the input or once the lateness passed.
	Unlogged bool
	// TooLate marks an event beyond the horizon: for single-event rules
	// only, never part of a sequence.
	TooLate bool
	// Replay is set while a scope's history is run again with late events
	// in their places; Late marks the late ones (Op counts as late when a
	// record folded into it was), and LateBy says how late.
	Replay bool
	Late   bool
	LateBy time.Duration
}

// Handler is what runs rules on the events a Core orders.
type Handler interface {
	// Release takes one event of a scope.
	Release(s *ScopeState, r *Release)
	// Reset forgets the handler's state of a scope before its history is
	// replayed into it.
	Reset(s *ScopeState)
	// Expire is called when a scope's watermark has moved: close what it
	// passed.
	Expire(s *ScopeState)
}

// CoreStats count what a Core saw and did. Counters only grow; the
// gauges give the current state size.
type CoreStats struct {
	Events         uint64
	Relevant       uint64
	Duplicates     uint64
	Late           uint64
	TooLate        uint64
	Replays        uint64
	Unlogged       uint64
	NoTime         uint64
	NotSuccess     uint64
	Phases         uint64
	EvictedSeen    uint64
	EvictedPending uint64
	EvictedHistory uint64
	ForcedReleases uint64

	Buffered, PeakBuffered, Pending, Seen, History, LateWaiting int
}

// Core is the one event-time core of revertwatch's rule engines: per
// scope, it de-duplicates records, holds them until the watermark (the
// scope's latest event time less the lateness) passes them, releases them
// in event-time order, folds the Start, Accept and outcome records of an
// Azure operation into one call, and keeps what it released for a while so
// that an event later than the lateness is replayed in its place. It is
// not safe for concurrent use.
type Core struct {
	opt      CoreOptions
	lateness time.Duration
	horizon  time.Duration
	rank     func(*event.Event) (int, bool)
	h        Handler

	seq      uint64 // arrival counter: the tie-break of equal times and ranks
	scopes   map[string]*ScopeState
	last     *ScopeState
	keyBuf   []byte
	nbuf     int
	nhist    int
	seen     map[string]time.Time
	pending  map[string][]*event.Event
	unlogged map[string]string     // at rest: pending key → uid of its last record
	replay   map[*event.Event]late // during a replay: the late events
	stats    CoreStats
}

// late is how late a late event was: its scope's newest event time when
// it came, minus its own time.
type late struct{ by time.Duration }

// ScopeState is one scope's event time and what the Core holds of it.
type ScopeState struct {
	Key      Scope
	Name     string
	maxTime  time.Time // latest event time seen
	frontier time.Time // every buffered event at or before it is released
	swept    time.Time // the frontier when state was last expired
	buf      itemHeap
	seenQ    queue
	pendQ    queue
	// hist is what the scope released, in release order, for replays;
	// lateQ the late events waiting for one, lateSince the frontier when
	// the first of them came.
	hist      []item
	lateQ     []item
	lateSince time.Time
}

// Frontier is the event time up to which the scope's events have been
// released in order.
func (s *ScopeState) Frontier() time.Time { return s.frontier }

type item struct {
	ev   *event.Event
	seq  uint64
	rank int // tie-break of equal times: the handler's order of steps
	// unlogged marks an Azure operation folded from Start/Accept records
	// alone; phases are the records folded into it.
	unlogged bool
	phases   []*event.Event
	lateBy   time.Duration // for a late event, how late it was
}

// NewCore returns a Core that hands what rank calls relevant to h. rank
// also gives the tie-break of events of equal time (a stop before the
// start of the same second); events it calls irrelevant only move their
// scope's watermark.
func NewCore(opt CoreOptions, rank func(*event.Event) (int, bool), h Handler) *Core {
	c := &Core{opt: opt, rank: rank, h: h, scopes: map[string]*ScopeState{},
		seen: map[string]time.Time{}, pending: map[string][]*event.Event{}}
	c.horizon = opt.Horizon
	if c.horizon == 0 {
		c.horizon = DefaultHorizon
	}
	c.lateness = opt.Lateness
	if c.lateness == 0 {
		c.lateness = DefaultLateness
	} else if c.lateness < 0 {
		c.lateness = 0
	}
	def := func(p *int, v int) {
		if *p <= 0 {
			*p = v
		}
	}
	def(&c.opt.MaxBuffered, DefaultMaxBuffered)
	def(&c.opt.MaxSeen, DefaultMaxSeen)
	def(&c.opt.MaxPending, DefaultMaxPending)
	def(&c.opt.MaxHistory, DefaultMaxHistory)
	if c.opt.Remember <= 0 {
		c.opt.Remember = DefaultRemember
	}
	return c
}

// Lateness is the allowed lateness in force.
func (c *Core) Lateness() time.Duration { return c.lateness }

// Stats returns the counters and the current state size.
func (c *Core) Stats() CoreStats {
	s := c.stats
	s.Buffered, s.Pending, s.Seen, s.History, s.LateWaiting = c.nbuf, len(c.pending), len(c.seen), c.nhist, 0
	for _, sc := range c.scopes {
		s.LateWaiting += len(sc.lateQ)
	}
	return s
}

// Watermark returns the event time up to which a scope's events have been
// released in order; an older event of that scope is late. Azure scopes
// have no region.
func (c *Core) Watermark(provider, account, region string) time.Time {
	k := Canonical(Scope{Provider: provider, Account: account, Region: region})
	if s := c.scopes[k.Name()]; s != nil {
		return s.frontier
	}
	return time.Time{}
}

// scopeOf returns the event's scope without allocating for a scope seen
// before.
func (c *Core) scopeOf(ev *event.Event) *ScopeState {
	region := ev.Region
	if ev.Provider == event.Azure || ev.Provider == event.GCP {
		region = ""
	}
	if l := c.last; l != nil && l.Key.Provider == ev.Provider && l.Key.Region == region &&
		(l.Key.Account == ev.Account || ev.Provider == event.Azure && strings.EqualFold(l.Key.Account, ev.Account)) {
		return l
	}
	c.keyBuf = AppendName(c.keyBuf[:0], ev)
	s := c.scopes[string(c.keyBuf)]
	if s == nil {
		s = c.newScope(ScopeOf(ev))
	}
	c.last = s
	return s
}

func (c *Core) newScope(k Scope) *ScopeState {
	s := &ScopeState{Key: k, Name: k.Name()}
	c.scopes[s.Name] = s
	return s
}

// Scopes returns the scopes in name order.
func (c *Core) Scopes() []*ScopeState {
	out := make([]*ScopeState, 0, len(c.scopes))
	for _, s := range c.scopes {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Process takes one event. The Core keeps a relevant event (for the
// handler, as evidence); the caller must not modify it afterwards.
func (c *Core) Process(ev *event.Event) {
	if ev == nil {
		return
	}
	c.stats.Events++
	sc := c.scopeOf(ev)
	rank, ok := c.rank(ev)
	if !ok {
		c.advance(sc, ev.Time)
		return
	}
	c.stats.Relevant++
	if c.duplicate(sc, ev) {
		c.stats.Duplicates++
		return
	}
	switch {
	case ev.Time.IsZero():
		c.stats.NoTime++
		c.tooLate(sc, ev)
		return
	case ev.Time.Before(sc.frontier):
		c.stats.Late++
		if c.horizon < 0 || ev.Time.Before(sc.frontier.Add(-c.horizon)) {
			c.stats.TooLate++
			c.tooLate(sc, ev)
			return
		}
		if c.opt.OnLate != nil {
			c.opt.OnLate(ev)
		}
		c.seq++
		c.queueLate(sc, item{ev: ev, seq: c.seq, rank: rank, lateBy: sc.maxTime.Sub(ev.Time)})
		return
	}
	c.seq++
	heap.Push(&sc.buf, item{ev: ev, seq: c.seq, rank: rank})
	c.nbuf++
	if c.nbuf > c.stats.PeakBuffered {
		c.stats.PeakBuffered = c.nbuf
	}
	c.advance(sc, ev.Time)
	for c.nbuf > c.opt.MaxBuffered {
		victim := sc
		if len(victim.buf) == 0 {
			victim = c.earliestBuffer()
		}
		it := heap.Pop(&victim.buf).(item)
		c.nbuf--
		c.stats.ForcedReleases++
		if it.ev.Time.After(victim.frontier) {
			victim.frontier = it.ev.Time
		}
		c.release(victim, it, false)
	}
}

// earliestBuffer returns the scope whose next buffered event comes first.
func (c *Core) earliestBuffer() *ScopeState {
	var best *ScopeState
	for _, s := range c.scopes {
		if len(s.buf) > 0 && (best == nil || itemBefore(s.buf[0], best.buf[0])) {
			best = s
		}
	}
	return best
}

// Flush releases every buffered event in event-time order, moves each
// scope's watermark to its latest event time and replays the late events
// waiting, as when the input has been quiet. The handler's state stays:
// a later Process can still complete it; an event older than the new
// watermark is late and replayed in its place.
func (c *Core) Flush() {
	type scoped struct {
		sc *ScopeState
		it item
	}
	var all []scoped
	for _, s := range c.scopes {
		for _, it := range s.buf {
			all = append(all, scoped{s, it})
		}
		s.buf = nil
	}
	sort.Slice(all, func(i, j int) bool { return itemBefore(all[i].it, all[j].it) })
	c.nbuf = 0
	for _, x := range all {
		c.release(x.sc, x.it, false)
	}
	for _, s := range c.Scopes() {
		if s.maxTime.After(s.frontier) {
			s.frontier = s.maxTime
		}
		c.settle(s)
		c.expire(s)
	}
}

// End ends the input: Flush, then every Azure operation still waiting for
// its outcome record counts as done with its outcome not logged (an
// outcome record arriving later no longer changes it).
func (c *Core) End() {
	c.Flush()
	for _, s := range c.Scopes() {
		for _, q := range append([]queued(nil), s.pendQ.live()...) {
			c.resolvePending(s, q.key, false)
		}
		c.settle(s)
	}
}

// PhaseKey names the Azure operation a record is a phase of, as the Core
// groups its Start, Accept and outcome records.
func PhaseKey(ev *event.Event) string {
	return ScopeOf(ev).Name() + "\x00" + ev.CorrelationUID + "\x00" + ev.Operation + "\x00" + strings.ToLower(ev.ResourceID)
}

func phaseKey(sc *ScopeState, ev *event.Event) string {
	return sc.Name + "\x00" + ev.CorrelationUID + "\x00" + ev.Operation + "\x00" + strings.ToLower(ev.ResourceID)
}

// ExpectUnlogged tells the Core, before it sees them, that the Azure
// operation with this PhaseKey never logged its outcome and that uid is
// its last record in event-time order: when that record is released the
// operation counts as done, in its place. Logs at rest are read whole
// before the rules run, so hunt knows this; live, an operation counts as
// done once its scope's watermark is the lateness past its last record.
func (c *Core) ExpectUnlogged(key, uid string) {
	if c.unlogged == nil {
		c.unlogged = map[string]string{}
	}
	c.unlogged[key] = uid
}

// tooLate hands an event that cannot take its place in order to the
// handler, for single-event rules.
func (c *Core) tooLate(sc *ScopeState, ev *event.Event) {
	if c.opt.OnLate != nil {
		c.opt.OnLate(ev)
	}
	c.release(sc, item{ev: ev}, true)
}

// queueLate holds a late event for the next replay of its scope.
func (c *Core) queueLate(sc *ScopeState, it item) {
	if len(sc.lateQ) == 0 {
		sc.lateSince = sc.frontier
	}
	sc.lateQ = append(sc.lateQ, it)
	if len(sc.lateQ) >= lateBatch {
		c.settle(sc)
	}
}

// settle replays a scope's history with its late events in their places:
// the handler forgets the scope, then gets the events of the last window
// before the earliest late event on, in event-time order, late ones
// marked. Events still buffered are not touched; they are released into
// the rebuilt state.
func (c *Core) settle(sc *ScopeState) {
	if len(sc.lateQ) == 0 {
		return
	}
	lateQ := sc.lateQ
	sc.lateQ, sc.lateSince = nil, time.Time{}
	sort.Slice(lateQ, func(i, j int) bool { return itemBefore(lateQ[i], lateQ[j]) })
	from := lateQ[0].ev.Time.Add(-c.opt.Window)
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
	c.h.Reset(sc)
	for _, q := range sc.pendQ.live() {
		delete(c.pending, q.key)
	}
	sc.pendQ = queue{}
	c.replay = make(map[*event.Event]late, len(lateQ))
	for _, it := range lateQ {
		c.replay[it.ev] = late{by: it.lateBy}
	}
	for _, it := range merged {
		c.release(sc, it, false)
	}
	c.replay = nil
	c.nhist += len(lateQ)
	sc.hist = append(sc.hist[:i:i], merged...)
	c.stats.Replays++
	c.trimHistory(sc)
}

// advance moves a scope's watermark with a new event time and releases
// what it passes.
func (c *Core) advance(sc *ScopeState, t time.Time) {
	if !t.After(sc.maxTime) {
		return
	}
	sc.maxTime = t
	w := t.Add(-c.lateness)
	if !w.After(sc.frontier) {
		return
	}
	for len(sc.buf) > 0 && !sc.buf[0].ev.Time.After(w) {
		it := heap.Pop(&sc.buf).(item)
		c.nbuf--
		c.release(sc, it, false)
	}
	sc.frontier = w
	// Expiring once per second of event time is as good as per event (a
	// completion checks its deadline itself) and much cheaper.
	if w.Sub(sc.swept) >= time.Second {
		c.expire(sc)
	}
	if len(sc.lateQ) > 0 && !w.Before(sc.lateSince.Add(c.lateness)) {
		c.settle(sc)
	}
}

// retention is how far behind a scope's watermark the Core remembers
// events: the longest window, and the horizon for late events.
func (c *Core) retention() time.Duration {
	if c.horizon < 0 {
		return c.opt.Window
	}
	return c.opt.Window + c.horizon
}

// expire lets the handler close what the watermark passed, counts done
// the Azure operations whose outcome the lateness has waited for in vain,
// and forgets what no window can need any more.
func (c *Core) expire(sc *ScopeState) {
	sc.swept = sc.frontier
	c.h.Expire(sc)
	if c.horizon >= 0 {
		// Live: an operation whose outcome did not come within the
		// lateness counts as done, in its place (a late event).
		wait := sc.frontier.Add(-c.lateness)
		for sc.pendQ.len() > 0 && sc.pendQ.front().t.Before(wait) {
			q := sc.pendQ.front()
			sc.pendQ.pop()
			if g, ok := c.pending[q.key]; ok && !g[len(g)-1].Time.After(q.t) {
				c.resolvePending(sc, q.key, false)
			}
		}
	}
	c.trimSeen(sc)
	c.trimPending(sc)
	c.trimHistory(sc)
}

// trimHistory forgets a scope's released events older than the retention,
// then, while over the cap, the oldest of this scope (or of the scope
// holding the oldest, when this one has none).
func (c *Core) trimHistory(sc *ScopeState) {
	if c.horizon < 0 {
		return
	}
	cutoff := sc.frontier.Add(-c.retention())
	n := 0
	for n < len(sc.hist) && sc.hist[n].ev.Time.Before(cutoff) {
		n++
	}
	c.dropHistory(sc, n, false)
	for c.nhist > c.opt.MaxHistory {
		victim := sc
		if len(victim.hist) == 0 {
			victim = nil
			for _, s := range c.Scopes() {
				if len(s.hist) > 0 && (victim == nil || s.hist[0].ev.Time.Before(victim.hist[0].ev.Time)) {
					victim = s
				}
			}
			if victim == nil {
				return
			}
		}
		c.dropHistory(victim, min(len(victim.hist), c.nhist-c.opt.MaxHistory), true)
	}
}

func (c *Core) dropHistory(sc *ScopeState, n int, forced bool) {
	if n == 0 {
		return
	}
	clear(sc.hist[:n])
	sc.hist = sc.hist[n:]
	c.nhist -= n
	if forced {
		c.stats.EvictedHistory += uint64(n)
	}
	if cap(sc.hist) > 1024 && len(sc.hist) < cap(sc.hist)/4 {
		sc.hist = append([]item(nil), sc.hist...)
	}
}

// trimSeen forgets event ids past the time they are remembered for: at
// least as long as the events they could join are kept, and by default a
// week, so that a re-delivery fires no single-event rule twice.
func (c *Core) trimSeen(sc *ScopeState) {
	Trim(sc, sc.frontier.Add(-max(c.retention(), c.opt.Remember)), c.Scopes, func(s *ScopeState) *queue { return &s.seenQ },
		func() bool { return len(c.seen) > c.opt.MaxSeen },
		func(q queued, forced bool) {
			if t, ok := c.seen[q.key]; ok && !t.After(q.t) {
				delete(c.seen, q.key)
				if forced {
					c.stats.EvictedSeen++
				}
			}
		})
}

func (c *Core) trimPending(sc *ScopeState) {
	Trim(sc, sc.frontier.Add(-c.opt.Window), c.Scopes, func(s *ScopeState) *queue { return &s.pendQ },
		func() bool { return len(c.pending) > c.opt.MaxPending },
		func(q queued, forced bool) {
			if g, ok := c.pending[q.key]; ok && !g[len(g)-1].Time.After(q.t) {
				delete(c.pending, q.key)
				if forced {
					c.stats.EvictedPending++
				}
			}
		})
}

// duplicate remembers the event's ids and reports whether one was seen.
func (c *Core) duplicate(sc *ScopeState, ev *event.Event) bool {
	// Event ids are GUIDs (CloudTrail eventID, Azure eventDataId) or
	// hashes: unique without a provider prefix.
	if ev.UID == "" {
		return false
	}
	if _, ok := c.seen[ev.UID]; ok {
		return true
	}
	if ev.OriginalUID != "" {
		if _, ok := c.seen[ev.OriginalUID]; ok {
			return true
		}
	}
	c.remember(sc, ev.UID, ev.Time)
	if ev.OriginalUID != "" {
		c.remember(sc, ev.OriginalUID, ev.Time)
	}
	return false
}

func (c *Core) remember(sc *ScopeState, key string, t time.Time) {
	c.seen[key] = t
	sc.seenQ.push(key, t)
	if len(c.seen) > c.opt.MaxSeen {
		c.trimSeen(sc)
	}
}

// resolvedKey marks, among the remembered event ids, an Azure operation
// counted done without its outcome: its outcome record, should it come
// after all, is not counted a second time.
func resolvedKey(key string) string { return "resolved\x00" + key }

// resolvePending counts a pending Azure operation done with its outcome
// not logged. inOrder is set when its last record was just released (at
// rest); otherwise the folded operation is late and replayed in place.
func (c *Core) resolvePending(sc *ScopeState, key string, inOrder bool) {
	g, ok := c.pending[key]
	if !ok {
		return
	}
	delete(c.pending, key)
	if _, done := c.seen[resolvedKey(key)]; done {
		return
	}
	end := g[len(g)-1]
	c.remember(sc, resolvedKey(key), end.Time)
	c.stats.Unlogged++
	phases := g[: len(g)-1 : len(g)-1]
	it := item{ev: MergePhases(end, phases), unlogged: true, phases: phases}
	it.rank, _ = c.rank(end)
	if inOrder {
		c.release(sc, it, false)
		return
	}
	c.seq++
	it.seq = c.seq
	it.lateBy = sc.maxTime.Sub(end.Time)
	c.queueLate(sc, it)
	// It has waited for its outcome already: replay at the next chance.
	sc.lateSince = sc.frontier.Add(-c.lateness)
}

// lateOf says whether an event is one of those being replayed late.
func (c *Core) lateOf(ev *event.Event) (time.Duration, bool) {
	l, ok := c.replay[ev]
	return l.by, ok
}

// release hands one event, in order, to the handler and keeps it for
// replays. tooLate is set for an event too late to replay.
func (c *Core) release(sc *ScopeState, it item, tooLate bool) {
	ev := it.ev
	if c.replay == nil && !tooLate && c.horizon >= 0 {
		sc.hist = append(sc.hist, it)
		c.nhist++
		if c.nhist > c.opt.MaxHistory {
			c.trimHistory(sc)
		}
	}
	r := Release{Record: ev, TooLate: tooLate, Replay: c.replay != nil}
	r.LateBy, r.Late = c.lateOf(ev)
	if it.unlogged {
		r.Record, r.Op, r.Phases, r.Unlogged = nil, ev, it.phases, true
		c.h.Release(sc, &r)
		return
	}
	var phases []*event.Event
	if event.Phased(ev.Provider) {
		key := phaseKey(sc, ev)
		if _, done := c.seen[resolvedKey(key)]; done && ev.Phase != event.PhaseNone {
			// Counted done already, its outcome not logged: a record of it
			// arriving now changes nothing (explain shows it).
			c.stats.NotSuccess++
			c.h.Release(sc, &r)
			return
		}
		if ev.Outcome == event.OutcomePending {
			c.stats.Phases++
			g := c.pending[key]
			i := len(g)
			for i > 0 && g[i-1].Time.After(ev.Time) {
				i--
			}
			g = append(g, nil)
			copy(g[i+1:], g[i:])
			g[i] = ev
			c.pending[key] = g
			sc.pendQ.push(key, ev.Time)
			c.h.Release(sc, &r)
			if uid, ok := c.unlogged[key]; ok && uid == ev.UID {
				c.resolvePending(sc, key, true)
				return
			}
			if len(c.pending) > c.opt.MaxPending {
				c.trimPending(sc)
			}
			return
		}
		if g, ok := c.pending[key]; ok {
			phases = g
			delete(c.pending, key)
		}
	}
	if !ev.Succeeded() {
		c.stats.NotSuccess++
		c.h.Release(sc, &r)
		return
	}
	r.Op, r.Phases = ev, phases
	if len(phases) > 0 {
		r.Op = MergePhases(ev, phases)
		for _, p := range phases {
			if by, ok := c.lateOf(p); ok {
				r.Late, r.LateBy = true, max(r.LateBy, by)
			}
		}
	}
	c.h.Release(sc, &r)
}

// MergePhases returns a copy of the last record of an Azure operation with
// the keys its earlier phases carried: the request body is often only on
// Start, the response body only on Accept.
func MergePhases(end *event.Event, phases []*event.Event) *event.Event {
	m := *end
	m.Resources = append([]event.Resource(nil), end.Resources...)
	k := &m.Keys
	k.Instances = append([]string(nil), k.Instances...)
	k.SourceInstances = append([]string(nil), k.SourceInstances...)
	k.Volumes = append([]string(nil), k.Volumes...)
	k.SourceVolumes = append([]string(nil), k.SourceVolumes...)
	k.Snapshots = append([]string(nil), k.Snapshots...)
	k.SourceSnapshots = append([]string(nil), k.SourceSnapshots...)
	k.Images = append([]string(nil), k.Images...)
	k.Devices = append([]string(nil), k.Devices...)
	for i := len(phases) - 1; i >= 0; i-- { // latest phase first
		p := phases[i]
		for _, r := range p.Resources {
			if !HasResource(m.Resources, r) {
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
		fill(&k.RootDeviceName, pk.RootDeviceName)
		k.Instances = union(k.Instances, pk.Instances)
		k.SourceInstances = union(k.SourceInstances, pk.SourceInstances)
		k.Volumes = union(k.Volumes, pk.Volumes)
		k.SourceVolumes = union(k.SourceVolumes, pk.SourceVolumes)
		k.Snapshots = union(k.Snapshots, pk.Snapshots)
		k.SourceSnapshots = union(k.SourceSnapshots, pk.SourceSnapshots)
		k.Images = union(k.Images, pk.Images)
		k.Devices = union(k.Devices, pk.Devices)
		if len(m.Request) == 0 {
			m.Request = p.Request
		}
		if len(m.Response) == 0 {
			m.Response = p.Response
		}
		if m.Caller == "" {
			m.Caller = p.Caller
		}
		if m.SrcIP == "" && m.SrcDomain == "" {
			m.SrcIP, m.SrcDomain = p.SrcIP, p.SrcDomain
		}
		if m.UserAgent == "" {
			m.UserAgent = p.UserAgent
		}
	}
	return &m
}

func union(a, b []string) []string {
	for _, s := range b {
		found := false
		for _, x := range a {
			if x == s {
				found = true
				break
			}
		}
		if !found {
			a = append(a, s)
		}
	}
	return a
}

// HasResource reports whether list names r (same id and type).
func HasResource(list []event.Resource, r event.Resource) bool {
	for _, x := range list {
		if x.UID == r.UID && x.Type == r.Type {
			return true
		}
	}
	return false
}

// itemHeap orders buffered events by time, then rank, then arrival.
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
