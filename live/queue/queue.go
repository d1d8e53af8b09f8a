// Package queue is the live input of watch --sqs: S3 objects announced on
// an SQS queue (S3 event notifications sent directly, through SNS or
// through EventBridge, or CloudTrail's own SNS messages), each read once
// into a live.Loop.
//
// The queue is the durable input (rule 1 of package live): a message stays
// on it until it is deleted, and it is deleted only after the checkpoint
// that holds its objects' events is written (Committed). The position
// written with each checkpoint names the objects read, so that a message
// delivered again — after a crash between the checkpoint and the delete,
// or because SQS delivers at least once — has its objects skipped, not
// read twice. A crash before the checkpoint leaves the message on the
// queue: it comes back when its visibility timeout ends and its objects
// are read again from the state before them. While a message is held (its
// objects being read, or read and waiting for the checkpoint) its
// visibility timeout is extended.
package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/ingest"
	"github.com/revertwatch/revertwatch/live"
	"github.com/revertwatch/revertwatch/source"
)

// Options configure an Input.
type Options struct {
	QueueURL string
	SQS      *sqs.Client
	S3       *source.S3
	Ingest   ingest.Options // record size cap, forced format, source overrides
	// Visibility is the visibility timeout asked for each received
	// message and renewed every half of it while the message is held
	// (default 5 minutes).
	Visibility time.Duration
	// MaxReceives is how many times a message whose object cannot be
	// read (a network error, access denied) is let back onto the queue
	// before the object counts as poison (default 5). An object that is
	// missing or does not decode is poison at once.
	MaxReceives int
	// Wait is the long-polling wait of a receive (default 20 s, the most
	// SQS allows).
	Wait time.Duration
	// Remember is how many objects read the position keeps, to skip a
	// message delivered again (default 10000).
	Remember int
	OnDiag   func(ingest.Diag)
	Logger   *slog.Logger
}

// Stats count what an Input did.
type Stats struct {
	Messages int64 // messages received
	Objects  int64 // objects read
	Events   int64
	Skipped  int64 // objects of a message delivered again, already read
	Poison   int64 // objects or messages given up on: the dead-letter count
	Deleted  int64 // messages deleted after their checkpoint
}

// Position is what an Input writes with each checkpoint: the objects read
// (bucket/key@etag), oldest first.
type Position struct {
	SQS struct {
		Read []string `json:"read"`
	} `json:"sqs"`
}

// Input is a live.Input over an SQS queue of S3 notifications.
type Input struct {
	opt Options

	received []types.Message // received by Wait, not yet read

	mu   sync.Mutex
	held map[string]*heldMsg // by MessageId: being read or waiting for a checkpoint

	read    []string // objects read, oldest first (the position)
	readSet map[string]bool
	covered []string // message ids the position being written covers
	pending bool

	stop chan struct{}
	wg   sync.WaitGroup

	messages, objects, events, skipped, poison, deleted atomic.Int64
}

type heldMsg struct {
	id, receipt string
	done        bool // every object read: delete after the next checkpoint
}

// New makes the Input, starting from the position a checkpoint covers
// (nil on a first start), and starts renewing the visibility of held
// messages.
func New(opt Options, pos json.RawMessage) (*Input, error) {
	if opt.Visibility <= 0 {
		opt.Visibility = 5 * time.Minute
	}
	if opt.Visibility < 2*time.Second {
		opt.Visibility = 2 * time.Second
	}
	if opt.MaxReceives <= 0 {
		opt.MaxReceives = 5
	}
	if opt.Wait <= 0 || opt.Wait > 20*time.Second {
		opt.Wait = 20 * time.Second
	}
	if opt.Remember <= 0 {
		opt.Remember = 10000
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	in := &Input{opt: opt, held: map[string]*heldMsg{}, readSet: map[string]bool{}, stop: make(chan struct{})}
	if len(pos) > 0 {
		var p Position
		if err := json.Unmarshal(pos, &p); err != nil {
			return nil, fmt.Errorf("the checkpoint's position is not an SQS input's (was the state directory written by another input?): %w", err)
		}
		for _, k := range p.SQS.Read {
			in.remember(k)
		}
	}
	in.wg.Add(1)
	go in.renew()
	return in, nil
}

// Close stops renewing visibility; held messages come back to the queue
// when their timeout ends.
func (in *Input) Close() {
	select {
	case <-in.stop:
	default:
		close(in.stop)
	}
	in.wg.Wait()
}

// Stats returns the counters; safe to call at any time.
func (in *Input) Stats() Stats {
	return Stats{Messages: in.messages.Load(), Objects: in.objects.Load(), Events: in.events.Load(),
		Skipped: in.skipped.Load(), Poison: in.poison.Load(), Deleted: in.deleted.Load()}
}

func (in *Input) remember(k string) {
	if in.readSet[k] {
		return
	}
	in.read = append(in.read, k)
	in.readSet[k] = true
	if over := len(in.read) - in.opt.Remember; over > 0 {
		for _, old := range in.read[:over] {
			delete(in.readSet, old)
		}
		// No copy: append moves the ids that are kept to a new array
		// when this one is full, so forgetting costs O(1) an object.
		in.read = in.read[over:]
	}
}

// Read implements live.Input: it reads the objects of the messages
// received (or, when there are none, of those a receive without waiting
// brings).
func (in *Input) Read(ctx context.Context, f live.Feed) (int, bool, error) {
	if len(in.received) == 0 {
		msgs, err := in.receive(ctx, 0)
		if err != nil {
			return 0, false, err
		}
		in.received = msgs
	}
	msgs := in.received
	in.received = nil
	n := 0
	for _, m := range msgs {
		if ctx.Err() != nil {
			return n, false, nil
		}
		n += in.message(ctx, f, m)
	}
	// A full batch: there may be more at once.
	return n, len(msgs) == 10, nil
}

// Wait implements live.Input: a long-polling receive.
func (in *Input) Wait(ctx context.Context) {
	msgs, err := in.receive(ctx, in.opt.Wait)
	if err != nil {
		if ctx.Err() == nil {
			in.opt.Logger.Warn("receiving from SQS", "queue", in.opt.QueueURL, "err", err)
			// Do not spin on an error: wait one polling period.
			select {
			case <-ctx.Done():
			case <-time.After(in.opt.Wait):
			}
		}
		return
	}
	in.received = append(in.received, msgs...)
}

func (in *Input) receive(ctx context.Context, wait time.Duration) ([]types.Message, error) {
	out, err := in.opt.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl:                    aws.String(in.opt.QueueURL),
		MaxNumberOfMessages:         10,
		WaitTimeSeconds:             int32(wait / time.Second),
		VisibilityTimeout:           int32(in.opt.Visibility / time.Second),
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameApproximateReceiveCount},
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil
		}
		return nil, fmt.Errorf("receiving from %s: %w", in.opt.QueueURL, err)
	}
	in.messages.Add(int64(len(out.Messages)))
	return out.Messages, nil
}

// message reads the objects one message announces and says how many.
func (in *Input) message(ctx context.Context, f live.Feed, m types.Message) int {
	id, receipt := aws.ToString(m.MessageId), aws.ToString(m.ReceiptHandle)
	in.mu.Lock()
	h := in.held[id]
	if h != nil {
		// Delivered again while held: only the newest receipt handle
		// deletes it or extends it.
		h.receipt = receipt
		in.mu.Unlock()
		if h.done {
			return 0
		}
	} else {
		h = &heldMsg{id: id, receipt: receipt}
		in.held[id] = h
		in.mu.Unlock()
	}
	receives, _ := strconv.Atoi(m.Attributes[string(types.MessageSystemAttributeNameApproximateReceiveCount)])
	log := in.opt.Logger.With("message", id)
	refs, kind, err := source.ParseNotification([]byte(aws.ToString(m.Body)))
	if err != nil {
		in.poison.Add(1)
		log.Warn("poison message: not an S3 notification; deleted after the next checkpoint", "err", err)
		in.finish(h)
		return 0
	}
	n := 0
	for _, ref := range refs {
		if (&source.Filter{}).Classify(ref.Key) == source.ByDigest {
			continue // a digest or Insights file: no audit events
		}
		k := ref.Bucket + "/" + ref.Key + "@" + ref.ETag
		if in.readSet[k] {
			in.skipped.Add(1)
			continue
		}
		switch err := in.object(ctx, f, ref); {
		case err == nil:
		case ctx.Err() != nil:
			return n // stopping: the message comes back
		case receives < in.opt.MaxReceives && !errors.Is(err, errPoison):
			log.Warn("object not read; the message comes back after its visibility timeout", "object", ref.Name(), "receives", receives, "err", err)
			in.release(h)
			return n
		default:
			in.poison.Add(1)
			log.Error("poison object: given up on", "object", ref.Name(), "receives", receives, "err", err)
		}
		in.remember(k)
		in.pending = true
		n++
	}
	if kind == source.NoteTest {
		log.Info("S3 test event; deleted")
	}
	in.finish(h)
	if n > 0 {
		f.Received(time.Now())
	}
	return n
}

// errPoison marks an object that no retry will read: missing, or not a
// log that decodes.
var errPoison = errors.New("poison")

// object reads one object into f. Its events are held until it has been
// read to the end, so that an object that fails midway changes nothing.
func (in *Input) object(ctx context.Context, f live.Feed, ref source.ObjectRef) error {
	body, err := in.opt.S3.Open(ctx, ref.Bucket, ref.Key)
	if err != nil {
		var se *source.S3Error
		if errors.As(err, &se) && (se.Code == "NoSuchKey" || se.Code == "NoSuchBucket") {
			return fmt.Errorf("%w: %v", errPoison, err)
		}
		return err
	}
	defer body.Close()
	tr := &trackReader{r: body}
	var evs []*event.Event
	var diags []ingest.Diag
	damaged := ""
	_, err = ingest.DecodeStream(ctx, ref.Name(), tr, in.opt.Ingest, ingest.Handlers{
		Event: func(ev *event.Event) error {
			evs = append(evs, ev)
			return nil
		},
		Diag: func(d ingest.Diag) {
			if d.Severity == ingest.FileErr && damaged == "" {
				damaged = d.Msg
			}
			diags = append(diags, d)
		},
	})
	if err != nil {
		return err
	}
	if tr.err != nil {
		return fmt.Errorf("reading %s: %w", ref.Name(), tr.err) // the network, not the data
	}
	for _, d := range diags {
		if in.opt.OnDiag != nil {
			in.opt.OnDiag(d)
		}
	}
	for _, ev := range evs {
		f.Process(ev)
	}
	in.objects.Add(1)
	in.events.Add(int64(len(evs)))
	if damaged != "" {
		// What decoded before the damage is kept, as hunt keeps it.
		return fmt.Errorf("%w: %s: %s", errPoison, ref.Name(), damaged)
	}
	return nil
}

// trackReader remembers the error, other than EOF, its reader gave: a
// failure of the transport, which a retry may get past, unlike damage in
// the data.
type trackReader struct {
	r   io.Reader
	err error
}

func (t *trackReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil && err != io.EOF && t.err == nil {
		t.err = err
	}
	return n, err
}

// finish marks a message read: it is deleted after the next checkpoint.
func (in *Input) finish(h *heldMsg) {
	in.mu.Lock()
	h.done = true
	in.mu.Unlock()
	in.pending = true
}

// release stops holding a message that is to come back to the queue.
func (in *Input) release(h *heldMsg) {
	in.mu.Lock()
	delete(in.held, h.id)
	in.mu.Unlock()
}

// Position implements live.Input.
func (in *Input) Position() (json.RawMessage, error) {
	var p Position
	p.SQS.Read = in.read
	if p.SQS.Read == nil {
		p.SQS.Read = []string{}
	}
	in.mu.Lock()
	in.covered = in.covered[:0]
	for id, h := range in.held {
		if h.done {
			in.covered = append(in.covered, id)
		}
	}
	in.mu.Unlock()
	return json.Marshal(p)
}

// Pending implements live.Input.
func (in *Input) Pending() bool { return in.pending }

// Committed implements live.Input: the messages the checkpoint covers are
// deleted. A delete that fails leaves the message to come back; its
// objects are in the position, so it is then deleted without being read.
func (in *Input) Committed() {
	in.pending = false
	in.mu.Lock()
	var del []*heldMsg
	for _, id := range in.covered {
		if h := in.held[id]; h != nil {
			del = append(del, h)
			delete(in.held, id)
		}
	}
	in.covered = in.covered[:0]
	in.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, h := range del {
		_, err := in.opt.SQS.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(in.opt.QueueURL), ReceiptHandle: aws.String(h.receipt)})
		if err != nil {
			in.opt.Logger.Warn("deleting a message after its checkpoint; it will come back and be skipped", "message", h.id, "err", err)
			continue
		}
		in.deleted.Add(1)
	}
}

// renew extends the visibility of every held message every half
// visibility timeout, so that a large object, or a checkpoint that takes
// long, does not let its message come back meanwhile.
func (in *Input) renew() {
	defer in.wg.Done()
	tick := time.NewTicker(in.opt.Visibility / 2)
	defer tick.Stop()
	for {
		select {
		case <-in.stop:
			return
		case <-tick.C:
		}
		in.mu.Lock()
		hs := make([]heldMsg, 0, len(in.held))
		for _, h := range in.held {
			hs = append(hs, *h)
		}
		in.mu.Unlock()
		for _, h := range hs {
			ctx, cancel := context.WithTimeout(context.Background(), in.opt.Visibility/2)
			_, err := in.opt.SQS.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
				QueueUrl: aws.String(in.opt.QueueURL), ReceiptHandle: aws.String(h.receipt),
				VisibilityTimeout: int32(in.opt.Visibility / time.Second),
			})
			cancel()
			if err != nil {
				in.opt.Logger.Warn("extending a message's visibility", "message", h.id, "err", err)
			}
		}
	}
}
