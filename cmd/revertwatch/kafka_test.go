package main

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/revertwatch/revertwatch/internal/livetest"
)

// TestWatchKafkaKill9: watch --kafka reads records produced while it runs;
// killed with SIGKILL and restarted, it resumes from the offsets of its
// last checkpoint and reports each finding exactly once.
func TestWatchKafkaKill9(t *testing.T) { testKafkaKill9(t, watchCLI()) }

// TestServeKafkaKill9: the same for serve --kafka, beside its HTTP intake.
func TestServeKafkaKill9(t *testing.T) { testKafkaKill9(t, serveCLI(t)) }

func testKafkaKill9(t *testing.T, cli liveCLI) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, "trail"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	prod, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.DefaultProduceTopic("trail"))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	dir := t.TempDir()
	out := filepath.Join(dir, "findings.ndjson")
	args := append(cli.args, "--kafka", strings.Join(c.ListenAddrs(), ","), "--topic", "trail",
		"--state-dir", filepath.Join(dir, "state"), "-o", out, "--format", "ndjson", "--lateness", "1h", "--idle-flush", "200ms", "--kafka-session-timeout", "6s")
	acct := "111122223333"
	at := time.Date(2026, 3, 5, 10, 0, 0, 0, time.UTC)
	var bodies [][]byte
	produce := func(i int) {
		inst := livetest.Instance(acct, fmt.Sprint("k", i))
		t0 := at.Add(time.Duration(i) * 10 * time.Minute)
		body := fmt.Appendf(nil, `{"Records":[%s,%s]}`, livetest.Record(acct, "us-east-1", "StopInstances", inst, t0),
			livetest.Record(acct, "us-east-1", "StartInstances", inst, t0.Add(3*time.Minute)))
		bodies = append(bodies, body)
		if err := prod.ProduceSync(context.Background(), &kgo.Record{Key: []byte(inst), Value: body}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	child := startCLI(t, args...)
	for i := 0; i < 3; i++ {
		produce(i)
	}
	livetest.WaitFor(t, 30*time.Second, "three findings", func() bool { return len(ndjsonIDs(t, out)) == 3 })
	child.Process.Signal(syscall.SIGKILL)
	child.Wait()
	produce(3)
	produce(4)
	startCLI(t, args...)
	wantN := 5
	if cli.post != nil {
		// Stopped in a posted body, started in a record of the topic.
		cli.ready(t)
		inst := livetest.Instance(acct, "mixed")
		t0 := at.Add(2 * time.Hour)
		stop := fmt.Appendf(nil, `{"Records":[%s]}`, livetest.Record(acct, "us-east-1", "StopInstances", inst, t0))
		start := fmt.Appendf(nil, `{"Records":[%s]}`, livetest.Record(acct, "us-east-1", "StartInstances", inst, t0.Add(3*time.Minute)))
		cli.post(t, stop)
		if err := prod.ProduceSync(context.Background(), &kgo.Record{Key: []byte(inst), Value: start}).FirstErr(); err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, stop, start)
		wantN = 6
	}
	livetest.WaitFor(t, 30*time.Second, fmt.Sprint(wantN, " findings"), func() bool { return len(ndjsonIDs(t, out)) >= wantN })
	got := ndjsonIDs(t, out)
	sort.Strings(got)
	want, err := livetest.Oracle(time.Hour, nil, bodies...)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("findings %v, want each of %v once", got, want)
	}
}
