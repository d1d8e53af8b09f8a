package query

import (
	"encoding/binary"
	"math"
	"sort"
	"strings"
	"sync"

	"github.com/revertwatch/revertwatch/internal/strnum"
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
}

// group is one row of the aggregation under construction.
type group struct {
	// keys are the group's key values; nil while every one is a plain
	// string or Null, which key (the groups map's key) names: tens of
	// thousands of groups then cost a few bytes each, the strings being
	// numbered in the stage's table, not a Value (64 bytes) per key.
	// groupsInOrder sets them.
	keys   []Value
	key    string
	states []aggState
	first  int // order of first appearance
}

// plainKey reports whether v is Null or a string and nothing else, which
// a group's key names without its Value (keyValues).
func plainKey(v Value) bool {
	return v.kind == KindNull || v.kind == KindString && !v.isInt && !v.b && v.i == 0 && v.f == 0 && v.list == nil
}

// A groups map key starts with one of these bytes: the plain form names
// Null and strings (numbered, or in full once the table is full); the
// typed form is appendKey of each value. Neither can be the other.
const (
	keyPlain    = 'p'
	keyTyped    = 't'
	keyNumbered = 0xff // in the plain form: a string by its number
)

// appendGroupKey appends the groups map key of the values kv, numbering
// their strings in ks (the same few hosts, callers and resource groups
// come in many groups; past strnum.Max, keys hold strings in full); plain
// reports the plain form.
func appendGroupKey(buf []byte, kv []Value, ks *strnum.Table) (_ []byte, plain bool) {
	plain = true
	for _, v := range kv {
		plain = plain && plainKey(v)
	}
	if !plain {
		buf = append(buf, keyTyped)
		for _, v := range kv {
			buf = appendKey(buf, v)
		}
		return buf, false
	}
	buf = append(buf, keyPlain)
	for _, v := range kv {
		if v.kind == KindNull {
			buf = append(buf, byte(KindNull))
			continue
		}
		if id, _, ok := ks.Number(v.s); ok {
			buf = append(buf, keyNumbered)
			buf = binary.AppendUvarint(buf, uint64(id))
			continue
		}
		buf = append(buf, byte(KindString))
		buf = binary.AppendUvarint(buf, uint64(len(v.s)))
		buf = append(buf, v.s...)
	}
	return buf, true
}

// keyValues reads back the n values of a plain groups map key, whose
// strings ks numbered.
func keyValues(ks *strnum.Table, key string, n int) []Value {
	out := make([]Value, 0, n)
	for p := 1; p < len(key); {
		kind := key[p]
		p++
		switch kind {
		case keyNumbered:
			id, w := binary.Uvarint([]byte(key[p:]))
			p += w
			s, _ := ks.String(id)
			out = append(out, Str(s))
		case byte(KindString):
			l, w := binary.Uvarint([]byte(key[p:]))
			p += w
			out = append(out, Str(key[p:p+int(l)]))
			p += int(l)
		default:
			out = append(out, Null)
		}
	}
	return out
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
	strs       strnum.Table
	sc         aggScratch
	mu         sync.Mutex // held while a group is updated (sharedAgg)
}

func (s *aggStage) add(r *record) { s.addFrom(r, &s.sc) }

// aggScratch is what addFrom reads of a record before it takes the lock:
// each Worker has its own.
type aggScratch struct {
	buf  []byte
	kv   []Value
	args []Value
}

// addFrom adds a record: its keys and arguments are read into sc, then
// the group is updated under the stage's lock, which the Workers of a
// parallel plan share (sharedAgg).
func (s *aggStage) addFrom(r *record, sc *aggScratch) {
	sc.kv, sc.args = sc.kv[:0], sc.args[:0]
	for _, k := range s.keys {
		v := r.get(k)
		if v.kind == KindNull && !s.keepNull {
			return
		}
		if v.kind == KindNumber && !v.isInt {
			v = Float(v.f) // 3.0 and 3 are one group
		}
		sc.kv = append(sc.kv, v)
	}
	for _, a := range s.aggs {
		var v Value
		if a.arg != nil {
			v = a.arg(r)
		}
		sc.args = append(sc.args, v)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var plain bool
	sc.buf, plain = appendGroupKey(sc.buf[:0], sc.kv, &s.strs)
	g := s.groups[string(sc.buf)]
	if g == nil {
		if s.groups == nil {
			s.groups = map[string]*group{}
		}
		key := string(sc.buf)
		g = &group{key: key, states: make([]aggState, len(s.aggs)), first: len(s.order)}
		if !plain {
			g.keys = make([]Value, len(sc.kv))
			for i, v := range sc.kv {
				g.keys[i] = v.clone()
			}
		}
		for i, a := range s.aggs {
			g.states[i] = a.mk()
		}
		s.groups[key] = g
		s.order = append(s.order, g)
	}
	for i := range s.aggs {
		g.states[i].add(sc.args[i], r)
	}
}

// sharedAgg is a Worker's view of its Runner's aggregation: the Workers
// add to the one aggregation, each reading its records with its own
// scratch, so that a group is held once however many goroutines see it.
type sharedAgg struct {
	s  *aggStage
	sc aggScratch
}

func (w *sharedAgg) add(r *record)       { w.s.addFrom(r, &w.sc) }
func (w *sharedAgg) flush(func(*record)) {}

// groupsInOrder returns the groups in output order, with the one row of
// an empty aggregation without a group clause (EmptyCountRow), and lets
// go of the map.
func (s *aggStage) groupsInOrder() []*group {
	if len(s.order) == 0 && len(s.keys) == 0 && s.emptyRow {
		g := &group{states: make([]aggState, len(s.aggs))}
		for i, a := range s.aggs {
			g.states[i] = a.mk()
		}
		s.order = append(s.order, g)
	}
	for _, g := range s.order {
		if g.keys == nil && len(s.keys) > 0 {
			g.keys = keyValues(&s.strs, g.key, len(s.keys))
		}
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
	order := s.order
	s.groups, s.order, s.strs = nil, nil, strnum.Table{}
	return order
}

func (s *aggStage) flush(emit func(*record)) {
	order := s.groupsInOrder()
	for n, g := range order {
		order[n] = nil // the group lives on in its row only
		r := &record{mat: true, own: true, ord: int64(n)}
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
}

type countAll struct{ n int64 }

func (c *countAll) add(Value, *record) { c.n++ }
func (c *countAll) result() Value      { return Int(c.n) }

type countNonNull struct{ n int64 }

func (c *countNonNull) add(v Value, _ *record) {
	if v.kind != KindNull {
		c.n++
	}
}
func (c *countNonNull) result() Value { return Int(c.n) }

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

// valuesAgg is values(x): the distinct renderings, sorted byte-wise,
// keeping the cap smallest (spec §9). A group seldom has more than a few:
// they are kept in a sorted slice of interned strings, and in a set only
// past maxValuesList.
type valuesAgg struct {
	list []string
	seen map[string]struct{}
	*valuesSpec
}

// valuesSpec is what every group's values(x) shares: tens of thousands
// of groups then carry a pointer each, not three fields.
type valuesSpec struct {
	cap  int
	warn *warnings
	in   *interner
}

// maxValuesList is the number of distinct values a values() keeps in its
// sorted slice; past it, in a set.
const maxValuesList = 32

func (c *valuesAgg) add(v Value, _ *record) {
	if v.kind == KindNull {
		return
	}
	s := render(v)
	if c.seen != nil {
		if _, ok := c.seen[s]; !ok {
			c.seen[c.in.intern(s)] = struct{}{}
		}
		return
	}
	i := sort.SearchStrings(c.list, s)
	if i < len(c.list) && c.list[i] == s {
		return
	}
	if len(c.list) == maxValuesList {
		c.seen = make(map[string]struct{}, 2*maxValuesList)
		for _, x := range c.list {
			c.seen[x] = struct{}{}
		}
		c.list = nil
		c.seen[c.in.intern(s)] = struct{}{}
		return
	}
	c.list = append(c.list, "")
	copy(c.list[i+1:], c.list[i:])
	c.list[i] = c.in.intern(s)
}

func (c *valuesAgg) result() Value {
	list := c.list
	if c.seen != nil {
		list = make([]string, 0, len(c.seen))
		for s := range c.seen {
			list = append(list, s)
		}
		sort.Strings(list)
	}
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

// interner gives one copy of each string an aggregation keeps: the same
// few operation names and levels come in every group. Past maxInterned
// strings it copies without remembering.
type interner struct{ m map[string]string }

const maxInterned = 1 << 16

func (in *interner) intern(s string) string {
	if x, ok := in.m[s]; ok {
		return x
	}
	x := strings.Clone(s)
	if in.m == nil {
		in.m = map[string]string{}
	}
	if len(in.m) < maxInterned {
		in.m[x] = x
	}
	return x
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
