package query

import (
	"fmt"
	"sort"
	"testing"
	"unsafe"

	"github.com/revertwatch/revertwatch/internal/strnum"
)

// TestValuesAggListAndSet feeds values() more distinct values than its
// sorted slice holds, in a scrambled order with repeats, and checks the
// result against sorting the distinct set, below and past the cap. Two
// other groups of the column, one before and one after, take other
// values in between, which must not leak into it.
func TestValuesAggListAndSet(t *testing.T) {
	for _, n := range []int{0, 1, maxValuesList - 1, maxValuesList, maxValuesList + 1, 3 * maxValuesList} {
		for _, capN := range []int{0, 2, 5, 100} {
			var w warnings
			c := newValuesColumn(capN, &w)
			c.grow()
			c.grow()
			c.grow()
			set := map[string]bool{}
			for i := 0; i < 4*n; i++ {
				s := fmt.Sprintf("v%03d", (i*7919)%max(n, 1))
				set[s] = true
				c.add(1, Str(s), nil)
				c.add(1, Null, nil)
				c.add(0, Str("other"+s), nil)
				c.add(2, Int(int64(i)), nil)
			}
			var want []string
			for s := range set {
				want = append(want, s)
			}
			sort.Strings(want)
			if capN > 0 && len(want) > capN {
				want = want[:capN]
			}
			got := c.result(1).Items()
			if len(got) != len(want) {
				t.Fatalf("n=%d cap=%d: %d values, want %d", n, capN, len(got), len(want))
			}
			for i := range want {
				if got[i].String() != want[i] {
					t.Fatalf("n=%d cap=%d: value %d is %q, want %q", n, capN, i, got[i].String(), want[i])
				}
			}
			if capped := capN > 0 && len(set) > capN; capped != (w.n[warnValuesCap] > 0) {
				t.Errorf("n=%d cap=%d: cap warning %d", n, capN, w.n[warnValuesCap])
			}
		}
	}
}

// A group key names its values unambiguously and gives them back: Null
// and strings numbered in the table, strings in full once the table is
// full, and typed values (a number, a list) in the typed form, which no
// plain key can equal.
func TestGroupKeys(t *testing.T) {
	var ks strnum.Table
	tuples := [][]Value{
		{Str("host"), Str("alice"), Null},
		{Str("host"), Null, Str("alice")},
		{Str(""), Str("x")},
		{Str("1"), Str("x")},
		{Int(1), Str("x")},
		{List([]Value{Str("a")}), Str("x")},
	}
	check := func(stage string) {
		seen := map[string]int{}
		for i, kv := range tuples {
			key, plain := appendGroupKey(nil, kv, &ks)
			if j, dup := seen[string(key)]; dup {
				t.Fatalf("%s: tuples %d and %d have one key %q", stage, j, i, key)
			}
			seen[string(key)] = i
			if again, _ := appendGroupKey(nil, kv, &ks); string(again) != string(key) {
				t.Fatalf("%s: tuple %d: key %q, then %q", stage, i, key, again)
			}
			if !plain {
				continue
			}
			got := appendKeyValues(nil, &ks, string(key))
			if fmt.Sprint(got) != fmt.Sprint(kv) {
				t.Errorf("%s: tuple %d came back as %v", stage, i, got)
			}
		}
	}
	check("numbered")
	for i := 0; ks.Len() < strnum.Max; i++ {
		ks.Number(fmt.Sprint("filler-", i))
	}
	tuples = append(tuples, []Value{Str("new"), Str("strings")}, []Value{Str("new"), Str("string"), Str("s")})
	check("table full")
}

// A Value is 40 bytes and a group of the seed's count and values costs a
// slice element per aggregate: the high-cardinality benchmark's 58k
// groups and their result rows are what query's memory is made of.
func TestValueSize(t *testing.T) {
	if n := unsafe.Sizeof(Value{}); n != 40 {
		t.Errorf("a Value is %d bytes, want 40", n)
	}
	items := []Value{Str("a"), Int(-3), Float(2.5), Bool(true), Null}
	l := List(items)
	if got := l.Items(); len(got) != len(items) || cap(got) != len(items) || got[2].float() != 2.5 || got[1].int() != -3 {
		t.Errorf("a List gave back %v", got)
	}
	if c := l.clone(); &c.Items()[0] == &items[0] || c.String() != l.String() {
		t.Errorf("clone shares or changes the list: %v", c)
	}
	if List(nil).Items() != nil || Str("x").Items() != nil || List(nil).String() != "[]" {
		t.Error("an empty List or a string has items")
	}
}

// TestValuesColumnDifferential adds values to many groups of one column
// in a scrambled order, from a small universe (groups share their short
// lists) and from a large one (every list differs, so the table of short
// lists fills and later groups own theirs), and checks each group's
// result against its sorted set.
func TestValuesColumnDifferential(t *testing.T) {
	for _, universe := range []int{3, 1 << 20} {
		var w warnings
		c := newValuesColumn(0, &w)
		const groups = maxSharedLists + 4000
		for range groups {
			c.grow()
		}
		want := make([]map[string]bool, groups)
		for i := range 6 * groups {
			g := (i * 7919) % groups
			n := (i * 104729) % universe
			if i%5 == 0 {
				n = g % (maxValuesList + 8) // some groups go past the list to a set
			}
			s := fmt.Sprint("v", n)
			c.add(g, Str(s), nil)
			if want[g] == nil {
				want[g] = map[string]bool{}
			}
			want[g][s] = true
		}
		if universe > maxSharedLists && len(c.owned) == 0 {
			t.Fatalf("universe %d: no group owns its list", universe)
		}
		for g := range groups {
			var ws []string
			for s := range want[g] {
				ws = append(ws, s)
			}
			sort.Strings(ws)
			got := c.result(g).Items()
			if len(got) != len(ws) {
				t.Fatalf("universe %d: group %d has %d values, want %d", universe, g, len(got), len(ws))
			}
			for i := range ws {
				if got[i].String() != ws[i] {
					t.Fatalf("universe %d: group %d value %d is %q, want %q", universe, g, i, got[i].String(), ws[i])
				}
			}
		}
	}
}
