package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRulesExportPlatforms(t *testing.T) {
	for format, want := range map[string]string{
		"sumo": "_sourceCategory=*aws*cloudtrail*", "spl": `sourcetype="aws:cloudtrail"`,
		"kql": "AWSCloudTrail", "eql": "sequence by", "sql": "read_json_objects('logs/ct/*.json.gz'",
	} {
		out, err := run(t, "rules", "export", "--format", format, "--cloudtrail-glob", "logs/ct/*.json.gz")
		if err != nil || !strings.Contains(out, want) {
			t.Errorf("%s: err %v, output lacks %q", format, err, want)
		}
	}
	file := filepath.Join(t.TempDir(), "detections.kql")
	if _, err := run(t, "rules", "export", "-f", "kql", "-o", file); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(file); err != nil || !strings.Contains(string(b), "AzureActivity") {
		t.Errorf("-o file: %v", err)
	}
	var ee *exitError
	if _, err := run(t, "rules", "export", "--format", "xml"); !errors.As(err, &ee) || ee.code != exitUsage {
		t.Errorf("unknown format: %v", err)
	}
}

func TestRulesHunting(t *testing.T) {
	all, err := run(t, "rules", "hunting")
	if err != nil || strings.Count(all, "// hunt-") < 5 {
		t.Fatalf("rules hunting: %v\n%s", err, all)
	}
	one, err := run(t, "rules", "hunting", "hunt-root-volume-attach")
	if err != nil || !strings.HasPrefix(one, "_sourceCategory=") {
		t.Fatalf("one query: %v %q", err, one)
	}
	// The printed query runs as it is.
	if _, err := run(t, "query", "--quiet", strings.TrimSpace(one), "../../testdata/formats"); err != nil {
		t.Errorf("hunting query does not run: %v", err)
	}
	if _, err := run(t, "rules", "hunting", "nope"); err == nil {
		t.Error("unknown id accepted")
	}
}
