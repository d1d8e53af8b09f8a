package cluster

import (
	"context"
	"testing"
	"time"

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
	reps := startThree(t, url, opt)
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
	publish(t, reps[0], early)
	livetest.WaitFor(t, 20*time.Second, "the early events to be consumed", func() bool {
		info, err := reps[0].r.events.Info(context.Background())
		return err == nil && info.State.Msgs == 0
	})
	reps[1].crash()
	publish(t, reps[0], starts[:accounts/2])
	publish(t, reps[2], starts)
	livetest.WaitFor(t, 30*time.Second, "every late finding", func() bool { return len(findingsInStream(t, reps[0].nc)) >= len(want) })
	for _, rp := range []*replica{reps[0], reps[2]} {
		rp.stop()
	}
	wantOnceInStream(t, url, want)
}
