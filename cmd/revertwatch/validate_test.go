package main

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateCommand(t *testing.T) {
	out, err := run(t, "validate", "--noise", "20", "--scenarios", "aws-seed*,azure-seed*,aws-near-dry-run")
	if err != nil {
		t.Fatalf("validate failed: %v\n%s", err, out)
	}
	for _, want := range []string{"aws-seed1-stop-start", "azure-seed3-disk-from-snapshot", "✓ aws-stop-start", "· silent", "PASS:",
		"3 orders (oldest-first, newest-first, shuffled)", "0 order differences"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	out, err = run(t, "validate", "--format", "json", "--noise", "0", "--scenarios", "aws-seed1*")
	if err != nil || !strings.Contains(out, `"status": "detected"`) {
		t.Errorf("json: %v\n%s", err, out)
	}
	_, err = run(t, "validate", "--scenarios", "no-such-scenario")
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != exitUsage {
		t.Errorf("unknown scenario: got %v, want a usage error", err)
	}
	out, err = run(t, "validate", "--noise", "0", "--span", "90d", "--scenarios", "aws-seed1*,*five-days")
	if err != nil || !strings.Contains(out, "PASS:") {
		t.Errorf("--span 90d: %v\n%s", err, out)
	}
	_, err = run(t, "validate", "--span", "91d")
	if !errors.As(err, &ee) || ee.code != exitUsage || !strings.Contains(err.Error(), "90 days") {
		t.Errorf("--span 91d: got %v, want a usage error about 90 days", err)
	}
}
