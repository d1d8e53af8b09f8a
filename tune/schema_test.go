package tune

import (
	"strings"
	"testing"
)

// TestSchemaOrderIsOneTable: every listing of the match attributes (the
// schema, the keys a match may hold, Keys and String of a match that names
// them all, written in the opposite order) follows the one table.
func TestSchemaOrderIsOneTable(t *testing.T) {
	var want []string
	for i, a := range Attributes() {
		if a.Key == "" || a.Doc == "" {
			t.Fatalf("attribute %d has no key or doc: %+v", i, a)
		}
		want = append(want, a.Key)
	}
	if got := strings.Join(matchKeys, ","); got != strings.Join(want, ",") {
		t.Errorf("match keys %s, schema %s", got, strings.Join(want, ","))
	}

	values := map[string]string{
		"source_ip": "203.0.113.7",
		"benign":    "aws-backup",
		"time":      "{days: mon-fri}",
	}
	var b strings.Builder
	b.WriteString("allow:\n  - name: all\n    reason: every attribute\n    match:\n")
	for i := len(want) - 1; i >= 0; i-- {
		v, ok := values[want[i]]
		if !ok {
			v = "x*"
		}
		b.WriteString("      " + want[i] + ": " + v + "\n")
	}
	c := mustParse(t, b.String())
	m := c.Entries[0].Match
	if got := strings.Join(m.Keys(), ","); got != strings.Join(want, ",") {
		t.Errorf("Keys() = %s, want %s", got, strings.Join(want, ","))
	}
	var keys []string
	for _, part := range strings.Split(m.String(), " ") {
		if k, _, ok := strings.Cut(part, "="); ok {
			keys = append(keys, k)
		}
	}
	if got := strings.Join(keys, ","); got != strings.Join(want, ",") {
		t.Errorf("String() keys %s, want %s (%s)", got, strings.Join(want, ","), m.String())
	}
}
