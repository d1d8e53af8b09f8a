package blob_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/revertwatch/revertwatch/ingest"
	"github.com/revertwatch/revertwatch/internal/livetest"
	"github.com/revertwatch/revertwatch/live"
	"github.com/revertwatch/revertwatch/live/blob"
	"github.com/revertwatch/revertwatch/live/sink"
	"github.com/revertwatch/revertwatch/live/store"
	"github.com/revertwatch/revertwatch/source"
)

const (
	exports = "insights-activity-logs"
	sub     = "0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d"
)

// watcher runs the input on a state directory; each poll is driven by
// the test.
type watcher struct {
	t     *testing.T
	u     source.BlobURL
	b     *source.Blob
	state string
	mem   *livetest.MemSink
	polls chan struct{}
	in    *blob.Input
	stop  func()

	mu    sync.Mutex
	diags []ingest.Diag
}

func (w *watcher) diag(d ingest.Diag) {
	w.mu.Lock()
	w.diags = append(w.diags, d)
	w.mu.Unlock()
}

func (w *watcher) Diags() []ingest.Diag {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]ingest.Diag(nil), w.diags...)
}

func newWatcher(t *testing.T, az *livetest.Azurite) *watcher {
	t.Setenv(source.ConnectionStringEnv, az.ConnectionString)
	w := newBenchWatcher(t, az)
	w.t, w.state = t, t.TempDir()
	return w
}

// newBenchWatcher makes the client and the sink; the connection string is
// in the environment.
func newBenchWatcher(t testing.TB, az *livetest.Azurite) *watcher {
	u := source.BlobURL{Account: livetest.AzuriteAccount, Container: exports}
	b, err := source.NewBlob(u, 2)
	if err != nil {
		t.Fatal(err)
	}
	return &watcher{u: u, b: b, mem: &livetest.MemSink{}}
}

// start runs the input from the state's checkpoint; stop ends it as a
// signal would.
func (w *watcher) start(since time.Time) { w.startWith(blob.Options{Since: since}) }

// startWith runs the input with options (the URL, client, polls and
// diagnostics are the watcher's).
func (w *watcher) startWith(o blob.Options) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	started := make(chan *blob.Input, 1)
	w.polls = make(chan struct{})
	o.URL, o.Blob, o.Polls, o.OnDiag = w.u, w.b, w.polls, w.diag
	go func() {
		done <- blob.Run(ctx, blob.RunOptions{
			Input:     o,
			StateDir:  w.state,
			Sinks:     sink.NewFanout(w.mem),
			IdleFlush: time.Nanosecond, // every poll that reads nothing flushes
			Processor: live.Options{Lateness: time.Hour},
			OnStart:   func(in *blob.Input) { started <- in },
		})
	}()
	select {
	case w.in = <-started:
	case err := <-done:
		w.t.Fatal(err)
	}
	// The first poll comes at once.
	livetest.WaitFor(w.t, 30*time.Second, "the first poll", func() bool { return w.in.Stats().Polls >= 1 })
	w.stop = func() {
		cancel()
		if err := <-done; err != nil {
			w.t.Fatal(err)
		}
	}
}

// poll makes the input list and read, then poll again (reading nothing,
// which flushes what waits for the lateness), and returns once both are
// done.
func (w *watcher) poll() {
	base := w.in.Stats().Polls
	for range 2 {
		w.polls <- struct{}{}
	}
	livetest.WaitFor(w.t, 30*time.Second, "two polls", func() bool { return w.in.Stats().Polls >= base+2 })
}

func (w *watcher) waitFindings(n int) {
	w.t.Helper()
	livetest.WaitFor(w.t, 30*time.Second, fmt.Sprint(n, " findings"), func() bool { return w.mem.Len() >= n })
}

func line(r []byte) []byte { return append(r, '\n') }

// TestAppendedBlob: records appended to the hour's blob in steps — one
// leaving half a record — are each read once, from the offset; a restart
// reads on from the checkpoint's offsets, only the new bytes; a blob
// deleted and written anew is read again from the start; every finding
// comes once, as the detector at rest makes them.
func TestAppendedBlob(t *testing.T) {
	az := livetest.NewAzurite(t)
	az.Container(t, exports)
	w := newWatcher(t, az)
	hour := time.Date(2026, 11, 2, 14, 0, 0, 0, time.UTC)
	name := livetest.ExportBlob(sub, hour)
	rec := func(i int) []byte {
		return livetest.AzureReimage(sub, fmt.Sprint("vm-", i), hour.Add(time.Duration(i)*time.Minute))
	}
	az.CreateAppend(t, exports, name)
	w.start(time.Time{})

	az.Append(t, exports, name, append(line(rec(1)), line(rec(2))...))
	w.poll()
	w.waitFindings(2)

	// Half a record: the whole one before it is read, the half is not.
	r4 := line(rec(4))
	az.Append(t, exports, name, append(line(rec(3)), r4[:len(r4)/2]...))
	w.poll()
	w.waitFindings(3)
	gets := w.b.Gets.Load()
	w.poll()
	if n := w.mem.Len(); n != 3 {
		t.Fatalf("%d findings with half a record appended, want 3", n)
	}
	if n := w.b.Gets.Load() - gets; n != 0 {
		t.Errorf("%d reads of a blob that did not change since its half record was looked at", n)
	}
	az.Append(t, exports, name, r4[len(r4)/2:])
	w.poll()
	w.waitFindings(4)
	w.stop()

	// A restart reads only what was appended since.
	az.Append(t, exports, name, line(rec(5)))
	w.start(time.Time{})
	w.poll()
	w.waitFindings(5)
	if st := w.in.Stats(); st.Bytes != int64(len(line(rec(5)))) {
		t.Errorf("the restarted input read %d bytes, want the %d appended since", st.Bytes, len(line(rec(5))))
	}

	// Deleted and written anew, longer than the offset read: read from
	// the start (the creation time may be the same second; the bytes
	// before the offset are not the same).
	az.Delete(t, exports, name)
	az.CreateAppend(t, exports, name)
	var anew []byte
	for i := 6; i < 13; i++ {
		anew = append(anew, line(rec(i))...)
	}
	az.Append(t, exports, name, anew)
	w.poll()
	w.waitFindings(12)
	w.poll()
	if st := w.in.Stats(); st.Resets != 1 {
		t.Errorf("%d blobs read again from the start, want the one written anew", st.Resets)
	}
	w.stop()

	want, err := livetest.Oracle(time.Hour, nil, append(line(rec(1)), line(rec(2))...), line(rec(3)), r4, line(rec(5)), anew)
	if err != nil {
		t.Fatal(err)
	}
	if got := w.mem.IDs(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("findings %v, want each of %v once", got, want)
	}
}

// TestListingWindow: the listing starts an hour before the newest blob
// read (Since on a first start), and the position forgets the blobs
// behind it.
func TestListingWindow(t *testing.T) {
	az := livetest.NewAzurite(t)
	az.Container(t, exports)
	w := newWatcher(t, az)
	h := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	for i := range 4 {
		name := livetest.ExportBlob(sub, h.Add(time.Duration(i)*time.Hour))
		az.CreateAppend(t, exports, name)
		az.Append(t, exports, name, line(livetest.AzureReimage(sub, fmt.Sprint("vm-", i), h.Add(time.Duration(i)*time.Hour))))
	}
	// --since in hour 11: hours 11, 12 and 13 are read.
	w.start(h.Add(90 * time.Minute))
	w.poll()
	w.waitFindings(3)
	w.stop()
	names := marks(t, w.state)
	want := []string{livetest.ExportBlob(sub, h.Add(2*time.Hour)), livetest.ExportBlob(sub, h.Add(3*time.Hour))}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Errorf("the position holds %v, want the newest hour and the one before: %v", names, want)
	}
	// A new hour: read, and the window moves on.
	next := livetest.ExportBlob(sub, h.Add(4*time.Hour))
	az.CreateAppend(t, exports, next)
	az.Append(t, exports, next, line(livetest.AzureReimage(sub, "vm-4", h.Add(4*time.Hour))))
	w.start(time.Time{})
	w.poll()
	w.waitFindings(4)
	w.poll()
	w.stop()
	if n := w.mem.Len(); n != 4 {
		t.Errorf("%d findings, want 4", n)
	}
}

// marks reads the blob names of the position the state's checkpoint
// holds.
func marks(t *testing.T, dir string) []string {
	t.Helper()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cp, err := store.Checkpoints{S: st}.Load(context.Background())
	if err != nil || cp == nil {
		t.Fatalf("no checkpoint: %v", err)
	}
	var pos store.Position
	if err := json.Unmarshal(cp.Position, &pos); err != nil {
		t.Fatal(err)
	}
	p, err := blob.ParsePosition(pos.Files)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range p.Blobs {
		names = append(names, m.Name)
	}
	return names
}

// TestWrittenAnewSameSecond: a blob deleted and written anew within the
// second its creation time is kept to (here: the checkpoint made to say
// so) is known by the bytes before the offset, and read from the start.
func TestWrittenAnewSameSecond(t *testing.T) {
	az := livetest.NewAzurite(t)
	az.Container(t, exports)
	w := newWatcher(t, az)
	hour := time.Date(2026, 11, 2, 14, 0, 0, 0, time.UTC)
	name := livetest.ExportBlob(sub, hour)
	rec := func(i int) []byte {
		return line(livetest.AzureReimage(sub, fmt.Sprint("vm-", i), hour.Add(time.Duration(i)*time.Minute)))
	}
	az.CreateAppend(t, exports, name)
	az.Append(t, exports, name, rec(1))
	w.start(time.Time{})
	w.poll()
	w.waitFindings(1)
	w.stop()

	az.Delete(t, exports, name)
	az.CreateAppend(t, exports, name)
	az.Append(t, exports, name, append(rec(2), rec(3)...))
	objs, err := w.b.List(context.Background(), w.u, nil)
	if err != nil || len(objs) != 1 {
		t.Fatalf("listing: %v %v", objs, err)
	}
	setCreated(t, w.state, name, objs[0].Created)

	w.start(time.Time{})
	w.poll()
	w.waitFindings(3)
	if st := w.in.Stats(); st.Resets != 1 {
		t.Errorf("%d blobs read again from the start, want 1", st.Resets)
	}
	w.stop()
	want, err := livetest.Oracle(time.Hour, nil, rec(1), rec(2), rec(3))
	if err != nil {
		t.Fatal(err)
	}
	if got := w.mem.IDs(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("findings %v, want each of %v once", got, want)
	}
}

// setCreated rewrites the creation time of a blob's mark in the state's
// checkpoint.
func setCreated(t *testing.T, dir, name string, created time.Time) {
	t.Helper()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cps := store.Checkpoints{S: st}
	cp, err := cps.Load(context.Background())
	if err != nil || cp == nil {
		t.Fatalf("no checkpoint: %v", err)
	}
	var pos store.Position
	if err := json.Unmarshal(cp.Position, &pos); err != nil {
		t.Fatal(err)
	}
	p, err := blob.ParsePosition(pos.Files)
	if err != nil {
		t.Fatal(err)
	}
	for i := range p.Blobs {
		if p.Blobs[i].Name == name {
			p.Blobs[i].Created = created
		}
	}
	if pos.Files, err = json.Marshal(p); err != nil {
		t.Fatal(err)
	}
	if cp.Position, err = json.Marshal(pos); err != nil {
		t.Fatal(err)
	}
	if err := cps.Commit(context.Background(), cp); err != nil {
		t.Fatal(err)
	}
}

// TestWholeDocument: a blob that is one JSON document (a CloudTrail
// Records file uploaded beside the export) is read once it has stopped
// changing between two listings, and once.
func TestWholeDocument(t *testing.T) {
	az := livetest.NewAzurite(t)
	az.Container(t, exports)
	w := newWatcher(t, az)
	acct := "111122223333"
	inst := livetest.Instance(acct, "doc")
	at := time.Date(2026, 11, 2, 14, 0, 0, 0, time.UTC)
	doc := fmt.Appendf(nil, "{\"Records\":[\n%s,\n%s\n]}\n", livetest.Record(acct, "us-east-1", "StopInstances", inst, at),
		livetest.Record(acct, "us-east-1", "StartInstances", inst, at.Add(3*time.Minute)))
	az.Put(t, exports, "uploads/trail.json", doc)
	w.start(time.Time{}) // the first listing sees it change (it is new)
	w.poll()             // the second sees it unchanged: read
	w.waitFindings(1)
	w.poll()
	w.stop()
	want, err := livetest.Oracle(time.Hour, nil, doc)
	if err != nil {
		t.Fatal(err)
	}
	if got := w.mem.IDs(); strings.Join(got, ",") != strings.Join(want, ",") || len(want) != 1 {
		t.Errorf("findings %v, want %v", got, want)
	}
}

// TestListingCost measures a poll of a container holding 30 days of two
// subscriptions' hourly blobs: the listing is walked from an hour before
// the newest blob read, not over every blob.
func TestListingCost(t *testing.T) {
	if testing.Short() {
		t.Skip("uploads 1,440 blobs")
	}
	az := livetest.NewAzurite(t)
	az.Container(t, exports)
	w := newWatcher(t, az)
	subs := []string{sub, "11111111-2222-3333-4444-555555555555"}
	last := time.Date(2026, 11, 30, 23, 0, 0, 0, time.UTC)
	blobs := 0
	for _, s := range subs {
		for h := 0; h < 30*24; h++ {
			hour := last.Add(-time.Duration(h) * time.Hour)
			az.Put(t, exports, livetest.ExportBlob(s, hour), []byte{})
			blobs++
		}
	}
	flat, err := w.b.List(context.Background(), w.u, nil)
	if err != nil || len(flat) != blobs {
		t.Fatalf("listed %d of %d blobs: %v", len(flat), blobs, err)
	}
	flatLists := w.b.Lists.Load()
	w.start(last.Add(-30 * time.Minute))
	w.poll()
	w.stop()
	lists := w.b.Lists.Load() - flatLists
	polls := w.in.Stats().Polls
	names := marks(t, w.state)
	t.Logf("%d blobs: a flat listing takes %d calls and returns all; a poll takes %.1f calls and keeps %d blobs in the position",
		blobs, flatLists, float64(lists)/float64(polls), len(names))
	if len(names) != 2*len(subs) {
		t.Errorf("the position holds %d blobs, want the last two hours of each subscription", len(names))
	}
}

// TestBadRecord: a damaged record in a blob is reported by the blob's
// name and its line, counted across reads, and the records around it are
// read.
func TestBadRecord(t *testing.T) {
	az := livetest.NewAzurite(t)
	az.Container(t, exports)
	w := newWatcher(t, az)
	hour := time.Date(2026, 11, 2, 14, 0, 0, 0, time.UTC)
	name := livetest.ExportBlob(sub, hour)
	rec := func(i int) []byte {
		return line(livetest.AzureReimage(sub, fmt.Sprint("vm-", i), hour.Add(time.Duration(i)*time.Minute)))
	}
	az.CreateAppend(t, exports, name)
	az.Append(t, exports, name, append(rec(1), rec(2)...))
	w.start(time.Time{})
	w.poll()
	w.waitFindings(2)
	az.Append(t, exports, name, append([]byte("{\"time\": 2026-11-02, broken\n"), rec(3)...))
	w.poll()
	w.waitFindings(3)
	w.stop()
	var bad []ingest.Diag
	for _, d := range w.Diags() {
		if d.Severity != ingest.Skipped {
			bad = append(bad, d)
		}
	}
	if len(bad) != 1 || bad[0].File != w.u.Name(name) || bad[0].Line != 3 {
		t.Errorf("diagnostics %v, want one of %s line 3", bad, w.u.Name(name))
	}
}

// TestBacklog: a backlog is read a few chunks at a time, each followed by
// a checkpoint, without waiting for the next poll, and the listing window
// does not move past an older blob not yet read to its end; every record
// once.
func TestBacklog(t *testing.T) {
	az := livetest.NewAzurite(t)
	az.Container(t, exports)
	w := newWatcher(t, az)
	h := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	var bodies [][]byte
	for i := range 6 {
		hour := h.Add(time.Duration(i) * time.Hour)
		name := livetest.ExportBlob(sub, hour)
		var body []byte
		for j := range 5 {
			body = append(body, line(livetest.AzureReimage(sub, fmt.Sprint("vm-", i, "-", j), hour.Add(time.Duration(j)*time.Minute)))...)
		}
		az.CreateAppend(t, exports, name)
		az.Append(t, exports, name, body)
		bodies = append(bodies, body)
	}
	// Chunks of 1 KiB: a record or two each, four chunks a read.
	w.startWith(blob.Options{Chunk: 1024, Ingest: ingest.Options{MaxRecordSize: 1023}})
	livetest.WaitFor(t, 30*time.Second, "the backlog read", func() bool {
		st := w.in.Stats()
		return st.Events == 30
	})
	w.poll()
	w.waitFindings(30)
	polls := w.in.Stats().Polls
	w.stop()
	// 30 records of 628 bytes, 4 KiB a read: at least 5 reads.
	if polls < 5 {
		t.Errorf("the backlog was read in %d polls, want one per four chunks", polls)
	}
	want, err := livetest.Oracle(time.Hour, nil, bodies...)
	if err != nil {
		t.Fatal(err)
	}
	if got := w.mem.IDs(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("findings %v, want each of %v once", got, want)
	}
}
