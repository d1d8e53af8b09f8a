package sigma

import (
	"container/heap"
	"sort"
	"strings"
	"time"

	"github.com/valyala/fastjson"
)

// group is one correlation's state for one group-by value set in one
// scope.
type group struct {
	key      string
	corr     *Rule
	vals     []string
	items    []*occ   // event_count, value_count: the window's occurrences
	last     []*occ   // temporal: the latest occurrence per rule position
	dp       []*chain // temporal_ordered: dp[k] matched rules[0..k-1]
	start    time.Time
	open     bool // an anchored count window is open
	lastSeen time.Time
}

// chain is a prefix of an ordered correlation: its start and events.
type chain struct {
	start, last time.Time
	occs        []*occ
}

// upperBounded reports whether a count condition can turn false as events
// are added; such conditions are evaluated when the window closes, the
// others as soon as they hold.
func upperBounded(c *Correlation) bool {
	for _, t := range c.Condition {
		switch t.Op {
		case "lt", "lte", "eq", "neq":
			return true
		}
	}
	return false
}

func conditionHolds(c *Correlation, n int) bool {
	for _, t := range c.Condition {
		if !t.holds(n) {
			return false
		}
	}
	return true
}

func groupKey(c *Rule, vals []string) string {
	var b strings.Builder
	b.WriteString(c.Ref())
	for _, v := range vals {
		b.WriteByte(0)
		b.WriteString(strings.ToLower(v))
	}
	return b.String()
}

// correlate counts one occurrence in every group it belongs to.
func (r *Runner) correlate(sc *rscope, o *occ) {
	c := o.corr
	span := c.Correlation.Timespan
	for _, vals := range o.groups {
		key := groupKey(c, vals)
		g := sc.groups[key]
		if g == nil {
			if r.ngroups >= r.opt.MaxGroups {
				r.stats.GroupsCapped++
				continue
			}
			g = &group{key: key, corr: c, vals: vals}
			sc.groups[key] = g
			r.ngroups++
		}
		g.lastSeen = o.t
		switch c.Correlation.Type {
		case EventCount, ValueCount:
			if upperBounded(c.Correlation) {
				if g.open && o.t.After(g.start.Add(span)) {
					r.closeWindow(sc, g)
				}
				if !g.open {
					g.open, g.start, g.items = true, o.t, nil
					r.nopen++
					heap.Push(&sc.windows, window{deadline: o.t.Add(span), key: key, start: o.t})
				}
				g.items = append(g.items, o)
				continue
			}
			g.items = append(g.items, o)
			cut := o.t.Add(-span)
			i := 0
			for i < len(g.items) && g.items[i].t.Before(cut) {
				i++
			}
			g.items = g.items[i:]
			if n := count(c, g.items); conditionHolds(c.Correlation, n) {
				items := g.items
				g.items = nil
				r.fire(sc, c, g.vals, items, n)
			}
		case Temporal:
			n := len(c.Correlation.Rules)
			if g.last == nil {
				g.last = make([]*occ, n)
			}
			g.last[o.pos] = o
			cut := o.t.Add(-span)
			have := 0
			for i, x := range g.last {
				if x != nil && x.t.Before(cut) {
					g.last[i] = nil
				}
				if g.last[i] != nil {
					have++
				}
			}
			done := have == n
			if len(c.Correlation.Condition) > 0 {
				done = conditionHolds(c.Correlation, have)
			}
			if done {
				var items []*occ
				for _, x := range g.last {
					if x != nil {
						items = append(items, x)
					}
				}
				sort.SliceStable(items, func(i, j int) bool { return items[i].t.Before(items[j].t) })
				g.last = nil
				r.fire(sc, c, g.vals, items, have)
			}
		case TemporalOrdered:
			n := len(c.Correlation.Rules)
			if g.dp == nil {
				g.dp = make([]*chain, n+1)
			}
			cut := o.t.Add(-span)
			for k := range g.dp {
				if g.dp[k] != nil && g.dp[k].start.Before(cut) {
					g.dp[k] = nil
				}
			}
			// The occurrence may stand at several positions (a rule listed
			// twice); later positions first so it advances a chain once.
			for pos := n - 1; pos >= 0; pos-- {
				if !sameRule(c, pos, o) {
					continue
				}
				var next *chain
				if pos == 0 {
					next = &chain{start: o.t, last: o.t, occs: []*occ{o}}
				} else if prev := g.dp[pos]; prev != nil && !o.t.Before(prev.last) {
					next = &chain{start: prev.start, last: o.t, occs: append(append([]*occ(nil), prev.occs...), o)}
				}
				if next == nil {
					continue
				}
				if pos+1 == n {
					g.dp = nil
					r.fire(sc, c, g.vals, next.occs, n)
					break
				}
				if cur := g.dp[pos+1]; cur == nil || !next.start.Before(cur.start) {
					g.dp[pos+1] = next
				}
			}
		}
	}
}

// sameRule reports whether o is an event of the rule at position pos.
// A rule listed at several positions gives one occurrence per position.
func sameRule(_ *Rule, pos int, o *occ) bool { return o.pos == pos }

// count is what a count correlation counts over items.
func count(c *Rule, items []*occ) int {
	if c.Correlation.Type != ValueCount {
		return len(items)
	}
	seen := map[string]bool{}
	for _, x := range items {
		seen[x.value] = true
	}
	return len(seen)
}

// closeWindow evaluates an anchored count window and closes it.
func (r *Runner) closeWindow(sc *rscope, g *group) {
	if !g.open {
		return
	}
	g.open = false
	r.nopen--
	items := g.items
	g.items = nil
	if n := count(g.corr, items); conditionHolds(g.corr.Correlation, n) && len(items) > 0 {
		r.fire(sc, g.corr, g.vals, items, n)
	}
}

// closeWindows closes the anchored windows whose end the watermark passed;
// a zero time closes them all (end of input).
func (r *Runner) closeWindows(sc *rscope, upTo time.Time) {
	for len(sc.windows) > 0 && (upTo.IsZero() || sc.windows[0].deadline.Before(upTo)) {
		w := heap.Pop(&sc.windows).(window)
		if g := sc.groups[w.key]; g != nil && g.open && g.start.Equal(w.start) {
			r.closeWindow(sc, g)
		}
	}
}

// sweep forgets groups whose newest occurrence left the timespan.
func (r *Runner) sweep(sc *rscope, now time.Time) {
	for k, g := range sc.groups {
		if !g.open && g.lastSeen.Add(g.corr.Correlation.Timespan).Before(now) {
			delete(sc.groups, k)
			r.ngroups--
		}
	}
}

// fire reports a correlation match and feeds the correlations built on it.
func (r *Runner) fire(sc *rscope, c *Rule, vals []string, items []*occ, n int) {
	h := &Hit{Rule: c, Count: n}
	for i, g := range c.Correlation.GroupBy {
		if i < len(vals) {
			h.Group = append(h.Group, GroupValue{Field: g, Value: vals[i]})
		}
	}
	for _, x := range items {
		h.Events = append(h.Events, x.events...)
		h.late = h.late || x.late
	}
	sort.SliceStable(h.Events, func(i, j int) bool { return h.Events[i].Event.Time.Before(h.Events[j].Event.Time) })
	if len(h.Events) > 0 {
		h.First, h.Last = h.Events[0].Event.Time, h.Events[0].Event.Time
		for _, e := range h.Events {
			if e.Event.Time.Before(h.First) {
				h.First = e.Event.Time
			}
			if e.Event.Time.After(h.Last) {
				h.Last = e.Event.Time
			}
		}
	}
	if r.p.standalone[c] {
		r.emit(h)
	}
	for _, u := range r.p.users[c] {
		o := &occ{corr: u.corr, pos: u.pos, t: h.Last, events: h.Events, late: h.late}
		get := func(field string) []string { return r.hitField(h, field) }
		o.groups = r.groupsOf(u.corr, c, get)
		if o.groups == nil {
			r.stats.NoGroup++
			continue
		}
		if u.corr.Correlation.Type == ValueCount {
			if o.value = r.valueOf(u.corr, get); o.value == "" {
				r.stats.NoGroup++
				continue
			}
		}
		r.correlate(sc, o)
	}
}

// hitField resolves a field on a correlation match: a group-by field by
// its value, anything else in the match's events, first one first.
func (r *Runner) hitField(h *Hit, field string) []string {
	for _, g := range h.Group {
		if g.Field == field {
			return []string{g.Value}
		}
	}
	var p fastjson.Parser
	for _, e := range h.Events {
		v, err := p.ParseBytes(e.Event.Raw)
		if err != nil {
			continue
		}
		d := &doc{root: v}
		ec := newEvalCtx(d, e.Event.Format, r.res)
		if vs := r.stringsOf(ec, field); len(vs) > 0 {
			return groupValues(e.Event, vs)
		}
	}
	return nil
}

// window is an anchored count window's end.
type window struct {
	deadline, start time.Time
	key             string
}

type windowHeap []window

func (h windowHeap) Len() int { return len(h) }
func (h windowHeap) Less(i, j int) bool {
	if !h[i].deadline.Equal(h[j].deadline) {
		return h[i].deadline.Before(h[j].deadline)
	}
	return h[i].key < h[j].key
}
func (h windowHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *windowHeap) Push(x any)   { *h = append(*h, x.(window)) }
func (h *windowHeap) Pop() any {
	old := *h
	w := old[len(old)-1]
	*h = old[:len(old)-1]
	return w
}
