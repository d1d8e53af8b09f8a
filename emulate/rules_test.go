package emulate

import (
	"testing"

	"github.com/revertwatch/revertwatch/content"
)

// TestRuleTitlesAreContents fails if emulate names a rule differently
// from the content: a rule has one title, in content/revert.go.
func TestRuleTitlesAreContents(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Rules {
		d, ok := content.RevertByID(r.ID)
		if !ok {
			t.Errorf("%s: not a built-in rule", r.ID)
			continue
		}
		if r.Title != d.Title {
			t.Errorf("%s: title %q, content says %q", r.ID, r.Title, d.Title)
		}
		seen[r.ID] = true
	}
	for _, d := range content.Reverts() {
		if !seen[d.ID()] {
			t.Errorf("%s: a built-in rule missing from emulate.Rules", d.ID())
		}
	}
}
