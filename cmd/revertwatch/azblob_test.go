package main

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/revertwatch/revertwatch/internal/livetest"
	"github.com/revertwatch/revertwatch/source"
)

// TestHuntBlobEqualsLocal: hunt over azblob:// (Azurite, with a connection
// string) gives the findings hunt over the same files on disk gives, with
// and without the filters, and the filters read fewer blobs.
func TestHuntBlobEqualsLocal(t *testing.T) {
	az := livetest.NewAzurite(t)
	t.Setenv(source.ConnectionStringEnv, az.ConnectionString)
	dir := t.TempDir()
	if _, err := run(t, "emulate", "--out", dir, "--shapes", "azure-storage", "--span", "10d", "--noise", "200"); err != nil {
		t.Fatal(err)
	}
	local := filepath.Join(dir, "azure-storage")
	az.Container(t, "exports")
	if n := az.Upload(t, "exports", "", local); n < 50 {
		t.Fatalf("only %d blobs", n)
	}
	url := "azblob://" + livetest.AzuriteAccount + "/exports/"
	rename := func(s string) string { return strings.ReplaceAll(s, local+"/", url) }

	want, err := run(t, "hunt", "--quiet", "--format", "ndjson", local)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(want, "\n") < 3 {
		t.Fatalf("the emulated Azure corpus gives %d findings", strings.Count(want, "\n"))
	}
	got, err := run(t, "hunt", "--quiet", "--format", "ndjson", url)
	if err != nil {
		t.Fatal(err)
	}
	if got != rename(want) {
		t.Fatalf("hunt over azblob:// differs from hunt over the files:\nblob: %.500s\nlocal: %.500s", got, rename(want))
	}

	filters := []string{"--since", "2026-11-04", "--until", "2026-11-08"}
	wantF, err := run(t, append([]string{"hunt", "--quiet", "--format", "ndjson", local}, filters...)...)
	if err != nil {
		t.Fatal(err)
	}
	_, stderr, code := runStderr(t, append([]string{"hunt", "--quiet", "--format", "ndjson", url}, filters...)...)
	gotF, _ := run(t, append([]string{"hunt", "--quiet", "--format", "ndjson", url}, filters...)...)
	if code != 0 || gotF != rename(wantF) {
		t.Errorf("filtered hunt over azblob:// (exit %d) differs from the same over the files:\nblob: %.500s\nlocal: %.500s", code, gotF, rename(wantF))
	}
	if !strings.Contains(stderr, "blob:") || !strings.Contains(stderr, "time=") {
		t.Errorf("the filter line says nothing of the blobs pruned:\n%s", stderr)
	}
	t.Log(summaryOf(stderr))

	// A missing container and a URL of another account are clear errors.
	var ee *exitError
	_, err = run(t, "cat", "--quiet", "azblob://"+livetest.AzuriteAccount+"/nope/")
	if !errors.As(err, &ee) || ee.code != exitUsage || !strings.Contains(err.Error(), "ContainerNotFound") || !strings.Contains(err.Error(), "azblob://devstoreaccount1/nope/") {
		t.Errorf("missing container: %v", err)
	}
	_, err = run(t, "cat", "--quiet", "azblob://otheraccount/exports/")
	if !errors.As(err, &ee) || !strings.Contains(err.Error(), "otheraccount") {
		t.Errorf("another account: %v", err)
	}
}

func summaryOf(stderr string) string {
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(l, "filters:") {
			return l
		}
	}
	return ""
}
