package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/revertwatch/revertwatch/internal/livetest"
)

// lookupEvents renders CloudTrail records as 'aws cloudtrail
// lookup-events' prints them: newest first, each record a JSON string.
func lookupEvents(t *testing.T, records [][]byte) []byte {
	t.Helper()
	type ev struct {
		EventID         string
		CloudTrailEvent string
	}
	var out struct{ Events []ev }
	for i := len(records) - 1; i >= 0; i-- {
		out.Events = append(out.Events, ev{EventID: fmt.Sprint(i), CloudTrailEvent: string(records[i])})
	}
	b, err := json.MarshalIndent(out, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type huntedFinding struct {
	ID       string `json:"id"`
	GroupID  string `json:"group_id"`
	RuleID   string `json:"rule_id"`
	Evidence []struct {
		UID string `json:"uid"`
	} `json:"evidence"`
}

func parseFindings(t *testing.T, out string) []huntedFinding {
	t.Helper()
	var fs []huntedFinding
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var f huntedFinding
		if err := json.Unmarshal([]byte(line), &f); err != nil {
			t.Fatalf("bad finding %q: %v", line, err)
		}
		fs = append(fs, f)
	}
	return fs
}

// TestHuntNinetyDaysNewestFirst: a 90-day LookupEvents export, newest
// first, with a stop/start revert on day 1 and on day 89, gives both;
// the same with a memory budget small enough to spill gives the same
// bytes.
func TestHuntNinetyDaysNewestFirst(t *testing.T) {
	acct := livetest.Account(3)
	inst := livetest.Instance(acct, "db")
	other := livetest.Instance(acct, "web")
	day0 := time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)
	var recs [][]byte
	for at := day0; at.Before(day0.Add(90 * 24 * time.Hour)); at = at.Add(37 * time.Minute) {
		recs = append(recs, livetest.Record(acct, "eu-west-1", "DescribeInstances", other, at))
	}
	for _, day := range []int{1, 89} {
		at := day0.Add(time.Duration(day)*24*time.Hour + 10*time.Hour + 3*time.Second)
		recs = append(recs, livetest.Record(acct, "eu-west-1", "StopInstances", inst, at),
			livetest.Record(acct, "eu-west-1", "StartInstances", inst, at.Add(4*time.Minute)))
	}
	sort.SliceStable(recs, func(i, j int) bool { return recordTime(recs[i]).Before(recordTime(recs[j])) })
	dir := t.TempDir()
	path := filepath.Join(dir, "lookup-events.json")
	if err := os.WriteFile(path, lookupEvents(t, recs), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := run(t, "hunt", "--quiet", "--format", "ndjson", path)
	if err != nil {
		t.Fatal(err)
	}
	fs := parseFindings(t, out)
	if len(fs) != 2 || fs[0].RuleID != "aws-stop-start" || fs[0].ID == fs[1].ID || fs[0].GroupID != fs[1].GroupID {
		t.Fatalf("want two stop/starts of one group, got %+v", fs)
	}
	spill := t.TempDir()
	small, err := run(t, "hunt", "--quiet", "--format", "ndjson", "--memory-budget", "16KiB", "--spill-dir", spill, path)
	if err != nil {
		t.Fatal(err)
	}
	if small != out {
		t.Error("a small memory budget changed the findings")
	}
	if left, _ := filepath.Glob(filepath.Join(spill, "*")); len(left) != 0 {
		t.Errorf("spilled runs left behind: %v", left)
	}
	streamed, err := run(t, "hunt", "--quiet", "--format", "ndjson", "--lateness", "15m", path)
	if err != nil {
		t.Fatal(err)
	}
	// Streaming keeps a bounded history (the window and a 24h horizon):
	// read newest first, the day-89 revert is found late and replayed,
	// the day-1 revert is 88 days behind and beyond it.
	if got := parseFindings(t, streamed); len(got) != 1 || got[0].ID != fs[1].ID {
		t.Errorf("streaming with 15m lateness: %+v, want the day-89 occurrence", got)
	}
}

func recordTime(rec []byte) time.Time {
	var r struct{ EventTime time.Time }
	json.Unmarshal(rec, &r)
	return r.EventTime
}

// TestHuntFileOrder: the same files named in any order give the same
// bytes.
func TestHuntFileOrder(t *testing.T) {
	files, err := filepath.Glob("../../testdata/formats/*/*")
	if err != nil || len(files) < 5 {
		t.Fatalf("fixtures: %v %v", files, err)
	}
	want, err := run(t, append([]string{"hunt", "--quiet", "--format", "ndjson"}, files...)...)
	if err != nil {
		t.Fatal(err)
	}
	rev := append([]string(nil), files...)
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	got, err := run(t, append([]string{"hunt", "--quiet", "--format", "ndjson"}, rev...)...)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Error("the order of the files changed the findings")
	}
}

// TestWatchOnceLikeHunt: README's cron recipe, watch --once, finds what
// hunt finds, with the same ids; a second run over the same files finds
// nothing new.
func TestWatchOnceLikeHunt(t *testing.T) {
	want, err := run(t, "hunt", "--quiet", "--format", "ndjson", "../../testdata/formats")
	if err != nil {
		t.Fatal(err)
	}
	st := t.TempDir()
	out := filepath.Join(t.TempDir(), "findings.ndjson")
	for i := 0; i < 2; i++ {
		if _, err := run(t, "watch", "--once", "--poll", "10ms", "--state-dir", st, "-o", out, "../../testdata/formats"); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	ids := func(fs []huntedFinding) []string {
		var out []string
		for _, f := range fs {
			out = append(out, f.ID)
		}
		sort.Strings(out)
		return out
	}
	if w, g := ids(parseFindings(t, want)), ids(parseFindings(t, string(got))); fmt.Sprint(w) != fmt.Sprint(g) {
		t.Errorf("watch --once found %v, hunt %v", g, w)
	}
}

// TestRepeatsReachTheWebhook: the same instance stopped and started on
// five days gives five findings with five ids and one group id, and a
// webhook receiver that de-duplicates on Idempotency-Key keeps all five.
func TestRepeatsReachTheWebhook(t *testing.T) {
	acct := livetest.Account(4)
	inst := livetest.Instance(acct, "app")
	day0 := time.Date(2026, 9, 1, 9, 0, 0, 0, time.UTC)
	var recs [][]byte
	for d := 0; d < 5; d++ {
		at := day0.Add(time.Duration(d) * 24 * time.Hour)
		recs = append(recs, livetest.Record(acct, "us-east-2", "StopInstances", inst, at),
			livetest.Record(acct, "us-east-2", "StartInstances", inst, at.Add(2*time.Minute)))
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ct.jsonl"), livetest.Lines(recs...), 0o644); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	keys := map[string]bool{}
	groups := map[string]bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var f huntedFinding
		json.NewDecoder(r.Body).Decode(&f)
		mu.Lock()
		keys[r.Header.Get("Idempotency-Key")] = true
		groups[f.GroupID] = true
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	if _, err := run(t, "watch", "--once", "--poll", "10ms", "--state-dir", t.TempDir(), "--webhook", srv.URL, dir); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(keys) != 5 || len(groups) != 1 {
		t.Errorf("the receiver kept %d findings of %d groups, want 5 of 1", len(keys), len(groups))
	}
}
