package serve

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/revertwatch/revertwatch/emulate"
	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/internal/livetest"
)

// Google Cloud Audit Logs delivered by a Pub/Sub push subscription: one
// HTTP request per message, the LogEntry base64-encoded in message.data,
// in any order (Pub/Sub does not order and delivers at least once). Every
// request is acknowledged with a 2xx (which Pub/Sub counts as an ack),
// and the daemon delivers exactly the findings the batch detector makes
// of the same messages, covering every Google Cloud revert of the
// emulation.
func TestIngestPubSubPush(t *testing.T) {
	corpus, err := emulate.Generate(emulate.Options{Seed: 4, Scenarios: []string{"gcp-*"}, Shapes: []emulate.Shape{event.FormatGCPPubSub}})
	if err != nil {
		t.Fatal(err)
	}
	var bodies [][]byte
	for _, f := range corpus.Files {
		for _, line := range bytes.Split(f.Data, []byte("\n")) {
			if len(line) > 0 {
				bodies = append(bodies, line)
			}
		}
	}
	r := rand.New(rand.NewPCG(4, 16))
	r.Shuffle(len(bodies), func(i, j int) { bodies[i], bodies[j] = bodies[j], bodies[i] })
	const lateness = 48 * time.Hour
	want, err := livetest.Oracle(lateness, nil, bodies...)
	if err != nil {
		t.Fatal(err)
	}
	mem := &livetest.MemSink{}
	s := start(t, Config{StateDir: t.TempDir(), Lateness: lateness, IdleFlush: 500 * time.Millisecond, Sinks: sinks(mem), Token: "s3cret"})
	for _, b := range bodies {
		code, a, _ := post(t, s.url, b, "Authorization", "Bearer s3cret", "Content-Type", "application/json")
		if code < 200 || code > 299 || a.Accepted != 1 || a.Rejected != 0 {
			t.Fatalf("push body: %d %+v", code, a)
		}
	}
	livetest.WaitFor(t, 20*time.Second, "all findings", func() bool { return mem.Len() >= len(want) })
	s.shutdown(t)
	if got := mem.IDs(); !equalStrings(got, want) {
		t.Fatalf("findings differ from the batch detector's:\n got %d %v\nwant %d %v", len(got), got, len(want), want)
	}
	fired := map[string]bool{}
	for _, f := range mem.Findings() {
		fired[f.RuleID] = true
		if f.Provider != event.GCP || f.Account == "" {
			t.Errorf("finding %s: provider %q account %q", f.ID, f.Provider, f.Account)
		}
	}
	for _, sc := range corpus.Truth.Scenarios {
		for _, rule := range sc.Rules {
			if !fired[rule] {
				t.Errorf("scenario %s: rule %s never fired", sc.ID, rule)
			}
		}
	}
	if len(want) == 0 {
		t.Fatal("no finding: the test no longer tests anything")
	}
}

// Every Google Cloud delivery shape posted as bodies, in every order the
// emulation writes: the daemon delivers exactly the batch detector's
// findings, and every Google Cloud revert is among them.
func TestIngestGCPShapesEveryOrder(t *testing.T) {
	for _, order := range emulate.Orders() {
		t.Run(string(order), func(t *testing.T) {
			corpus, err := emulate.Generate(emulate.Options{Seed: 16, Scenarios: []string{"gcp-*"}, Shapes: emulate.GCPShapes, Order: order})
			if err != nil {
				t.Fatal(err)
			}
			var bodies [][]byte
			for _, f := range corpus.Files {
				bodies = append(bodies, f.Data)
			}
			const lateness = 48 * time.Hour
			want, err := livetest.Oracle(lateness, nil, bodies...)
			if err != nil || len(want) == 0 {
				t.Fatalf("oracle: %d findings, %v", len(want), err)
			}
			mem := &livetest.MemSink{}
			s := start(t, Config{StateDir: t.TempDir(), Lateness: lateness, IdleFlush: 200 * time.Millisecond, Sinks: sinks(mem), Token: "s3cret"})
			for i, b := range bodies {
				code, a, _ := post(t, s.url, b, "Authorization", "Bearer s3cret")
				if code < 200 || code > 299 || a.Rejected != 0 {
					t.Fatalf("%s: %d %+v", corpus.Files[i].Path, code, a)
				}
			}
			livetest.WaitFor(t, 20*time.Second, "all findings", func() bool { return mem.Len() >= len(want) })
			s.shutdown(t)
			if got := mem.IDs(); !equalStrings(got, want) {
				t.Fatalf("findings differ from the batch detector's:\n got %d %v\nwant %d %v", len(got), got, len(want), want)
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
