package serve

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/finding"
	"github.com/revertwatch/revertwatch/internal/livetest"
	"github.com/revertwatch/revertwatch/live/cluster"
	"github.com/revertwatch/revertwatch/sigma"
)

func startReplica(t testing.TB, url, name string, cfg Config) *running {
	t.Helper()
	nc, err := nats.Connect(url, nats.Name(name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	cfg.Cluster = Cluster(cluster.Options{Conn: nc, Replica: name, Partitions: 8, Lease: time.Second})
	return start(t, cfg)
}

func streamFindings(t testing.TB, url string) []string {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, cluster.FindingStream)
	if err != nil {
		return nil
	}
	info, err := s.Info(ctx)
	if err != nil || info.State.Msgs == 0 {
		return nil
	}
	var ids []string
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			continue
		}
		var f finding.Finding
		if json.Unmarshal(m.Data, &f) == nil {
			ids = append(ids, f.ID)
		}
	}
	sort.Strings(ids)
	return ids
}

// Three serve replicas over HTTP on one JetStream: bodies go to any of
// them, one is stopped (SIGTERM's path: it hands its partitions over)
// mid-run, and the findings stream holds every expected finding once.
func TestServeThreeReplicas(t *testing.T) { threeReplicas(t, nil) }

// The same with Sigma rules alone (the built-in content exported): the
// first steps' correlation state moves with the stopped replica's
// partitions.
func TestServeThreeReplicasSigma(t *testing.T) { threeReplicas(t, writeRules(t, t.TempDir(), true)) }

func threeReplicas(t *testing.T, rs *sigma.Ruleset) {
	srv := livetest.NATSServer(t)
	const accounts = 30
	cfg := Config{Lateness: time.Hour, IdleFlush: 300 * time.Millisecond, CheckpointInterval: 50 * time.Millisecond,
		Rules: rs, NoBuiltin: rs != nil}
	var reps []*running
	for _, name := range []string{"a", "b", "c"} {
		c := cfg
		c.StateDir = t.TempDir()
		c.Sinks = sinks(&livetest.MemSink{})
		reps = append(reps, startReplica(t, srv.ClientURL(), name, c))
	}
	var bodies [][]byte
	for i := range accounts {
		s, e := stopStart(i)
		bodies = append(bodies, livetest.Lines(s, e))
	}
	want, err := livetest.Oracle(time.Hour, nil, bodies...)
	if rs != nil {
		want, _ = sigmaOracle(t, rs, true, bodies...)
	}
	if err != nil || len(want) != accounts {
		t.Fatalf("oracle: %v %v", len(want), err)
	}
	for i := range accounts {
		s, _ := stopStart(i)
		if code, a, _ := post(t, reps[i%3].url, livetest.Lines(s)); code != 202 || a.Accepted != 1 {
			t.Fatalf("stop %d: %d %+v", i, code, a)
		}
	}
	reps[1].shutdown(t)
	for i := range accounts {
		_, e := stopStart(i)
		if code, _, _ := post(t, reps[[]int{0, 2}[i%2]].url, livetest.Lines(e)); code != 202 {
			t.Fatalf("start %d: %d", i, code)
		}
	}
	livetest.WaitFor(t, 30*time.Second, "every finding", func() bool { return len(streamFindings(t, srv.ClientURL())) >= len(want) })
	m := getBody(t, reps[0].url+"/metrics")
	for _, name := range []string{"revertwatch_partitions_owned", "revertwatch_ingest_to_finding_seconds_count", "revertwatch_events_out_total"} {
		if !strings.Contains(m, name) {
			t.Errorf("metrics lack %s", name)
		}
	}
	reps[0].shutdown(t)
	reps[2].shutdown(t)
	if got := streamFindings(t, srv.ClientURL()); !equalStrings(got, want) {
		t.Fatalf("findings stream: %d %v\nwant each of %d once: %v", len(got), got, len(want), want)
	}
}

// A body whose events cost more than publishBudget is published by a
// replica in slices, decoded again slice by slice instead of held whole:
// every finding arrives once, and the same body posted again adds no
// message to the stream (the slices fall the same way, so their message
// ids repeat).
func TestReplicaPublishesLargeBodyInSlices(t *testing.T) {
	srv := livetest.NATSServer(t)
	r := startReplica(t, srv.ClientURL(), "a", Config{StateDir: t.TempDir(), Lateness: time.Hour, IdleFlush: 300 * time.Millisecond,
		CheckpointInterval: 50 * time.Millisecond, Sinks: sinks(&livetest.MemSink{})})
	var b strings.Builder
	var pairs [][]byte
	for i := range 6 {
		s, e := stopStart(i)
		pairs = append(pairs, livetest.Lines(s, e))
		b.Write(s)
		b.WriteByte('\n')
		b.WriteString(strings.Repeat(tinyRecord, 3000))
		b.Write(e)
		b.WriteByte('\n')
	}
	body := []byte(b.String())
	if cost := int64(18000+12) * eventCost(&event.Event{Raw: []byte(tinyRecord)}); cost < 2*publishBudget {
		t.Fatalf("the body costs %d, not enough for several slices", cost)
	}
	want, err := livetest.Oracle(time.Hour, nil, pairs...)
	if err != nil || len(want) != 6 {
		t.Fatalf("oracle %v %v", want, err)
	}
	if code, a, _ := post(t, r.url, body); code != 202 || a.Accepted != 18012 {
		t.Fatalf("answer %d %+v", code, a)
	}
	lastSeq := func() uint64 {
		nc, err := nats.Connect(srv.ClientURL())
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		js, _ := jetstream.New(nc)
		s, err := js.Stream(context.Background(), cluster.EventStream)
		if err != nil {
			t.Fatal(err)
		}
		info, err := s.Info(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return info.State.LastSeq
	}
	first := lastSeq()
	if code, _, _ := post(t, r.url, body); code != 202 {
		t.Fatalf("posted again: %d", code)
	}
	if again := lastSeq(); again != first {
		t.Fatalf("the stream went from sequence %d to %d on the same body", first, again)
	}
	livetest.WaitFor(t, 30*time.Second, "every finding", func() bool { return len(streamFindings(t, srv.ClientURL())) >= len(want) })
	r.shutdown(t)
	if got := streamFindings(t, srv.ClientURL()); !equalStrings(got, want) {
		t.Fatalf("findings %v, want %v", got, want)
	}
}
