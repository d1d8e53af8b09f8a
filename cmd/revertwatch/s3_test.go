package main

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/revertwatch/revertwatch/internal/livetest"
)

// emulatedTrail writes the emulated CloudTrail corpus (S3 delivery files
// in the AWSLogs layout) and uploads it to the fake S3 under ct/.
func emulatedTrail(t *testing.T) (dir string, srv *livetest.S3Server) {
	t.Helper()
	dir = t.TempDir()
	if _, err := run(t, "emulate", "--out", dir, "--shapes", "cloudtrail-records", "--span", "10d", "--noise", "300"); err != nil {
		t.Fatal(err)
	}
	srv = livetest.NewS3Server(t)
	srv.Bucket(t, "logs")
	if n := srv.Upload(t, "logs", "ct/", filepath.Join(dir, "cloudtrail-records")); n < 100 {
		t.Fatalf("only %d files in the emulated corpus", n)
	}
	return dir, srv
}

// sameAsLocal rewrites the local file names in hunt's output to their
// S3 names, so that the two outputs compare byte for byte.
func sameAsLocal(local, dir string) string {
	return strings.ReplaceAll(local, filepath.Join(dir, "cloudtrail-records")+"/", "s3://logs/ct/")
}

// TestHuntS3EqualsLocal: hunt over s3:// gives the findings hunt over the
// same files on disk gives, with and without the filters, and the filters
// give the findings that filtering the records after reading gives; the
// pruned run reads fewer objects.
func TestHuntS3EqualsLocal(t *testing.T) {
	dir, srv := emulatedTrail(t)
	local := filepath.Join(dir, "cloudtrail-records")

	want, err := run(t, "hunt", "--quiet", "--format", "ndjson", local)
	if err != nil {
		t.Fatalf("local hunt: %v", err)
	}
	if strings.Count(want, "\n") < 5 {
		t.Fatalf("the emulated corpus gives only %d findings", strings.Count(want, "\n"))
	}
	srv.ResetCounts()
	got, err := run(t, "hunt", "--quiet", "--format", "ndjson", "--s3-endpoint", srv.URL, "--jobs", "4", "s3://logs/ct/")
	if err != nil {
		t.Fatalf("s3 hunt: %v", err)
	}
	if got != sameAsLocal(want, dir) {
		t.Fatalf("hunt over s3:// differs from hunt over the same files:\n s3: %.600s\nlocal: %.600s", got, sameAsLocal(want, dir))
	}
	allGets := srv.Gets()

	// The same files without their layout: only the record filters act.
	flat := t.TempDir()
	i := 0
	filepath.WalkDir(local, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(p)
			i++
			os.WriteFile(filepath.Join(flat, strings.ReplaceAll(strings.TrimPrefix(p, local+"/"), "/", "_")), b, 0o644)
		}
		return nil
	})
	filters := []string{"--account", "111122223333", "--region", "us-east-1", "--since", "2026-11-05", "--until", "2026-11-09"}
	wantF, err := run(t, append([]string{"hunt", "--quiet", "--format", "ndjson", local}, filters...)...)
	if err != nil {
		t.Fatal(err)
	}
	afterReading, err := run(t, append([]string{"hunt", "--quiet", "--format", "ndjson", flat}, filters...)...)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(wantF, "\n"); n == 0 || n >= strings.Count(want, "\n") {
		t.Fatalf("the filters keep %d of %d findings: pick a window that splits the corpus", n, strings.Count(want, "\n"))
	}
	if findingIDs(wantF) != findingIDs(afterReading) {
		t.Errorf("pruning the local layout changes the findings:\npruned: %s\nfiltered after reading: %s", findingIDs(wantF), findingIDs(afterReading))
	}
	srv.ResetCounts()
	gotF, err := run(t, append([]string{"hunt", "--quiet", "--format", "ndjson", "--s3-endpoint", srv.URL, "s3://logs/ct/"}, filters...)...)
	if err != nil {
		t.Fatal(err)
	}
	if gotF != sameAsLocal(wantF, dir) {
		t.Errorf("filtered hunt over s3:// differs from the same over the files:\n s3: %.600s\nlocal: %.600s", gotF, sameAsLocal(wantF, dir))
	}
	if srv.Gets() >= allGets/2 {
		t.Errorf("the filtered hunt read %d objects, the unfiltered %d: the filters do not prune", srv.Gets(), allGets)
	}
	t.Logf("unfiltered: %d objects read; filtered: %d read with %d list calls", allGets, srv.Gets(), srv.Lists())

	// cat and query read s3:// too.
	catS3, err := run(t, "cat", "--quiet", "--s3-endpoint", srv.URL, "s3://logs/ct/")
	if err != nil {
		t.Fatal(err)
	}
	catLocal, err := run(t, "cat", "--quiet", local)
	if err != nil {
		t.Fatal(err)
	}
	if catS3 != sameAsLocal(catLocal, dir) {
		t.Errorf("cat over s3:// differs from cat over the files")
	}
	q := `_sourceCategory=* | count by eventName | sort by eventName`
	qS3, err := run(t, "query", "--quiet", "--format", "csv", "--s3-endpoint", srv.URL, q, "s3://logs/ct/")
	if err != nil {
		t.Fatal(err)
	}
	qLocal, err := run(t, "query", "--quiet", "--format", "csv", q, local)
	if err != nil || qS3 != qLocal || qS3 == "" {
		t.Errorf("query over s3:// differs from query over the files (%v):\n%s\n%s", err, qS3, qLocal)
	}
}

func findingIDs(ndjson string) string {
	var ids []string
	for _, line := range strings.Split(strings.TrimSpace(ndjson), "\n") {
		if i := strings.Index(line, `"id":"`); i >= 0 {
			ids = append(ids, line[i+6:i+6+strings.IndexByte(line[i+6:], '"')])
		}
	}
	return strings.Join(ids, ",")
}

// TestHuntS3BadObjects: a truncated object and an object that is no log
// are named, the rest is read, the exit code says input was rejected; a
// missing bucket and access denied are clear usage errors.
func TestHuntS3BadObjects(t *testing.T) {
	srv := livetest.NewS3Server(t)
	srv.Bucket(t, "logs")
	good := livetest.Lines(livetest.Record("123456789012", "us-east-1", "StopInstances", livetest.Instance("123456789012", "a"), mustTime(t, "2026-03-05T10:00:00Z")))
	srv.Put(t, "logs", "x/good.json", good)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(bytes.Repeat(good, 200))
	zw.Close()
	srv.Put(t, "logs", "x/truncated.json.gz", gz.Bytes()[:gz.Len()/2])
	srv.Put(t, "logs", "x/readme.txt", []byte("this bucket holds our trail\n"))

	_, stderr, code := runStderr(t, "hunt", "--quiet", "--format", "ndjson", "--s3-endpoint", srv.URL, "s3://logs/x/")
	if code != exitRejected {
		t.Errorf("exit %d, want %d; stderr:\n%s", code, exitRejected, stderr)
	}
	for _, want := range []string{"s3://logs/x/truncated.json.gz", "s3://logs/x/readme.txt", "hunt: 3 files"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}

	var ee *exitError
	_, err := run(t, "hunt", "--quiet", "--s3-endpoint", srv.URL, "s3://missing-bucket/AWSLogs/")
	if !errors.As(err, &ee) || ee.code != exitUsage || !strings.Contains(err.Error(), "s3://missing-bucket/AWSLogs/") || !strings.Contains(err.Error(), "NoSuchBucket") {
		t.Errorf("missing bucket: %v", err)
	}
	_, err = run(t, "cat", "--quiet", "--s3-endpoint", srv.URL, "s3://logs/nothing-here/")
	if !errors.As(err, &ee) || ee.code != exitUsage || !strings.Contains(err.Error(), "s3://logs/nothing-here/: no objects") {
		t.Errorf("empty prefix: %v", err)
	}
	srv.Fail(func(r *http.Request) (int, string) { return http.StatusForbidden, "AccessDenied" })
	_, err = run(t, "cat", "--quiet", "--s3-endpoint", srv.URL, "s3://logs/x/")
	if !errors.As(err, &ee) || ee.code != exitUsage || !strings.Contains(err.Error(), "AccessDenied") {
		t.Errorf("access denied: %v", err)
	}
	srv.Fail(nil)
}

// TestS3EndpointFromEnvironment: the SDK's AWS_ENDPOINT_URL_S3 reaches the
// store without --s3-endpoint, path-style.
func TestS3EndpointFromEnvironment(t *testing.T) {
	srv := livetest.NewS3Server(t)
	srv.Bucket(t, "logs")
	srv.Put(t, "logs", "a.json", livetest.Lines(livetest.Record("123456789012", "us-east-1", "StopInstances", livetest.Instance("123456789012", "a"), mustTime(t, "2026-03-05T10:00:00Z"))))
	t.Setenv("AWS_ENDPOINT_URL_S3", strings.Replace(srv.URL, "127.0.0.1", "localhost", 1))
	out, err := run(t, "cat", "--quiet", "s3://logs/")
	if err != nil || !strings.Contains(out, "StopInstances") {
		t.Errorf("cat with AWS_ENDPOINT_URL_S3: %v\n%s", err, out)
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return at
}

// TestHuntMinSeverity: --min-severity keeps the findings at that severity
// or higher, says how many it left out, and refuses an unknown level.
func TestHuntMinSeverity(t *testing.T) {
	all, err := run(t, "hunt", "--quiet", "--format", "ndjson", "../../testdata/formats")
	if err != nil {
		t.Fatal(err)
	}
	sev := func(out string) map[string]int {
		m := map[string]int{}
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			if i := strings.Index(l, `"severity":"`); i >= 0 {
				m[l[i+12:i+12+strings.IndexByte(l[i+12:], '"')]]++
			}
		}
		return m
	}
	whole := sev(all)
	if whole["critical"] == 0 || whole["high"] == 0 {
		t.Fatalf("severities %v: the fixtures no longer have both high and critical findings", whole)
	}
	out, stderr, code := runStderr(t, "hunt", "--quiet", "--format", "ndjson", "--min-severity", "CRITICAL", "../../testdata/formats")
	got := sev(out)
	if code != 0 || len(got) != 1 || got["critical"] != whole["critical"] {
		t.Errorf("--min-severity critical: %v of %v (exit %d)", got, whole, code)
	}
	below := whole["high"] + whole["medium"] + whole["low"] + whole["informational"]
	if !strings.Contains(stderr, fmt.Sprintf("%d finding(s) below --min-severity critical", below)) {
		t.Errorf("stderr does not count the %d left out:\n%s", below, stderr)
	}
	var ee *exitError
	if _, err := run(t, "hunt", "--min-severity", "urgent", "../../testdata/formats"); !errors.As(err, &ee) || ee.code != exitUsage {
		t.Errorf("unknown level: %v", err)
	}
}
