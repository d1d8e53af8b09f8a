package sigma

import (
	"container/heap"
	"sort"
	"strings"
	"time"

	"github.com/valyala/fastjson"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/eventtime"
	"github.com/revertwatch/revertwatch/sequence"
)

// Defaults of RunOptions.
const (
	DefaultMaxGroups = 100_000
	DefaultMaxSeen   = 1_000_000
)

// maxGroupForks caps the group keys one event gives one correlation (an
// event naming many instances).
const maxGroupForks = 16

// RunOptions tune a Runner.
type RunOptions struct {
	// Lateness is how far behind the newest event time of its scope an
	// event may arrive and still take part in correlations: zero means
	// sequence.DefaultLateness, a negative value none.
	Lateness time.Duration
	// OnHit receives each hit: a detection rule matching an event, or a
	// correlation completing. The hit is the receiver's to keep.
	OnHit func(*Hit)
	// OnLate receives each event a correlation needed that arrived older
	// than the watermark. Single-event rules still fire on it.
	OnLate func(*event.Event)
	// MaxGroups caps the correlation groups held; past it new groups are
	// refused and counted.
	MaxGroups int
	// MaxSeen caps the event ids remembered for de-duplication.
	MaxSeen int
}

// Hit is a rule that fired.
type Hit struct {
	Rule *Rule
	// Events are the events behind the hit, in event-time order.
	Events []HitEvent
	// Group holds a correlation's group-by values.
	Group []GroupValue
	// Count is what an event_count or value_count counted.
	Count       int
	First, Last time.Time
}

// HitEvent is one event of a hit and the detection rule it matched.
type HitEvent struct {
	Rule  string
	Event *event.Event
}

// GroupValue is one group-by field and its value.
type GroupValue struct {
	Field string `json:"field"`
	Value string `json:"value"`
}

// RunStats count what a Runner did.
type RunStats struct {
	Events       uint64 `json:"events"`
	Duplicates   uint64 `json:"duplicates"`
	Unparsed     uint64 `json:"unparsed"` // records that are not JSON objects: no rule can match them
	Matches      uint64 `json:"matches"`  // detection rule matches
	Filtered     uint64 `json:"filtered"` // matches a filter removed
	Late         uint64 `json:"late"`
	NoGroup      uint64 `json:"no_group"` // matches lacking a group-by value: counted in no correlation
	Hits         uint64 `json:"hits"`
	GroupsCapped uint64 `json:"groups_capped"`
	Groups       int    `json:"groups"`
	// Buffered is the occurrences waiting for their scope's watermark and
	// OpenWindows the anchored count windows not yet evaluated: what a
	// quiet live input must Flush for the last correlations to close.
	Buffered    int `json:"buffered"`
	OpenWindows int `json:"open_windows"`
}

// Runner runs a Ruleset over events. It is not safe for concurrent use.
type Runner struct {
	rs      *Ruleset
	p       *plan
	res     *resolver
	opt     RunOptions
	late    time.Duration
	parser  fastjson.Parser
	d       doc
	scopes  map[string]*rscope
	seen    map[string]struct{}
	seenQ   []string
	seq     uint64
	stats   RunStats
	ngroups int
	nbuf    int // occurrences in the scopes' buffers
	nopen   int // groups with an open anchored window
	// keys name the correlations in a snapshot (stateKey), and byKey
	// finds them again on Restore.
	keys  map[*Rule]stateRule
	byKey map[string]*Rule
}

// rscope is one scope's event time and the correlation state ordered by
// it.
type rscope struct {
	key      eventtime.Scope
	name     string
	maxTime  time.Time
	frontier time.Time
	swept    time.Time
	buf      occHeap
	groups   map[string]*group
	windows  windowHeap
}

// occ is a detection match (or a correlation match) waiting to be counted
// by one correlation.
type occ struct {
	corr   *Rule
	pos    int
	t      time.Time
	rank   int
	seq    uint64
	groups [][]string // group-by values, one set per fork
	value  string     // value_count's value
	events []HitEvent
}

// NewRunner prepares a Runner. The Ruleset must not change while it runs.
func NewRunner(rs *Ruleset, opt RunOptions) *Runner {
	r := &Runner{rs: rs, p: rs.buildPlan(), res: newResolver(rs.cfg), opt: opt,
		scopes: map[string]*rscope{}, seen: map[string]struct{}{}}
	r.late = opt.Lateness
	switch {
	case r.late == 0:
		r.late = sequence.DefaultLateness
	case r.late < 0:
		r.late = 0
	}
	if r.opt.MaxGroups <= 0 {
		r.opt.MaxGroups = DefaultMaxGroups
	}
	if r.opt.MaxSeen <= 0 {
		r.opt.MaxSeen = DefaultMaxSeen
	}
	r.keys, r.byKey = stateKeys(r.p.corrs)
	return r
}

// Stats returns the counters.
func (r *Runner) Stats() RunStats {
	s := r.stats
	s.Groups, s.Buffered, s.OpenWindows = r.ngroups, r.nbuf, r.nopen
	return s
}

// duplicate remembers the event's ids and reports whether one was seen.
// The ids are the sequence engine's: the event id and, when the record
// has one, its original id (a CloudTrail re-delivery's
// addendum.originalEventID; an Azure record's id in every export shape),
// both remembered, so that a record is the same record in both engines
// whichever of its copies came first.
func (r *Runner) duplicate(ev *event.Event) bool {
	if ev.UID == "" {
		return false
	}
	if _, ok := r.seen[ev.UID]; ok {
		return true
	}
	if ev.OriginalUID != "" {
		if _, ok := r.seen[ev.OriginalUID]; ok {
			return true
		}
	}
	r.remember(ev.UID)
	if ev.OriginalUID != "" && ev.OriginalUID != ev.UID {
		r.remember(ev.OriginalUID)
	}
	return false
}

// remember adds an id to the seen set, forgetting the oldest past
// MaxSeen.
func (r *Runner) remember(k string) {
	r.seen[k] = struct{}{}
	r.seenQ = append(r.seenQ, k)
	for len(r.seenQ) > r.opt.MaxSeen {
		delete(r.seen, r.seenQ[0])
		r.seenQ[0] = ""
		r.seenQ = r.seenQ[1:]
	}
}

// scope returns the event's scope, named as the sequence engine names it
// (eventtime.ScopeOf), so that the two engines never disagree on which
// events may be joined.
func (r *Runner) scope(ev *event.Event) *rscope {
	k := eventtime.ScopeOf(ev)
	n := k.Name()
	sc := r.scopes[n]
	if sc == nil {
		sc = &rscope{key: k, name: n, groups: map[string]*group{}}
		r.scopes[n] = sc
	}
	return sc
}

// Match reports the detection rules that match ev, in load order, with
// filters applied. It does not feed correlations.
func (r *Runner) Match(ev *event.Event) []*Rule {
	ec := r.eval(ev)
	var out []*Rule
	for _, rule := range r.p.detections {
		if r.matches(rule, ec, ev) {
			out = append(out, rule)
		}
	}
	return out
}

func (r *Runner) eval(ev *event.Event) *evalCtx {
	r.d.root = nil
	if len(ev.Raw) > 0 {
		if v, err := r.parser.ParseBytes(ev.Raw); err == nil && v.Type() == fastjson.TypeObject {
			r.d.root = v
		}
	}
	if r.d.root == nil {
		r.stats.Unparsed++
	}
	return &evalCtx{d: &r.d, format: ev.Format, res: r.res}
}

func (r *Runner) matches(rule *Rule, ec *evalCtx, ev *event.Event) bool {
	if rule.provider != "" && rule.provider != ev.Provider {
		return false
	}
	if ec.d.root == nil || !rule.det.match(ec) {
		return false
	}
	for _, f := range r.p.filters[rule] {
		if (f.provider == "" || f.provider == ev.Provider) && f.Filter.det.match(ec) {
			r.stats.Filtered++
			return false
		}
	}
	return true
}

// Process takes one event, in any order: correlations see events in event
// time. The Runner keeps ev if a rule matched it; the caller must not
// modify it afterwards.
func (r *Runner) Process(ev *event.Event) {
	if ev == nil {
		return
	}
	r.stats.Events++
	sc := r.scope(ev)
	if r.duplicate(ev) {
		r.stats.Duplicates++
		return
	}
	ec := r.eval(ev)
	var correlated bool
	var occs []*occ
	for _, rule := range r.p.detections {
		if !r.matches(rule, ec, ev) {
			continue
		}
		r.stats.Matches++
		if r.p.standalone[rule] {
			r.emit(&Hit{Rule: rule, Events: []HitEvent{{Rule: rule.Ref(), Event: ev}}, First: ev.Time, Last: ev.Time})
		}
		for _, u := range r.p.users[rule] {
			correlated = true
			o := &occ{corr: u.corr, pos: u.pos, t: ev.Time, rank: r.p.rank[rule],
				events: []HitEvent{{Rule: rule.Ref(), Event: ev}}}
			o.groups = r.groupsOf(u.corr, rule, func(field string) []string { return r.stringsOf(ec, field) })
			if o.groups == nil {
				r.stats.NoGroup++
				continue
			}
			if u.corr.Correlation.Type == ValueCount {
				o.value = r.valueOf(u.corr, func(field string) []string { return r.stringsOf(ec, field) })
				if o.value == "" {
					r.stats.NoGroup++
					continue
				}
			}
			occs = append(occs, o)
		}
	}
	if correlated {
		if ev.Time.IsZero() || ev.Time.Before(sc.frontier) {
			r.stats.Late++
			if r.opt.OnLate != nil {
				r.opt.OnLate(ev)
			}
			occs = nil
		}
		for _, o := range occs {
			r.seq++
			o.seq = r.seq
			heap.Push(&sc.buf, o)
			r.nbuf++
		}
	}
	r.advance(sc, ev.Time)
}

// stringsOf returns the non-null values of field on the current record.
func (r *Runner) stringsOf(ec *evalCtx, field string) []string {
	vals, ok := ec.values(field)
	if !ok {
		return nil
	}
	var out []string
	for _, v := range vals {
		if v.kind == leafNull || v.s == "" {
			continue
		}
		dup := false
		for _, o := range out {
			if o == v.s {
				dup = true
			}
		}
		if !dup {
			out = append(out, v.s)
		}
	}
	return out
}

// fieldFor returns the field a correlation reads for group-by entry g in
// the events of rule: the alias's mapping for that rule, else g itself.
func fieldFor(c *Rule, g string, rule *Rule) string {
	am, ok := c.Correlation.Aliases[g]
	if !ok {
		return g
	}
	for _, k := range []string{rule.Name, rule.ID} {
		if k == "" {
			continue
		}
		if f, ok := am[k]; ok {
			return f
		}
	}
	return g
}

// groupsOf computes the group-by value sets an event of rule gives
// correlation c: one per combination of values, nil when a field has
// none.
func (r *Runner) groupsOf(c *Rule, rule *Rule, get func(string) []string) [][]string {
	out := [][]string{{}}
	for _, g := range c.Correlation.GroupBy {
		vs := get(fieldFor(c, g, rule))
		if len(vs) == 0 {
			return nil
		}
		next := make([][]string, 0, len(out)*len(vs))
		for _, o := range out {
			for _, v := range vs {
				if len(next) == maxGroupForks {
					break
				}
				n := append(append([]string(nil), o...), v)
				next = append(next, n)
			}
		}
		out = next
	}
	return out
}

func (r *Runner) valueOf(c *Rule, get func(string) []string) string {
	var parts []string
	for _, f := range c.Correlation.Field {
		vs := get(f)
		if len(vs) == 0 {
			return ""
		}
		sort.Strings(vs)
		parts = append(parts, strings.Join(vs, ","))
	}
	return strings.ToLower(strings.Join(parts, "\x00"))
}

func (r *Runner) emit(h *Hit) {
	r.stats.Hits++
	if r.opt.OnHit != nil {
		r.opt.OnHit(h)
	}
}

// advance moves a scope's watermark to t minus the lateness and releases
// what it passed.
func (r *Runner) advance(sc *rscope, t time.Time) {
	if t.After(sc.maxTime) {
		sc.maxTime = t
	}
	f := sc.maxTime.Add(-r.late)
	if !f.After(sc.frontier) {
		return
	}
	for len(sc.buf) > 0 && !sc.buf[0].t.After(f) {
		o := heap.Pop(&sc.buf).(*occ)
		r.nbuf--
		r.correlate(sc, o)
	}
	sc.frontier = f
	r.closeWindows(sc, f)
	if f.Sub(sc.swept) > time.Minute {
		r.sweep(sc, f)
		sc.swept = f
	}
}

// Flush ends the input: every buffered event is released in event-time
// order and every open count window is evaluated as it stands.
func (r *Runner) Flush() {
	type scoped struct {
		sc *rscope
		o  *occ
	}
	var all []scoped
	names := make([]string, 0, len(r.scopes))
	for n := range r.scopes {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		sc := r.scopes[n]
		for _, o := range sc.buf {
			all = append(all, scoped{sc, o})
		}
		sc.buf = nil
	}
	r.nbuf = 0
	sort.Slice(all, func(i, j int) bool { return occBefore(all[i].o, all[j].o) })
	for _, x := range all {
		r.correlate(x.sc, x.o)
	}
	for _, n := range names {
		sc := r.scopes[n]
		if sc.maxTime.After(sc.frontier) {
			sc.frontier = sc.maxTime
		}
		r.closeWindows(sc, time.Time{})
	}
}

// occHeap orders occurrences by time, then rank (an earlier step of an
// ordered correlation first: CloudTrail times have one-second
// precision), then arrival.
type occHeap []*occ

func (h occHeap) Len() int           { return len(h) }
func (h occHeap) Less(i, j int) bool { return occBefore(h[i], h[j]) }
func (h occHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *occHeap) Push(x any)        { *h = append(*h, x.(*occ)) }
func (h *occHeap) Pop() any {
	old := *h
	o := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return o
}

func occBefore(a, b *occ) bool {
	if !a.t.Equal(b.t) {
		return a.t.Before(b.t)
	}
	if a.rank != b.rank {
		return a.rank < b.rank
	}
	return a.seq < b.seq
}
