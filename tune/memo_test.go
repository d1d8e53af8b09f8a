package tune_test

import (
	"encoding/json"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/revertwatch/revertwatch/emulate"
	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/finding"
	"github.com/revertwatch/revertwatch/internal/emutest"
	"github.com/revertwatch/revertwatch/tune"
)

// memoConfig adds to the example config entries on what a Memo could
// otherwise confuse: the request, the time of day, a resource, and an
// entry that expires while the memo is in use.
const memoConfig = `
  - name: memo-request
    reason: test
    match: {account: "111122223333", request_value: "*vol-*"}
    rules: [memo-rule]
  - name: memo-hours
    reason: test
    match: {account: "111122223333", time: {hours: "00:00-06:00"}}
    rules: [memo-rule]
  - name: memo-resource
    reason: test
    match: {resource_id: "*i-0*", region: "us-east-1"}
    rules: [memo-rule]
  - name: memo-expiring
    reason: test
    expires: 2026-11-30T00:00:00Z
    match: {account: "1*", operation: "*s*"}
`

// TestMemoSameAsApply checks Memo.Decide against ApplyUncounted on every
// event of the emulated scenarios and noise, in both providers' shapes,
// for two rules: the decisions and their keys are the same, before and
// after an allow entry expires while the memo is in use.
func TestMemoSameAsApply(t *testing.T) {
	example, err := os.ReadFile("../examples/revertwatch.yaml")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	cfg, err := tune.Parse("memo.yaml", append(example, memoConfig...), tune.WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	evs := emulatedEvents(t)
	// Pairs of events alike but for their request or their resources,
	// which the emulated events vary only with what else they vary.
	for i, n := 0, len(evs); i < n; i += 7 {
		for _, v := range []func(*event.Event){
			func(e *event.Event) { e.Request = json.RawMessage(`{"volumeId":"vol-0abc"}`) },
			func(e *event.Event) { e.Request = json.RawMessage(`{"volumeId":"snap-0abc"}`) },
			func(e *event.Event) { e.Resources = []event.Resource{{UID: "i-0abc"}} },
			func(e *event.Event) { e.Resources = []event.Resource{{UID: "i-9abc"}} },
		} {
			c := *evs[i]
			c.Region = "us-east-1"
			v(&c)
			evs = append(evs, &c)
		}
	}
	memo := cfg.NewMemo()
	rules := []string{"memo-rule", "aws-backup-restore", "other"}
	decided := map[string]int{}
	check := func(phase string) {
		for _, ev := range evs {
			for _, rule := range rules {
				want := cfg.ApplyUncounted(&finding.Finding{RuleID: rule}, []*event.Event{ev})
				got, key := memo.Decide(rule, ev)
				if !reflect.DeepEqual(got, want) || key != want.Key() {
					t.Fatalf("%s: %s on %s %s: memo %+v %q, ApplyUncounted %+v %q", phase, rule, ev.Operation, ev.UID, got, key, want, want.Key())
				}
				decided[phase+" "+want.Entry]++
			}
		}
	}
	check("before expiry")
	now = time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	check("after expiry")
	// The test means something only if the entries decided some events
	// and not others.
	for _, k := range []string{"before expiry memo-request", "before expiry memo-hours", "before expiry memo-resource",
		"before expiry memo-expiring", "after expiry ", "before expiry "} {
		if decided[k] == 0 {
			t.Errorf("no event decided %q: %v", k, decided)
		}
	}
	if decided["after expiry memo-expiring"] != 0 {
		t.Errorf("an expired entry decided: %v", decided)
	}
}

// emulatedEvents decodes the emulated scenarios and some noise, in
// CloudTrail and Azure shapes.
func emulatedEvents(t *testing.T) []*event.Event {
	t.Helper()
	evs := emutest.Events(t, emulate.Options{Seed: 3, Noise: 300,
		Shapes: []emulate.Shape{event.FormatCloudTrailLines, event.FormatAzureStorage}})
	if len(evs) < 500 {
		t.Fatalf("only %d events", len(evs))
	}
	return evs
}
