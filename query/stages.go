package query

import (
	"regexp"
	"sort"
	"strings"

	"github.com/valyala/fastjson"

	"github.com/revertwatch/revertwatch/internal/jsonx"
)

// rowStage is a stage that looks at one record at a time and keeps or
// drops it (Loki's Stage.Process shape).
type rowStage interface {
	process(r *record) bool
}

// multiStage is a row stage that may turn one record into several
// (parse regex … multi).
type multiStage interface {
	expand(r *record, emit func(*record))
}

// barrier is a stage that needs all its input before it emits: an
// aggregation, a sort, a bucketed timeslice.
type barrier interface {
	add(r *record)
	flush(emit func(*record))
}

// jsonAutoStage is json auto (spec §5.1).
type jsonAutoStage struct {
	field         *accessor // nil: _raw
	maxDepth      int
	extractArrays bool
	fold          bool
	asStrings     bool // Semantics.JSONNativeTypes off
	fieldCap      int  // Semantics.JSONFieldCap
	keys          []string
	as            []string
	p             fastjson.Parser
	index         []member // reused top-level index of the current record
	warn          *warnings
}

func (s *jsonAutoStage) process(r *record) bool {
	text := r.raw
	if s.field != nil {
		v := r.get(s.field)
		if v.kind == KindNull {
			return true
		}
		text = render(v)
	}
	if s.keys == nil {
		var ms []jsonx.Member
		if s.field == nil {
			ms = r.ms
		}
		r.addLayer(s, &s.p, text, ms)
		return true
	}
	ly := jsonLayer{st: s, p: &s.p, text: text}
	for i, k := range s.keys {
		name := k
		if i < len(s.as) {
			name = s.as[i]
		}
		if v, ok := ly.find(k); ok {
			r.set(name, v)
		}
	}
	if ly.root == nil {
		s.warn.add(warnNoJSON)
	}
	return true
}

// keep applies the nodrop chaining rule of spec §5.4 to an extraction
// that did or did not match.
func keep(r *record, matched, nodrop bool) bool {
	if matched {
		if nodrop {
			r.nodrop = true
		}
		return true
	}
	return nodrop || r.nodrop
}

// jsonPathStage is json "path", … [as …] [nodrop] (spec §5.2).
type jsonPathStage struct {
	field  *accessor
	paths  [][]pathStep
	names  []string
	nodrop bool
	p      fastjson.Parser
}

type pathStep struct {
	key   string
	index int // -1: a key; -2: [*]
}

func (s *jsonPathStage) process(r *record) bool {
	text := r.raw
	if s.field != nil {
		v := r.get(s.field)
		if v.kind == KindNull {
			return keep(r, false, s.nodrop)
		}
		text = render(v)
	}
	root, err := s.p.Parse(text)
	if err != nil {
		return keep(r, false, s.nodrop)
	}
	vals := make([]Value, len(s.paths))
	for i, p := range s.paths {
		v, ok := walkPath(root, p)
		if !ok {
			return keep(r, false, s.nodrop)
		}
		vals[i] = v
	}
	for i, v := range vals {
		r.set(s.names[i], v)
	}
	return keep(r, true, s.nodrop)
}

func walkPath(v *fastjson.Value, steps []pathStep) (Value, bool) {
	for i, st := range steps {
		switch {
		case st.index == -1:
			if v.Type() != fastjson.TypeObject {
				return Null, false
			}
			v = v.Get(st.key)
		case st.index == -2:
			items, err := v.Array()
			if err != nil {
				return Null, false
			}
			out := make([]Value, 0, len(items))
			for _, it := range items {
				if x, ok := walkPath(it, steps[i+1:]); ok {
					out = append(out, x)
				}
			}
			return List(out), true
		default:
			items, err := v.Array()
			if err != nil || st.index >= len(items) {
				return Null, false
			}
			v = items[st.index]
		}
		if v == nil {
			return Null, false
		}
	}
	switch v.Type() {
	case fastjson.TypeObject, fastjson.TypeArray:
		return Str(string(v.MarshalTo(nil))), true
	}
	return jsonScalar(v), true
}

// parsePath reads the JSONPath subset of spec §5.2: a.b, a[0],
// ['key.with.dots'], a[*].b.
func parsePath(p string) ([]pathStep, bool) {
	var steps []pathStep
	p = strings.TrimPrefix(strings.TrimPrefix(p, "$"), ".")
	for p != "" {
		switch {
		case strings.HasPrefix(p, "['"):
			// Search for the close after the open: in [']
			// they overlap.
			end := strings.Index(p[2:], "']")
			if end < 0 {
				return nil, false
			}
			steps = append(steps, pathStep{key: p[2 : 2+end], index: -1})
			p = p[2+end+2:]
		case strings.HasPrefix(p, "[*]"):
			steps = append(steps, pathStep{index: -2})
			p = p[3:]
		case p[0] == '[':
			end := strings.IndexByte(p, ']')
			if end < 2 {
				return nil, false
			}
			n := 0
			for _, c := range p[1:end] {
				if c < '0' || c > '9' || n > 1<<24 {
					return nil, false
				}
				n = n*10 + int(c-'0')
			}
			steps = append(steps, pathStep{index: n})
			p = p[end+1:]
		default:
			end := strings.IndexAny(p, ".[")
			if end < 0 {
				end = len(p)
			}
			if end == 0 {
				return nil, false
			}
			steps = append(steps, pathStep{key: p[:end], index: -1})
			p = p[end:]
		}
		if strings.HasPrefix(p, ".") {
			p = p[1:]
			if p == "" {
				return nil, false
			}
		}
	}
	return steps, len(steps) > 0
}

// anchorStage is parse "a*b*c" as x, y (spec §5.3).
type anchorStage struct {
	field  *accessor
	parts  []string // literal anchors around the stars: len(names)+1
	names  []string
	nodrop bool
	fold   bool
}

func (s *anchorStage) process(r *record) bool {
	text := r.raw
	if s.field != nil {
		v := r.get(s.field)
		if v.kind == KindNull {
			return keep(r, false, s.nodrop)
		}
		text = render(v)
	}
	index := strings.Index
	if s.fold {
		index = indexFold
	}
	from := 0
	for {
		st := index(text[from:], s.parts[0])
		if st < 0 {
			return keep(r, false, s.nodrop)
		}
		pos := from + st + len(s.parts[0])
		vals, ok := s.capture(text, pos, index)
		if ok {
			for i, v := range vals {
				r.set(s.names[i], Str(v))
			}
			return keep(r, true, s.nodrop)
		}
		if s.parts[0] == "" {
			return keep(r, false, s.nodrop)
		}
		from += st + 1
	}
}

// capture fills each star with the shortest text up to the next anchor; a
// final star with no anchor after it takes the rest of the text.
func (s *anchorStage) capture(text string, pos int, index func(string, string) int) ([]string, bool) {
	vals := make([]string, len(s.names))
	for i := range s.names {
		next := s.parts[i+1]
		if next == "" && i == len(s.names)-1 {
			vals[i] = text[pos:]
			return vals, true
		}
		e := index(text[pos:], next)
		if e < 0 {
			return nil, false
		}
		vals[i] = text[pos : pos+e]
		pos += e + len(next)
	}
	return vals, true
}

func indexFold(s, sub string) int {
	return strings.Index(strings.ToLower(s), strings.ToLower(sub))
}

// regexStage is parse regex / extract (spec §5.3).
type regexStage struct {
	field  *accessor
	res    []*regexp.Regexp
	nodrop bool
	multi  bool
}

func (s *regexStage) input(r *record) (string, bool) {
	if s.field == nil {
		return r.raw, true
	}
	v := r.get(s.field)
	if v.kind == KindNull {
		return "", false
	}
	return render(v), true
}

func setGroups(r *record, re *regexp.Regexp, text string, m []int) {
	for gi, name := range re.SubexpNames() {
		if name == "" {
			continue
		}
		if m[2*gi] < 0 {
			r.set(name, Null)
			continue
		}
		r.set(name, Str(text[m[2*gi]:m[2*gi+1]]))
	}
}

func (s *regexStage) process(r *record) bool {
	text, ok := s.input(r)
	if !ok {
		return keep(r, false, s.nodrop)
	}
	for _, re := range s.res {
		m := re.FindStringSubmatchIndex(text)
		if m == nil {
			return keep(r, false, s.nodrop)
		}
		setGroups(r, re, text, m)
	}
	return keep(r, true, s.nodrop)
}

// regexMulti is parse regex … multi: one record per match.
type regexMulti struct{ *regexStage }

func (m regexMulti) expand(r *record, emit func(*record)) {
	s := m.regexStage
	text, ok := s.input(r)
	if !ok {
		if keep(r, false, s.nodrop) {
			emit(r)
		}
		return
	}
	re := s.res[0]
	all := re.FindAllStringSubmatchIndex(text, -1)
	if len(all) == 0 {
		if keep(r, false, s.nodrop) {
			emit(r)
		}
		return
	}
	base := r.materialize(false)
	base.mat = r.mat
	for _, m := range all {
		c := base.copy()
		setGroups(c, re, text, m)
		keep(c, true, s.nodrop)
		emit(c)
	}
}

// copy duplicates a materialized record.
func (r *record) copy() *record {
	c := *r
	c.fields = append([]field(nil), r.fields...)
	c.layers = nil
	c.cache = nil
	return &c
}

// whereStage is where expr (spec §5.5).
type whereStage struct {
	fn   evalFn
	bs   bool
	warn *warnings
}

func (s *whereStage) process(r *record) bool {
	v := s.fn(r)
	if v.kind == KindBool {
		return v.b
	}
	if v.kind == KindNull {
		return false
	}
	if s.bs {
		if b, ok := v.truth(); ok {
			return b
		}
	}
	s.warn.add(warnNonBool)
	return false
}

// assignStage is expr as f (and each target of eval).
type assignStage struct {
	name   string
	fn     evalFn
	remove bool
}

func (s *assignStage) process(r *record) bool {
	v := s.fn(r)
	if v.kind == KindNull && !s.remove {
		r.seq++
		r.forget(s.name)
		i := r.findField(s.name)
		if i < 0 {
			r.fields = append(r.fields, field{name: s.name, seq: r.seq})
		} else {
			r.fields[i] = field{name: s.name, seq: r.seq}
		}
		return true
	}
	r.set(s.name, v)
	return true
}

// limitStage is limit N.
type limitStage struct {
	n, seen int64
}

func (s *limitStage) process(*record) bool {
	s.seen++
	return s.seen <= s.n
}

// fieldsStage is fields [+|-] a, b (spec §5.8).
type fieldsStage struct {
	names []*accessor
	deny  bool
}

func (s *fieldsStage) process(r *record) bool {
	cols := r.materializeInPlace()
	defer func() { r.cache = r.cache[:0] }()
	if s.deny {
		kept := cols[:0]
		for _, f := range cols {
			drop := false
			for _, a := range s.names {
				if strings.EqualFold(a.name, f.name) {
					drop = true
				}
			}
			if !drop {
				kept = append(kept, f)
			}
		}
		r.fields = kept
		return true
	}
	out := make([]field, 0, len(s.names)+2)
	for _, a := range s.names {
		i := indexField(cols, a.name)
		if i >= 0 {
			out = append(out, field{name: a.name, v: cols[i].v})
		} else if v := r.getOutside(a); v.kind != KindNull {
			out = append(out, field{name: a.name, v: v.clone()})
		}
	}
	for _, f := range cols {
		if strings.HasPrefix(f.name, "_") && indexField(out, f.name) < 0 {
			out = append(out, f)
		}
	}
	r.fields = out
	return true
}

func indexField(fs []field, name string) int {
	for i, f := range fs {
		if strings.EqualFold(f.name, name) {
			return i
		}
	}
	return -1
}

// materializeInPlace turns r into a record whose fields are its complete
// columns, with the message metadata when it is still a message.
func (r *record) materializeInPlace() []field {
	if r.mat {
		return r.fields
	}
	m := r.materialize(true)
	r.fields, r.layers, r.mat, r.seq = m.fields, nil, true, m.seq
	r.cache = r.cache[:0]
	return r.fields
}

// getOutside resolves a name against metadata and aliases only.
func (r *record) getOutside(a *accessor) Value {
	save := r.fields
	r.fields = nil
	saveLayers := r.layers
	r.layers = nil
	mat := r.mat
	r.mat = false
	v := r.lookup(a)
	r.fields, r.layers, r.mat = save, saveLayers, mat
	return v
}

// sortKey is one compiled sort key.
type sortKey struct {
	a    *accessor
	desc bool
}

// sortStage is sort by … (spec §5.8, §9): a stable sort of every row.
type sortStage struct {
	keys      []sortKey
	nullsLast bool
	rows      []*record
	vals      [][]Value
}

func (s *sortStage) add(r *record) {
	m := r.keep(!r.mat)
	s.rows = append(s.rows, m)
	v := make([]Value, len(s.keys))
	for i, k := range s.keys {
		v[i] = m.get(k.a)
	}
	s.vals = append(s.vals, v)
}

func (s *sortStage) flush(emit func(*record)) {
	idx := make([]int, len(s.rows))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(i, j int) bool {
		a, b := s.vals[idx[i]], s.vals[idx[j]]
		for k, key := range s.keys {
			c := compareSort(a[k], b[k], key.desc, s.nullsLast)
			if c != 0 {
				return c < 0
			}
		}
		return false
	})
	for n, i := range idx {
		r := s.rows[i]
		r.ord = int64(n)
		emit(r)
	}
	s.rows, s.vals = nil, nil
}

// compareSort orders two values for a sort key: Null last in either
// direction when nullsLast, otherwise Null is the smallest value.
func compareSort(a, b Value, desc, nullsLast bool) int {
	an, bn := a.kind == KindNull, b.kind == KindNull
	switch {
	case an && bn:
		return 0
	case an || bn:
		c := 1
		if bn {
			c = -1
		}
		if !nullsLast {
			c = -c
			if desc {
				c = -c
			}
		}
		return c
	}
	c := orderValues(a, b)
	if desc {
		c = -c
	}
	return c
}
