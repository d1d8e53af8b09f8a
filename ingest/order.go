package ingest

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/revertwatch/revertwatch/event"
)

// SortByTime orders inputs by the event time of their first event, for a
// detector whose watermark follows the input: an export's files sorted by
// name are not in time order (one directory per subscription, per shape,
// per scenario), and a sequence whose steps arrive hours apart in file
// order would be lost to lateness. Only the start of each file is read.
// Inputs without a readable event keep their relative order after the
// others; standard input stays last, since it can be read only once. Ties
// keep the given order, so the result is deterministic.
func SortByTime(ctx context.Context, inputs []string, opt Options) []string {
	type keyed struct {
		name  string
		first time.Time
		ok    bool
		pos   int
	}
	keys := make([]keyed, len(inputs))
	sem := make(chan struct{}, opt.jobs())
	var wg sync.WaitGroup
	for i, in := range inputs {
		keys[i] = keyed{name: in, pos: i}
		if in == "-" {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func(k *keyed) {
			defer wg.Done()
			defer func() { <-sem }()
			k.first, k.ok = firstEventTime(ctx, k.name, opt)
		}(&keys[i])
	}
	wg.Wait()
	sort.SliceStable(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if (a.name == "-") != (b.name == "-") {
			return b.name == "-"
		}
		if a.ok != b.ok {
			return a.ok
		}
		if a.ok && !a.first.Equal(b.first) {
			return a.first.Before(b.first)
		}
		return a.pos < b.pos
	})
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k.name
	}
	return out
}

// firstEventTime decodes an input until its first event with a time.
func firstEventTime(ctx context.Context, in string, opt Options) (time.Time, bool) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var first time.Time
	found := false
	o := opt
	o.Progress = nil
	d := &fileDecoder{
		name: in, opt: &o, stats: &FileStats{File: in}, forced: o.Format,
		emit: func(ev *event.Event) {
			if !found && !ev.Time.IsZero() {
				first, found = ev.Time, true
				cancel() // the reader stops at its next read
			}
		},
		diag: func(Diag) {},
	}
	open := o.Open
	if open == nil {
		open = openFile
	}
	f, err := open(in)
	if err != nil {
		return time.Time{}, false
	}
	defer f.Close()
	d.run(&ctxReader{ctx: ctx, r: f})
	return first, found
}
