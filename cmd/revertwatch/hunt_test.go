package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
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
	// The console exports (testdata/formats/console) add a stop-start and
	// a volume restore of their own; the Azure SDK records (azure/sdk-as-dict.json) a disk swap.
	for want, n := range map[string]int{"aws-stop-start": 2, "aws-volume-from-snapshot": 2, "aws-image-from-snapshot": 1,
		"aws-replace-root-volume": 1, "azure-disk-swap": 2, "azure-disk-swap-bodyless": 1} {
		if rules[want] != n {
			t.Errorf("rule %s fired %d times, want %d (all: %v)", want, rules[want], n, rules)
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

// A revert in a console's CSV download is found by hunt, at a confidence
// lowered for what the download lacks, and the finding says why.
func TestHuntConsoleCSV(t *testing.T) {
	for _, tc := range []struct{ file, rule, confidence string }{
		{"cloudtrail-event-history.csv", "aws-volume-from-snapshot", "medium"}, // high with the stop before, less one
		{"azure-activity-log.csv", "azure-disk-swap-bodyless", "low"},
	} {
		out, err := run(t, "hunt", "--quiet", "--format", "ndjson", "../../testdata/formats/console/"+tc.file)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			var f struct {
				RuleID     string   `json:"rule_id"`
				Confidence string   `json:"confidence"`
				Reasons    []string `json:"reasons"`
			}
			if err := json.Unmarshal([]byte(line), &f); err != nil {
				t.Fatalf("%s: bad finding %q", tc.file, line)
			}
			if !strings.Contains(strings.Join(f.Reasons, ";"), "no request or response bodies") {
				t.Errorf("%s: finding %s does not say what the export lacks: %q", tc.file, f.RuleID, f.Reasons)
			}
			if f.RuleID == tc.rule {
				found = true
				if f.Confidence != tc.confidence {
					t.Errorf("%s: %s at confidence %s, want %s", tc.file, f.RuleID, f.Confidence, tc.confidence)
				}
			}
		}
		if !found {
			t.Errorf("%s: no %s finding in %s", tc.file, tc.rule, out)
		}
	}
}

// Records of other services (an AWS Config rule invocation, a Security
// Hub finding) are skipped and counted by kind: hunt exits 0, not 3.
func TestHuntNonAuditSkipped(t *testing.T) {
	path := t.TempDir() + "/mixed.jsonl"
	data := `{"version":"1.0","invokingEvent":"{}","resultToken":"t","configRuleName":"ebs-encrypted","accountId":"111122223333"}` + "\n" +
		`{"SchemaVersion":"2018-10-08","Id":"f-1","ProductArn":"arn:aws:securityhub:eu-west-1::product/aws/securityhub","AwsAccountId":"111122223333"}` + "\n"
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := runStderr(t, "hunt", "--stats", path)
	if code != 0 || !strings.Contains(stderr, "skipped 1: AWS Config rule invocation") || !strings.Contains(stderr, "skipped 1: Security Hub finding") {
		t.Errorf("exit %d:\n%s", code, stderr)
	}
}
