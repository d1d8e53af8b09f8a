package query

import (
	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/internal/jsonx"
)

// mergeableAgg lists the aggregates whose result does not depend on the
// order of their rows: counts and sets, and min and max (a tie keeps an
// equal value, which renders the same). first and last depend on input
// order, and a float sum on the order of its additions.
var mergeableAgg = map[string]bool{"count": true, "count_distinct": true, "values": true, "min": true, "max": true}

// parallelPrefix reports whether the stages up to the first barrier may
// run in several goroutines, each on its share of the records, adding
// to one aggregation in whatever order the goroutines reach it: every
// stage before it keeps no state from record to record, and the barrier
// is an aggregation whose result does not depend on the order of its
// rows, with groups in key order (so the order they were first seen
// in, which the goroutines do not know, does not matter).
func parallelPrefix(stages []*stageSpec) bool {
	for _, s := range stages {
		if s.barrier {
			return s.isAgg && s.mergeable
		}
		if !s.perRecord {
			return false
		}
	}
	return false
}

// Parallel reports whether NewWorker can run this program's per-record
// stages in a reader's decoding goroutines.
func (p *Program) Parallel() bool { return p.parallel }

// Worker runs the per-record stages of a Runner's program in one of a
// reader's decoding goroutines, and adds the rows that survive them to
// the Runner's aggregation, which the Workers share: only those rows
// reach it, and a group is held once. A Worker is not safe for concurrent use: make one
// per goroutine.
type Worker struct {
	run *Runner
}

// NewWorker returns a Worker whose records count in r's result, or nil
// when the program cannot run in parallel (Program.Parallel). It may be
// called from any goroutine; every Worker must be done with its last
// Push before r.Finish is called.
func (r *Runner) NewWorker() *Worker {
	if !r.prog.parallel {
		return nil
	}
	w := &Worker{run: r.prog.NewRunner()}
	w.run.segs[0].barrier = &sharedAgg{s: r.segs[0].barrier.(*aggStage)}
	r.mu.Lock()
	r.workers = append(r.workers, w.run)
	r.mu.Unlock()
	return w
}

// Push runs one event through the per-record stages into the Worker's
// aggregation. members, when not nil, are the top-level members of
// ev.Raw as the reader indexed them: json auto looks fields up in them
// instead of parsing Raw. The event and members need to live only
// until Push returns.
func (w *Worker) Push(ev *event.Event, members []jsonx.Member) {
	w.run.push(ev, members)
}

// mergeWorkers adds the Workers' counts to r's.
func (r *Runner) mergeWorkers() {
	r.mu.Lock()
	workers := r.workers
	r.workers = nil
	r.mu.Unlock()
	for _, w := range workers {
		r.stats.Events += w.stats.Events
		r.stats.InScope += w.stats.InScope
		for k := range w.warn.n {
			r.warn.n[k] += w.warn.n[k]
		}
		for i, n := range w.rec.aliasUse {
			r.rec.aliasUse[i] += n
		}
	}
}
