package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/revertwatch/revertwatch/emulate"
)

func readTruth(t *testing.T, dir string) emulate.Truth {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "truth.json"))
	if err != nil {
		t.Fatal(err)
	}
	var tr emulate.Truth
	if err := json.Unmarshal(data, &tr); err != nil {
		t.Fatal(err)
	}
	return tr
}

// --order and --span reach the corpus and its truth.json, for the small
// corpus and for --scale; bad values are usage errors that say why.
func TestEmulateOrderAndSpan(t *testing.T) {
	dir := t.TempDir()
	if _, err := run(t, "emulate", "-o", dir, "--order", "newest-first", "--span", "90d", "--noise", "50", "--scenarios", "aws-seed1-*"); err != nil {
		t.Fatal(err)
	}
	if tr := readTruth(t, dir); tr.Order != emulate.OrderNewestFirst || tr.Span != "90d" || len(tr.Background) == 0 {
		t.Errorf("truth.json: order %q span %q, %d background shapes", tr.Order, tr.Span, len(tr.Background))
	}

	dir = t.TempDir()
	if _, err := run(t, "emulate", "-o", dir, "--scale", "2000", "--files", "3", "--order", "shuffled", "--span", "2160h",
		"--scenarios", "aws-seed1-*", "--shapes", "cloudtrail-records"); err != nil {
		t.Fatal(err)
	}
	if tr := readTruth(t, dir); tr.Order != emulate.OrderShuffled || tr.Span != "90d" || tr.Noise != 2000 {
		t.Errorf("scale truth.json: order %q span %q noise %d", tr.Order, tr.Span, tr.Noise)
	}

	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--order", "sideways"}, "unknown order"},
		{[]string{"--span", "91d"}, "longer than 90 days"},
		{[]string{"--span", "36h"}, "whole number of days"},
	} {
		_, err := run(t, append([]string{"emulate", "-o", t.TempDir()}, c.args...)...)
		var ee *exitError
		if !errors.As(err, &ee) || ee.code != exitUsage || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%v: got %v, want a usage error saying %q", c.args, err, c.msg)
		}
	}
}
