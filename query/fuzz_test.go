package query_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/revertwatch/revertwatch/content"
	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/ingest"
	"github.com/revertwatch/revertwatch/query"
	"github.com/revertwatch/revertwatch/query/syntax"
)

// TestHostileScopeTerm is issue 14's query: a term of 200 001 bytes made
// the scope build a 1.8 MB regex and MustCompile panic, printing all of it.
func TestHostileScopeTerm(t *testing.T) {
	long := strings.Repeat("?", 200000)
	for _, src := range []string{
		"a" + long,
		"a" + strings.Repeat("?", 5000), // under the byte limit, over the wildcard one
		"a" + strings.Repeat("*", 5000), // the same with *
		strings.Repeat("a"+strings.Repeat("?", 900)+" ", 1000), // the limit is per query
		`"` + strings.Repeat("ab ", 20000) + `"`,               // a phrase too large for the instruction limit
		"| where x matches /(" + long + "/",                    // the regex error quotes the pattern
		`| parse regex "(?<x>` + long[:60000] + `("`,           // quoted by the regexp package in full
		`| where x "` + long + `"`,                             // the parser quotes the token
		"| where " + strings.Repeat("a", 200000) + "(x)",
	} {
		err := compileNoPanic(t, src)
		if err == nil {
			t.Errorf("%.40q: no error", src)
			continue
		}
		if msg := err.Error(); len(msg) >= 500 {
			t.Errorf("%.40q: error is %d bytes:\n%.600s", src, len(msg), msg)
		}
	}
	msg := compileNoPanic(t, "a"+long).Error()
	if !strings.HasPrefix(msg, "query:1:1: search term too large: 200001 bytes") {
		t.Errorf("error does not say what is wrong, and where:\n%s", msg)
	}
}

// TestPhraseInvalidUTF8 is a phrase holding a byte that is not UTF-8: kept
// as a byte it made the scope regex invalid, and MustCompile panic.
func TestPhraseInvalidUTF8(t *testing.T) {
	p, err := query.Compile("\"a\xff b\" | count", query.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	ev := &event.Event{Provider: event.Azure, Raw: json.RawMessage("{\"m\":\"A\xff   B\"}")}
	if got := p.RunEvents([]*event.Event{ev}).Rows[0][0].String(); got != "1" {
		t.Errorf("count = %s, want 1: U+FFFD in the regex matches the bad byte", got)
	}
}

// TestFuzzFindings are the inputs FuzzCompile found to panic; each must
// now compile to an error or run cleanly.
func TestFuzzFindings(t *testing.T) {
	for _, src := range []string{
		`| json "items[']" as x`, // [' and '] overlapped: a slice [2:1]
		`| json auto keys ""`,    // the empty name indexed its first byte
		`| json auto | fields %""`,
	} {
		runNoPanic(t, src)
	}
}

// runNoPanic compiles src and, when it compiles, runs it over a few
// events: every record must get through the pipeline.
func runNoPanic(t *testing.T, src string) {
	t.Helper()
	if compileNoPanic(t, src) != nil {
		return
	}
	p, _ := query.Compile(src, query.DefaultOptions())
	evs := []*event.Event{
		{Provider: event.Azure, Raw: json.RawMessage(`{"n":1,"k":"a","items":[{"id":1}],"properties":{"x":"y"}}`)},
		{Provider: event.Azure, Raw: json.RawMessage("not JSON \xff")},
	}
	if res := p.RunEvents(evs); res.Stats.BadRecords > 0 {
		t.Errorf("%.40q: %d records panicked at run time", src, res.Stats.BadRecords)
	}
}

func compileNoPanic(t *testing.T, src string) (err error) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("%.40q: panic: %.300v", src, r)
		}
	}()
	_, err = query.Compile(src, query.DefaultOptions())
	return err
}

// FuzzCompile takes arbitrary text through Compile and runs whatever
// compiles over a few events, then through every output format. An error
// is a fine answer; a panic is not, and neither is a record the runner had
// to skip, since Runner.Push turns a run-time panic into a bad record.
func FuzzCompile(f *testing.F) {
	seed, ok := content.Query("t1578.004-sumo")
	if !ok {
		f.Fatal("no seed query")
	}
	f.Add(seed.Text, uint8(0))
	f.Add(seed.Text, uint8(1))
	for _, q := range fuzzQueries {
		f.Add(q, uint8(0))
	}
	dir := f.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "t.csv"), []byte("key,owner\na,alice\nB,bob\n"), 0o644); err != nil {
		f.Fatal(err)
	}
	evs := fuzzEvents(f, dir)
	f.Fuzz(func(t *testing.T, src string, mode uint8) {
		if readsOutside(src) {
			return
		}
		opts := query.DefaultOptions()
		opts.LookupDir = dir
		if mode&1 != 0 {
			opts.Dialect = query.Strict
		}
		if mode&2 != 0 {
			opts.NoSeedAliases = true
		}
		if mode&4 != 0 {
			opts.Semantics.KeywordWholeToken = !opts.Semantics.KeywordWholeToken
			opts.Semantics.RegexMatchAnchored = !opts.Semantics.RegexMatchAnchored
		}
		p, err := query.Compile(src, opts)
		if err != nil {
			var errs *syntax.Errors
			if !errors.As(err, &errs) {
				t.Fatalf("error is a %T, not *syntax.Errors: %v", err, err)
			}
			_ = err.Error()
			return
		}
		_ = p.Explain()
		res := p.RunEvents(evs)
		if res.Stats.BadRecords > 0 {
			t.Fatalf("%d records panicked at run time", res.Stats.BadRecords)
		}
		for _, write := range []func(io.Writer) error{res.WriteJSON, res.WriteTable, res.WriteCSV} {
			if err := write(io.Discard); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// fuzzQueries cover the stages and functions the seed does not use; they
// are taken from the conformance tests.
var fuzzQueries = []string{
	`(login OR error*) AND NOT login | json auto | fields n`,
	`"logged   in" | json auto | fields n`,
	`_sourceCategory=aws/cloudtrail/us-east-? | json auto | fields n`,
	`| json auto | where x matches /a.c/ | count`,
	`| parse regex "id=(?<id>\w+)" multi | fields id`,
	`| parse "a=*" as a nodrop | parse "b=*" as b | count`,
	`| json "properties.resourceGroup", "items[*].id" as rg, ids | fields rg, ids`,
	`| json auto keys "n", "Caller" as num, who | fields num, who`,
	`| json auto extractarrays | fields %"tags[0]", %"tags[1]"`,
	`| json auto | count, count_distinct(v), sum(n), avg(n), min(n), max(n)`,
	`| json auto | timeslice 2 buckets | count by _timeslice`,
	`| json auto | lookup owner from path://"t.csv" on k=key | fields owner`,
	`| json auto | count by k | where _count > 1 | _count * 10 as big | fields k, big`,
	`| json auto | sort by k asc | first(k) as f, last(k) as l`,
	`| json auto | top 1 k`,
	`| json auto | "4" as s | num(s) | s + 1 as t | fields t`,
	`| json auto | matches(op, "(?i)snapshot|nothing") as m | fields m`,
	`| json auto | eval b = a * 2, c = b + 1 | fields b, c`,
	`| json auto | stats count(a + 1) as n`,
	`| "a\tb" as s | length(s) as n | fields n`,
}

// fuzzEvents are the first records of each seed golden's inputs, decoded
// by the real ingest path, and a few hand-made ones of odd shape.
func fuzzEvents(f *testing.F, dir string) []*event.Event {
	files, _ := filepath.Glob("testdata/seed-*.txtar")
	var inputs []string
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		for i, af := range parseArchive(string(data)).files {
			if strings.HasPrefix(af.name, "input") {
				p := filepath.Join(dir, fmt.Sprintf("%s-%d", filepath.Base(file), i))
				if err := os.WriteFile(p, []byte(af.data), 0o644); err != nil {
					f.Fatal(err)
				}
				inputs = append(inputs, p)
			}
		}
	}
	all := readEvents(f, dir, inputs, ingest.Options{})
	var evs []*event.Event
	for i := 0; i < len(all); i += max(1, len(all)/6) {
		evs = append(evs, all[i])
	}
	t0 := time.Unix(1700000000, 0).UTC()
	for i, raw := range []string{
		`{"n":1,"k":"a","v":"x","a":2,"b":3,"op":"Microsoft.Compute/snapshots/write","tags":["t1","t2"],"items":[{"id":1},{"id":"2"}],"properties":{"resourceGroup":"rg","deep":{"x":null}}}`,
		`{"n":"2","k":"B","x":"abc","url":"/a/schedule?x=1","inner":"{\"k\":1}"} error in login`,
		"user=bob; id=42 id=43 a=1 b=2 c=3 d=4 not JSON \xff\xfe",
		`[1,2,{"n":3}]`,
		``,
	} {
		ev := &event.Event{Provider: event.Azure, Raw: json.RawMessage(raw), Time: t0.Add(time.Duration(i) * 97 * time.Second)}
		ev.Source.Category = event.CategoryAzure
		ev.Source.Host = "h1"
		evs = append(evs, ev)
	}
	return evs
}

// readsOutside reports whether a lookup could open a file outside the
// fuzz directory: /dev/zero or a pipe would stall the fuzzer, and what it
// finds there is no part of the test.
func readsOutside(src string) bool {
	q, _ := syntax.Parse(src)
	if q == nil {
		return false
	}
	for _, st := range q.Stages {
		l, ok := st.(*syntax.Lookup)
		if !ok {
			continue
		}
		p := strings.TrimPrefix(strings.TrimPrefix(l.Source, "path://"), "file://")
		p = strings.Trim(p, `"`)
		if p != "t.csv" {
			return true
		}
	}
	return false
}
