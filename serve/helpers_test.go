package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"sort"
	"testing"
	"time"

	"github.com/revertwatch/revertwatch/internal/livetest"
	"github.com/revertwatch/revertwatch/live/sink"
)

// running is a Server started by start.
type running struct {
	s    *Server
	url  string
	done chan struct{} // closed when Run returned
	err  error
	stop context.CancelFunc
}

// shutdown stops the server gracefully and returns Run's error.
func (r *running) shutdown(t testing.TB) {
	t.Helper()
	r.stop()
	select {
	case <-r.done:
		if r.err != nil {
			t.Fatalf("server: %v", r.err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("server did not shut down in 30s")
	}
}

func start(t testing.TB, cfg Config) *running {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Listener = ln
	s, err := New(cfg)
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	scheme := "http"
	if cfg.TLSCert != "" {
		scheme = "https"
	}
	r := &running{s: s, url: scheme + "://" + ln.Addr().String(), done: make(chan struct{}), stop: cancel}
	go func() {
		r.err = s.Run(ctx)
		close(r.done)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(30 * time.Second):
		}
	})
	livetest.WaitFor(t, 10*time.Second, "ready", func() bool {
		if scheme == "https" {
			return s.ready.Load() // the probe below speaks plain HTTP
		}
		resp, err := http.Get(r.url + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return r
}

// post sends body to /v1/ingest with headers and decodes the answer.
func post(t testing.TB, url string, body []byte, headers ...string) (int, Answer, http.Header) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+"/v1/ingest", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a Answer
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &a); err != nil {
		t.Fatalf("answer %d is not JSON: %v: %s", resp.StatusCode, err, raw)
	}
	return resp.StatusCode, a, resp.Header
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func sinks(s ...sink.Sink) []sink.Sink { return s }

func httpGet(url string) (int, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func getBody(t testing.TB, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// tryPost is post without failing the test on a transport error.
func tryPost(url string, body []byte) (int, Answer, error) {
	resp, err := http.Post(url+"/v1/ingest", "application/json", bytes.NewReader(body))
	if err != nil {
		return 0, Answer{}, err
	}
	defer resp.Body.Close()
	var a Answer
	err = json.NewDecoder(resp.Body).Decode(&a)
	return resp.StatusCode, a, err
}

func sortStrings(s []string) { sort.Strings(s) }
