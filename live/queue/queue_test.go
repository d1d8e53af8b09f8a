package queue_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/revertwatch/revertwatch/internal/livetest"
	"github.com/revertwatch/revertwatch/live"
	"github.com/revertwatch/revertwatch/live/queue"
	"github.com/revertwatch/revertwatch/live/sink"
	"github.com/revertwatch/revertwatch/source"
)

func sqsClient(t *testing.T, url string) *sqs.Client {
	t.Helper()
	cfg, err := source.LoadAWS(context.Background(), source.AWSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String(url) })
}

func s3Reader(t *testing.T, url string) *source.S3 {
	t.Helper()
	o := source.AWSOptions{S3Endpoint: url}
	cfg, err := source.LoadAWS(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return source.NewS3(cfg, o, 1)
}

// TestSQSServerSemantics holds the test server to the SQS documentation,
// through the SDK's client: long polling, visibility and redelivery with a
// new receipt handle, stale handles refused, visibility changes, redrive
// to the dead-letter queue after maxReceiveCount.
func TestSQSServerSemantics(t *testing.T) {
	livetest.IsolateAWS(t)
	srv := livetest.NewSQSServer(t)
	url := srv.Queue("q", 30*time.Second, 3, "dlq")
	c := sqsClient(t, srv.URL)
	ctx := context.Background()

	// A long poll returns as soon as a message is sent.
	got := make(chan *sqs.ReceiveMessageOutput, 1)
	go func() {
		out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url, WaitTimeSeconds: 20,
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameApproximateReceiveCount}})
		if err != nil {
			t.Error(err)
		}
		got <- out
	}()
	livetest.WaitFor(t, 5*time.Second, "the poll to start", func() bool { return srv.Calls("ReceiveMessage") == 1 })
	if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("hello")}); err != nil {
		t.Fatal(err) // the SDK checks the MD5 of the body the server returns
	}
	out := <-got
	if out == nil || len(out.Messages) != 1 || aws.ToString(out.Messages[0].Body) != "hello" || out.Messages[0].Attributes["ApproximateReceiveCount"] != "1" {
		t.Fatalf("long poll: %+v", out)
	}
	first := out.Messages[0]

	// Invisible until the timeout ends, then delivered again.
	out, _ = c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url})
	if len(out.Messages) != 0 {
		t.Fatal("a received message is visible before its timeout")
	}
	srv.Advance(31 * time.Second)
	out, _ = c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameApproximateReceiveCount}})
	if len(out.Messages) != 1 || out.Messages[0].Attributes["ApproximateReceiveCount"] != "2" || aws.ToString(out.Messages[0].ReceiptHandle) == aws.ToString(first.ReceiptHandle) {
		t.Fatalf("redelivery: %+v", out.Messages)
	}
	second := out.Messages[0]
	var ae smithy.APIError
	_, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: &url, ReceiptHandle: first.ReceiptHandle})
	if !errors.As(err, &ae) || !strings.Contains(ae.ErrorCode(), "ReceiptHandleIsInvalid") {
		t.Errorf("delete with a stale handle: %v", err)
	}
	// Extending the visibility keeps it hidden past the first timeout.
	if _, err := c.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: &url, ReceiptHandle: second.ReceiptHandle, VisibilityTimeout: 120}); err != nil {
		t.Fatal(err)
	}
	srv.Advance(60 * time.Second)
	if v, f := srv.Counts("q"); v != 0 || f != 1 {
		t.Errorf("after extending: %d visible, %d in flight", v, f)
	}
	// Received a third time, then redriven to the dead-letter queue.
	srv.Advance(61 * time.Second)
	out, _ = c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url})
	if len(out.Messages) != 1 {
		t.Fatal("third delivery missing")
	}
	srv.Advance(31 * time.Second)
	out, _ = c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url})
	if len(out.Messages) != 0 {
		t.Error("a message received maxReceiveCount times is delivered again")
	}
	if v, _ := srv.Counts("dlq"); v != 1 {
		t.Errorf("dead-letter queue holds %d", v)
	}
	// Deleted with the latest handle, it is gone.
	srv.Send("q", "x")
	out, _ = c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url})
	if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: &url, ReceiptHandle: out.Messages[0].ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	srv.Advance(time.Hour)
	if v, f := srv.Counts("q"); v+f != 0 {
		t.Error("a deleted message is still there")
	}
	if _, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(srv.URL + "/000000000000/nope")}); !errors.As(err, &ae) || !strings.Contains(ae.ErrorCode(), "QueueDoesNotExist") {
		t.Errorf("missing queue: %v", err)
	}
}

// fixture is a queue, a bucket and a running Input over them.
type fixture struct {
	t     *testing.T
	sqs   *livetest.SQSServer
	s3    *livetest.S3Server
	url   string
	dir   string
	mem   *livetest.MemSink
	in    *queue.Input
	inMu  sync.Mutex
	stop  context.CancelFunc
	done  chan error
	bodys [][]byte
}

func newFixture(t *testing.T) *fixture {
	f := &fixture{t: t, s3: livetest.NewS3Server(t), sqs: livetest.NewSQSServer(t), dir: t.TempDir(), mem: &livetest.MemSink{}}
	f.url = f.sqs.Queue("objects", 30*time.Second, 0, "")
	f.s3.Bucket(t, "trail")
	return f
}

func (f *fixture) start(opt queue.Options) {
	f.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	f.stop, f.done = cancel, make(chan error, 1)
	opt.QueueURL, opt.SQS, opt.S3 = f.url, sqsClient(f.t, f.sqs.URL), s3Reader(f.t, f.s3.URL)
	opt.Wait = time.Second
	go func() {
		f.done <- queue.Run(ctx, queue.RunOptions{
			Input: opt, StateDir: f.dir, Sinks: sink.NewFanout(f.mem), IdleFlush: 200 * time.Millisecond,
			Processor: live.Options{Lateness: time.Hour},
			OnStart: func(in *queue.Input) {
				f.inMu.Lock()
				f.in = in
				f.inMu.Unlock()
			},
		})
	}()
	livetest.WaitFor(f.t, 10*time.Second, "the input", func() bool {
		f.inMu.Lock()
		defer f.inMu.Unlock()
		return f.in != nil
	})
}

func (f *fixture) stats() queue.Stats {
	f.inMu.Lock()
	defer f.inMu.Unlock()
	return f.in.Stats()
}

// halt stops the run as SIGTERM does: no more is read, what was read is
// in the last checkpoint, and the sinks' deliveries are recorded. (A
// SIGKILL is TestWatchSQSKill9's, on the CLI.)
func (f *fixture) halt() {
	f.t.Helper()
	f.stop()
	if err := <-f.done; err != nil {
		f.t.Fatal(err)
	}
	f.inMu.Lock()
	f.in = nil
	f.inMu.Unlock()
	livetest.WaitFor(f.t, 30*time.Second, "the stopped consumer's last poll to end", func() bool { return !f.sqs.Polling() })
}

// put writes a gzip CloudTrail file of a stop-start pair of instance name
// and returns its key.
func (f *fixture) put(name string, at time.Time) string {
	acct := "111122223333"
	inst := livetest.Instance(acct, name)
	body := fmt.Appendf(nil, `{"Records":[%s,%s]}`,
		livetest.Record(acct, "us-east-1", "StopInstances", inst, at),
		livetest.Record(acct, "us-east-1", "StartInstances", inst, at.Add(3*time.Minute)))
	f.bodys = append(f.bodys, body)
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(body)
	zw.Close()
	key := fmt.Sprintf("AWSLogs/%s/CloudTrail/us-east-1/%s/%s_CloudTrail_us-east-1_%s_%s.json.gz",
		acct, at.Format("2006/01/02"), acct, at.Add(5*time.Minute).Format("20060102T1504Z"), name)
	f.s3.Put(f.t, "trail", key, b.Bytes())
	return key
}

// The three shapes of a notification of one object.
func s3Note(key string) string {
	return fmt.Sprintf(`{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-east-1","eventTime":"2026-03-05T10:00:00.000Z","eventName":"ObjectCreated:Put","s3":{"s3SchemaVersion":"1.0","bucket":{"name":"trail","arn":"arn:aws:s3:::trail"},"object":{"key":%q,"size":100,"eTag":"e1","sequencer":"0A1B"}}}]}`,
		strings.ReplaceAll(key, "_", "%5F"))
}

func snsNote(key string) string {
	return fmt.Sprintf(`{"Type":"Notification","MessageId":"m1","TopicArn":"arn:aws:sns:us-east-1:111122223333:trail","Subject":"Amazon S3 Notification","Message":%q,"Timestamp":"2026-03-05T10:00:00.000Z"}`, s3Note(key))
}

func eventBridgeNote(key string) string {
	return fmt.Sprintf(`{"version":"0","id":"x","detail-type":"Object Created","source":"aws.s3","account":"111122223333","time":"2026-03-05T10:00:00Z","region":"us-east-1","resources":["arn:aws:s3:::trail"],"detail":{"version":"0","bucket":{"name":"trail"},"object":{"key":%q,"size":100,"etag":"e1","sequencer":"0A1B"},"request-id":"r","requester":"111122223333","reason":"PutObject"}}`, key)
}

// TestQueueReadsEachObjectOnce: objects announced in every notification
// shape are read, their findings delivered once each, and the messages
// deleted after the checkpoint; a test event and a digest are dropped.
func TestQueueReadsEachObjectOnce(t *testing.T) {
	f := newFixture(t)
	at := time.Date(2026, 3, 5, 10, 0, 0, 0, time.UTC)
	f.sqs.Send("objects", s3Note(f.put("a", at)))
	f.sqs.Send("objects", snsNote(f.put("b", at.Add(time.Minute))))
	f.sqs.Send("objects", eventBridgeNote(f.put("c", at.Add(2*time.Minute))))
	f.sqs.Send("objects", `{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-03-05T10:00:00.000Z","Bucket":"trail","RequestId":"r","HostId":"h"}`)
	f.sqs.Send("objects", s3Note("AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/03/05/111122223333_CloudTrail-Digest_us-east-1_t_us-east-1_20260305T100000Z.json.gz"))
	f.start(queue.Options{})
	want, err := livetest.Oracle(time.Hour, nil, f.bodys...)
	if err != nil || len(want) != 3 {
		t.Fatalf("oracle: %v %v", want, err)
	}
	livetest.WaitFor(t, 20*time.Second, "three findings and every message deleted", func() bool {
		v, fl := f.sqs.Counts("objects")
		return f.mem.Len() == 3 && v+fl == 0
	})
	if got := strings.Join(f.mem.IDs(), ","); got != strings.Join(want, ",") {
		t.Errorf("findings %s, want %s", got, strings.Join(want, ","))
	}
	st := f.stats()
	if st.Objects != 3 || st.Deleted != 5 || st.Poison != 0 {
		t.Errorf("stats %+v", st)
	}
	f.halt()
}

// TestQueueDeleteLostAfterCheckpoint: the delete after a checkpoint fails
// (as if the process died between them): the message comes back, its
// object is skipped, not read again, and no finding is reported twice,
// across a restart too.
func TestQueueDeleteLostAfterCheckpoint(t *testing.T) {
	f := newFixture(t)
	at := time.Date(2026, 3, 5, 10, 0, 0, 0, time.UTC)
	f.sqs.Send("objects", s3Note(f.put("a", at)))
	f.sqs.FailDeletes(1)
	f.start(queue.Options{})
	livetest.WaitFor(t, 20*time.Second, "the finding", func() bool { return f.mem.Len() == 1 })
	f.halt()
	if v, fl := f.sqs.Counts("objects"); v+fl != 1 {
		t.Fatalf("the message whose delete failed: %d visible, %d in flight", v, fl)
	}
	gets := f.s3.Gets()
	f.sqs.Advance(10 * time.Minute) // its visibility timeout ends
	f.start(queue.Options{})
	livetest.WaitFor(t, 20*time.Second, "the message deleted", func() bool {
		v, fl := f.sqs.Counts("objects")
		return v+fl == 0
	})
	if st := f.stats(); st.Skipped != 1 || st.Objects != 0 {
		t.Errorf("after the restart: %+v, want the object skipped", st)
	}
	if f.s3.Gets() != gets {
		t.Errorf("the object was read again")
	}
	if f.mem.Len() != 1 {
		t.Errorf("%d findings, want 1", f.mem.Len())
	}
	f.halt()
}

// TestQueueStopMidObject: stopped while an object is being read, the
// message stays on the queue; after the restart the object is read whole
// and its finding reported once.
func TestQueueStopMidObject(t *testing.T) {
	f := newFixture(t)
	at := time.Date(2026, 3, 5, 10, 0, 0, 0, time.UTC)
	key := f.put("a", at)
	reached, release := f.s3.Stall(key, 20)
	f.sqs.Send("objects", s3Note(key))
	f.start(queue.Options{})
	<-reached
	f.halt()
	release()
	if f.mem.Len() != 0 {
		t.Fatal("a finding from a half-read object")
	}
	if v, fl := f.sqs.Counts("objects"); v+fl != 1 {
		t.Fatalf("the message of the half-read object: %d visible, %d in flight", v, fl)
	}
	f.sqs.Advance(10 * time.Minute)
	f.start(queue.Options{})
	livetest.WaitFor(t, 20*time.Second, "the finding and the delete", func() bool {
		v, fl := f.sqs.Counts("objects")
		return f.mem.Len() == 1 && v+fl == 0
	})
	f.halt()
}

// TestQueueVisibilityExtended: while an object is read its message's
// visibility is extended, so it does not come back meanwhile.
func TestQueueVisibilityExtended(t *testing.T) {
	f := newFixture(t)
	at := time.Date(2026, 3, 5, 10, 0, 0, 0, time.UTC)
	key := f.put("a", at)
	reached, release := f.s3.Stall(key, 20)
	defer release()
	f.sqs.Send("objects", s3Note(key))
	f.start(queue.Options{Visibility: 2 * time.Second})
	<-reached
	livetest.WaitFor(t, 10*time.Second, "two visibility extensions", func() bool { return f.sqs.Calls("ChangeMessageVisibility") >= 2 })
	if v, fl := f.sqs.Counts("objects"); v != 0 || fl != 1 {
		t.Errorf("while read: %d visible, %d in flight", v, fl)
	}
	if n := f.sqs.Calls("ReceiveMessage"); f.stats().Messages != 1 {
		t.Errorf("the message was received %d times (%d receives)", f.stats().Messages, n)
	}
	release()
	livetest.WaitFor(t, 20*time.Second, "the finding", func() bool { return f.mem.Len() == 1 })
	f.halt()
}

// TestQueuePoison: a message that is no notification, an object that is no
// log, a missing object and an object that cannot be read within
// MaxReceives are counted and logged, their messages deleted, and the
// queue goes on to the good object behind them.
func TestQueuePoison(t *testing.T) {
	f := newFixture(t)
	at := time.Date(2026, 3, 5, 10, 0, 0, 0, time.UTC)
	f.sqs.Send("objects", `this is not json`)
	f.s3.Put(t, "trail", "junk.json.gz", []byte("\x1f\x8b\x08 broken gzip"))
	f.sqs.Send("objects", s3Note("junk.json.gz"))
	f.sqs.Send("objects", s3Note("AWSLogs/111122223333/CloudTrail/us-east-1/2026/03/05/missing.json.gz"))
	f.s3.Put(t, "trail", "denied.json", []byte(`{"Records":[]}`))
	f.s3.Fail(func(r *http.Request) (int, string) {
		if strings.HasSuffix(r.URL.Path, "/denied.json") {
			return http.StatusForbidden, "AccessDenied"
		}
		return 0, ""
	})
	f.sqs.Send("objects", s3Note("denied.json"))
	f.sqs.Send("objects", s3Note(f.put("good", at)))
	f.start(queue.Options{MaxReceives: 2})
	livetest.WaitFor(t, 20*time.Second, "the good object's finding", func() bool { return f.mem.Len() == 1 })
	// The access-denied object's message comes back once, then is poison.
	f.sqs.Advance(10 * time.Minute)
	livetest.WaitFor(t, 20*time.Second, "every message deleted", func() bool {
		v, fl := f.sqs.Counts("objects")
		return v+fl == 0
	})
	if st := f.stats(); st.Poison != 4 || st.Objects != 2 {
		t.Errorf("stats %+v: want 4 poison (message, junk, missing, denied), 2 objects read (junk, good)", st)
	}
	f.halt()
}
