package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

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

// TestWatchBlobKill9: watch azblob:// reads the records appended to the
// Activity Log export's hourly blobs while it runs, in steps, one leaving
// half a record; killed with SIGKILL and restarted, it goes on from the
// offsets of its last checkpoint; a blob deleted and written anew is read
// again from the start; each finding is reported exactly once.
func TestWatchBlobKill9(t *testing.T) {
	url := "azblob://" + livetest.AzuriteAccount + "/insights-activity-logs/"
	// A short poll: the test waits for what it expects, never for a time.
	testBlobKill9(t, append(watchCLI().args, url, "--poll", "50ms"))
}

// TestServeBlobKill9: the same for serve --azblob, beside its HTTP intake.
func TestServeBlobKill9(t *testing.T) {
	url := "azblob://" + livetest.AzuriteAccount + "/insights-activity-logs/"
	testBlobKill9(t, append(serveCLI(t).args, "--azblob", url, "--azblob-poll", "50ms"))
}

func testBlobKill9(t *testing.T, cli []string) {
	az := livetest.NewAzurite(t)
	t.Setenv(source.ConnectionStringEnv, az.ConnectionString)
	const container = "insights-activity-logs"
	az.Container(t, container)
	sub := "0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d"
	hour := time.Date(2026, 11, 2, 14, 0, 0, 0, time.UTC)
	name := livetest.ExportBlob(sub, hour)
	next := livetest.ExportBlob(sub, hour.Add(time.Hour))
	rec := func(i int) []byte {
		return append(livetest.AzureReimage(sub, fmt.Sprint("vm-", i), hour.Add(time.Duration(i)*time.Minute)), '\n')
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "findings.ndjson")
	args := append(cli, "--state-dir", filepath.Join(dir, "state"), "-o", out, "--format", "ndjson", "--lateness", "1h", "--idle-flush", "200ms")
	var bodies [][]byte
	appendTo := func(blob string, b []byte) {
		az.Append(t, container, blob, b)
		bodies = append(bodies, b)
	}
	az.CreateAppend(t, container, name)
	child := startCLI(t, args...)
	appendTo(name, append(rec(1), rec(2)...))
	livetest.WaitFor(t, 30*time.Second, "two findings", func() bool { return len(ndjsonIDs(t, out)) == 2 })
	r4 := rec(4)
	az.Append(t, container, name, append(rec(3), r4[:len(r4)/2]...))
	bodies = append(bodies, rec(3))
	livetest.WaitFor(t, 30*time.Second, "three findings", func() bool { return len(ndjsonIDs(t, out)) == 3 })
	child.Process.Signal(syscall.SIGKILL)
	child.Wait()

	// While it is down: the half record completed, another appended, the
	// next hour begun.
	az.Append(t, container, name, append(r4[len(r4)/2:], rec(5)...))
	bodies = append(bodies, r4, rec(5))
	az.CreateAppend(t, container, next)
	appendTo(next, rec(61))
	child = startCLI(t, args...)
	livetest.WaitFor(t, 30*time.Second, "six findings", func() bool { return len(ndjsonIDs(t, out)) == 6 })

	// The next hour's blob deleted and written anew, longer than before:
	// its first record, as long as the one read before, is read only if
	// the blob is read from the start.
	az.Delete(t, container, next)
	az.CreateAppend(t, container, next)
	az.Append(t, container, next, append(rec(63), rec(62)...))
	bodies = append(bodies, rec(63), rec(62))
	livetest.WaitFor(t, 30*time.Second, "eight findings", func() bool { return len(ndjsonIDs(t, out)) >= 8 })
	child.Process.Signal(syscall.SIGTERM)
	child.Wait()

	got := ndjsonIDs(t, out)
	sort.Strings(got)
	want, err := livetest.Oracle(time.Hour, nil, bodies...)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("findings %v, want each of %v once", got, want)
	}
}

// TestWatchBlobMissingContainer: a container that is not there stops
// watch at once, naming it and the service's code, with hunt's exit code.
func TestWatchBlobMissingContainer(t *testing.T) {
	az := livetest.NewAzurite(t)
	t.Setenv(source.ConnectionStringEnv, az.ConnectionString)
	_, err := run(t, "watch", "--state-dir", filepath.Join(t.TempDir(), "state"), "azblob://"+livetest.AzuriteAccount+"/nope/")
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != exitUsage || !strings.Contains(err.Error(), "ContainerNotFound") || !strings.Contains(err.Error(), "azblob://devstoreaccount1/nope/") {
		t.Errorf("missing container: %v", err)
	}
}

// TestWatchBlobUsage: an azblob:// URL is watched alone and live; --since
// is the container's; serve reads one streaming input.
func TestWatchBlobUsage(t *testing.T) {
	url := "azblob://" + livetest.AzuriteAccount + "/c/"
	for _, args := range [][]string{
		{"watch", url, "logs/"},
		{"watch", "--once", url},
		{"watch", "--since", "2h", "logs/"},
		{"watch", "--since", "yesterday-ish", url},
		{"serve", "--azblob", url, "--sqs", "https://sqs.us-east-1.amazonaws.com/1/q"},
		{"serve", "--azblob", "azblob://acct"},
	} {
		_, err := run(t, append(args, "--state-dir", filepath.Join(t.TempDir(), "state"))...)
		var ee *exitError
		if !errors.As(err, &ee) || ee.code != exitUsage {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
}
