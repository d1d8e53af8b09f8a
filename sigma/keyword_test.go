package sigma

import (
	"testing"

	"github.com/valyala/fastjson"
)

// FuzzKeywordPrefilter holds the keyword search's shortcut to the walk
// it skips: when mayContain says a record's text cannot hold a keyword,
// no string or number of the record matches it.
func FuzzKeywordPrefilter(f *testing.F) {
	for _, s := range [][2]string{
		{`{"operationName":{"value":"Microsoft.Compute/snapshots/write"}}`, "Microsoft.Compute/snapshots/write"},
		{`{"a":"x\/y"}`, "x/y"},
		{`{"a":"\u212a"}`, "k"},
		{"{\"a\":\"\u212a\"}", "k"},
		{`{"n":12.50}`, "12.5"},
		{`{"a":["B*C",{"d":"e?f"}]}`, `b\*c`},
		{`{"a":"abc"}`, "a*c"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, raw, keyword string) {
		var p fastjson.Parser
		v, err := p.Parse(raw)
		if err != nil {
			return
		}
		kw := newPattern(parseWildcards(keyword), false, keyword)
		d := &doc{root: v}
		d.setRaw([]byte(raw))
		if !d.mayContain(kw) && walkStrings(v, kw.match) {
			t.Fatalf("record %s: keyword %q matches, but the prefilter ruled it out", raw, keyword)
		}
	})
}
