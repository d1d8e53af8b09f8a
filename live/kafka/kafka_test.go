package kafka_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"

	"github.com/revertwatch/revertwatch/internal/livetest"
	"github.com/revertwatch/revertwatch/live"
	"github.com/revertwatch/revertwatch/live/kafka"
	"github.com/revertwatch/revertwatch/live/sink"
)

const connString = "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=listen;SharedAccessKey=c2VjcmV0;EntityPath=activity"

// runner runs the Input over a state directory until stopped.
type runner struct {
	t    *testing.T
	opt  kafka.Options
	dir  string
	mem  *livetest.MemSink
	mu   sync.Mutex
	in   *kafka.Input
	stop context.CancelFunc
	done chan error
}

func (r *runner) start() {
	ctx, cancel := context.WithCancel(context.Background())
	r.stop, r.done = cancel, make(chan error, 1)
	go func() {
		r.done <- kafka.Run(ctx, kafka.RunOptions{
			Input: r.opt, StateDir: r.dir, Sinks: sink.NewFanout(r.mem), IdleFlush: 200 * time.Millisecond,
			Processor: live.Options{Lateness: time.Hour},
			OnStart: func(in *kafka.Input) {
				r.mu.Lock()
				r.in = in
				r.mu.Unlock()
			},
		})
	}()
}

func (r *runner) stats() kafka.Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.in == nil {
		return kafka.Stats{}
	}
	return r.in.Stats()
}

func (r *runner) halt() {
	r.t.Helper()
	r.stop()
	if err := <-r.done; err != nil {
		r.t.Fatal(err)
	}
	r.mu.Lock()
	r.in = nil
	r.mu.Unlock()
}

// TestKafkaResumesFromCheckpoint: records produced while the input runs
// are read; stopped and restarted, it reads only the records after its
// checkpoint (not the topic again), and each finding is delivered once.
// The cluster asks for SASL PLAIN as Event Hubs does.
func TestKafkaResumesFromCheckpoint(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "activity"),
		kfake.EnableSASL(), kfake.Superuser("PLAIN", "$ConnectionString", connString))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	opt, err := kafka.EventHubOptions(connString, "")
	if err != nil || opt.Topic != "activity" || opt.Brokers[0] != "ns.servicebus.windows.net:9093" || !opt.TLS || opt.User != "$ConnectionString" {
		t.Fatalf("EventHubOptions: %+v %v", opt, err)
	}
	opt.Brokers, opt.TLS = c.ListenAddrs(), false // kfake listens in the clear here

	prod, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.SASL(plainAuth()), kgo.DefaultProduceTopic("activity"))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	acct := "111122223333"
	at := time.Date(2026, 3, 5, 10, 0, 0, 0, time.UTC)
	var bodies [][]byte
	produce := func(i int) {
		inst := livetest.Instance(acct, fmt.Sprint("k", i))
		t0 := at.Add(time.Duration(i) * 10 * time.Minute)
		body := livetest.Lines(livetest.Record(acct, "us-east-1", "StopInstances", inst, t0),
			livetest.Record(acct, "us-east-1", "StartInstances", inst, t0.Add(3*time.Minute)))
		bodies = append(bodies, body)
		if err := prod.ProduceSync(context.Background(), &kgo.Record{Key: []byte(inst), Value: body}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}

	r := &runner{t: t, opt: opt, dir: t.TempDir(), mem: &livetest.MemSink{}}
	r.start()
	for i := 0; i < 3; i++ {
		produce(i)
	}
	livetest.WaitFor(t, 30*time.Second, "three findings", func() bool { return r.mem.Len() == 3 })
	livetest.WaitFor(t, 10*time.Second, "the group's offsets committed", func() bool { return r.stats().Committed > 0 })
	r.halt()

	produce(3)
	r.start()
	livetest.WaitFor(t, 30*time.Second, "the fourth finding", func() bool { return r.mem.Len() == 4 })
	if st := r.stats(); st.Records != 1 {
		t.Errorf("after the restart %d records read, want only the new one", st.Records)
	}
	r.halt()
	got := r.mem.IDs()
	sort.Strings(got)
	want, err := livetest.Oracle(time.Hour, nil, bodies...)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("findings %v, want each of %v once", got, want)
	}
}

func TestEventHubOptions(t *testing.T) {
	o, err := kafka.EventHubOptions("Endpoint=sb://x.servicebus.windows.net/;SharedAccessKeyName=a;SharedAccessKey=b", "hub")
	if err != nil || o.Topic != "hub" || o.Brokers[0] != "x.servicebus.windows.net:9093" {
		t.Errorf("%+v %v", o, err)
	}
	for _, bad := range []string{"", "SharedAccessKey=b", "Endpoint=sb://x.servicebus.windows.net/"} {
		if _, err := kafka.EventHubOptions(bad, ""); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func plainAuth() sasl.Mechanism {
	return plain.Auth{User: "$ConnectionString", Pass: connString}.AsMechanism()
}
