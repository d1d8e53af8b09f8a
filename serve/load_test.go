package serve

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/revertwatch/revertwatch/finding"
	"github.com/revertwatch/revertwatch/internal/livetest"
)

// The load benchmark: a fixed workload (bounded in count and time, over
// loopback) posted by concurrent clients, to one daemon or to three
// replicas on an embedded JetStream. Each body holds 500 CloudTrail
// records: reads that no rule uses, and stop/start pairs of distinct
// accounts, each of which makes one finding. Lateness is off, so that a
// finding leaves as soon as its pair is processed: the latency measured is
// the pipeline's own (HTTP, durable intake, detection, checkpoint,
// delivery), not the wait for the watermark.
//
//	go test -run '^$' -bench Load -benchtime 1x ./serve

const (
	loadBodies   = 200 // bodies per run
	loadPerBody  = 500 // records per body
	loadPairs    = 5   // stop/start pairs per body
	loadClients  = 4
	loadAccounts = 64 // accounts the reads spread over
)

// timedSink records when each finding arrived, by account.
type timedSink struct {
	mu sync.Mutex
	at map[string]time.Time
}

func (s *timedSink) Name() string { return "timed" }
func (s *timedSink) Close() error { return nil }
func (s *timedSink) Deliver(_ context.Context, fs []finding.Finding) error {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range fs {
		if _, ok := s.at[f.Account]; !ok {
			s.at[f.Account] = now
		}
	}
	return nil
}

func (s *timedSink) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.at)
}

// loadBody is body i: reads spread over the accounts, then its pairs.
func loadBody(i int) ([]byte, []string) {
	var recs [][]byte
	base := t0.Add(time.Duration(i) * time.Minute)
	for k := range loadPerBody - 2*loadPairs {
		acct := livetest.Account(k % loadAccounts)
		recs = append(recs, livetest.Record(acct, "us-east-1", "DescribeInstances", livetest.Instance(acct, fmt.Sprint(k)), base.Add(time.Duration(k)*time.Millisecond)))
	}
	var accts []string
	for p := range loadPairs {
		acct := livetest.Account(1000 + i*loadPairs + p)
		inst := livetest.Instance(acct, "web")
		at := base.Add(time.Second)
		recs = append(recs, livetest.Record(acct, "us-east-1", "StopInstances", inst, at),
			livetest.Record(acct, "us-east-1", "StartInstances", inst, at.Add(3*time.Second)))
		accts = append(accts, acct)
	}
	return livetest.Lines(recs...), accts
}

// runLoad posts the workload round-robin to urls — as fast as the clients
// can, or paced at bodiesPerSecond — and reports events/s (accepted and
// processed, until the last finding arrived) and the p50 and p99 time from
// a body's POST to its findings' delivery. Flat out, latency is mostly
// queueing; paced below capacity, it is the pipeline's.
func runLoad(b *testing.B, urls []string, sinks []*timedSink, bodiesPerSecond int) {
	bodies := make([][]byte, loadBodies)
	accts := make([][]string, loadBodies)
	for i := range bodies {
		bodies[i], accts[i] = loadBody(i)
	}
	sent := make(map[string]time.Time)
	var mu sync.Mutex
	work := make(chan int)
	var wg sync.WaitGroup
	start := time.Now()
	for c := range loadClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				url := urls[(i+c)%len(urls)]
				for {
					t := time.Now()
					code, _, err := tryPost(url, bodies[i])
					if err == nil && code == 202 {
						mu.Lock()
						for _, a := range accts[i] {
							sent[a] = t
						}
						mu.Unlock()
						break
					}
					if err != nil || code != 503 {
						b.Errorf("post: %d %v", code, err)
						return
					}
					time.Sleep(10 * time.Millisecond) // Retry-After, shortened
				}
			}
		}()
	}
	var pace <-chan time.Time
	if bodiesPerSecond > 0 {
		tick := time.NewTicker(time.Second / time.Duration(bodiesPerSecond))
		defer tick.Stop()
		pace = tick.C
	}
	for i := range bodies {
		if pace != nil {
			<-pace
		}
		work <- i
	}
	close(work)
	wg.Wait()
	want := loadBodies * loadPairs
	total := func() int {
		n := 0
		for _, s := range sinks {
			n += s.len()
		}
		return n
	}
	deadline := time.Now().Add(2 * time.Minute)
	for total() < want && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	elapsed := time.Since(start)
	if total() < want {
		b.Fatalf("%d of %d findings after 2 minutes", total(), want)
	}
	var lat []time.Duration
	for _, s := range sinks {
		s.mu.Lock()
		for a, at := range s.at {
			lat = append(lat, at.Sub(sent[a]))
		}
		s.mu.Unlock()
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	events := float64(loadBodies * loadPerBody)
	b.ReportMetric(events/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
	b.ReportMetric(0, "ns/op")
}

// loadRates are the runs of each benchmark: flat out, then paced at 40
// bodies (20,000 events) a second.
var loadRates = []struct {
	name string
	rate int
}{{"flat-out", 0}, {"paced-20k", 40}}

func BenchmarkLoadOneProcess(b *testing.B) {
	for _, lr := range loadRates {
		b.Run(lr.name, func(b *testing.B) {
			for range b.N {
				ts := &timedSink{at: map[string]time.Time{}}
				r := start(b, Config{StateDir: b.TempDir(), Lateness: -1, Sinks: sinks(ts)})
				runLoad(b, []string{r.url}, []*timedSink{ts}, lr.rate)
				r.stop()
				<-r.done
			}
		})
	}
}

func BenchmarkLoadThreeReplicas(b *testing.B) {
	for _, lr := range loadRates {
		b.Run(lr.name, func(b *testing.B) {
			for range b.N {
				srv := livetest.NATSServer(b)
				var urls []string
				var tss []*timedSink
				var reps []*running
				for _, name := range []string{"a", "b", "c"} {
					ts := &timedSink{at: map[string]time.Time{}}
					r := startReplica(b, srv.ClientURL(), name, Config{StateDir: b.TempDir(), Lateness: -1, Sinks: sinks(ts), Logger: benchLogger(name)})
					urls, tss, reps = append(urls, r.url), append(tss, ts), append(reps, r)
				}
				// Measure the steady state: the partitions split first.
				livetest.WaitFor(b, 20*time.Second, "the partitions to be split", func() bool {
					n := 0
					for _, r := range reps {
						k := len(r.s.be.(*replica).r.Owned())
						if k == 0 {
							return false
						}
						n += k
					}
					return n == 8
				})
				runLoad(b, urls, tss, lr.rate)
				for _, r := range reps {
					r.stop()
					<-r.done
				}
			}
		})
	}
}

func benchLogger(name string) *slog.Logger {
	if os.Getenv("RW_BENCH_LOG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, nil)).With("replica", name)
}
