package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/revertwatch/revertwatch/emulate"
	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/internal/livetest"
)

// TestWatchPubSubEmulated: watch --pubsub over the emulated Google Cloud
// scenarios, one LogEntry a message as a Logging sink publishes them,
// with a poison message among them, until the subscription is drained:
// every finding the streaming detector makes of the entries, once; the
// poison message logged with its id, counted and acked; stopped with
// SIGTERM, it exits 0.
func TestWatchPubSubEmulated(t *testing.T) {
	const (
		topic = "projects/audit-sink/topics/audit"
		sub   = "projects/audit-sink/subscriptions/revertwatch"
	)
	ps := livetest.NewPubSub(t)
	ps.Subscription(t, topic, sub)
	corpus, err := emulate.Generate(emulate.Options{Seed: 1, Scenarios: []string{"gcp-*"}, Shapes: []emulate.Shape{event.FormatGCPPubSub}})
	if err != nil {
		t.Fatal(err)
	}
	var entries [][]byte
	for _, f := range corpus.Files {
		for _, line := range bytes.Split(bytes.TrimSpace(f.Data), []byte("\n")) {
			var push struct {
				Message struct {
					Data string `json:"data"`
				} `json:"message"`
			}
			if err := json.Unmarshal(line, &push); err != nil {
				t.Fatal(err)
			}
			data, err := base64.StdEncoding.DecodeString(push.Message.Data)
			if err != nil {
				t.Fatal(err)
			}
			entries = append(entries, data)
		}
	}
	want, err := livetest.Oracle(48*time.Hour, nil, entries...)
	if err != nil {
		t.Fatal(err)
	}
	if len(want) == 0 {
		t.Fatal("the emulated scenarios make no finding")
	}
	poison := ps.Publish(topic, []byte("not a log entry"))
	for _, e := range entries {
		ps.Publish(topic, e)
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "findings.ndjson")
	var stderr bytes.Buffer
	child := exec.Command(os.Args[0], "watch", "--pubsub", sub, "--state-dir", filepath.Join(dir, "state"),
		"-o", out, "--format", "ndjson", "--lateness", "48h", "--idle-flush", "200ms")
	child.Env = append(os.Environ(), runAsMain+"=1")
	child.Stderr = &stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if child.ProcessState == nil {
			child.Process.Signal(syscall.SIGKILL)
			child.Wait()
		}
	})
	livetest.WaitFor(t, 30*time.Second, fmt.Sprint(len(want), " findings and every message acked"), func() bool {
		return len(ndjsonIDs(t, out)) >= len(want) && ps.Unacked() == 0
	})
	child.Process.Signal(syscall.SIGTERM)
	if err := child.Wait(); err != nil {
		t.Fatalf("watch stopped with %v\n%s", err, stderr.String())
	}
	got := ndjsonIDs(t, out)
	sort.Strings(got)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("findings %v, want each of %v once", got, want)
	}
	log := stderr.String()
	for _, re := range []string{
		`level=WARN msg="poison message[^"]*" subscription=` + regexp.QuoteMeta(sub) + ` message=` + poison + ` `,
		fmt.Sprintf(`msg="watch stopped" messages=%d events=%d not_audit=0 skipped=0 poison=1 acked=%d findings=%d`, len(entries)+1, len(entries), len(entries)+1, len(want)),
	} {
		if !regexp.MustCompile(re).MatchString(log) {
			t.Errorf("the log has no line matching %s:\n%s", re, log)
		}
	}
	if ps.Acks(poison) != 1 {
		t.Errorf("the poison message was acked %d times", ps.Acks(poison))
	}
}

// TestWatchPubSubKill9: watch --pubsub reads the entries a Logging sink
// publishes while it runs; killed with SIGKILL (an instance stopped in a
// message it may have read and not yet acked) and restarted, it gets the
// messages no checkpoint holds again and reports each finding exactly
// once, every message acked in the end.
func TestWatchPubSubKill9(t *testing.T) { testPubSubKill9(t, watchCLI()) }

// TestServePubSubKill9: the same for serve --pubsub, beside its HTTP
// intake: an instance stopped in a posted entry and started in a message
// is one finding.
func TestServePubSubKill9(t *testing.T) { testPubSubKill9(t, serveCLI(t)) }

func testPubSubKill9(t *testing.T, cli liveCLI) {
	const (
		topic   = "projects/audit-sink/topics/audit"
		sub     = "projects/audit-sink/subscriptions/revertwatch"
		project = "acme-prod"
		zone    = "us-central1-a"
	)
	// The server runs in this process on a loopback port; the child finds
	// it in PUBSUB_EMULATOR_HOST, which NewPubSub sets.
	ps := livetest.NewPubSub(t)
	ps.Subscription(t, topic, sub)
	dir := t.TempDir()
	out := filepath.Join(dir, "findings.ndjson")
	args := append(cli.args, "--pubsub", sub,
		"--state-dir", filepath.Join(dir, "state"), "-o", out, "--format", "ndjson", "--lateness", "1h", "--idle-flush", "200ms")
	at := time.Date(2026, 3, 5, 10, 0, 0, 0, time.UTC)
	var bodies [][]byte
	publish := func(entry []byte) {
		bodies = append(bodies, entry)
		ps.Publish(topic, entry)
	}
	call := func(i int, method string, d time.Duration) []byte {
		return livetest.LogEntry(project, zone, "v1.compute.instances."+method, fmt.Sprint("web-", i), at.Add(time.Duration(i)*10*time.Minute+d))
	}
	child := startCLI(t, args...)
	for i := 0; i < 3; i++ {
		publish(call(i, "stop", 0))
		publish(call(i, "start", 3*time.Minute))
	}
	livetest.WaitFor(t, 30*time.Second, "three findings", func() bool { return len(ndjsonIDs(t, out)) == 3 })
	publish(call(3, "stop", 0))
	child.Process.Signal(syscall.SIGKILL)
	child.Wait()
	livetest.WaitFor(t, 30*time.Second, "the fake to drop the killed process's stream", func() bool { return ps.Streams() == 0 })
	publish(call(3, "start", 3*time.Minute))
	publish(call(4, "stop", 0))
	publish(call(4, "start", 3*time.Minute))
	// What the killed process held unacked comes back once its ack
	// deadline has passed.
	ps.Advance(2 * time.Minute)
	startCLI(t, args...)
	wantN := 5
	if cli.post != nil {
		cli.ready(t)
		stop, start := call(9, "stop", 0), call(9, "start", 3*time.Minute)
		cli.post(t, stop)
		publish(start)
		bodies = append(bodies, stop)
		wantN = 6
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("findings written: %v", ndjsonIDs(t, out))
			for _, m := range ps.Server.Messages() {
				t.Logf("message %s: %d deliveries, %d acks, %d modacks", m.ID, m.Deliveries, m.Acks, len(m.Modacks))
			}
		}
	})
	livetest.WaitFor(t, 30*time.Second, fmt.Sprint(wantN, " findings and every message acked"), func() bool {
		return len(ndjsonIDs(t, out)) >= wantN && ps.Unacked() == 0
	})
	got := ndjsonIDs(t, out)
	sort.Strings(got)
	want, err := livetest.Oracle(time.Hour, nil, bodies...)
	if err != nil {
		t.Fatal(err)
	}
	if len(want) != wantN || strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("findings %v, want each of %v once (%d)", got, want, wantN)
	}
}

// TestWatchPubSubUsage: --pubsub takes a subscription's full name, alone,
// and not with --once; serve takes it on local state, as its one stream.
func TestWatchPubSubUsage(t *testing.T) {
	sub := "projects/p/subscriptions/audit"
	for _, args := range [][]string{
		{"watch", "--state-dir", t.TempDir(), "--pubsub", "s"},
		{"watch", "--state-dir", t.TempDir(), "--pubsub", "projects/p/topics/t"},
		{"watch", "--state-dir", t.TempDir(), "--pubsub", sub, "--once"},
		{"watch", "--state-dir", t.TempDir(), "--pubsub", sub, "logs/"},
		{"watch", "--state-dir", t.TempDir(), "--pubsub", sub, "--kafka", "127.0.0.1:1", "--topic", "t"},
		{"serve", "--state-dir", t.TempDir(), "--pubsub", sub, "--sqs", "http://127.0.0.1:1/0/q"},
		{"serve", "--state-dir", t.TempDir(), "--pubsub", sub, "--nats", "nats://127.0.0.1:1"},
		{"serve", "--state-dir", t.TempDir(), "--pubsub", "s"},
	} {
		_, err := run(t, args...)
		if ee, ok := err.(*exitError); !ok || ee.code != exitUsage {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
}
