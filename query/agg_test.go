package query

import (
	"fmt"
	"sort"
	"testing"

	"github.com/revertwatch/revertwatch/internal/strnum"
)

// TestValuesAggListAndSet feeds values() more distinct values than its
// sorted slice holds, in a scrambled order with repeats, and checks the
// result against sorting the distinct set, below and past the cap.
func TestValuesAggListAndSet(t *testing.T) {
	for _, n := range []int{0, 1, maxValuesList - 1, maxValuesList, maxValuesList + 1, 3 * maxValuesList} {
		for _, capN := range []int{0, 5, 100} {
			var w warnings
			c := &valuesAgg{valuesSpec: &valuesSpec{cap: capN, warn: &w, in: &interner{}}}
			set := map[string]bool{}
			for i := 0; i < 4*n; i++ {
				s := fmt.Sprintf("v%03d", (i*7919)%max(n, 1))
				set[s] = true
				c.add(Str(s), nil)
				c.add(Null, nil)
			}
			var want []string
			for s := range set {
				want = append(want, s)
			}
			sort.Strings(want)
			if capN > 0 && len(want) > capN {
				want = want[:capN]
			}
			got := c.result().Items()
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
			got := keyValues(&ks, string(key), len(kv))
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
