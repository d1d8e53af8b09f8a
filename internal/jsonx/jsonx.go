// Package jsonx holds the tolerant accessors the decoders use on parsed JSON:
// case-insensitive keys, string-or-bool fields, the many list shapes of
// CloudTrail (telemetry.md §2.1) and lenient timestamps.
package jsonx

import (
	"bytes"
	"encoding/binary"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/valyala/fastjson"
)

// Get returns the member key of object v, trying the exact spelling first
// and then a case-insensitive match. It returns nil when v is not an object
// or has no such member.
func Get(v *fastjson.Value, key string) *fastjson.Value {
	if v == nil || v.Type() != fastjson.TypeObject {
		return nil
	}
	if m := v.Get(key); m != nil {
		return m
	}
	o, _ := v.Object()
	var found *fastjson.Value
	o.Visit(func(k []byte, m *fastjson.Value) {
		if found == nil && foldEqual(k, key) {
			found = m
		}
	})
	return found
}

// foldEqual is bytes.EqualFold(k, []byte(key)), refusing at once a k
// whose first byte and key's are ASCII and differ beyond letter case: the
// lot of the names Get's fallback compares (an ASCII byte is a rune of
// its own, and two ASCII runes fold together only as letters of one
// case pair).
func foldEqual(k []byte, key string) bool {
	if len(k) > 0 && len(key) > 0 && k[0] < utf8.RuneSelf && key[0] < utf8.RuneSelf && LowerASCII(k[0]) != LowerASCII(key[0]) {
		return false
	}
	return bytes.EqualFold(k, []byte(key))
}

// Path follows keys case-insensitively through nested objects.
func Path(v *fastjson.Value, keys ...string) *fastjson.Value {
	for _, k := range keys {
		v = Get(v, k)
		if v == nil {
			return nil
		}
	}
	return v
}

// Str returns v as a string: strings as they are, numbers and booleans in
// their JSON spelling, and {content: x} members (the newer EC2 wrapper
// family) unwrapped. null, objects and arrays give "".
func Str(v *fastjson.Value) string {
	if v == nil {
		return ""
	}
	switch v.Type() {
	case fastjson.TypeString:
		return string(v.GetStringBytes())
	case fastjson.TypeNumber:
		return string(v.MarshalTo(nil))
	case fastjson.TypeTrue:
		return "true"
	case fastjson.TypeFalse:
		return "false"
	case fastjson.TypeObject:
		if c := Get(v, "content"); c != nil && c.Type() != fastjson.TypeObject {
			return Str(c)
		}
	}
	return ""
}

// PathStr is Str(Path(v, keys...)).
func PathStr(v *fastjson.Value, keys ...string) string { return Str(Path(v, keys...)) }

// Bool reads a bool that may be delivered as true or as the string "true".
func Bool(v *fastjson.Value) bool {
	if v == nil {
		return false
	}
	switch v.Type() {
	case fastjson.TypeTrue:
		return true
	case fastjson.TypeString:
		return strings.EqualFold(string(v.GetStringBytes()), "true")
	}
	return false
}

// Items returns the members of a CloudTrail list in any of its shapes: a
// JSON array; an object wrapping the list as "items" or "item" (either an
// array or a single object); an empty object or "" for an empty list; or a
// single object standing for a one-element list.
func Items(v *fastjson.Value) []*fastjson.Value {
	if v == nil {
		return nil
	}
	switch v.Type() {
	case fastjson.TypeArray:
		a, _ := v.Array()
		return a
	case fastjson.TypeObject:
		for _, k := range [...]string{"items", "item"} {
			if m := Get(v, k); m != nil {
				if m.Type() == fastjson.TypeArray {
					a, _ := m.Array()
					return a
				}
				if m.Type() == fastjson.TypeObject {
					return []*fastjson.Value{m}
				}
				return nil
			}
		}
		o, _ := v.Object()
		if o.Len() == 0 {
			return nil
		}
		return []*fastjson.Value{v}
	}
	return nil
}

// timeLayouts are the spellings of a timestamp seen in audit logs: RFC 3339
// with or without fraction, and the space-separated form some re-exports use.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02 15:04:05",
	"1/2/2006, 3:04:05.000 PM",
	"1/2/2006 3:04:05 PM",
}

// Time reads a timestamp given as a string in one of the known layouts, or
// as a number of epoch milliseconds (or seconds, when it is too small to be
// milliseconds). The result is in UTC.
func Time(v *fastjson.Value) (time.Time, bool) {
	if v == nil {
		return time.Time{}, false
	}
	switch v.Type() {
	case fastjson.TypeNumber:
		f, err := v.Float64()
		if err != nil {
			return time.Time{}, false
		}
		return epoch(f), true
	case fastjson.TypeString:
		return ParseTime(string(v.GetStringBytes()))
	}
	return time.Time{}, false
}

// ParseTime parses a timestamp string; see Time.
func ParseTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, false
	}
	if s[0] >= '0' && s[0] <= '9' && !strings.ContainsAny(s, "-/:") {
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return epoch(f), true
		}
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

func epoch(f float64) time.Time {
	// Below 1e11 a number is seconds (1e11 s is the year 5138); above, milliseconds.
	if f < 1e11 {
		sec := int64(f)
		return time.Unix(sec, int64((f-float64(sec))*1e9)).UTC()
	}
	return time.UnixMilli(int64(f)).UTC()
}

// Embedded returns the JSON a member holds either as an object or as a JSON
// string (Azure properties and bodies are often strings of JSON). The parser
// p is used for the string case; the result lives until p is reused. It
// returns nil when the member is absent, empty, or not JSON.
func Embedded(p *fastjson.Parser, v *fastjson.Value) *fastjson.Value {
	if v == nil {
		return nil
	}
	switch v.Type() {
	case fastjson.TypeObject, fastjson.TypeArray:
		return v
	case fastjson.TypeString:
		s := bytes.TrimSpace(v.GetStringBytes())
		if len(s) == 0 || (s[0] != '{' && s[0] != '[') {
			return nil
		}
		// The parser tolerates text that is not JSON (01, nan, "\x"),
		// and bodies are handed on as JSON.
		parsed, err := p.ParseBytes(s)
		if err != nil || !ValidTokens(s) {
			return nil
		}
		return parsed
	}
	return nil
}

// strPlain marks the bytes that may stand in a JSON string as they are.
var strPlain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// plain8 reports whether none of the eight bytes of w is a quote, a
// backslash or a control character (the usual "has zero byte" and "has
// byte less than" word tricks).
func plain8(w uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	zero := func(v uint64) uint64 { return (v - ones) & ^v & highs }
	less := (w - 0x20*ones) & ^w & highs
	return zero(w^('"'*ones))|zero(w^('\\'*ones))|less == 0
}

// Compact reports whether b holds no JSON whitespace, no other byte below
// '!' and no backslash. A value of a record checked as JSON that is
// written so is byte for byte what fastjson's MarshalTo writes for it
// once parsed: its strings need no escaping and nothing stands between
// its tokens. Eight bytes at a time, as plain8.
func Compact(b []byte) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+8 <= len(b); i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		bs := w ^ ('\\' * ones)
		if ((w-0x21*ones)&^w|(bs-ones)&^bs)&highs != 0 {
			return false
		}
	}
	for ; i < len(b); i++ {
		if b[i] <= ' ' || b[i] == '\\' {
			return false
		}
	}
	return true
}

func isHex(c byte) bool { return c-'0' < 10 || (c|0x20)-'a' < 6 }

// ValidTokens reports whether the tokens of b are JSON's: strings without
// control characters or unknown escapes, numbers in JSON's grammar, and the
// literals true, false and null. It checks tokens only, so it is meant for
// text a parser has already accepted: fastjson takes 01, .5, nan, "\x" and
// raw control characters, and the records it hands on must be JSON. It
// runs about twice as fast as fastjson.Validate, which also misses a
// control character that comes before an escape in the same string.
func ValidTokens(b []byte) bool {
	i, n := 0, len(b)
	for i < n {
		switch c := b[i]; c {
		case '"':
			i++
			for {
				// Eight plain bytes at a time, then byte by byte up to
				// the quote, backslash or control character.
				for i+8 <= n && plain8(binary.LittleEndian.Uint64(b[i:])) {
					i += 8
				}
				for i < n && strPlain[b[i]] {
					i++
				}
				if i >= n {
					return false
				}
				if b[i] == '"' {
					i++
					break
				}
				if b[i] != '\\' || i+1 >= n {
					return false // a control character, or a lone backslash at the end
				}
				switch b[i+1] {
				case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
					i += 2
				case 'u':
					if i+6 > n || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
						return false
					}
					i += 6
				default:
					return false
				}
			}
		case '{', '}', '[', ']', ',', ':', ' ', '\t', '\n', '\r':
			i++
		case 't':
			if n-i < 4 || string(b[i:i+4]) != "true" {
				return false
			}
			i += 4
		case 'f':
			if n-i < 5 || string(b[i:i+5]) != "false" {
				return false
			}
			i += 5
		case 'n':
			if n-i < 4 || string(b[i:i+4]) != "null" {
				return false
			}
			i += 4
		default:
			j, ok := number(b, i)
			if !ok {
				return false
			}
			i = j
		}
	}
	return true
}

// number checks the number at b[i:] and returns where it ends.
func number(b []byte, i int) (int, bool) {
	n := len(b)
	if i < n && b[i] == '-' {
		i++
	}
	switch {
	case i < n && b[i] == '0':
		i++
	case i < n && b[i]-'1' < 9:
		for i < n && b[i]-'0' < 10 {
			i++
		}
	default:
		return i, false
	}
	if i < n && b[i] == '.' {
		i++
		s := i
		for i < n && b[i]-'0' < 10 {
			i++
		}
		if i == s {
			return i, false
		}
	}
	if i < n && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < n && (b[i] == '+' || b[i] == '-') {
			i++
		}
		s := i
		for i < n && b[i]-'0' < 10 {
			i++
		}
		if i == s {
			return i, false
		}
	}
	// A number ends at a delimiter; "01" or "1x" end early and fail on
	// the next byte.
	if i < n {
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r', ':':
		default:
			return i, false
		}
	}
	return i, true
}

// A NameSet is a list of member names that GetAll finds in an object in
// one walk over its members, where one Get per name would walk them once
// or, for a name absent in that spelling, twice.
type NameSet struct {
	names []string
	byLen [64][]int // the places of the ASCII names of each length, below 64
	long  []int     // the places of the longer ASCII names
	wide  []int     // the places of the names with a letter outside ASCII
}

// NewNameSet returns the set of names, in order (places in GetAll's out).
func NewNameSet(names ...string) *NameSet {
	s := &NameSet{names: names}
	for i, n := range names {
		switch {
		case n == "":
			continue // Get of "" finds a member "", which no caller wants
		case !IsASCII(n):
			s.wide = append(s.wide, i)
		case len(n) < len(s.byLen):
			s.byLen[len(n)] = append(s.byLen[len(n)], i)
		default:
			s.long = append(s.long, i)
		}
	}
	return s
}

// IsASCII reports whether s is all ASCII, eight bytes at a time.
func IsASCII[T string | []byte](s T) bool {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		if w&0x8080808080808080 != 0 {
			return false
		}
	}
	for ; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// LowerASCII is c lower-cased if it is an ASCII capital, else c.
func LowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// each calls fn with the place of every name of the set that the member
// name k may match.
func (s *NameSet) each(k []byte, fn func(i int)) {
	if !IsASCII(k) {
		// A letter outside ASCII (K, ſ) may match a name of another
		// length ignoring case.
		for i, n := range s.names {
			if n != "" {
				fn(i)
			}
		}
		return
	}
	places := s.long
	if len(k) < len(s.byLen) {
		places = s.byLen[len(k)]
	}
	for _, i := range places {
		fn(i)
	}
	for _, i := range s.wide {
		fn(i)
	}
}

// match reports whether the member name k is name i exactly (exact), or
// else ignoring case (fold).
func (s *NameSet) match(i int, k []byte) (exact, fold bool) {
	n := s.names[i]
	if len(k) == len(n) && len(n) > 0 {
		// Names of one length mostly differ at the end; an ASCII byte
		// is a letter of its own, which folds only to its other ASCII
		// case.
		if a, b := k[len(k)-1], n[len(n)-1]; a|b < utf8.RuneSelf && LowerASCII(a) != LowerASCII(b) {
			return false, false
		}
	}
	if string(k) == n {
		return true, false
	}
	return false, bytes.EqualFold(k, []byte(n))
}

// FindMembers is GetAll over members Members found: out[i] is the place
// in ms of the first member named exactly name i, else of the first whose
// name matches it ignoring case, else -1. out must have Len elements.
func (s *NameSet) FindMembers(ms []Member, out []int) {
	var foldBuf [32]int
	var fold []int
	if len(s.names) <= len(foldBuf) {
		fold = foldBuf[:len(s.names)]
	} else {
		fold = make([]int, len(s.names))
	}
	for i := range out {
		out[i], fold[i] = -1, -1
	}
	for j := range ms {
		k := ms[j].Key
		s.each(k, func(i int) {
			switch exact, folded := s.match(i, k); {
			case exact && out[i] < 0:
				out[i] = j
			case folded && fold[i] < 0:
				fold[i] = j
			}
		})
	}
	for i, j := range out {
		if j < 0 {
			out[i] = fold[i]
		}
	}
}

// Len returns the number of names.
func (s *NameSet) Len() int { return len(s.names) }

// GetAll sets out[i] to Get(v, name i) for each name of the set but an
// empty one (nil): the first member of exactly that name, else the first
// whose name matches ignoring case. out must have Len elements.
func (s *NameSet) GetAll(v *fastjson.Value, out []*fastjson.Value) {
	clear(out)
	if v == nil || v.Type() != fastjson.TypeObject {
		return
	}
	o, _ := v.Object()
	var foldBuf [32]*fastjson.Value
	fold := foldBuf[:0]
	if len(s.names) <= len(foldBuf) {
		fold = foldBuf[:len(s.names)]
	} else {
		fold = make([]*fastjson.Value, len(s.names))
	}
	o.Visit(func(k []byte, m *fastjson.Value) {
		s.each(k, func(i int) {
			switch exact, folded := s.match(i, k); {
			case exact && out[i] == nil:
				out[i] = m
			case folded && fold[i] == nil:
				fold[i] = m
			}
		})
	})
	for i, m := range out {
		if m == nil {
			out[i] = fold[i]
		}
	}
}
