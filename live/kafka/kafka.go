// Package kafka is the live input of watch --kafka and watch --eventhub:
// records of a Kafka topic (an Azure Event Hub through its Kafka
// endpoint), each a body revertwatch reads (an Event Hubs export
// {"records":[...]}, CloudTrail records, EventBridge events), consumed
// into a live.Loop.
//
// The topic is the durable input (rule 1 of package live). The offsets
// read are the position written with each checkpoint and are where a
// restart resumes, whatever the group has committed; the group's offsets
// are committed only after the checkpoint that covers them (Committed),
// so that other tools watching the group see what is safely processed.
package kafka

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/plain"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/ingest"
	"github.com/revertwatch/revertwatch/live"
)

// Options configure an Input.
type Options struct {
	Brokers []string
	Topic   string
	Group   string // consumer group (default "revertwatch")
	// User and Password, when set, log in with SASL PLAIN (Event Hubs:
	// "$ConnectionString" and the connection string); TLS dials TLS.
	User, Password string
	TLS            bool
	Ingest         ingest.Options
	// Wait is the longest a poll waits for records (default 1 s).
	Wait time.Duration
	// SessionTimeout is how long the group waits for a member that
	// stopped answering (a crashed watch) before it hands its partitions
	// to another (default 45 s, Kafka's).
	SessionTimeout time.Duration
	OnDiag         func(ingest.Diag)
	Logger         *slog.Logger
}

// EventHubOptions turns an Event Hubs connection string
// (Endpoint=sb://NS.servicebus.windows.net/;SharedAccessKeyName=...;
// SharedAccessKey=...[;EntityPath=HUB]) and a hub name into the options
// of its Kafka endpoint: NS.servicebus.windows.net:9093, TLS, SASL PLAIN
// with the user "$ConnectionString" (the Event Hubs for Kafka
// documentation). hub may be empty when the string has an EntityPath.
func EventHubOptions(conn, hub string) (Options, error) {
	var endpoint, entity string
	for _, kv := range strings.Split(conn, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
		switch strings.ToLower(k) {
		case "endpoint":
			endpoint = v
		case "entitypath":
			entity = v
		}
	}
	u, err := url.Parse(endpoint)
	if endpoint == "" || err != nil || u.Host == "" {
		return Options{}, fmt.Errorf("the Event Hubs connection string has no Endpoint=sb://NAMESPACE.servicebus.windows.net/")
	}
	if hub == "" {
		hub = entity
	}
	if hub == "" {
		return Options{}, fmt.Errorf("name the event hub (--eventhub HUB) or give a connection string with EntityPath")
	}
	host := u.Host
	if u.Port() == "" {
		host += ":9093"
	}
	return Options{Brokers: []string{host}, Topic: hub, User: "$ConnectionString", Password: conn, TLS: true}, nil
}

// Stats count what an Input did.
type Stats struct {
	Records, Events int64
	Committed       int64 // group offset commits after a checkpoint
}

// Position is what an Input writes with each checkpoint: the next offset
// to read in each partition of the topic.
type Position struct {
	Kafka struct {
		Topic   string           `json:"topic"`
		Offsets map[string]int64 `json:"offsets"` // partition → next offset
	} `json:"kafka"`
}

// Input is a live.Input over a Kafka topic.
type Input struct {
	opt     Options
	cl      *kgo.Client
	next    map[int32]int64 // next offset per partition, read so far
	covered map[int32]int64 // the offsets the position being written holds
	fetched []*kgo.Record
	pending bool

	records, events, committed atomic.Int64
}

// New connects, resuming from the offsets a checkpoint covers (nil on a
// first start: the group's committed offsets, else the start of the
// topic).
func New(opt Options, pos json.RawMessage) (*Input, error) {
	if opt.Group == "" {
		opt.Group = "revertwatch"
	}
	if opt.Wait <= 0 {
		opt.Wait = time.Second
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	in := &Input{opt: opt, next: map[int32]int64{}}
	if len(pos) > 0 {
		var p Position
		if err := json.Unmarshal(pos, &p); err != nil {
			return nil, fmt.Errorf("the checkpoint's position is not a Kafka input's (was the state directory written by another input?): %w", err)
		}
		if p.Kafka.Topic != "" && p.Kafka.Topic != opt.Topic {
			return nil, fmt.Errorf("the state directory follows topic %q, not %q", p.Kafka.Topic, opt.Topic)
		}
		for k, v := range p.Kafka.Offsets {
			n, err := strconv.ParseInt(k, 10, 32)
			if err != nil {
				return nil, fmt.Errorf("checkpoint position: partition %q", k)
			}
			in.next[int32(n)] = v
		}
	}
	resume := make(map[int32]int64, len(in.next))
	for p, o := range in.next {
		resume[p] = o
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(opt.Brokers...),
		kgo.ConsumeTopics(opt.Topic),
		kgo.ConsumerGroup(opt.Group),
		kgo.DisableAutoCommit(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(opt.Wait),
		// The checkpoint, not the group, says where to resume.
		kgo.AdjustFetchOffsetsFn(func(_ context.Context, offs map[string]map[int32]kgo.Offset) (map[string]map[int32]kgo.Offset, error) {
			for p := range offs[opt.Topic] {
				if o, ok := resume[p]; ok {
					offs[opt.Topic][p] = kgo.NewOffset().At(o)
				}
			}
			return offs, nil
		}),
	}
	if opt.SessionTimeout > 0 {
		opts = append(opts, kgo.SessionTimeout(opt.SessionTimeout))
	}
	if opt.User != "" {
		opts = append(opts, kgo.SASL(plain.Auth{User: opt.User, Pass: opt.Password}.AsMechanism()))
	}
	if opt.TLS {
		opts = append(opts, kgo.DialTLSConfig(&tls.Config{MinVersion: tls.VersionTLS12}))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafka %s: %w", strings.Join(opt.Brokers, ","), err)
	}
	in.cl = cl
	return in, nil
}

// Close leaves the group and closes the connection.
func (in *Input) Close() { in.cl.Close() }

// Stats returns the counters; safe to call at any time.
func (in *Input) Stats() Stats {
	return Stats{Records: in.records.Load(), Events: in.events.Load(), Committed: in.committed.Load()}
}

// Read implements live.Input: the records fetched, each decoded and fed.
func (in *Input) Read(ctx context.Context, f live.Feed) (int, bool, error) {
	if len(in.fetched) == 0 {
		pctx, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
		err := in.poll(pctx)
		cancel()
		if err != nil {
			return 0, false, err
		}
	}
	recs := in.fetched
	in.fetched = nil
	n := 0
	for _, r := range recs {
		if ctx.Err() != nil {
			return n, false, nil
		}
		if o, ok := in.next[r.Partition]; ok && r.Offset < o {
			continue // already in the checkpoint
		}
		in.record(ctx, f, r)
		in.next[r.Partition] = r.Offset + 1
		in.pending = true
		n++
	}
	if n > 0 {
		f.Received(time.Now())
	}
	return n, false, nil
}

// record decodes one record's value into f.
func (in *Input) record(ctx context.Context, f live.Feed, r *kgo.Record) {
	name := fmt.Sprintf("kafka://%s/%d/%d", r.Topic, r.Partition, r.Offset)
	in.records.Add(1)
	_, err := ingest.DecodeStream(ctx, name, bytes.NewReader(r.Value), in.opt.Ingest, ingest.Handlers{
		Event: func(ev *event.Event) error {
			in.events.Add(1)
			f.Process(ev)
			return nil
		},
		Diag: func(d ingest.Diag) {
			if in.opt.OnDiag != nil {
				in.opt.OnDiag(d)
			}
		},
	})
	if err != nil && ctx.Err() == nil {
		in.opt.Logger.Warn("decoding a record", "record", name, "err", err)
	}
}

// Wait implements live.Input: a poll of up to Wait.
func (in *Input) Wait(ctx context.Context) {
	pctx, cancel := context.WithTimeout(ctx, in.opt.Wait)
	defer cancel()
	if err := in.poll(pctx); err != nil && ctx.Err() == nil {
		in.opt.Logger.Warn("polling kafka", "topic", in.opt.Topic, "err", err)
	}
}

func (in *Input) poll(ctx context.Context) error {
	fs := in.cl.PollFetches(ctx)
	var firstErr error
	fs.EachError(func(t string, p int32, err error) {
		if ctx.Err() != nil || firstErr != nil {
			return
		}
		firstErr = fmt.Errorf("kafka %s partition %d: %w", t, p, err)
	})
	if firstErr != nil && fs.NumRecords() == 0 {
		if kgo.IsRetryableBrokerErr(firstErr) {
			in.opt.Logger.Warn("polling kafka", "err", firstErr)
			return nil
		}
		return firstErr
	}
	in.fetched = append(in.fetched, fs.Records()...)
	return nil
}

// Position implements live.Input.
func (in *Input) Position() (json.RawMessage, error) {
	var p Position
	p.Kafka.Topic = in.opt.Topic
	p.Kafka.Offsets = map[string]int64{}
	in.covered = map[int32]int64{}
	parts := make([]int32, 0, len(in.next))
	for part := range in.next {
		parts = append(parts, part)
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i] < parts[j] })
	for _, part := range parts {
		p.Kafka.Offsets[strconv.Itoa(int(part))] = in.next[part]
		in.covered[part] = in.next[part]
	}
	return json.Marshal(p)
}

// Pending implements live.Input.
func (in *Input) Pending() bool { return in.pending }

// Committed implements live.Input: the group's offsets follow the
// checkpoint. A commit that fails is logged; the checkpoint holds the
// offsets that matter for a restart.
func (in *Input) Committed() {
	in.pending = false
	if len(in.covered) == 0 {
		return
	}
	offs := map[string]map[int32]kgo.EpochOffset{in.opt.Topic: {}}
	for p, o := range in.covered {
		offs[in.opt.Topic][p] = kgo.EpochOffset{Epoch: -1, Offset: o}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	in.cl.CommitOffsetsSync(ctx, offs, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, _ *kmsg.OffsetCommitResponse, err error) {
		if err != nil {
			in.opt.Logger.Warn("committing the group's offsets after a checkpoint", "err", err)
			return
		}
		in.committed.Add(1)
	})
}
