// Package validate checks the detections against emulated telemetry: every
// scenario of the emulation catalog, in every delivery shape and in every
// record order, is decoded and hunted on its own, and what fired is
// compared with the ground truth. The result is a coverage matrix of
// scenario × shape; a cell also fails when the findings of one order
// differ from another's, because logs at rest come in any order (newest-
// first exports, shuffled merges) and the answer must not depend on it.
package validate

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/revertwatch/revertwatch/detect"
	"github.com/revertwatch/revertwatch/emulate"
	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/finding"
	"github.com/revertwatch/revertwatch/ingest"
	"github.com/revertwatch/revertwatch/tune"
)

// Status is the verdict of one cell of the matrix.
type Status string

// The verdicts. Missed and FalseAlarm fail a validation.
const (
	Detected   Status = "detected"    // every expected rule fired
	Suppressed Status = "suppressed"  // the expected rules fired and tuning downgraded or dropped them (benign look-alikes)
	Silent     Status = "silent"      // nothing expected, nothing fired
	Missed     Status = "missed"      // an expected rule did not fire, or tuning hid a real revert
	FalseAlarm Status = "false-alarm" // a rule fired that the truth does not expect
)

// Options control a validation.
type Options struct {
	// Emulate selects the scenarios, shapes, seed, noise and span; its
	// Order is ignored, since every order of Orders is run.
	Emulate  emulate.Options
	Config   *tune.Config  // tuning to apply; nil for none
	Lateness time.Duration // 0 for the default
	// Orders are the record orders hunted and compared, the reference
	// first; nil means emulate.Orders() (oldest-first, newest-first,
	// shuffled from the emulation seed).
	Orders []emulate.Order
	// MemoryBudget bounds what each hunt holds before it spills to disk
	// (detect.Options.MemoryBudget; 0 for the default).
	MemoryBudget int64
}

func (o *Options) orders() []emulate.Order {
	if len(o.Orders) == 0 {
		return emulate.Orders()
	}
	return o.Orders
}

// Cell is one scenario in one shape: its verdict in the reference order
// (the first of Options.Orders), and how the other orders differ from it.
type Cell struct {
	Scenario string        `json:"scenario"`
	Kind     emulate.Kind  `json:"kind"`
	Shape    emulate.Shape `json:"shape"`
	Status   Status        `json:"status"`
	Expected []string      `json:"expected"`
	// Counts are the exact numbers of findings the truth asks of some
	// rules (distinct finding ids); other expected rules must fire at
	// least once.
	Counts     []emulate.RuleCount `json:"counts,omitempty"`
	Fired      []string            `json:"fired"`
	Suppressed []string            `json:"suppressed,omitempty"` // "rule by entry" for each suppressed finding
	Missing    []string            `json:"missing,omitempty"`
	Extra      []string            `json:"extra,omitempty"`
	Events     int                 `json:"events"`
	Rejected   int                 `json:"rejected"`
	// Findings are what fired, one key per finding, sorted.
	Findings []FindingKey `json:"findings"`
	// OrderDiffs lists the orders whose findings, or events read,
	// differ from the reference order's; any fails the cell.
	OrderDiffs []OrderDiff `json:"order_differences,omitempty"`
}

// FindingKey is what must not change with the order of the input: the
// rule, the finding id and the uids of every evidence event.
type FindingKey struct {
	Rule     string   `json:"rule"`
	ID       string   `json:"id"`
	Evidence []string `json:"evidence"` // event uids, sorted
}

// String is the key's canonical line: rule, id, evidence uids.
func (k FindingKey) String() string {
	return k.Rule + " " + k.ID + " [" + strings.Join(k.Evidence, " ") + "]"
}

// keyOf makes a finding's key.
func keyOf(f *finding.Finding) FindingKey {
	k := FindingKey{Rule: f.RuleID, ID: f.ID, Evidence: make([]string, 0, len(f.Evidence))}
	for _, e := range f.Evidence {
		k.Evidence = append(k.Evidence, e.UID)
	}
	sort.Strings(k.Evidence)
	return k
}

// Canonical is the byte form of a set of findings that orders are
// compared by: one line per finding, sorted.
func Canonical(keys []FindingKey) []byte {
	lines := make([]string, len(keys))
	for i, k := range keys {
		lines[i] = k.String()
	}
	sort.Strings(lines)
	var b bytes.Buffer
	for _, l := range lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// OrderDiff is how one order's hunt of a cell differs from the reference
// order's.
type OrderDiff struct {
	Order     emulate.Order `json:"order"`
	Reference emulate.Order `json:"reference"`
	Status    Status        `json:"status"` // the cell's verdict in this order
	Changes   []string      `json:"changes"`
}

// DiffFindings describes how the findings got (in one order) differ from
// want (in the reference order), one line per difference, in a stable
// order; nil when their canonical forms are byte-identical.
func DiffFindings(want, got []FindingKey) []string {
	if bytes.Equal(Canonical(want), Canonical(got)) {
		return nil
	}
	index := func(keys []FindingKey) map[string][]string {
		m := map[string][]string{}
		for _, k := range keys {
			m[k.Rule+" "+k.ID] = append(m[k.Rule+" "+k.ID], strings.Join(k.Evidence, " "))
		}
		for _, v := range m {
			sort.Strings(v)
		}
		return m
	}
	w, g := index(want), index(got)
	var ids []string
	for id := range w {
		ids = append(ids, id)
	}
	for id := range g {
		if _, ok := w[id]; !ok {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	var out []string
	for _, id := range ids {
		a, b := w[id], g[id]
		switch {
		case len(b) == 0:
			out = append(out, fmt.Sprintf("lacks %s (evidence %s)", id, strings.Join(a, "; ")))
		case len(a) == 0:
			out = append(out, fmt.Sprintf("adds %s (evidence %s)", id, strings.Join(b, "; ")))
		case len(a) != len(b):
			out = append(out, fmt.Sprintf("%s fired %d times, not %d", id, len(b), len(a)))
		default:
			for i := range a {
				if a[i] != b[i] {
					out = append(out, fmt.Sprintf("%s: evidence [%s], not [%s]", id, b[i], a[i]))
				}
			}
		}
	}
	return out
}

// Failed reports whether the cell fails the validation.
func (c *Cell) Failed() bool {
	return c.Status == Missed || c.Status == FalseAlarm || c.Rejected > 0 || len(c.OrderDiffs) > 0
}

// Report is a whole validation.
type Report struct {
	Seed       int64           `json:"seed"`
	Noise      int             `json:"noise"`
	Span       string          `json:"span,omitempty"`
	Shapes     []emulate.Shape `json:"shapes"`
	Orders     []emulate.Order `json:"orders"` // the reference first
	Scenarios  []string        `json:"scenarios"`
	Cells      []Cell          `json:"cells"`
	Background []Cell          `json:"background,omitempty"` // the noise alone, per shape: must stay silent
	Missed     int             `json:"missed"`
	FalseAlarm int             `json:"false_alarms"`
	OrderDiffs int             `json:"order_differences"` // cells whose findings depend on the order
	Rejected   int             `json:"rejected"`
}

// OK reports whether every cell passed.
func (r *Report) OK() bool {
	return r.Missed == 0 && r.FalseAlarm == 0 && r.OrderDiffs == 0 && r.Rejected == 0
}

// corpus is one order's emulation, its files by path.
type corpus struct {
	order emulate.Order
	truth *emulate.Truth
	files map[string][]byte
}

// Run emulates the selected scenarios in memory once per order and hunts
// each scenario in each shape with a fresh detector per order; the first
// order gives the verdicts, and every other order must give byte for byte
// the same findings.
func Run(ctx context.Context, opt Options) (*Report, error) {
	var cs []corpus
	for _, o := range opt.orders() {
		eo := opt.Emulate
		eo.Order = o
		c, err := emulate.Generate(eo)
		if err != nil {
			return nil, err
		}
		files := make(map[string][]byte, len(c.Files))
		for _, f := range c.Files {
			files[f.Path] = f.Data
		}
		cs = append(cs, corpus{order: o, truth: &c.Truth, files: files})
	}
	ref := cs[0].truth
	r := &Report{Seed: opt.Emulate.Seed, Noise: opt.Emulate.Noise, Span: ref.Span, Shapes: ref.Shapes, Orders: opt.orders()}

	// The cells: every scenario in every shape, then the background per
	// shape. Each knows its files in any order's truth (the same
	// scenario and shape, arranged differently).
	type unit struct {
		background bool
		files      func(*emulate.Truth) []string
		label      func(*Cell)
	}
	var units []unit
	for i := range ref.Scenarios {
		st := &ref.Scenarios[i]
		r.Scenarios = append(r.Scenarios, st.ID)
		expected := []string{}
		var counts []emulate.RuleCount
		if st.ExpectFinding {
			expected = append(expected, st.Rules...)
			counts = st.Counts
		}
		for j := range st.Shapes {
			units = append(units, unit{
				files: func(t *emulate.Truth) []string { return t.Scenarios[i].Shapes[j].Files },
				label: func(c *Cell) {
					c.Scenario, c.Kind, c.Shape, c.Expected, c.Counts = st.ID, st.Kind, st.Shapes[j].Shape, expected, counts
				},
			})
		}
	}
	for j := range ref.Background {
		units = append(units, unit{background: true,
			files: func(t *emulate.Truth) []string { return t.Background[j].Files },
			label: func(c *Cell) {
				c.Scenario, c.Kind, c.Shape, c.Expected = "background", "noise", ref.Background[j].Shape, []string{}
			},
		})
	}

	// Every cell in every order is its own hunt: run them on every CPU,
	// since validate is the first command people run and runs in tests.
	got := make([][]Cell, len(units))
	for u := range got {
		got[u] = make([]Cell, len(cs))
	}
	type job struct{ u, o int }
	jobs := make(chan job)
	errs := make([]error, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for w := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				if errs[w] != nil {
					continue
				}
				co := cs[j.o]
				c, err := hunt(ctx, opt, co.order, co.files, units[j.u].files(co.truth))
				if err != nil {
					errs[w] = err
					continue
				}
				units[j.u].label(&c)
				c.judge()
				got[j.u][j.o] = c
			}
		}()
	}
	for u := range units {
		for o := range cs {
			jobs <- job{u, o}
		}
	}
	close(jobs)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	for u := range units {
		c := compareOrders(got[u], cs)
		if units[u].background {
			r.add(&c, &r.Background)
		} else {
			r.add(&c, &r.Cells)
		}
	}
	return r, nil
}

// compareOrders returns the reference order's cell with the differences
// of every other order's from it.
func compareOrders(cells []Cell, cs []corpus) Cell {
	ref := cells[0]
	for i := 1; i < len(cells); i++ {
		c := &cells[i]
		changes := DiffFindings(ref.Findings, c.Findings)
		if c.Events != ref.Events || c.Rejected != ref.Rejected {
			changes = append(changes, fmt.Sprintf("read %d events (%d rejected), not %d (%d rejected)", c.Events, c.Rejected, ref.Events, ref.Rejected))
		}
		if len(changes) > 0 {
			ref.OrderDiffs = append(ref.OrderDiffs, OrderDiff{Order: cs[i].order, Reference: cs[0].order, Status: c.Status, Changes: changes})
		}
	}
	return ref
}

func (r *Report) add(c *Cell, to *[]Cell) {
	switch c.Status {
	case Missed:
		r.Missed++
	case FalseAlarm:
		r.FalseAlarm++
	}
	if len(c.OrderDiffs) > 0 {
		r.OrderDiffs++
	}
	r.Rejected += c.Rejected
	*to = append(*to, *c)
}

// detector is what hunt needs of a detect.Detector; tests put one in
// that depends on the order, to see validate catch it.
type detector interface {
	Process(*event.Event)
	Flush()
}

// newDetector makes the detector of one hunt; order is the order the
// input comes in, which a real detector is not told.
var newDetector = func(_ emulate.Order, o detect.Options) (detector, error) { return detect.New(o) }

// closeDetector releases what a detector holds (spilled runs at rest),
// for detectors that have a Close.
func closeDetector(d detector) {
	switch c := d.(type) {
	case interface{ Close() error }:
		c.Close()
	case interface{ Close() }:
		c.Close()
	}
}

// hunt decodes the named in-memory files, in the order given, and runs
// the detections over them at rest.
func hunt(ctx context.Context, opt Options, order emulate.Order, files map[string][]byte, names []string) (Cell, error) {
	c := Cell{Findings: []FindingKey{}}
	var fired []string
	var suppressed []string
	det, err := newDetector(order, detect.Options{
		Lateness: opt.Lateness, Config: opt.Config, AtRest: true, MemoryBudget: opt.MemoryBudget,
		OnFinding: func(f finding.Finding, d tune.Decision) {
			fired = append(fired, f.RuleID)
			c.Findings = append(c.Findings, keyOf(&f))
			if f.Suppressed || !d.Emit() {
				suppressed = append(suppressed, f.RuleID+" by "+d.Entry)
			}
		},
	})
	if err != nil {
		return c, err
	}
	defer closeDetector(det)
	in := ingest.Options{Jobs: 1, Open: func(name string) (io.ReadCloser, error) {
		data, ok := files[name]
		if !ok {
			return nil, fmt.Errorf("%s: %w", name, os.ErrNotExist)
		}
		return io.NopCloser(bytes.NewReader(data)), nil
	}}
	sum, err := ingest.Read(ctx, names, in, ingest.Handlers{Event: func(ev *event.Event) error {
		det.Process(ev)
		return nil
	}})
	if err != nil {
		return c, err
	}
	det.Flush()
	c.Events, c.Rejected = sum.Events, sum.Rejected+sum.FileErrors
	c.Fired = uniqueSorted(fired)
	c.Suppressed = uniqueSorted(suppressed)
	sort.Slice(c.Findings, func(i, j int) bool { return c.Findings[i].String() < c.Findings[j].String() })
	return c, nil
}

// distinct counts the distinct finding ids of a rule: a finding reported
// twice under one id is one revert to a reader, so a repeated revert
// counts only with ids of its own.
func (c *Cell) distinct(rule string) int {
	ids := map[string]bool{}
	for _, k := range c.Findings {
		if k.Rule == rule {
			ids[k.ID] = true
		}
	}
	return len(ids)
}

// judge compares what fired with what was expected.
func (c *Cell) judge() {
	c.Missing = minus(c.Expected, c.Fired)
	c.Extra = minus(c.Fired, c.Expected)
	for _, rc := range c.Counts {
		switch n := c.distinct(rc.Rule); {
		case n == 0:
			// Missing already.
		case n < rc.Count:
			c.Missing = append(c.Missing, fmt.Sprintf("%s×%d (found %d)", rc.Rule, rc.Count, n))
		case n > rc.Count:
			c.Extra = append(c.Extra, fmt.Sprintf("%s×%d (found %d)", rc.Rule, rc.Count, n))
		}
	}
	hidden := len(c.Suppressed) > 0 && len(c.Suppressed) >= len(c.Fired)
	switch {
	case len(c.Missing) > 0:
		c.Status = Missed
	case len(c.Extra) > 0:
		c.Status = FalseAlarm
	case len(c.Expected) == 0:
		c.Status = Silent
	case hidden && c.Kind == emulate.KindRevert:
		// Tuning that hides a real revert is a blind spot, not a pass.
		c.Status = Missed
	case hidden:
		c.Status = Suppressed
	default:
		c.Status = Detected
	}
}

func uniqueSorted(list []string) []string {
	out := []string{}
	sort.Strings(list)
	for i, s := range list {
		if i == 0 || s != list[i-1] {
			out = append(out, s)
		}
	}
	return out
}

func minus(a, b []string) []string {
	var out []string
	for _, x := range a {
		found := false
		for _, y := range b {
			if x == y {
				found = true
				break
			}
		}
		if !found {
			out = append(out, x)
		}
	}
	return out
}

// shortShape is a column heading for a shape.
func shortShape(s emulate.Shape) string {
	return strings.TrimPrefix(strings.TrimPrefix(strings.TrimPrefix(string(s), "cloudtrail-"), "azure-"), "gcp-")
}

// cellText is what a matrix cell shows: the verdict in the reference
// order, after the orders that disagree with it.
func cellText(c *Cell) string {
	if len(c.OrderDiffs) > 0 {
		var orders []string
		for _, d := range c.OrderDiffs {
			orders = append(orders, string(d.Order))
		}
		return "✗ ORDER " + strings.Join(orders, ",") + " ≠ " + verdictText(c)
	}
	return verdictText(c)
}

// verdictText is a cell's verdict against the truth.
func verdictText(c *Cell) string {
	switch c.Status {
	case Detected:
		rules := shortRules(c.Fired)
		for i, r := range c.Fired {
			// A repeated revert shows how many times it was found.
			for _, rc := range c.Counts {
				if rc.Rule == r {
					rules[i] += "×" + strconv.Itoa(rc.Count)
				}
			}
		}
		return "✓ " + strings.Join(rules, "+")
	case Suppressed:
		return "~ suppressed"
	case Silent:
		return "· silent"
	case Missed:
		if len(c.Missing) == 0 {
			return "✗ hidden by tuning"
		}
		return "✗ MISSED " + strings.Join(shortRules(c.Missing), "+")
	case FalseAlarm:
		return "✗ FALSE " + strings.Join(shortRules(c.Extra), "+")
	}
	return string(c.Status)
}

func shortRules(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id
		if j := strings.LastIndexByte(id, '.'); j >= 0 {
			out[i] = id[j+1:]
		}
	}
	return out
}

// WriteTable prints the matrix: one row a scenario, one column a shape
// (AWS shapes, then Azure), then the verdict counts.
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, provider := range []string{event.AWS, event.Azure, event.GCP} {
		var shapes []emulate.Shape
		for _, s := range r.Shapes {
			if shapeProvider(s) == provider {
				shapes = append(shapes, s)
			}
		}
		index := map[string]map[emulate.Shape]*Cell{}
		var rows []string
		for i := range r.Cells {
			c := &r.Cells[i]
			if !containsShape(shapes, c.Shape) {
				continue
			}
			if index[c.Scenario] == nil {
				index[c.Scenario] = map[emulate.Shape]*Cell{}
				rows = append(rows, c.Scenario)
			}
			index[c.Scenario][c.Shape] = c
		}
		for i := range r.Background {
			c := &r.Background[i]
			if containsShape(shapes, c.Shape) {
				if index["(background noise)"] == nil {
					index["(background noise)"] = map[emulate.Shape]*Cell{}
					rows = append(rows, "(background noise)")
				}
				index["(background noise)"][c.Shape] = c
			}
		}
		if len(rows) == 0 {
			continue
		}
		fmt.Fprintf(tw, "%s SCENARIO\tKIND", strings.ToUpper(provider))
		for _, s := range shapes {
			fmt.Fprintf(tw, "\t%s", shortShape(s))
		}
		fmt.Fprintln(tw)
		for _, row := range rows {
			kind := ""
			for _, c := range index[row] {
				kind = string(c.Kind)
				break
			}
			fmt.Fprintf(tw, "%s\t%s", row, kind)
			for _, s := range shapes {
				if c := index[row][s]; c != nil {
					fmt.Fprintf(tw, "\t%s", cellText(c))
				} else {
					fmt.Fprint(tw, "\t-")
				}
			}
			fmt.Fprintln(tw)
		}
		fmt.Fprintln(tw)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if err := r.writeOrderDiffs(w); err != nil {
		return err
	}
	verdict := "PASS"
	if !r.OK() {
		verdict = "FAIL"
	}
	orders := make([]string, len(r.Orders))
	for i, o := range r.Orders {
		orders[i] = string(o)
	}
	// A scenario runs in the shapes of its own provider only, so the
	// cells are not scenarios times shapes: say what they are.
	_, err := fmt.Fprintf(w, "%s: %d cells (each of %d scenarios in every shape of its provider; %d shapes in all), each hunted in %d orders (%s); %d missed, %d false alarms, %d order differences, %d rejected records\n",
		verdict, len(r.Cells), len(r.Scenarios), len(r.Shapes), len(r.Orders), strings.Join(orders, ", "),
		r.Missed, r.FalseAlarm, r.OrderDiffs, r.Rejected)
	return err
}

// writeOrderDiffs says, for every cell whose findings depend on the
// order, which order differed from the reference and how.
func (r *Report) writeOrderDiffs(w io.Writer) error {
	if r.OrderDiffs == 0 {
		return nil
	}
	if _, err := fmt.Fprintln(w, "ORDER DIFFERENCES (the findings must be the same in every order)"); err != nil {
		return err
	}
	for _, cells := range [][]Cell{r.Cells, r.Background} {
		for i := range cells {
			c := &cells[i]
			for _, d := range c.OrderDiffs {
				if _, err := fmt.Fprintf(w, "%s / %s: %s (%s) differs from %s (%s):\n",
					c.Scenario, c.Shape, d.Order, d.Status, d.Reference, c.Status); err != nil {
					return err
				}
				for _, ch := range d.Changes {
					if _, err := fmt.Fprintf(w, "    %s %s\n", d.Order, ch); err != nil {
						return err
					}
				}
			}
		}
	}
	_, err := fmt.Fprintln(w)
	return err
}

func containsShape(list []emulate.Shape, s emulate.Shape) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// WriteJSON writes the report as one indented JSON document.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// shapeProvider is the provider whose records a shape holds.
func shapeProvider(s emulate.Shape) string {
	switch {
	case strings.HasPrefix(string(s), "cloudtrail"):
		return event.AWS
	case strings.HasPrefix(string(s), "gcp"):
		return event.GCP
	}
	return event.Azure
}
