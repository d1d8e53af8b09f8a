package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync/atomic"

	"github.com/spf13/pflag"

	"github.com/revertwatch/revertwatch/live/pubsub"
	"github.com/revertwatch/revertwatch/live/store"
	"github.com/revertwatch/revertwatch/serve"
)

// pubsubFlags are watch's and serve's flags for a Pub/Sub subscription.
type pubsubFlags struct {
	sub string
}

func (f *pubsubFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.sub, "pubsub", "", "consume a Pub/Sub subscription (projects/P/subscriptions/S) of a Logging sink's Cloud Audit Logs entries; Application Default Credentials, or the emulator in PUBSUB_EMULATOR_HOST")
}

func (f *pubsubFlags) set() bool { return f.sub != "" }

// options checks the flag.
func (f *pubsubFlags) options() (pubsub.Options, error) {
	if _, _, err := pubsub.ParseSubscription(f.sub); err != nil {
		return pubsub.Options{}, fmt.Errorf("--pubsub: %w", err)
	}
	return pubsub.Options{Subscription: f.sub}, nil
}

// logStats logs what the input did.
func logPubSubStats(log *slog.Logger, msg string, st pubsub.Stats, args ...any) {
	log.Info(msg, append([]any{"messages", st.Messages, "events", st.Events, "not_audit", st.NotAudit,
		"skipped", st.Skipped, "poison", st.Poison, "acked", st.Acked}, args...)...)
}

// stream is serve's opener of the subscription input; stats reports what
// it did once it has run.
func (f *pubsubFlags) stream(o pubsub.Options) (open serve.StreamOpener, stats func(log *slog.Logger)) {
	var in *pubsub.Input
	open = store.Opener(func(pos json.RawMessage) (*pubsub.Input, error) { return pubsub.New(o, pos) }, func(i *pubsub.Input) { in = i })
	return open, func(log *slog.Logger) {
		if in != nil {
			logPubSubStats(log, "pubsub input stopped", in.Stats())
		}
	}
}

// run runs watch over the subscription until ctx is done.
func (f *pubsubFlags) run(ctx context.Context, opt pubsub.RunOptions, log *slog.Logger) error {
	var in *pubsub.Input
	opt.OnStart = func(i *pubsub.Input) { in = i }
	var findings atomic.Int64
	opt.Findings = &findings
	err := pubsub.Run(ctx, opt)
	if in != nil {
		logPubSubStats(log, "watch stopped", in.Stats(), "findings", findings.Load())
	}
	if err != nil {
		return fmt.Errorf("watch %s: %w", opt.Input.Subscription, err)
	}
	return nil
}
