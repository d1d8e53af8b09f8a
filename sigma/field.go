package sigma

import (
	"bytes"
	"encoding/binary"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/valyala/fastjson"
)

// leafKind is the JSON type of a field value.
type leafKind uint8

const (
	leafString leafKind = iota + 1
	leafNumber
	leafBool
	leafNull
	leafObject // an object or array, compared by its JSON text
)

// leaf is one value a field path reaches.
type leaf struct {
	kind leafKind
	s    string          // the string; the JSON text of a number, bool or object
	v    *fastjson.Value // leafObject: the value, valid while its record is
}

// maxJSONDepth bounds descent into JSON carried in strings, which may nest.
const maxJSONDepth = 4

// maxLeaves bounds the values one path collects from one record.
const maxLeaves = 4096

// normalizePath turns the bracket forms a rule may use (items[].id,
// items[0].id) into the dotted form.
func normalizePath(p string) string {
	if !strings.ContainsRune(p, '[') {
		return p
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c != '[' {
			b.WriteByte(c)
			continue
		}
		j := strings.IndexByte(p[i:], ']')
		if j < 0 {
			b.WriteString(p[i:])
			break
		}
		idx := p[i+1 : i+j]
		if idx != "" {
			b.WriteByte('.')
			b.WriteString(idx)
		}
		i += j
	}
	return b.String()
}

// doc is one record as rules see it.
type doc struct {
	root *fastjson.Value
	// inner parses JSON found in strings; one parser per depth keeps the
	// values of an outer level valid while an inner one is walked.
	inner [maxJSONDepth]fastjson.Parser
	// raw is the record's text, when known: a keyword whose literal
	// parts it lacks cannot match (mayContain).
	raw []byte
	// lowered is raw lower-cased, once plain says it is ASCII without
	// escapes: 0 not yet looked at, 1 plain, -1 not (or no raw).
	lowered []byte
	plain   int8
	// The values of the fields rules name, resolved once a record: the
	// index and rule after rule ask for the same few fields. memo finds
	// a field's span of leaves, valid while its gen is the record's.
	memo   map[string]memoSpan
	leaves []leaf
	gen    uint32
	// parsedInner is set when a lookup parsed JSON carried in a string:
	// its leaves may point into an inner parser that a later lookup
	// reuses, so they are not kept.
	parsedInner bool
}

// memoSpan is where a field's values are in doc.leaves.
type memoSpan struct {
	gen        uint32
	start, end int32
	present    bool
}

// reset starts a new record: its tree (nil when it is not a JSON object)
// and its text, for mayContain.
func (d *doc) reset(root *fastjson.Value, raw []byte) {
	d.root, d.raw, d.plain = root, raw, 0
	d.gen++
	d.leaves = d.leaves[:0]
}

// setRaw starts a new record's text for mayContain.
func (d *doc) setRaw(raw []byte) { d.reset(d.root, raw) }

// memoised returns the values of field resolved earlier on this record.
func (d *doc) memoised(field string) (vals []leaf, present, ok bool) {
	m, ok := d.memo[field]
	if !ok || m.gen != d.gen {
		return nil, false, false
	}
	return d.leaves[m.start:m.end:m.end], m.present, true
}

// keep remembers field's values on this record, unless their lookup
// parsed JSON in a string (parsedInner), and returns them.
func (d *doc) keep(field string, vals []leaf, present bool) []leaf {
	if d.parsedInner {
		return vals
	}
	if d.memo == nil {
		d.memo = map[string]memoSpan{}
	}
	start := len(d.leaves)
	d.leaves = append(d.leaves, vals...)
	end := len(d.leaves)
	d.memo[field] = memoSpan{gen: d.gen, start: int32(start), end: int32(end), present: present}
	return d.leaves[start:end:end]
}

// mayContain reports whether some string of the record may match the
// keyword p. A record whose text is ASCII without escapes holds each of
// its strings and numbers byte for byte, so a literal part of p that
// the lower-cased text lacks is in none of them; other records (an
// escape, a byte that is not ASCII and may fold to one that is, no text
// known) may match, and are walked.
func (d *doc) mayContain(p *pattern) bool {
	if p.cased || d.plain < 0 {
		return true
	}
	if d.plain == 0 {
		d.plain = -1
		if len(d.raw) == 0 {
			return true
		}
		if cap(d.lowered) < len(d.raw) {
			d.lowered = make([]byte, len(d.raw))
		}
		low := d.lowered[:len(d.raw)]
		if !lowerPlain(low, d.raw) {
			return true
		}
		d.lowered, d.plain = low, 1
	}
	for _, t := range p.toks {
		if t.lit != "" && !containsRare(d.lowered, t.lit) {
			return false
		}
	}
	return true
}

// byteRank orders bytes by how often they appear in lower-cased cloud
// audit records, most often first; a byte not listed is rarer than all.
const byteRank = `"e:,ta.oisrn-c/0_1m23d4l5u6p789{}gthfwbyv[]kx@=jqz `

// rarity is each byte's place in byteRank, or len(byteRank).
var rarity = func() (r [256]uint8) {
	for i := range r {
		r[i] = uint8(len(byteRank))
	}
	for i := len(byteRank) - 1; i >= 0; i-- {
		r[byteRank[i]] = uint8(i)
	}
	return r
}()

// containsRare is bytes.Contains(text, lit), searching for lit's rarest
// byte instead of its first: the keywords of SigmaHQ's Azure rules start
// with "microsoft.", whose m a record holds every few bytes.
func containsRare(text []byte, lit string) bool {
	if len(lit) < 2 {
		return bytes.Contains(text, []byte(lit))
	}
	k := 0
	for i := 1; i < len(lit); i++ {
		if rarity[lit[i]] > rarity[lit[k]] {
			k = i
		}
	}
	c := lit[k]
	// lit's byte k is at text[from+j]: lit starts at text[from+j-k].
	for from := k; from+len(lit)-k <= len(text); {
		j := bytes.IndexByte(text[from:len(text)-(len(lit)-k-1)], c)
		if j < 0 {
			return false
		}
		at := from + j - k
		if string(text[at:at+len(lit)]) == lit {
			return true
		}
		from += j + 1
	}
	return false
}

// lookup collects the values at p. present reports whether the path
// exists at all (a JSON null included).
func (d *doc) lookup(p string, out []leaf) (vals []leaf, present bool) {
	if d == nil || d.root == nil {
		return out, false
	}
	return d.collect(d.root, p, out, 0, false)
}

func (d *doc) collect(v *fastjson.Value, p string, out []leaf, depth int, fold bool) ([]leaf, bool) {
	if len(out) >= maxLeaves {
		return out, true
	}
	if p == "" {
		return appendLeaves(v, out), true
	}
	switch v.Type() {
	case fastjson.TypeObject:
		o, _ := v.Object()
		found := false
		o.Visit(func(k []byte, child *fastjson.Value) {
			if rest, ok := keyPrefix(p, k, false); ok {
				var f bool
				out, f = d.collect(child, rest, out, depth, fold)
				found = found || f
			}
		})
		if !found {
			// Keys written in another case: Azure request bodies carry the
			// client's casing, Log Analytics capitalises column names.
			o.Visit(func(k []byte, child *fastjson.Value) {
				if _, exact := keyPrefix(p, k, false); exact {
					return
				}
				if rest, ok := keyPrefix(p, k, true); ok {
					var f bool
					out, f = d.collect(child, rest, out, depth, true)
					found = found || f
				}
			})
		}
		return out, found
	case fastjson.TypeArray:
		arr, _ := v.Array()
		seg, rest := p, ""
		if i := strings.IndexByte(p, '.'); i >= 0 {
			seg, rest = p[:i], p[i+1:]
		}
		if idx, err := strconv.Atoi(seg); err == nil && idx >= 0 {
			if idx < len(arr) {
				return d.collect(arr[idx], rest, out, depth, fold)
			}
			return out, false
		}
		found := false
		for _, el := range arr {
			var f bool
			out, f = d.collect(el, p, out, depth, fold)
			found = found || f
		}
		return out, found
	case fastjson.TypeString:
		if depth >= maxJSONDepth {
			return out, false
		}
		s := v.GetStringBytes()
		t := strings.TrimLeft(string(s), " \t\r\n")
		if t == "" || (t[0] != '{' && t[0] != '[') {
			return out, false
		}
		d.parsedInner = true
		iv, err := d.inner[depth].Parse(t)
		if err != nil {
			return out, false
		}
		return d.collect(iv, p, out, depth+1, fold)
	}
	return out, false
}

// lowerPlain writes src lower-cased to dst (as long as src) and reports
// whether src is ASCII without a backslash; it stops at the first byte
// that is not. Eight bytes at a time: a word with no high bit set and no
// backslash has its A-Z bytes found by adding to each byte what carries
// it into its high bit from 'A' up and from past 'Z' up.
func lowerPlain(dst, src []byte) bool {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
	)
	i := 0
	for ; i+8 <= len(src); i += 8 {
		x := binary.LittleEndian.Uint64(src[i:])
		bs := x ^ ('\\' * ones)
		if x&highs != 0 || (bs-ones)&^bs&highs != 0 {
			return false
		}
		upper := (x + (0x80-'A')*ones) &^ (x + (0x80-'Z'-1)*ones) & highs
		binary.LittleEndian.PutUint64(dst[i:], x|upper>>2)
	}
	for ; i < len(src); i++ {
		c := src[i]
		if c >= utf8.RuneSelf || c == '\\' {
			return false
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst[i] = c
	}
	return true
}

// keyPrefix reports whether key k is the whole of p or its first dotted
// part, and returns what follows.
func keyPrefix(p string, k []byte, fold bool) (string, bool) {
	if len(k) > len(p) {
		return "", false
	}
	if !fold && len(k) > 0 && k[0] != p[0] {
		return "", false // most keys of an object: no call to compare them
	}
	head := p[:len(k)]
	if fold {
		if !strings.EqualFold(head, string(k)) {
			return "", false
		}
	} else if head != string(k) {
		return "", false
	}
	if len(k) == len(p) {
		return "", true
	}
	if p[len(k)] == '.' {
		return p[len(k)+1:], true
	}
	return "", false
}

// appendLeaves adds v's values: an array contributes its elements (and,
// for matching an array as a whole, nothing else).
func appendLeaves(v *fastjson.Value, out []leaf) []leaf {
	switch v.Type() {
	case fastjson.TypeString:
		return append(out, leaf{kind: leafString, s: string(v.GetStringBytes())})
	case fastjson.TypeNumber:
		return append(out, leaf{kind: leafNumber, s: string(v.MarshalTo(nil))})
	case fastjson.TypeTrue:
		return append(out, leaf{kind: leafBool, s: "true"})
	case fastjson.TypeFalse:
		return append(out, leaf{kind: leafBool, s: "false"})
	case fastjson.TypeNull:
		return append(out, leaf{kind: leafNull})
	case fastjson.TypeArray:
		arr, _ := v.Array()
		if len(arr) == 0 {
			return append(out, leaf{kind: leafObject, s: "[]"})
		}
		for _, el := range arr {
			if len(out) >= maxLeaves {
				break
			}
			if el.Type() == fastjson.TypeArray {
				out = append(out, leaf{kind: leafObject, s: string(el.MarshalTo(nil)), v: el})
				continue
			}
			out = appendLeaves(el, out)
		}
		return out
	}
	return append(out, leaf{kind: leafObject, s: string(v.MarshalTo(nil)), v: v})
}

// walkStrings calls f with every string and number in v, and the keys of
// its objects, until f returns true. It is how keywords search a record.
func walkStrings(v *fastjson.Value, f func(string) bool) bool {
	switch v.Type() {
	case fastjson.TypeString:
		return f(string(v.GetStringBytes()))
	case fastjson.TypeNumber:
		return f(string(v.MarshalTo(nil)))
	case fastjson.TypeObject:
		o, _ := v.Object()
		hit := false
		o.Visit(func(_ []byte, c *fastjson.Value) {
			if !hit {
				hit = walkStrings(c, f)
			}
		})
		return hit
	case fastjson.TypeArray:
		arr, _ := v.Array()
		for _, el := range arr {
			if walkStrings(el, f) {
				return true
			}
		}
	}
	return false
}
