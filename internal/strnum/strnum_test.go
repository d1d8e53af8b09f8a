package strnum

import (
	"strconv"
	"testing"
)

// Numbers are given in order, once per string, read back, and refused
// for new strings past Max while old ones keep theirs.
func TestTable(t *testing.T) {
	var tab Table
	if _, ok := tab.String(0); ok {
		t.Fatal("an empty table gave a string")
	}
	buf := []byte("view")
	id, added, ok := tab.Number(string(buf))
	if id != 0 || !added || !ok {
		t.Fatalf("first string: %d %v %v", id, added, ok)
	}
	copy(buf, "xxxx")
	if s, ok := tab.String(0); !ok || s != "view" {
		t.Fatalf("the table kept %q, not a copy", s)
	}
	if id, added, ok := tab.Number("view"); id != 0 || added || !ok {
		t.Fatalf("second sight: %d %v %v", id, added, ok)
	}
	for i := 1; tab.Len() < Max; i++ {
		tab.Number(strconv.Itoa(i))
	}
	if _, _, ok := tab.Number("new"); ok {
		t.Fatal("a full table numbered a new string")
	}
	if id, _, ok := tab.Number("view"); id != 0 || !ok {
		t.Fatal("a full table lost an old number")
	}
	if _, ok := tab.String(Max); ok {
		t.Fatal("a number never given read back")
	}
	var nilTab *Table
	if _, ok := nilTab.String(0); ok {
		t.Fatal("a nil table gave a string")
	}
}
