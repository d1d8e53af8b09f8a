package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/revertwatch/revertwatch/detect"
	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/ingest"
	"github.com/revertwatch/revertwatch/live"
	"github.com/revertwatch/revertwatch/live/blob"
	"github.com/revertwatch/revertwatch/live/kafka"
	"github.com/revertwatch/revertwatch/live/pubsub"
	"github.com/revertwatch/revertwatch/live/queue"
	"github.com/revertwatch/revertwatch/live/sink"
	"github.com/revertwatch/revertwatch/live/watch"
	"github.com/revertwatch/revertwatch/source"
)

// exitSinkOwes is watch --once's exit code when a sink still owes findings
// (kept in the state for the next run).
const exitSinkOwes = 1

func newWatchCmd() *cobra.Command {
	var cfg configFlag
	var sf sinkFlags
	var sig sigmaFlags
	var stateDir, inputFormat, sourceCategory, sourceHost string
	var lateness, poll, idleFlush time.Duration
	var maxRecord int
	var once, verbose, resetState bool
	var budget sizeFlag = detect.DefaultMemoryBudget
	var spillDir, since string
	var sq sqsFlags
	var kf kafkaFlags
	var pf pubsubFlags
	cmd := &cobra.Command{
		Use:   "watch [flags] PATH... | azblob://ACCOUNT/CONTAINER/PREFIX | --sqs QUEUE_URL | --kafka BROKERS --topic T | --eventhub HUB | --pubsub SUBSCRIPTION",
		Short: "Follow log files and directories as they grow and report reverts as they happen",
		Long: `watch follows files, directories (recursively, dot files left out) and globs
— an aws s3 sync target, a mounted Azure Storage container — and reads each
new file and each appended line once. Findings stream out as their
sequences close, in any --format, to stdout, a file, a webhook or NATS.

Files are known by device, inode and first bytes, not by name: a rotated
file goes on from where it was, a new file in its place is read from the
start, and a truncated one starts over. Gzip files and JSON documents
(a CloudTrail Records file) are read whole once they stop changing; JSON
lines are read line by line as they are appended.

The positions, the detection's state and the findings not yet delivered are
checkpointed together in --state-dir after every poll that read something:
a restart, even after kill -9, neither reads a byte twice nor skips one,
and reports every finding once.

azblob://ACCOUNT/CONTAINER/PREFIX (or https://ACCOUNT.blob.core.windows.net/
CONTAINER/PREFIX, with a SAS) follows the blobs of an Azure Storage
container instead of files: the Activity Log export's hourly append blobs
(insights-activity-logs), listed every --poll (30s unless given) from an hour
before the newest blob read, or from --since on a first start. Each blob is
read on from its checkpointed offset with a ranged read, whole records only
(a record being appended waits for the next poll); one deleted and written
anew is read from the start. Credentials as hunt's: the SAS of the URL,
AZURE_STORAGE_CONNECTION_STRING, or Azure's default chain.

--sqs QUEUE_URL reads, instead of files, each S3 object an SQS queue
announces (S3 notifications direct, via SNS or EventBridge; CloudTrail's
SNS messages), deleting a message only after the checkpoint that holds its
objects' events; see README "Where the logs live".

--kafka BROKERS --topic T reads a Kafka topic of CloudTrail or Azure
records, and --eventhub HUB an Azure Event Hub through its Kafka endpoint
(the connection string in AZURE_EVENTHUB_CONNECTION_STRING); the offsets
read are checkpointed with the state, and the group's are committed after.

--pubsub projects/P/subscriptions/S reads a Pub/Sub subscription of a
Logging sink's Cloud Audit Logs entries, one entry a message, acking a
message only after the checkpoint that holds its events; a message whose
data is not a log entry is counted, logged with its id and acked.

--rules runs Sigma rules (detection, correlation and filter rules, as hunt
does) beside the built-in detections, or alone with --no-builtin; their
correlations' state is checkpointed with the rest, so their findings too
are reported once across restarts.`,
		Example: `  # an S3 sync target
  revertwatch watch --state-dir ~/.revertwatch logs/AWSLogs/

  # Azure exports, findings as OCSF to a rotating file
  revertwatch watch --format ocsf -o findings.ocsf.jsonl /mnt/insights-activity-logs

  # read what is there now, checkpoint, exit (cron)
  revertwatch watch --once --state-dir st exports/

  # your Sigma rules beside the built-in detections
  revertwatch watch --rules rules/ --state-dir st logs/AWSLogs/

  # the Activity Log diagnostic export of a storage account, from 2 hours ago
  revertwatch watch --state-dir st --since 2h azblob://mystorageacct/insights-activity-logs/

  # an organisation trail, live: the queue its bucket notifies
  revertwatch watch --state-dir st --sqs https://sqs.us-east-1.amazonaws.com/111122223333/trail-objects

  # Google Cloud audit logs, live: a Logging sink's Pub/Sub topic
  revertwatch watch --state-dir st --pubsub projects/my-project/subscriptions/revertwatch-audit`,
		RunE: func(cmd *cobra.Command, args []string) error {
			sources := len(args)
			if sq.url != "" {
				sources++
			}
			if kf.set() {
				sources++
			}
			if pf.set() {
				sources++
			}
			if sources == 0 || (len(args) > 0 && sources > len(args)) || (len(args) == 0 && sources > 1) {
				return &exitError{code: exitUsage, err: fmt.Errorf("give the paths to follow, --sqs QUEUE_URL, --kafka BROKERS --topic T, --eventhub HUB or --pubsub SUBSCRIPTION (one of them)")}
			}
			if (sq.url != "" || kf.set() || pf.set()) && once {
				return &exitError{code: exitUsage, err: fmt.Errorf("--once reads files; a queue, a topic or a subscription has no end")}
			}
			var popt pubsub.Options
			if pf.set() {
				var perr error
				if popt, perr = pf.options(); perr != nil {
					return &exitError{code: exitUsage, err: perr}
				}
			}
			blobs := 0
			for _, a := range args {
				if source.IsBlobURL(a) {
					blobs++
				}
			}
			switch {
			case blobs > 0 && len(args) > 1:
				return &exitError{code: exitUsage, err: fmt.Errorf("an azblob:// URL is watched alone: one URL, no other paths")}
			case blobs > 0 && once:
				return &exitError{code: exitUsage, err: fmt.Errorf("--once reads files; watch an azblob:// container live, or hunt it")}
			case blobs == 0 && since != "":
				return &exitError{code: exitUsage, err: fmt.Errorf("--since bounds the first listing of an azblob:// container; files are read whole")}
			}
			var kopt kafka.Options
			if kf.set() {
				var kerr error
				if kopt, kerr = kf.options(); kerr != nil {
					return &exitError{code: exitUsage, err: kerr}
				}
			}
			conf, err := cfg.load(os.Stderr)
			if err != nil {
				return err
			}
			if !cmd.Flags().Changed("lateness") {
				lateness = 0
			}
			format, err := ingest.ParseFormat(inputFormat)
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			log := logger(verbose)
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
			if err := os.MkdirAll(stateDir, 0o700); err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			out := sink.NewFanout(sinks...)
			defer out.Close()
			late := 0
			onLate := func(ev *event.Event) {
				if late++; late <= maxLateReports {
					fmt.Fprintf(os.Stderr, "%s:%d: late: %s %s at %s arrived beyond the allowed lateness; it completes no sequence\n",
						ev.Source.Name, ev.Source.Line, ev.OperationName, ev.UID, ev.Time.UTC().Format(time.RFC3339))
				}
			}
			onDiag := func(d ingest.Diag) {
				if d.Severity != ingest.Skipped || verbose {
					fmt.Fprintln(os.Stderr, d.String())
				}
			}
			if kf.set() {
				ctx, stop := signalContext(cmd.Context())
				defer stop()
				kopt.Ingest = ingest.Options{MaxRecordSize: maxRecord, Format: format, SourceCategory: sourceCategory, SourceHost: sourceHost}
				kopt.OnDiag = onDiag
				return kf.run(ctx, kafka.RunOptions{
					StateDir: stateDir, Sinks: out, IdleFlush: idleFlush, Logger: log, Input: kopt,
					Processor: live.Options{Config: conf, Lateness: lateness, Rules: rs, NoBuiltin: sig.noBuiltin, OnLate: onLate},
				}, log)
			}
			if pf.set() {
				ctx, stop := signalContext(cmd.Context())
				defer stop()
				// The data of each message is a LogEntry: ingest reads it
				// as a Pub/Sub message whatever --input-format says.
				popt.Ingest = ingest.Options{MaxRecordSize: maxRecord, SourceCategory: sourceCategory, SourceHost: sourceHost}
				popt.OnDiag = onDiag
				return pf.run(ctx, pubsub.RunOptions{
					StateDir: stateDir, Sinks: out, IdleFlush: idleFlush, Logger: log, Input: popt,
					Processor: live.Options{Config: conf, Lateness: lateness, Rules: rs, NoBuiltin: sig.noBuiltin, OnLate: onLate},
				}, log)
			}
			if blobs > 0 {
				ctx, stop := signalContext(cmd.Context())
				defer stop()
				if !cmd.Flags().Changed("poll") {
					poll = blob.DefaultPoll
				}
				return runBlobWatch(ctx, args[0], since, blob.RunOptions{
					StateDir: stateDir, Sinks: out, IdleFlush: idleFlush, Logger: log,
					Processor: live.Options{Config: conf, Lateness: lateness, Rules: rs, NoBuiltin: sig.noBuiltin, OnLate: onLate},
					Input: blob.Options{
						Poll:   poll,
						Ingest: ingest.Options{MaxRecordSize: maxRecord, Format: format, SourceCategory: sourceCategory, SourceHost: sourceHost},
						OnDiag: onDiag,
					},
				}, log)
			}
			if sq.url != "" {
				ctx, stop := signalContext(cmd.Context())
				defer stop()
				return sq.run(ctx, queue.RunOptions{
					StateDir: stateDir, Sinks: out, IdleFlush: idleFlush, Logger: log,
					Processor: live.Options{Config: conf, Lateness: lateness, Rules: rs, NoBuiltin: sig.noBuiltin, OnLate: onLate},
					Input: queue.Options{
						Ingest: ingest.Options{MaxRecordSize: maxRecord, Format: format, SourceCategory: sourceCategory, SourceHost: sourceHost},
						OnDiag: onDiag,
					},
				}, log)
			}
			w, err := watch.New(watch.Options{
				Paths: args, StateDir: stateDir, ResetState: resetState, Poll: poll, IdleFlush: idleFlush, Once: once, Sinks: out, Logger: log,
				MemoryBudget: int64(budget), SpillDir: spillDir,
				Processor: live.Options{Config: conf, Lateness: lateness, Rules: rs, NoBuiltin: sig.noBuiltin, OnLate: onLate},
				Ingest:    ingest.Options{MaxRecordSize: maxRecord, Format: format, SourceCategory: sourceCategory, SourceHost: sourceHost},
				OnDiag:    onDiag,
			})
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			defer w.Close()
			ctx, stop := signalContext(cmd.Context())
			defer stop()
			if idleFlush == 0 && !once {
				log.Debug("idle flush off: the last sequences of a quiet source close when newer events arrive")
			}
			err = w.Run(ctx)
			st := w.Stats()
			log.Info("watch stopped", "chunks", st.Chunks, "events", st.Events, "findings", st.Findings, "late", late)
			if errors.Is(err, live.ErrOwed) {
				return &exitError{code: exitSinkOwes, err: err}
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&stateDir, "state-dir", ".revertwatch", "state directory: file positions, the detection's checkpoint, undelivered findings")
	f.BoolVar(&resetState, "reset-state", false, "when the state file is empty or unreadable, move it aside and start with no state (else that is an error)")
	f.DurationVar(&lateness, "lateness", 15*time.Minute, "how far behind the newest event an event may arrive and still complete a sequence; the config's when not given")
	f.DurationVar(&poll, "poll", 2*time.Second, "time between looks at the files; between listings of an azblob:// container (30s there unless given)")
	f.StringVar(&since, "since", "", "azblob:// only: on a first start, read the blobs of the hours from this time on (RFC 3339, a date, or back from now: 2h, 7d); later starts go on from the checkpoint")
	f.DurationVar(&idleFlush, "idle-flush", 15*time.Minute, "release buffered events after this long without new data, closing the last sequences (0: never)")
	f.BoolVar(&once, "once", false, "read what is there, run it through the rules in event-time order as hunt does (exact), checkpoint and exit")
	f.Var(&budget, "memory-budget", "with --once: memory for the events read before they spill to disk (bytes, or with KiB, MiB, GiB)")
	f.StringVar(&spillDir, "spill-dir", "", "with --once: where spilled runs go (default the system's temporary directory); removed on exit")
	f.StringVar(&inputFormat, "input-format", "auto", "force an input format (see hunt --help)")
	f.StringVar(&sourceCategory, "source-category", "", "set _sourceCategory on every event")
	f.StringVar(&sourceHost, "source-host", "", "set _sourceHost on every event")
	f.IntVar(&maxRecord, "max-record-size", ingest.DefaultMaxRecordSize, "largest record accepted, in bytes")
	f.BoolVarP(&verbose, "verbose", "v", false, "debug logging; report skipped records")
	cfg.register(f)
	sf.register(f)
	sq.register(f)
	kf.register(f)
	pf.register(f)
	sig.register(cmd)
	return cmd
}
