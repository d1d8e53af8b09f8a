package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os/exec"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/finding"
	"github.com/revertwatch/revertwatch/ingest"
	"github.com/revertwatch/revertwatch/internal/livetest"
	"github.com/revertwatch/revertwatch/live"
	"github.com/revertwatch/revertwatch/live/sink"
)

var t0 = time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)

type replica struct {
	r      *Replica
	nc     *nats.Conn
	cancel context.CancelFunc
	done   chan error
}

func startReplica(t testing.TB, url, name string, opt Options) *replica {
	t.Helper()
	nc, err := nats.Connect(url, nats.Name(name))
	if err != nil {
		t.Fatal(err)
	}
	opt.Conn, opt.Replica = nc, name
	r, err := New(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	rp := &replica{r: r, nc: nc, cancel: cancel, done: make(chan error, 1)}
	go func() { rp.done <- r.Run(ctx, context.Background()) }()
	t.Cleanup(func() { rp.stop() })
	return rp
}

func (rp *replica) stop() {
	if rp.cancel == nil {
		return
	}
	rp.cancel()
	<-rp.done
	rp.cancel = nil
	rp.nc.Close()
}

// crash kills the replica as kill -9 would: partitions stop where they
// are, nothing is acknowledged or released, the connection drops.
func (rp *replica) crash() {
	rp.r.Crash()
	rp.nc.Close()
	rp.cancel()
	<-rp.done
	rp.cancel = nil
}

func events(t testing.TB, body []byte) []*event.Event {
	t.Helper()
	var out []*event.Event
	_, err := ingest.DecodeStream(context.Background(), "test", bytes.NewReader(body), ingest.Options{},
		ingest.Handlers{Event: func(ev *event.Event) error { out = append(out, ev); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// findingsInStream reads every finding message of the findings stream.
func findingsInStream(t testing.TB, nc *nats.Conn) []string {
	t.Helper()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, FindingStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			continue
		}
		var f finding.Finding
		if err := json.Unmarshal(m.Data, &f); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, f.ID)
	}
	sort.Strings(ids)
	return ids
}

func pair(i int) (stop, start []byte) {
	acct := livetest.Account(i)
	inst := livetest.Instance(acct, "web")
	at := t0.Add(time.Duration(i) * time.Minute)
	return livetest.Record(acct, "us-east-1", "StopInstances", inst, at),
		livetest.Record(acct, "us-east-1", "StartInstances", inst, at.Add(3*time.Minute))
}

// Three replicas on one JetStream server share the partitions; every
// account's stop is published, one replica is killed, the starts follow
// (some published twice, as a client retrying would): every expected
// finding is in the findings stream exactly once.
func TestThreeReplicasOneKilled(t *testing.T) {
	t.Run("embedded", func(t *testing.T) { threeReplicasOneKilled(t, livetest.NATSServer(t).ClientURL()) })
	// Debian's nats-server (2.9) has neither subject transforms nor pinned
	// consumers: publishers partition, leases alone keep partitions apart.
	t.Run("nats-server binary", func(t *testing.T) { threeReplicasOneKilled(t, externalNATS(t)) })
}

// externalNATS runs the nats-server on PATH, if there is one, on a free
// loopback port.
func externalNATS(t *testing.T) string {
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		t.Skip("no nats-server on PATH (Debian: apt-get install nats-server)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(bin, "-a", "127.0.0.1", "-p", strconv.Itoa(port), "-js", "-sd", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	url := fmt.Sprintf("nats://127.0.0.1:%d", port)
	livetest.WaitFor(t, 10*time.Second, "nats-server", func() bool {
		nc, err := nats.Connect(url)
		if err != nil {
			return false
		}
		nc.Close()
		return true
	})
	return url
}

func threeReplicasOneKilled(t *testing.T, url string) {
	const accounts = 60
	opt := Options{Partitions: 8, Lease: time.Second, CheckpointInterval: 50 * time.Millisecond,
		IdleFlush: 300 * time.Millisecond, Processor: live.Options{Lateness: time.Hour}, Render: sink.Render{Format: finding.FormatNDJSON}}
	reps := startThree(t, url, opt)
	var stops, starts [][]byte
	var bodies [][]byte
	for i := range accounts {
		s, e := pair(i)
		stops, starts = append(stops, s), append(starts, e)
		bodies = append(bodies, livetest.Lines(s, e))
	}
	want, err := livetest.Oracle(time.Hour, nil, bodies...)
	if err != nil || len(want) != accounts {
		t.Fatalf("oracle: %d findings, %v", len(want), err)
	}
	publish(t, reps[0], stops[:accounts/2])
	publish(t, reps[1], stops[accounts/2:])
	// Wait until every stop is checkpointed somewhere, then kill b, which
	// owns partial sequences.
	livetest.WaitFor(t, 20*time.Second, "the stops to be consumed", func() bool {
		info, err := reps[0].r.events.Info(context.Background())
		return err == nil && info.State.Msgs == 0
	})
	owned := reps[1].r.Owned()
	reps[1].crash()
	t.Logf("killed b, which owned partitions %v", owned)
	publish(t, reps[0], starts[:accounts/2])
	publish(t, reps[2], starts)
	livetest.WaitFor(t, 30*time.Second, "every finding", func() bool { return len(findingsInStream(t, reps[0].nc)) >= len(want) })
	// Let the group settle and check again: no copy came later.
	for _, rp := range []*replica{reps[0], reps[2]} {
		rp.stop()
	}
	wantOnceInStream(t, url, want)
}

// startThree starts replicas a, b and c on url and waits until they have
// split the partitions.
func startThree(t *testing.T, url string, opt Options) []*replica {
	t.Helper()
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
	return reps
}

// publish publishes each record through a replica, one batch each.
func publish(t *testing.T, via *replica, recs [][]byte) {
	t.Helper()
	for _, r := range recs {
		if err := via.r.Publish(context.Background(), &live.Batch{Received: time.Now(), Events: events(t, livetest.Lines(r))}); err != nil {
			t.Fatal(err)
		}
	}
}

// wantOnceInStream checks that the findings stream holds exactly the
// sorted ids want, each once.
func wantOnceInStream(t *testing.T, url string, want []string) {
	t.Helper()
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
