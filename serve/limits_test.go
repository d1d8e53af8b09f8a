package serve

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/revertwatch/revertwatch/internal/livetest"
)

// tinyRecord is the smallest line that decodes into an event: millions of
// them gzip into a few hundred kilobytes.
const tinyRecord = `{"eventVersion":"1.11","eventTime":"2026-11-02T10:00:00Z","eventName":"X"}` + "\n"

// tinyBodies are the bodies tinyBody made, by n: compressing tens of
// megabytes takes seconds under the race detector.
var tinyBodies sync.Map

// tinyBody is n tiny records, gzipped.
func tinyBody(t testing.TB, n int) []byte {
	t.Helper()
	if b, ok := tinyBodies.Load(n); ok {
		return b.([]byte)
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	chunk := []byte(strings.Repeat(tinyRecord, 1000))
	for i := 0; i < n; i += 1000 {
		zw.Write(chunk[:min(1000, n-i)*len(tinyRecord)])
	}
	zw.Close()
	tinyBodies.Store(n, buf.Bytes())
	return buf.Bytes()
}

// heapInUse is the heap in use as ReadMemStats's HeapInuse counts it
// (spans holding objects), read from runtime/metrics, which, unlike
// ReadMemStats, does not stop the world: sampling every few milliseconds
// would otherwise slow the server under test several times over.
func heapInUse(samples []metrics.Sample) uint64 {
	metrics.Read(samples)
	return samples[0].Value.Uint64() + samples[1].Value.Uint64()
}

// heapPeak samples the heap in use until stopped and returns its peak
// above what it was when sampling began, after a collection. The
// collector runs at GOGC=20 meanwhile, so that the heap in use is close
// to what is held rather than to what the pacer lets garbage grow to.
func heapPeak() (stop func() uint64) {
	samples := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}}
	gcPercent := debug.SetGCPercent(20)
	runtime.GC()
	base := heapInUse(samples)
	var peak atomic.Uint64
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			if h := heapInUse(samples); h > base && h-base > peak.Load() {
				peak.Store(h - base)
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		<-finished
		debug.SetGCPercent(gcPercent)
		return peak.Load()
	}
}

// A body of 300,000 tiny records (a few hundred kilobytes gzipped) used to
// be held as 300,000 events until the answer: hundreds of megabytes. The
// check keeps none of them (the journal decodes the body again), so the
// heap a request adds stays under a small ceiling, and the events are all
// accepted and processed.
func TestMemoryPerRequestBounded(t *testing.T) {
	const n = 300_000
	body := tinyBody(t, n)
	gate := newGateBackend()
	close(gate.accept)
	close(gate.drain)
	r := start(t, Config{Cluster: gate.make, MaxDecodedBytes: 1 << 30, Sinks: sinks(&livetest.MemSink{})})
	stop := heapPeak()
	code, a, _ := post(t, r.url, body)
	peak := stop()
	t.Logf("%d bytes on the wire, %d events: heap peak +%d MiB", len(body), a.Accepted, peak>>20)
	if code != 202 || a.Accepted != n {
		t.Fatalf("answer %d %+v", code, a)
	}
	if got := gate.events.Load(); got != n {
		t.Fatalf("backend took %d events, want %d", got, n)
	}
	const ceiling = 48 << 20
	if peak > ceiling {
		t.Fatalf("one request took the heap %d MiB higher: over the %d MiB ceiling", peak>>20, ceiling>>20)
	}
}

// The local backend over the same body: accepted, journaled, and
// processed from the journal, with the same ceiling on the request.
func TestMemoryPerRequestBoundedLocal(t *testing.T) {
	const n = 100_000
	body := tinyBody(t, n)
	r := start(t, Config{StateDir: t.TempDir(), MaxDecodedBytes: 1 << 30, Sinks: sinks(&livetest.MemSink{})})
	stop := heapPeak()
	code, a, _ := post(t, r.url, body)
	peak := stop()
	t.Logf("%d events: heap peak +%d MiB", a.Accepted, peak>>20)
	if code != 202 || a.Accepted != n {
		t.Fatalf("answer %d %+v", code, a)
	}
	const ceiling = 48 << 20
	if peak > ceiling {
		t.Fatalf("one request took the heap %d MiB higher: over the %d MiB ceiling", peak>>20, ceiling>>20)
	}
	livetest.WaitFor(t, 60*time.Second, "the journal processed", func() bool { return r.s.be.(*local).st.PendingEvents() == 0 })
}

// A large body sent uncompressed: the request holds it about three times
// over (as read, then bbolt's copy and the page it writes), not its
// events.
func TestMemoryPerRequestLargeBody(t *testing.T) {
	body := bytes.Repeat([]byte(tinyRecord), (8<<20)/len(tinyRecord))
	r := start(t, Config{StateDir: t.TempDir(), Sinks: sinks(&livetest.MemSink{})})
	stop := heapPeak()
	code, a, _ := post(t, r.url, body)
	peak := stop()
	t.Logf("%d MiB body, %d events: heap peak +%d MiB", len(body)>>20, a.Accepted, peak>>20)
	if code != 202 {
		t.Fatalf("answer %d %+v", code, a)
	}
	// The test's own copy of the body is in the heap already; the
	// client's request buffers and the server's copies are not.
	if ceiling := uint64(3*len(body) + 16<<20); peak > ceiling {
		t.Fatalf("a %d MiB body took the heap %d MiB higher: over %d MiB", len(body)>>20, peak>>20, ceiling>>20)
	}
}

// A body with more records than --max-queue is refused as soon as the
// check counts one too many, without holding the events it counted.
func TestMoreEventsThanTheQueueRefusedEarly(t *testing.T) {
	const n = 300_000
	body := tinyBody(t, n)
	r := start(t, Config{StateDir: t.TempDir(), MaxQueue: 1000, MaxDecodedBytes: 1 << 30, Sinks: sinks(&livetest.MemSink{})})
	stop := heapPeak()
	code, a, _ := post(t, r.url, body)
	peak := stop()
	if code != 413 || a.Reason != "too large" || !strings.Contains(a.Error, "1000") {
		t.Fatalf("answer %d %+v, want 413 naming the queue's 1000", code, a)
	}
	if peak > 16<<20 {
		t.Fatalf("refusing took the heap %d MiB higher", peak>>20)
	}
	if got := r.s.be.(*local).st.PendingEvents(); got != 0 {
		t.Fatalf("%d events journaled from a refused body", got)
	}
}

// Every gzip layer counts against --max-body-decoded: a body gzipped twice
// whose inner layer inflates past the cap is refused, where the cap used
// to count only the outer layer's few kilobytes. A body gzipped twice (or
// thrice) within the cap is accepted and its events are processed — the
// journal replays it through the same layers — and nesting past
// maxGzipLayers is refused.
func TestNestedGzipCapped(t *testing.T) {
	mem := &livetest.MemSink{}
	r := start(t, Config{StateDir: t.TempDir(), MaxDecodedBytes: 1 << 20, Lateness: time.Hour, IdleFlush: 100 * time.Millisecond, Sinks: sinks(mem)})
	bomb := gz(gz(bytes.Repeat([]byte(tinyRecord), (8<<20)/len(tinyRecord))))
	if code, a, _ := post(t, r.url, bomb); code != 413 || a.Reason != "too large" {
		t.Fatalf("a double gzip inflating to 8 MiB past a 1 MiB cap: %d %+v", code, a)
	}
	// Content-Encoding gzip over a .json.gz, with the layers' sum near
	// the cap: the inner layer alone is under it, the sum is not.
	half := bytes.Repeat([]byte(tinyRecord), (600<<10)/len(tinyRecord))
	if code, a, _ := post(t, r.url, gz(gz(half)), "Content-Encoding", "gzip"); code != 202 {
		t.Fatalf("a double gzip within the cap: %d %+v", code, a)
	}
	stopRec, startRec := stopStart(7)
	want, err := livetest.Oracle(time.Hour, nil, livetest.Lines(stopRec, startRec))
	if err != nil || len(want) != 1 {
		t.Fatalf("oracle %v %v", want, err)
	}
	if code, a, _ := post(t, r.url, gz(gz(gz(livetest.Lines(stopRec, startRec))))); code != 202 || a.Accepted != 2 {
		t.Fatalf("a triple gzip: %d %+v", code, a)
	}
	deep := livetest.Lines(stopRec)
	for range maxGzipLayers + 1 {
		deep = gz(deep)
	}
	if code, a, _ := post(t, r.url, deep); code != 400 || a.Reason != "bad gzip" {
		t.Fatalf("gzip %d deep: %d %+v", maxGzipLayers+1, code, a)
	}
	livetest.WaitFor(t, 20*time.Second, "the finding of the triple gzip", func() bool { return mem.Len() == 1 })
	r.shutdown(t)
	if got := mem.IDs(); !equalStrings(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// The layers' output is counted together: a body whose layers each stay
// under the cap but whose sum does not is refused.
func TestNestedGzipLayersSummed(t *testing.T) {
	inner := bytes.Repeat([]byte(tinyRecord), (700<<10)/len(tinyRecord))
	// The outer layer's output is the inner gzip: make it big by storing
	// it uncompressed, so that both layers produce about 700 KiB.
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.NoCompression)
	zw.Write(gzipNoCompression(inner))
	zw.Close()
	b := &budget{left: 1 << 20}
	r, closeAll, err := unwrap(buf.Bytes(), "", b)
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll()
	if _, err := io.Copy(io.Discard, r); err != errDecodedTooLarge || !b.over {
		t.Fatalf("two layers of 700 KiB under a 1 MiB cap: %v, over %v", err, b.over)
	}
}

func gzipNoCompression(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.NoCompression)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// A CloudWatch Logs payload handed to Lambda ({"awslogs":{"data":
// base64 of gzip}}) is one more gzip layer inside each record: what it
// inflates to counts against --max-body-decoded too.
func TestAwslogsPayloadsCapped(t *testing.T) {
	acct := livetest.Account(1)
	rec := livetest.Record(acct, "us-east-1", "StopInstances", livetest.Instance(acct, "web"), t0)
	msg, _ := json.Marshal(string(rec))
	payload := `{"messageType":"DATA_MESSAGE","owner":"` + acct + `","logGroup":"trail","logStream":"s","logEvents":[{"id":"1","timestamp":0,"message":` + string(msg) + `}]` +
		strings.Repeat(" ", 1<<20) + `}`
	line := `{"awslogs":{"data":"` + base64.StdEncoding.EncodeToString(gz([]byte(payload))) + `"}}` + "\n"
	body := gz([]byte(strings.Repeat(line, 10)))
	r := start(t, Config{StateDir: t.TempDir(), MaxDecodedBytes: 4 << 20, Sinks: sinks(&livetest.MemSink{})})
	if code, a, _ := post(t, r.url, body); code != 413 || a.Reason != "too large" {
		t.Fatalf("10 payloads of 1 MiB under a 4 MiB cap: %d %+v", code, a)
	}
	r2 := start(t, Config{StateDir: t.TempDir(), MaxDecodedBytes: 64 << 20, Sinks: sinks(&livetest.MemSink{})})
	if code, a, _ := post(t, r2.url, body); code != 202 || a.Accepted != 10 {
		t.Fatalf("the same under a 64 MiB cap: %d %+v", code, a)
	}
}

// slowClient sends a request's headers, then its body a byte at a time
// until the server answers or closes; the answer's status line is sent
// on status ("" when the connection closed without one).
func slowClient(t *testing.T, addr, head string) (status <-chan string, stop func()) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	out := make(chan string, 1)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			if _, err := conn.Write([]byte(" ")); err != nil {
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		line, _ := bufio.NewReader(conn).ReadString('\n')
		out <- strings.TrimSpace(line)
	}()
	var once sync.Once
	stopFn := func() {
		once.Do(func() {
			close(done)
			conn.Close()
			wg.Wait()
		})
	}
	t.Cleanup(stopFn)
	return out, stopFn
}

// A client sending its body at a byte per 10 ms holds no in-flight slot:
// with one slot, another client's request is accepted meanwhile; and the
// slow one is answered 408 once the body timeout passes.
func TestSlowBodyHoldsNoSlot(t *testing.T) {
	const bodyTimeout = 300 * time.Millisecond
	r := start(t, Config{StateDir: t.TempDir(), MaxInflight: 1, BodyTimeout: bodyTimeout, Sinks: sinks(&livetest.MemSink{})})
	addr := strings.TrimPrefix(r.url, "http://")
	began := time.Now()
	status, _ := slowClient(t, addr, "POST /v1/ingest HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
	stopRec, startRec := stopStart(1)
	for range 3 {
		if code, a, _ := post(t, r.url, livetest.Lines(stopRec, startRec)); code != 202 {
			t.Fatalf("while a slow client uploads: %d %+v", code, a)
		}
	}
	select {
	case line := <-status:
		if !strings.Contains(line, " 408 ") {
			t.Fatalf("the slow client got %q, want 408", line)
		}
		if took := time.Since(began); took < bodyTimeout {
			t.Fatalf("answered after %s, before the body timeout", took)
		}
	case <-time.After(bodyTimeout + 10*time.Second):
		t.Fatal("the slow client was never cut off")
	}
	metrics := getBody(t, r.url+"/metrics")
	if !strings.Contains(metrics, `revertwatch_rejects_total{reason="timeout"} 1`) {
		t.Error("the timeout is not counted")
	}
}

// Headers sent slowly are cut off after ReadHeaderTimeout, and a kept-alive
// connection left idle after IdleTimeout.
func TestHeaderAndIdleTimeouts(t *testing.T) {
	const limit = 200 * time.Millisecond
	r := start(t, Config{StateDir: t.TempDir(), ReadHeaderTimeout: limit, IdleTimeout: limit, Sinks: sinks(&livetest.MemSink{})})
	addr := strings.TrimPrefix(r.url, "http://")
	status, _ := slowClient(t, addr, "POST /v1/ingest HTTP/1.1\r\nX-Slow:")
	select {
	case <-status:
	case <-time.After(limit + 10*time.Second):
		t.Fatal("slow headers were never cut off")
	}

	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	io.Copy(io.Discard, resp.Body)
	idle := time.Now()
	conn.SetReadDeadline(time.Now().Add(limit + 10*time.Second))
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("idle connection: %v, want the server to close it", err)
	}
	if took := time.Since(idle); took < limit/2 {
		t.Fatalf("closed after %s, before the idle timeout", took)
	}
}

// gateBackend is a Backend whose Accept waits for accept to close and
// whose drain waits for drain to close; it records what happened in
// order.
type gateBackend struct {
	accept, drain chan struct{}
	acceptErr     error
	events        atomic.Int64
	mu            sync.Mutex
	log           []string
}

func newGateBackend() *gateBackend {
	return &gateBackend{accept: make(chan struct{}), drain: make(chan struct{})}
}

func (g *gateBackend) make(Hooks) (Backend, error) { return g, nil }

func (g *gateBackend) record(s string) {
	g.mu.Lock()
	g.log = append(g.log, s)
	g.mu.Unlock()
}

// steps is what happened so far, in order.
func (g *gateBackend) steps() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.log...)
}

func (g *gateBackend) Accept(ctx context.Context, in *Intake) error {
	g.record("accepting")
	select {
	case <-g.accept:
	case <-ctx.Done():
		return ctx.Err()
	}
	if g.acceptErr != nil {
		return g.acceptErr
	}
	g.events.Add(int64(in.Events))
	g.record(fmt.Sprintf("accepted %d", in.Events))
	return nil
}

func (g *gateBackend) KeepEvents() int64 { return 0 }

func (g *gateBackend) JournalHead(time.Time, Body) ([]byte, error) { return nil, nil }

func (g *gateBackend) Run(ctx, drainCtx context.Context) error {
	<-ctx.Done()
	g.record("draining")
	select {
	case <-g.drain:
	case <-drainCtx.Done():
	}
	g.record("drained")
	return nil
}

func (g *gateBackend) Ready() error { return nil }
func (g *gateBackend) Close() error { return nil }

// Past the requests in flight, ingest answers 503 at once; a slot is held
// from the check to the answer.
func TestOverloadInflight(t *testing.T) {
	gate := newGateBackend()
	close(gate.drain)
	r := start(t, Config{Cluster: gate.make, MaxInflight: 1, Sinks: sinks(&livetest.MemSink{})})
	stopRec, startRec := stopStart(1)
	done := make(chan int, 1)
	go func() {
		code, _, _ := tryPost(r.url, livetest.Lines(stopRec))
		done <- code
	}()
	livetest.WaitFor(t, 10*time.Second, "the first request in Accept", func() bool { return len(gate.steps()) == 1 })
	code, a, h := post(t, r.url, livetest.Lines(startRec))
	if code != 503 || h.Get("Retry-After") == "" || a.Reason != "overloaded" {
		t.Fatalf("with the only slot held: %d %+v", code, a)
	}
	close(gate.accept)
	if code := <-done; code != 202 {
		t.Fatalf("the first request: %d", code)
	}
	if code, _, _ := post(t, r.url, livetest.Lines(startRec)); code != 202 {
		t.Fatalf("once the slot is free: %d", code)
	}
}

// A backend that does not store a request within StoreTimeout frees the
// slot: the request is answered 503 with Retry-After, and the next one
// gets the slot.
func TestStoreTimeoutFreesTheSlot(t *testing.T) {
	const storeTimeout = 200 * time.Millisecond
	gate := newGateBackend()
	close(gate.drain)
	r := start(t, Config{Cluster: gate.make, MaxInflight: 1, StoreTimeout: storeTimeout, Sinks: sinks(&livetest.MemSink{})})
	stopRec, _ := stopStart(1)
	began := time.Now()
	code, a, h := post(t, r.url, livetest.Lines(stopRec))
	if code != 503 || a.Reason != "overloaded" || h.Get("Retry-After") == "" {
		t.Fatalf("a store that never ends: %d %+v", code, a)
	}
	if took := time.Since(began); took < storeTimeout {
		t.Fatalf("answered after %s, before the store timeout", took)
	}
	close(gate.accept)
	if code, a, _ := post(t, r.url, livetest.Lines(stopRec)); code != 202 {
		t.Fatalf("the next request: %d %+v", code, a)
	}
}

// A store error is logged with what it says (the state file's path) and
// answered 503 without it.
func TestStoreErrorHidesPaths(t *testing.T) {
	gate := newGateBackend()
	close(gate.accept)
	close(gate.drain)
	gate.acceptErr = fmt.Errorf("journal: write /var/lib/revertwatch/revertwatch.db: no space left on device")
	var logged bytes.Buffer
	var mu sync.Mutex
	r := start(t, Config{Cluster: gate.make, Logger: newTestLogger(&logged, &mu), Sinks: sinks(&livetest.MemSink{})})
	stopRec, _ := stopStart(1)
	code, a, h := post(t, r.url, livetest.Lines(stopRec))
	if code != 503 || h.Get("Retry-After") == "" {
		t.Fatalf("answer %d %+v", code, a)
	}
	if strings.Contains(a.Error, "/var/lib") || strings.Contains(a.Error, "revertwatch.db") {
		t.Fatalf("the answer shows the state path: %q", a.Error)
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logged.String(), "/var/lib/revertwatch/revertwatch.db") {
		t.Fatalf("the log lacks the error: %s", logged.String())
	}
}

// lockedWriter serialises a log's writes into a buffer the test reads.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func newTestLogger(w io.Writer, mu *sync.Mutex) *slog.Logger {
	return slog.New(slog.NewTextHandler(lockedWriter{mu: mu, w: w}, nil))
}

// SIGTERM under load: /readyz goes not-ready, ingest answers 503 with
// Retry-After on new connections while the backend drains (rather than
// the connection being refused), a request already storing finishes with
// 202 before the drain begins, and the listener closes only once the
// drain is done.
func TestShutdownAnswers503WhileDraining(t *testing.T) {
	gate := newGateBackend()
	r := start(t, Config{Cluster: gate.make, Sinks: sinks(&livetest.MemSink{})})
	stopRec, startRec := stopStart(1)
	first := make(chan int, 1)
	go func() {
		code, _, _ := tryPost(r.url, livetest.Lines(stopRec, startRec))
		first <- code
	}()
	livetest.WaitFor(t, 10*time.Second, "a request storing", func() bool { return len(gate.steps()) == 1 })
	r.stop()
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	livetest.WaitFor(t, 10*time.Second, "/readyz not ready", func() bool {
		resp, err := fresh.Get(r.url + "/readyz")
		if err != nil {
			t.Fatalf("/readyz refused during shutdown: %v", err)
		}
		resp.Body.Close()
		return resp.StatusCode == 503
	})
	ingest503 := func() {
		t.Helper()
		resp, err := fresh.Post(r.url+"/v1/ingest", "application/json", bytes.NewReader(livetest.Lines(stopRec)))
		if err != nil {
			t.Fatalf("ingest refused during shutdown: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("ingest during shutdown: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
	}
	ingest503()
	close(gate.accept)
	if code := <-first; code != 202 {
		t.Fatalf("the request storing when shutdown began: %d", code)
	}
	livetest.WaitFor(t, 10*time.Second, "the drain", func() bool { return len(gate.steps()) == 3 })
	ingest503() // still answering while the backend drains
	close(gate.drain)
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after the drain")
	}
	if got := gate.steps(); !equalStrings(got, []string{"accepting", "accepted 2", "draining", "drained"}) {
		t.Fatalf("steps %v", got)
	}
	if _, err := fresh.Get(r.url + "/healthz"); err == nil {
		t.Fatal("still listening after Run returned")
	}
}
