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
}

// aggState accumulates one aggregate for one group.
type aggState interface {
	add(v Value, r *record)
	result() Value
}

// aggColumn holds one aggregate's state for every group of a stage, by
// group number (0, 1, … in order of first appearance). Tens of thousands
// of groups then cost a slice element each per aggregate, not a state
// object behind an interface; count and values, the seed's aggregates,
// have columns of their own, the others a state per group (stateColumn).
type aggColumn interface {
	grow()                         // makes room for the next group
	add(g int, v Value, r *record) // adds a row's argument to group g
	result(g int) Value            // group g's value; its state may then go
}

// countColumn is count, count(*) and count(x).
type countColumn struct {
	n       []int64
	nonNull bool // count(x) under CountFieldNonNull: Nulls do not count
}

func (c *countColumn) grow() { c.n = append(c.n, 0) }
func (c *countColumn) add(g int, v Value, _ *record) {
	if !c.nonNull || v.kind != KindNull {
		c.n[g]++
	}
}
func (c *countColumn) result(g int) Value { return Int(c.n[g]) }

// stateColumn is any aggregate as one aggState per group.
type stateColumn struct {
	states []aggState
	mk     func() aggState
}

func (c *stateColumn) grow()                         { c.states = append(c.states, c.mk()) }
func (c *stateColumn) add(g int, v Value, r *record) { c.states[g].add(v, r) }
func (c *stateColumn) result(g int) Value {
	v := c.states[g].result()
	c.states[g] = nil
	return v
}

// plainKey reports whether v is Null or a string and nothing else, which
// a group's key names without its Value (keyValues).
func plainKey(v Value) bool {
	return v.kind == KindNull || v.kind == KindString && !v.isInt && !v.b && v.n == 0 && v.lp == nil
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

// appendKeyValues appends to dst the values of a plain groups map key,
// whose strings ks numbered.
func appendKeyValues(dst []Value, ks *strnum.Table, key string) []Value {
	for p := 1; p < len(key); {
		kind := key[p]
		p++
		switch kind {
		case keyNumbered:
			id, w := binary.Uvarint([]byte(key[p:]))
			p += w
			s, _ := ks.String(id)
			dst = append(dst, Str(s))
		case byte(KindString):
			l, w := binary.Uvarint([]byte(key[p:]))
			p += w
			dst = append(dst, Str(key[p:p+int(l)]))
			p += int(l)
		default:
			dst = append(dst, Null)
		}
	}
	return dst
}

// aggStage is the hash aggregation (spec §5.7, §9), angle-grinder's
// MultiGrouper: one group per distinct key tuple, typed and case-sensitive.
// A group is a number: its key is groupKeys[g], its aggregates' states
// are element g of each column.
type aggStage struct {
	keys       []*accessor
	keyNames   []string
	aggs       []*aggFunc
	cols       []aggColumn
	keepNull   bool
	emptyRow   bool
	sortGroups bool
	groups     map[string]int32 // groups map key → group number
	groupKeys  []string         // group number → groups map key
	// typed holds the key values of the groups whose key is not plain
	// (appendGroupKey); the plain ones are read back from their map key.
	typed map[int32][]Value
	strs  strnum.Table
	sc    aggScratch
	mu    sync.Mutex // held while a group is updated (sharedAgg)
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
			v = Float(v.float()) // 3.0 and 3 are one group
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
	g, ok := s.groups[string(sc.buf)]
	if !ok {
		g = s.newGroup(string(sc.buf))
		if !plain {
			keys := make([]Value, len(sc.kv))
			for i, v := range sc.kv {
				keys[i] = v.clone()
			}
			if s.typed == nil {
				s.typed = map[int32][]Value{}
			}
			s.typed[g] = keys
		}
	}
	for i, c := range s.cols {
		c.add(int(g), sc.args[i], r)
	}
}

// newGroup adds the group of the groups map key key and returns its
// number.
func (s *aggStage) newGroup(key string) int32 {
	if s.groups == nil {
		s.groups = map[string]int32{}
	}
	g := int32(len(s.groupKeys))
	s.groups[key] = g
	s.groupKeys = append(s.groupKeys, key)
	for _, c := range s.cols {
		c.grow()
	}
	return g
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

// rows returns the groups' rows in output order, each its key values then
// its aggregates' results, with the one row of an empty aggregation
// without a group clause (EmptyCountRow), and lets go of the groups: a
// group's state goes as its row is made.
func (s *aggStage) rows() [][]Value {
	if len(s.groupKeys) == 0 && len(s.keys) == 0 && s.emptyRow {
		s.newGroup("")
	}
	nk := len(s.keys)
	rows := make([][]Value, len(s.groupKeys))
	s.groups = nil // the map goes first: the rows take its place
	for g, key := range s.groupKeys {
		row := make([]Value, 0, nk+len(s.cols))
		if keys, ok := s.typed[int32(g)]; ok {
			row = append(row, keys...)
		} else if nk > 0 {
			row = appendKeyValues(row, &s.strs, key)
		}
		for _, c := range s.cols {
			row = append(row, c.result(g))
		}
		rows[g] = row
		s.groupKeys[g] = ""
	}
	if s.sortGroups {
		sort.SliceStable(rows, func(i, j int) bool {
			for k := range nk {
				if c := compareSort(rows[i][k], rows[j][k], false, true); c != 0 {
					return c < 0
				}
			}
			return false
		})
	}
	s.groupKeys, s.typed, s.cols, s.strs = nil, nil, nil, strnum.Table{}
	return rows
}

// columns names the columns of the stage's rows: its keys, then its
// aggregates.
func (s *aggStage) columns() []string {
	cols := append([]string(nil), s.keyNames...)
	for _, a := range s.aggs {
		cols = append(cols, a.name)
	}
	return cols
}

func (s *aggStage) flush(emit func(*record)) {
	names := s.columns()
	rows := s.rows()
	for n, row := range rows {
		rows[n] = nil // the row lives on in its record only
		r := &record{mat: true, own: true, ord: int64(n)}
		for i, v := range row {
			r.fields = append(r.fields, field{name: names[i], v: v, seq: int32(i + 1)})
		}
		r.seq = int32(len(r.fields))
		emit(r)
	}
}

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

// valuesColumn is values(x): per group, the distinct renderings, sorted
// byte-wise, keeping the cap smallest (spec §9). Most groups have a few
// values, and many groups the same few (the operations a caller ran): a
// group of up to maxSharedList values names its list by number in a
// table of distinct short lists, four bytes a group; past it, or once the
// table is full, the group has a sorted list of its own, and past
// maxValuesList a set.
type valuesColumn struct {
	at      []uint32          // per group: its short list's number, or ownedBit | its owned's index
	shared  [][]string        // the distinct short lists, by number; 0 is the empty one
	ids     map[string]uint32 // a short list's key (appendListKey) → its number
	owned   []ownedValues     // the groups with lists of their own
	results []Value           // a short list's result, by number, once made
	key     []byte            // scratch for a list's key
	cap     int
	warn    *warnings
	in      interner
}

// ownedValues is the values of a group past the shared lists.
type ownedValues struct {
	list []string
	set  map[string]struct{} // past maxValuesList, instead of list
}

const (
	// maxValuesList is the number of distinct values a values() keeps in
	// a sorted slice; past it, in a set.
	maxValuesList = 32
	// maxSharedList is the longest list a group may share.
	maxSharedList = 4
	// maxSharedLists bounds the table of short lists: groups whose lists
	// are all different (values of an id) then cost no more than a list
	// each.
	maxSharedLists = 1 << 14
	// ownedBit marks a group's at as an index in owned.
	ownedBit = 1 << 31
)

// newValuesColumn returns an empty values() column keeping the cap
// smallest values (none: all).
func newValuesColumn(cap int, w *warnings) *valuesColumn {
	return &valuesColumn{shared: [][]string{nil}, cap: cap, warn: w}
}

func (c *valuesColumn) grow() { c.at = append(c.at, 0) }

func (c *valuesColumn) add(g int, v Value, _ *record) {
	if v.kind == KindNull {
		return
	}
	s := render(v)
	if c.at[g]&ownedBit != 0 {
		c.owned[c.at[g]&^ownedBit].add(s, &c.in)
		return
	}
	list := c.shared[c.at[g]]
	i := sort.SearchStrings(list, s)
	if i < len(list) && list[i] == s {
		return
	}
	if len(list) < maxSharedList {
		// The list with s, if the table has it or has room for it.
		c.key = appendListKey(c.key[:0], list[:i])
		c.key = appendListKey(c.key, []string{s})
		c.key = appendListKey(c.key, list[i:])
		if id, ok := c.ids[string(c.key)]; ok {
			c.at[g] = id
			return
		}
		if len(c.shared) < maxSharedLists {
			next := make([]string, 0, len(list)+1)
			next = append(append(append(next, list[:i]...), c.in.intern(s)), list[i:]...)
			if c.ids == nil {
				c.ids = map[string]uint32{}
			}
			c.at[g] = uint32(len(c.shared))
			c.ids[string(c.key)] = c.at[g]
			c.shared = append(c.shared, next)
			return
		}
	}
	o := ownedValues{list: append(make([]string, 0, len(list)+1), list...)}
	o.add(s, &c.in)
	c.at[g] = ownedBit | uint32(len(c.owned))
	c.owned = append(c.owned, o)
}

// appendListKey appends the strings of list, each after its length, to
// key: the key of a list names it unambiguously.
func appendListKey(key []byte, list []string) []byte {
	for _, s := range list {
		key = binary.AppendUvarint(key, uint64(len(s)))
		key = append(key, s...)
	}
	return key
}

// add adds s to the group's values.
func (o *ownedValues) add(s string, in *interner) {
	if o.set != nil {
		if _, ok := o.set[s]; !ok {
			o.set[in.intern(s)] = struct{}{}
		}
		return
	}
	i := sort.SearchStrings(o.list, s)
	if i < len(o.list) && o.list[i] == s {
		return
	}
	if len(o.list) == maxValuesList {
		o.set = make(map[string]struct{}, 2*maxValuesList)
		for _, x := range o.list {
			o.set[x] = struct{}{}
		}
		o.set[in.intern(s)] = struct{}{}
		o.list = nil
		return
	}
	o.list = append(o.list, "")
	copy(o.list[i+1:], o.list[i:])
	o.list[i] = in.intern(s)
}

func (c *valuesColumn) result(g int) Value {
	at := c.at[g]
	var list []string
	if at&ownedBit != 0 {
		o := &c.owned[at&^ownedBit]
		list = o.list
		if o.set != nil {
			list = make([]string, 0, len(o.set))
			for s := range o.set {
				list = append(list, s)
			}
			sort.Strings(list)
		}
		*o = ownedValues{}
	} else {
		list = c.shared[at]
	}
	if c.cap > 0 && len(list) > c.cap {
		list = list[:c.cap]
		c.warn.add(warnValuesCap)
	}
	if at&ownedBit != 0 {
		return listValue(list)
	}
	// The groups of one short list share its result, as they share the
	// list: a Value is not changed once made.
	if c.results == nil {
		c.results = make([]Value, len(c.shared))
	}
	if c.results[at].kind != KindList {
		c.results[at] = listValue(list)
	}
	return c.results[at]
}

// listValue is the List of the strings of list.
func listValue(list []string) Value {
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
		s := c.isum + n.int()
		if (s > c.isum) == (n.int() > 0) {
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
