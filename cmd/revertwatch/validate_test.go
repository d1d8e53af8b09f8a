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
	for _, want := range []string{"aws-seed1-stop-start", "azure-seed3-disk-from-snapshot", "✓ aws-stop-start", "· silent", "PASS:"} {
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
}
