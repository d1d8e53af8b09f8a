package query

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/internal/jsonx"
)

// warning kinds counted during a run.
type warnKind uint8

const (
	warnNoJSON warnKind = iota
	warnNonBool
	warnValuesCap
	warnPanic
	numWarn
)

var warnText = [numWarn]string{
	warnNoJSON:    "messages without JSON for json auto keys",
	warnNonBool:   "where conditions that were not boolean (message dropped)",
	warnValuesCap: "values() lists truncated to the cap",
	warnPanic:     "records that made the engine fail (skipped)",
}

// warnings counts run-time problems. A bad record is counted, never fatal.
type warnings struct{ n [numWarn]int64 }

func (w *warnings) add(k warnKind) {
	if w != nil {
		w.n[k]++
	}
}

// Stats totals one run.
type Stats struct {
	Events     int64 // events pushed
	InScope    int64 // events the search scope kept
	BadRecords int64 // records that failed in the engine and were skipped
	Rows       int   // output rows
}

// Result is the output of a run: columns in a stable order and one row of
// values per output row (Null where a row has no such column).
type Result struct {
	Columns  []string
	Rows     [][]Value
	Stats    Stats
	Warnings []string
	// timeCols are the columns of epoch milliseconds that table and CSV
	// output print as RFC 3339 times (JSON keeps the number).
	timeCols map[int]bool
	// AliasUse counts the field lookups each seed alias answered because
	// the record had no such field, in event.AliasNames order; names
	// never used are left out.
	AliasUse []AliasUse
}

// AliasUse is how often one seed alias answered a lookup.
type AliasUse struct {
	Name  string
	Count int64
}

type segment struct {
	rows    []any // rowStage or multiStage
	barrier barrier
}

// Runner feeds events through a Program. It is not safe for concurrent
// use; make one per goroutine with NewRunner.
type Runner struct {
	prog  *Program
	segs  []segment
	rec   record
	warn  warnings
	stats Stats
	out   []*record
	sem   Semantics

	mu      sync.Mutex
	workers []*Runner // the runners of NewWorker's Workers
}

// NewRunner returns a fresh run of the program.
func (p *Program) NewRunner() *Runner {
	r := &Runner{prog: p, sem: p.opts.Semantics}
	seg := segment{}
	for _, s := range p.stages {
		inst := s.make(&r.warn)
		if b, ok := inst.(barrier); ok {
			seg.barrier = b
			r.segs = append(r.segs, seg)
			seg = segment{}
			continue
		}
		seg.rows = append(seg.rows, inst)
	}
	r.segs = append(r.segs, seg)
	r.rec.exact = !p.opts.Semantics.FoldFieldNames
	r.rec.aliasUse = make([]int64, len(event.AliasNames))
	r.rec.sourceHost = p.opts.Semantics.DefaultSourceHost
	r.rec.memos = make([]map[string]bool, p.memos)
	return r
}

// Push runs one event through the pipeline. A record that makes the
// engine fail is counted in Stats.BadRecords and skipped.
func (r *Runner) Push(ev *event.Event) { r.push(ev, nil) }

func (r *Runner) push(ev *event.Event, members []jsonx.Member) {
	defer func() {
		if x := recover(); x != nil {
			r.stats.BadRecords++
			r.warn.add(warnPanic)
		}
	}()
	r.stats.Events++
	rec := &r.rec
	rec.reset(ev, r.stats.Events-1)
	rec.ms = members
	if r.prog.scope != nil && !r.prog.scope(rec) {
		return
	}
	r.stats.InScope++
	r.run(0, 0, rec)
}

func (r *Runner) run(si, i int, rec *record) {
	seg := &r.segs[si]
	for ; i < len(seg.rows); i++ {
		switch st := seg.rows[i].(type) {
		case multiStage:
			next := i + 1
			st.expand(rec, func(x *record) { r.run(si, next, x) })
			return
		case rowStage:
			if !st.process(rec) {
				return
			}
		}
	}
	if seg.barrier != nil {
		seg.barrier.add(rec)
		return
	}
	r.out = append(r.out, rec.keep(!rec.mat))
}

// Finish flushes the barriers in order and returns the result.
func (r *Runner) Finish() *Result {
	r.mergeWorkers()
	res := &Result{Stats: r.stats}
	if !r.finishAggregation(res) {
		r.finishRecords(res)
	}
	r.prog.shape(res)
	res.Stats.Rows = len(res.Rows)
	for i, n := range r.rec.aliasUse {
		if n > 0 {
			res.AliasUse = append(res.AliasUse, AliasUse{Name: event.AliasNames[i], Count: n})
		}
	}
	res.Stats.BadRecords = r.warn.n[warnPanic]
	for k := warnKind(0); k < numWarn; k++ {
		if n := r.warn.n[k]; n > 0 && k != warnPanic {
			res.Warnings = append(res.Warnings, fmt.Sprintf("%s: %d", warnText[k], n))
		}
	}
	return res
}

// finishAggregation is Finish for the plan the seed has: an aggregation
// last, or followed only by a sort. It makes the output rows from the
// groups, without a record per row, and sorts the rows as the sort
// stage would sort those records (stable, the key's column found as a
// record finds a field). It reports false for any other plan.
func (r *Runner) finishAggregation(res *Result) bool {
	var srt *sortStage
	switch len(r.segs) {
	case 2:
		if len(r.segs[1].rows) > 0 || r.segs[1].barrier != nil {
			return false
		}
	case 3:
		s, ok := r.segs[1].barrier.(*sortStage)
		if !ok || len(r.segs[1].rows) > 0 || len(r.segs[2].rows) > 0 || r.segs[2].barrier != nil {
			return false
		}
		srt = s
	default:
		return false
	}
	agg, ok := r.segs[0].barrier.(*aggStage)
	if !ok {
		return false
	}
	cols := agg.columns()
	for i := range cols {
		for j := range i {
			if strings.EqualFold(cols[i], cols[j]) {
				return false // one column for two fields: the records' way
			}
		}
	}
	rows := agg.rows()
	if srt != nil {
		at := make([]int, len(srt.keys))
		for k, key := range srt.keys {
			at[k] = -1
			for i, c := range cols {
				if c == key.a.name {
					at[k] = i
					break
				}
			}
			for i, c := range cols {
				if at[k] < 0 && !r.rec.exact && len(c) == len(key.a.name) && strings.EqualFold(c, key.a.name) {
					at[k] = i
				}
			}
		}
		sort.SliceStable(rows, func(i, j int) bool {
			for k, key := range srt.keys {
				var a, b Value
				if at[k] >= 0 {
					a, b = rows[i][at[k]], rows[j][at[k]]
				}
				if c := compareSort(a, b, key.desc, srt.nullsLast); c != 0 {
					return c < 0
				}
			}
			return false
		})
	}
	if len(rows) > 0 {
		res.Columns, res.Rows = cols, rows
	}
	return true
}

// finishRecords is Finish for any plan: the barriers flush in order into
// the stages after them, and the rows are the records that come out.
func (r *Runner) finishRecords(res *Result) {
	for si := range r.segs {
		if b := r.segs[si].barrier; b != nil {
			next := si + 1
			b.flush(func(x *record) { r.run(next, 0, x) })
		}
	}
	index := map[string]int{}
	for _, rec := range r.out {
		for _, f := range rec.fields {
			k := strings.ToLower(f.name)
			if _, ok := index[k]; !ok {
				index[k] = len(res.Columns)
				res.Columns = append(res.Columns, f.name)
			}
		}
	}
	// Raw message rows: _raw goes last, as in a message view.
	if i, ok := index["_raw"]; ok && !r.prog.hasAgg && i != len(res.Columns)-1 {
		res.Columns = append(append(res.Columns[:i:i], res.Columns[i+1:]...), "_raw")
		for j, c := range res.Columns {
			index[strings.ToLower(c)] = j
		}
	}
	res.Rows = make([][]Value, 0, len(r.out))
	for i, rec := range r.out {
		row := make([]Value, len(res.Columns))
		for _, f := range rec.fields {
			if !f.gone {
				row[index[strings.ToLower(f.name)]] = f.v
			}
		}
		res.Rows = append(res.Rows, row)
		r.out[i] = nil // the row has what the output needs of it
	}
	r.out = nil
}

// Run pushes every event of a sequence and finishes. next returns false
// at the end; it is called until then or until ctx is done.
func (p *Program) Run(ctx context.Context, next func() (*event.Event, bool)) (*Result, error) {
	r := p.NewRunner()
	for n := 0; ; n++ {
		if n&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		ev, ok := next()
		if !ok {
			break
		}
		r.Push(ev)
	}
	return r.Finish(), nil
}

// RunEvents runs the program over a slice of events.
func (p *Program) RunEvents(evs []*event.Event) *Result {
	r := p.NewRunner()
	for _, ev := range evs {
		r.Push(ev)
	}
	return r.Finish()
}

// aliasNames lists event.AliasNames in their stable order.
func aliasNames() []string { return event.AliasNames }

// Explain describes the lowered plan: the canonical text of each stage,
// the Splunk forms that were rewritten, stages removed as dead code, the
// seed aliases the query may resolve, and compile warnings.
func (p *Program) Explain() string {
	var b strings.Builder
	fmt.Fprintf(&b, "dialect: %s\n", p.opts.Dialect)
	b.WriteString("plan:\n")
	if p.scopeTx != "" {
		fmt.Fprintf(&b, "  scope  %s\n", p.scopeTx)
	} else {
		b.WriteString("  scope  * (every message)\n")
	}
	for _, s := range p.stages {
		kind := "barrier: needs all input"
		fmt.Fprintf(&b, "  | %s", s.text)
		var notes []string
		if s.barrier {
			notes = append(notes, kind)
		}
		if s.origin != "" {
			notes = append(notes, "lowered from: "+s.origin)
		}
		if len(notes) > 0 {
			fmt.Fprintf(&b, "    // %s", strings.Join(notes, "; "))
		}
		b.WriteByte('\n')
	}
	if len(p.removed) > 0 {
		b.WriteString("removed (the field is never read before an aggregation drops it):\n")
		for _, s := range p.removed {
			fmt.Fprintf(&b, "  %s\n", s)
		}
	}
	b.WriteString("semantics:\n")
	b.WriteString("  matches(x, re)   unanchored RE2 search (Splunk match)\n")
	if p.opts.Semantics.RegexMatchAnchored {
		b.WriteString("  x matches /re/   RE2 match of the whole value\n")
	} else {
		b.WriteString("  x matches /re/   unanchored RE2 search\n")
	}
	b.WriteString("  x matches \"g*\"   glob over the whole value, case-sensitive, only * is a wildcard\n")
	b.WriteString("  null logic       three-valued; where keeps only true\n")
	if len(p.aliases) > 0 {
		b.WriteString("aliases (used when the record has no such field):\n")
		w := 0
		for _, a := range p.aliases {
			w = max(w, len(a))
		}
		for _, a := range p.aliases {
			fmt.Fprintf(&b, "  %-*s  %s\n", w, a, event.AliasSource[a])
		}
	}
	if len(p.warns) > 0 {
		b.WriteString("warnings:\n")
		ws := append([]string(nil), p.warns...)
		sort.Strings(ws)
		for _, w := range ws {
			fmt.Fprintf(&b, "  %s\n", w)
		}
	}
	return b.String()
}
