package query

import (
	"fmt"
	"sort"
	"testing"
)

// TestValuesAggListAndSet feeds values() more distinct values than its
// sorted slice holds, in a scrambled order with repeats, and checks the
// result against sorting the distinct set, below and past the cap.
func TestValuesAggListAndSet(t *testing.T) {
	for _, n := range []int{0, 1, maxValuesList - 1, maxValuesList, maxValuesList + 1, 3 * maxValuesList} {
		for _, capN := range []int{0, 5, 100} {
			var w warnings
			c := &valuesAgg{cap: capN, warn: &w, in: &interner{}}
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
