package cluster

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/revertwatch/revertwatch/finding"
	"github.com/revertwatch/revertwatch/internal/livetest"
	"github.com/revertwatch/revertwatch/live"
	"github.com/revertwatch/revertwatch/live/sink"
)

// Three replicas (lateness 1h): each account's stop, then three hours of
// its activity, are published; the replica owning partial sequences is
// killed; the starts follow three hours late, some twice. Every late
// start still completes its sequence, and every finding is in the
// findings stream exactly once.
func TestThreeReplicasLateByHours(t *testing.T) {
	url := livetest.NATSServer(t).ClientURL()
	const accounts = 12
	opt := Options{Partitions: 4, Lease: time.Second, CheckpointInterval: 50 * time.Millisecond,
		IdleFlush: 300 * time.Millisecond, Processor: live.Options{Lateness: time.Hour}, Render: sink.Render{Format: finding.FormatNDJSON}}
	var reps []*replica
	for _, name := range []string{"a", "b", "c"} {
		o := opt
		o.Sinks = sink.NewFanout(&livetest.MemSink{})
		reps = append(reps, startReplica(t, url, name, o))
	}
	livetest.WaitFor(t, 20*time.Second, "the partitions to be split", func() bool {
		n := 0
		for _, rp := range reps {
			k := len(rp.r.Owned())
			if k == 0 {
				return false
			}
			n += k
		}
		return n == opt.Partitions
	})
	var early, starts, bodies [][]byte
	for i := range accounts {
		stop, start := pair(i)
		acct := livetest.Account(i)
		early = append(early, stop)
		for m := 10; m <= 3*60+10; m += 20 {
			early = append(early, livetest.Record(acct, "us-east-1", "DescribeInstances", "i-0", t0.Add(time.Duration(i+m)*time.Minute)))
		}
		starts = append(starts, start)
		bodies = append(bodies, livetest.Lines(stop, start))
	}
	want, err := livetest.Oracle(time.Hour, nil, bodies...)
	if err != nil || len(want) != accounts {
		t.Fatalf("oracle: %d findings, %v", len(want), err)
	}
	publish := func(via *replica, recs [][]byte) {
		t.Helper()
		for _, r := range recs {
			if err := via.r.Publish(context.Background(), &live.Batch{Received: time.Now(), Events: events(t, livetest.Lines(r))}); err != nil {
				t.Fatal(err)
			}
		}
	}
	publish(reps[0], early)
	livetest.WaitFor(t, 20*time.Second, "the early events to be consumed", func() bool {
		info, err := reps[0].r.events.Info(context.Background())
		return err == nil && info.State.Msgs == 0
	})
	reps[1].crash()
	publish(reps[0], starts[:accounts/2])
	publish(reps[2], starts)
	livetest.WaitFor(t, 30*time.Second, "every late finding", func() bool { return len(findingsInStream(t, reps[0].nc)) >= len(want) })
	for _, rp := range []*replica{reps[0], reps[2]} {
		rp.stop()
	}
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	got := findingsInStream(t, nc)
	if len(got) != len(want) {
		t.Fatalf("the findings stream holds %d findings, want each of %d exactly once", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("findings differ at %d: %s, want %s", i, got[i], want[i])
		}
	}
}
