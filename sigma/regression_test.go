package sigma

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/revertwatch/revertwatch/event"
)

// Correlation bugs other engines shipped (anchors.md §7.2), as negative
// tests.
func TestAnchorRegressions(t *testing.T) {
	abc := `
title: a
name: a
logsource: {product: aws}
detection: {s: {eventName: A}, condition: s}
---
title: b
name: b
logsource: {product: aws}
detection: {s: {eventName: B}, condition: s}
---
title: c
name: c
logsource: {product: aws}
detection: {s: {eventName: C}, condition: s}
---
title: a then b then c
name: abc
correlation: {type: temporal_ordered, rules: [a, b, c], group-by: [userAgent], timespan: 1h}
`
	rs := load(t, abc)
	ua := func(u string) string { return "userAgent=" + u }
	// Hayabusa #1810: A→C→B must not match A→B→C.
	if got, _ := hits(t, rs, time.Hour, rec(0, "A", ua("x")), rec(1, "C", ua("x")), rec(2, "B", ua("x"))); len(got) != 0 {
		t.Errorf("A C B matched: %v", got)
	}
	// Hayabusa #1809: steps of different group-by values never join.
	if got, _ := hits(t, rs, time.Hour, rec(0, "A", ua("x")), rec(1, "B", ua("y")), rec(2, "C", ua("x"))); len(got) != 0 {
		t.Errorf("joined across group values: %v", got)
	}
	if got, _ := hits(t, rs, time.Hour, rec(0, "A", ua("x")), rec(1, "B", ua("x")), rec(2, "C", ua("x"))); strings.Join(got, " ") != "abc:x" {
		t.Errorf("A B C: %v", got)
	}
	// Hayabusa #1896: a count window does not leak past its timespan.
	count := `
title: a
name: a
logsource: {product: aws}
detection: {s: {eventName: A}, condition: s}
---
title: three a
name: three
correlation: {type: event_count, rules: [a], group-by: [userAgent], timespan: 10m, condition: {gte: 3}}
`
	rs = load(t, count)
	if got, _ := hits(t, rs, time.Hour, rec(0, "A", ua("x")), rec(6, "A", ua("x")), rec(12, "A", ua("x")), rec(18, "A", ua("x"))); len(got) != 0 {
		t.Errorf("count leaked past the window: %v", got)
	}
	// Chainsaw #235: 1 of selection* selects the selections only.
	one := rule1("  selection_a: {eventName: A}\n  selection_b: {eventName: B}\n  filter: {userAgent: x}\n  condition: 1 of selection* and not filter")
	rs = load(t, one)
	r := NewRunner(rs, RunOptions{})
	if len(r.Match(rec(0, "A", ua("x")))) != 0 || len(r.Match(rec(0, "B", ua("y")))) != 1 {
		t.Error("1 of selection* and not filter")
	}
	// rustinel #535: events arriving out of order within the lateness are
	// evaluated in event time, not arrival order.
	rs = load(t, abc)
	if got, _ := hits(t, rs, time.Hour, rec(2, "C", ua("x")), rec(0, "A", ua("x")), rec(1, "B", ua("x"))); strings.Join(got, " ") != "abc:x" {
		t.Errorf("out-of-order arrival: %v", got)
	}
}

// BenchmarkRunnerSigmaHQ runs every SigmaHQ cloud rule over CloudTrail
// events; it reports events/s.
func BenchmarkRunnerSigmaHQ(b *testing.B) {
	if _, err := Load([]string{corpusDir}, nil); err != nil {
		b.Skipf("shared corpus not found: %v", err)
	}
	rs, _ := Load([]string{corpusDir}, nil)
	r := NewRunner(rs, RunOptions{})
	evs := make([]*event.Event, 64)
	size := 0
	for i := range evs {
		evs[i] = rec(float64(i), []string{"RunInstances", "StopInstances", "PutBucketLogging", "ConsoleLogin"}[i%4],
			fmt.Sprintf("userAgent=aws-cli/2.%d", i), `requestParameters.instancesSet={"items":[{"instanceId":"i-1"}]}`)
		size += len(evs[i].Raw)
	}
	b.SetBytes(int64(size / len(evs)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r.Match(evs[i%len(evs)])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
