package tune

import (
	"errors"
	"os"
	"testing"
	"time"
)

// FuzzParse: no input makes the parser panic, every failure is a
// Diagnostics with positions, and a config that loads can be applied.
func FuzzParse(f *testing.F) {
	f.Add([]byte(issueExample))
	if b, err := os.ReadFile("../examples/revertwatch.yaml"); err == nil {
		f.Add(b)
	}
	f.Add(benignYAML)
	f.Add([]byte("allow:\n  - name: a\n    reason: r\n    match: {principal: \"[a-\", source_ip: 10.0.0.0/8, time: {days: fri-mon, hours: [\"22:00-02:00\"]}}\n"))
	f.Add([]byte("a: &a [*a]\n"))
	f.Add([]byte("lateness: 1d\n---\n"))
	clock := func() time.Time { return time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC) }
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz.yaml", data, WithClock(clock))
		if err != nil {
			var ds Diagnostics
			if !errors.As(err, &ds) || ds.Errors() == 0 {
				t.Fatalf("error is not Diagnostics: %v", err)
			}
			for _, d := range ds {
				if d.Line < 1 || d.Column < 1 {
					t.Fatalf("bad position: %+v", d)
				}
			}
			return
		}
		f := findingOf("aws-stop-start", awsCall{when: clock(), op: "StopInstances", role: "r", resources: []string{"i-1"}}.event())
		c.Apply(f, nil)
		_ = c.Summary()
	})
}
