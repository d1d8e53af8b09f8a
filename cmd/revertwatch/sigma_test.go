package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/revertwatch/revertwatch/emulate"
	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/finding"
)

func huntRuleIDs(t *testing.T, args ...string) []string {
	t.Helper()
	out, err := run(t, append([]string{"hunt", "--quiet", "--lateness", "3h", "--format", "ndjson"}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var f struct {
			RuleID string `json:"rule_id"`
		}
		if err := json.Unmarshal([]byte(line), &f); err != nil {
			t.Fatalf("bad finding %q: %v", line, err)
		}
		seen[f.RuleID] = true
	}
	var ids []string
	for id := range seen {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// TestRulesExportLintHunt exports the content as Sigma files, lints them,
// and hunts the fixtures with them alone: the same rules fire as with the
// built-in content.
func TestRulesExportLintHunt(t *testing.T) {
	dir := t.TempDir()
	if _, err := run(t, "rules", "export", "--format", "sigma", "-o", dir); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.yml"))
	if len(files) < 12 {
		t.Fatalf("exported %d files", len(files))
	}
	out, err := run(t, "rules", "lint", dir)
	if err != nil || strings.TrimSpace(out) != "" {
		t.Fatalf("lint of the export: %v\n%s", err, out)
	}
	// The console CSVs are left out: a Sigma rule reads the record's own
	// paths (requestParameters, the request body), which the consoles'
	// downloads do not carry; the built-in content reads their keys from
	// the Resources and Resource columns instead, as README says.
	for _, shape := range []string{"azure", "cloudtrail", "gcp"} {
		path := filepath.Join("../../testdata/formats", shape)
		builtin := huntRuleIDs(t, path)
		sig := huntRuleIDs(t, "--rules", dir, "--no-builtin", path)
		if len(builtin) == 0 {
			t.Errorf("%s: the built-in content found nothing", shape)
		}
		for _, id := range builtin {
			found := false
			for _, s := range sig {
				found = found || s == id
			}
			if !found {
				t.Errorf("%s: built-in found %s, the exported rules did not (%v)", shape, id, sig)
			}
		}
	}

	// One stream to stdout, and to a .yml file, load the same.
	stream, err := run(t, "rules", "export")
	if err != nil || strings.Count(stream, "\n---\n") != len(files)-1 {
		t.Fatalf("stream: %v, %d documents", err, strings.Count(stream, "\n---\n")+1)
	}
	one := filepath.Join(t.TempDir(), "revertwatch.yml")
	if _, err := run(t, "rules", "export", "-o", one); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(one); string(b) != stream {
		t.Error("the .yml file differs from the stream")
	}
}

func TestRulesLintReportsPositions(t *testing.T) {
	f := filepath.Join(t.TempDir(), "bad.yml")
	_ = os.WriteFile(f, []byte("title: x\nlogsource: {product: aws}\ndetection:\n  sel: {eventName|contians: a}\n  condition: sel\n"), 0o644)
	out, err := run(t, "rules", "lint", f)
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != exitLint {
		t.Fatalf("want exit %d, got %v", exitLint, err)
	}
	if !strings.Contains(out, f+":4:9: unsupported: rule x: unknown modifier |contians on eventName; help: did you mean |contains?") {
		t.Errorf("got %q", out)
	}
}

func TestHuntNoBuiltinNeedsRules(t *testing.T) {
	_, err := run(t, "hunt", "--no-builtin", "../../testdata/formats")
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != exitUsage {
		t.Fatalf("want a usage error, got %v", err)
	}
}

// TestHuntNoisyRuleStreams: a Sigma rule that fires on most records
// (SigmaHQ's AssumeRole misuse does), each hit reported, gives the same findings streamed as
// NDJSON as held for another format, and hunt says when it holds many.
func TestHuntNoisyRuleStreams(t *testing.T) {
	logs, rules := noisyRuleRun(t)
	streamed, stderr, code := runStderr(t, "hunt", "--quiet", "--each-hit", "--rules", rules, "--format", "ndjson", "--memory-budget", "64KiB", logs)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	n := strings.Count(streamed, "\n")
	if strings.Count(streamed, `"rule_id":"9d1e2c3b-0000-4000-8000-00000000000a"`) < 100 {
		t.Fatalf("the noisy rule fired %d times: the test would not test it", strings.Count(streamed, "9d1e2c3b"))
	}
	if strings.Contains(stderr, "holds them all in memory") {
		t.Errorf("NDJSON said it holds the findings:\n%s", stderr)
	}
	saved := manyFindings
	manyFindings = 10
	defer func() { manyFindings = saved }()
	held, stderr, code := runStderr(t, "hunt", "--quiet", "--each-hit", "--rules", rules, "--format", "ndjson", "--summary", "--memory-budget", "64KiB", logs)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if held != streamed {
		t.Errorf("held and streamed NDJSON differ (%d and %d lines)", strings.Count(held, "\n"), n)
	}
	if !strings.Contains(stderr, "holds them all in memory") {
		t.Errorf("hunt did not say it holds %d findings in memory:\n%s", n, stderr)
	}
}

// TestHuntFoldsNoisyRule: by default the hits of a single-record rule
// fold into one finding per rule, scope, caller and day, which counts
// them all and shows the first and the last; --each-hit reports each.
func TestHuntFoldsNoisyRule(t *testing.T) {
	logs, rules := noisyRuleRun(t)
	each, stderr, code := runStderr(t, "hunt", "--quiet", "--each-hit", "--no-builtin", "--rules", rules, "--format", "ndjson", logs)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	folded, stderr, code := runStderr(t, "hunt", "--quiet", "--no-builtin", "--rules", rules, "--format", "ndjson", logs)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	// A record filter keeps the rules on the detector's goroutine: the
	// same folds as fired in the decoding goroutines.
	onOne, stderr, code := runStderr(t, "hunt", "--quiet", "--no-builtin", "--since", "2000-01-01", "--rules", rules, "--format", "ndjson", logs)
	if code != 0 || onOne != folded {
		t.Fatalf("exit %d (%s); the rules fired in the decoders and on one goroutine differ:\n%s\n%s", code, stderr, folded, onOne)
	}
	hits, n := 0, 0
	for _, line := range strings.Split(strings.TrimSpace(folded), "\n") {
		var f finding.Finding
		if err := json.Unmarshal([]byte(line), &f); err != nil {
			t.Fatal(err)
		}
		n++
		hits += max(f.Hits, 1)
		if f.Hits > 1 && (len(f.Evidence) != 2 || !strings.Contains(strings.Join(f.Reasons, "\n"), "--each-hit")) {
			t.Errorf("fold %s of %d hits: %d records of evidence, reasons %q", f.ID, f.Hits, len(f.Evidence), f.Reasons)
		}
	}
	if m := strings.Count(each, "\n"); hits != m || n*10 > m {
		t.Fatalf("%d folds count %d hits; --each-hit reported %d", n, hits, m)
	}
}

// noisyRuleRun writes CloudTrail logs with a background of 300 calls,
// most of them by assumed roles, and a rule that matches every
// assumed-role call; it returns the two directories.
func noisyRuleRun(t *testing.T) (logs, rules string) {
	t.Helper()
	c, err := emulate.Generate(emulate.Options{Seed: 4, Noise: 300, Shapes: []emulate.Shape{event.FormatCloudTrailRecords}})
	if err != nil {
		t.Fatal(err)
	}
	logs = t.TempDir()
	if err := c.Write(logs); err != nil {
		t.Fatal(err)
	}
	rules = t.TempDir()
	noisy := `title: Any assumed role call
id: 9d1e2c3b-0000-4000-8000-00000000000a
logsource: {product: aws, service: cloudtrail}
detection:
    selection:
        userIdentity.type: AssumedRole
    condition: selection
level: low
`
	if err := os.WriteFile(filepath.Join(rules, "noisy.yml"), []byte(noisy), 0o644); err != nil {
		t.Fatal(err)
	}
	return logs, rules
}
