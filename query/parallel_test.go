package query_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/ingest"
	"github.com/revertwatch/revertwatch/internal/jsonx"
	"github.com/revertwatch/revertwatch/query"
)

// runParallel reads names as the query command does when the program is
// Parallel: partial events (QueryFields), each decoding goroutine's into
// a Worker of its own with the members the reader found, whole events
// into the Runner.
func runParallel(t testing.TB, prog *query.Program, names []string, opt ingest.Options) *query.Result {
	t.Helper()
	run := prog.NewRunner()
	opt.QueryFields = true
	opt.Jobs = 2
	opt.NewSelect = func() func(*event.Event, []jsonx.Member) ingest.Selection {
		w := run.NewWorker()
		if w == nil {
			t.Fatal("NewWorker: nil for a Parallel program")
		}
		return func(ev *event.Event, ms []jsonx.Member) ingest.Selection {
			w.Push(ev, ms)
			return ingest.SelectDrop
		}
	}
	_, err := ingest.Read(context.Background(), names, opt, ingest.Handlers{
		Event: func(ev *event.Event) error { run.Push(ev); return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	return run.Finish()
}

// render is a result as the tests compare it: rows, stats, warnings and
// the alias counts.
func render(t testing.TB, res *query.Result) string {
	t.Helper()
	var b bytes.Buffer
	if err := res.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&b, "stats: %+v\nwarnings: %q\naliases: %+v\n", res.Stats, res.Warnings, res.AliasUse)
	return b.String()
}

// parallelQueries run besides each golden archive's own query: they read
// top-level strings, bools, nulls, numbers, escaped strings, nested names
// and names in another letter case, which the Workers answer from the
// reader's members where they can and by parsing where they cannot.
var parallelQueries = []string{
	`| json auto | count by eventName, readOnly, errorCode`,
	`| json auto | count by EVENTNAME, userIdentity.type, userIdentity.arn`,
	`| json auto | where readOnly = false | count_distinct(eventID) as n, min(eventVersion) as lo, max(eventVersion) as hi by awsRegion`,
	`| json auto | values(operationName) as ops, count by category, resultType, caller`,
	`| json auto | where isNull(errorCode) | count by resourceGroup, _sourceHost, _sourceCategory`,
	`| json auto | parse field=operationName "*/*" as provider, rest nodrop | count by provider, properties.statusCode, level`,
	`_sourceCategory=*aws* | json auto | eventName as op | fields op | count by op`,
	`| json auto | where eventName matches "Create*" or operationName matches "*WRITE" | values(requestParameters) as req, count by eventSource`,
}

// TestParallelMatchesSequential is the differential test of the parallel
// plan: every golden archive's inputs, run through Workers in two
// decoding goroutines, give the rows, counts, warnings and alias counts
// of one Runner over whole events in input order.
func TestParallelMatchesSequential(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatal("no golden files", err)
	}
	sort.Strings(files)
	parallelRuns := 0
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		a := parseArchive(string(data))
		dir := t.TempDir()
		var inputs []string
		for i, f := range a.files {
			if strings.HasPrefix(f.name, "input") {
				p := filepath.Join(dir, fmt.Sprintf("%02d-%s", i, f.name))
				if err := os.WriteFile(p, []byte(f.data), 0o644); err != nil {
					t.Fatal(err)
				}
				inputs = append(inputs, p)
			}
		}
		if len(inputs) == 0 {
			continue
		}
		o := a.opts()
		iopt := ingest.Options{SourceHost: o["source-host"], SourceCategory: o["source-category"]}
		queries := append([]string(nil), parallelQueries...)
		if src, ok := a.get("query"); ok {
			queries = append(queries, strings.TrimSuffix(src, "\n"))
		}
		for qi, src := range queries {
			t.Run(fmt.Sprintf("%s/%d", strings.TrimSuffix(filepath.Base(file), ".txtar"), qi), func(t *testing.T) {
				prog, err := query.Compile(src, query.DefaultOptions())
				if err != nil {
					t.Skipf("does not compile: %v", err)
				}
				if !prog.Parallel() {
					t.Skip("not a parallel plan")
				}
				parallelRuns++
				want := render(t, prog.RunEvents(readEvents(t, dir, inputs, iopt)))
				res := runParallel(t, prog, inputs, iopt)
				if got := render(t, res); got != want {
					t.Errorf("%s\nparallel:\n%s\nsequential:\n%s", src, got, want)
				}
			})
		}
	}
	if parallelRuns < 20 {
		t.Errorf("only %d parallel runs: the plan test lost its queries", parallelRuns)
	}
}

// TestParallelPlan lists which plans run in the decoding goroutines.
func TestParallelPlan(t *testing.T) {
	for _, c := range []struct {
		q    string
		want bool
	}{
		{`| json auto | count by eventName`, true},
		{`| json auto | where x = "1" | values(a), count_distinct(b), min(c), max(d) by e`, true},
		{`| json auto | sum(x) by y`, false},   // a float sum depends on the order of additions
		{`| json auto | first(x) by y`, false}, // input order
		{`| json auto | limit 5 | count`, false},
		{`| json auto | fields a`, false}, // no aggregation: rows in input order
		{`| parse regex "(?<a>x)" multi | count by a`, false},
		{`| sort by a | count by a`, false},
	} {
		p, err := query.Compile(c.q, query.DefaultOptions())
		if err != nil {
			t.Fatalf("%s: %v", c.q, err)
		}
		if p.Parallel() != c.want {
			t.Errorf("%s: Parallel() = %v, want %v", c.q, p.Parallel(), c.want)
		}
	}
	opts := query.DefaultOptions()
	opts.Semantics.SortGroups = false // groups in order of first appearance: input order
	if p, _ := query.Compile(`| count by a`, opts); p.Parallel() {
		t.Error("a plan without sorted groups ran in parallel")
	}
}
