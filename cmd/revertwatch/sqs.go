package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/spf13/pflag"

	"github.com/revertwatch/revertwatch/live/queue"
	"github.com/revertwatch/revertwatch/live/store"
	"github.com/revertwatch/revertwatch/serve"
	"github.com/revertwatch/revertwatch/source"
)

// sqsFlags are watch's flags for an SQS queue of S3 notifications.
type sqsFlags struct {
	url         string
	endpoint    string
	visibility  time.Duration
	maxReceives int
	aws         source.AWSOptions
}

func (f *sqsFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.url, "sqs", "", "consume S3 ObjectCreated notifications (direct, via SNS or EventBridge) from this SQS queue URL and read each new object")
	fs.StringVar(&f.endpoint, "sqs-endpoint", "", "SQS endpoint URL (also AWS_ENDPOINT_URL_SQS, AWS_ENDPOINT_URL)")
	fs.DurationVar(&f.visibility, "sqs-visibility", 5*time.Minute, "visibility timeout asked for each message, renewed every half of it while the message is held")
	fs.IntVar(&f.maxReceives, "sqs-max-receives", 5, "receives of a message whose object cannot be read before the object counts as poison")
	fs.StringVar(&f.aws.Profile, "aws-profile", "", "AWS shared-config profile (default the standard chain)")
	fs.StringVar(&f.aws.Region, "aws-region", "", "AWS region (default from the environment or profile, else us-east-1)")
	fs.StringVar(&f.aws.S3Endpoint, "s3-endpoint", "", "S3-compatible endpoint URL (also AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL); path-style addressing")
}

// input completes the queue input's options: the clients, the queue and
// its timeouts.
func (f *sqsFlags) input(ctx context.Context, o *queue.Options) error {
	cfg, err := source.LoadAWS(ctx, f.aws)
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	o.QueueURL = f.url
	o.SQS = sqs.NewFromConfig(cfg, func(so *sqs.Options) {
		so.HTTPClient = source.OwnBodies(so.HTTPClient)
		if f.endpoint != "" {
			so.BaseEndpoint = aws.String(f.endpoint)
		}
	})
	o.S3 = source.NewS3(cfg, f.aws, 1)
	o.Visibility = f.visibility
	o.MaxReceives = f.maxReceives
	return nil
}

// stream is serve's opener of the queue input; stats reports what it did
// once it has run.
func (f *sqsFlags) stream(ctx context.Context, o queue.Options) (open serve.StreamOpener, stats func(log *slog.Logger), err error) {
	if err := f.input(ctx, &o); err != nil {
		return nil, nil, err
	}
	var in *queue.Input
	open = store.Opener(func(pos json.RawMessage) (*queue.Input, error) { return queue.New(o, pos) }, func(i *queue.Input) { in = i })
	return open, func(log *slog.Logger) {
		if in != nil {
			st := in.Stats()
			log.Info("sqs input stopped", "messages", st.Messages, "objects", st.Objects, "events", st.Events,
				"skipped", st.Skipped, "poison", st.Poison, "deleted", st.Deleted)
		}
	}, nil
}

// runSQS runs watch over the queue until ctx is done.
func (f *sqsFlags) run(ctx context.Context, opt queue.RunOptions, log *slog.Logger) error {
	if err := f.input(ctx, &opt.Input); err != nil {
		return err
	}
	var in *queue.Input
	opt.OnStart = func(i *queue.Input) { in = i }
	var findings atomic.Int64
	opt.Findings = &findings
	err := queue.Run(ctx, opt)
	if in != nil {
		st := in.Stats()
		log.Info("watch stopped", "messages", st.Messages, "objects", st.Objects, "events", st.Events,
			"skipped", st.Skipped, "poison", st.Poison, "deleted", st.Deleted, "findings", findings.Load())
	}
	if err != nil {
		return fmt.Errorf("watch --sqs: %w", err)
	}
	return nil
}
