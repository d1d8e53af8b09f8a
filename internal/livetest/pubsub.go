package livetest

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	gps "cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"cloud.google.com/go/pubsub/v2/pstest"
	"google.golang.org/grpc"
)

// PubSub is the client library's in-process Pub/Sub server (pstest) on a
// loopback port, reached through PUBSUB_EMULATOR_HOST (which NewPubSub
// sets for the test; a child process gets it from the environment). Its
// clock is the real one plus what Advance added, so that a test can let
// ack deadlines pass without sleeping.
//
// The fake is served by a gRPC server of the test's own, which counts the
// streaming pulls open (Streams): a test that kills a subscriber waits
// until the fake has let go of its stream, else the fake may hand a
// message to the dead stream, to come back only when its deadline ends.
type PubSub struct {
	Server  *pstest.Server
	Addr    string // 127.0.0.1:PORT
	skew    atomic.Int64
	frozen  atomic.Int64 // unix nanoseconds the clock stands at; 0: it runs
	streams atomic.Int64
	cl      *gps.Client
}

// NewPubSub starts the server and points PUBSUB_EMULATOR_HOST at it for
// the rest of the test.
func NewPubSub(t testing.TB) *PubSub {
	t.Helper()
	srv := pstest.NewServerWithAddress("127.0.0.1:0")
	p := &PubSub{Server: srv}
	srv.SetTimeNowFunc(func() time.Time {
		now := time.Now()
		if f := p.frozen.Load(); f != 0 {
			now = time.Unix(0, f)
		}
		return now.Add(time.Duration(p.skew.Load()))
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer(grpc.StreamInterceptor(func(s any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		// The fake drops a stream before its handler returns.
		p.streams.Add(1)
		defer p.streams.Add(-1)
		return h(s, ss)
	}))
	pubsubpb.RegisterPublisherServer(gs, &srv.GServer)
	pubsubpb.RegisterSubscriberServer(gs, &srv.GServer)
	go gs.Serve(ln)
	p.Addr = ln.Addr().String()
	t.Setenv("PUBSUB_EMULATOR_HOST", p.Addr)
	cl, err := gps.NewClient(context.Background(), "revertwatch-test")
	if err != nil {
		t.Fatal(err)
	}
	p.cl = cl
	t.Cleanup(func() {
		cl.Close()
		gs.Stop()
		srv.Close()
	})
	return p
}

// Streams counts the streaming pulls open: the subscribers receiving.
func (p *PubSub) Streams() int { return int(p.streams.Load()) }

// Subscription creates topic and a subscription of it (full names,
// projects/P/topics/T and projects/P/subscriptions/S) with an ack
// deadline of 10 s, the least Pub/Sub allows.
func (p *PubSub) Subscription(t testing.TB, topic, sub string) {
	t.Helper()
	ctx := context.Background()
	if _, err := p.cl.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: topic}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.cl.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{Name: sub, Topic: topic, AckDeadlineSeconds: 10}); err != nil {
		t.Fatal(err)
	}
}

// Publish publishes data on topic and returns the message id.
func (p *PubSub) Publish(topic string, data []byte) string {
	return p.Server.Publish(topic, data, nil)
}

// Advance moves the server's clock on by d: messages whose ack deadline
// has passed are delivered again. Under the 10 minutes after which the
// server forgets an undelivered message.
func (p *PubSub) Advance(d time.Duration) { p.skew.Add(int64(d)) }

// Freeze stops the server's clock (Advance still moves it): no ack
// deadline passes unless the test says so.
func (p *PubSub) Freeze() { p.frozen.Store(time.Now().UnixNano()) }

// Unacked counts the messages published and not acknowledged.
func (p *PubSub) Unacked() int {
	n := 0
	for _, m := range p.Server.Messages() {
		if m.Acks == 0 {
			n++
		}
	}
	return n
}

// Acks returns how many acks the server received for message id.
func (p *PubSub) Acks(id string) int {
	for _, m := range p.Server.Messages() {
		if m.ID == id {
			return m.Acks
		}
	}
	return 0
}
