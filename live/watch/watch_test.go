package watch

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/revertwatch/revertwatch/emulate"
	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/ingest"
	"github.com/revertwatch/revertwatch/internal/livetest"
	"github.com/revertwatch/revertwatch/live"
	"github.com/revertwatch/revertwatch/live/sink"
)

var t0 = time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)

func appendFile(t *testing.T, path string, data []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

func pair(i int) (stop, start []byte) {
	acct := livetest.Account(i)
	inst := livetest.Instance(acct, "web")
	at := t0.Add(time.Duration(i) * time.Minute)
	return livetest.Record(acct, "us-east-1", "StopInstances", inst, at),
		livetest.Record(acct, "us-east-1", "StartInstances", inst, at.Add(3*time.Minute))
}

type runningWatch struct {
	w    *Watcher
	stop context.CancelFunc
	done chan error
}

func run(t *testing.T, opt Options) *runningWatch {
	t.Helper()
	w, err := New(opt)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &runningWatch{w: w, stop: cancel, done: make(chan error, 1)}
	go func() { r.done <- w.Run(ctx) }()
	return r
}

func (r *runningWatch) close(t *testing.T) {
	t.Helper()
	r.stop()
	if err := <-r.done; err != nil {
		t.Fatal(err)
	}
	if err := r.w.Close(); err != nil {
		t.Fatal(err)
	}
}

// Lines appended to a file, the file rotated (renamed, a new one in its
// place) while the watch runs, a restart on the same state: every
// sequence gives one finding, and no byte is read twice.
func TestAppendRotateRestart(t *testing.T) {
	dir := t.TempDir()
	logs := filepath.Join(dir, "logs")
	os.MkdirAll(logs, 0o755)
	active := filepath.Join(logs, "cloudtrail.jsonl")
	mem := &livetest.MemSink{}
	opt := Options{Paths: []string{logs}, StateDir: filepath.Join(dir, "state"), Poll: 20 * time.Millisecond,
		IdleFlush: 300 * time.Millisecond, Processor: live.Options{Lateness: time.Hour}, Sinks: sink.NewFanout(mem)}
	var all [][]byte
	write := func(path string, recs ...[]byte) {
		appendFile(t, path, livetest.Lines(recs...))
		all = append(all, livetest.Lines(recs...))
	}

	r := run(t, opt)
	s0, e0 := pair(0)
	write(active, s0)
	// A half-written line is not read until it is whole.
	s1, e1 := pair(1)
	appendFile(t, active, s1[:40])
	livetest.WaitFor(t, 20*time.Second, "the first line", func() bool { return r.w.Stats().Events >= 1 })
	appendFile(t, active, append(s1[40:], '\n'))
	all = append(all, livetest.Lines(s1))
	write(active, e0)
	// Rotation: the file moves aside and gets more lines; a new file
	// takes its name.
	if err := os.Rename(active, active+".1"); err != nil {
		t.Fatal(err)
	}
	write(active+".1", e1)
	s2, e2 := pair(2)
	write(active, s2)
	livetest.WaitFor(t, 20*time.Second, "two findings", func() bool { return len(mem.IDs()) == 2 })
	events := r.w.Stats().Events
	r.close(t)
	if events != 5 {
		t.Errorf("read %d events, want 5", events)
	}

	// Restart: only what was appended since is read.
	write(active, e2)
	r = run(t, opt)
	livetest.WaitFor(t, 20*time.Second, "the third finding", func() bool { return len(mem.IDs()) == 3 })
	r.close(t)
	if n := r.w.Stats().Events; n != 1 {
		t.Errorf("after the restart %d events were read, want only the appended 1", n)
	}
	want, err := livetest.Oracle(time.Hour, nil, all...)
	if err != nil {
		t.Fatal(err)
	}
	if got := mem.IDs(); len(got) != len(want) || len(want) != 3 {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if mem.IDs()[i] != want[i] {
			t.Fatalf("got %v, want %v", mem.IDs(), want)
		}
	}
}

// An S3 sync target: gzip CloudTrail files and Azure exports appear whole;
// --once reads them, and the findings are hunt's, exact at rest.
func TestOnceOverEmulatedExport(t *testing.T) {
	corpus, err := emulate.Generate(emulate.Options{Seed: 1, Shapes: []emulate.Shape{event.FormatCloudTrailRecords, event.FormatAzureStorage}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := corpus.Write(filepath.Join(dir, "logs")); err != nil {
		t.Fatal(err)
	}
	var bodies [][]byte
	for _, f := range corpus.Files {
		bodies = append(bodies, f.Data)
	}
	const lateness = 48 * time.Hour
	want, err := livetest.AtRest(bodies...)
	if err != nil {
		t.Fatal(err)
	}
	mem := &livetest.MemSink{}
	w, err := New(Options{Paths: []string{filepath.Join(dir, "logs")}, StateDir: filepath.Join(dir, "state"), Poll: 10 * time.Millisecond,
		Once: true, Processor: live.Options{Lateness: lateness}, Sinks: sink.NewFanout(mem)})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	w.Close()
	got := mem.IDs()
	if len(got) != len(want) {
		t.Fatalf("got %d findings %v, want %d %v", len(got), got, len(want), want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	if len(want) == 0 {
		t.Fatal("the export made no finding")
	}
}

// Google Cloud's delivery shapes as files a responder syncs or a sink
// writes (gcloud's newest-first arrays, the Cloud Storage sink's lines,
// entries.list answers, Pub/Sub messages, BigQuery rows), in every order
// the emulation writes: watch --once finds every Google Cloud revert,
// exactly hunt's findings.
func TestOnceOverGCPShapesEveryOrder(t *testing.T) {
	for _, order := range emulate.Orders() {
		t.Run(string(order), func(t *testing.T) {
			corpus, err := emulate.Generate(emulate.Options{Seed: 16, Scenarios: []string{"gcp-*"}, Shapes: emulate.GCPShapes, Order: order})
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			if err := corpus.Write(filepath.Join(dir, "logs")); err != nil {
				t.Fatal(err)
			}
			var bodies [][]byte
			for _, f := range corpus.Files {
				bodies = append(bodies, f.Data)
			}
			want, err := livetest.AtRest(bodies...)
			if err != nil {
				t.Fatal(err)
			}
			mem := &livetest.MemSink{}
			w, err := New(Options{Paths: []string{filepath.Join(dir, "logs")}, StateDir: filepath.Join(dir, "state"), Poll: 10 * time.Millisecond,
				Once: true, Processor: live.Options{Lateness: 48 * time.Hour}, Sinks: sink.NewFanout(mem)})
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			w.Close()
			if got := mem.IDs(); len(want) == 0 || strings.Join(got, ",") != strings.Join(want, ",") {
				t.Fatalf("got %d findings %v, want hunt's %d %v", len(got), got, len(want), want)
			}
			fired := map[string]bool{}
			for _, f := range mem.Findings() {
				fired[f.RuleID] = true
			}
			for _, sc := range corpus.Truth.Scenarios {
				for _, rule := range sc.Rules {
					if sc.ExpectFinding && !fired[rule] {
						t.Errorf("scenario %s: rule %s never fired", sc.ID, rule)
					}
				}
			}
		})
	}
}

// A damaged line at the start of what a poll reads (a writer that died
// mid-record, then went on) loses only itself: the lines after it, read
// in the same chunk, still give their finding, and the damage is
// reported with its file and line.
func TestDamagedLineStartsChunk(t *testing.T) {
	dir := t.TempDir()
	logs := filepath.Join(dir, "logs")
	os.MkdirAll(logs, 0o755)
	active := filepath.Join(logs, "cloudtrail.jsonl")
	mem := &livetest.MemSink{}
	var diags []string
	var mu sync.Mutex
	opt := Options{Paths: []string{logs}, StateDir: filepath.Join(dir, "state"), Poll: 20 * time.Millisecond,
		IdleFlush: 300 * time.Millisecond, Processor: live.Options{Lateness: time.Hour}, Sinks: sink.NewFanout(mem),
		OnDiag: func(d ingest.Diag) {
			mu.Lock()
			diags = append(diags, d.String())
			mu.Unlock()
		}}
	r := run(t, opt)
	s0, e0 := pair(0)
	appendFile(t, active, livetest.Lines(s0))
	livetest.WaitFor(t, 20*time.Second, "the first line", func() bool { return r.w.Stats().Events >= 1 })
	s1, e1 := pair(1)
	damaged := append([]byte(`{"eventVersion":"1.08","eventTime":"2026-11-02T10:00:00Z","eventName":"Stop`), '\n')
	appendFile(t, active, append(damaged, livetest.Lines(e0, s1, e1)...))
	livetest.WaitFor(t, 20*time.Second, "two findings", func() bool { return len(mem.IDs()) == 2 })
	r.close(t)
	mu.Lock()
	defer mu.Unlock()
	if len(diags) != 1 || !strings.Contains(diags[0], "cloudtrail.jsonl:2") {
		t.Errorf("diagnostics %q: want one, naming line 2", diags)
	}
}
