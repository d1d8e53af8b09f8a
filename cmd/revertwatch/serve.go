package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/revertwatch/revertwatch/detect"
	"github.com/revertwatch/revertwatch/finding"
	"github.com/revertwatch/revertwatch/ingest"
	"github.com/revertwatch/revertwatch/live/blob"
	"github.com/revertwatch/revertwatch/live/cluster"
	"github.com/revertwatch/revertwatch/live/queue"
	"github.com/revertwatch/revertwatch/live/sink"
	"github.com/revertwatch/revertwatch/serve"
	"github.com/revertwatch/revertwatch/sigma"
)

// tokenEnv holds serve's bearer token when --token-file is not given.
const tokenEnv = "REVERTWATCH_TOKEN"

// sinkFlags are the finding outputs of watch and serve.
type sinkFlags struct {
	format          string
	output          string
	outputMax       int64
	outputKeep      int
	outputMode      uint32
	webhook         string
	webhookDLQ      string
	webhookAuth     string // refused: see webhookAuthorization
	webhookAuthFile string
	findingsNATS    string
	stdout          bool
}

func (f *sinkFlags) register(fs *pflag.FlagSet) {
	fs.StringVarP(&f.format, "format", "f", finding.FormatNDJSON, "finding format: ndjson, ocsf, table or sarif (table and sarif: one block per delivery)")
	fs.StringVarP(&f.output, "output", "o", "", "append findings to this file (fsynced, rotated by --output-max-size)")
	fs.Int64Var(&f.outputMax, "output-max-size", 100<<20, "rotate --output past this many bytes (0: never)")
	fs.IntVar(&f.outputKeep, "output-keep", 5, "rotated --output files to keep")
	fs.Var(&octalMode{&f.outputMode, uint32(sink.DefaultFileMode)}, "output-mode", "permissions --output files are created with, in octal (an existing file keeps its own)")
	fs.StringVar(&f.webhook, "webhook", "", "POST each finding as JSON to this URL (retries with backoff, Idempotency-Key: the finding id)")
	fs.StringVar(&f.webhookDLQ, "webhook-dead-letter", "", "findings the webhook gave up on are appended here (default: STATE-DIR/webhook-dead-letter.ndjson)")
	fs.StringVar(&f.webhookAuth, "webhook-authorization", "", "refused: a secret on the command line is in the process list")
	_ = fs.MarkHidden("webhook-authorization")
	fs.StringVar(&f.webhookAuthFile, "webhook-authorization-file", "", "file holding the Authorization header value for --webhook (default $"+webhookAuthEnv+")")
	fs.StringVar(&f.findingsNATS, "findings-nats", "", "publish findings to revertwatch.findings.<rule> on this NATS server (JetStream with Nats-Msg-Id when a stream takes the subject)")
	fs.BoolVar(&f.stdout, "stdout", false, "also write findings to standard output when another sink is set")
}

// octalMode is a file mode flag written in octal.
type octalMode struct {
	v   *uint32
	def uint32
}

func (m *octalMode) String() string {
	if m.v == nil || *m.v == 0 {
		return fmt.Sprintf("%04o", m.def)
	}
	return fmt.Sprintf("%04o", *m.v)
}

func (m *octalMode) Set(s string) error {
	n, err := strconv.ParseUint(s, 8, 32)
	if err != nil || n > 0o777 || n == 0 {
		return fmt.Errorf("want permissions in octal, 0600 for instance")
	}
	*m.v = uint32(n)
	return nil
}

func (m *octalMode) Type() string { return "mode" }

// build makes the sinks; with none configured, standard output. The
// returned function closes what build opened besides the sinks.
func (f *sinkFlags) build(stateDir string, rules []finding.RuleInfo) ([]sink.Sink, func(), error) {
	if !validFormat(f.format) {
		return nil, nil, &exitError{code: exitUsage, err: fmt.Errorf("unknown --format %q (want %s)", f.format, strings.Join(finding.Formats, ", "))}
	}
	r := sink.Render{Format: f.format, Rules: rules, Version: version}
	var out []sink.Sink
	closers := func() {}
	if f.output != "" {
		fs, err := sink.NewFile(f.output, r, sink.FileOptions{MaxSize: f.outputMax, Keep: f.outputKeep, Mode: os.FileMode(f.outputMode)})
		if err != nil {
			return nil, nil, &exitError{code: exitUsage, err: err}
		}
		if n := fs.Repaired(); n > 0 {
			fmt.Fprintf(os.Stderr, "revertwatch: %s: cut off a torn last line of %d bytes (a crash during a write); its finding is written again\n", f.output, n)
		}
		out = append(out, fs)
	}
	if f.webhook != "" {
		dlq := f.webhookDLQ
		if dlq == "" {
			dlq = stateDir + string(os.PathSeparator) + "webhook-dead-letter.ndjson"
		}
		auth, err := f.webhookAuthorization()
		if err != nil {
			return nil, nil, err
		}
		h := http.Header{}
		if auth != "" {
			h.Set("Authorization", auth)
		}
		out = append(out, sink.NewWebhook(sink.WebhookOptions{URL: f.webhook, DeadLetter: dlq, Header: h}, r))
	}
	if f.findingsNATS != "" {
		auth, err := natsAuth("--findings-nats", f.findingsNATS)
		if err != nil {
			return nil, nil, &exitError{code: exitUsage, err: err}
		}
		nc, err := nats.Connect(f.findingsNATS, append(auth, nats.Name("revertwatch findings"), nats.MaxReconnects(-1))...)
		if err != nil {
			return nil, nil, &exitError{code: exitUsage, err: fmt.Errorf("--findings-nats: %w", err)}
		}
		closers = func() { nc.Close() }
		out = append(out, sink.NewNATS(nc, jetStreamIfAny(nc), r))
	}
	if len(out) == 0 || f.stdout {
		out = append(out, sink.NewWriter("stdout", os.Stdout, r))
	}
	return out, closers, nil
}

// logger is the daemon's log: text on standard error.
func logger(verbose bool) *slog.Logger {
	level := slog.LevelInfo
	if verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// signalContext is cancelled by SIGTERM or an interrupt.
func signalContext(parent context.Context) (context.Context, context.CancelFunc) {
	if parent == nil {
		parent = context.Background()
	}
	return signal.NotifyContext(parent, syscall.SIGTERM, os.Interrupt)
}

func readToken(file string) (string, error) {
	if file == "" {
		return strings.TrimSpace(os.Getenv(tokenEnv)), nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("--token-file: %w", err)
	}
	t := strings.TrimSpace(string(b))
	if t == "" {
		return "", fmt.Errorf("--token-file %s is empty", file)
	}
	return t, nil
}

func newServeCmd() *cobra.Command {
	var cfg configFlag
	var sf sinkFlags
	var sig sigmaFlags
	var cl clusterFlags
	var sq sqsFlags
	var kf kafkaFlags
	var pf pubsubFlags
	var bf blobFlags
	var listen, stateDir, tokenFile, tlsCert, tlsKey, tlsClientCA string
	var lateness, idleFlush, checkpointEvery, shutdownTimeout time.Duration
	var headerTimeout, bodyTimeout, idleTimeout, storeTimeout time.Duration
	var maxBody, maxDecoded, maxQueue int64
	var maxInflight, maxRecord int
	var verbose, resetState bool
	cmd := &cobra.Command{
		Use:   "serve [flags]",
		Short: "Run the detection daemon: HTTP ingest, live findings, metrics; scale out on NATS JetStream",
		Long: `serve takes CloudTrail and Azure Activity Log bodies over HTTP and reports
reverts as their sequences close, within the allowed lateness.

  POST /v1/ingest   any body hunt reads (JSON lines, a Records file, an Event
                    Hub records batch, ...), gzip or not; Sumo HTTP-source
                    headers X-Sumo-Category, X-Sumo-Host and X-Sumo-Name are
                    honoured; Authorization: Bearer TOKEN when a token is set.
                    202 once the events are stored durably; 4xx with a JSON
                    error for a bad body; 503 with Retry-After when full.
  GET  /healthz     the process is up
  GET  /readyz      it takes input
  GET  /metrics     Prometheus

Alone, state lives in --state-dir (bbolt): the journal of accepted events,
the engine's checkpoint, the findings not yet delivered. Kill it at any
point; on restart it resumes from the checkpoint and delivers every finding
once (files and JetStream skip what they already hold; stdout and webhooks
get at-least-once with a stable finding id).

With --nats, accepted events go to the JetStream stream REVERTWATCH_EVENTS on
revertwatch.events.<provider>.<account>; replicas split its partitions, keep
each partition's checkpoint in JetStream, and publish findings to
revertwatch.findings.<rule> with Nats-Msg-Id, so any replica may die.

--sqs QUEUE_URL (S3 notifications), --kafka BROKERS --topic T, --eventhub HUB,
--pubsub projects/P/subscriptions/S or --azblob azblob://ACCOUNT/CONTAINER/
(the Activity Log export's append blobs) read that stream beside the HTTP
intake, in the same loop and checkpoint: a message is deleted or acked, an
offset committed, only after the checkpoint that holds its events (the
flags are watch's; a blob's offset is the checkpoint's). Not with --nats.

--rules runs Sigma rules beside the built-in detections (alone with
--no-builtin), in every replica; their correlations' state is part of the
checkpoint, so their findings are delivered once like the others.

A request's body is read first (within --body-timeout, holding no in-flight
slot), then checked in one streaming pass that keeps none of its events: the
memory a request takes is its body as sent (at most --max-body) and a few
megabytes, whatever the body holds. Every gzip layer counts against
--max-body-decoded; a body with more events than --max-queue is refused at
the first one too many.

--tls-cert and --tls-key serve TLS; --tls-client-ca requires client
certificates. SIGHUP reads the three files again. Secrets come from files
or the environment only: --token-file or $REVERTWATCH_TOKEN,
--webhook-authorization-file or $REVERTWATCH_WEBHOOK_AUTHORIZATION, NATS
credentials from $REVERTWATCH_NATS_CREDS, $REVERTWATCH_NATS_TOKEN or
$REVERTWATCH_NATS_USER and $REVERTWATCH_NATS_PASSWORD.

SIGTERM makes /readyz fail and ingest answer 503 (the port stays open while
the daemon drains), then drains, checkpoints and exits within
--shutdown-timeout.`,
		Example: `  # alone, findings on stdout
  REVERTWATCH_TOKEN=s3cret revertwatch serve --state-dir /var/lib/revertwatch
  curl -H 'Authorization: Bearer s3cret' --data-binary @cloudtrail.json.gz \
      http://127.0.0.1:8080/v1/ingest

  # findings to a rotating file and a webhook
  revertwatch serve --state-dir st --output findings.ndjson \
      --webhook https://hooks.example.com/revertwatch

  # Sigma rules beside the built-in detections
  revertwatch serve --state-dir st --rules rules/

  # one of three replicas on NATS JetStream
  revertwatch serve --nats nats://nats:4222 --listen :8080 --state-dir st`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			conf, err := cfg.load(os.Stderr)
			if err != nil {
				return err
			}
			if !cmd.Flags().Changed("lateness") {
				lateness = 0
			}
			token, err := readToken(tokenFile)
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			log := logger(verbose)
			if token == "" {
				log.Warn("no bearer token (--token-file or $" + tokenEnv + "): ingest is open to anyone who can reach " + listen)
			}
			if tlsCert == "" && !loopback(listen) {
				log.Warn("no TLS (--tls-cert, --tls-key): events and the bearer token cross the network in clear; listen on loopback behind a TLS proxy, or set them")
			}
			if stateDir == "" {
				return &exitError{code: exitUsage, err: fmt.Errorf("--state-dir is required")}
			}
			if err := os.MkdirAll(stateDir, 0o700); err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			rs, err := sig.load(os.Stderr)
			if err != nil {
				return err
			}
			rules := detectRules(rs, sig.noBuiltin)
			sinks, closeSinks, err := sf.build(stateDir, rules)
			if err != nil {
				return err
			}
			defer closeSinks()
			sc := serve.Config{Listen: listen, StateDir: stateDir, ResetState: resetState, Token: token, Tuning: conf, Lateness: lateness,
				Rules: rs, NoBuiltin: sig.noBuiltin,
				IdleFlush: idleFlush, Render: sink.Render{Format: sf.format, Rules: rules, Version: version}, Sinks: sinks,
				MaxBodyBytes: maxBody, MaxDecodedBytes: maxDecoded, MaxRecordSize: maxRecord,
				MaxInflight: maxInflight, MaxQueue: maxQueue, CheckpointInterval: checkpointEvery,
				ShutdownTimeout: shutdownTimeout, Logger: log,
				ReadHeaderTimeout: headerTimeout, BodyTimeout: bodyTimeout, IdleTimeout: idleTimeout, StoreTimeout: storeTimeout,
				TLSCert: tlsCert, TLSKey: tlsKey, TLSClientCA: tlsClientCA}
			stats := func(*slog.Logger) {}
			streams := 0
			for _, on := range []bool{sq.url != "", kf.set(), pf.set(), bf.url != ""} {
				if on {
					streams++
				}
			}
			switch {
			case streams > 1:
				return &exitError{code: exitUsage, err: fmt.Errorf("one streaming input at a time: --sqs, --kafka/--eventhub, --pubsub or --azblob")}
			case streams > 0 && cl.url != "":
				return &exitError{code: exitUsage, err: fmt.Errorf("--sqs, --kafka, --eventhub, --pubsub and --azblob run on local state, not with --nats")}
			case sq.url != "":
				in := queue.Options{Ingest: ingest.Options{MaxRecordSize: maxRecord}, OnDiag: logDiag(log), Logger: log}
				if sc.Stream, stats, err = sq.stream(cmd.Context(), in); err != nil {
					return err
				}
			case kf.set():
				ko, err := kf.options()
				if err != nil {
					return &exitError{code: exitUsage, err: err}
				}
				ko.Ingest, ko.OnDiag, ko.Logger = ingest.Options{MaxRecordSize: maxRecord}, logDiag(log), log
				sc.Stream, stats = kf.stream(ko)
			case pf.set():
				po, err := pf.options()
				if err != nil {
					return &exitError{code: exitUsage, err: err}
				}
				po.Ingest, po.OnDiag, po.Logger = ingest.Options{MaxRecordSize: maxRecord}, logDiag(log), log
				sc.Stream, stats = pf.stream(po)
			case bf.url != "":
				bo := blob.Options{Ingest: ingest.Options{MaxRecordSize: maxRecord}, OnDiag: logDiag(log), Logger: log}
				if sc.Stream, stats, err = bf.stream(bo); err != nil {
					return err
				}
			}
			defer func() { stats(log) }()
			if cl.url != "" {
				closeCluster, err := cl.configure(&sc, log)
				if err != nil {
					return &exitError{code: exitUsage, err: err}
				}
				defer closeCluster()
			}
			s, err := serve.New(sc)
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			ctx, stop := signalContext(cmd.Context())
			defer stop()
			stopReload := reloadOnHangup(s, log)
			defer stopReload()
			return s.Run(ctx)
		},
	}
	f := cmd.Flags()
	f.StringVar(&listen, "listen", serve.DefaultListen, "address to listen on")
	f.StringVar(&stateDir, "state-dir", "", "state directory (bbolt journal and checkpoints; the webhook's dead-letter file)")
	f.BoolVar(&resetState, "reset-state", false, "when the state file is empty or unreadable, move it aside and start with no state (else that is an error)")
	f.StringVar(&tokenFile, "token-file", "", "file holding the bearer token ingest requires (default $"+tokenEnv+")")
	f.DurationVar(&lateness, "lateness", 15*time.Minute, "how far behind the newest event an event may arrive and still complete a sequence; the config's when not given")
	f.DurationVar(&idleFlush, "idle-flush", 0, "release buffered events after this long without input, closing the last sequences of a quiet source (default: the lateness; negative: never)")
	f.DurationVar(&checkpointEvery, "checkpoint-interval", serve.DefaultCheckpointInterval, "longest time between checkpoints while input flows")
	f.DurationVar(&shutdownTimeout, "shutdown-timeout", serve.DefaultShutdownTimeout, "time allowed to drain and checkpoint on SIGTERM")
	f.Int64Var(&maxBody, "max-body", serve.DefaultMaxBodyBytes, "largest request body, as sent")
	f.Int64Var(&maxDecoded, "max-body-decoded", serve.DefaultMaxDecodedBytes, "largest request body once gunzipped")
	f.IntVar(&maxRecord, "max-record-size", 0, "largest record accepted, in bytes (default 4 MiB)")
	f.Int64Var(&maxQueue, "max-queue", serve.DefaultMaxQueue, "accepted events waiting for processing before ingest answers 503")
	f.IntVar(&maxInflight, "max-inflight", 0, "requests checked and stored at once before ingest answers 503 (default twice the CPUs); a body being received holds none")
	f.DurationVar(&headerTimeout, "read-header-timeout", serve.DefaultReadHeaderTimeout, "time allowed to send a request's headers")
	f.DurationVar(&bodyTimeout, "body-timeout", serve.DefaultBodyTimeout, "time allowed to send a request's body; past it, 408 and the connection closes")
	f.DurationVar(&idleTimeout, "idle-timeout", serve.DefaultIdleTimeout, "how long a kept-alive connection may wait for its next request")
	f.DurationVar(&storeTimeout, "store-timeout", serve.DefaultStoreTimeout, "with --nats, how long a request waits for JetStream to store its events before 503")
	f.StringVar(&tlsCert, "tls-cert", "", "PEM certificate (chain) to serve TLS with; read again on SIGHUP")
	f.StringVar(&tlsKey, "tls-key", "", "PEM private key of --tls-cert; read again on SIGHUP")
	f.StringVar(&tlsClientCA, "tls-client-ca", "", "PEM CA bundle: require client certificates it signed (mutual TLS); read again on SIGHUP")
	f.BoolVarP(&verbose, "verbose", "v", false, "debug logging")
	cfg.register(f)
	sf.register(f)
	sig.register(cmd)
	cl.register(f)
	sq.register(f)
	kf.register(f)
	pf.register(f)
	bf.register(f)
	return cmd
}

// logDiag logs what a streaming input could not read.
func logDiag(log *slog.Logger) func(ingest.Diag) {
	return func(d ingest.Diag) {
		if d.Severity != ingest.Skipped {
			log.Warn("input", "diag", d.String())
		}
	}
}

// reloadOnHangup reads the TLS files again on each SIGHUP until the
// returned function is called; a bad file is logged and the material in
// use stays.
func reloadOnHangup(s *serve.Server, log *slog.Logger) func() {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for {
			select {
			case <-done:
				return
			case <-hup:
				if !s.TLS() {
					log.Info("SIGHUP: nothing to reload without TLS")
				} else if err := s.ReloadTLS(); err != nil {
					log.Error("SIGHUP: TLS not reloaded; the certificate in use stays", "err", err)
				}
			}
		}
	}()
	return func() {
		signal.Stop(hup)
		close(done)
		<-finished
	}
}

// loopback reports whether a listen address is on the loopback interface
// only.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// detectRules describes the rules that run — the built-in ones unless
// noBuiltin, then the loaded Sigma rules — for renderers.
func detectRules(rs *sigma.Ruleset, noBuiltin bool) []finding.RuleInfo {
	d, err := detect.New(detect.Options{Rules: rs, NoBuiltin: noBuiltin})
	if err != nil {
		return nil
	}
	return d.Rules()
}

// jetStreamIfAny returns a JetStream context when a stream takes the
// findings subjects, so that findings are published with Nats-Msg-Id;
// else nil, for core NATS.
func jetStreamIfAny(nc *nats.Conn) jetstream.JetStream {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := js.StreamNameBySubject(ctx, sink.FindingSubjectPrefix+"probe"); err != nil {
		return nil
	}
	return js
}

// clusterFlags are serve's NATS JetStream scale-out settings.
type clusterFlags struct {
	url        string
	replica    string
	partitions int
	lease      time.Duration
}

func (c *clusterFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&c.url, "nats", "", "run as a replica on this NATS JetStream server (nats://host:4222); events, partitions' checkpoints and findings live in JetStream")
	fs.StringVar(&c.replica, "replica-id", "", "this replica's name (default: host name and process id)")
	fs.IntVar(&c.partitions, "partitions", 16, "event partitions, fixed when the stream is first made; replicas split them")
	fs.DurationVar(&c.lease, "lease", 10*time.Second, "how long a dead replica's partitions wait before another takes them")
}

// configure connects to NATS and makes the server a replica; the
// returned function closes the connection.
func (c *clusterFlags) configure(sc *serve.Config, log *slog.Logger) (func(), error) {
	auth, err := natsAuth("--nats", c.url)
	if err != nil {
		return nil, err
	}
	nc, err := nats.Connect(c.url, append(auth, nats.Name("revertwatch serve"), nats.MaxReconnects(-1),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) { log.Warn("NATS disconnected", "err", err) }),
		nats.ReconnectHandler(func(*nats.Conn) { log.Info("NATS reconnected") }))...)
	if err != nil {
		return nil, fmt.Errorf("--nats: %w", err)
	}
	sc.Cluster = serve.Cluster(cluster.Options{Conn: nc, Replica: c.replica, Partitions: c.partitions, Lease: c.lease, Render: sc.Render})
	return nc.Close, nil
}
