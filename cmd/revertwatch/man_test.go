package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The manual pages come from the command tree: one per command, each with
// its flags and examples, and valid roff (groff reads them without a
// warning, where groff is installed).
func TestManPages(t *testing.T) {
	dir := t.TempDir()
	if _, stderr, code := runStderr(t, "man", "-o", dir); code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	for _, page := range []string{"revertwatch.1", "revertwatch-hunt.1", "revertwatch-rules-export.1", "revertwatch-completion-bash.1"} {
		b, err := os.ReadFile(filepath.Join(dir, page))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(b), ".TH ") || !strings.Contains(string(b), ".SH SYNOPSIS") {
			t.Errorf("%s is not a manual page:\n%.300s", page, b)
		}
	}
	hunt, _ := os.ReadFile(filepath.Join(dir, "revertwatch-hunt.1"))
	for _, want := range []string{`\-o, \-\-output string`, `\-\-explain string`, ".SH EXAMPLES", `revertwatch hunt \-o findings.sarif testdata/formats`} {
		if !strings.Contains(string(hunt), want) {
			t.Errorf("hunt's page lacks %q", want)
		}
	}
	groff, err := exec.LookPath("groff")
	if err != nil {
		t.Skip("no groff to check the roff with")
	}
	pages, _ := filepath.Glob(filepath.Join(dir, "*.1"))
	for _, p := range pages {
		out, err := exec.Command(groff, "-man", "-ww", "-z", p).CombinedOutput()
		if err != nil || len(out) > 0 {
			t.Errorf("%s: %v\n%s", filepath.Base(p), err, out)
		}
	}
}
