package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// run executes the CLI with args and returns stdout and the error.
func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

func TestHuntFixtures(t *testing.T) {
	out, err := run(t, "hunt", "--quiet", "--lateness", "3h", "--format", "ndjson", "../../testdata/formats")
	if err != nil {
		t.Fatal(err)
	}
	rules := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var f struct {
			RuleID   string `json:"rule_id"`
			Evidence []any  `json:"evidence"`
		}
		if err := json.Unmarshal([]byte(line), &f); err != nil {
			t.Fatalf("bad finding line %q: %v", line, err)
		}
		rules[f.RuleID]++
	}
	for _, want := range []string{"aws-stop-start", "aws-volume-from-snapshot", "aws-image-from-snapshot",
		"aws-replace-root-volume", "azure-disk-swap"} {
		if rules[want] != 1 {
			t.Errorf("rule %s fired %d times, want once (all: %v)", want, rules[want], rules)
		}
	}

	for _, format := range []string{"table", "ocsf", "sarif"} {
		out, err := run(t, "hunt", "--quiet", "--lateness", "3h", "--format", format, "../../testdata/formats")
		if err != nil || !strings.Contains(out, "stop-start") {
			t.Errorf("format %s: err %v, output lacks the stop-start finding", format, err)
		}
	}

	_, err = run(t, "hunt", "--quiet", "--lateness", "3h", "--fail-on-findings", "--format", "ndjson", "../../testdata/formats")
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != exitFindings {
		t.Errorf("--fail-on-findings: got %v, want exit %d", err, exitFindings)
	}
	_, err = run(t, "hunt", "--format", "xml", "../../testdata/formats")
	if !errors.As(err, &ee) || ee.code != exitUsage {
		t.Errorf("bad format: got %v, want a usage error", err)
	}
}
