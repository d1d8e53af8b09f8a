package event

import (
	"strings"
	"testing"
)

// FuzzLowerIs holds LowerIs to comparing strings.ToLower of an ASCII
// value with a lower-case string of its length.
func FuzzLowerIs(f *testing.F) {
	f.Add("CreateSnapshot", "createsnapshot")
	f.Add("@[`{", "@[`{")
	f.Add("Z", "z")
	f.Fuzz(func(t *testing.T, s, low string) {
		low = strings.ToLower(low)
		if !isASCII(s) || len(low) < len(s) {
			return
		}
		if got, want := LowerIs(s, low), strings.ToLower(s) == low[:len(s)]; got != want {
			t.Fatalf("LowerIs(%q, %q) = %v, want %v", s, low, got, want)
		}
	})
}
