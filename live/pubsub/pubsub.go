// Package pubsub is the live input of watch --pubsub: a Google Cloud
// Pub/Sub subscription whose messages each carry one Cloud Audit Logs
// LogEntry (what a Cloud Logging sink to a Pub/Sub topic publishes),
// consumed into a live.Loop.
//
// The subscription is the durable input (rule 1 of package live): a
// message stays on it until it is acknowledged, and it is acknowledged
// only after the checkpoint that holds its events is written (Committed).
// Until then the client library keeps extending its ack deadline. The
// position written with each checkpoint names the messages read (their
// ids), so that a message delivered again — after a crash between the
// checkpoint and the ack, or because Pub/Sub delivers at least once — is
// acknowledged without being read twice. A crash before the checkpoint
// leaves the message unacknowledged: Pub/Sub delivers it again once its
// ack deadline has passed, and it is read from the state before it.
//
// A message whose data is not a log entry (not JSON, not a LogEntry,
// over the record size cap) is poison: counted, logged with its message
// id, and acknowledged after the next checkpoint like any other, so that
// it does not come back for ever and hold the subscription.
package pubsub

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	gps "cloud.google.com/go/pubsub/v2"
	"google.golang.org/api/option"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/ingest"
	"github.com/revertwatch/revertwatch/live"
)

// Options configure an Input.
type Options struct {
	// Subscription is the subscription's full name,
	// projects/PROJECT/subscriptions/SUBSCRIPTION.
	Subscription string
	// ClientOptions are passed to the client (tests: an endpoint and no
	// credentials). Without them the client finds Application Default
	// Credentials, or the emulator named by PUBSUB_EMULATOR_HOST.
	ClientOptions []option.ClientOption
	Ingest        ingest.Options // record size cap, source overrides
	// Wait is the longest Wait waits for a message (default 1 s).
	Wait time.Duration
	// MaxOutstanding is how many messages may be held unacknowledged at
	// once: received, read and waiting for their checkpoint (default
	// 1000, the client's).
	MaxOutstanding int
	// Remember is how many message ids the position keeps, to skip a
	// message delivered again (default 10000).
	Remember int
	OnDiag   func(ingest.Diag)
	Logger   *slog.Logger
}

// Stats count what an Input did.
type Stats struct {
	Messages int64 // messages received
	Events   int64
	NotAudit int64 // entries that are not audit logs (skipped, as hunt skips them)
	Skipped  int64 // messages delivered again, already read
	Poison   int64 // messages whose data is not a log entry
	Acked    int64 // messages acknowledged after their checkpoint
}

// Position is what an Input writes with each checkpoint: the ids of the
// messages read, oldest first.
type Position struct {
	PubSub struct {
		Subscription string   `json:"subscription"`
		Read         []string `json:"read"`
	} `json:"pubsub"`
}

// Input is a live.Input over a Pub/Sub subscription.
type Input struct {
	opt Options
	cl  *gps.Client

	mu       sync.Mutex
	received []*gps.Message // delivered by the client, not yet read
	recvErr  error          // why Receive stopped, if it did on its own
	closing  bool           // Close has begun: nack what arrives
	notify   chan struct{}  // a message arrived or Receive stopped

	done    []*gps.Message // read: acknowledged after the next checkpoint
	covered int            // how many of done the position being written covers
	read    []string       // ids read, oldest first (the position)
	readSet map[string]bool
	pending bool

	cancel   context.CancelFunc
	stopped  chan struct{} // closed when Receive has returned
	closeOne sync.Once

	messages, events, notAudit, skipped, poison, acked atomic.Int64
}

// subscriptionName is a subscription's full name: a project id (or a
// legacy domain-scoped one, example.com:project) and a subscription id as
// Pub/Sub allows them (a letter, then 2 to 254 of letters, digits and
// -._~%+).
var subscriptionName = regexp.MustCompile(`^projects/([a-z0-9][a-z0-9.:-]*)/subscriptions/([A-Za-z][A-Za-z0-9._~%+-]{2,254})$`)

// ParseSubscription splits projects/PROJECT/subscriptions/SUBSCRIPTION.
func ParseSubscription(name string) (project, id string, err error) {
	m := subscriptionName.FindStringSubmatch(name)
	if m == nil {
		return "", "", fmt.Errorf("%q is not a subscription name: want projects/PROJECT/subscriptions/SUBSCRIPTION", name)
	}
	return m[1], m[2], nil
}

// New connects and starts receiving, skipping the messages the position
// a checkpoint covers names (nil on a first start).
func New(opt Options, pos json.RawMessage) (*Input, error) {
	project, _, err := ParseSubscription(opt.Subscription)
	if err != nil {
		return nil, err
	}
	if opt.Wait <= 0 {
		opt.Wait = time.Second
	}
	if opt.MaxOutstanding <= 0 {
		opt.MaxOutstanding = gps.DefaultReceiveSettings.MaxOutstandingMessages
	}
	if opt.Remember <= 0 {
		opt.Remember = 10000
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	// Each message's data is one LogEntry: read as the Pub/Sub message
	// it is, whatever --input-format says of files.
	opt.Ingest.Format = ingest.FormatGCPPubSub
	in := &Input{opt: opt, readSet: map[string]bool{}, notify: make(chan struct{}, 1), stopped: make(chan struct{})}
	read, err := readPosition(pos, opt.Subscription)
	if err != nil {
		return nil, err
	}
	for _, id := range read {
		in.remember(id)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cl, err := gps.NewClient(ctx, project, opt.ClientOptions...)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("pubsub %s: %w", opt.Subscription, err)
	}
	in.cl, in.cancel = cl, cancel
	sub := cl.Subscriber(opt.Subscription)
	sub.ReceiveSettings.MaxOutstandingMessages = opt.MaxOutstanding
	// Close nacks every message it holds that no checkpoint covers, so
	// the client's graceful shutdown (the default) ends at once, having
	// sent the acks of the last checkpoint: with a shutdown timeout it
	// would return before they are sent.
	go func() {
		defer close(in.stopped)
		err := sub.Receive(ctx, in.receive)
		if err == nil && ctx.Err() == nil {
			err = errors.New("the subscription stopped delivering")
		}
		in.mu.Lock()
		in.recvErr = err
		in.mu.Unlock()
		in.wake()
	}()
	return in, nil
}

// readPosition returns the message ids a checkpoint's position of
// subscription sub names (none on a first start, pos empty).
func readPosition(pos json.RawMessage, sub string) ([]string, error) {
	if len(pos) == 0 {
		return nil, nil
	}
	var p Position
	if err := json.Unmarshal(pos, &p); err != nil || (p.PubSub.Read == nil && p.PubSub.Subscription == "") {
		return nil, fmt.Errorf("the checkpoint's position is not a Pub/Sub input's (was the state directory written by another input?)")
	}
	if p.PubSub.Subscription != "" && p.PubSub.Subscription != sub {
		return nil, fmt.Errorf("the state directory follows subscription %q, not %q", p.PubSub.Subscription, sub)
	}
	return p.PubSub.Read, nil
}

// receive is the client's callback: it queues the message for Read and
// returns, leaving the message unacknowledged (the client extends its
// deadline) until its checkpoint.
func (in *Input) receive(_ context.Context, m *gps.Message) {
	in.mu.Lock()
	if in.closing {
		in.mu.Unlock()
		m.Nack()
		return
	}
	in.messages.Add(1)
	in.received = append(in.received, m)
	in.mu.Unlock()
	in.wake()
}

func (in *Input) wake() {
	select {
	case in.notify <- struct{}{}:
	default:
	}
}

// closeWait bounds how long Close waits for the client to send its last
// acks and nacks.
const closeWait = 30 * time.Second

// Close stops receiving. The messages no written checkpoint covers (read
// or not) are nacked: Pub/Sub delivers them again at once. Call it once
// the Loop has stopped.
func (in *Input) Close() {
	in.closeOne.Do(func() {
		in.mu.Lock()
		in.closing = true
		held := append(in.received, in.done...)
		in.received, in.done = nil, nil
		in.mu.Unlock()
		for _, m := range held {
			m.Nack()
		}
		in.cancel()
		select {
		case <-in.stopped:
		case <-time.After(closeWait):
			in.opt.Logger.Warn("the Pub/Sub client did not stop; unacknowledged messages come back after their ack deadline", "subscription", in.opt.Subscription)
		}
		in.cl.Close()
	})
}

// Stats returns the counters; safe to call at any time.
func (in *Input) Stats() Stats {
	return Stats{Messages: in.messages.Load(), Events: in.events.Load(), NotAudit: in.notAudit.Load(),
		Skipped: in.skipped.Load(), Poison: in.poison.Load(), Acked: in.acked.Load()}
}

func (in *Input) remember(id string) {
	if in.readSet[id] {
		return
	}
	in.read = append(in.read, id)
	in.readSet[id] = true
	if over := len(in.read) - in.opt.Remember; over > 0 {
		for _, old := range in.read[:over] {
			delete(in.readSet, old)
		}
		// No copy: append moves the ids that are kept to a new array
		// when this one is full, so forgetting costs O(1) a message.
		in.read = in.read[over:]
	}
}

// Read implements live.Input: the messages received since the last Read,
// each decoded and fed. It returns the error that stopped the client's
// Receive (a subscription that does not exist, permission denied), once
// the messages before it are read.
func (in *Input) Read(ctx context.Context, f live.Feed) (int, bool, error) {
	in.mu.Lock()
	msgs, recvErr := in.received, in.recvErr
	in.received = nil
	in.mu.Unlock()
	n := 0
	for i, m := range msgs {
		if ctx.Err() != nil {
			// Stopping: what is not read is nacked by Close.
			in.mu.Lock()
			in.received = append(msgs[i:len(msgs):len(msgs)], in.received...)
			in.mu.Unlock()
			break
		}
		n += in.message(ctx, f, m)
	}
	if n > 0 {
		f.Received(time.Now())
	}
	if len(msgs) == 0 && recvErr != nil && ctx.Err() == nil {
		return 0, false, fmt.Errorf("pubsub %s: %w", in.opt.Subscription, recvErr)
	}
	return n, false, nil
}

// message reads one message and says whether it fed anything.
func (in *Input) message(ctx context.Context, f live.Feed, m *gps.Message) int {
	in.done = append(in.done, m)
	in.pending = true
	if in.readSet[m.ID] {
		in.skipped.Add(1)
		return 0
	}
	in.remember(m.ID)
	name := "pubsub://" + in.opt.Subscription + "/" + m.ID
	var poison string
	_, err := ingest.DecodeStream(ctx, name, bytes.NewReader(in.wrap(m)), in.opt.Ingest, ingest.Handlers{
		Event: func(ev *event.Event) error {
			in.events.Add(1)
			f.Process(ev)
			return nil
		},
		Diag: func(d ingest.Diag) {
			switch d.Severity {
			case ingest.Rejected, ingest.FileErr:
				if poison == "" {
					poison = d.Msg
				}
			case ingest.Skipped:
				in.notAudit.Add(1)
			}
			if in.opt.OnDiag != nil {
				in.opt.OnDiag(d)
			}
		},
	})
	if err != nil && poison == "" {
		poison = err.Error()
	}
	if poison != "" {
		in.poison.Add(1)
		in.opt.Logger.Warn("poison message: its data is not a log entry; acknowledged after the next checkpoint",
			"subscription", in.opt.Subscription, "message", m.ID, "err", poison)
	}
	return 1
}

// pushMessage is a message as a push subscription posts it, the shape
// ingest reads a Pub/Sub message in (the data base64-encoded).
type pushMessage struct {
	Message struct {
		Data        []byte            `json:"data"`
		Attributes  map[string]string `json:"attributes,omitempty"`
		MessageID   string            `json:"messageId"`
		PublishTime string            `json:"publishTime,omitempty"`
	} `json:"message"`
	Subscription string `json:"subscription"`
}

// wrap writes m as a push body, so that its entry is decoded, and its
// events labelled, as serve's Pub/Sub push requests are.
func (in *Input) wrap(m *gps.Message) []byte {
	var p pushMessage
	p.Message.Data, p.Message.Attributes, p.Message.MessageID = m.Data, m.Attributes, m.ID
	if !m.PublishTime.IsZero() {
		p.Message.PublishTime = m.PublishTime.UTC().Format(time.RFC3339Nano)
	}
	p.Subscription = in.opt.Subscription
	b, err := json.Marshal(&p)
	if err != nil {
		panic(err) // strings and bytes: cannot fail
	}
	return b
}

// Wait implements live.Input: until a message arrives, Wait passes, or
// ctx is done.
func (in *Input) Wait(ctx context.Context) {
	in.mu.Lock()
	ready := len(in.received) > 0 || in.recvErr != nil
	in.mu.Unlock()
	if ready {
		return
	}
	t := time.NewTimer(in.opt.Wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-in.notify:
	case <-t.C:
	}
}

// Position implements live.Input.
func (in *Input) Position() (json.RawMessage, error) {
	var p Position
	p.PubSub.Subscription = in.opt.Subscription
	p.PubSub.Read = in.read
	if p.PubSub.Read == nil {
		p.PubSub.Read = []string{}
	}
	in.covered = len(in.done)
	return json.Marshal(p)
}

// Pending implements live.Input.
func (in *Input) Pending() bool { return in.pending }

// Committed implements live.Input: the messages the checkpoint covers are
// acknowledged. An ack that is lost lets the message come back; its id is
// in the position, so it is then acknowledged without being read.
func (in *Input) Committed() {
	in.pending = false
	for _, m := range in.done[:in.covered] {
		m.Ack()
		in.acked.Add(1)
	}
	in.done = append(in.done[:0:0], in.done[in.covered:]...)
	in.covered = 0
}
