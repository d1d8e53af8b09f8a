package watch

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/revertwatch/revertwatch/ingest"
	"github.com/revertwatch/revertwatch/internal/livetest"
	"github.com/revertwatch/revertwatch/live"
	"github.com/revertwatch/revertwatch/live/sink"
)

// pollAll polls once and returns the data handed, by file.
func pollAll(t *testing.T, f *Follower) map[string]string {
	t.Helper()
	out := map[string]string{}
	if err := f.Poll(func(c *Chunk) error {
		b, err := io.ReadAll(c.R)
		out[filepath.Base(c.Path)] += string(b)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// A writer that stops in the middle of a line for many polls — long
// enough for the file to look settled — does not get the first half read
// as a record: the line is read once its newline is there. A last line
// without a newline is read when it is a whole JSON value.
func TestLineReadOnlyWhole(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ct.jsonl")
	s0, s1 := pair(0)
	appendFile(t, path, append(append([]byte(nil), s0...), '\n'))
	appendFile(t, path, s1[:len(s1)/2])
	f, err := NewFollower([]string{dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := pollAll(t, f)["ct.jsonl"]; got != string(s0)+"\n" {
		t.Fatalf("first poll read %q", got)
	}
	for i := 0; i < 5; i++ {
		if got := pollAll(t, f); len(got) != 0 {
			t.Fatalf("poll %d read %q of a line not yet whole", i, got)
		}
	}
	appendFile(t, path, s1[len(s1)/2:]) // whole now, still no newline
	var got string
	for i := 0; i < 3 && got == ""; i++ { // read once settled
		got = pollAll(t, f)["ct.jsonl"]
	}
	if got != string(s1) {
		t.Fatalf("the whole last line read as %q", got)
	}
	appendFile(t, path, []byte("\n"))
	s2, _ := pair(2)
	appendFile(t, path, append(s2, '\n'))
	if got := pollAll(t, f)["ct.jsonl"]; got != "\n"+string(s2)+"\n" {
		t.Fatalf("after the last line: %q", got)
	}
}

// The same through a watch: the records of a line written in two parts
// with polls between are read once, whole, with no diagnostic.
func TestWatchLineInTwoParts(t *testing.T) {
	dir := t.TempDir()
	logs := filepath.Join(dir, "logs")
	os.MkdirAll(logs, 0o755)
	path := filepath.Join(logs, "ct.jsonl")
	var diags atomic.Int32
	mem := &livetest.MemSink{}
	r := run(t, Options{Paths: []string{logs}, StateDir: filepath.Join(dir, "state"), Poll: 5 * time.Millisecond,
		Processor: live.Options{Lateness: time.Hour}, Sinks: sink.NewFanout(mem), OnDiag: func(ingest.Diag) { diags.Add(1) }})
	s0, _ := pair(0)
	appendFile(t, path, s0[:len(s0)/2])
	// Many polls while the line is half written: the file looks
	// settled from the second on.
	livetest.WaitFor(t, 10*time.Second, "20 polls", func() bool { return r.w.polls.Load() >= 20 })
	if n := r.w.Stats().Events; n != 0 || diags.Load() != 0 {
		t.Fatalf("half a line gave %d events, %d diagnostics", n, diags.Load())
	}
	appendFile(t, path, append(s0[len(s0)/2:], '\n'))
	livetest.WaitFor(t, 10*time.Second, "the record", func() bool { return r.w.Stats().Events == 1 })
	r.close(t)
	if diags.Load() != 0 {
		t.Fatalf("%d diagnostics", diags.Load())
	}
}

// watch --once over a backlog much larger than memory should need holds
// one file's read buffer at a time, not every file's new data at once:
// the peak of the heap, sampled while it runs, stays a fraction of the
// data.
func TestOnceMemoryBounded(t *testing.T) {
	dir := t.TempDir()
	logs := filepath.Join(dir, "logs")
	os.MkdirAll(logs, 0o755)
	const files, perFile = 6, 8 << 20
	total := 0
	at := t0
	rec := func(i int) []byte {
		at = at.Add(time.Second)
		acct := livetest.Account(i % 50)
		return livetest.Record(acct, "us-east-1", "DescribeInstances", livetest.Instance(acct, fmt.Sprint(i)), at)
	}
	n := 0
	for i := 0; i < files; i++ {
		var b bytes.Buffer
		for b.Len() < perFile {
			b.Write(rec(n))
			b.WriteByte('\n')
			n++
		}
		total += b.Len()
		if err := os.WriteFile(filepath.Join(logs, fmt.Sprintf("ct-%d.jsonl", i)), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// And a gzip CloudTrail Records document, read whole.
	var doc bytes.Buffer
	doc.WriteString(`{"Records":[`)
	for i := 0; doc.Len() < perFile; i++ {
		if i > 0 {
			doc.WriteByte(',')
		}
		doc.Write(rec(n))
		n++
	}
	doc.WriteString("]}")
	total += doc.Len()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(doc.Bytes())
	zw.Close()
	if err := os.WriteFile(filepath.Join(logs, "records.json.gz"), gz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	doc, gz = bytes.Buffer{}, bytes.Buffer{}

	w, err := New(Options{Paths: []string{logs}, StateDir: filepath.Join(dir, "state"), Poll: time.Millisecond, Once: true,
		MemoryBudget: 4 << 20, SpillDir: dir, Processor: live.Options{Lateness: time.Hour}, Sinks: sink.NewFanout(&livetest.MemSink{})})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				return
			default:
			}
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peak.Load() {
				peak.Store(ms.HeapAlloc)
			}
			time.Sleep(2 * time.Millisecond) // sampling, not waiting for an outcome
		}
	}()
	err = w.Run(context.Background())
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if got := w.Stats().Events; got != n {
		t.Fatalf("read %d events, want %d", got, n)
	}
	grew := int64(peak.Load()) - int64(base.HeapAlloc)
	t.Logf("%d MiB of records in %d files: the heap grew by at most %d MiB", total>>20, files+1, grew>>20)
	if limit := int64(total / 4); grew > limit {
		t.Fatalf("the heap grew by %d MiB over %d MiB of input; want under %d MiB", grew>>20, total>>20, limit>>20)
	}
}
