package serve

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/revertwatch/revertwatch/finding"
	"github.com/revertwatch/revertwatch/internal/livetest"
	"github.com/revertwatch/revertwatch/live/sink"
)

// hook is a webhook receiver that hangs every request until it is open;
// it counts the findings it answered 2xx for.
type hook struct {
	open    atomic.Bool
	release chan struct{} // closed at the end: the hung requests fail
	mu      sync.Mutex
	keys    map[string]int
}

func (h *hook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !h.open.Load() {
		select {
		case <-h.release:
		case <-r.Context().Done():
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	h.mu.Lock()
	h.keys[r.Header.Get("Idempotency-Key")]++
	h.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
}

func (h *hook) got() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for k, n := range h.keys {
		for range n {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// A webhook that never answers holds back neither detection nor the
// findings file: the file gets every finding while the webhook's backlog
// shows in /metrics. Stopped (SIGTERM) with the webhook still hung, the
// daemon returns within its shutdown timeout, and the next start delivers
// the backlog to the webhook, once, without writing the file again.
func TestHungWebhook(t *testing.T) {
	dir := t.TempDir()
	h := &hook{release: make(chan struct{}), keys: map[string]int{}}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close) // after the servers' cleanups, which end the requests
	t.Cleanup(func() {
		select {
		case <-h.release:
		default:
			close(h.release)
		}
	})
	const accounts = 6
	bodies, want := reverts(t, accounts)
	outPath := filepath.Join(dir, "findings.ndjson")
	dlq := filepath.Join(dir, "dead.ndjson")
	cfg := func() (Config, *sink.Webhook) {
		out, err := sink.NewFile(outPath, sink.Render{Format: finding.FormatNDJSON}, sink.FileOptions{})
		if err != nil {
			t.Fatal(err)
		}
		wh := sink.NewWebhook(sink.WebhookOptions{URL: srv.URL + "/hook", DeadLetter: dlq}, sink.Render{Format: finding.FormatNDJSON})
		return Config{StateDir: filepath.Join(dir, "state"), Lateness: time.Hour, IdleFlush: 200 * time.Millisecond,
			Sinks: sinks(out, wh), ShutdownTimeout: time.Second, SinkBackoff: 10 * time.Millisecond}, wh
	}
	c, wh := cfg()
	r := start(t, c)
	for _, b := range bodies {
		if code, _, _ := post(t, r.url, b); code != 202 {
			t.Fatalf("post: %d", code)
		}
	}
	livetest.WaitFor(t, 20*time.Second, "the file's findings", func() bool { return len(fileIDs(t, outPath)) == accounts })
	backlog := fmt.Sprintf(`revertwatch_sink_backlog_findings{sink=%q} %d`, wh.Name(), accounts)
	livetest.WaitFor(t, 10*time.Second, "the webhook's backlog in /metrics", func() bool {
		return strings.Contains(getBody(t, r.url+"/metrics"), backlog)
	})
	if m := getBody(t, r.url+"/metrics"); !strings.Contains(m, "revertwatch_queue_depth 0") ||
		!strings.Contains(m, fmt.Sprintf(`revertwatch_sink_backlog_findings{sink="file %s"} 0`, outPath)) {
		t.Fatalf("the checkpoints or the file waited for the webhook:\n%s", m)
	}
	if strings.Contains(getBody(t, r.url+"/metrics"), srv.URL+"/hook") {
		t.Fatal("the webhook's URL is in /metrics")
	}
	r.shutdown(t)
	if got := h.got(); len(got) != 0 {
		t.Fatalf("the hung webhook took %v", got)
	}

	h.open.Store(true)
	c, _ = cfg()
	r = start(t, c)
	livetest.WaitFor(t, 20*time.Second, "the webhook's backlog", func() bool { return len(h.got()) >= accounts })
	r.shutdown(t)
	if got := h.got(); !equalStrings(got, want) {
		t.Fatalf("webhook got %v, want %v once each", got, want)
	}
	got := fileIDs(t, outPath)
	sortStrings(got)
	if !equalStrings(got, want) {
		t.Fatalf("file holds %v, want %v once each", got, want)
	}
	if _, err := os.Stat(dlq); err == nil {
		t.Fatal("findings were dead-lettered")
	}
}

func fileIDs(t *testing.T, path string) []string {
	t.Helper()
	return findingIDs(t, filepath.Dir(path))
}
