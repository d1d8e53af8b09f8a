package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/revertwatch/revertwatch/internal/livetest"
	"github.com/revertwatch/revertwatch/source"
)

// runErr runs the command and returns its stdout and stderr.
func runErr(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	root := newRootCmd()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(args)
	err = root.Execute()
	return out.String(), errb.String(), err
}

// documentRecords returns every record of the JSON documents (gzip or
// not) under dir: the members of their list under key.
func documentRecords(t *testing.T, dir, key string) [][]byte {
	t.Helper()
	var recs [][]byte
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if bytes.HasPrefix(b, []byte{0x1f, 0x8b}) {
			zr, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				return err
			}
			if b, err = io.ReadAll(zr); err != nil {
				return err
			}
		}
		var doc map[string][]json.RawMessage
		if err := json.Unmarshal(b, &doc); err != nil {
			return err
		}
		for _, r := range doc[key] {
			recs = append(recs, r)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// TestPullAWSThenHunt: the emulated trail's records served by the
// LookupEvents server (every region asked, 50 a page, newest first), pulled
// with the real CloudTrail client, give hunt the findings the trail's files
// give.
func TestPullAWSThenHunt(t *testing.T) {
	livetest.IsolateAWS(t)
	dir := t.TempDir()
	if _, err := run(t, "emulate", "--out", dir, "--shapes", "cloudtrail-records", "--span", "10d", "--noise", "300"); err != nil {
		t.Fatal(err)
	}
	trail := filepath.Join(dir, "cloudtrail-records")
	srv := livetest.NewLookupEvents(t)
	if n := srv.Add(t, documentRecords(t, trail, "Records")...); n < 200 {
		t.Fatalf("only %d records in the emulated trail", n)
	}
	want, err := run(t, "hunt", "--quiet", "--format", "ndjson", trail)
	if err != nil || strings.Count(want, "\n") < 5 {
		t.Fatalf("hunt over the trail: %d findings, %v", strings.Count(want, "\n"), err)
	}

	pulled := filepath.Join(t.TempDir(), "history.json.gz")
	_, stderr, err := runErr(t, "pull", "aws", "--since", "2026-01-01", "--until", "2027-01-01", "--rate", "0", "--jobs", "8",
		"--endpoint", srv.URL, "-o", pulled)
	if err != nil {
		t.Fatalf("pull aws: %v\n%s", err, stderr)
	}
	calls := srv.Calls()
	if calls["us-east-1"] < 3 {
		t.Errorf("us-east-1 answered in %d calls: the test should page", calls["us-east-1"])
	}
	if len(calls) != len(source.AWSRegions) {
		t.Errorf("%d regions asked, want every one of the %d", len(calls), len(source.AWSRegions))
	}
	if !strings.Contains(stderr, "pull aws: us-east-1: ") || !strings.Contains(stderr, "records written to "+pulled) {
		t.Errorf("no progress or summary on stderr:\n%s", stderr)
	}
	got, err := run(t, "hunt", "--quiet", "--format", "ndjson", pulled)
	if err != nil {
		t.Fatal(err)
	}
	if findingIDs(got) != findingIDs(want) {
		t.Errorf("hunt over the pulled history differs from hunt over the trail:\npulled: %s\n trail: %s", findingIDs(got), findingIDs(want))
	}

	// A region failing is said, the others are written, exit 3.
	srv.Deny("eu-west-1", "AccessDeniedException")
	_, stderr, err = runErr(t, "pull", "aws", "--since", "2026-01-01", "--until", "2027-01-01", "--rate", "0",
		"--endpoint", srv.URL, "--region", "eu-west-1", "--region", "us-east-1", "-o", pulled)
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != exitRejected || !strings.Contains(err.Error(), "region eu-west-1: LookupEvents: access denied") {
		t.Fatalf("pull with a denied region: %v (stderr %s), want exit 3 naming it", err, stderr)
	}
	if got, _ := run(t, "hunt", "--quiet", "--format", "ndjson", "--region", "us-east-1", pulled); findingIDs(got) == "" {
		t.Errorf("the region that answered was not written")
	}
	// An entry without its record: named, the rest written, exit 3.
	srv.AddBroken("us-east-1", "no-record-here", mustTime(t, "2026-06-01T00:00:00Z"), "")
	_, stderr, err = runErr(t, "pull", "aws", "--since", "2026-01-01", "--until", "2027-01-01", "--rate", "0",
		"--endpoint", srv.URL, "--region", "us-east-1", "-o", pulled)
	if !errors.As(err, &ee) || ee.code != exitRejected || !strings.Contains(stderr, "event no-record-here (RunInstances at 2026-06-01T00:00:00Z) has no CloudTrailEvent; skipped") {
		t.Fatalf("pull with an entry without its record: %v, stderr %s: want exit 3 naming the event", err, stderr)
	}
	// No region answers: exit 2.
	srv.Deny("us-east-1", "AccessDeniedException")
	if _, _, err = runErr(t, "pull", "aws", "--rate", "0", "--endpoint", srv.URL, "--region", "eu-west-1", "--region", "us-east-1", "-o", pulled); !errors.As(err, &ee) || ee.code != exitUsage {
		t.Fatalf("pull where no region answers: %v, want exit 2", err)
	}
}

// TestPullAzureThenHunt: the emulated Activity Log served by the list API
// server (nextLink pages), pulled with the ARM pipeline, gives hunt the
// findings the REST documents give.
func TestPullAzureThenHunt(t *testing.T) {
	dir := t.TempDir()
	if _, err := run(t, "emulate", "--out", dir, "--shapes", "azure-rest", "--span", "10d", "--noise", "100"); err != nil {
		t.Fatal(err)
	}
	docs := filepath.Join(dir, "azure-rest")
	srv := livetest.NewActivityLog(t, false)
	srv.PageSize = 25
	recs := documentRecords(t, docs, "value")
	srv.Add(t, recs...)
	subs := map[string]bool{}
	for _, r := range recs {
		var s struct {
			Sub string `json:"subscriptionId"`
		}
		json.Unmarshal(r, &s)
		subs[s.Sub] = true
	}
	args := []string{"pull", "azure", "--since", "2026-01-01", "--until", "2027-01-01", "--endpoint", srv.URL}
	var names []string
	for s := range subs {
		names = append(names, s)
	}
	sort.Strings(names)
	for _, s := range names {
		args = append(args, "--subscription", s)
	}
	want, err := run(t, "hunt", "--quiet", "--format", "ndjson", docs)
	if err != nil || strings.Count(want, "\n") < 3 {
		t.Fatalf("hunt over the documents: %d findings, %v", strings.Count(want, "\n"), err)
	}
	saved := azureCredential
	t.Cleanup(func() { azureCredential = saved })
	azureCredential = func() (azcore.TokenCredential, error) { return livetest.AzureToken{}, nil }

	pulled := filepath.Join(t.TempDir(), "activity.json")
	_, stderr, err := runErr(t, append(args, "-o", pulled)...)
	if err != nil {
		t.Fatalf("pull azure: %v\n%s", err, stderr)
	}
	if len(srv.Calls()) != len(names) {
		t.Errorf("subscriptions asked %v, want %v", srv.Calls(), names)
	}
	got, err := run(t, "hunt", "--quiet", "--format", "ndjson", pulled)
	if err != nil {
		t.Fatal(err)
	}
	if findingIDs(got) != findingIDs(want) {
		t.Errorf("hunt over the pulled Activity Log differs from hunt over the documents:\npulled: %s\n  docs: %s", findingIDs(got), findingIDs(want))
	}
	if _, _, err := runErr(t, "pull", "azure", "--since", "7d"); err == nil || !strings.Contains(err.Error(), "--subscription") {
		t.Errorf("pull azure without a subscription: %v", err)
	}
}
