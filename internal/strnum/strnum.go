// Package strnum numbers strings for the compact forms revertwatch keeps
// in memory (held events, aggregation group keys): a string that repeats
// is written once in a Table and named by its number after that.
package strnum

import "strings"

// Max is the most strings a Table numbers; past it, Number refuses new
// ones and callers write them out in full. A log with very many distinct
// values fills it with strings met once, which costs a few megabytes.
const Max = 1 << 16

// Table numbers strings in the order first seen. Its zero value is empty
// and ready.
type Table struct {
	ids  map[string]uint32
	strs []string
}

// Number returns s's number. A string not seen before is copied (it may
// be a view of bytes the table must not keep alive) and numbered, and
// added reports it; ok is false when it is new and the table is full.
func (t *Table) Number(s string) (id uint32, added, ok bool) {
	if id, ok := t.ids[s]; ok {
		return id, false, true
	}
	if len(t.strs) >= Max {
		return 0, false, false
	}
	if t.ids == nil {
		t.ids = map[string]uint32{}
	}
	s = strings.Clone(s)
	id = uint32(len(t.strs))
	t.ids[s] = id
	t.strs = append(t.strs, s)
	return id, true, true
}

// String returns the string numbered id; ok is false for a number the
// table never gave.
func (t *Table) String(id uint64) (string, bool) {
	if t == nil || id >= uint64(len(t.strs)) {
		return "", false
	}
	return t.strs[id], true
}

// Len is how many strings are numbered.
func (t *Table) Len() int { return len(t.strs) }
