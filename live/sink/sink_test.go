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
