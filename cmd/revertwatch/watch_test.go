package main

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// TestWatchSigmaRules: watch --once takes hunt's --rules and
// --no-builtin; the exported content alone finds what hunt finds with
// it, and a second run over the same state reports nothing again.
func TestWatchSigmaRules(t *testing.T) {
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules")
	if _, err := run(t, "rules", "export", "--format", "sigma", "-o", rules); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "findings.ndjson")
	args := []string{"watch", "--once", "--state-dir", filepath.Join(dir, "state"), "--rules", rules, "--no-builtin", "-o", out, "../../testdata/formats"}
	for i := 0; i < 2; i++ {
		if _, err := run(t, args...); err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	ids := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var f struct {
			ID      string   `json:"id"`
			RuleID  string   `json:"rule_id"`
			Reasons []string `json:"reasons"`
		}
		if err := json.Unmarshal([]byte(line), &f); err != nil {
			t.Fatalf("bad finding %q: %v", line, err)
		}
		if ids[f.ID] {
			t.Errorf("finding %s reported twice", f.ID)
		}
		ids[f.ID] = true
		if len(f.Reasons) == 0 || !strings.HasPrefix(f.Reasons[0], "Sigma ") {
			t.Errorf("finding %s of %s is not a Sigma rule's: %v", f.ID, f.RuleID, f.Reasons)
		}
		seen[f.RuleID] = true
	}
	var got []string
	for id := range seen {
		got = append(got, id)
	}
	sort.Strings(got)
	want := huntRuleIDs(t, "--rules", rules, "--no-builtin", "../../testdata/formats")
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("watch --rules found %v, hunt %v", got, want)
	}

	_, err = run(t, "watch", "--once", "--state-dir", filepath.Join(dir, "state2"), "--no-builtin", "../../testdata/formats")
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != exitUsage {
		t.Errorf("--no-builtin without --rules: %v", err)
	}
}

// A state file that exists but is empty is a usage error naming it,
// unless --reset-state; the findings file is created 0600.
func TestWatchEmptyStateAndOutputMode(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	os.MkdirAll(state, 0o700)
	db := filepath.Join(state, "revertwatch.db")
	if err := os.WriteFile(db, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "findings.ndjson")
	args := []string{"watch", "--once", "--state-dir", state, "-o", out, "../../testdata/formats"}
	_, err := run(t, args...)
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != exitUsage || !strings.Contains(err.Error(), db) {
		t.Fatalf("empty state file: %v, want a usage error naming %s", err, db)
	}
	if _, err := run(t, append(args, "--reset-state")...); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(out)
	if err != nil || info.Mode().Perm() != 0o600 || info.Size() == 0 {
		t.Fatalf("findings file: %v %v", info, err)
	}
}

// watch --once with a webhook that fails exits 1 naming it, and keeps
// what it owes: the next run, the webhook answering, delivers it all.
func TestWatchOnceSinkOwes(t *testing.T) {
	var ok atomic.Bool
	var mu sync.Mutex
	got := map[string]bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !ok.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		mu.Lock()
		got[r.Header.Get("Idempotency-Key")] = true
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	dir := t.TempDir()
	out := filepath.Join(dir, "findings.ndjson")
	args := []string{"watch", "--once", "--state-dir", filepath.Join(dir, "state"), "-o", out, "--webhook", srv.URL, "../../testdata/formats"}
	_, err := run(t, args...)
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != exitSinkOwes || !strings.Contains(err.Error(), "webhook http://127.0.0.1") {
		t.Fatalf("run with the webhook down: %v", err)
	}
	b, _ := os.ReadFile(out)
	want := strings.Count(string(b), "\n")
	if want == 0 {
		t.Fatal("the file got nothing while the webhook failed")
	}
	ok.Store(true)
	if _, err := run(t, args...); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != want {
		t.Fatalf("the webhook got %d findings after the restart, want the %d the file has", len(got), want)
	}
	if b2, _ := os.ReadFile(out); string(b2) != string(b) {
		t.Fatal("the file was written again")
	}
}
