package main

import (
	"errors"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/revertwatch/revertwatch/internal/livetest"
)

// TestHuntGCSEqualsLocal: hunt over gs:// (fake-gcs-server, in process)
// gives the findings hunt over the same files on disk gives, with and
// without the time filters, and the filters read fewer objects; query
// and cat read gs:// too.
func TestHuntGCSEqualsLocal(t *testing.T) {
	gcs := livetest.NewGCS(t)
	dir := t.TempDir()
	if _, err := run(t, "emulate", "--out", dir, "--shapes", "gcp-logentry", "--span", "10d", "--noise", "300"); err != nil {
		t.Fatal(err)
	}
	local := filepath.Join(dir, "gcp-logentry")
	if n := gcs.Upload(t, "audit-sink", "", local); n < 50 {
		t.Fatalf("only %d objects", n)
	}
	url := "gs://audit-sink/"
	rename := func(s string) string { return strings.ReplaceAll(s, local+"/", url) }

	want, err := run(t, "hunt", "--quiet", "--format", "ndjson", local)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(want, "\n") < 10 {
		t.Fatalf("the emulated Google Cloud corpus gives %d findings", strings.Count(want, "\n"))
	}
	got, err := run(t, "hunt", "--quiet", "--format", "ndjson", url)
	if err != nil {
		t.Fatal(err)
	}
	if got != rename(want) {
		t.Fatalf("hunt over gs:// differs from hunt over the files:\ngs: %.500s\nlocal: %.500s", got, rename(want))
	}

	filters := []string{"--since", "2026-11-04", "--until", "2026-11-08T12:00:00Z"}
	wantF, err := run(t, append([]string{"hunt", "--quiet", "--format", "ndjson", local}, filters...)...)
	if err != nil {
		t.Fatal(err)
	}
	gotF, stderr, code := runStderr(t, append([]string{"hunt", "--quiet", "--format", "ndjson", url}, filters...)...)
	if code != 0 || gotF != rename(wantF) {
		t.Errorf("filtered hunt over gs:// (exit %d) differs from the same over the files:\ngs: %.500s\nlocal: %.500s", code, gotF, rename(wantF))
	}
	if wantF == want {
		t.Errorf("the time filter changed nothing: the test proves no pruning")
	}
	if !strings.Contains(stderr, "gs:") || !strings.Contains(stderr, "time=") {
		t.Errorf("the filter line says nothing of the objects pruned:\n%s", stderr)
	}
	t.Log(summaryOf(stderr))

	// query and cat read the same objects.
	q := `_sourceCategory=gcp/cloudaudit | count by _sourceHost`
	wantQ, err := run(t, "query", "--quiet", "--format", "csv", q, local)
	if err != nil {
		t.Fatal(err)
	}
	gotQ, err := run(t, "query", "--quiet", "--format", "csv", q, url)
	if err != nil || gotQ != wantQ {
		t.Errorf("query over gs:// (%v):\n%s\nwant:\n%s", err, gotQ, wantQ)
	}
	wantC, err := run(t, "cat", "--quiet", local)
	if err != nil {
		t.Fatal(err)
	}
	// The same records; in key order, where a walk of the directories
	// reads a/ before a-b/.
	gotC, err := run(t, "cat", "--quiet", url)
	g, w := strings.Split(gotC, "\n"), strings.Split(rename(wantC), "\n")
	sort.Strings(g)
	sort.Strings(w)
	if err != nil || strings.Join(g, "\n") != strings.Join(w, "\n") {
		t.Errorf("cat over gs:// gives other records (%v): %d lines, want %d", err, len(g), len(w))
	}

	// A missing bucket is a clear error naming it.
	var ee *exitError
	_, err = run(t, "cat", "--quiet", "gs://no-such-bucket/logs/")
	if !errors.As(err, &ee) || ee.code != exitUsage || !strings.Contains(err.Error(), "gs://no-such-bucket/logs/") {
		t.Errorf("missing bucket: %v", err)
	}
}
