package cluster

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/live"
	"github.com/revertwatch/revertwatch/live/sink"
	"github.com/revertwatch/revertwatch/sequence"
)

// Names of the JetStream resources.
const (
	EventStream      = "REVERTWATCH_EVENTS"
	FindingStream    = "REVERTWATCH_FINDINGS"
	EventSubject     = "revertwatch.events"
	LeaseBucket      = "revertwatch-leases"
	MemberBucket     = "revertwatch-members"
	StateBucket      = "revertwatch-state"
	CheckpointBucket = "revertwatch-checkpoints"
	priorityGroup    = "revertwatch"
)

// Defaults of Options.
const (
	DefaultPartitions = 16
	DefaultLease      = 10 * time.Second
)

// Options configure a Replica.
type Options struct {
	Conn *nats.Conn
	// Replica names this process; default host name and process id.
	Replica string
	// Partitions is fixed when the event stream is first made.
	Partitions int
	// Lease is how long a partition stays with a replica that stopped
	// renewing it.
	Lease     time.Duration
	Processor live.Options
	// Sinks are this replica's own outputs (stdout, a file, a webhook);
	// findings always go to the findings stream too.
	Sinks  *sink.Fanout
	Render sink.Render
	// CheckpointInterval is the longest time between a partition's
	// checkpoints while events flow (default 250 ms).
	CheckpointInterval time.Duration
	// IdleFlush releases a partition's buffered events after this long
	// without events (0: never).
	IdleFlush time.Duration
	// FetchBatch is how many messages (up to 64 events each) a partition
	// pulls at once.
	FetchBatch int
	Hooks      Hooks
	Logger     *slog.Logger
}

// Hooks report what a replica does, for metrics. Any may be nil; they are
// called from several goroutines.
type Hooks struct {
	Event       func(*event.Event)              // an event went through a partition's detection
	Checkpoint  func(d time.Duration, size int) // a partition's checkpoint was written
	Owned       func(n int)                     // partitions owned changed
	Redelivered func()                          // a redelivered event was skipped
	Latency     func(d time.Duration)           // a finding left, d after its event was published
	SinkError   func(sink string, err error)    // a sink failed a delivery
	// Engine gets a partition's detection counters after each of its
	// checkpoints (they restart from the checkpoint's on a new owner).
	Engine func(partition int, s sequence.Stats)
}

// Replica is one member of the group.
type Replica struct {
	opt    Options
	js     jetstream.JetStream
	events jetstream.Stream
	leases jetstream.KeyValue
	member jetstream.KeyValue
	state  jetstream.KeyValue
	obs    jetstream.ObjectStore
	pub    *sink.NATS

	// transform: the stream partitions events by a subject transform
	// (nats-server 2.10 and later); else publishers append the partition.
	// pinned: consumers pin one client (2.11 and later).
	transform, pinned bool

	mu      sync.Mutex
	owned   map[int]*worker
	crashed bool // set by Crash: no partition starts any more
	wg      sync.WaitGroup
	ready   atomic.Bool
}

// New connects the replica to JetStream, making the streams, buckets and
// consumers that do not exist yet.
func New(ctx context.Context, opt Options) (*Replica, error) {
	if opt.Conn == nil {
		return nil, errors.New("cluster: no NATS connection")
	}
	if opt.Replica == "" {
		host, _ := os.Hostname()
		opt.Replica = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	opt.Replica = sink.Token(opt.Replica)
	if opt.Partitions <= 0 {
		opt.Partitions = DefaultPartitions
	}
	if opt.Lease <= 0 {
		opt.Lease = DefaultLease
	}
	if opt.CheckpointInterval <= 0 {
		opt.CheckpointInterval = 250 * time.Millisecond
	}
	if opt.FetchBatch <= 0 {
		opt.FetchBatch = 256
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Sinks == nil {
		opt.Sinks = sink.NewFanout()
	}
	js, err := jetstream.New(opt.Conn)
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	r := &Replica{opt: opt, js: js, owned: map[int]*worker{}}
	if err := r.setup(ctx); err != nil {
		return nil, err
	}
	r.pub = sink.NewNATS(opt.Conn, js, opt.Render)
	return r, nil
}

func (r *Replica) setup(ctx context.Context) error {
	n := r.opt.Partitions
	version := r.opt.Conn.ConnectedServerVersion()
	r.pinned = atLeast(version, 2, 11)
	desc := fmt.Sprintf("revertwatch events in %d partitions by provider and account", n)
	cfg := jetstream.StreamConfig{
		Name:        EventStream,
		Description: desc,
		Subjects:    []string{EventSubject + ".*.*.*"},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     jetstream.FileStorage,
		Duplicates:  10 * time.Minute,
	}
	if atLeast(version, 2, 10) {
		cfg.Subjects = []string{EventSubject + ".*.*"}
		cfg.SubjectTransform = &jetstream.SubjectTransformConfig{
			Source:      EventSubject + ".*.*",
			Destination: fmt.Sprintf("%s.{{wildcard(1)}}.{{wildcard(2)}}.{{partition(%d,1,2)}}", EventSubject, n),
		}
	}
	s, err := r.js.Stream(ctx, EventStream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		s, err = r.js.CreateStream(ctx, cfg)
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			s, err = r.js.Stream(ctx, EventStream)
		}
	}
	if err != nil {
		return fmt.Errorf("stream %s: %w", EventStream, err)
	}
	got := s.CachedInfo().Config
	if got.Description != desc {
		return fmt.Errorf("stream %s says %q; every replica needs the same --partitions (%d here), or the stream remade", EventStream, got.Description, n)
	}
	r.transform = got.SubjectTransform != nil
	r.events = s
	if _, err := r.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: FindingStream, Description: "revertwatch findings, one message per finding, de-duplicated by Nats-Msg-Id",
		Subjects: []string{sink.FindingSubjectPrefix + ">"}, Storage: jetstream.FileStorage,
		Duplicates: time.Hour, MaxAge: 14 * 24 * time.Hour,
	}); err != nil {
		return fmt.Errorf("stream %s: %w", FindingStream, err)
	}
	kv := func(cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
		b, err := r.js.KeyValue(ctx, cfg.Bucket)
		if errors.Is(err, jetstream.ErrBucketNotFound) {
			b, err = r.js.CreateKeyValue(ctx, cfg)
			if errors.Is(err, jetstream.ErrBucketExists) {
				b, err = r.js.KeyValue(ctx, cfg.Bucket)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("bucket %s: %w", cfg.Bucket, err)
		}
		return b, nil
	}
	if r.leases, err = kv(jetstream.KeyValueConfig{Bucket: LeaseBucket, History: 1, Storage: jetstream.FileStorage}); err != nil {
		return err
	}
	if r.member, err = kv(jetstream.KeyValueConfig{Bucket: MemberBucket, History: 1, TTL: r.opt.Lease, Storage: jetstream.MemoryStorage}); err != nil {
		return err
	}
	if r.state, err = kv(jetstream.KeyValueConfig{Bucket: StateBucket, History: 1, Storage: jetstream.FileStorage}); err != nil {
		return err
	}
	r.obs, err = r.js.ObjectStore(ctx, CheckpointBucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		r.obs, err = r.js.CreateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: CheckpointBucket, Storage: jetstream.FileStorage})
		if errors.Is(err, jetstream.ErrBucketExists) {
			r.obs, err = r.js.ObjectStore(ctx, CheckpointBucket)
		}
	}
	if err != nil {
		return fmt.Errorf("object store %s: %w", CheckpointBucket, err)
	}
	for p := range n {
		cc := jetstream.ConsumerConfig{
			Durable: consumerName(p), FilterSubject: fmt.Sprintf("%s.*.*.%d", EventSubject, p),
			AckPolicy: jetstream.AckExplicitPolicy, AckWait: ackWait(r.opt.CheckpointInterval), MaxAckPending: 20000,
		}
		if r.pinned {
			// Belt and braces with the leases: the server itself gives a
			// partition's events to one client at a time.
			cc.PriorityPolicy, cc.PriorityGroups, cc.PinnedTTL = jetstream.PriorityPolicyPinned, []string{priorityGroup}, r.opt.Lease
		}
		if _, err := r.js.CreateOrUpdateConsumer(ctx, EventStream, cc); err != nil {
			return fmt.Errorf("consumer %s: %w", consumerName(p), err)
		}
	}
	return nil
}

// ackWait is how long JetStream waits for an event's ack before sending
// it again: events wait for the next checkpoint, so well past its interval,
// and short enough that a delivery lost in a hand-over comes back soon (a
// copy is dropped by stream sequence or event id).
func ackWait(interval time.Duration) time.Duration { return max(5*time.Second, 20*interval) }

// atLeast reports whether a server version ("2.10.4") is at least
// major.minor.
func atLeast(version string, major, minor int) bool {
	parts := strings.SplitN(strings.TrimPrefix(version, "v"), ".", 3)
	if len(parts) < 2 {
		return false
	}
	ma, err1 := strconv.Atoi(parts[0])
	mi, err2 := strconv.Atoi(strings.TrimFunc(parts[1], func(r rune) bool { return r < '0' || r > '9' }))
	if err1 != nil || err2 != nil {
		return false
	}
	return ma > major || ma == major && mi >= minor
}

// partition is the partition of a subject when publishers compute it (a
// server without subject transforms): FNV-1a of provider and account.
func partition(subject string, n int) int {
	h := fnv.New32a()
	h.Write([]byte(subject))
	return int(h.Sum32() % uint32(n))
}

func consumerName(p int) string { return "partition-" + strconv.Itoa(p) }
func partKey(p int) string      { return "p" + strconv.Itoa(p) }

// Subject is where an event is published: provider and account as subject
// tokens, the Azure subscription lower-cased as the engine scopes it.
func Subject(ev *event.Event) string {
	acct := ev.Account
	if ev.Provider == event.Azure {
		acct = strings.ToLower(acct)
	}
	return EventSubject + "." + sink.Token(ev.Provider) + "." + sink.Token(acct)
}

// Envelope is a message of the event stream: the events of one batch
// that share a subject, and when they were accepted.
type Envelope struct {
	Received time.Time      `json:"received"`
	Events   []*event.Event `json:"events"`
}

// maxPerMessage caps the events of one message (and so its size, with
// records of a few KB, well under the default 1 MB payload limit).
const maxPerMessage = 64

// Publish stores a batch's events in the stream and returns once JetStream
// has acknowledged every message: then they are durable. The events of one
// subject go together, up to maxPerMessage a message; the message id is a
// hash of their event ids, so that a client that sends a body again does
// not make copies (and a copy that slips through is dropped by event id).
func (r *Replica) Publish(ctx context.Context, b *live.Batch) error {
	bySubject := map[string][]*event.Event{}
	var subjects []string
	for _, ev := range b.Events {
		s := Subject(ev)
		if _, ok := bySubject[s]; !ok {
			subjects = append(subjects, s)
		}
		bySubject[s] = append(bySubject[s], ev)
	}
	var futures []jetstream.PubAckFuture
	for _, s := range subjects {
		evs := bySubject[s]
		for len(evs) > 0 {
			n := min(len(evs), maxPerMessage)
			data, err := json.Marshal(Envelope{Received: b.Received, Events: evs[:n]})
			if err != nil {
				return fmt.Errorf("encoding events: %w", err)
			}
			subject := s
			if !r.transform {
				subject += "." + strconv.Itoa(partition(s, r.opt.Partitions))
			}
			f, err := r.js.PublishAsync(subject, data, jetstream.WithMsgID(msgID(evs[:n])))
			if err != nil {
				return fmt.Errorf("publishing: %w", err)
			}
			futures = append(futures, f)
			evs = evs[n:]
		}
	}
	for _, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return fmt.Errorf("publishing: %w", err)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// msgID identifies a message by its events' ids (their content when an
// event has none).
func msgID(evs []*event.Event) string {
	h := sha256.New()
	for _, ev := range evs {
		if ev.UID != "" {
			h.Write([]byte(ev.UID))
		} else {
			h.Write(ev.Raw)
		}
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// Ready is nil while the connection is up.
func (r *Replica) Ready() error {
	if !r.opt.Conn.IsConnected() {
		return errors.New("not connected to NATS")
	}
	if !r.ready.Load() {
		return errors.New("joining the group")
	}
	return nil
}

// Owned lists the partitions this replica owns.
func (r *Replica) Owned() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []int
	for p := range r.owned {
		out = append(out, p)
	}
	sort.Ints(out)
	return out
}

// Backlog is what this replica's sinks owe, over the partitions it owns:
// per sink, the findings summed and the oldest wait.
func (r *Replica) Backlog() []live.SinkBacklog {
	r.mu.Lock()
	var all [][]live.SinkBacklog
	for _, w := range r.owned {
		if l := w.loop.Load(); l != nil {
			all = append(all, l.Backlog())
		}
	}
	r.mu.Unlock()
	return live.SumBacklogs(all...)
}

// rendezvous picks the member that should own partition p.
func rendezvous(p int, members []string) string {
	best, bestH := "", uint64(0)
	for _, m := range members {
		h := fnv.New64a()
		fmt.Fprintf(h, "%d\x00%s", p, m)
		if v := h.Sum64(); best == "" || v > bestH {
			best, bestH = m, v
		}
	}
	return best
}

type lease struct {
	Owner   string    `json:"owner"`
	Expires time.Time `json:"expires"`
}

// Run takes part in the group until ctx is done, then hands its
// partitions back: each drains what it fetched, checkpoints, acknowledges
// and releases its lease, within drainCtx.
func (r *Replica) Run(ctx, drainCtx context.Context) error {
	tick := time.NewTicker(r.opt.Lease / 4)
	defer tick.Stop()
	for {
		r.rebalance(ctx)
		r.ready.Store(true)
		select {
		case <-ctx.Done():
			r.ready.Store(false)
			r.mu.Lock()
			crashed := r.crashed
			r.mu.Unlock()
			if !crashed {
				r.releaseAll(drainCtx)
			}
			r.wg.Wait()
			return nil
		case <-tick.C:
		}
	}
}

// Crash stops every partition at once, without a checkpoint, an ack or a
// lease release, as a killed process would (for tests).
func (r *Replica) Crash() {
	r.mu.Lock()
	r.crashed = true
	for p, w := range r.owned {
		w.abandon()
		delete(r.owned, p)
	}
	r.mu.Unlock()
	r.wg.Wait()
}

func (r *Replica) members(ctx context.Context) []string {
	keys, err := r.member.Keys(ctx)
	if err != nil {
		return nil
	}
	sort.Strings(keys)
	return keys
}

// rebalance announces the replica, renews its leases, takes the
// partitions it should own and hands back those it should not.
func (r *Replica) rebalance(ctx context.Context) {
	r.mu.Lock()
	crashed := r.crashed
	r.mu.Unlock()
	if crashed {
		return
	}
	if _, err := r.member.PutString(ctx, r.opt.Replica, time.Now().UTC().Format(time.RFC3339Nano)); err != nil {
		r.opt.Logger.Warn("announcing the replica", "err", err)
		return
	}
	members := r.members(ctx)
	if len(members) == 0 {
		members = []string{r.opt.Replica}
	}
	for p := range r.opt.Partitions {
		want := rendezvous(p, members) == r.opt.Replica
		r.mu.Lock()
		w := r.owned[p]
		r.mu.Unlock()
		switch {
		case w != nil && w.finished():
			r.mu.Lock()
			delete(r.owned, p)
			r.mu.Unlock()
		case w != nil && !want:
			r.opt.Logger.Info("handing over partition", "partition", p)
			r.release(ctx, p, w)
		case w != nil:
			if !r.renew(ctx, w) {
				r.opt.Logger.Warn("lost the lease of partition", "partition", p)
				w.abandon()
				r.mu.Lock()
				delete(r.owned, p)
				r.mu.Unlock()
			}
		case want:
			if rev, ok := r.acquire(ctx, p); ok {
				r.start(ctx, p, rev)
			}
		}
	}
	if r.opt.Hooks.Owned != nil {
		r.opt.Hooks.Owned(len(r.Owned()))
	}
}

// acquire takes partition p's lease if it is free or expired.
func (r *Replica) acquire(ctx context.Context, p int) (uint64, bool) {
	val, _ := json.Marshal(lease{Owner: r.opt.Replica, Expires: time.Now().Add(r.opt.Lease)})
	e, err := r.leases.Get(ctx, partKey(p))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		rev, err := r.leases.Create(ctx, partKey(p), val)
		return rev, err == nil
	}
	if err != nil {
		return 0, false
	}
	var l lease
	if json.Unmarshal(e.Value(), &l) == nil && l.Owner != r.opt.Replica && time.Now().Before(l.Expires) {
		return 0, false
	}
	rev, err := r.leases.Update(ctx, partKey(p), val, e.Revision())
	return rev, err == nil
}

func (r *Replica) renew(ctx context.Context, w *worker) bool {
	val, _ := json.Marshal(lease{Owner: r.opt.Replica, Expires: time.Now().Add(r.opt.Lease)})
	rev, err := r.leases.Update(ctx, partKey(w.p), val, w.leaseRev.Load())
	if err != nil {
		return false
	}
	w.leaseRev.Store(rev)
	return true
}

func (r *Replica) start(ctx context.Context, p int, leaseRev uint64) {
	w := newWorker(r, p)
	w.leaseRev.Store(leaseRev)
	r.mu.Lock()
	if r.crashed {
		r.mu.Unlock()
		return
	}
	r.owned[p] = w
	r.mu.Unlock()
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		if err := w.run(); err != nil && !errors.Is(err, errStopped) {
			r.opt.Logger.Error("partition stopped", "partition", p, "err", err)
		}
	}()
	r.opt.Logger.Info("took partition", "partition", p)
}

// release stops a partition gracefully and gives its lease back.
func (r *Replica) release(ctx context.Context, p int, w *worker) {
	w.stop(ctx)
	r.mu.Lock()
	delete(r.owned, p)
	r.mu.Unlock()
	if r.pinned {
		_ = r.events.UnpinConsumer(ctx, consumerName(p), priorityGroup)
	}
	_ = r.leases.Delete(ctx, partKey(p), jetstream.LastRevision(w.leaseRev.Load()))
}

func (r *Replica) releaseAll(ctx context.Context) {
	r.mu.Lock()
	ws := make(map[int]*worker, len(r.owned))
	for p, w := range r.owned {
		ws[p] = w
	}
	r.mu.Unlock()
	var wg sync.WaitGroup
	for p, w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.release(ctx, p, w)
		}()
	}
	wg.Wait()
}
