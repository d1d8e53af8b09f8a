package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// One vocabulary (issue 18): in every command -o is --output, where the
// output goes, and -f is --format, what it is written as.
func TestFlagVocabulary(t *testing.T) {
	var walk func(c *cobra.Command)
	checked := 0
	walk = func(c *cobra.Command) {
		c.Flags().VisitAll(func(f *pflag.Flag) {
			switch f.Shorthand {
			case "o":
				checked++
				if f.Name != "output" {
					t.Errorf("%s: -o is --%s, want --output", c.CommandPath(), f.Name)
				}
			case "f":
				checked++
				if f.Name != "format" {
					t.Errorf("%s: -f is --%s, want --format", c.CommandPath(), f.Name)
				}
			}
			if f.Name == "out" && f.Deprecated == "" {
				t.Errorf("%s: --out is not marked deprecated", c.CommandPath())
			}
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRootCmd())
	if checked < 15 {
		t.Fatalf("only %d -o/-f flags seen", checked)
	}
}

func TestHuntOutputFile(t *testing.T) {
	dir := t.TempDir()
	sarif := filepath.Join(dir, "findings.sarif")
	out, _, code := runStderr(t, "hunt", "--quiet", "-o", sarif, "../../testdata/formats")
	if code != 0 || out != "" {
		t.Fatalf("exit %d, stdout %q", code, out)
	}
	var doc struct {
		Version string `json:"version"`
		Runs    []struct {
			Results []any `json:"results"`
		} `json:"runs"`
	}
	b, err := os.ReadFile(sarif)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &doc); err != nil || doc.Version != "2.1.0" || len(doc.Runs) != 1 || len(doc.Runs[0].Results) == 0 {
		t.Fatalf("-o findings.sarif did not write SARIF with results: %v %.200s", err, b)
	}

	// --explain html, the space form, to a file and to stdout.
	html := filepath.Join(dir, "bundles.html")
	if _, stderr, code := runStderr(t, "hunt", "--quiet", "--explain", "html", "-o", html, "../../testdata/formats"); code != 0 {
		t.Fatalf("hunt --explain html -o: exit %d\n%s", code, stderr)
	}
	if b, _ := os.ReadFile(html); !strings.HasPrefix(string(b), "<!doctype html>") {
		t.Errorf("--explain html -o wrote %.80q", b)
	}
	for _, args := range [][]string{{"--explain", "html"}, {"--explain=html"}} {
		out, stderr, code := runStderr(t, append(append([]string{"hunt", "--quiet"}, args...), "../../testdata/formats")...)
		if code != 0 || !strings.HasPrefix(out, "<!doctype html>") {
			t.Errorf("%v: exit %d, output %.80q\n%s", args, code, out, stderr)
		}
	}
	out, _, code = runStderr(t, "hunt", "--quiet", "--explain", "../../testdata/formats")
	if code != 0 || !strings.HasPrefix(out, "# ") {
		t.Errorf("--explain alone: exit %d, output %.80q, want Markdown", code, out)
	}
}

func TestCatOutputAndDeprecatedFormat(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "events.ndjson")
	out, _, code := runStderr(t, "cat", "--quiet", "-o", file, "../../testdata/formats/azure")
	if code != 0 || out != "" {
		t.Fatalf("exit %d, stdout %q", code, out)
	}
	b, _ := os.ReadFile(file)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) < 5 || !json.Valid([]byte(lines[0])) {
		t.Fatalf("-o wrote %d lines: %.100q", len(lines), b)
	}
	out, stderr, code := runStderr(t, "cat", "--quiet", "-o", "ndjson", "../../testdata/formats/azure")
	if code != 0 || strings.TrimSpace(out) != strings.TrimSpace(string(b)) {
		t.Errorf("-o ndjson: exit %d, %d bytes out, want what -o FILE wrote", code, len(out))
	}
	if !strings.Contains(stderr, "deprecated") || !strings.Contains(stderr, "-f/--format ndjson") {
		t.Errorf("-o ndjson does not warn: %q", stderr)
	}
	if _, err := os.Stat("ndjson"); err == nil {
		t.Error("-o ndjson wrote a file named ndjson")
	}
}

func TestQueryFormatFileOutput(t *testing.T) {
	dir := t.TempDir()
	qf := filepath.Join(dir, "q.sumo")
	if err := os.WriteFile(qf, []byte("| count by operationName"), 0o644); err != nil {
		t.Fatal(err)
	}
	rows := filepath.Join(dir, "rows.ndjson")
	out, _, code := runStderr(t, "query", "--quiet", "--file", qf, "-f", "json", "-o", rows, "../../testdata/formats")
	if code != 0 || out != "" {
		t.Fatalf("exit %d, stdout %q", code, out)
	}
	want, _ := os.ReadFile(rows)
	if !strings.Contains(string(want), `"operationName"`) {
		t.Fatalf("rows %q", want)
	}
	// -f FILE, the old spelling of --file, still works and warns.
	out, stderr, code := runStderr(t, "query", "--quiet", "-f", qf, "../../testdata/formats")
	if code != 0 || !strings.Contains(stderr, "deprecated") || !strings.Contains(stderr, "--file "+qf) || !strings.Contains(out, "count") {
		t.Errorf("-f FILE: exit %d, stderr %q, out %.100q", code, stderr, out)
	}
	if _, err := run(t, "query", "--quiet", "-f", "yaml", "| count", "../../testdata/formats"); err == nil || !strings.Contains(err.Error(), `unknown --format "yaml"`) {
		t.Errorf("-f yaml: %v", err)
	}
}

func TestRulesExportIntoDirectory(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"rules", "export", "--format", "kql", "-o", filepath.Join(dir, "a") + "/"},
		{"rules", "export", "--format", "kql", "--out", filepath.Join(dir, "b") + "/"},
	} {
		_, stderr, code := runStderr(t, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s", args, code, stderr)
		}
		p := filepath.Join(strings.TrimSuffix(args[len(args)-1], "/"), "revertwatch.kql")
		b, err := os.ReadFile(p)
		if err != nil || !strings.Contains(string(b), "AWSCloudTrail") {
			t.Errorf("%v: %s: %v %.80q", args, p, err, b)
		}
		if args[3] == "--out" && !strings.Contains(stderr, "deprecated") {
			t.Errorf("--out does not warn: %q", stderr)
		}
	}
	// An existing directory without the slash is a directory too.
	if _, _, code := runStderr(t, "rules", "export", "--format", "spl", "-o", filepath.Join(dir, "a")); code != 0 {
		t.Fatal(code)
	}
	if _, err := os.Stat(filepath.Join(dir, "a", "revertwatch.spl")); err != nil {
		t.Error(err)
	}
}

// The table a person reads: short ids explain takes, colour only when
// asked (or on a terminal without NO_COLOR), and the summary at the end.
func TestHuntTableColorSummary(t *testing.T) {
	out, _, code := runStderr(t, "hunt", "--quiet", "-f", "table", "--color", "always", "--summary", "../../testdata/formats")
	if code != 0 || !strings.Contains(out, "\x1b[1;31mcritical\x1b[0m") || !strings.Contains(out, "rw-22e5ec4ba387  ") ||
		!strings.Contains(out, "Summary: 18 findings in 6 account(s) by 7 actor(s)") {
		t.Errorf("exit %d:\n%s", code, out)
	}
	out, _, _ = runStderr(t, "hunt", "--quiet", "-f", "table", "../../testdata/formats")
	if strings.Contains(out, "\x1b[") || strings.Contains(out, "Summary:") {
		t.Errorf("colour or summary off a terminal without being asked:\n%s", out)
	}
	out, stderr, _ := runStderr(t, "hunt", "--quiet", "-f", "ndjson", "--summary", "../../testdata/formats")
	if strings.Contains(out, "Summary:") || !strings.Contains(stderr, "Summary: 18 findings") {
		t.Errorf("--summary with ndjson belongs on stderr:\nstdout %.200q\nstderr %q", out, stderr)
	}
	if _, err := run(t, "hunt", "--quiet", "-f", "table", "--color", "sometimes", "../../testdata/formats"); err == nil || !strings.Contains(err.Error(), "--color") {
		t.Errorf("--color sometimes: %v", err)
	}
	// The id in the table is what explain takes.
	out, _, code = runStderr(t, "explain", "--quiet", "-f", "json", "-i", "../../testdata/formats", "rw-22e5ec4ba387")
	if code != 0 || !strings.Contains(out, "aws-replace-root-volume") {
		t.Errorf("explain of the table's id: exit %d %.200q", code, out)
	}
}
