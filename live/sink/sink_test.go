package sink

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/revertwatch/revertwatch/finding"
)

func findings(ids ...string) []finding.Finding {
	var out []finding.Finding
	for _, id := range ids {
		out = append(out, finding.Finding{ID: id, RuleID: "aws-stop-start", FirstSeen: time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)})
	}
	return out
}

var ndjson = Render{Format: finding.FormatNDJSON}

// The file rotates past its size, keeps Keep old files, and tells which
// findings it holds (the current and the newest rotated file).
func TestFileRotatesAndHolds(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out", "findings.ndjson")
	f, err := NewFile(path, ndjson, 600, 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"rw-1", "rw-2", "rw-3", "rw-4", "rw-5"} {
		if err := f.Deliver(context.Background(), findings(id)); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	for _, p := range []string{path, path + ".1", path + ".2"} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	if _, err := os.Stat(path + ".3"); err == nil {
		t.Error("more rotated files than keep")
	}
	f, err = NewFile(path, ndjson, 600, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	held, err := f.Holds([]string{"rw-5", "rw-9"})
	if err != nil {
		t.Fatal(err)
	}
	if !held["rw-5"] || held["rw-9"] {
		t.Fatalf("holds %v", held)
	}
}

// The webhook retries 5xx with backoff and sends the finding id as the
// Idempotency-Key; a 4xx is final and goes to the dead-letter file.
func TestWebhookRetriesAndDeadLetters(t *testing.T) {
	var calls atomic.Int32
	var keys []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		keys = append(keys, r.Header.Get("Idempotency-Key"))
		switch {
		case strings.Contains(r.Header.Get("Idempotency-Key"), "bad"):
			w.WriteHeader(http.StatusBadRequest)
		case n < 3:
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			w.WriteHeader(http.StatusAccepted)
		}
	}))
	defer srv.Close()
	dlq := filepath.Join(t.TempDir(), "dead.ndjson")
	dead := 0
	w := NewWebhook(WebhookOptions{URL: srv.URL, Backoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, DeadLetter: dlq}, ndjson)
	w.DeadLettered = func() { dead++ }
	if err := w.Deliver(context.Background(), findings("rw-ok", "rw-bad")); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 4 || keys[0] != "rw-ok" || keys[2] != "rw-ok" || keys[3] != "rw-bad" {
		t.Fatalf("%d calls, keys %v; want 3 tries of rw-ok, 1 of rw-bad", calls.Load(), keys)
	}
	b, err := os.ReadFile(dlq)
	if err != nil || !strings.Contains(string(b), `"rw-bad"`) || strings.Contains(string(b), "rw-ok") || dead != 1 {
		t.Fatalf("dead letters %q %v (%d)", b, err, dead)
	}
}

// A sink that fails keeps what it owes and gets it on the next delivery,
// without the other sinks getting anything twice.
func TestFanoutOwes(t *testing.T) {
	var good, flaky counting
	flaky.fail = true
	fo := NewFanout(&good, &flaky)
	if err := fo.Deliver(context.Background(), findings("rw-1")); err == nil {
		t.Fatal("no error from the failing sink")
	}
	if fo.Owed() != 1 {
		t.Fatalf("owed %d", fo.Owed())
	}
	flaky.fail = false
	if err := fo.Deliver(context.Background(), findings("rw-2")); err != nil {
		t.Fatal(err)
	}
	if good.n != 2 || flaky.n != 2 || fo.Owed() != 0 {
		t.Fatalf("good %d, flaky %d, owed %d", good.n, flaky.n, fo.Owed())
	}
}

type counting struct {
	n    int
	fail bool
}

func (c *counting) Name() string { return "counting" }
func (c *counting) Close() error { return nil }
func (c *counting) Deliver(_ context.Context, fs []finding.Finding) error {
	if c.fail {
		return os.ErrDeadlineExceeded
	}
	c.n += len(fs)
	return nil
}
