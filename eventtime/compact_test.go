package eventtime

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"reflect"
	"testing"
	"time"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/internal/strnum"
)

// fillAll sets every field of v, however deep, to a value that is not
// its zero, from rng: a field the compact form forgets fails the round
// trip below, so a field added to event.Event cannot be dropped silently
// by the Sorter.
func fillAll(t testing.TB, v reflect.Value, rng *rand.Rand, path string) {
	t.Helper()
	switch v.Type() {
	case reflect.TypeOf(time.Time{}):
		v.Set(reflect.ValueOf(time.Unix(rng.Int63n(4e9), rng.Int63n(1e9)).UTC()))
		return
	case reflect.TypeOf(json.RawMessage{}):
		v.SetBytes([]byte(fmt.Sprintf(`{"%s":%d}`, path, rng.Intn(1000))))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(fmt.Sprintf("%s-%d", path, rng.Intn(5)))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(rng.Int63n(1<<40) - 1<<39 | 1)
	case reflect.Uint8:
		v.SetUint(uint64(rng.Intn(255) + 1))
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			fillAll(t, v.Field(i), rng, path+"."+v.Type().Field(i).Name)
		}
	case reflect.Slice:
		n := 1 + rng.Intn(3)
		s := reflect.MakeSlice(v.Type(), n, n)
		for i := 0; i < n; i++ {
			fillAll(t, s.Index(i), rng, fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(s)
	default:
		t.Fatalf("%s: the test does not know how to fill a %s", path, v.Kind())
	}
}

// Every field of an event comes back from the compact form as it went
// in, with strings numbered in a table or written in full, copied or
// viewed, and nil lists and bytes stay nil.
func TestCompactRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	tab := &strnum.Table{}
	for i := 0; i < 200; i++ {
		ev := &event.Event{}
		if i > 0 { // the first is the zero event
			fillAll(t, reflect.ValueOf(ev).Elem(), rng, "ev")
		}
		if i%3 == 1 { // a request and a response inside the record
			ev.Raw = json.RawMessage(`{"requestParameters":{"a":1},"responseElements":{"b":2}}`)
			ev.Request, ev.Response = ev.Raw[22:29], ev.Raw[49:56]
		}
		if i%5 == 2 {
			ev.Keys.Volumes, ev.Notes, ev.Request = nil, nil, nil
		}
		for _, tb := range []*strnum.Table{tab, nil} {
			b, _ := appendCompact(nil, ev, tb)
			for _, view := range []bool{true, false} {
				got, err := decodeCompact(b, tb, view)
				if err != nil {
					t.Fatalf("event %d: %v", i, err)
				}
				if !reflect.DeepEqual(got, ev) {
					want, _ := json.Marshal(ev)
					have, _ := json.Marshal(got)
					t.Fatalf("event %d (table %v, view %v):\n got %s\nwant %s", i, tb != nil, view, have, want)
				}
				if i%3 == 1 && len(ev.Request) > 0 && &got.Request[0] != &got.Raw[22] {
					t.Errorf("event %d: the request is a copy, not a span of the record", i)
				}
			}
		}
	}
	if tab.Len() == 0 {
		t.Error("nothing was numbered in the table")
	}
}

// A time in a zone other than UTC keeps its instant, its offset and its
// zone's name.
func TestCompactTimeZones(t *testing.T) {
	for _, tm := range []time.Time{
		time.Date(2026, 3, 1, 10, 0, 0, 5, time.FixedZone("CET", 3600)),
		time.Date(2026, 3, 1, 10, 0, 0, 0, time.FixedZone("", -5*3600-1800)),
		time.Date(2026, 3, 1, 10, 0, 0, 0, time.Local),
		{},
	} {
		tab := &strnum.Table{}
		b, _ := appendCompact(nil, &event.Event{Time: tm, LoggedTime: tm}, tab)
		got, err := decodeCompact(b, tab, false)
		if err != nil {
			t.Fatal(err)
		}
		gn, go_ := got.Time.Zone()
		wn, wo := tm.Zone()
		if !got.Time.Equal(tm) || gn != wn || go_ != wo || got.Time.IsZero() != tm.IsZero() || !got.LoggedTime.Equal(tm) {
			t.Errorf("%v came back as %v", tm, got.Time)
		}
	}
}

// compareCompact orders the compact forms as Compare orders the events,
// ties on the time included.
func TestCompareCompact(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tab := &strnum.Table{}
	var evs []*event.Event
	var bs [][]byte
	pick := func(l ...string) string { return l[rng.Intn(len(l))] }
	for i := 0; i < 300; i++ {
		ev := &event.Event{
			Time:     t0.Add(time.Duration(rng.Intn(3)) * time.Second),
			UID:      pick("", "a", "b"),
			Provider: pick(event.AWS, event.Azure),
			Format:   event.Format(pick("x", "y")),
			Raw:      json.RawMessage(pick("", "{}", `{"a":1}`)),
			Source:   event.Source{Name: pick("f", "g"), Offset: int64(rng.Intn(3)), Sub: rng.Intn(2)},
		}
		b, _ := appendCompact(nil, ev, tab)
		evs, bs = append(evs, ev), append(bs, b)
	}
	for i := range evs {
		for j := range evs {
			want := Compare(evs[i], evs[j])
			if !evs[i].Time.Equal(evs[j].Time) {
				continue // the Sorter compares the times itself
			}
			if got := compareCompact(bs[i], bs[j], tab); got != want {
				t.Fatalf("%d vs %d: %d, Compare says %d", i, j, got, want)
			}
		}
	}
}

// Damaged compact bytes are an error, never a panic; what decodes
// encodes back to itself.
func FuzzDecodeCompact(f *testing.F) {
	tab := &strnum.Table{}
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 4; i++ {
		ev := &event.Event{}
		fillAll(f, reflect.ValueOf(ev).Elem(), rng, "ev")
		b, _ := appendCompact(nil, ev, tab)
		f.Add(b)
		b, _ = appendCompact(nil, ev, nil)
		f.Add(b)
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, err := decodeCompact(b, tab, false)
		if err != nil {
			return
		}
		again, _ := appendCompact(nil, ev, nil)
		back, err := decodeCompact(again, nil, false)
		if err != nil {
			t.Fatalf("re-encoded event does not decode: %v", err)
		}
		x, _ := json.Marshal(ev)
		y, _ := json.Marshal(back)
		if string(x) != string(y) {
			t.Fatalf("round trip changed the event:\n%s\n%s", x, y)
		}
	})
}

// A detached event keeps its values when the bytes it was read from are
// overwritten: it shares nothing with them.
func TestDetach(t *testing.T) {
	rng := rand.New(rand.NewSource(9))
	ev := &event.Event{}
	fillAll(t, reflect.ValueOf(ev).Elem(), rng, "ev")
	want, _ := json.Marshal(ev)
	b, _ := appendCompact(nil, ev, nil)
	view, err := decodeCompact(b, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	Detach(view)
	clear(b)
	if got, _ := json.Marshal(view); string(got) != string(want) {
		t.Fatalf("a detached event changed with its source's bytes:\n got %s\nwant %s", got, want)
	}
}

// TestAppendEvent: an event written by AppendEvent reads back whole with
// DecodeEvent, into storage of its own, and damage is an error.
func TestAppendEvent(t *testing.T) {
	rng := rand.New(rand.NewSource(10))
	ev := &event.Event{}
	fillAll(t, reflect.ValueOf(ev).Elem(), rng, "ev")
	want, _ := json.Marshal(ev)
	b := AppendEvent([]byte("prefix"), ev)[len("prefix"):]
	got, err := DecodeEvent(b)
	if err != nil {
		t.Fatal(err)
	}
	clear(b)
	if g, _ := json.Marshal(got); string(g) != string(want) {
		t.Fatalf("read back\n got %s\nwant %s", g, want)
	}
	if _, err := DecodeEvent(AppendEvent(nil, ev)[:10]); err == nil {
		t.Fatal("a truncated event read back without an error")
	}
}
