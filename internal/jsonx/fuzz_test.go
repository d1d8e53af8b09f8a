package jsonx

// Fuzz targets for the tolerant accessors. Run with
//
//	go test -run='^$' -fuzz=FuzzAccessors -fuzztime=45s ./internal/jsonx/
//
// Invariants: no panic on any value; times come back in UTC; Items never
// yields nil members; Embedded yields an object, an array or nil.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fastjson"
)

// FuzzParseTime parses arbitrary timestamp text.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"2023-07-19T21:14:20Z", "2021-10-29 23:50:09", "2024-03-01T10:00:00.1234567Z", "1643590371083", "1700000000.5",
		"1/2/2006, 3:04:05.000 PM", "99999999999999999999999", "1e308", "0", "-5", " ", "2024-13-45T99:99:99Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tm, ok := ParseTime(s)
		if ok && tm.Location() != time.UTC {
			t.Fatalf("%q parsed to %v, not UTC", s, tm)
		}
		if !ok && !tm.IsZero() {
			t.Fatalf("%q refused but gave %v", s, tm)
		}
	})
}

// FuzzAccessors parses arbitrary JSON and applies every accessor, with an
// arbitrary key, to every value in it.
func FuzzAccessors(f *testing.F) {
	f.Add([]byte(`{"instancesSet":{"items":[{"instanceId":"i-1"}]},"x":{"item":{"a":1}},"e":{},"s":"","c":{"content":"snap-1","tag":1}}`), "items")
	f.Add([]byte(`{"properties":"{\"responseBody\":\"{\\\"a\\\":[1]}\"}","t":1643590371083,"b":"TRUE"}`), "PROPERTIES")
	f.Add([]byte(`[{"Content":{"content":"x"}},"  [1] ",null,true,1e400]`), "content")
	f.Fuzz(func(t *testing.T, data []byte, key string) {
		var p, emb fastjson.Parser
		v, err := p.ParseBytes(data)
		if err != nil {
			return
		}
		var walk func(v *fastjson.Value, depth int)
		walk = func(v *fastjson.Value, depth int) {
			if v == nil || depth > 64 {
				return
			}
			Get(v, key)
			Path(v, key, key)
			Str(v)
			Bool(v)
			if tm, ok := Time(v); ok && tm.Location() != time.UTC {
				t.Fatalf("time %v not UTC", tm)
			}
			for _, it := range Items(v) {
				if it == nil {
					t.Fatal("Items yielded nil")
				}
			}
			if e := Embedded(&emb, v); e != nil && e.Type() != fastjson.TypeObject && e.Type() != fastjson.TypeArray {
				t.Fatalf("Embedded yielded a %s", e.Type())
			}
			switch v.Type() {
			case fastjson.TypeObject:
				o, _ := v.Object()
				o.Visit(func(_ []byte, m *fastjson.Value) { walk(m, depth+1) })
			case fastjson.TypeArray:
				a, _ := v.Array()
				for _, m := range a {
					walk(m, depth+1)
				}
			}
		}
		walk(v, 0)
	})
}

// FuzzValidTokens checks ValidTokens against encoding/json on everything
// fastjson parses: the two must agree on what is JSON.
func FuzzValidTokens(f *testing.F) {
	for _, s := range validTokenCases {
		f.Add([]byte(s.in))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var p fastjson.Parser
		if _, err := p.ParseBytes(data); err != nil {
			return
		}
		if got, want := ValidTokens(data), json.Valid(data); got != want {
			t.Fatalf("ValidTokens(%q) = %v, encoding/json says %v", data, got, want)
		}
	})
}

// FuzzGetAll: the one walk finds each name where Get finds it, whatever
// the members' names, cases, lengths and order.
func FuzzGetAll(f *testing.F) {
	f.Add(`{"appid":"a","AppId":"b","oid":"o"}`, "appid\x00APPID\x00oid\x00x\x00")
	f.Add(`{"NAME":"x","name":"y","Name":"z"}`, "Name\x00nAME\x00")
	f.Add(`{"\u212aid":"k","ti\u212a":"t","xm\u017f_mirid":"m"}`, "kid\x00tik\x00xms_mirid\x00\u212aid\x00")
	f.Add(`{"`+strings.Repeat("a", 70)+`":1}`, strings.Repeat("A", 70))
	f.Add(`[1]`, "a")
	f.Fuzz(func(t *testing.T, doc, names string) {
		v, err := fastjson.Parse(doc)
		if err != nil {
			return
		}
		set := NewNameSet(strings.Split(names, "\x00")...)
		out := make([]*fastjson.Value, set.Len())
		set.GetAll(v, out)
		for i, n := range set.names {
			want := Get(v, n)
			if n == "" {
				want = nil
			}
			if out[i] != want {
				t.Fatalf("name %q of %s: got %v, want %v", n, doc, out[i], want)
			}
		}
		// FindMembers finds the same members in what Members reads.
		ms, ok := Members([]byte(doc), nil)
		o, err := v.Object()
		if !ok || err != nil {
			return
		}
		var order []*fastjson.Value
		o.Visit(func(_ []byte, m *fastjson.Value) { order = append(order, m) })
		if len(order) != len(ms) {
			return // fastjson keeps one of a repeated name
		}
		at := make([]int, set.Len())
		set.FindMembers(ms, at)
		for i, n := range set.names {
			want := slices.Index(order, out[i])
			if at[i] != want {
				t.Fatalf("FindMembers %q of %s: member %d, GetAll's is %d", n, doc, at[i], want)
			}
		}
	})
}

// FuzzMembersInner: one walk gives what Members of the object gives, and
// the members it lists of a member named name (ignoring case) are what
// Members of that member's value gives.
func FuzzMembersInner(f *testing.F) {
	f.Add(`{"authorization":{"scope":"/x"},"claims":{"upn":"a@b","oid":"1"}}`, "claims")
	f.Add(`{"Claims":{"a":1},"claims":{"b":2}}`, "claims")
	f.Add(`{"claims":{"a\u0041":1},"CLAIMS":{"b":[{}]}}`, "claims")
	f.Add(`{"claims":"text"}`, "claims")
	f.Add(`{"k":{"x":`+strings.Repeat("[", 63)+strings.Repeat("]", 63)+`}}`, "K")
	f.Fuzz(func(t *testing.T, doc, name string) {
		want, wantOK := Members([]byte(doc), nil)
		ms, in, at, ok := MembersInner([]byte(doc), nil, name, nil)
		if ok != wantOK || ok && fmt.Sprint(ms) != fmt.Sprint(want) {
			t.Fatalf("%s: MembersInner %v %v, Members %v %v", doc, ms, ok, want, wantOK)
		}
		if !ok || at < 0 {
			return
		}
		if !bytes.EqualFold(ms[at].Key, []byte(name)) || ms[at].Kind != '{' {
			t.Fatalf("%s: descended into %q", doc, ms[at].Key)
		}
		for _, m := range ms[:at] {
			if bytes.EqualFold(m.Key, []byte(name)) && m.Kind == '{' {
				if _, ok := Members(m.Val, nil); ok && depthBelow(m.Val) < maxDepth {
					t.Fatalf("%s: passed %q for a later member", doc, m.Key)
				}
			}
		}
		inner, innerOK := Members(ms[at].Val, nil)
		if !innerOK || fmt.Sprint(in) != fmt.Sprint(inner) {
			t.Fatalf("%s: inner %v, Members of its value %v %v", doc, in, inner, innerOK)
		}
	})
}

// depthBelow is the deepest nesting of brackets in b (strings aside).
func depthBelow(b []byte) int {
	d, most, inStr := 0, 0, false
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case inStr && c == '\\':
			i++
		case c == '"':
			inStr = !inStr
		case inStr:
		case c == '{' || c == '[':
			d++
			most = max(most, d)
		case c == '}' || c == ']':
			d--
		}
	}
	return most
}

// FuzzCompact holds Compact to a byte-by-byte reading of its definition.
func FuzzCompact(f *testing.F) {
	f.Add([]byte(`{"a":[1,2],"b":"c d"}`))
	f.Add([]byte(`{"instancesSet":{"items":[{"instanceId":"i-0abc"}]}}`))
	f.Add([]byte("\x80\x21\xff\\"))
	f.Fuzz(func(t *testing.T, b []byte) {
		want := true
		for _, c := range b {
			if c <= ' ' || c == '\\' {
				want = false
			}
		}
		if got := Compact(b); got != want {
			t.Fatalf("Compact(%q) = %v, want %v", b, got, want)
		}
	})
}
