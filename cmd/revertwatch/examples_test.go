package main

// Help that runs (issue 18): every Example of every command's --help and
// every command block of README.md is run, as a shell runs it, against the
// committed sample data. `logs/` and `exports/` in the examples are
// testdata/formats; the files they name (a tuning file, a query file,
// Sigma rules) are put beside them. The few lines that need the network
// or a daemon are skipped, for the reason skipReasons gives.

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

// runAsMain makes the test binary act as revertwatch when the examples
// run it (through the revertwatch script put on their PATH): the examples
// run the code under test without building it again.
const runAsMain = "REVERTWATCH_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runAsMain) == "1" {
		os.Args = append([]string{"revertwatch"}, os.Args[1:]...)
		main()
		os.Exit(0)
	}
	// The playbooks' "revoke sessions issued before now" is the time of
	// the response: fixed, so that two runs compare equal.
	os.Setenv("REVERTWATCH_NOW", "2030-01-01T00:00:00Z")
	os.Exit(m.Run())
}

// skipReasons are the lines not run, by a pattern of their text, and why.
// Keep it short: a new example should run.
var skipReasons = []struct {
	pattern *regexp.Regexp
	why     string
}{
	{regexp.MustCompile(`revertwatch serve|^curl |nats-server|/etc/revertwatch`), "a daemon and its HTTP or NATS clients (serve's and live/cluster's tests start them)"},
	{regexp.MustCompile(`revertwatch watch `), "watch follows files until it is stopped (the watch --once examples run)"},
	{regexp.MustCompile(`^aws |^az |^gcloud `), "needs cloud credentials and the network"},
	{regexp.MustCompile(`s3://|azblob://|gs://|blob\.core\.windows\.net`), "reads a bucket or a storage account (TestHuntS3EqualsLocal, TestHuntBlobEqualsLocal and TestHuntGCSEqualsLocal run hunt over them against S3, Azurite and fake-gcs-server servers they start)"},
	{regexp.MustCompile(`^\./scripts/test\.sh|bench/(run\.sh|soak)|^go (test|install|build) |release-check\.sh`), "the test suite, the benchmarks, the release build or an install: not revertwatch's own output (CI runs the test suite)"},
	{regexp.MustCompile(`^docker `), "needs a container builder and its registry"},
	{regexp.MustCompile(`revertwatch pull |pulled/`), "asks a provider's list API, or reads what it pulled (TestPullAWSThenHunt and TestPullAzureThenHunt run pull and hunt against servers they start)"},
}

// exampleBlock is a run of command lines that go together: one command's
// Example, or one README code block. Lines run in order, in one directory.
type exampleBlock struct {
	name  string
	lines []string
}

// commandLines turns example text into command lines: continuation lines
// joined, comments and blank lines dropped.
func commandLines(text string) []string {
	var out []string
	cur := ""
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(l)
		if cur == "" && (l == "" || strings.HasPrefix(l, "#")) {
			continue
		}
		if strings.HasSuffix(l, `\`) {
			cur += strings.TrimSuffix(l, `\`) + " "
			continue
		}
		out = append(out, cur+l)
		cur = ""
	}
	return out
}

func helpExamples() []exampleBlock {
	var out []exampleBlock
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Example != "" {
			out = append(out, exampleBlock{"help/" + strings.ReplaceAll(c.CommandPath(), " ", "_"), commandLines(c.Example)})
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRootCmd())
	return out
}

func readmeBlocks(t *testing.T) []exampleBlock {
	f, err := os.Open("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []exampleBlock
	var text strings.Builder
	in, start, n := false, 0, 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		n++
		l := sc.Text()
		switch {
		case !in && strings.HasPrefix(l, "```sh"):
			in, start = true, n
			text.Reset()
		case in && strings.HasPrefix(l, "```"):
			in = false
			out = append(out, exampleBlock{fmt.Sprintf("README.md:%d", start), commandLines(text.String())})
		case in:
			text.WriteString(l + "\n")
		}
	}
	return out
}

// exampleDir makes the directory examples run in: the sample data as
// logs/ and exports/, the repository's testdata/ and examples/, a tuning
// file, the seed's query as detect.sumo, our Sigma rules as my-rules/,
// and, when the shared corpus is beside the repository, ../shared.
func exampleDir(t *testing.T, bin string) string {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "work", "revertwatch")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{
		"logs": "testdata/formats", "exports": "testdata/formats", "testdata": "testdata", "examples": "examples",
	} {
		if err := os.Symlink(filepath.Join(root, target), filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	if shared := filepath.Join(root, "..", "shared"); isDir(shared) {
		if err := os.Symlink(shared, filepath.Join(dir, "..", "shared")); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := os.ReadFile(filepath.Join(root, "examples", "revertwatch.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"revertwatch.yaml": cfg} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, setup := range []string{
		"revertwatch rules show t1578.004-sumo > detect.sumo",
		"revertwatch rules export --format sigma -o my-rules/ 2>/dev/null",
	} {
		if out, err := shell(dir, bin, setup); err != nil {
			t.Fatalf("%s: %v\n%s", setup, err, out)
		}
	}
	return dir
}

func isDir(p string) bool {
	info, err := os.Stat(p)
	return err == nil && info.IsDir()
}

// shell runs line with sh in dir, revertwatch being the test binary.
func shell(dir, bin, line string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", line)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"), "HOME="+dir, "NO_COLOR=1")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestExamplesRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every example: not in -short")
	}
	if raceEnabled {
		// Each example runs the test binary; race-instrumented, emulate
		// and validate take minutes. scripts/test.sh runs this test
		// again without -race.
		t.Skip("the examples run without -race (scripts/test.sh runs them so)")
	}
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh to run the examples with")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	script := fmt.Sprintf("#!/bin/sh\n%s=1 exec %q \"$@\"\n", runAsMain, self)
	if err := os.WriteFile(filepath.Join(bin, "revertwatch"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	blocks := append(helpExamples(), readmeBlocks(t)...)
	ran, blocksRun, skipped := 0, 0, map[string][]string{}
	for _, b := range blocks {
		t.Run(b.name, func(t *testing.T) {
			blocksRun++
			dir := exampleDir(t, bin)
			for _, line := range b.lines {
				// The quick start's go run is the same program.
				line = strings.ReplaceAll(line, "go run ./cmd/revertwatch", "revertwatch")
				if why := skipReason(line); why != "" {
					skipped[why] = append(skipped[why], b.name+": "+line)
					continue
				}
				if strings.Contains(line, "../shared/") && !isDir(filepath.Join(dir, "..", "shared")) {
					skipped["the shared corpus is not beside the repository"] = append(skipped["the shared corpus is not beside the repository"], line)
					continue
				}
				ran++
				out, err := shell(dir, bin, line)
				if err != nil {
					t.Errorf("%s\n  %s\n  failed: %v\n%s", b.name, line, err, tail(out, 1500))
					continue
				}
				if strings.Contains(out, "deprecated") {
					t.Errorf("%s\n  %s\n  uses a deprecated spelling:\n%s", b.name, line, tail(out, 500))
				}
			}
		})
	}
	for why, lines := range skipped {
		t.Logf("skipped %d line(s): %s", len(lines), why)
	}
	if blocksRun == len(blocks) && ran < 60 {
		t.Errorf("only %d example lines ran", ran)
	}
	t.Logf("%d example lines ran", ran)
}

func skipReason(line string) string {
	for _, s := range skipReasons {
		if s.pattern.MatchString(line) && !strings.Contains(line, "watch --once") {
			return s.why
		}
	}
	return ""
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// The extraction itself: a continued line is one command, comments go.
func TestExampleCommandLines(t *testing.T) {
	got := commandLines("  # a comment\n  revertwatch serve --a \\\n      --b c\n\n  revertwatch hunt x   # trailing\n")
	want := []string{"revertwatch serve --a  --b c", "revertwatch hunt x   # trailing"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%q, want %q", got, want)
	}
}

// README's quick start says how many reverts the sample logs hold; hunt
// must agree.
func TestReadmeSampleCount(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`with (\w+) reverts in them: (\w+) findings`).FindSubmatch(b)
	if m == nil {
		t.Fatal("README no longer says how many reverts the sample logs hold")
	}
	words := map[string]int{"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
		"nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20}
	out, _, code := runStderr(t, "hunt", "--quiet", "-f", "ndjson", "../../testdata/formats")
	n := strings.Count(out, `"rule_id":`)
	if code != 0 || words[string(m[2])] != n {
		t.Errorf("README says %s findings, hunt gives %d (exit %d)", m[2], n, code)
	}
}
