package query

import (
	"strings"
	"testing"

	"github.com/revertwatch/revertwatch/event"
)

// TestOwnRowsDropRemovedFields: rows an aggregation makes are kept as they
// are by the sort and the output, without the columns a later stage
// removed (assigning null), as the copies they replace were.
func TestOwnRowsDropRemovedFields(t *testing.T) {
	evs := []*event.Event{msg(`{"a":"x","b":"1"}`), msg(`{"a":"y","b":"2"}`), msg(`{"a":"x","b":"3"}`)}
	for _, c := range []struct{ q, want string }{
		{`| json auto | count by a | if(a = "x", null, a) as a | sort by _count`, `{"_count":2,"a":null}` + "\n" + `{"_count":1,"a":"y"}`},
		{`| json auto | count by a | if(a = "x", null, a) as a`, `{"_count":2,"a":null}` + "\n" + `{"_count":1,"a":"y"}`},
		{`| json auto | count by a | 1 as tmp | if(true, null, 1) as tmp | sort by a`, `{"a":"y","_count":1}` + "\n" + `{"a":"x","_count":2}`},
	} {
		check(t, c.q, run(t, c.q, evs...), c.want)
	}
}

// TestFinishAggregationMatchesRecords: the rows Finish makes from the
// groups of an aggregation that ends the plan (or is followed by a sort)
// are those the records' way gives, for sort keys of either case, missing
// columns, Nulls, ties and empty input.
func TestFinishAggregationMatchesRecords(t *testing.T) {
	evs := []*event.Event{
		msg(`{"a":"x","b":"1","c":3}`), msg(`{"a":"y","b":"2"}`), msg(`{"a":"x","b":"3","c":1}`),
		msg(`{"b":"4"}`), msg(`{"a":"z","b":"1","c":3}`), msg(`{"a":"y","b":"2","c":null}`),
	}
	queries := []string{
		`| json auto | count by a`,
		`| json auto | count by a | sort by _count`,
		`| json auto | count as n, values(b) as bs, min(c), max(c) by a | sort by N desc, a`,
		`| json auto | count by a, b | sort by missing, b desc`,
		`| json auto | count_distinct(b) by c | sort by c`,
		`| json auto | count`,
		`| json auto | where a = "none" | count`,
		`| json auto | where a = "none" | count by a | sort by a`,
	}
	for _, q := range queries {
		p, err := Compile(q, DefaultOptions())
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		fast := p.RunEvents(evs)
		r := p.NewRunner()
		for _, ev := range evs {
			r.Push(ev)
		}
		slow := &Result{}
		if !r.finishAggregation(&Result{}) {
			t.Fatalf("%s: not an aggregation plan", q)
		}
		r = p.NewRunner()
		for _, ev := range evs {
			r.Push(ev)
		}
		r.finishRecords(slow)
		var a, b strings.Builder
		if err := fast.WriteJSON(&a); err != nil {
			t.Fatal(err)
		}
		if err := slow.WriteJSON(&b); err != nil {
			t.Fatal(err)
		}
		if a.String() != b.String() || strings.Join(fast.Columns, ",") != strings.Join(slow.Columns, ",") {
			t.Errorf("%s:\nfrom the groups (%v):\n%s\nfrom records (%v):\n%s", q, fast.Columns, a.String(), slow.Columns, b.String())
		}
	}
}
