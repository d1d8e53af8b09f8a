package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/spf13/pflag"

	"github.com/revertwatch/revertwatch/live/blob"
	"github.com/revertwatch/revertwatch/live/store"
	"github.com/revertwatch/revertwatch/serve"
	"github.com/revertwatch/revertwatch/source"
)

// blobOptions completes a Blob input's options from a URL argument and a
// --since value: the client (credentials as hunt's) and the first
// listing's bound.
func blobOptions(o *blob.Options, arg, since string) error {
	u, err := source.ParseBlobURL(arg)
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	if since != "" {
		t, err := source.ParseTime(since, time.Now(), false)
		if err != nil {
			return &exitError{code: exitUsage, err: fmt.Errorf("--since: %w", err)}
		}
		o.Since = t
	}
	b, err := source.NewBlob(u, 4)
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	o.URL, o.Blob = u, b
	return nil
}

func logBlobStats(log *slog.Logger, msg string, in *blob.Input, args ...any) {
	st, b := in.Stats(), in.Client()
	log.Info(msg, append([]any{"polls", st.Polls, "reads", st.Reads, "bytes", st.Bytes, "events", st.Events,
		"resets", st.Resets, "lists", b.Lists.Load(), "gets", b.Gets.Load()}, args...)...)
}

// runBlobWatch runs watch over an azblob:// (or blob.core.windows.net)
// URL until ctx is done: the container polled, each blob read on from
// its checkpointed offset.
func runBlobWatch(ctx context.Context, arg, since string, opt blob.RunOptions, log *slog.Logger) error {
	if err := blobOptions(&opt.Input, arg, since); err != nil {
		return err
	}
	var in *blob.Input
	opt.OnStart = func(i *blob.Input) { in = i }
	var findings atomic.Int64
	opt.Findings = &findings
	err := blob.Run(ctx, opt)
	if in != nil {
		logBlobStats(log, "watch stopped", in, "findings", findings.Load())
	}
	if err != nil {
		err = fmt.Errorf("watch %s: %w", opt.Input.URL.Name(opt.Input.URL.Prefix), err)
		var be *source.BlobError
		if errors.As(err, &be) {
			// The first listing failed: a missing container, credentials
			// refused; what hunt says with the same code.
			return &exitError{code: exitUsage, err: err}
		}
		return err
	}
	return nil
}

// blobFlags are serve's flags for an Azure Storage container read beside
// the HTTP intake (watch takes the URL as its PATH argument).
type blobFlags struct {
	url, since string
	poll       time.Duration
}

func (f *blobFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.url, "azblob", "", "read the blobs of an Azure Storage container as they grow (azblob://ACCOUNT/CONTAINER/PREFIX or an https://ACCOUNT.blob.core.windows.net/ URL): the Activity Log export's append blobs")
	fs.DurationVar(&f.poll, "azblob-poll", blob.DefaultPoll, "time between listings of the --azblob container")
	fs.StringVar(&f.since, "azblob-since", "", "on a first start, read the --azblob blobs of the hours from this time on (RFC 3339, a date, or back from now: 2h); later starts go on from the checkpoint")
}

// stream is serve's opener of the container input; stats reports what it
// did once it has run.
func (f *blobFlags) stream(o blob.Options) (open serve.StreamOpener, stats func(log *slog.Logger), err error) {
	if err := blobOptions(&o, f.url, f.since); err != nil {
		return nil, nil, err
	}
	o.Poll = f.poll
	var in *blob.Input
	open = store.Opener(func(pos json.RawMessage) (*blob.Input, error) { return blob.New(o, pos) }, func(i *blob.Input) { in = i })
	return open, func(log *slog.Logger) {
		if in != nil {
			logBlobStats(log, "azblob input stopped", in)
		}
	}, nil
}
