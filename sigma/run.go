package sigma

import (
	"bytes"
	"sort"
	"strings"
	"time"

	"github.com/valyala/fastjson"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/eventtime"
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
	// event may arrive and still be ordered without a replay: zero means
	// eventtime.DefaultLateness, a negative value none.
	Lateness time.Duration
	// Horizon is how late an event may be and still be replayed in its
	// place (eventtime.CoreOptions.Horizon).
	Horizon time.Duration
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
	// Direct leaves the single-event rules to Fire: a released event
	// feeds only the correlations, and Wants asks only for the events a
	// correlation uses. A single-event rule's hit depends on its event
	// alone, so logs at rest need not hold and order the events it
	// matches (which may be most of them) to report it exactly; the
	// caller de-duplicates copies of one record.
	Direct bool
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
	// late is set when an event of the hit was replayed late.
	late bool
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

// Runner runs a Ruleset over events. Events reach its correlations in
// event time through the one event-time core (eventtime.Core): its own
// when it runs alone (Process, Flush), or the sequence engine's when it is
// attached to one as its Also handler (Release, Reset, Expire), so that
// both engines de-duplicate, order and replay late events alike. It is
// not safe for concurrent use.
type Runner struct {
	rs      *Ruleset
	p       *plan
	res     *resolver
	opt     RunOptions
	core    *eventtime.Core
	parser  fastjson.Parser
	d       doc
	ec      *evalCtx // the record being matched, on d
	scopes  map[string]*rscope
	stats   RunStats
	ngroups int
	nopen   int // groups with an open anchored window
	// replaying is set while a scope's history is run again with late
	// events in place: only hits holding a late occurrence are new.
	replaying bool
	// keys name the correlations in a snapshot (stateKey), and byKey
	// finds them again on Restore.
	keys  map[*Rule]stateRule
	byKey map[string]*Rule
	// The rule index (index.go): plans by detection position, an index
	// per provider, and scratch for the candidates. noIndex tests every
	// record against every rule: the reference the index is tested
	// against.
	noIndex bool
	plans   []indexPlan
	idx     map[string]*ruleIndex
	stamp   []uint32
	gen     uint32
	ids     []int32
	cand    []*Rule
	low     []byte // a value lower-cased, for the index
	// last is the outcome of the last record tested: the core ranks a
	// record (Wants) and then releases it, and the release reuses it.
	last matchCache
}

// matchCache is the detection outcome of one record, keyed by what the
// outcome depends on: the record's bytes, its format and its provider.
type matchCache struct {
	valid    bool
	raw      []byte
	format   event.Format
	provider string
	unparsed bool
	hits     []ruleHit // the rules that matched or that a filter removed, load order
}

// ruleHit is one rule's outcome on a record.
type ruleHit struct {
	rule     *Rule
	filtered bool
}

// cached returns the outcome of ev's record if it is the last one
// tested.
func (r *Runner) cached(ev *event.Event) ([]ruleHit, bool, bool) {
	c := &r.last
	if !c.valid || c.provider != ev.Provider || c.format != ev.Format || !bytes.Equal(c.raw, ev.Raw) {
		return nil, false, false
	}
	return c.hits, c.unparsed, true
}

// outcome tests ev's record against its candidate rules, once: the
// outcome is kept for the next call on the same record.
func (r *Runner) outcome(ev *event.Event) (hits []ruleHit, unparsed bool) {
	if hits, unparsed, ok := r.cached(ev); ok {
		return hits, unparsed
	}
	ec := r.evalQuiet(ev, nil)
	c := &r.last
	c.valid = false
	c.hits = r.testAll(ec, ev, c.hits[:0])
	c.raw = append(c.raw[:0], ev.Raw...)
	c.format, c.provider, c.unparsed, c.valid = ev.Format, ev.Provider, ec.d.root == nil, true
	return c.hits, c.unparsed
}

// testAll appends to hits the candidate rules ev matches or a filter
// removed.
func (r *Runner) testAll(ec *evalCtx, ev *event.Event, hits []ruleHit) []ruleHit {
	r.cand = r.candidates(ec, ev.Provider, r.cand[:0])
	for _, rule := range r.cand {
		ok, filtered := r.test(rule, ec, ev)
		if ok || filtered {
			hits = append(hits, ruleHit{rule: rule, filtered: filtered})
		}
	}
	return hits
}

// rscope is one scope's correlation state.
type rscope struct {
	key     eventtime.Scope
	name    string
	swept   time.Time // the watermark when groups were last swept
	groups  map[string]*group
	windows windowHeap
}

// occ is a detection match (or a correlation match) waiting to be counted
// by one correlation.
type occ struct {
	corr   *Rule
	pos    int
	t      time.Time
	groups [][]string // group-by values, one set per fork
	value  string     // value_count's value
	events []HitEvent
	late   bool // made of an event replayed late
}

// NewRunner prepares a Runner. The Ruleset must not change while it runs.
func NewRunner(rs *Ruleset, opt RunOptions) *Runner {
	return newRunner(rs, opt, false)
}

// newRunner is NewRunner, with the rule index or without it (noIndex:
// every record tested against every rule).
func newRunner(rs *Ruleset, opt RunOptions, noIndex bool) *Runner {
	r := &Runner{rs: rs, p: rs.buildPlan(), res: newResolver(rs.cfg), opt: opt, scopes: map[string]*rscope{}, noIndex: noIndex}
	r.plans = make([]indexPlan, len(r.p.detections))
	for i, d := range r.p.detections {
		r.plans[i] = planRule(d.det)
	}
	r.idx, r.stamp = map[string]*ruleIndex{}, make([]uint32, len(r.p.detections))
	if r.opt.MaxGroups <= 0 {
		r.opt.MaxGroups = DefaultMaxGroups
	}
	if r.opt.MaxSeen <= 0 {
		r.opt.MaxSeen = DefaultMaxSeen
	}
	r.keys, r.byKey = stateKeys(r.p.corrs)
	r.core = eventtime.NewCore(eventtime.CoreOptions{Lateness: opt.Lateness, Horizon: opt.Horizon, Window: r.Window(),
		MaxSeen: r.opt.MaxSeen, OnLate: opt.OnLate}, r.rank, r)
	return r
}

// Window is the longest timespan of the loaded correlations: how far a
// core must keep and replay events for them.
func (r *Runner) Window() time.Duration {
	var w time.Duration
	for _, c := range r.p.corrs {
		w = max(w, c.Correlation.Timespan)
	}
	return w
}

// Wants reports whether some detection rule matches ev: the events a
// core must order and keep for the Runner.
func (r *Runner) Wants(ev *event.Event) bool {
	_, ok := r.rank(ev)
	return ok
}

// rank says whether a detection rule matches ev and, among those that
// do, the latest position one takes in an ordered correlation: the
// tie-break of events of the same time (CloudTrail times have one-second
// precision).
func (r *Runner) rank(ev *event.Event) (int, bool) {
	hits, _ := r.outcome(ev)
	rank, ok := 0, false
	for _, h := range hits {
		if !r.heldFor(h.rule) {
			// Fire reports it; no correlation needs the event.
			continue
		}
		if !h.filtered {
			rank, ok = max(rank, r.p.rank[h.rule]), true
		}
	}
	return rank, ok
}

// heldFor reports whether a record rule matches must be held and
// released in order: always, but with RunOptions.Direct only for the
// rules a correlation uses (Fire reports the others).
func (r *Runner) heldFor(rule *Rule) bool { return !r.opt.Direct || len(r.p.users[rule]) > 0 }

// Stats returns the counters.
func (r *Runner) Stats() RunStats {
	s := r.stats
	c := r.core.Stats()
	s.Events, s.Duplicates, s.Late = c.Events, c.Duplicates, c.Late
	s.Groups, s.Buffered, s.OpenWindows = r.ngroups, c.Buffered+c.LateWaiting, r.nopen
	return s
}

// scope returns the Runner's part of a core scope.
func (r *Runner) scope(cs *eventtime.ScopeState) *rscope {
	sc := r.scopes[cs.Name]
	if sc == nil {
		sc = &rscope{key: cs.Key, name: cs.Name, groups: map[string]*group{}}
		r.scopes[cs.Name] = sc
	}
	return sc
}

// Match reports the detection rules that match ev, in load order, with
// filters applied. It does not feed correlations.
func (r *Runner) Match(ev *event.Event) []*Rule {
	hits, unparsed := r.outcome(ev)
	if unparsed {
		r.stats.Unparsed++
	}
	var out []*Rule
	for _, h := range hits {
		if h.filtered {
			r.stats.Filtered++
			continue
		}
		out = append(out, h.rule)
	}
	return out
}

// Fire returns the detection rules that report on their own and match
// ev, in load order, with filters applied: with RunOptions.Direct, what
// releasing ev would have reported. It neither counts nor feeds
// correlations.
func (r *Runner) Fire(ev *event.Event) []*Rule {
	hits, _ := r.outcome(ev)
	var out []*Rule
	for _, h := range hits {
		if !h.filtered && r.p.standalone[h.rule] {
			out = append(out, h.rule)
		}
	}
	return out
}

// evalQuiet parses ev for the detections without counting; parsed,
// when not nil, is ev.Raw parsed already.
func (r *Runner) evalQuiet(ev *event.Event, parsed *fastjson.Value) *evalCtx {
	var root *fastjson.Value
	switch {
	case parsed != nil:
		if parsed.Type() == fastjson.TypeObject {
			root = parsed
		}
	case len(ev.Raw) > 0:
		if v, err := r.parser.ParseBytes(ev.Raw); err == nil && v.Type() == fastjson.TypeObject {
			root = v
		}
	}
	r.d.reset(root, ev.Raw)
	if r.ec == nil {
		r.ec = newEvalCtx(&r.d, ev.Format, r.res)
	}
	r.ec.format = ev.Format
	return r.ec
}

// test reports whether rule matches, and whether a filter removed a
// match.
func (r *Runner) test(rule *Rule, ec *evalCtx, ev *event.Event) (ok, filtered bool) {
	if rule.provider != "" && rule.provider != ev.Provider {
		return false, false
	}
	if ec.d.root == nil || !rule.det.match(ec) {
		return false, false
	}
	for _, f := range r.p.filters[rule] {
		if (f.provider == "" || f.provider == ev.Provider) && f.Filter.det.match(ec) {
			return false, true
		}
	}
	return true, false
}

// Process takes one event, in any order, through the Runner's own core:
// correlations see events in event time. The Runner keeps ev if a rule
// matched it; the caller must not modify it afterwards.
func (r *Runner) Process(ev *event.Event) { r.core.Process(ev) }

// Release runs one event, released in event-time order by a core,
// through the detection rules and the correlations (eventtime.Handler).
// During a replay only the late events fire single-event rules again, and
// only the correlations holding one report.
func (r *Runner) Release(cs *eventtime.ScopeState, rel *eventtime.Release) {
	ev := rel.Record
	if ev == nil {
		return
	}
	fresh := !rel.Replay || rel.Late
	if !fresh && len(r.p.corrs) == 0 {
		return
	}
	sc := r.scope(cs)
	r.replaying = rel.Replay
	defer func() { r.replaying = false }()
	cached, unparsed := r.outcome(ev)
	if fresh && unparsed {
		r.stats.Unparsed++
	}
	if len(cached) == 0 {
		return
	}
	// The outcome is copied: a correlation firing may test other records.
	hits := make([]ruleHit, len(cached))
	copy(hits, cached)
	var ec *evalCtx
	for _, h := range hits {
		rule := h.rule
		if h.filtered {
			if fresh {
				r.stats.Filtered++
			}
			continue
		}
		if fresh {
			r.stats.Matches++
			if r.p.standalone[rule] && !r.opt.Direct {
				r.emit(&Hit{Rule: rule, Events: []HitEvent{{Rule: rule.Ref(), Event: ev}}, First: ev.Time, Last: ev.Time})
				// The receiver may have tested other records with the
				// shared parser.
				ec = nil
			}
		}
		if rel.TooLate {
			continue
		}
		for _, u := range r.p.users[rule] {
			if ec == nil {
				ec = r.evalQuiet(ev, nil)
			}
			o := &occ{corr: u.corr, pos: u.pos, t: ev.Time, late: rel.Late,
				events: []HitEvent{{Rule: rule.Ref(), Event: ev}}}
			o.groups = r.groupsOf(u.corr, rule, func(field string) []string { return groupValues(ev, r.stringsOf(ec, field)) })
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
			r.correlate(sc, o)
			// The record is parsed again when needed: a correlation
			// firing may have evaluated other events with the shared
			// parser.
			ec = nil
		}
	}
}

// Reset forgets a scope's correlation groups before a replay rebuilds
// them (eventtime.Handler).
func (r *Runner) Reset(cs *eventtime.ScopeState) {
	sc := r.scope(cs)
	for _, g := range sc.groups {
		if g.open {
			r.nopen--
		}
	}
	r.ngroups -= len(sc.groups)
	sc.groups, sc.windows = map[string]*group{}, nil
}

// Expire closes the count windows a scope's watermark passed and now and
// then forgets groups no window can need (eventtime.Handler).
func (r *Runner) Expire(cs *eventtime.ScopeState) {
	sc := r.scope(cs)
	f := cs.Frontier()
	r.closeWindows(sc, f)
	if f.Sub(sc.swept) > time.Minute {
		r.sweep(sc, f)
		sc.swept = f
	}
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
	if r.replaying && !h.late {
		// Reported when it first fired, before the replay.
		return
	}
	r.stats.Hits++
	if r.opt.OnHit != nil {
		r.opt.OnHit(h)
	}
}

// Flush ends the input of the Runner's own core: every buffered event is
// released in event-time order, and every open count window is evaluated
// as it stands (CloseWindows).
func (r *Runner) Flush() {
	r.core.Flush()
	r.CloseWindows()
}

// CloseWindows evaluates every open count window as it stands: the end
// of the input, or a quiet live input, when attached to another core.
func (r *Runner) CloseWindows() {
	for _, n := range eventtime.SortedKeys(r.scopes) {
		r.closeWindows(r.scopes[n], time.Time{})
	}
}

// groupValues are the values an event gives a correlation's group-by
// field. Compute Engine names one resource by a full URL, a partial URL,
// a path from projects/ or, in a snapshot's request, its bare name
// (telemetry-gcp.md §3): a Google Cloud value is compared by its last
// path segment, within the event's project (the correlation's scope).
func groupValues(ev *event.Event, vals []string) []string {
	if ev.Provider != event.GCP {
		return vals
	}
	out := make([]string, len(vals))
	for i, v := range vals {
		v = strings.TrimRight(v, "/")
		out[i] = v[strings.LastIndexByte(v, '/')+1:]
	}
	return out
}

// A Tester tests records against the single-record rules of the Runner
// it was made from (Fire), with scratch of its own: a parser, the rule
// index and its field cache. Runner.Fire is not safe for concurrent
// use; one Tester per goroutine is, over the same rules.
type Tester struct {
	r    *Runner
	out  []*Rule
	hits []ruleHit
}

// NewTester returns a Tester over r's rules and options.
func (r *Runner) NewTester() *Tester {
	t := &Runner{rs: r.rs, p: r.p, res: newResolver(r.rs.cfg), opt: r.opt, noIndex: r.noIndex, plans: r.plans}
	t.idx, t.stamp = map[string]*ruleIndex{}, make([]uint32, len(r.p.detections))
	return &Tester{r: t}
}

// Fire returns what Runner.Fire returns for ev, in a slice valid until
// the next call, and whether a correlation needs ev as well: what
// Runner.Wants says with RunOptions.Direct. parsed, when not nil, is
// ev.Raw parsed already (fastjson), which Fire only reads.
func (t *Tester) Fire(ev *event.Event, parsed *fastjson.Value) (rules []*Rule, wanted bool) {
	t.hits = t.r.testAll(t.r.evalQuiet(ev, parsed), ev, t.hits[:0])
	t.out = t.out[:0]
	for _, h := range t.hits {
		if h.filtered {
			continue
		}
		if t.r.p.standalone[h.rule] {
			t.out = append(t.out, h.rule)
		}
		wanted = wanted || t.r.heldFor(h.rule)
	}
	return t.out, wanted
}
