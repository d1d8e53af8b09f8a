package emulate

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/ingest"
)

// decodeInOrder decodes the named files, in the order given, and returns
// their events in the order a reader meets them: file by file, record by
// record.
func decodeInOrder(t *testing.T, open func(string) (io.ReadCloser, error), names []string) []*event.Event {
	t.Helper()
	pos := map[string]int{}
	for i, n := range names {
		pos[n] = i
	}
	var evs []*event.Event
	_, err := ingest.Read(context.Background(), names, ingest.Options{Jobs: 1, Open: open}, ingest.Handlers{
		Event: func(ev *event.Event) error {
			evs = append(evs, ev)
			return nil
		},
		Diag: func(d ingest.Diag) {
			if d.Severity == ingest.Rejected || d.Severity == ingest.FileErr {
				t.Errorf("%s", d)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.SliceStable(evs, func(i, j int) bool {
		a, b := &evs[i].Source, &evs[j].Source
		if pos[a.Name] != pos[b.Name] {
			return pos[a.Name] < pos[b.Name]
		}
		if a.Index != b.Index {
			return a.Index < b.Index
		}
		return a.Sub < b.Sub
	})
	return evs
}

func memOpen(c *Corpus) func(string) (io.ReadCloser, error) {
	files := map[string][]byte{}
	for _, f := range c.Files {
		files[f.Path] = f.Data
	}
	return func(name string) (io.ReadCloser, error) {
		data, ok := files[name]
		if !ok {
			return nil, os.ErrNotExist
		}
		return io.NopCloser(bytes.NewReader(data)), nil
	}
}

// units lists every directory of a corpus that is arranged as one: each
// scenario in each shape, and the background of each shape.
func units(c *Corpus) map[string][]string {
	out := map[string][]string{}
	for _, st := range c.Truth.Scenarios {
		for _, sh := range st.Shapes {
			out[st.ID+"/"+string(sh.Shape)] = sh.Files
		}
	}
	for _, sh := range c.Truth.Background {
		out["background/"+string(sh.Shape)] = sh.Files
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Every order, for a seed, writes the same bytes twice; the shuffled
// order depends on the seed.
func TestOrderDeterministic(t *testing.T) {
	for _, o := range Orders() {
		opt := Options{Seed: 42, Noise: 80, Order: o, Span: 10 * Day, Scenarios: []string{"aws-seed*", "azure-seed3-*", "*five-days", "*accept-only*"}}
		a, err := Generate(opt)
		if err != nil {
			t.Fatal(err)
		}
		b, err := Generate(opt)
		if err != nil {
			t.Fatal(err)
		}
		if len(a.Files) != len(b.Files) {
			t.Fatalf("%s: %d files, then %d", o, len(a.Files), len(b.Files))
		}
		for i := range a.Files {
			if a.Files[i].Path != b.Files[i].Path || !bytes.Equal(a.Files[i].Data, b.Files[i].Data) {
				t.Fatalf("%s: %s differs between two runs with the same seed", o, a.Files[i].Path)
			}
		}
		if !bytes.Equal(a.Truth.Marshal(), b.Truth.Marshal()) {
			t.Fatalf("%s: truth.json differs between two runs", o)
		}
		if o == OrderOldestFirst {
			if a.Truth.Order != "" {
				t.Errorf("the default order is written in truth.json as %q: older files would read differently", a.Truth.Order)
			}
		} else if a.Truth.Order != o {
			t.Errorf("truth.json says order %q, want %q", a.Truth.Order, o)
		}
	}
	// The shuffle follows the seed (and only the seed: the ids do too,
	// so compare the arrangement of one unit by its event ids).
	arrangement := func(seed int64) []string {
		c, err := Generate(Options{Seed: seed, Noise: 200, Order: OrderShuffled, Scenarios: []string{"aws-seed1-*"}, Shapes: []Shape{event.FormatCloudTrailLines}})
		if err != nil {
			t.Fatal(err)
		}
		var ops []string
		for _, ev := range decodeInOrder(t, memOpen(c), c.Truth.Background[0].Files) {
			ops = append(ops, ev.Time.Format(time.RFC3339))
		}
		return ops
	}
	if strings.Join(arrangement(1), " ") == strings.Join(arrangement(2), " ") {
		t.Error("seeds 1 and 2 shuffled the background the same way")
	}
}

// Under newest-first, every file reads newest first, and the files of a
// directory, in the order a walk reads them, continue where the previous
// one stopped: event times never increase.
func TestNewestFirstNeverIncreases(t *testing.T) {
	c, err := Generate(Options{Seed: 5, Noise: 400, Order: OrderNewestFirst, Span: 7 * Day})
	if err != nil {
		t.Fatal(err)
	}
	open := memOpen(c)
	us := units(c)
	multi := 0
	for _, name := range sortedKeys(us) {
		files := us[name]
		if !sort.StringsAreSorted(files) {
			t.Errorf("%s: truth lists the files out of walk order: %v", name, files)
		}
		if len(files) > 1 {
			multi++
		}
		evs := decodeInOrder(t, open, files)
		for i := 1; i < len(evs); i++ {
			if evs[i].Time.After(evs[i-1].Time) {
				a, b := evs[i-1], evs[i]
				t.Errorf("%s: %s record %d at %s comes after %s record %d at %s", name,
					b.Source.Name, b.Source.Index, b.Time.Format(time.RFC3339Nano), a.Source.Name, a.Source.Index, a.Time.Format(time.RFC3339Nano))
				break
			}
		}
	}
	if multi < 10 {
		t.Errorf("only %d directories with several files: the test proves little across files", multi)
	}
}

// Shuffled holds the same records as oldest-first, in another order and
// spread differently over the same files.
func TestShuffledDiffersFromOldestFirst(t *testing.T) {
	gen := func(o Order) *Corpus {
		c, err := Generate(Options{Seed: 3, Noise: 300, Order: o, Scenarios: []string{"aws-seed1-*"}})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	old, shuf := gen(OrderOldestFirst), gen(OrderShuffled)
	for i, sh := range old.Truth.Background {
		got := shuf.Truth.Background[i]
		if strings.Join(sh.Files, " ") != strings.Join(got.Files, " ") || sh.Events != got.Events {
			t.Fatalf("%s: shuffled wrote other files or counts", sh.Shape)
		}
		a, b := decodeInOrder(t, memOpen(old), sh.Files), decodeInOrder(t, memOpen(shuf), got.Files)
		var seqA, seqB []string
		perFile := map[string]bool{}
		for k := range a {
			seqA = append(seqA, a[k].UID)
			seqB = append(seqB, b[k].UID)
			if a[k].Source.Name != b[k].Source.Name {
				t.Fatalf("%s: record %d in another file", sh.Shape, k)
			}
			perFile[a[k].UID+" "+a[k].Source.Name] = true
		}
		if strings.Join(seqA, " ") == strings.Join(seqB, " ") {
			t.Errorf("%s: shuffled reads in the oldest-first order", sh.Shape)
		}
		moved := 0
		for k := range b {
			if !perFile[b[k].UID+" "+b[k].Source.Name] {
				moved++
			}
		}
		if len(sh.Files) > 1 && moved == 0 {
			t.Errorf("%s: no record changed file across %d files", sh.Shape, len(sh.Files))
		}
		sort.Strings(seqA)
		sort.Strings(seqB)
		if strings.Join(seqA, " ") != strings.Join(seqB, " ") {
			t.Errorf("%s: shuffled holds other records", sh.Shape)
		}
	}
}

// Over a 90-day span, a revert starts on the first day and one on the
// last, every scenario ends inside the span, and the background covers it.
func TestSpanFirstAndLastDay(t *testing.T) {
	start := DefaultStart
	const span = 90 * Day
	c, err := Generate(Options{Seed: 1, Noise: 500, Span: span, Shapes: []Shape{event.FormatCloudTrailLines, event.FormatAzureStorage}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Truth.Span != "90d" {
		t.Errorf("truth.json span %q, want 90d", c.Truth.Span)
	}
	open := memOpen(c)
	firstDay, lastDay := false, false
	for _, st := range c.Truth.Scenarios {
		day := int(st.Start.Sub(start) / Day)
		if st.Kind == KindRevert && day == 0 {
			firstDay = true
		}
		if st.Kind == KindRevert && day == 89 {
			lastDay = true
		}
		for _, sh := range st.Shapes {
			for _, ev := range decodeInOrder(t, open, sh.Files) {
				if ev.Time.Before(start) || !ev.Time.Before(start.Add(span)) {
					t.Errorf("%s: event at %s outside the span", st.ID, ev.Time)
				}
			}
		}
	}
	if !firstDay || !lastDay {
		t.Errorf("a revert on the first day: %v, on the last day: %v", firstDay, lastDay)
	}
	for _, sh := range c.Truth.Background {
		evs := decodeInOrder(t, open, sh.Files)
		lo, hi := evs[0].Time, evs[0].Time
		for _, ev := range evs {
			if ev.Time.Before(lo) {
				lo = ev.Time
			}
			if ev.Time.After(hi) {
				hi = ev.Time
			}
		}
		if lo.Before(start) || !hi.Before(start.Add(span)) || hi.Sub(lo) < 88*Day {
			t.Errorf("%s: background from %s to %s, want most of the 90 days from %s", sh.Shape, lo, hi, start)
		}
	}
}

// The default span is one day, and the scenarios keep the times they had
// before spans existed (the golden files pin the bytes).
func TestSpanDefaultIsOneDay(t *testing.T) {
	c, err := Generate(Options{Seed: 1, Scenarios: []string{"aws-seed*", "azure-*"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range c.Truth.Scenarios {
		if st.Start.Sub(DefaultStart) >= Day {
			t.Errorf("%s starts on %s, after the first day", st.ID, st.Start)
		}
	}
	if c.Truth.Span != "" {
		t.Errorf("truth.json names the default span: %q", c.Truth.Span)
	}
}

func TestParseSpan(t *testing.T) {
	for in, want := range map[string]time.Duration{"90d": 90 * Day, "2160h": 90 * Day, "1d": Day, "7d": 7 * Day, "1d24h": 2 * Day, " 30d ": 30 * Day} {
		got, err := ParseSpan(in)
		if err != nil || got != want {
			t.Errorf("ParseSpan(%q) = %s, %v; want %s", in, got, err, want)
		}
	}
	for in, msg := range map[string]string{"91d": "longer than 90 days", "2161h": "longer than 90 days", "36h": "whole number of days",
		"0d": "at least one day", "x": "bad span", "-1d": "bad span", "1d-2h": "bad span"} {
		if _, err := ParseSpan(in); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("ParseSpan(%q): %v, want an error saying %q", in, err, msg)
		}
	}
	if _, err := Generate(Options{Span: 91 * Day}); err == nil {
		t.Error("Generate took a 91-day span")
	}
	if _, err := ParseOrder("sideways"); err == nil {
		t.Error("ParseOrder took an unknown order")
	}
}

// The accept-only export has Start and Accept records only; its failed
// variant has one Failure record, of the disk write, and no Success.
func TestAcceptOnlyHasNoSuccess(t *testing.T) {
	c, err := Generate(Options{Seed: 1, Scenarios: []string{"azure-disk-swap-accept-only", "azure-near-disk-swap-accept-only-failed"}})
	if err != nil {
		t.Fatal(err)
	}
	open := memOpen(c)
	for _, st := range c.Truth.Scenarios {
		if len(st.Shapes) != len(AzureShapes) {
			t.Errorf("%s in %d shapes", st.ID, len(st.Shapes))
		}
		for _, sh := range st.Shapes {
			evs := decodeInOrder(t, open, sh.Files)
			phases := map[string]int{}
			for _, ev := range evs {
				switch ev.Outcome {
				case event.OutcomeSuccess:
					t.Errorf("%s/%s: a Success record of %s", st.ID, sh.Shape, ev.Operation)
				case event.OutcomeFailure:
					if st.ID != "azure-near-disk-swap-accept-only-failed" || ev.Operation != "microsoft.compute/disks/write" {
						t.Errorf("%s/%s: a Failure record of %s", st.ID, sh.Shape, ev.Operation)
					}
					if ev.ErrorCode == "" || !strings.Contains(ev.ErrorMessage, "InternalExecutionError") {
						t.Errorf("%s/%s: the failure says %q %q", st.ID, sh.Shape, ev.ErrorCode, ev.ErrorMessage)
					}
				}
				phases[string(ev.Phase)]++
			}
			failures := 0
			if st.ID == "azure-near-disk-swap-accept-only-failed" {
				failures = 1
			}
			if phases[string(event.PhaseStart)] != 4 || phases[string(event.PhaseAccept)] != 4 || phases[string(event.PhaseEnd)] != failures {
				t.Errorf("%s/%s: phases %v, want 4 start, 4 accept, %d end", st.ID, sh.Shape, phases, failures)
			}
		}
	}
	if got := c.Truth.Scenarios[0]; got.ID != "azure-disk-swap-accept-only" || !got.ExpectFinding || got.Rules[0] != RuleAzureDiskSwap {
		t.Errorf("accept-only truth: %+v", got)
	}
	if got := c.Truth.Scenarios[1]; got.ExpectFinding || got.Kind != KindNearMiss {
		t.Errorf("failed variant truth: %+v", got)
	}
}

// The repeated stop/start happens on five different days and truth.json
// asks for five findings of the rule.
func TestFiveDaysTruthCount(t *testing.T) {
	c, err := Generate(Options{Seed: 1, Scenarios: []string{"aws-stop-start-five-days"}, Shapes: []Shape{event.FormatCloudTrailLines}})
	if err != nil {
		t.Fatal(err)
	}
	st := c.Truth.Scenarios[0]
	if n, ok := st.Expected(RuleStopStart); !ok || n != 5 {
		t.Errorf("truth expects %d (%v) findings of %s, want exactly 5", n, ok, RuleStopStart)
	}
	if _, ok := st.Expected(RuleAzureDiskSwap); ok {
		t.Error("a count for a rule the scenario does not name")
	}
	days := map[string]bool{}
	for _, ev := range decodeInOrder(t, memOpen(c), st.Shapes[0].Files) {
		if ev.Operation == "StopInstances" {
			days[ev.Time.Format("2006-01-02")] = true
		}
	}
	if len(days) != 5 {
		t.Errorf("stops on %d days, want 5: %v", len(days), days)
	}
}

// A truth.json from before counts, orders and spans reads the same: no
// counts (every rule at least once), the default order and span.
func TestOldTruthReads(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "golden", "truth.json.golden"))
	if err != nil {
		t.Fatal(err)
	}
	var tr Truth
	if err := json.Unmarshal(data, &tr); err != nil {
		t.Fatal(err)
	}
	if tr.Order != "" || tr.Span != "" || len(tr.Scenarios) == 0 {
		t.Fatalf("order %q span %q, %d scenarios", tr.Order, tr.Span, len(tr.Scenarios))
	}
	for _, st := range tr.Scenarios {
		for _, r := range st.Rules {
			if _, ok := st.Expected(r); ok {
				t.Errorf("%s: an exact count for %s in a file without counts", st.ID, r)
			}
		}
	}
	if o, err := ParseOrder(string(tr.Order)); err != nil || o != OrderOldestFirst {
		t.Errorf("an absent order reads as %q, %v", o, err)
	}
}
