package query

import (
	"strings"
	"unsafe"

	"github.com/valyala/fastjson"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/internal/jsonx"
)

// field is one field written by a stage: extracted by parse or json, or
// assigned. A removed field (assigned Null) stays as a tombstone so that
// it also hides older JSON layers and aliases.
type field struct {
	name string
	v    Value
	seq  int32
	gone bool
}

// jsonLayer is the output of one json auto stage, resolved lazily: the
// JSON is parsed on the first lookup that reaches it, and field names are
// found by walking the tree instead of flattening every key.
type jsonLayer struct {
	st     *jsonAutoStage
	p      *fastjson.Parser
	text   string
	ms     []jsonx.Member  // text's top-level members as the reader indexed them, or nil
	root   *fastjson.Value // an object, or nil when there is no JSON
	keys   []member        // top-level members, indexed on first lookup
	parsed bool
	seq    int32
}

// record is one message, or one row after an aggregation. Records on the
// hot path are reused from event to event; materialize makes a copy that
// can be kept.
type record struct {
	ev     *event.Event
	raw    string
	ms     []jsonx.Member // raw's top-level members as the reader indexed them, or nil
	fields []field
	layers []jsonLayer
	seq    int32
	nodrop bool  // kept by a nodrop parse (spec §5.4)
	time   int64 // _messageTime in ms
	ord    int64 // input order
	mat    bool  // fields hold every column; no layers, no implicit metadata columns
	own    bool  // made for this row alone (a barrier's output, a copy): kept as it is, never copied again

	cache []cached // lookups since the last write

	aliasUse []int64 // lookups answered by each seed alias (by event.AliasNames index)

	exact      bool   // field names must match exactly (Semantics.FoldFieldNames off)
	sourceHost string // _sourceHost when the event has none

	// memos remember the answers of pure tests of short strings (the
	// seed's regexes over operation names, the scope's globs over
	// categories), by compiler.newMemo's number: the same few values
	// come on every record. Only the runner's own record has them.
	memos []map[string]bool
}

// Bounds of a memo: the values it keeps and how many.
const (
	maxMemoValue   = 128
	maxMemoEntries = 4096
)

// memoTest is test(s), remembered in memo id.
func (r *record) memoTest(id int, s string, test func(string) bool) bool {
	if id >= len(r.memos) || len(s) > maxMemoValue {
		return test(s)
	}
	m := r.memos[id]
	if b, ok := m[s]; ok {
		return b
	}
	b := test(s)
	if m == nil {
		m = make(map[string]bool)
		r.memos[id] = m
	}
	if len(m) < maxMemoEntries {
		m[strings.Clone(s)] = b
	}
	return b
}

func (r *record) reset(ev *event.Event, ord int64) {
	r.ev = ev
	r.raw = ""
	r.ms = nil
	if ev != nil && len(ev.Raw) > 0 {
		r.raw = unsafe.String(&ev.Raw[0], len(ev.Raw))
	}
	r.fields = r.fields[:0]
	r.layers = r.layers[:0]
	r.cache = r.cache[:0]
	r.seq = 0
	r.nodrop = false
	r.time = 0
	if ev != nil && !ev.Time.IsZero() {
		r.time = ev.Time.UnixMilli()
	}
	r.ord = ord
	r.mat = false
}

// cached is one memoised lookup. The seed reads operationName up to four
// times per record; each JSON lookup walks the object's keys.
type cached struct {
	a *accessor
	v Value
}

const maxCached = 8

// accessor is a compiled field reference: the name as written plus what
// the planner learned about it.
type accessor struct {
	name   string
	needle string    // lower-case name, when absence from the text proves absence from the JSON
	pick   int       // index of the needle's rarest letter
	meta   metaField // a metadata name handled by the engine, or metaNone
	alias  string    // the lower-case alias name for event.Alias, or ""
	ai     int       // index of the alias in event.AliasNames
}

type metaField uint8

const (
	metaNone metaField = iota
	metaRaw
	metaMessageTime
	metaSize
	metaOther // other _-prefixed names: never taken from JSON
)

func newAccessor(name string) *accessor {
	a := &accessor{name: name}
	if name != "" && !strings.ContainsAny(name, "._[]* ") && jsonx.IsASCII(name) {
		a.needle = strings.ToLower(name)
		a.pick = rarest(a.needle)
	}
	switch strings.ToLower(name) {
	case "_raw":
		a.meta = metaRaw
	case "_messagetime":
		a.meta = metaMessageTime
	case "_size":
		a.meta = metaSize
	default:
		if isMetadataName(name) {
			a.meta = metaOther
		}
	}
	for i, n := range event.AliasNames {
		if strings.EqualFold(n, name) {
			a.alias, a.ai = strings.ToLower(n), i
		}
	}
	return a
}

// metadataNames are Sumo's built-in metadata fields (spec §1). json auto
// never overwrites them.
var metadataNames = []string{"_raw", "_messagetime", "_receipttime", "_size", "_sourcecategory", "_sourcehost",
	"_sourcename", "_source", "_collector", "_messagecount", "_format", "_view"}

func isMetadataName(name string) bool {
	if !strings.HasPrefix(name, "_") {
		return false
	}
	for _, m := range metadataNames {
		if strings.EqualFold(m, name) {
			return true
		}
	}
	return false
}

// findField returns the index of the field written as name, preferring an
// exact spelling, or -1.
func (r *record) findField(name string) int {
	fold := -1
	for i := range r.fields {
		n := r.fields[i].name
		if n == name {
			return i
		}
		if fold < 0 && !r.exact && len(n) == len(name) && strings.EqualFold(n, name) {
			fold = i
		}
	}
	return fold
}

// get resolves a field (spec §1, DESIGN.md §4): the newest write among
// fields and json auto layers, then the engine's metadata, then the seed
// aliases. Names compare case-insensitively; an exact spelling wins.
func (r *record) get(a *accessor) Value {
	for i := range r.cache {
		if r.cache[i].a == a {
			return r.cache[i].v
		}
	}
	v := r.lookup(a)
	if len(r.cache) < maxCached {
		r.cache = append(r.cache, cached{a: a, v: v})
	}
	return v
}

func (r *record) lookup(a *accessor) Value {
	fi := r.findField(a.name)
	var fseq int32 = -1
	if fi >= 0 {
		fseq = r.fields[fi].seq
	}
	if a.meta == metaNone {
		for i := len(r.layers) - 1; i >= 0; i-- {
			ly := &r.layers[i]
			if ly.seq < fseq {
				break
			}
			if !ly.parsed && ly.ms != nil {
				if v, found, ok := ly.st.findMembers(ly.ms, a.name); ok {
					if found {
						return v
					}
					continue
				}
			}
			if !ly.parsed && a.needle != "" && !containsFoldAt(ly.text, a.needle, a.pick) && !strings.Contains(ly.text, `\u`) {
				// The key is not in the text: no need to parse it.
				continue
			}
			if v, ok := ly.find(a.name); ok {
				return v
			}
		}
	}
	if fi >= 0 {
		return r.fields[fi].v
	}
	if r.mat && r.ev == nil {
		return Null
	}
	switch a.meta {
	case metaRaw:
		if r.ev != nil {
			return Str(r.raw)
		}
		return Null
	case metaMessageTime:
		if r.ev != nil && !r.ev.Time.IsZero() {
			return Int(r.time)
		}
		return Null
	case metaSize:
		if r.ev != nil {
			return Int(int64(len(r.raw)))
		}
		return Null
	}
	if a.alias != "" && r.ev != nil {
		if s, ok := r.ev.Alias(a.alias); ok {
			if r.aliasUse != nil {
				r.aliasUse[a.ai]++
			}
			return Str(s)
		}
		if a.alias == "_sourcehost" && r.sourceHost != "" {
			return Str(r.sourceHost)
		}
	}
	return Null
}

// set writes a field; Null removes it (spec §5.6). A field of the same
// name in another case is replaced, taking the new spelling.
func (r *record) set(name string, v Value) {
	r.seq++
	r.forget(name)
	i := r.findField(name)
	if i < 0 {
		r.fields = append(r.fields, field{name: name, v: v, seq: r.seq, gone: v.IsNull()})
		return
	}
	f := &r.fields[i]
	f.name, f.v, f.seq, f.gone = name, v, r.seq, v.IsNull()
}

// forget drops the memoised lookups a write to name can change.
func (r *record) forget(name string) {
	kept := r.cache[:0]
	for _, c := range r.cache {
		if len(c.a.name) != len(name) || !strings.EqualFold(c.a.name, name) {
			kept = append(kept, c)
		}
	}
	r.cache = kept
}

func (r *record) addLayer(st *jsonAutoStage, p *fastjson.Parser, text string, ms []jsonx.Member) {
	r.seq++
	r.cache = r.cache[:0]
	r.layers = append(r.layers, jsonLayer{st: st, p: p, text: text, ms: ms, seq: r.seq})
}

// find resolves a flattened name (a.b, a[0].c, spaces written as _) in
// the layer's JSON.
func (ly *jsonLayer) find(name string) (Value, bool) {
	if !ly.parsed {
		ly.parsed = true
		ly.root = parseEmbeddedJSON(ly.p, ly.text)
	}
	if ly.root == nil {
		return Null, false
	}
	o, _ := ly.root.Object()
	if o == nil {
		return Null, false
	}
	if ly.keys == nil {
		// Index the top-level members once per record: most lookups are
		// top-level names, and several per record miss.
		st := ly.st
		st.index = st.index[:0]
		o.Visit(func(k []byte, v *fastjson.Value) {
			st.index = append(st.index, member{key: k, v: v})
		})
		ly.keys = st.index
	}
	return ly.st.findTop(ly.keys, name)
}

// findMembers is findTop over the top-level members the reader indexed,
// without parsing the text: for the names it can answer from them, a
// member whose value is a string without escapes, a bool or null. ok is
// false when a member the name matches needs the tree (a nested name, an
// object, an array, a number, an escaped string): the caller parses.
func (st *jsonAutoStage) findMembers(ms []jsonx.Member, name string) (v Value, found, ok bool) {
	if name == "" {
		return Null, false, true
	}
	exact, fold := -1, -1
	c0 := jsonx.LowerASCII(name[0])
	for i := range ms {
		k := ms[i].Key
		if len(k) == 0 || len(k) > len(name) || jsonx.LowerASCII(k[0]) != c0 && !(k[0] == ' ' && c0 == '_') {
			continue
		}
		ex := keyMatch(k, name, false)
		if !ex && !(st.fold && keyMatch(k, name, true)) {
			continue
		}
		if len(k) != len(name) {
			return Null, false, false
		}
		switch ms[i].Kind {
		case '"':
			if ms[i].Esc {
				return Null, false, false
			}
		case 't', 'f', 'n':
		default:
			return Null, false, false
		}
		if ex && exact < 0 {
			exact = i
		} else if !ex && fold < 0 {
			fold = i
		}
	}
	i := exact
	if i < 0 {
		i = fold
	}
	if i < 0 {
		return Null, false, true
	}
	m := &ms[i]
	switch m.Kind {
	case '"':
		if len(m.Val) == 0 {
			return Str(""), true, true
		}
		return Str(unsafe.String(&m.Val[0], len(m.Val))), true, true
	case 'n':
		return Null, true, true
	}
	if st.asStrings {
		return Str(string(m.Val)), true, true
	}
	return Bool(m.Kind == 't'), true, true
}

// member is one top-level key of a parsed record.
type member struct {
	key []byte
	v   *fastjson.Value
}

// findTop is findIn over the top-level index.
func (st *jsonAutoStage) findTop(keys []member, name string) (Value, bool) {
	if name == "" { // json auto keys "" asks for it; no key matches
		return Null, false
	}
	var foldOut Value
	foldFound := false
	c0 := jsonx.LowerASCII(name[0])
	for i := range keys {
		k := keys[i].key
		if len(k) == 0 || len(k) > len(name) || jsonx.LowerASCII(k[0]) != c0 && !(k[0] == ' ' && c0 == '_') {
			continue
		}
		if keyMatch(k, name, false) {
			if v, ok := st.descend(keys[i].v, name[len(k):], 1); ok {
				return v, true
			}
			continue
		}
		if st.fold && !foldFound && keyMatch(k, name, true) {
			foldOut, foldFound = st.descend(keys[i].v, name[len(k):], 1)
		}
	}
	return foldOut, foldFound
}

// parseEmbeddedJSON finds the JSON object in text (spec §5.1): the whole
// text, or else the last balanced {…} in it. It returns nil when there is
// none.
func parseEmbeddedJSON(p *fastjson.Parser, text string) *fastjson.Value {
	t := strings.TrimSpace(text)
	if strings.HasPrefix(t, "{") {
		if v, err := p.Parse(t); err == nil && v.Type() == fastjson.TypeObject {
			return v
		}
	}
	end := strings.LastIndexByte(t, '}')
	for end >= 0 {
		depth := 0
		for i := end; i >= 0; i-- {
			switch t[i] {
			case '}':
				depth++
			case '{':
				depth--
				if depth == 0 {
					if v, err := p.Parse(t[i : end+1]); err == nil && v.Type() == fastjson.TypeObject {
						return v
					}
					i = -1
				}
			}
		}
		end = strings.LastIndexByte(t[:end], '}')
	}
	return nil
}

// keyMatch reports whether JSON key k (spaces read as '_') equals
// name[:len(k)], exactly or ignoring ASCII case, with name continuing at
// a path separator or ending there.
func keyMatch(k []byte, name string, fold bool) bool {
	if len(k) > len(name) {
		return false
	}
	if len(k) < len(name) && name[len(k)] != '.' && name[len(k)] != '[' {
		return false
	}
	for i := 0; i < len(k); i++ {
		c, d := k[i], name[i]
		if c == ' ' {
			c = '_'
		}
		if c == d {
			continue
		}
		if !fold {
			return false
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if 'A' <= d && d <= 'Z' {
			d += 'a' - 'A'
		}
		if c != d {
			return false
		}
	}
	return true
}

// findIn resolves name below object o at the given depth (top level is 1).
// Exact key spellings are tried before case-insensitive ones.
func (st *jsonAutoStage) findIn(o *fastjson.Object, name string, depth int) (Value, bool) {
	// One pass: an exact spelling that resolves wins at once; the first
	// case-insensitive one is kept in case there is none.
	var out, foldOut Value
	found, foldFound := false, false
	o.Visit(func(k []byte, v *fastjson.Value) {
		if found || len(k) > len(name) {
			return
		}
		if keyMatch(k, name, false) {
			out, found = st.descend(v, name[len(k):], depth)
			return
		}
		if st.fold && !foldFound && keyMatch(k, name, true) {
			foldOut, foldFound = st.descend(v, name[len(k):], depth)
		}
	})
	if found {
		return out, true
	}
	return foldOut, foldFound
}

// descend resolves the rest of a name (empty, .x or [n]…) below v.
func (st *jsonAutoStage) descend(v *fastjson.Value, rest string, depth int) (Value, bool) {
	deep := st.maxDepth > 0 && depth >= st.maxDepth
	switch {
	case rest == "":
		switch v.Type() {
		case fastjson.TypeObject:
			if deep {
				return Str(string(v.MarshalTo(nil))), true
			}
			return Null, false
		case fastjson.TypeArray:
			if deep || !st.arrayExpanded(v) {
				return Str(string(v.MarshalTo(nil))), true
			}
			return Null, false
		}
		return st.scalar(v), true
	case deep:
		return Null, false
	case rest[0] == '.':
		if v.Type() != fastjson.TypeObject {
			return Null, false
		}
		o, _ := v.Object()
		return st.findIn(o, rest[1:], depth+1)
	case rest[0] == '[':
		if v.Type() != fastjson.TypeArray || !st.arrayExpanded(v) {
			return Null, false
		}
		end := strings.IndexByte(rest, ']')
		if end < 2 {
			return Null, false
		}
		n := 0
		for _, c := range rest[1:end] {
			if c < '0' || c > '9' || n > 1<<24 {
				return Null, false
			}
			n = n*10 + int(c-'0')
		}
		items, _ := v.Array()
		if n >= len(items) {
			return Null, false
		}
		return st.descend(items[n], rest[end+1:], depth+1)
	}
	return Null, false
}

// arrayExpanded reports whether an array's elements become fields of their
// own (a[0], a[0].k): always for arrays holding objects or arrays, and for
// flat arrays with extractarrays.
func (st *jsonAutoStage) arrayExpanded(v *fastjson.Value) bool {
	if st.extractArrays {
		return true
	}
	items, _ := v.Array()
	for _, it := range items {
		if t := it.Type(); t == fastjson.TypeObject || t == fastjson.TypeArray {
			return true
		}
	}
	return false
}

// jsonScalar converts a JSON scalar without copying strings: the Value
// lives as long as the parser's buffer.
func jsonScalar(v *fastjson.Value) Value {
	switch v.Type() {
	case fastjson.TypeString:
		b := v.GetStringBytes()
		if len(b) == 0 {
			return Str("")
		}
		return Str(unsafe.String(&b[0], len(b)))
	case fastjson.TypeNumber:
		if i, err := v.Int64(); err == nil {
			return Int(i)
		}
		f, _ := v.Float64()
		return floatValue(f)
	case fastjson.TypeTrue:
		return Bool(true)
	case fastjson.TypeFalse:
		return Bool(false)
	}
	return Null
}

// flatten appends every leaf of the layer as a field, in document order.
func (ly *jsonLayer) flatten(emit func(name string, v Value)) {
	if !ly.parsed {
		ly.parsed = true
		ly.root = parseEmbeddedJSON(ly.p, ly.text)
	}
	if ly.root == nil || ly.root.Type() != fastjson.TypeObject {
		return
	}
	n := 0
	ly.st.flattenValue(ly.root, "", 0, func(name string, v Value) {
		n++
		if ly.st.fieldCap > 0 && n > ly.st.fieldCap {
			return
		}
		emit(name, v)
	})
}

func (st *jsonAutoStage) flattenValue(v *fastjson.Value, prefix string, depth int, emit func(string, Value)) {
	deep := st.maxDepth > 0 && depth >= st.maxDepth
	switch v.Type() {
	case fastjson.TypeObject:
		if deep && depth > 0 {
			emit(prefix, Str(string(v.MarshalTo(nil))))
			return
		}
		o, _ := v.Object()
		o.Visit(func(k []byte, m *fastjson.Value) {
			name := strings.ReplaceAll(string(k), " ", "_")
			if prefix != "" {
				name = prefix + "." + name
			} else if isMetadataName(name) {
				return
			}
			st.flattenValue(m, name, depth+1, emit)
		})
	case fastjson.TypeArray:
		if deep || !st.arrayExpanded(v) {
			emit(prefix, Str(string(v.MarshalTo(nil))))
			return
		}
		items, _ := v.Array()
		for i, it := range items {
			st.flattenValue(it, prefix+"["+itoa(i)+"]", depth+1, emit)
		}
	default:
		emit(prefix, st.scalar(v).clone())
	}
}

// scalar converts a JSON scalar, as a string when native types are off.
func (st *jsonAutoStage) scalar(v *fastjson.Value) Value {
	x := jsonScalar(v)
	if st.asStrings && (x.kind == KindNumber || x.kind == KindBool) {
		return Str(string(v.MarshalTo(nil)))
	}
	return x
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

// columns lists the record's fields in first-written order with their
// current values: json auto leaves and written fields, newest write
// winning, removed fields left out. Strings are copied.
func (r *record) columns() []field {
	if r.mat {
		out := make([]field, 0, len(r.fields))
		for _, f := range r.fields {
			if !f.gone {
				out = append(out, field{name: f.name, v: f.v.clone()})
			}
		}
		return out
	}
	var out []field
	index := map[string]int{}
	put := func(name string, v Value, gone bool) {
		k := strings.ToLower(name)
		if i, ok := index[k]; ok {
			out[i].v, out[i].gone = v, gone
			if !gone {
				out[i].name = name
			}
			return
		}
		index[k] = len(out)
		out = append(out, field{name: name, v: v, gone: gone})
	}
	li, fi := 0, 0
	order := make([]field, len(r.fields))
	copy(order, r.fields)
	sortFieldsBySeq(order)
	for li < len(r.layers) || fi < len(order) {
		if fi >= len(order) || li < len(r.layers) && r.layers[li].seq < order[fi].seq {
			r.layers[li].flatten(func(n string, v Value) { put(n, v, false) })
			li++
			continue
		}
		f := order[fi]
		put(f.name, f.v.clone(), f.gone)
		fi++
	}
	kept := out[:0]
	for _, f := range out {
		if !f.gone {
			kept = append(kept, f)
		}
	}
	return kept
}

func sortFieldsBySeq(fs []field) {
	for i := 1; i < len(fs); i++ {
		for j := i; j > 0 && fs[j].seq < fs[j-1].seq; j-- {
			fs[j], fs[j-1] = fs[j-1], fs[j]
		}
	}
}

// keep returns r as a barrier or the output may hold it: r itself when
// it is its row's own (without the tombstones of removed fields, as a
// copy would be), else a copy (materialize).
func (r *record) keep(withMeta bool) *record {
	if !r.own {
		return r.materialize(withMeta)
	}
	kept := r.fields[:0]
	for _, f := range r.fields {
		if !f.gone {
			kept = append(kept, f)
		}
	}
	clear(r.fields[len(kept):])
	r.fields = kept
	return r
}

// materialize returns a copy of r that can be kept after the next event:
// every field resolved and copied. When withMeta is set, _messageTime leads
// and _raw ends the columns, as a message view shows them.
func (r *record) materialize(withMeta bool) *record {
	m := &record{raw: r.raw, time: r.time, ord: r.ord, nodrop: r.nodrop, mat: true, own: true, exact: r.exact, sourceHost: r.sourceHost, aliasUse: r.aliasUse}
	if r.ev != nil {
		m.raw = string(r.ev.Raw)
		// A copy: the reader may reuse the event once Push returns
		// (ingest.Options.QueryFields).
		ev := *r.ev
		ev.Raw = nil
		m.ev = &ev
	}
	cols := r.columns()
	if withMeta && !r.mat {
		if r.ev != nil && !r.ev.Time.IsZero() {
			m.fields = append(m.fields, field{name: "_messageTime", v: Int(r.time)})
		}
		for _, c := range cols {
			if !strings.EqualFold(c.name, "_messageTime") && !strings.EqualFold(c.name, "_raw") {
				m.fields = append(m.fields, c)
			}
		}
		if r.ev != nil {
			m.fields = append(m.fields, field{name: "_raw", v: Str(m.raw)})
		}
	} else {
		m.fields = cols
	}
	for i := range m.fields {
		m.fields[i].seq = int32(i + 1)
	}
	m.seq = int32(len(m.fields))
	return m
}

// containsFoldASCII reports whether s contains the lower-case ASCII needle
// in any letter case. It scans for the needle's rarest letter, which keeps
// the SIMD byte search doing the work.
func containsFoldASCII(s, needle string) bool {
	if len(needle) == 0 {
		return true
	}
	return containsFoldAt(s, needle, rarest(needle))
}

// rarest returns the index of the needle's rarest letter.
func rarest(needle string) int {
	pick := 0
	for i := 1; i < len(needle); i++ {
		if letterRank(needle[i]) < letterRank(needle[pick]) {
			pick = i
		}
	}
	return pick
}

func containsFoldAt(s, needle string, pick int) bool {
	lo := needle[pick]
	up := lo
	if 'a' <= lo && lo <= 'z' {
		up = lo - 'a' + 'A'
	}
	// The next place of each case of the letter, found once and kept
	// until passed, so that each byte is scanned once per case (the
	// rarer case is not searched again from every hit of the other).
	const unknown, none = -2, -1
	nextLo, nextUp := unknown, unknown
	if up == lo {
		nextUp = none
	}
	for from := pick; from < len(s); {
		if nextLo != none && nextLo < from {
			nextLo = none
			if i := strings.IndexByte(s[from:], lo); i >= 0 {
				nextLo = from + i
			}
		}
		if nextUp != none && nextUp < from {
			nextUp = none
			if i := strings.IndexByte(s[from:], up); i >= 0 {
				nextUp = from + i
			}
		}
		k := nextLo
		if k == none || nextUp != none && nextUp < k {
			k = nextUp
		}
		if k == none {
			return false
		}
		at := k - pick
		if at+len(needle) <= len(s) && strings.EqualFold(s[at:at+len(needle)], needle) {
			return true
		}
		from = k + 1
	}
	return false
}

// letterRank orders bytes by how rarely they appear in English text and
// JSON: rare first.
func letterRank(c byte) int {
	const order = "qjzxkvwyfbgphmucdlsnrtioae"
	if i := strings.IndexByte(order, c); i >= 0 {
		return i
	}
	return -1 // digits and punctuation are rarer still
}
