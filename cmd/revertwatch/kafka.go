package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spf13/pflag"

	"github.com/revertwatch/revertwatch/live/kafka"
	"github.com/revertwatch/revertwatch/live/store"
	"github.com/revertwatch/revertwatch/serve"
)

// eventHubConnEnv holds the Event Hubs connection string: a secret, so
// never a flag.
const eventHubConnEnv = "AZURE_EVENTHUB_CONNECTION_STRING"

// kafkaFlags are watch's flags for a Kafka topic or an Event Hub.
type kafkaFlags struct {
	brokers  string
	topic    string
	group    string
	eventHub string
	session  time.Duration
}

func (f *kafkaFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.brokers, "kafka", "", "consume a Kafka topic carrying CloudTrail or Azure records from these brokers (host:port,...); with --topic")
	fs.StringVar(&f.topic, "topic", "", "the Kafka topic (--kafka)")
	fs.StringVar(&f.group, "kafka-group", "revertwatch", "Kafka consumer group (Event Hubs: the consumer group); its offsets are committed after each checkpoint")
	fs.DurationVar(&f.session, "kafka-session-timeout", 45*time.Second, "how long the group waits for a member that stopped answering (a crashed watch) before a restarted one gets its partitions")
	fs.StringVar(&f.eventHub, "eventhub", "", "consume this Azure Event Hub through its Kafka endpoint; the connection string is read from "+eventHubConnEnv)
}

func (f *kafkaFlags) set() bool { return f.brokers != "" || f.eventHub != "" }

// options checks the flags.
func (f *kafkaFlags) options() (kafka.Options, error) {
	var o kafka.Options
	switch {
	case f.brokers != "" && f.eventHub != "":
		return o, fmt.Errorf("--kafka and --eventhub exclude each other")
	case f.eventHub != "":
		conn := os.Getenv(eventHubConnEnv)
		if conn == "" {
			return o, fmt.Errorf("--eventhub needs the namespace's (or the hub's) connection string in %s", eventHubConnEnv)
		}
		var err error
		if o, err = kafka.EventHubOptions(conn, f.eventHub); err != nil {
			return o, err
		}
	default:
		if f.topic == "" {
			return o, fmt.Errorf("--kafka needs --topic")
		}
		o = kafka.Options{Brokers: strings.Split(f.brokers, ","), Topic: f.topic}
	}
	o.Group, o.SessionTimeout = f.group, f.session
	return o, nil
}

// stream is serve's opener of the topic input; stats reports what it did
// once it has run.
func (f *kafkaFlags) stream(o kafka.Options) (open serve.StreamOpener, stats func(log *slog.Logger)) {
	var in *kafka.Input
	open = store.Opener(func(pos json.RawMessage) (*kafka.Input, error) { return kafka.New(o, pos) }, func(i *kafka.Input) { in = i })
	return open, func(log *slog.Logger) {
		if in != nil {
			st := in.Stats()
			log.Info("kafka input stopped", "records", st.Records, "events", st.Events, "commits", st.Committed)
		}
	}
}

// run runs watch over the topic until ctx is done.
func (f *kafkaFlags) run(ctx context.Context, opt kafka.RunOptions, log *slog.Logger) error {
	var in *kafka.Input
	opt.OnStart = func(i *kafka.Input) { in = i }
	var findings atomic.Int64
	opt.Findings = &findings
	err := kafka.Run(ctx, opt)
	if in != nil {
		st := in.Stats()
		log.Info("watch stopped", "records", st.Records, "events", st.Events, "commits", st.Committed, "findings", findings.Load())
	}
	if err != nil {
		return fmt.Errorf("watch %s: %w", opt.Input.Topic, err)
	}
	return nil
}
