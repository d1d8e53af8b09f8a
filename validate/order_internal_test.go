package validate

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/revertwatch/revertwatch/detect"
	"github.com/revertwatch/revertwatch/emulate"
	"github.com/revertwatch/revertwatch/finding"
	"github.com/revertwatch/revertwatch/tune"
)

// A detector whose answer depends on the order of its input — here one
// that loses the stop/start findings when the records come newest first —
// fails the validation, and the report names the cell, the order and the
// finding that went missing.
func TestPlantedOrderDifferenceFails(t *testing.T) {
	real := newDetector
	defer func() { newDetector = real }()
	newDetector = func(order emulate.Order, o detect.Options) (detector, error) {
		if order == emulate.OrderNewestFirst {
			next := o.OnFinding
			o.OnFinding = func(f finding.Finding, d tune.Decision) {
				if f.RuleID != emulate.RuleStopStart {
					next(f, d)
				}
			}
		}
		return real(order, o)
	}
	rep, err := Run(context.Background(), Options{Emulate: emulate.Options{Seed: 1, Scenarios: []string{"aws-seed1-stop-start", "aws-seed2-*"}}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK() || rep.OrderDiffs == 0 {
		t.Fatalf("an order-dependent detector passed: %+v", rep)
	}
	for _, c := range rep.Cells {
		switch c.Scenario {
		case "aws-seed1-stop-start":
			if len(c.OrderDiffs) != 1 || c.OrderDiffs[0].Order != emulate.OrderNewestFirst || c.OrderDiffs[0].Status != Missed {
				t.Errorf("%s: order differences %+v", c.Shape, c.OrderDiffs)
			} else if ch := c.OrderDiffs[0].Changes; len(ch) != 1 || !strings.HasPrefix(ch[0], "lacks aws-stop-start rw-") {
				t.Errorf("%s: changes %q", c.Shape, ch)
			}
			if !c.Failed() {
				t.Errorf("%s: a cell with an order difference does not fail", c.Shape)
			}
		default:
			if len(c.OrderDiffs) != 0 {
				t.Errorf("%s/%s: order differences %+v where the detector is fair", c.Scenario, c.Shape, c.OrderDiffs)
			}
		}
	}
	var buf bytes.Buffer
	if err := rep.WriteTable(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"✗ ORDER newest-first ≠ ✓ aws-stop-start", "ORDER DIFFERENCES",
		"aws-seed1-stop-start / cloudtrail-records: newest-first (missed) differs from oldest-first (detected):",
		"newest-first lacks aws-stop-start rw-", "FAIL:", "3 order differences"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

// Two crafted result sets: the same findings in another order compare
// equal; a missing, an added, a changed-evidence and a repeated finding
// are each named.
func TestDiffFindings(t *testing.T) {
	a := FindingKey{Rule: "aws-stop-start", ID: "rw-a", Evidence: []string{"e1", "e2"}}
	b := FindingKey{Rule: "azure-disk-swap", ID: "rw-b", Evidence: []string{"e3"}}
	c := FindingKey{Rule: "aws-rds-restore", ID: "rw-c", Evidence: []string{"e4"}}
	if d := DiffFindings([]FindingKey{a, b}, []FindingKey{b, a}); d != nil {
		t.Errorf("same findings, other order: %q", d)
	}
	if d := DiffFindings(nil, []FindingKey{}); d != nil {
		t.Errorf("two empty sets: %q", d)
	}
	b2 := b
	b2.Evidence = []string{"e3", "e9"}
	got := DiffFindings([]FindingKey{a, b}, []FindingKey{b2, c})
	want := []string{
		"adds aws-rds-restore rw-c (evidence e4)",
		"lacks aws-stop-start rw-a (evidence e1 e2)",
		"azure-disk-swap rw-b: evidence [e3 e9], not [e3]",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("diff:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	got = DiffFindings([]FindingKey{a}, []FindingKey{a, a})
	if len(got) != 1 || got[0] != "aws-stop-start rw-a fired 2 times, not 1" {
		t.Errorf("repeat: %q", got)
	}
	if !bytes.Equal(Canonical([]FindingKey{a, b}), Canonical([]FindingKey{b, a})) {
		t.Error("the canonical form depends on the order of the findings")
	}
}

// A repeated revert counts by distinct finding ids: five findings under
// one id are one revert to whoever reads them, so the cell misses four.
func TestCountsJudgeDistinctIDs(t *testing.T) {
	const r = emulate.RuleStopStart
	cell := func(ids ...string) Cell {
		c := Cell{Expected: []string{r}, Counts: []emulate.RuleCount{{Rule: r, Count: 5}}, Fired: []string{r}, Kind: emulate.KindRevert}
		for _, id := range ids {
			c.Findings = append(c.Findings, FindingKey{Rule: r, ID: id})
		}
		c.judge()
		return c
	}
	if c := cell("1", "2", "3", "4", "5"); c.Status != Detected {
		t.Errorf("five ids: %s %v %v", c.Status, c.Missing, c.Extra)
	}
	if c := cell("1", "1", "1", "1", "1"); c.Status != Missed || len(c.Missing) != 1 || c.Missing[0] != r+"×5 (found 1)" {
		t.Errorf("one id five times: %s %v", c.Status, c.Missing)
	}
	if c := cell("1", "2", "3", "4", "5", "6"); c.Status != FalseAlarm || len(c.Extra) != 1 || c.Extra[0] != r+"×5 (found 6)" {
		t.Errorf("six ids: %s %v", c.Status, c.Extra)
	}
}
