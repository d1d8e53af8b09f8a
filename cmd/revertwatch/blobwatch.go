package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/revertwatch/revertwatch/live/blob"
	"github.com/revertwatch/revertwatch/source"
)

// runBlobWatch runs watch over an azblob:// (or blob.core.windows.net)
// URL until ctx is done: the container polled, each blob read on from
// its checkpointed offset.
func runBlobWatch(ctx context.Context, arg, since string, opt blob.RunOptions, log *slog.Logger) error {
	u, err := source.ParseBlobURL(arg)
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	if since != "" {
		t, err := source.ParseTime(since, time.Now(), false)
		if err != nil {
			return &exitError{code: exitUsage, err: fmt.Errorf("--since: %w", err)}
		}
		opt.Input.Since = t
	}
	b, err := source.NewBlob(u, 4)
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	opt.Input.URL, opt.Input.Blob = u, b
	var in *blob.Input
	opt.OnStart = func(i *blob.Input) { in = i }
	var findings atomic.Int64
	opt.Findings = &findings
	err = blob.Run(ctx, opt)
	if in != nil {
		st := in.Stats()
		log.Info("watch stopped", "polls", st.Polls, "reads", st.Reads, "bytes", st.Bytes, "events", st.Events,
			"resets", st.Resets, "lists", b.Lists.Load(), "gets", b.Gets.Load(), "findings", findings.Load())
	}
	if err != nil {
		return fmt.Errorf("watch %s: %w", u.Name(u.Prefix), err)
	}
	return nil
}
