// Package validate checks the detections against emulated telemetry: every
// scenario of the emulation catalog, in every delivery shape, is decoded
// and hunted on its own, and what fired is compared with the ground truth.
// The result is a coverage matrix of scenario × shape.
package validate

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
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
	Emulate  emulate.Options
	Config   *tune.Config  // tuning to apply; nil for none
	Lateness time.Duration // 0 for the default
}

// Cell is one scenario in one shape.
type Cell struct {
	Scenario   string        `json:"scenario"`
	Kind       emulate.Kind  `json:"kind"`
	Shape      emulate.Shape `json:"shape"`
	Status     Status        `json:"status"`
	Expected   []string      `json:"expected"`
	Fired      []string      `json:"fired"`
	Suppressed []string      `json:"suppressed,omitempty"` // "rule by entry" for each suppressed finding
	Missing    []string      `json:"missing,omitempty"`
	Extra      []string      `json:"extra,omitempty"`
	Events     int           `json:"events"`
	Rejected   int           `json:"rejected"`
}

// Failed reports whether the cell fails the validation.
func (c *Cell) Failed() bool {
	return c.Status == Missed || c.Status == FalseAlarm || c.Rejected > 0
}

// Report is a whole validation.
type Report struct {
	Seed       int64           `json:"seed"`
	Noise      int             `json:"noise"`
	Shapes     []emulate.Shape `json:"shapes"`
	Scenarios  []string        `json:"scenarios"`
	Cells      []Cell          `json:"cells"`
	Background []Cell          `json:"background,omitempty"` // the noise alone, per shape: must stay silent
	Missed     int             `json:"missed"`
	FalseAlarm int             `json:"false_alarms"`
	Rejected   int             `json:"rejected"`
}

// OK reports whether every cell passed.
func (r *Report) OK() bool { return r.Missed == 0 && r.FalseAlarm == 0 && r.Rejected == 0 }

// Run emulates the selected scenarios in memory and hunts each scenario in
// each shape with a fresh detector.
func Run(ctx context.Context, opt Options) (*Report, error) {
	corpus, err := emulate.Generate(opt.Emulate)
	if err != nil {
		return nil, err
	}
	files := make(map[string][]byte, len(corpus.Files))
	for _, f := range corpus.Files {
		files[f.Path] = f.Data
	}
	r := &Report{Seed: opt.Emulate.Seed, Noise: opt.Emulate.Noise, Shapes: corpus.Truth.Shapes}
	for _, st := range corpus.Truth.Scenarios {
		r.Scenarios = append(r.Scenarios, st.ID)
		expected := []string{}
		if st.ExpectFinding {
			expected = append(expected, st.Rules...)
		}
		for _, sh := range st.Shapes {
			c, err := hunt(ctx, opt, files, sh.Files)
			if err != nil {
				return nil, err
			}
			c.Scenario, c.Kind, c.Shape, c.Expected = st.ID, st.Kind, sh.Shape, expected
			c.judge()
			r.add(&c, &r.Cells)
		}
	}
	for _, bg := range corpus.Truth.Background {
		c, err := hunt(ctx, opt, files, bg.Files)
		if err != nil {
			return nil, err
		}
		c.Scenario, c.Kind, c.Shape, c.Expected = "background", "noise", bg.Shape, []string{}
		c.judge()
		r.add(&c, &r.Background)
	}
	return r, nil
}

func (r *Report) add(c *Cell, to *[]Cell) {
	switch c.Status {
	case Missed:
		r.Missed++
	case FalseAlarm:
		r.FalseAlarm++
	}
	r.Rejected += c.Rejected
	*to = append(*to, *c)
}

// hunt decodes the named in-memory files and runs the detections.
func hunt(ctx context.Context, opt Options, files map[string][]byte, names []string) (Cell, error) {
	var c Cell
	var fired []string
	var suppressed []string
	det, err := detect.New(detect.Options{
		Lateness: opt.Lateness, Config: opt.Config,
		OnFinding: func(f finding.Finding, d tune.Decision) {
			fired = append(fired, f.RuleID)
			if f.Suppressed || !d.Emit() {
				suppressed = append(suppressed, f.RuleID+" by "+d.Entry)
			}
		},
	})
	if err != nil {
		return c, err
	}
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
	return c, nil
}

// judge compares what fired with what was expected.
func (c *Cell) judge() {
	c.Missing = minus(c.Expected, c.Fired)
	c.Extra = minus(c.Fired, c.Expected)
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
	return strings.TrimPrefix(strings.TrimPrefix(string(s), "cloudtrail-"), "azure-")
}

// cellText is what a matrix cell shows.
func cellText(c *Cell) string {
	switch c.Status {
	case Detected:
		return "✓ " + strings.Join(shortRules(c.Fired), "+")
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
	for _, provider := range []string{event.AWS, event.Azure} {
		var shapes []emulate.Shape
		for _, s := range r.Shapes {
			if strings.HasPrefix(string(s), "cloudtrail") == (provider == event.AWS) {
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
	verdict := "PASS"
	if !r.OK() {
		verdict = "FAIL"
	}
	_, err := fmt.Fprintf(w, "%s: %d scenarios × %d shapes = %d cells; %d missed, %d false alarms, %d rejected records\n",
		verdict, len(r.Scenarios), len(r.Shapes), len(r.Cells), r.Missed, r.FalseAlarm, r.Rejected)
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
