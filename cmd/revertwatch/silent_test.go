package main

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runStderr executes the CLI with args and returns stdout, stderr and the
// exit code.
func runStderr(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	saved := os.Stderr
	os.Stderr = f
	out, err := run(t, args...)
	os.Stderr = saved
	b, rerr := os.ReadFile(f.Name())
	if rerr != nil {
		t.Fatal(rerr)
	}
	var ee *exitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.code
	default:
		t.Fatalf("%v: %v", args, err)
	}
	return out, string(b), code
}

// summaryLine returns the "hunt: ..." line of stderr.
func summaryLine(t *testing.T, stderr string) string {
	t.Helper()
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(l, "hunt: ") {
			return l
		}
	}
	t.Fatalf("no summary in\n%s", stderr)
	return ""
}

// CloudTrail read as Azure used to give 26 events at 0001-01-01 with no
// operation, 0 rejected, exit 0 (issue 18): every record is rejected,
// naming the file, the line and the forced format, and the exit code says
// so.
func TestHuntForcedFormatMismatch(t *testing.T) {
	_, stderr, code := runStderr(t, "hunt", "--quiet", "--format", "ndjson", "--input-format", "azure", "../../testdata/formats/cloudtrail")
	if code != exitRejected {
		t.Errorf("exit code %d, want %d\n%s", code, exitRejected, stderr)
	}
	sum := summaryLine(t, stderr)
	if !strings.Contains(sum, " 0 events") || !strings.Contains(sum, "26 rejected records") {
		t.Errorf("summary %q, want 0 events and 26 rejected records", sum)
	}
	want := "testdata/formats/cloudtrail/volume-and-image.jsonl:2: rejected: record 1 has no event time and no operation: it may not be of the forced format azure (--input-format); rejected"
	if !strings.Contains(stderr, want) {
		t.Errorf("no line %q in\n%s", want, stderr)
	}

	// A record whose time cannot be read is rejected, not hunted at time zero.
	dir := t.TempDir()
	b, err := os.ReadFile("../../testdata/formats/cloudtrail/single-record.json")
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(b), `"eventTime": "2026-11-02T14:20:05Z"`, `"eventTime": "yesterday"`, 1)
	if bad == string(b) {
		t.Fatal("fixture has no eventTime to break")
	}
	p := filepath.Join(dir, "yesterday.json")
	if err := os.WriteFile(p, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := runStderr(t, "hunt", "--quiet", "--format", "ndjson", p)
	if code != exitRejected || out != "" || !strings.Contains(stderr, p+":1: rejected: record 0 has no readable event time") {
		t.Errorf("exit %d, findings %q, stderr\n%s", code, out, stderr)
	}
}

// The summary says how many files could not be read and why, one line
// each, with a hint for a zip, a PNG or a CSV recognised by their first
// bytes whatever their names (issue 18).
func TestHuntSummaryNamesUnreadableFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good, err := os.ReadFile("../../testdata/formats/cloudtrail/single-record.json")
	if err != nil {
		t.Fatal(err)
	}
	write("a-good.json", good)
	files := map[string]string{
		write("b-logs.json", []byte("PK\x03\x04\x14\x00\x00\x00\x08\x00")):                           "a zip archive that cannot be read",
		write("c-shot.json", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")):                          "a PNG image, not a log",
		write("d-export.json", []byte("\xef\xbb\xbfEvent Type,Event Name\nAwsApiCall,HeadBucket\n")): "a CSV file whose header is not that of a console export",
		write("e-empty.json", nil):                   "empty file",
		write("f-cut.json", good[:len(good)/2]):      "truncated",
		write("g-text.log", []byte("hello world\n")): "not JSON (starts with 'h')",
	}
	_, stderr, code := runStderr(t, "hunt", "--quiet", "--format", "ndjson", dir)
	if code != exitRejected {
		t.Errorf("exit code %d, want %d", code, exitRejected)
	}
	sum := summaryLine(t, stderr)
	if !strings.HasSuffix(sum, "; 6 of 7 files unreadable or damaged:") {
		t.Errorf("summary %q does not count the unreadable files", sum)
	}
	lines := strings.Split(stderr[strings.Index(stderr, sum)+len(sum)+1:], "\n")
	for p, hint := range files {
		found := false
		for _, l := range lines[:6] {
			if strings.HasPrefix(l, "  "+p+": ") && strings.Contains(l, hint) {
				found = true
			}
		}
		if !found {
			t.Errorf("no summary line for %s with %q in\n%s", p, hint, stderr)
		}
	}

	// Past 20 files the list stops with a count of the rest.
	many := t.TempDir()
	for i := range 25 {
		if err := os.WriteFile(filepath.Join(many, fmt.Sprintf("%02d.png", i)), []byte("\x89PNG\r\n\x1a\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, stderr, code = runStderr(t, "hunt", "--quiet", "--format", "ndjson", many)
	if code != exitUsage {
		t.Errorf("exit code %d, want %d: nothing readable", code, exitUsage)
	}
	if n := strings.Count(stderr, ": unknown format: a PNG image, not a log\n  "); n != 20 {
		t.Errorf("%d listed, want 20\n%s", n, stderr)
	}
	if !strings.Contains(stderr, "; 25 of 25 files unreadable or damaged:\n") || !strings.Contains(stderr, "\n  ... and 5 more (each reported above)\n") {
		t.Errorf("want 25 counted and 5 more\n%s", stderr)
	}
}

// TestUnknownSubcommandAndBadJobs: a mistyped subcommand of a command
// group is a usage error with a suggestion, not help and exit 0; a
// negative --jobs is refused.
func TestUnknownSubcommandAndBadJobs(t *testing.T) {
	_, err := run(t, "rules", "exprot")
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != exitUsage || !strings.Contains(err.Error(), `did you mean "export"`) {
		t.Errorf("rules exprot: %v", err)
	}
	if _, err := run(t, "rules"); err != nil {
		t.Errorf("rules alone (help): %v", err)
	}
	_, err = run(t, "hunt", "--quiet", "--jobs", "-1", "../../testdata/formats")
	if !errors.As(err, &ee) || ee.code != exitUsage {
		t.Errorf("--jobs -1: %v", err)
	}
}

// One unbalanced quote in the sample S3 delivery file used to lose every
// record after it: 2 of 9 decoded, the revert missed, "0 rejected
// records" (issue 18). Now the damaged record alone is rejected, at its
// own byte, and hunt finds what it finds in the intact file.
func TestHuntUnbalancedQuote(t *testing.T) {
	matches, _ := filepath.Glob("../../testdata/formats/cloudtrail/AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/02/*.json.gz")
	if len(matches) != 1 {
		t.Fatalf("sample file: %v", matches)
	}
	dir := t.TempDir()
	raw := gunzipFile(t, matches[0])
	at := strings.Index(raw, `"eventName":"AttachVolume"`) + len(`"eventName":"AttachVolume`)
	broken := filepath.Join(dir, "broken.json")
	if err := os.WriteFile(broken, []byte(raw[:at]+raw[at+1:]), 0o644); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "good.json")
	if err := os.WriteFile(good, []byte(raw), 0o644); err != nil {
		t.Fatal(err)
	}
	wantOut, _, _ := runStderr(t, "hunt", "--quiet", "--format", "ndjson", good)
	gotOut, stderr, code := runStderr(t, "hunt", "--quiet", "--format", "ndjson", broken)
	if code != exitRejected {
		t.Errorf("exit %d, want %d", code, exitRejected)
	}
	ids := func(s string) []string {
		var out []string
		for _, l := range strings.Split(s, "\n") {
			if i := strings.Index(l, `"id":"`); i >= 0 {
				out = append(out, l[i:i+30])
			}
		}
		return out
	}
	if fmt.Sprint(ids(gotOut)) != fmt.Sprint(ids(wantOut)) || !strings.Contains(gotOut, "aws-replace-root-volume") {
		t.Errorf("findings %v, want those of the intact file %v", ids(gotOut), ids(wantOut))
	}
	sum := summaryLine(t, stderr)
	if !strings.Contains(sum, " 8 events") || !strings.Contains(sum, "1 rejected records") || strings.Contains(sum, "unreadable") {
		t.Errorf("summary %q, want 8 events and 1 rejected record", sum)
	}
	if !strings.Contains(stderr, "broken.json:1: rejected: record 3 is damaged: an unbalanced quote") || !strings.Contains(stderr, "(byte 4592)") {
		t.Errorf("the damaged record is not named at its line and byte:\n%s", stderr)
	}
}

func gunzipFile(t *testing.T, name string) string {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A zip of the sample logs, as a console or a colleague hands it over, is
// hunted directly and gives the findings the directory gives (issue 18).
func TestHuntZipArchive(t *testing.T) {
	root := "../../testdata/formats"
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		w, err := zw.Create(filepath.ToSlash(rel))
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	})
	if err != nil || zw.Close() != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(t.TempDir(), "logs.zip")
	if err := os.WriteFile(archive, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	want, _, _ := runStderr(t, "hunt", "--quiet", "-f", "ndjson", root)
	got, stderr, code := runStderr(t, "hunt", "--quiet", "-f", "ndjson", archive)
	ids := func(s string) []string {
		var out []string
		for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
			var f struct{ ID string }
			json.Unmarshal([]byte(l), &f)
			out = append(out, f.ID)
		}
		return out
	}
	if code != 0 || fmt.Sprint(ids(got)) != fmt.Sprint(ids(want)) || len(ids(want)) < 5 {
		t.Fatalf("exit %d, findings %v, want %v\n%s", code, ids(got), ids(want), stderr)
	}
	if !strings.Contains(got, archive+"!cloudtrail/AWSLogs/") {
		t.Errorf("evidence does not name the member")
	}
}
