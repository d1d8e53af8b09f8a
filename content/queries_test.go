package content

import (
	"os"
	"strings"
	"testing"
)

// TestSeedQueryVerbatim checks that the embedded query is the seed
// document's text, byte for byte.
func TestSeedQueryVerbatim(t *testing.T) {
	b, ok := Query("t1578.004-sumo")
	if !ok {
		t.Fatal("t1578.004-sumo is not registered")
	}
	doc, err := os.ReadFile("../../shared/seed/T1578.004-sumo-logic-cse.txt")
	if err != nil {
		t.Skipf("seed document not available (%v); the embedded text is checked by the query tests", err)
	}
	text := string(doc)
	start := strings.Index(text, "\nsql\n")
	end := strings.Index(text, "\nhigh severity")
	if start < 0 || end < start {
		t.Fatal("cannot find the query in the seed document")
	}
	want := text[start+len("\nsql\n") : end+1]
	if b.Text != want {
		t.Errorf("embedded query differs from the seed document:\n got %q\nwant %q", b.Text, want)
	}
}

func TestQueriesOrder(t *testing.T) {
	qs := Queries()
	for i := 1; i < len(qs); i++ {
		if qs[i-1].ID >= qs[i].ID {
			t.Errorf("Queries not ordered by id: %s before %s", qs[i-1].ID, qs[i].ID)
		}
	}
	if _, ok := Query("no-such-id"); ok {
		t.Error("unknown id found")
	}
}
