package validate_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/revertwatch/revertwatch/emulate"
	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/tune"
	"github.com/revertwatch/revertwatch/validate"
)

// TestAllScenariosPass is the product's promise: every revert of the
// catalog found in every shape, nothing else firing, noise silent, and
// the same findings whatever the order of the records.
func TestAllScenariosPass(t *testing.T) {
	rep, err := validate.Run(context.Background(), validate.Options{Emulate: emulate.Options{Seed: 1, Noise: 100}})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		var buf bytes.Buffer
		rep.WriteTable(&buf)
		t.Fatalf("validation failed:\n%s", buf.String())
	}
	seen := map[validate.Status]int{}
	for _, c := range rep.Cells {
		seen[c.Status]++
		if c.Events == 0 {
			t.Errorf("%s/%s: no events decoded", c.Scenario, c.Shape)
		}
	}
	if seen[validate.Detected] == 0 || seen[validate.Silent] == 0 {
		t.Errorf("expected both detections and silent near-misses, got %v", seen)
	}
	for _, id := range []string{"aws-seed1-stop-start", "aws-seed2-volume-from-snapshot", "azure-seed3-disk-from-snapshot", "aws-seed4-image-from-snapshot"} {
		n := 0
		for _, c := range rep.Cells {
			if c.Scenario == id {
				n++
				if c.Status != validate.Detected {
					t.Errorf("seed scenario %s in %s: %s", id, c.Shape, c.Status)
				}
			}
		}
		if n < 3 {
			t.Errorf("seed scenario %s validated in %d shapes", id, n)
		}
	}
	if len(rep.Background) == 0 {
		t.Error("background noise not hunted")
	}
	if len(rep.Orders) != 3 || rep.Orders[0] != emulate.OrderOldestFirst || rep.OrderDiffs != 0 {
		t.Errorf("orders %v, %d order differences", rep.Orders, rep.OrderDiffs)
	}
	for _, c := range rep.Cells {
		switch c.Scenario {
		case "aws-stop-start-five-days":
			if len(c.Counts) != 1 || c.Counts[0].Count != 5 || len(c.Findings) != 5 || c.Status != validate.Detected {
				t.Errorf("five days in %s: %s, counts %v, %d findings", c.Shape, c.Status, c.Counts, len(c.Findings))
			}
		case "azure-disk-swap-accept-only":
			if c.Status != validate.Detected {
				t.Errorf("accept-only in %s: %s", c.Shape, c.Status)
			}
		case "azure-near-disk-swap-accept-only-failed":
			if c.Status != validate.Silent {
				t.Errorf("accept-only with a failed disk write in %s: %s", c.Shape, c.Status)
			}
		}
	}

	var buf bytes.Buffer
	if err := rep.WriteTable(&buf); err != nil || !strings.Contains(buf.String(), "PASS:") {
		t.Errorf("table: %v\n%s", err, buf.String())
	}
	buf.Reset()
	if err := rep.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var back validate.Report
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil || len(back.Cells) != len(rep.Cells) {
		t.Errorf("json round trip: %v", err)
	}
}

// TestTuningThatHidesARevertFails: an allow entry broad enough to cover a
// real revert is a blind spot, and validate must say so.
func TestTuningThatHidesARevertFails(t *testing.T) {
	cfg, err := tune.Parse("broad.yaml", []byte(`
allow:
  - name: too-broad
    reason: every stop/start in the account
    match:
      account: "111122223333"
      region: us-east-1
`))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := validate.Run(context.Background(), validate.Options{Config: cfg,
		Emulate: emulate.Options{Seed: 1, Scenarios: []string{"aws-seed1-stop-start"}}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK() || rep.Missed == 0 {
		t.Fatalf("a revert hidden by tuning passed: %+v", rep.Cells)
	}
	for _, c := range rep.Cells {
		if c.Status != validate.Missed || len(c.Suppressed) == 0 {
			t.Errorf("%s: status %s, suppressed %v", c.Shape, c.Status, c.Suppressed)
		}
	}
}

// TestNinetyDaysNewestFirstSpilling: a 90-day emulation as JSON lines of
// CloudTrail and as the REST list 'az monitor activity-log list' prints
// (newest first), with reverts on the first and the last day, hunted in
// every order with a memory budget small enough to spill nearly every
// event: everything is found, nothing else fires, and the findings are
// those of an unconstrained hunt. (The LookupEvents shape over 90 days is
// TestHuntNinetyDaysNewestFirst in cmd/revertwatch.)
func TestNinetyDaysNewestFirstSpilling(t *testing.T) {
	em := emulate.Options{Seed: 3, Noise: 200, Span: emulate.MaxSpan,
		Shapes: []emulate.Shape{event.FormatCloudTrailLines, event.FormatAzureREST}}
	small, err := validate.Run(context.Background(), validate.Options{Emulate: em, MemoryBudget: 16 << 10})
	if err != nil {
		t.Fatal(err)
	}
	if !small.OK() {
		var buf bytes.Buffer
		small.WriteTable(&buf)
		t.Fatalf("validation with a 16 KiB budget failed:\n%s", buf.String())
	}
	if len(small.Cells) < 30 {
		t.Fatalf("only %d cells", len(small.Cells))
	}
	full, err := validate.Run(context.Background(), validate.Options{Emulate: em})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(small.Cells)
	b, _ := json.Marshal(full.Cells)
	if !bytes.Equal(a, b) {
		t.Error("the memory budget changed the findings")
	}
}

// The summary line's arithmetic reads right (issue 18): a scenario runs in
// its own provider's shapes, so the cells are counted as such, never
// written as scenarios × shapes.
func TestSummaryArithmetic(t *testing.T) {
	r, err := validate.Run(context.Background(), validate.Options{Emulate: emulate.Options{Seed: 1,
		Scenarios: []string{"aws-seed1-stop-start", "azure-seed3-disk-from-snapshot"}}})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := r.WriteTable(&buf); err != nil {
		t.Fatal(err)
	}
	perScenario := map[string]int{}
	for _, c := range r.Cells {
		perScenario[c.Scenario]++
	}
	if len(perScenario) != 2 || len(r.Cells) >= 2*len(r.Shapes) {
		t.Fatalf("cells %v over %d shapes: each scenario should run in its provider's shapes only", perScenario, len(r.Shapes))
	}
	want := fmt.Sprintf("%d cells (each of 2 scenarios in every shape of its provider; %d shapes in all)", len(r.Cells), len(r.Shapes))
	if !strings.Contains(buf.String(), want) || strings.Contains(buf.String(), "×") {
		t.Errorf("summary does not read %q:\n%s", want, buf.String())
	}
}
