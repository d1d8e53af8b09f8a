package query

import (
	"bytes"
	"strings"
	"testing"

	"github.com/revertwatch/revertwatch/event"
)

// The query language's errors and output for a person (issue 18).

func TestUnknownOperator(t *testing.T) {
	for q, want := range map[string]string{
		"| cuont by f":           "unknown operator cuont; did you mean count?",
		"| feilds a, b":          "unknown operator feilds; did you mean fields?",
		"| wher x = 1":           "unknown operator wher; did you mean where?",
		"| frobnicate by x":      "unknown operator frobnicate",
		"count by operationName": "count is an operator: a stage starts with '|'",
		"where x = 1 | count":    "where is an operator: a stage starts with '|'",
	} {
		if got := compileErr(t, DefaultOptions(), q); !strings.Contains(got, want) {
			t.Errorf("%q:\n got %s\nwant %s", q, got, want)
		}
	}
	// What still parses: a search for the word, quoted or alone, and
	// expressions named with as.
	for _, q := range []string{`"count" by`, "count", "| concat(a, b) as c", "| x as y", "count or fields"} {
		if _, err := Compile(q, DefaultOptions()); err != nil {
			t.Errorf("%q: %v", q, err)
		}
	}
}

func TestGroupByFieldNoEventHad(t *testing.T) {
	evs := []*event.Event{msg(`{"operationName":"a"}`), msg(`{"operationName":"b"}`)}
	for i, ev := range evs {
		ev.OperationName = []string{"a", "b"}[i]
	}
	p, err := Compile("| count by operatonName", DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	res := p.RunEvents(evs)
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "no event had the field operatonName") ||
		!strings.Contains(res.Warnings[0], "did you mean operationName?") {
		t.Errorf("warnings %q", res.Warnings)
	}
	p, _ = Compile("| count by operationName", DefaultOptions())
	if res := p.RunEvents(evs); len(res.Warnings) != 0 {
		t.Errorf("a field the events have warned: %q", res.Warnings)
	}
}

func TestFieldsHidesMessageColumns(t *testing.T) {
	ev := msg(`{"a":"1"}`)
	for q, want := range map[string]string{
		`| json "a" | fields a`:               "a",
		`| json "a" | fields a, _raw`:         "a,_raw",
		`| json "a" | fields a, _messageTime`: "a,_messageTime",
		`| json "a" | fields - a`:             "_messageTime,_raw",
	} {
		p, err := Compile(q, DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(p.RunEvents([]*event.Event{ev}).Columns, ","); got != want {
			t.Errorf("%s: columns %s, want %s", q, got, want)
		}
	}
}

func TestTimeColumnsText(t *testing.T) {
	evs := []*event.Event{msg(`{}`), msg(`{}`, "t=3600.5")}
	p, err := Compile("| timeslice 1h | count by _timeslice | sort by _timeslice asc", DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	res := p.RunEvents(evs)
	var table, csv, js bytes.Buffer
	if err := res.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	res.WriteCSV(&csv)
	res.WriteJSON(&js)
	if !strings.Contains(table.String(), "2023-11-14T22:00:00Z") || !strings.Contains(csv.String(), "2023-11-14T23:00:00Z,1") {
		t.Errorf("table and CSV times:\n%s\n%s", table.String(), csv.String())
	}
	if !strings.Contains(js.String(), `"_timeslice":1699999200000`) {
		t.Errorf("JSON keeps epoch milliseconds: %s", js.String())
	}
	p, _ = Compile("| fields _messageTime", DefaultOptions())
	csv.Reset()
	p.RunEvents(evs[1:]).WriteCSV(&csv)
	if !strings.Contains(csv.String(), "2023-11-14T23:13:20.500Z") {
		t.Errorf("_messageTime in CSV: %s", csv.String())
	}
}
