package eventtime

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/revertwatch/revertwatch/event"
)

// Table numbers the events of a snapshot, so that an event held in
// several places (a core's history, a partial sequence, a correlation
// group) is written once and referred to by its position.
type Table struct {
	Events []*event.Event
	idx    map[*event.Event]int
}

// Ref returns an event's position, adding it if new.
func (t *Table) Ref(ev *event.Event) int {
	if i, ok := t.idx[ev]; ok {
		return i
	}
	if t.idx == nil {
		t.idx = map[*event.Event]int{}
	}
	t.idx[ev] = len(t.Events)
	t.Events = append(t.Events, ev)
	return t.idx[ev]
}

// Refs returns the positions of events.
func (t *Table) Refs(evs []*event.Event) []int {
	var out []int
	for _, ev := range evs {
		out = append(out, t.Ref(ev))
	}
	return out
}

// Lookup resolves the references of a decoded snapshot; what names the
// snapshot in errors.
type Lookup struct {
	Events []*event.Event
	What   string
}

// At returns the event at position i.
func (l Lookup) At(i int) (*event.Event, error) {
	if i < 0 || i >= len(l.Events) || l.Events[i] == nil {
		return nil, fmt.Errorf("%s state: event reference %d out of range or null", l.What, i)
	}
	return l.Events[i], nil
}

// All returns the events at positions is.
func (l Lookup) All(is []int) ([]*event.Event, error) {
	var out []*event.Event
	for _, i := range is {
		ev, err := l.At(i)
		if err != nil {
			return nil, err
		}
		out = append(out, ev)
	}
	return out, nil
}

// Encode writes a snapshot as JSON, the same bytes for the same state;
// what names it in errors.
func Encode(v any, what string) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encoding %s state: %w", what, err)
	}
	return b.Bytes(), nil
}

// SortedKeys returns a map's keys in order: snapshots never follow map
// order.
func SortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
