package query

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/revertwatch/revertwatch/event"
)

// msg builds an event whose _raw is raw. Options: "cat=…", "host=…",
// "t=<seconds>".
func msg(raw string, opts ...string) *event.Event {
	ev := &event.Event{Raw: json.RawMessage(raw), Provider: event.Azure}
	ev.Source.Category = "test/cat"
	ev.Source.Host = "h1"
	ev.Time = time.Unix(1700000000, 0).UTC()
	for _, o := range opts {
		k, v, _ := strings.Cut(o, "=")
		switch k {
		case "cat":
			ev.Source.Category = v
		case "host":
			ev.Source.Host = v
		case "t":
			d, _ := time.ParseDuration(v + "s")
			ev.Time = time.Unix(1700000000, 0).UTC().Add(d)
		}
	}
	return ev
}

// runQ compiles q with opts and runs it over evs, returning the rows as
// JSON lines.
func runQ(t *testing.T, opts Options, q string, evs ...*event.Event) string {
	t.Helper()
	p, err := Compile(q, opts)
	if err != nil {
		t.Fatalf("compile %q:\n%v", q, err)
	}
	res := p.RunEvents(evs)
	if !strings.Contains(q, "_raw") && !strings.Contains(q, "_messageTime") {
		dropColumns(res, "_raw", "_messageTime")
	}
	var b bytes.Buffer
	if err := res.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func run(t *testing.T, q string, evs ...*event.Event) string {
	t.Helper()
	return runQ(t, DefaultOptions(), q, evs...)
}

// compileErr compiles q and returns the rendered error, failing if there
// is none.
func compileErr(t *testing.T, opts Options, q string) string {
	t.Helper()
	_, err := Compile(q, opts)
	if err == nil {
		t.Fatalf("compile %q: no error", q)
	}
	return err.Error()
}

func check(t *testing.T, name, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("%s:\n got: %s\nwant: %s", name, got, want)
	}
}

// dropColumns removes columns the test does not look at (fields keeps
// every _-prefixed field, so _messageTime and _raw ride along).
func dropColumns(res *Result, names ...string) {
	for _, n := range names {
		for i := 0; i < len(res.Columns); i++ {
			if res.Columns[i] != n {
				continue
			}
			res.Columns = append(res.Columns[:i], res.Columns[i+1:]...)
			for r := range res.Rows {
				res.Rows[r] = append(res.Rows[r][:i], res.Rows[r][i+1:]...)
			}
			i--
		}
	}
	// Rows left with nothing but Null are dropped from the JSON form by
	// WriteJSON writing null; keep them as they are.
}

// TestGroupKeysReadBack: groups whose keys are all strings keep them in
// the map's key only and read them back at the end; a group with a
// number, a bool or a list among its keys keeps them whole. Either way
// the rows carry the keys as they came, in order.
func TestGroupKeysReadBack(t *testing.T) {
	evs := []*event.Event{
		msg(`{"k":"a:b","n":1,"b":true,"l":[1,"x"]}`), msg(`{"k":"a:b","n":1,"b":true,"l":[1,"x"]}`),
		msg(`{"k":"","n":2.5,"b":false,"l":[]}`), msg(`{"k":"12:x","n":-3,"b":true,"l":["y"]}`),
		msg(`{"k":"é\u0000\"","n":0,"b":false,"l":[{"z":1}]}`),
	}
	for _, q := range []string{
		`| json auto | count by k | sort by k`,
		`| json auto | count by k, n | sort by k`,
		`| json auto | count by k, b, l | sort by k`,
		`| json auto | count by l, k | sort by k`,
	} {
		got := run(t, q, evs...)
		for _, want := range []string{`"k":"a:b"`, `"k":"12:x"`, `"k":"é\u0000\""`} {
			if !strings.Contains(got, want) {
				t.Errorf("%s:\n%s\nlacks %s", q, got, want)
			}
		}
		if !strings.Contains(got, `"_count":2`) {
			t.Errorf("%s:\n%s\nlacks the group of two", q, got)
		}
	}
	check(t, "two string keys", run(t, `| json auto | count by k, k2 | sort by k`, msg(`{"k":"1:2","k2":"3"}`), msg(`{"k":"1","k2":"2:3"}`)),
		`{"k":"1:2","k2":"3","_count":1}`+"\n"+`{"k":"1","k2":"2:3","_count":1}`) // sort is descending by default
}
