package query

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/revertwatch/revertwatch/event"
)

// TestDecide covers each Semantics switch (the [decide] points of
// sumo-query.md): the spec's choice, then the switch flipped.
func TestDecide(t *testing.T) {
	type tc struct {
		name       string
		flip       func(*Semantics)
		q          string
		evs        []*event.Event
		def, other string
	}
	noHost := msg(`{"a":1}`)
	noHost.Source.Host = ""
	cases := []tc{
		{"DefaultSourceHost", func(s *Semantics) { s.DefaultSourceHost = "" }, `| count by _sourceHost`,
			[]*event.Event{noHost}, `{"_sourceHost":"localhost","_count":1}`, `{"_sourceHost":null,"_count":1}`},
		{"FoldFieldNames", func(s *Semantics) { s.FoldFieldNames = false }, `| json auto | count(caller) as n`,
			[]*event.Event{msg(`{"Caller":"x"}`)}, `{"n":1}`, `{"n":0}`},
		{"LiteralEscapes", func(s *Semantics) { s.LiteralEscapes = false }, `| "a\tb" as s | length(s) as n | fields n`,
			[]*event.Event{msg(`{}`)}, `{"n":3}`, `{"n":4}`},
		{"KeywordWholeToken", func(s *Semantics) { s.KeywordWholeToken = false }, `err | count`,
			[]*event.Event{msg(`errors`), msg(`an err`)}, `{"_count":1}`, `{"_count":2}`},
		{"JSONMaxDepth", func(s *Semantics) { s.JSONMaxDepth = 1 }, `| json auto | fields a.b, a`,
			[]*event.Event{msg(`{"a":{"b":1}}`)}, `{"a.b":1}`, `{"a":"{\"b\":1}"}`},
		{"JSONNativeTypes", func(s *Semantics) { s.JSONNativeTypes = false }, `| json auto | fields n`,
			[]*event.Event{msg(`{"n":5}`)}, `{"n":5}`, `{"n":"5"}`},
		{"ParseAnchorsFold", func(s *Semantics) { s.ParseAnchorsFold = true }, `| parse "USER=*;" as u | count`,
			[]*event.Event{msg(`user=bob;`)}, `{"_count":0}`, `{"_count":1}`},
		{"WhereBoolStrings", func(s *Semantics) { s.WhereBoolStrings = false }, `| json auto | where ok | count`,
			[]*event.Event{msg(`{"ok":"TRUE"}`)}, `{"_count":1}`, `{"_count":0}`},
		{"NullAssignRemoves", func(s *Semantics) { s.NullAssignRemoves = false }, `| json auto | missing as a | fields a, b`,
			[]*event.Event{msg(`{"b":1}`)}, `{"b":1}`, `{"a":null,"b":1}`},
		{"CountFieldNonNull", func(s *Semantics) { s.CountFieldNonNull = false }, `| json auto | count(a) as n`,
			[]*event.Event{msg(`{"a":1}`), msg(`{}`)}, `{"n":1}`, `{"n":2}`},
		{"LookupFirstMatch", func(s *Semantics) { s.LookupFirstMatch = false }, `| json auto | lookup owner from path://"t.csv" on k=key | fields owner`,
			[]*event.Event{msg(`{"k":"A"}`)}, `{"owner":"first"}`, `{"owner":"second"}`},
		{"RegexMatchAnchored", func(s *Semantics) { s.RegexMatchAnchored = false }, `| json auto | where x matches /b/ | count`,
			[]*event.Event{msg(`{"x":"abc"}`)}, `{"_count":0}`, `{"_count":1}`},
		{"CaseConvertNonStrings", func(s *Semantics) { s.CaseConvertNonStrings = false }, `| json auto | toUpperCase(b) as u | fields u`,
			[]*event.Event{msg(`{"b":true}`)}, `{"u":"TRUE"}`, `{}`},
		{"ConcatNullAsEmpty", func(s *Semantics) { s.ConcatNullAsEmpty = false }, `| concat("a", missing) as c | fields c`,
			[]*event.Event{msg(`{}`)}, `{"c":"a"}`, `{}`},
		{"KeepNullGroups", func(s *Semantics) { s.KeepNullGroups = false }, `| json auto | count by rg`,
			[]*event.Event{msg(`{"rg":"x"}`), msg(`{}`)}, `{"rg":"x","_count":1}` + "\n" + `{"rg":null,"_count":1}`, `{"rg":"x","_count":1}`},
		{"EmptyCountRow", func(s *Semantics) { s.EmptyCountRow = false }, `| where false | count`,
			[]*event.Event{msg(`{}`)}, `{"_count":0}`, ``},
		{"ValuesCap", func(s *Semantics) { s.ValuesCap = 1 }, `| json auto | values(v) as vs`,
			[]*event.Event{msg(`{"v":"b"}`), msg(`{"v":"a"}`)}, `{"vs":["a","b"]}`, `{"vs":["a"]}`},
		{"SortGroups", func(s *Semantics) { s.SortGroups = false }, `| json auto | count by k`,
			[]*event.Event{msg(`{"k":"b"}`), msg(`{"k":"a"}`)}, `{"k":"a","_count":1}` + "\n" + `{"k":"b","_count":1}`, `{"k":"b","_count":1}` + "\n" + `{"k":"a","_count":1}`},
		{"NullsLast", func(s *Semantics) { s.NullsLast = false }, `| json auto | sort by n asc | fields id`,
			[]*event.Event{msg(`{"id":1}`), msg(`{"id":2,"n":1}`)}, `{"id":2}` + "\n" + `{"id":1}`, `{"id":1}` + "\n" + `{"id":2}`},
		{"ExprInAggWithStats", nil, `| json auto | stats count(a + 1) as n`,
			[]*event.Event{msg(`{"a":1}`)}, `{"n":1}`, ``},
		{"JSONFieldCap", func(s *Semantics) { s.JSONFieldCap = 1 }, `| json auto | limit 1`,
			[]*event.Event{msg(`{"a":1,"b":2}`)}, `{"_messageTime":1700000000000,"a":1,"b":2,"_raw":"{\"a\":1,\"b\":2}"}`,
			`{"_messageTime":1700000000000,"a":1,"_raw":"{\"a\":1,\"b\":2}"}`},
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "t.csv"), []byte("key,owner\na,first\nA,second\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opts := DefaultOptions()
			opts.LookupDir = dir
			q := c.q
			got := runQ(t, opts, q, c.evs...)
			if c.name == "JSONFieldCap" {
				got = runRaw(t, opts, q, c.evs...)
			}
			check(t, "default", got, c.def)
			if c.flip == nil {
				opts.Semantics.ExprInAggWithStats = false
				if _, err := Compile(c.q, opts); err == nil || !strings.Contains(err.Error(), "aggregates take a field") {
					t.Errorf("switched off: %v", err)
				}
				return
			}
			c.flip(&opts.Semantics)
			got = runQ(t, opts, q, c.evs...)
			if c.name == "JSONFieldCap" {
				got = runRaw(t, opts, q, c.evs...)
			}
			check(t, "switched", got, c.other)
		})
	}
}

// runRaw is runQ without dropping the metadata columns.
func runRaw(t *testing.T, opts Options, q string, evs ...*event.Event) string {
	t.Helper()
	p, err := Compile(q, opts)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := p.RunEvents(evs).WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(b.String(), "\n")
}
