package sink

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
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
	f, err := NewFile(path, ndjson, FileOptions{MaxSize: 600, Keep: 2})
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
	f, err = NewFile(path, ndjson, FileOptions{MaxSize: 600, Keep: 2})
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

// A delivery is one attempt per finding, stopped at the first failure;
// the webhook sends the finding id as the Idempotency-Key, does not post
// again what was taken, sends a finding that failed Attempts deliveries to
// the dead-letter file, and a 4xx at once.
func TestWebhookAttemptsAndDeadLetters(t *testing.T) {
	var calls atomic.Int32
	var mu sync.Mutex
	var keys []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		mu.Lock()
		keys = append(keys, r.Header.Get("Idempotency-Key"))
		mu.Unlock()
		switch key := r.Header.Get("Idempotency-Key"); {
		case strings.Contains(key, "bad"):
			w.WriteHeader(http.StatusBadRequest)
		case strings.Contains(key, "down"):
			w.WriteHeader(http.StatusBadGateway)
		case n < 3:
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			w.WriteHeader(http.StatusAccepted)
		}
	}))
	defer srv.Close()
	dlq := filepath.Join(t.TempDir(), "dead.ndjson")
	dead := 0
	w := NewWebhook(WebhookOptions{URL: srv.URL, Attempts: 3, Concurrency: 1, DeadLetter: dlq}, ndjson)
	w.DeadLettered = func() { dead++ }
	fs := findings("rw-ok", "rw-bad", "rw-down")
	// The first failure of a delivery stops it: the others wait for the
	// next rather than for a failing receiver.
	failures := 0
	for w.Deliver(context.Background(), fs) != nil {
		if failures++; failures > 10 {
			t.Fatal("rw-down never dead-lettered")
		}
	}
	if failures != 4 {
		t.Fatalf("%d failed deliveries, want 4 (posted %v)", failures, keys)
	}
	want := "rw-ok rw-ok rw-ok rw-bad rw-down rw-down rw-down"
	if got := strings.Join(keys, " "); got != want {
		t.Fatalf("posted %s, want %s", got, want)
	}
	b, err := os.ReadFile(dlq)
	if err != nil || !strings.Contains(string(b), `"rw-bad"`) || !strings.Contains(string(b), `"rw-down"`) || strings.Contains(string(b), "rw-ok") || dead != 2 {
		t.Fatalf("dead letters %q %v (%d)", b, err, dead)
	}
	if info, err := os.Stat(dlq); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("dead-letter file %v %v", info, err)
	}
}

// Redirects are not followed: the Authorization header never reaches
// another address (here the same host on another port), and the finding
// is given up on at once, to the dead-letter file.
func TestWebhookNoRedirect(t *testing.T) {
	var leaked atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked.Add(1)
	}))
	defer other.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/hook", http.StatusTemporaryRedirect)
	}))
	defer srv.Close()
	dlq := filepath.Join(t.TempDir(), "dead.ndjson")
	h := http.Header{}
	h.Set("Authorization", "Bearer s3cret")
	w := NewWebhook(WebhookOptions{URL: srv.URL, DeadLetter: dlq, Header: h, Client: &http.Client{}}, ndjson)
	if err := w.Deliver(context.Background(), findings("rw-1")); err != nil {
		t.Fatal(err)
	}
	if leaked.Load() != 0 {
		t.Fatal("the redirect was followed")
	}
	if b, _ := os.ReadFile(dlq); !strings.Contains(string(b), "not followed") {
		t.Fatalf("dead letters %q", b)
	}
}

// A torn last line (kill -9 in the middle of a write) is cut off when
// the file is opened, so that its finding is not counted as held and the
// next one does not land on the same line; ids are matched as whole
// values, never as part of a longer id.
func TestFileTornTailAndWholeIDs(t *testing.T) {
	for _, format := range []string{finding.FormatNDJSON, finding.FormatOCSF} {
		t.Run(format, func(t *testing.T) {
			r := Render{Format: format}
			path := filepath.Join(t.TempDir(), "findings")
			f, err := NewFile(path, r, FileOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if err := f.Deliver(context.Background(), findings("rw-10")); err != nil {
				t.Fatal(err)
			}
			f.Close()
			whole, _ := os.ReadFile(path)
			torn, err := r.Bytes(findings("rw-2"))
			if err != nil {
				t.Fatal(err)
			}
			cut := bytes.Index(torn, []byte("rw-2")) + len("rw-2") + 2
			appendBytes(t, path, torn[:cut])
			f, err = NewFile(path, r, FileOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if f.Repaired() == 0 {
				t.Error("no torn tail cut off")
			}
			b, _ := os.ReadFile(path)
			if !bytes.Equal(b, whole) {
				t.Fatalf("after open the file is\n%s\nwant\n%s", b, whole)
			}
			held, err := f.Holds([]string{"rw-1", "rw-10", "rw-2"})
			if err != nil {
				t.Fatal(err)
			}
			if !held["rw-10"] || held["rw-1"] || held["rw-2"] {
				t.Fatalf("holds %v; want rw-10 only", held)
			}
			if err := f.Deliver(context.Background(), findings("rw-2")); err != nil {
				t.Fatal(err)
			}
			if held, _ := f.Holds([]string{"rw-2"}); !held["rw-2"] {
				t.Fatal("rw-2 not held after its delivery")
			}
			if format == finding.FormatNDJSON {
				lines := strings.Split(strings.TrimSpace(readString(t, path)), "\n")
				if len(lines) != 2 {
					t.Fatalf("%d lines, want 2:\n%s", len(lines), readString(t, path))
				}
			}
		})
	}
}

// In SARIF, a document per delivery, an id is held when it is a whole
// JSON string.
func TestFileSARIFHolds(t *testing.T) {
	path := filepath.Join(t.TempDir(), "findings.sarif")
	f, err := NewFile(path, Render{Format: finding.FormatSARIF}, FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Deliver(context.Background(), findings("rw-10")); err != nil {
		t.Fatal(err)
	}
	held, err := f.Holds([]string{"rw-1", "rw-10"})
	if err != nil || !held["rw-10"] || held["rw-1"] {
		t.Fatalf("holds %v %v; want rw-10 only", held, err)
	}
}

// A write that fails part way — a full disk — is cut back: the retry
// writes the delivery once, and the file holds no broken line.
func TestFilePartialWriteCutBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "findings.ndjson")
	f, err := NewFile(path, ndjson, FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Deliver(context.Background(), findings("rw-1")); err != nil {
		t.Fatal(err)
	}
	healthy := f.write
	f.write = func(b []byte) (int, error) {
		n, _ := healthy(b[:len(b)/2+3])
		return n, syscall.ENOSPC
	}
	if err := f.Deliver(context.Background(), findings("rw-2", "rw-3")); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("deliver on a full disk: %v", err)
	}
	f.write = healthy
	if err := f.Deliver(context.Background(), findings("rw-2", "rw-3")); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, line := range strings.Split(strings.TrimSpace(readString(t, path)), "\n") {
		var v struct{ ID string }
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("broken line %q", line)
		}
		ids = append(ids, v.ID)
	}
	if strings.Join(ids, " ") != "rw-1 rw-2 rw-3" {
		t.Fatalf("file holds %v, want rw-1 rw-2 rw-3 once each", ids)
	}
}

// The findings file is created 0600 unless told otherwise.
func TestFileMode(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		mode, want os.FileMode
	}{{0, 0o600}, {0o640, 0o640}} {
		path := filepath.Join(dir, fmt.Sprintf("f%o", c.mode))
		f, err := NewFile(path, ndjson, FileOptions{Mode: c.mode, MaxSize: 10, Keep: 1})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 2; i++ { // the second rotates: a new file
			if err := f.Deliver(context.Background(), findings("rw-1")); err != nil {
				t.Fatal(err)
			}
		}
		f.Close()
		for _, p := range []string{path, path + ".1"} {
			info, err := os.Stat(p)
			if err != nil || info.Mode().Perm() != c.want {
				t.Errorf("%s: %v %v, want %v", p, info.Mode(), err, c.want)
			}
		}
	}
}

func appendBytes(t *testing.T, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
}

func readString(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
