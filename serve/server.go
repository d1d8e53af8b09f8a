package serve

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/finding"
	"github.com/revertwatch/revertwatch/live"
	"github.com/revertwatch/revertwatch/live/sink"
	"github.com/revertwatch/revertwatch/sigma"
	"github.com/revertwatch/revertwatch/tune"
)

// Defaults of Config.
const (
	DefaultListen             = "127.0.0.1:8080"
	DefaultMaxBodyBytes       = 32 << 20
	DefaultMaxDecodedBytes    = 256 << 20
	DefaultMaxQueue           = 1_000_000
	DefaultCheckpointInterval = 250 * time.Millisecond
	DefaultShutdownTimeout    = 20 * time.Second
	DefaultReadHeaderTimeout  = 10 * time.Second
	DefaultBodyTimeout        = time.Minute
	DefaultIdleTimeout        = 2 * time.Minute
	DefaultStoreTimeout       = 30 * time.Second
)

// Config configures a Server. Zero values take the defaults.
type Config struct {
	// Listen is the address to listen on; Listener, when set, is used
	// instead (tests listen on 127.0.0.1:0).
	Listen   string
	Listener net.Listener
	// StateDir holds the bbolt state (alone) or nothing (with NATS).
	StateDir string
	// ResetState starts with no state when the state file is empty or
	// unreadable (store.Options.Reset); else that is an error.
	ResetState bool
	// Token is the bearer token ingest requires; empty means none.
	Token string
	// Tuning is the tuning config; nil means tune.Default().
	Tuning *tune.Config
	// Lateness overrides the tuning's allowed lateness when non-zero.
	Lateness time.Duration
	// Rules are Sigma rules run beside the built-in content (alone with
	// NoBuiltin), in every replica; their state is checkpointed with the
	// engine's, so their findings too are delivered exactly once.
	Rules     *sigma.Ruleset
	NoBuiltin bool
	// IdleFlush releases every buffered event once no input came for this
	// long, so that the last sequences of a quiet source close; 0 means
	// the allowed lateness, negative never.
	IdleFlush time.Duration
	// Render is how sinks write findings.
	Render sink.Render
	// Sinks receive findings; none means standard output in Render's
	// format.
	Sinks []sink.Sink
	// MaxBodyBytes caps a request body as sent; MaxDecodedBytes caps it
	// once gunzipped; MaxRecordSize caps one record.
	MaxBodyBytes, MaxDecodedBytes int64
	MaxRecordSize                 int
	// MaxInflight caps requests decoded at once (default twice the CPUs);
	// MaxQueue caps accepted events not yet processed. Past either,
	// ingest answers 503 with Retry-After.
	MaxInflight int
	MaxQueue    int64
	// CheckpointInterval is the longest time between checkpoints while
	// input flows; findings are checkpointed (and so delivered) at once.
	CheckpointInterval time.Duration
	// SinkBackoff is the wait after a sink's first failed delivery,
	// doubled after each up to 30 s (default live.DefaultSinkBackoff).
	SinkBackoff time.Duration
	// ShutdownTimeout bounds a graceful shutdown.
	ShutdownTimeout time.Duration
	// ReadHeaderTimeout bounds the reading of a request's headers,
	// BodyTimeout that of its body (no in-flight slot is held meanwhile),
	// IdleTimeout the wait of a kept-alive connection for its next
	// request; past them the connection is closed (a body too slow is
	// answered 408 first).
	ReadHeaderTimeout, BodyTimeout, IdleTimeout time.Duration
	// StoreTimeout bounds the wait for a backend that can give up (a
	// replica's JetStream acknowledgements) to store a checked request,
	// and so the time a request holds an in-flight slot; past it, 503.
	StoreTimeout time.Duration
	// TLSCert and TLSKey are PEM files of the server's certificate (its
	// chain) and key: when set, the listener speaks only TLS (1.2 and
	// later). TLSClientCA, a PEM bundle, makes client certificates
	// required and verified against it. ReloadTLS reads the three again.
	TLSCert, TLSKey, TLSClientCA string
	// Cluster, when set, runs the server as one replica of a JetStream
	// group instead of on local state.
	Cluster ClusterBackend
	// Stream, when set, opens a streaming input (an SQS queue of S3
	// notifications, a Kafka topic, an Event Hub, a Pub/Sub subscription)
	// that the one loop reads beside the HTTP intake; its position is
	// written in the checkpoint with the journal's, so it acknowledges
	// only what a checkpoint holds. Not with Cluster.
	Stream StreamOpener
	// Logger receives operational messages; nil discards them.
	Logger *slog.Logger
	// Metrics, when set, is used instead of a new registry.
	Metrics *Metrics
}

func (c *Config) defaults() {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.Tuning == nil {
		c.Tuning = tune.Default()
	}
	if c.Lateness == 0 {
		c.Lateness = c.Tuning.Lateness
	}
	if c.IdleFlush == 0 {
		c.IdleFlush = c.Lateness
	}
	if c.Render.Format == "" {
		c.Render.Format = finding.FormatNDJSON
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.MaxDecodedBytes <= 0 {
		c.MaxDecodedBytes = DefaultMaxDecodedBytes
	}
	if c.MaxInflight <= 0 {
		c.MaxInflight = 2 * runtime.NumCPU()
	}
	if c.MaxQueue <= 0 {
		c.MaxQueue = DefaultMaxQueue
	}
	if c.CheckpointInterval <= 0 {
		c.CheckpointInterval = DefaultCheckpointInterval
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
	if c.ReadHeaderTimeout <= 0 {
		c.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if c.BodyTimeout <= 0 {
		c.BodyTimeout = DefaultBodyTimeout
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.StoreTimeout <= 0 {
		c.StoreTimeout = DefaultStoreTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Metrics == nil {
		c.Metrics = NewMetrics()
	}
}

// ErrOverloaded is what a backend returns when it cannot take more input
// now; ingest answers 503 with Retry-After.
var ErrOverloaded = errors.New("over capacity: retry later")

// Backend is where accepted input goes and where it is processed: the
// local journal, or a JetStream group (package live/cluster, adapted by
// the caller).
type Backend interface {
	// Accept stores a checked request durably; nil means its events will
	// be processed even if the process dies now.
	Accept(ctx context.Context, in *Intake) error
	// JournalHead is what the backend writes before a request's body in
	// its journal entry; the body is read into the same buffer after it
	// (Intake.Entry), sparing a copy of the body. nil for none.
	JournalHead(received time.Time, body Body) ([]byte, error)
	// KeepEvents is how many bytes of a request's decoded events the
	// backend wants kept from the check (Intake.Decoded), to spare a
	// second decoding; 0 when it needs only their number.
	KeepEvents() int64
	// Run processes input until ctx is done, then drains what it can
	// within drainCtx and checkpoints.
	Run(ctx, drainCtx context.Context) error
	// Ready is nil when the backend can take input.
	Ready() error
	// Close releases the backend after Run returned.
	Close() error
}

// Intake is one ingest request, read whole and checked: its body as sent
// and how many events it holds. Its events are not kept (a body of
// millions of tiny records would hold gigabytes of them) unless they fit
// in the backend's KeepEvents; Decode gives them again, in order.
type Intake struct {
	Received time.Time
	Body     Body
	// Entry is the backend's JournalHead followed by the body, whose Data
	// is the end of it.
	Entry  []byte
	Events int
	// Decoded holds the events when they fit in KeepEvents, else nil;
	// for a backend that takes partial events (the local one), handed
	// holds them instead. DecodedCost is what they hold, roughly, in
	// bytes.
	Decoded     []*event.Event
	handed      []handedEvent
	DecodedCost int64
	// Decode decodes the body again, handing each event to fn; an error
	// from fn stops it and is returned.
	Decode func(ctx context.Context, fn func(*event.Event) error) error
}

// Body is an ingest request as read, with what its events were decoded
// with. The local journal keeps it rather than the events, which is
// smaller and several times cheaper than encoding them; its events decode
// again from it byte for byte.
type Body struct {
	Name, Category, Host string
	// Encoding is the request's Content-Encoding. Every gzip layer is
	// recognised by its magic bytes too, so a body accepted decodes the
	// same without it (the journal does not keep it).
	Encoding string
	Data     []byte
}

// ClusterBackend makes the Backend of a replica once the Server knows
// its sinks, metrics and settings.
type ClusterBackend func(h Hooks) (Backend, error)

// Hooks is what a backend reports to the Server and the settings it
// shares with it.
type Hooks struct {
	Processor live.Options
	Sinks     *sink.Fanout
	Metrics   *Metrics
	Logger    *slog.Logger
	// CheckpointInterval and IdleFlush as in Config.
	CheckpointInterval, IdleFlush time.Duration
	MaxQueue                      int64
	// MaxRecordSize is the ingest record cap, kept with journal entries.
	MaxRecordSize int
	// SinkBackoff as in Config.
	SinkBackoff time.Duration
}

// Server is the daemon.
type Server struct {
	cfg    Config
	m      *Metrics
	log    *slog.Logger
	be     Backend
	out    *sink.Fanout
	ln     net.Listener
	http   *http.Server
	sem    chan struct{}
	tokenH [32]byte
	tls    *tlsFiles // nil without TLS
	ready  atomic.Bool
	// closing is set, under mu, when intake stops; inflight counts the
	// requests past that check, which shutdown waits for.
	mu       sync.Mutex
	closing  atomic.Bool
	inflight sync.WaitGroup
}

// enter counts a request that is about to store input, unless intake has
// stopped.
func (s *Server) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing.Load() {
		return false
	}
	s.inflight.Add(1)
	return true
}

// isClosing reports whether intake has stopped.
func (s *Server) isClosing() bool { return s.closing.Load() }

// stopIntake makes ingest answer 503 from now on.
func (s *Server) stopIntake() {
	s.mu.Lock()
	s.closing.Store(true)
	s.mu.Unlock()
}

// New opens the state (or joins the cluster) and prepares the server; Run
// starts it.
func New(cfg Config) (*Server, error) {
	cfg.defaults()
	s := &Server{cfg: cfg, m: cfg.Metrics, log: cfg.Logger, sem: make(chan struct{}, cfg.MaxInflight)}
	s.tokenH = hashToken(cfg.Token)
	sinks := cfg.Sinks
	if len(sinks) == 0 {
		sinks = []sink.Sink{sink.NewWriter("stdout", stdout, cfg.Render)}
	}
	for _, sk := range sinks {
		if w, ok := sk.(*sink.Webhook); ok && w.DeadLettered == nil {
			w.DeadLettered = s.m.DeadLetters.Inc
		}
	}
	s.out = sink.NewFanout(sinks...)
	h := Hooks{
		Processor: live.Options{Config: cfg.Tuning, Lateness: cfg.Lateness, Rules: cfg.Rules, NoBuiltin: cfg.NoBuiltin,
			OnLate:    func(*event.Event) { s.m.Late.Inc() },
			OnFinding: func(f finding.Finding, fate live.Fate) { s.m.Findings.WithLabelValues(f.RuleID, string(fate)).Inc() }},
		Sinks: s.out, Metrics: s.m, Logger: s.log,
		CheckpointInterval: cfg.CheckpointInterval, IdleFlush: cfg.IdleFlush, MaxQueue: cfg.MaxQueue,
		MaxRecordSize: cfg.MaxRecordSize, SinkBackoff: cfg.SinkBackoff,
	}
	var err error
	switch {
	case cfg.Cluster != nil && cfg.Stream != nil:
		return nil, errors.New("a streaming input (SQS, Kafka, Event Hubs, Pub/Sub) runs on local state, not as a JetStream replica")
	case cfg.Cluster != nil:
		s.be, err = cfg.Cluster(h)
	default:
		s.be, err = newLocal(cfg.StateDir, cfg.ResetState, h, cfg.Stream)
	}
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/ingest", s.ingest)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("/readyz", s.readyz)
	mux.Handle("/metrics", promhttp.HandlerFor(s.m.Registry, promhttp.HandlerOpts{Registry: s.m.Registry}))
	// ReadTimeout backs the body timeout up for the endpoints that do not
	// read a body: net/http still reads what a client sends after the
	// handler returned.
	s.http = &http.Server{Handler: mux, ReadHeaderTimeout: cfg.ReadHeaderTimeout, ReadTimeout: cfg.ReadHeaderTimeout + cfg.BodyTimeout,
		IdleTimeout: cfg.IdleTimeout, ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug)}
	if cfg.TLSCert != "" || cfg.TLSKey != "" || cfg.TLSClientCA != "" {
		s.tls = &tlsFiles{cert: cfg.TLSCert, key: cfg.TLSKey, clientCA: cfg.TLSClientCA}
		if err := s.tls.load(); err != nil {
			s.be.Close()
			return nil, err
		}
	}
	s.ln = cfg.Listener
	if s.ln == nil {
		s.ln, err = net.Listen("tcp", cfg.Listen)
		if err != nil {
			s.be.Close()
			return nil, fmt.Errorf("listen: %w", err)
		}
	}
	if s.tls != nil {
		s.ln = tls.NewListener(s.ln, s.tls.config())
	}
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Run serves until ctx is done, then shuts down gracefully: /readyz
// fails and ingest answers 503 (the listener stays open, so that clients
// are told to retry rather than refused), the requests already storing
// input finish, what was accepted is drained and checkpointed, the
// findings are delivered, and only then is the listener closed; all
// within the shutdown timeout.
func (s *Server) Run(ctx context.Context) error {
	runCtx, stopRun := context.WithCancel(context.Background())
	defer stopRun()
	drainCtx, stopDrain := context.WithCancel(context.Background())
	defer stopDrain()
	beErr := make(chan error, 1)
	go func() { beErr <- s.be.Run(runCtx, drainCtx) }()
	httpErr := make(chan error, 1)
	go func() { httpErr <- s.http.Serve(s.ln) }()
	s.ready.Store(true)
	s.m.Ready.Set(1)
	s.log.Info("serving", "addr", s.Addr().String(), "tls", s.tls != nil)

	var err error
	select {
	case <-ctx.Done():
	case err = <-httpErr:
		err = fmt.Errorf("http: %w", err)
	case err = <-beErr:
		if err == nil {
			err = errors.New("processing stopped")
		}
		beErr <- err
	}
	// Not ready first, so that a load balancer stops sending; then intake
	// stops.
	s.ready.Store(false)
	s.m.Ready.Set(0)
	s.stopIntake()
	deadline, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	s.log.Info("shutting down", "timeout", s.cfg.ShutdownTimeout)
	stored := make(chan struct{})
	go func() {
		s.inflight.Wait()
		close(stored)
	}()
	select {
	case <-stored:
	case <-deadline.Done():
	}
	// The backend drains until the deadline, then stops where it is: what
	// it did not reach stays in the journal (or the stream) for the next
	// start.
	stopRun()
	go func() {
		<-deadline.Done()
		stopDrain()
	}()
	if berr := <-beErr; err == nil && berr != nil {
		err = berr
	}
	// Requests during the drain were answered 503; now the listener
	// closes, giving the last answers a moment even past the deadline.
	grace, cancelGrace := context.WithTimeout(context.Background(), max(time.Until(deadlineOf(deadline)), time.Second))
	defer cancelGrace()
	if herr := s.http.Shutdown(grace); herr != nil {
		s.http.Close()
	}
	if cerr := s.be.Close(); err == nil {
		err = cerr
	}
	if cerr := s.out.Close(); err == nil {
		err = cerr
	}
	return err
}

// deadlineOf is ctx's deadline, or now.
func deadlineOf(ctx context.Context) time.Time {
	if d, ok := ctx.Deadline(); ok {
		return d
	}
	return time.Now()
}

func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	if !s.ready.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready", "reason": "starting or shutting down"})
		return
	}
	if err := s.be.Ready(); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready", "reason": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
