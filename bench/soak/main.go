// Command soak is the daemon's soak benchmark (issue 19; not a test): it
// runs `revertwatch serve` with a findings file and a webhook, posts a
// mixed load for -duration (JSON lines and gzip Records documents, reverts
// split across requests, noise, bad bodies), makes the webhook fail in
// phases (refusing with 503, then hanging), kills the daemon with SIGKILL
// every -kill-every and starts it again, and samples its RSS every second.
// At the end it lets the daemon catch up, stops it with SIGTERM and
// checks that the findings file holds every finding the batch detector
// makes of all that was accepted, exactly once, with no broken line; that
// the webhook got, or dead-lettered, every one of them (at least once: its
// repeats are counted); and that RSS is flat (the peak of the last third
// against the middle third; the first warms up). Run it so:
//
//	go build -o /tmp/rw ./cmd/revertwatch
//	go run ./bench/soak -bin /tmp/rw -duration 1h
package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/revertwatch/revertwatch/internal/livetest"
)

func main() {
	bin := flag.String("bin", "", "the revertwatch binary (required)")
	dir := flag.String("dir", "", "work directory (default: a new temporary one)")
	duration := flag.Duration("duration", time.Hour, "how long the load runs")
	killEvery := flag.Duration("kill-every", 45*time.Second, "SIGKILL the daemon this often")
	clients := flag.Int("clients", 4, "clients posting at once")
	rate := flag.Int("rate", 20, "requests per second, over all clients")
	flag.Parse()
	if *bin == "" {
		fmt.Fprintln(os.Stderr, "soak: -bin is required")
		flag.Usage()
		os.Exit(2)
	}
	if *dir == "" {
		d, err := os.MkdirTemp("", "revertwatch-soak-")
		if err != nil {
			fail(err)
		}
		*dir = d
	}
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		fail(err)
	}
	if err := run(*bin, *dir, *duration, *killEvery, *clients, *rate); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "soak:", err)
	os.Exit(1)
}

// lateness is the daemon's allowed lateness; step the event time between
// two records, so that an hour of load spans months of event time and the
// state that is kept for a time (the 24 h history of relevant events for
// late replays, repeat windows) reaches its steady size early.
// Event time advances step a record. A revert's start held for a later
// request, or a body retried while the daemon restarts, reaches the
// daemon after bodies made later; at a minute a record, a few seconds of
// that reorder an account's events by days, beyond the 24 h horizon the
// daemon replays late events within (they are counted as too late, and
// only single-event rules see them), which no CloudTrail delivery does.
// At a second a record the same reorder is minutes to hours late, as
// real delivery is, and every revert must be found.
const (
	lateness = 5 * time.Minute
	step     = time.Second
)

// hook is the webhook receiver: it answers 2xx and counts by
// Idempotency-Key, except while it is down (503) or hung (no answer until
// the client gives up).
type hook struct {
	mode atomic.Int32 // 0 up, 1 down, 2 hung
	mu   sync.Mutex
	keys map[string]int
}

const (
	up = iota
	down
	hung
)

func (h *hook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	switch h.mode.Load() {
	case down:
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	case hung:
		<-r.Context().Done()
		return
	}
	h.mu.Lock()
	h.keys[r.Header.Get("Idempotency-Key")]++
	h.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
}

// daemon is the serve process, started again after each kill.
type daemon struct {
	bin, dir, hookURL, addr string
	cmd                     *exec.Cmd
	mu                      sync.Mutex
	starts                  int
}

func (d *daemon) start() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.starts++
	cmd := exec.Command(d.bin, "serve", "--listen", d.addr, "--state-dir", filepath.Join(d.dir, "state"),
		"-o", filepath.Join(d.dir, "findings.ndjson"), "--webhook", d.hookURL,
		"--lateness", lateness.String(), "--idle-flush", "2s", "--shutdown-timeout", "20s")
	log, err := os.OpenFile(filepath.Join(d.dir, "serve.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return err
	}
	d.cmd = cmd
	go func() { _ = cmd.Wait(); log.Close() }()
	// A restart replays the journal and the outbox: on a loaded machine
	// that takes seconds.
	for i := 0; i < 1200; i++ {
		if resp, err := http.Get("http://" + d.addr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("the daemon did not get ready in 60 s")
}

func (d *daemon) signal(s syscall.Signal) *exec.Cmd {
	d.mu.Lock()
	defer d.mu.Unlock()
	_ = d.cmd.Process.Signal(s)
	return d.cmd
}

func (d *daemon) pid() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cmd.Process.Pid
}

// rss reads a process's resident set in bytes (0 when gone).
func rss(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// load makes the bodies: each revert's stop and start, in one request or
// in two, among noise, as JSON lines or gzip Records documents.
type load struct {
	mu      sync.Mutex
	n       int
	pending [][]byte // starts waiting for a later request
	sent    [][]byte // the records of every request that got 202
}

func (l *load) next(rng *rand.Rand) (body []byte, recs [][]byte, gz bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	t0 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	if rng.IntN(50) == 0 {
		return []byte(`{"Records":[{"eventName":`), nil, false // bad body: 400
	}
	for i := 0; i < 1+rng.IntN(3); i++ {
		// A fixed set of accounts, as an organisation has: the state is
		// per account, and must stay flat however long the load runs.
		l.n++
		acct := livetest.Account(l.n % 500)
		inst := livetest.Instance(acct, strconv.Itoa(l.n))
		at := t0.Add(time.Duration(l.n) * step)
		stop := livetest.Record(acct, "us-east-1", "StopInstances", inst, at)
		start := livetest.Record(acct, "us-east-1", "StartInstances", inst, at.Add(3*time.Minute))
		// A later call in the same scope moves its watermark past the
		// start, so that the finding comes under load, not at an idle.
		later := livetest.Record(acct, "us-east-1", "DescribeInstances", inst, at.Add(3*time.Minute+2*lateness))
		recs = append(recs, stop)
		if rng.IntN(2) == 0 {
			recs = append(recs, start, later)
		} else {
			l.pending = append(l.pending, start, later)
		}
	}
	if len(l.pending) > 0 && rng.IntN(2) == 0 {
		recs = append(recs, l.pending...)
		l.pending = nil
	}
	for i := 0; i < 20+rng.IntN(200); i++ {
		l.n++
		acct := livetest.Account(l.n % 97)
		recs = append(recs, livetest.Record(acct, "eu-west-1", "DescribeInstances", livetest.Instance(acct, strconv.Itoa(l.n)), t0.Add(time.Duration(l.n)*step)))
	}
	if rng.IntN(3) == 0 {
		var doc bytes.Buffer
		doc.WriteString(`{"Records":[`)
		for i, r := range recs {
			if i > 0 {
				doc.WriteByte(',')
			}
			doc.Write(r)
		}
		doc.WriteString("]}")
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		zw.Write(doc.Bytes())
		zw.Close()
		return z.Bytes(), recs, true
	}
	return livetest.Lines(recs...), recs, false
}

// post sends a body until it gets 202 (the daemon may be dead, starting,
// or answering 503), or 400 for a bad one.
func post(ctx context.Context, url string, body []byte, gz bool) (int, error) {
	for ctx.Err() == nil {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url+"/v1/ingest", bytes.NewReader(body))
		if gz {
			req.Header.Set("Content-Encoding", "gzip")
		}
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 202 || resp.StatusCode == 400 {
				return resp.StatusCode, nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return 0, ctx.Err()
}

func run(bin, dir string, duration, killEvery time.Duration, clients, rate int) error {
	h := &hook{keys: map[string]int{}}
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go func() { _ = http.Serve(hl, h) }()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	addr := ln.Addr().String()
	ln.Close()
	d := &daemon{bin: bin, dir: dir, hookURL: "http://" + hl.Addr().String() + "/hook", addr: addr}
	if err := d.start(); err != nil {
		return err
	}
	fmt.Printf("soak: %s for %v, SIGKILL every %v, %d clients at %d requests/s, in %s\n", bin, duration, killEvery, clients, rate, dir)

	ctx, cancel := context.WithTimeout(context.Background(), duration)
	defer cancel()
	var wg sync.WaitGroup
	ld := &load{}
	var requests, bad atomic.Int64
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, 19))
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				body, recs, gz := ld.next(rng)
				code, err := post(ctx, "http://"+addr, body, gz)
				if err != nil {
					// Cut off by the end: its records may or may not be in.
					ld.mu.Lock()
					ld.pending = append(ld.pending, recs...)
					ld.mu.Unlock()
					return
				}
				requests.Add(1)
				if code == 400 {
					bad.Add(1)
					continue
				}
				ld.mu.Lock()
				ld.sent = append(ld.sent, recs...)
				ld.mu.Unlock()
			}
		}(uint64(c))
	}
	// The webhook: up 40 s, down 20 s, hung 10 s, over and over.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			for _, p := range []struct {
				mode int32
				d    time.Duration
			}{{up, 40 * time.Second}, {down, 20 * time.Second}, {hung, 10 * time.Second}} {
				h.mode.Store(p.mode)
				select {
				case <-ctx.Done():
					h.mode.Store(up)
					return
				case <-time.After(p.d):
				}
			}
		}
	}()
	// Kills, and RSS samples.
	type sample struct {
		at  time.Duration
		rss int64
	}
	var samples []sample
	began := time.Now()
	kills := 0
	lastKill := time.Now()
	sampler := time.NewTicker(time.Second)
	defer sampler.Stop()
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-sampler.C:
		}
		if r := rss(d.pid()); r > 0 {
			samples = append(samples, sample{time.Since(began), r})
		}
		if os.Getenv("SOAK_METRICS") != "" && len(samples)%15 == 0 {
			printMetrics(addr)
		}
		if time.Since(lastKill) >= killEvery {
			cmd := d.signal(syscall.SIGKILL)
			for cmd.ProcessState == nil {
				time.Sleep(10 * time.Millisecond)
			}
			kills++
			if err := d.start(); err != nil {
				return err
			}
			lastKill = time.Now()
		}
	}
	wg.Wait()
	h.mode.Store(up)
	// Send what was held back, then let the daemon catch up.
	if len(ld.pending) > 0 {
		if _, err := post(context.Background(), "http://"+addr, livetest.Lines(ld.pending...), false); err != nil {
			return err
		}
		ld.sent = append(ld.sent, ld.pending...)
	}
	// The batch detector at rest is exact whatever the order records
	// arrive in; the clients' 202s come back in another order than the
	// daemon's journal has, so a streaming oracle fed in 202 order would
	// differ where a sequence's first step arrived after its last.
	want, err := livetest.AtRest(livetest.Lines(ld.sent...))
	if err != nil {
		return err
	}
	// The expected ids, and the records, for a look at any difference.
	if err := os.WriteFile(filepath.Join(dir, "expected.txt"), []byte(strings.Join(want, "\n")+"\n"), 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "sent.jsonl"), livetest.Lines(ld.sent...), 0o600); err != nil {
		return err
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		got, _, err := fileIDs(filepath.Join(dir, "findings.ndjson"))
		if err != nil {
			return err
		}
		dead := deadLettered(filepath.Join(dir, "state", "webhook-dead-letter.ndjson"))
		if len(got) >= len(want) && covered(want, h, dead) || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	cmd := d.signal(syscall.SIGTERM)
	for cmd.ProcessState == nil {
		time.Sleep(10 * time.Millisecond)
	}

	// The checks.
	got, broken, err := fileIDs(filepath.Join(dir, "findings.ndjson"))
	if err != nil {
		return err
	}
	count := map[string]int{}
	for _, id := range got {
		count[id]++
	}
	var missing, twice []string
	for _, id := range want {
		if count[id] == 0 {
			missing = append(missing, id)
		}
	}
	for id, n := range count {
		if n > 1 {
			twice = append(twice, id)
		}
	}
	wantSet := map[string]bool{}
	for _, id := range want {
		wantSet[id] = true
	}
	extra := 0
	for id := range count {
		if !wantSet[id] {
			extra++
		}
	}
	dead := deadLettered(filepath.Join(dir, "state", "webhook-dead-letter.ndjson"))
	var hookMissing []string
	repeats := 0
	h.mu.Lock()
	for _, id := range want {
		if h.keys[id] == 0 && !dead[id] {
			hookMissing = append(hookMissing, id)
		}
		if h.keys[id] > 1 {
			repeats += h.keys[id] - 1
		}
	}
	h.mu.Unlock()
	third := len(samples) / 3
	peak := func(ss []sample) int64 {
		var m int64
		for _, s := range ss {
			m = max(m, s.rss)
		}
		return m
	}
	// The first third warms up: the event-time core fills its history
	// (the longest rule window plus the 24 h horizon of event time).
	first, last := peak(samples[third:2*third]), peak(samples[len(samples)-third:])
	fmt.Printf("requests %d (bad bodies %d), records accepted %d, daemon starts %d (SIGKILLs %d)\n", requests.Load(), bad.Load(), len(ld.sent), d.starts, kills)
	fmt.Printf("findings expected %d; file: %d lines, missing %d, twice %d, unexpected %d, broken lines %d\n", len(want), len(got), len(missing), len(twice), extra, broken)
	fmt.Printf("webhook: %d findings taken, %d repeats, %d dead-lettered, %d neither\n", len(want)-len(hookMissing)-countDead(want, dead, h), repeats, len(dead), len(hookMissing))
	if m, err := os.ReadFile(filepath.Join(dir, "state", "revertwatch.db")); err == nil {
		fmt.Printf("state file %d MiB\n", len(m)>>20)
	}
	fmt.Printf("RSS: peak of the middle third %d MiB, of the last third %d MiB (samples every second)\n", first>>20, last>>20)
	for i := 0; i < len(samples); i += max(1, len(samples)/12) {
		fmt.Printf("  t=%-6s RSS %d MiB\n", samples[i].at.Truncate(time.Second), samples[i].rss>>20)
	}
	var errs []error
	if len(missing) > 0 || len(twice) > 0 || extra > 0 || broken > 0 {
		sort.Strings(missing)
		errs = append(errs, fmt.Errorf("the findings file is not exactly once: missing %v, twice %v", head(missing), head(twice)))
	}
	if len(hookMissing) > 0 {
		errs = append(errs, fmt.Errorf("the webhook neither got nor dead-lettered %v", head(hookMissing)))
	}
	if first > 0 && last > first*3/2+(32<<20) {
		errs = append(errs, fmt.Errorf("RSS grew: %d MiB in the middle third, %d MiB in the last", first>>20, last>>20))
	}
	return errors.Join(errs...)
}

func head(s []string) []string { return s[:min(len(s), 5)] }

// covered reports whether the webhook got or dead-lettered every id.
func covered(want []string, h *hook, dead map[string]bool) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, id := range want {
		if h.keys[id] == 0 && !dead[id] {
			return false
		}
	}
	return true
}

func countDead(want []string, dead map[string]bool, h *hook) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, id := range want {
		if dead[id] && h.keys[id] == 0 {
			n++
		}
	}
	return n
}

// fileIDs reads the finding ids of the findings file (and its rotated
// files), counting the lines that are not a finding.
func fileIDs(path string) (ids []string, broken int, err error) {
	for _, p := range []string{path + ".5", path + ".4", path + ".3", path + ".2", path + ".1", path} {
		f, err := os.Open(p)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, 0, err
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 16<<20)
		for sc.Scan() {
			var v struct {
				ID string `json:"id"`
			}
			if json.Unmarshal(sc.Bytes(), &v) != nil || v.ID == "" {
				broken++
				continue
			}
			ids = append(ids, v.ID)
		}
		f.Close()
	}
	return ids, broken, nil
}

// deadLettered reads the ids in the webhook's dead-letter file.
func deadLettered(path string) map[string]bool {
	out := map[string]bool{}
	b, err := os.ReadFile(path)
	if err != nil {
		return out
	}
	for _, line := range strings.Split(string(b), "\n") {
		var v struct {
			Finding struct {
				ID string `json:"id"`
			} `json:"finding"`
		}
		if json.Unmarshal([]byte(line), &v) == nil && v.Finding.ID != "" {
			out[v.Finding.ID] = true
		}
	}
	return out
}

// printMetrics prints the daemon's state metrics (SOAK_METRICS=1).
func printMetrics(addr string) {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var keep []string
	for _, line := range strings.Split(string(b), "\n") {
		for _, m := range []string{"revertwatch_history_events", "revertwatch_state_bytes", "go_memstats_heap_inuse_bytes", "revertwatch_sink_backlog_findings", "revertwatch_queue_depth", "revertwatch_late_waiting", "revertwatch_late_events_total", "revertwatch_late_replays_total", "revertwatch_findings_total"} {
			if strings.HasPrefix(line, m) {
				keep = append(keep, line)
			}
		}
	}
	fmt.Println("  metrics:", strings.Join(keep, " | "))
}
