package ingest

import (
	"context"
	"io"

	"github.com/revertwatch/revertwatch/event"
)

// DecodeStream decodes one input stream r as Read decodes a file named
// name (gzip recognised by its magic bytes, every format auto-detected or
// forced by opt.Format), handing events and diagnostics to h from the
// calling goroutine, in order, and returning the stream's stats. It is
// the entry point for inputs that are not whole files at rest: an HTTP
// request body, the bytes appended to a followed file. An error returned
// by h.Event stops decoding and is returned; h.File is not called.
func DecodeStream(ctx context.Context, name string, r io.Reader, opt Options, h Handlers) (FileStats, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stats := &FileStats{File: name}
	var stopErr error
	d := &fileDecoder{
		name: name, opt: &opt, stats: stats, forced: opt.Format,
		emit: func(ev *event.Event) {
			if stopErr != nil || h.Event == nil {
				return
			}
			if err := h.Event(ev); err != nil {
				stopErr = err
				cancel()
			}
		},
		diag: func(dg Diag) {
			if stopErr == nil && h.Diag != nil {
				h.Diag(dg)
			}
		},
	}
	if l, ok := r.(interface{ Len() int }); ok {
		// A bytes.Reader, a bytes.Buffer: the whole input is at hand.
		d.size = l.Len() + 1
	}
	d.run(&ctxReader{ctx: ctx, r: r})
	if stopErr == nil {
		stopErr = ctx.Err()
	}
	return *stats, stopErr
}
