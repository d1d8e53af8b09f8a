package tune_test

import (
	"fmt"
	"os"
	"time"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/finding"
	"github.com/revertwatch/revertwatch/level"
	"github.com/revertwatch/revertwatch/tune"
)

// A detecting command loads the config once, applies it to every finding
// with the finding's events, emits what it is told to, and prints the
// summary at the end.
func ExampleConfig_Apply() {
	cfg, err := tune.Parse("revertwatch.yaml", []byte(`
allow:
  - name: nightly-instance-scheduler
    reason: stops dev instances at 19:00 and starts them at 07:00
    rules: [aws-stop-start]
    match:
      principal: "arn:aws:sts::*:assumed-role/InstanceSchedulerRole/*"
      account: "444455556666"
`))
	if err != nil {
		fmt.Println(err) // every problem, as FILE:LINE:COL: message
		return
	}
	call := func(op string, at time.Time) *event.Event {
		return &event.Event{Provider: event.AWS, Operation: op, OperationName: op, Time: at, Account: "444455556666",
			Caller: "arn:aws:sts::444455556666:assumed-role/InstanceSchedulerRole/scheduler"}
	}
	t0 := time.Date(2026, 11, 16, 18, 0, 0, 0, time.UTC)
	evs := []*event.Event{call("StopInstances", t0), call("StartInstances", t0.Add(12*time.Hour))}
	f := &finding.Finding{ID: "rw-1", RuleID: "aws-stop-start", Severity: level.High.String(), Confidence: level.Medium.String()}

	d := cfg.Apply(f, evs)
	fmt.Println(d.Action, d.Emit(), f.Suppressed, f.Severity)
	fmt.Println(f.SuppressionReason)
	_ = cfg.Summary().Write(os.Stdout)
	// Output:
	// downgrade true true low
	// allow entry "nightly-instance-scheduler": stops dev instances at 19:00 and starts them at 07:00
	// tuning: 1 downgraded, 0 dropped
	//   nightly-instance-scheduler  downgrade  1
}

// Long-running modes report a recurring finding once per window of event
// time.
func ExampleSuppressor() {
	s := tune.NewSuppressor(24 * time.Hour)
	t0 := time.Date(2026, 11, 16, 19, 0, 0, 0, time.UTC)
	for _, h := range []int{0, 1, 2, 30} {
		v := s.Observe("rw-1", t0.Add(time.Duration(h)*time.Hour))
		fmt.Println(v.Emit, v.Repeats)
	}
	// Output:
	// true 0
	// false 1
	// false 2
	// true 2
}
