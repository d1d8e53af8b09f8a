package pubsub

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	gps "cloud.google.com/go/pubsub/v2"

	"github.com/revertwatch/revertwatch/emulate"
	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/ingest"
	"github.com/revertwatch/revertwatch/internal/livetest"
	"github.com/revertwatch/revertwatch/live"
	"github.com/revertwatch/revertwatch/live/sink"
	"github.com/revertwatch/revertwatch/live/store"
)

const (
	topic = "projects/audit-sink/topics/audit"
	sub   = "projects/audit-sink/subscriptions/revertwatch"
)

// gcpEntries returns the LogEntries of the emulated Google Cloud
// scenarios, each as a Logging sink publishes it (the data of one
// message), in the order the push shape delivers them (receipt order,
// duplicates included), and the scenarios' truth.
func gcpEntries(t testing.TB) ([][]byte, emulate.Truth) {
	t.Helper()
	corpus, err := emulate.Generate(emulate.Options{Seed: 1, Scenarios: []string{"gcp-*"}, Shapes: []emulate.Shape{event.FormatGCPPubSub}})
	if err != nil {
		t.Fatal(err)
	}
	var entries [][]byte
	for _, f := range corpus.Files {
		for _, line := range bytes.Split(f.Data, []byte("\n")) {
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			var push struct {
				Message struct {
					Data string `json:"data"`
				} `json:"message"`
			}
			if err := json.Unmarshal(line, &push); err != nil {
				t.Fatalf("%s: %v", f.Path, err)
			}
			data, err := base64.StdEncoding.DecodeString(push.Message.Data)
			if err != nil {
				t.Fatalf("%s: %v", f.Path, err)
			}
			entries = append(entries, data)
		}
	}
	if len(entries) == 0 {
		t.Fatal("emulate wrote no Google Cloud entries")
	}
	return entries, corpus.Truth
}

// run runs watch --pubsub over the subscription until done says so, and
// returns the findings delivered and the input's stats.
func run(t *testing.T, stateDir string, lateness time.Duration, done func(*livetest.MemSink, Stats) bool) (*livetest.MemSink, Stats) {
	t.Helper()
	mem := &livetest.MemSink{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var in *Input
	started := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		errc <- Run(ctx, RunOptions{
			Input:    Options{Subscription: sub},
			StateDir: stateDir, Sinks: sink.NewFanout(mem), IdleFlush: 50 * time.Millisecond,
			Processor: live.Options{Lateness: lateness},
			OnStart:   func(i *Input) { in = i; close(started) },
		})
	}()
	select {
	case <-started:
	case err := <-errc:
		t.Fatal(err)
	}
	livetest.WaitFor(t, 30*time.Second, "the subscription drained", func() bool { return done(mem, in.Stats()) })
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	return mem, in.Stats()
}

// The emulated Google Cloud reverts, look-alikes and near-misses, one
// LogEntry a message as a Logging sink publishes them (in receipt order,
// some twice, as Pub/Sub delivers at least once): every finding the
// streaming detector makes of them comes once, every revert scenario is
// found, and every message is acknowledged.
func TestEmulatedScenarios(t *testing.T) {
	ps := livetest.NewPubSub(t)
	ps.Subscription(t, topic, sub)
	entries, truth := gcpEntries(t)
	for _, e := range entries {
		ps.Publish(topic, e)
	}
	const lateness = 48 * time.Hour
	want, err := livetest.Oracle(lateness, nil, entries...)
	if err != nil {
		t.Fatal(err)
	}
	mem, st := run(t, t.TempDir(), lateness, func(mem *livetest.MemSink, _ Stats) bool {
		return ps.Unacked() == 0 && mem.Len() >= len(want)
	})
	t.Logf("%d messages, %d findings, stats %+v", len(entries), len(want), st)
	got := mem.IDs()
	if !slices.Equal(got, want) {
		t.Fatalf("findings %v, want each of %v once", got, want)
	}
	rules := map[string]bool{}
	for _, f := range mem.Findings() {
		rules[f.RuleID] = true
	}
	for _, sc := range truth.Scenarios {
		if sc.ExpectFinding && !rules[sc.Rules[0]] {
			t.Errorf("scenario %s: no %s finding", sc.ID, sc.Rules[0])
		}
	}
	if st.Messages != int64(len(entries)) || st.Acked != st.Messages || st.Poison != 0 || st.Events == 0 {
		t.Errorf("stats %+v, want %d messages, each acked, no poison", st, len(entries))
	}
}

// A message whose data is not a log entry is counted as poison and
// acknowledged; the messages beside it are read.
func TestPoisonIsAcked(t *testing.T) {
	ps := livetest.NewPubSub(t)
	ps.Subscription(t, topic, sub)
	entries, _ := gcpEntries(t)
	var poison []string
	for _, data := range []string{"not json", `{"hello":"world"}`, `[1,2`, ""} {
		poison = append(poison, ps.Publish(topic, []byte(data)))
	}
	ps.Publish(topic, entries[0])
	_, st := run(t, t.TempDir(), time.Hour, func(_ *livetest.MemSink, st Stats) bool {
		return ps.Unacked() == 0
	})
	if st.Poison != int64(len(poison)) || st.Events != 1 || st.Acked != int64(len(poison)+1) {
		t.Errorf("stats %+v, want %d poison, 1 event, all acked", st, len(poison))
	}
	for _, id := range poison {
		if ps.Acks(id) != 1 {
			t.Errorf("poison message %s acked %d times", id, ps.Acks(id))
		}
	}
}

// A message delivered again after its checkpoint (the ack was lost, or
// Pub/Sub delivered it twice) is acknowledged without being read again:
// its id is in the position.
func TestDeliveredAgainIsSkipped(t *testing.T) {
	ps := livetest.NewPubSub(t)
	ps.Subscription(t, topic, sub)
	entries, _ := gcpEntries(t)
	id := ps.Publish(topic, entries[0])
	var p Position
	p.PubSub.Subscription = sub
	p.PubSub.Read = []string{id}
	pos, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	in, err := New(Options{Subscription: sub}, pos)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	// The Input alone, without a Loop: a Feed of no Loop must not be
	// used, and a skipped message does not use it.
	ctx := context.Background()
	received(t, in)
	if n, _, err := in.Read(ctx, live.Feed{}); n != 0 || err != nil {
		t.Fatalf("Read = %d, %v; want the message skipped", n, err)
	}
	if _, err := in.Position(); err != nil {
		t.Fatal(err)
	}
	in.Committed()
	livetest.WaitFor(t, 10*time.Second, "the ack", func() bool { return ps.Acks(id) == 1 })
	if st := in.Stats(); st.Skipped != 1 || st.Events != 0 || st.Acked != 1 {
		t.Errorf("stats %+v, want one message skipped and acked", st)
	}
}

// Positions of other inputs, another subscription's and names that are
// not a subscription's are refused with why.
func TestNewRefuses(t *testing.T) {
	livetest.NewPubSub(t)
	for _, c := range []struct {
		name, pos, want string
	}{
		{"projects/p/topics/t", "", "not a subscription name"},
		{"p/subscriptions/s", "", "not a subscription name"},
		{"projects/acme-prod/subscriptions/s", "", "not a subscription name"},
		{"projects/Acme/subscriptions/audit", "", "not a subscription name"},
		{sub, `{"sqs":{"read":[]}}`, "not a Pub/Sub input's"},
		{sub, `{"pubsub":{"subscription":"projects/p/subscriptions/other","read":[]}}`, "follows subscription"},
	} {
		in, err := New(Options{Subscription: c.name}, json.RawMessage(c.pos))
		if err == nil {
			in.Close()
			t.Errorf("New(%q, %s): no error", c.name, c.pos)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%q, %s) = %v, want %q", c.name, c.pos, err, c.want)
		}
	}
}

// A subscription that does not exist stops the run with the service's
// error, instead of waiting for ever.
func TestMissingSubscription(t *testing.T) {
	livetest.NewPubSub(t)
	err := Run(context.Background(), RunOptions{Input: Options{Subscription: "projects/p/subscriptions/missing"}, StateDir: filepath.Join(t.TempDir(), "st"),
		Sinks: sink.NewFanout(&livetest.MemSink{})})
	if err == nil || !strings.Contains(err.Error(), "projects/p/subscriptions/missing") {
		t.Fatalf("Run = %v, want the subscription's error", err)
	}
}

// received waits until in holds a message delivered and not yet read.
func received(t *testing.T, in *Input) {
	t.Helper()
	livetest.WaitFor(t, 10*time.Second, "a message", func() bool {
		in.Wait(context.Background())
		in.mu.Lock()
		defer in.mu.Unlock()
		return len(in.received) > 0
	})
}

// Closed, an Input nacks the messages no checkpoint covers: the next one
// gets them at once, not when their ack deadline has passed (the clock of
// the fake server stands still here).
func TestCloseNacks(t *testing.T) {
	ps := livetest.NewPubSub(t)
	ps.Freeze()
	ps.Subscription(t, topic, sub)
	entries, _ := gcpEntries(t)
	id := ps.Publish(topic, entries[0])
	in, err := New(Options{Subscription: sub}, nil)
	if err != nil {
		t.Fatal(err)
	}
	received(t, in)
	in.Close()
	again, err := New(Options{Subscription: sub}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	received(t, again)
	if got := again.received[0].ID; got != id || ps.Acks(id) != 0 {
		t.Errorf("received %s (acks %d), want %s again, unacked", got, ps.Acks(id), id)
	}
}

// BenchmarkInput: what the input costs when messages come faster than it
// reads them (a backlog): messages already delivered, read in batches,
// decoded, run through the detection, checkpointed (bbolt, fsynced) and
// acked. No server: the in-process fake hands over about one message per
// 10 ms tick, which would be all an end-to-end benchmark measured.
func BenchmarkInput(b *testing.B) {
	entries, _ := gcpEntries(b)
	msgs := make([]*gps.Message, b.N)
	size := 0
	for i := range msgs {
		e := entries[i%len(entries)]
		size += len(e)
		msgs[i] = &gps.Message{ID: fmt.Sprint(i + 1), Data: e, PublishTime: time.Now()}
	}
	b.SetBytes(int64(size / b.N))
	in := &Input{opt: Options{Subscription: sub, Wait: time.Millisecond, Remember: 10000, Logger: slog.New(slog.DiscardHandler),
		Ingest: ingest.Options{Format: ingest.FormatGCPPubSub}},
		readSet: map[string]bool{}, notify: make(chan struct{}, 1), received: msgs}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	b.ResetTimer()
	go func() {
		errc <- store.RunInput(ctx, store.RunOptions{StateDir: b.TempDir(), Loop: live.LoopOptions{
			Processor: live.Options{Lateness: time.Hour}, Sinks: sink.NewFanout(&livetest.MemSink{}),
		}}, func(json.RawMessage) (live.Input, func(), error) { return in, func() {}, nil })
	}()
	livetest.WaitFor(b, time.Minute, "every message acked", func() bool { return in.Stats().Acked >= int64(b.N) })
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	cancel()
	if err := <-errc; err != nil {
		b.Fatal(err)
	}
}
