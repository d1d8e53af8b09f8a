// Package suggest finds the word a person probably meant: the "did you
// mean" of query errors and config errors.
package suggest

import "strings"

// Closest returns the candidate nearest to word by case-insensitive edit
// distance, if it is at most 2 edits away, or "". Ties go to the earlier
// candidate.
func Closest(word string, candidates []string) string {
	best, bestD := "", 3
	lw := strings.ToLower(word)
	for _, c := range candidates {
		if d := Distance(lw, strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// Distance is the Levenshtein distance between a and b, in bytes. Words
// longer than 64 bytes are not compared (the distance is then 99): a
// suggestion for them would not help.
func Distance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 99
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
