package query

import (
	"math"
	"sort"
	"strings"
)

// aggFunc is one compiled aggregate of an aggregation stage.
type aggFunc struct {
	fn   string // count, count_distinct, values, first, last, sum, avg, min, max
	arg  evalFn // nil for count and count(*)
	name string // output column
	text string // canonical text for --explain
	mk   func() aggState
}

// aggState accumulates one aggregate for one group.
type aggState interface {
	add(v Value, r *record)
	result() Value
	// merge adds what another state of the same aggregate, built from
	// other records, holds (Runner.NewWorker).
	merge(o aggState)
}

// group is one row of the aggregation under construction.
type group struct {
	keys   []Value
	states []aggState
	first  int // order of first appearance
}

// aggStage is the hash aggregation (spec §5.7, §9), angle-grinder's
// MultiGrouper: one group per distinct key tuple, typed and case-sensitive.
type aggStage struct {
	keys       []*accessor
	keyNames   []string
	aggs       []*aggFunc
	keepNull   bool
	emptyRow   bool
	sortGroups bool
	groups     map[string]*group
	order      []*group
	buf        []byte
	kv         []Value
	warn       *warnings // the run's, for the states merge adopts
}

func (s *aggStage) add(r *record) {
	s.buf = s.buf[:0]
	s.kv = s.kv[:0]
	for _, k := range s.keys {
		v := r.get(k)
		if v.kind == KindNull && !s.keepNull {
			return
		}
		if v.kind == KindNumber && !v.isInt {
			v = Float(v.f) // 3.0 and 3 are one group
		}
		s.kv = append(s.kv, v)
		s.buf = appendKey(s.buf, v)
	}
	g := s.groups[string(s.buf)]
	if g == nil {
		if s.groups == nil {
			s.groups = map[string]*group{}
		}
		g = &group{keys: make([]Value, len(s.kv)), states: make([]aggState, len(s.aggs)), first: len(s.order)}
		for i, v := range s.kv {
			g.keys[i] = v.clone()
		}
		for i, a := range s.aggs {
			g.states[i] = a.mk()
		}
		s.groups[string(s.buf)] = g
		s.order = append(s.order, g)
	}
	for i, a := range s.aggs {
		var v Value
		if a.arg != nil {
			v = a.arg(r)
		}
		g.states[i].add(v, r)
	}
}

// merge adds the groups of o, an aggregation of the same stage over
// other records.
func (s *aggStage) merge(o *aggStage) {
	for _, og := range o.order {
		s.buf = s.buf[:0]
		for _, v := range og.keys {
			s.buf = appendKey(s.buf, v)
		}
		g := s.groups[string(s.buf)]
		if g == nil {
			if s.groups == nil {
				s.groups = map[string]*group{}
			}
			og.first = len(s.order)
			for _, st := range og.states {
				if v, ok := st.(*valuesAgg); ok {
					v.warn = s.warn // the cap is counted where the result is made
				}
			}
			s.groups[string(s.buf)] = og
			s.order = append(s.order, og)
			continue
		}
		for i := range g.states {
			g.states[i].merge(og.states[i])
		}
	}
	o.groups, o.order = nil, nil
}

func (s *aggStage) flush(emit func(*record)) {
	if len(s.order) == 0 && len(s.keys) == 0 && s.emptyRow {
		g := &group{states: make([]aggState, len(s.aggs))}
		for i, a := range s.aggs {
			g.states[i] = a.mk()
		}
		s.order = append(s.order, g)
	}
	if s.sortGroups {
		sort.SliceStable(s.order, func(i, j int) bool {
			a, b := s.order[i].keys, s.order[j].keys
			for k := range a {
				if c := compareSort(a[k], b[k], false, true); c != 0 {
					return c < 0
				}
			}
			return false
		})
	}
	for n, g := range s.order {
		r := &record{mat: true, ord: int64(n)}
		for i, k := range g.keys {
			r.fields = append(r.fields, field{name: s.keyNames[i], v: k})
		}
		for i, a := range s.aggs {
			r.fields = append(r.fields, field{name: a.name, v: g.states[i].result()})
		}
		for i := range r.fields {
			r.fields[i].seq = int32(i + 1)
		}
		r.seq = int32(len(r.fields))
		emit(r)
	}
	s.groups, s.order = nil, nil
}

type countAll struct{ n int64 }

func (c *countAll) add(Value, *record) { c.n++ }
func (c *countAll) result() Value      { return Int(c.n) }
func (c *countAll) merge(o aggState)   { c.n += o.(*countAll).n }

type countNonNull struct{ n int64 }

func (c *countNonNull) add(v Value, _ *record) {
	if v.kind != KindNull {
		c.n++
	}
}
func (c *countNonNull) result() Value    { return Int(c.n) }
func (c *countNonNull) merge(o aggState) { c.n += o.(*countNonNull).n }

type countDistinct struct {
	seen map[string]struct{}
	buf  []byte
}

func (c *countDistinct) add(v Value, _ *record) {
	if v.kind == KindNull {
		return
	}
	c.buf = appendKey(c.buf[:0], v)
	if _, ok := c.seen[string(c.buf)]; !ok {
		if c.seen == nil {
			c.seen = map[string]struct{}{}
		}
		c.seen[string(c.buf)] = struct{}{}
	}
}
func (c *countDistinct) result() Value { return Int(int64(len(c.seen))) }

func (c *countDistinct) merge(o aggState) {
	for k := range o.(*countDistinct).seen {
		if c.seen == nil {
			c.seen = map[string]struct{}{}
		}
		c.seen[k] = struct{}{}
	}
}

// valuesAgg is values(x): the distinct renderings, sorted byte-wise,
// keeping the cap smallest (spec §9).
type valuesAgg struct {
	seen map[string]struct{}
	cap  int
	warn *warnings
}

func (c *valuesAgg) add(v Value, _ *record) {
	if v.kind == KindNull {
		return
	}
	s := render(v)
	if _, ok := c.seen[s]; ok {
		return
	}
	if c.seen == nil {
		c.seen = map[string]struct{}{}
	}
	c.seen[strings.Clone(s)] = struct{}{}
}

func (c *valuesAgg) merge(o aggState) {
	for k := range o.(*valuesAgg).seen {
		if c.seen == nil {
			c.seen = map[string]struct{}{}
		}
		c.seen[k] = struct{}{}
	}
}

func (c *valuesAgg) result() Value {
	list := make([]string, 0, len(c.seen))
	for s := range c.seen {
		list = append(list, s)
	}
	sort.Strings(list)
	if c.cap > 0 && len(list) > c.cap {
		list = list[:c.cap]
		c.warn.add(warnValuesCap)
	}
	out := make([]Value, len(list))
	for i, s := range list {
		out[i] = Str(s)
	}
	return List(out)
}

// firstLast is first(x) / last(x). Stream order is newest first
// (_messageTime descending, ties in input order) unless a sort came
// before, whose order then applies (spec §9).
type firstLast struct {
	last      bool
	byArrival bool
	set       bool
	v         Value
	time, ord int64
}

func (c *firstLast) add(v Value, r *record) {
	if v.kind == KindNull {
		return
	}
	better := !c.set
	if c.set {
		if c.byArrival {
			better = c.last // every later row is "later"
		} else if !c.last {
			better = r.time > c.time || r.time == c.time && r.ord < c.ord
		} else {
			better = r.time < c.time || r.time == c.time && r.ord > c.ord
		}
	}
	if better {
		c.set, c.v, c.time, c.ord = true, v.clone(), r.time, r.ord
	}
}
func (c *firstLast) result() Value { return c.v }

// merge is add of the other's pick. Records of different goroutines
// have no common input order, so a parallel plan leaves first and last
// out (mergeableAgg).
func (c *firstLast) merge(o aggState) {
	x := o.(*firstLast)
	if x.set {
		c.add(x.v, &record{time: x.time, ord: x.ord})
	}
}

// numericAgg is sum, avg, min and max; values that are not numbers after
// coercion are skipped.
type numericAgg struct {
	fn    string
	n     int64
	sum   float64
	isum  int64
	ints  bool
	best  Value
	valid bool
}

func (c *numericAgg) add(v Value, _ *record) {
	n, ok := v.number()
	if !ok {
		return
	}
	if c.n == 0 {
		c.ints = true
	}
	c.n++
	if c.ints && n.isInt {
		s := c.isum + n.i
		if (s > c.isum) == (n.i > 0) {
			c.isum = s
		} else {
			c.ints = false
		}
	} else {
		c.ints = false
	}
	c.sum += n.float()
	if !c.valid || c.fn == "min" && compareNumbers(n, c.best) < 0 || c.fn == "max" && compareNumbers(n, c.best) > 0 {
		c.best, c.valid = n, true
	}
}

// merge combines the counts and picks; a float sum depends on the order
// of its additions, so a parallel plan leaves sum and avg out
// (mergeableAgg).
func (c *numericAgg) merge(o aggState) {
	x := o.(*numericAgg)
	if x.n == 0 {
		return
	}
	if c.n == 0 {
		*c = *x
		return
	}
	c.n += x.n
	if c.ints && x.ints {
		s := c.isum + x.isum
		if (s > c.isum) == (x.isum > 0) {
			c.isum = s
		} else {
			c.ints = false
		}
	} else {
		c.ints = false
	}
	c.sum += x.sum
	if c.fn == "min" && compareNumbers(x.best, c.best) < 0 || c.fn == "max" && compareNumbers(x.best, c.best) > 0 {
		c.best = x.best
	}
}

func (c *numericAgg) result() Value {
	if c.n == 0 {
		return Null
	}
	switch c.fn {
	case "sum":
		if c.ints {
			return Int(c.isum)
		}
		return Float(c.sum)
	case "avg":
		avg := c.sum / float64(c.n)
		if math.IsNaN(avg) {
			return Null
		}
		return Float(avg)
	}
	return c.best
}
