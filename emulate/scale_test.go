package emulate

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/ingest"
)

// WriteScale writes exactly the events asked for, in the files it lists,
// and they all decode.
func TestScaleCounts(t *testing.T) {
	dir := t.TempDir()
	st, err := WriteScale(dir, ScaleOptions{Options: Options{Seed: 5, Scenarios: []string{"aws-seed*"}, Shapes: []Shape{event.FormatCloudTrailRecords}},
		Events: 5003, AzureEvents: 301, Files: 4, Workers: 3})
	if err != nil {
		t.Fatal(err)
	}
	if st.Events != 5003 || st.AzureEvents != 301 {
		t.Fatalf("wrote %d CloudTrail and %d Azure events, want 5003 and 301", st.Events, st.AzureEvents)
	}
	var ctFiles int
	for _, sh := range st.Corpus.Truth.Background {
		got, sum := readDir(t, filepath.Join(dir, string(sh.Shape), "background"))
		if sum.Events != sh.Events || len(got[sh.Shape]) != sh.Events {
			t.Errorf("%s: read %d events, truth says %d", sh.Shape, sum.Events, sh.Events)
		}
		if sh.Shape == event.FormatCloudTrailRecords {
			ctFiles = len(sh.Files)
			if sum.Files != 4 {
				t.Errorf("%d CloudTrail files read, want 4", sum.Files)
			}
		}
	}
	if ctFiles != 4 {
		t.Errorf("truth lists %d CloudTrail files, want 4", ctFiles)
	}
	// The scenarios are there too.
	_, sum := readDir(t, filepath.Join(dir, string(event.FormatCloudTrailRecords), "aws-seed1-stop-start"))
	if sum.Events != 3 {
		t.Errorf("seed 1 in the scale corpus: %d events, want 3", sum.Events)
	}
}

// The scale corpus over a span, newest first: exact counts, every time
// inside the span and most of it covered, and a directory walk of the
// background reads times that never increase, within and across files.
func TestScaleNewestFirstSpan(t *testing.T) {
	dir := t.TempDir()
	const span = 8 * Day
	st, err := WriteScale(dir, ScaleOptions{Options: Options{Seed: 5, Scenarios: []string{"aws-seed1-*", "azure-seed3-*"}, Order: OrderNewestFirst, Span: span},
		Events: 4001, AzureEvents: 1500, Files: 7, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	if st.Events != 4001 || st.AzureEvents != 1500 {
		t.Fatalf("wrote %d CloudTrail and %d Azure events, want 4001 and 1500", st.Events, st.AzureEvents)
	}
	if st.Corpus.Truth.Order != OrderNewestFirst || st.Corpus.Truth.Span != "8d" {
		t.Errorf("truth.json: order %q span %q", st.Corpus.Truth.Order, st.Corpus.Truth.Span)
	}
	for _, sh := range st.Corpus.Truth.Background {
		root := filepath.Join(dir, string(sh.Shape), "background")
		walked, err := ingest.Expand([]string{root})
		if err != nil {
			t.Fatal(err)
		}
		listed := make([]string, len(sh.Files))
		for i, f := range sh.Files {
			listed[i] = filepath.Join(dir, filepath.FromSlash(f))
		}
		if strings.Join(walked, "\n") != strings.Join(listed, "\n") {
			t.Errorf("%s: truth lists the files in another order than a walk reads them", sh.Shape)
		}
		evs := decodeInOrder(t, nil, walked)
		if len(evs) != sh.Events {
			t.Errorf("%s: read %d events, truth says %d", sh.Shape, len(evs), sh.Events)
		}
		lo, hi := evs[len(evs)-1].Time, evs[0].Time
		for i := 1; i < len(evs); i++ {
			if evs[i].Time.After(evs[i-1].Time) {
				t.Fatalf("%s: %s record %d at %s after %s record %d at %s", sh.Shape, evs[i].Source.Name, evs[i].Source.Index, evs[i].Time,
					evs[i-1].Source.Name, evs[i-1].Source.Index, evs[i-1].Time)
			}
		}
		if lo.Before(DefaultStart) || !hi.Before(DefaultStart.Add(span)) || hi.Sub(lo) < 7*Day {
			t.Errorf("%s: background from %s to %s, want most of 8 days from %s", sh.Shape, lo, hi, DefaultStart)
		}
		if sh.Shape == event.FormatAzureStorage {
			// Each blob holds the records of the subscription its path names.
			for _, ev := range evs {
				if !strings.Contains(ev.Source.Name, strings.ToUpper(ev.Account)) {
					t.Fatalf("%s: a record of subscription %s", ev.Source.Name, ev.Account)
				}
			}
		}
	}
}

// Shuffled, the scale background spreads every file over the whole span
// in no order.
func TestScaleShuffled(t *testing.T) {
	dir := t.TempDir()
	st, err := WriteScale(dir, ScaleOptions{Options: Options{Seed: 6, Scenarios: []string{"aws-seed1-*"}, Order: OrderShuffled, Span: 10 * Day},
		Events: 2000, AzureEvents: 600, Files: 4})
	if err != nil {
		t.Fatal(err)
	}
	for _, sh := range st.Corpus.Truth.Background {
		for _, f := range sh.Files {
			evs := decodeInOrder(t, nil, []string{filepath.Join(dir, filepath.FromSlash(f))})
			if len(evs) < 4 {
				continue
			}
			lo, hi, ups, downs := evs[0].Time, evs[0].Time, 0, 0
			for i, ev := range evs {
				if ev.Time.Before(lo) {
					lo = ev.Time
				}
				if ev.Time.After(hi) {
					hi = ev.Time
				}
				if i > 0 && ev.Time.After(evs[i-1].Time) {
					ups++
				} else if i > 0 && ev.Time.Before(evs[i-1].Time) {
					downs++
				}
			}
			if hi.Sub(lo) < 5*Day || ups == 0 || downs == 0 {
				t.Errorf("%s: %d records from %s to %s, %d up and %d down: not shuffled over the span", f, len(evs), lo, hi, ups, downs)
			}
		}
	}
}

// BenchmarkScale measures background generation: CloudTrail events
// rendered, gzipped and written per second.
func BenchmarkScale(b *testing.B) {
	const events = 200_000
	dir := b.TempDir()
	var bytes int64
	for i := 0; i < b.N; i++ {
		st, err := WriteScale(dir, ScaleOptions{Options: Options{Seed: 1, Scenarios: []string{"aws-seed1-*"}, Shapes: []Shape{event.FormatCloudTrailRecords}},
			Events: events})
		if err != nil {
			b.Fatal(err)
		}
		bytes = st.Bytes
	}
	b.SetBytes(bytes)
	b.ReportMetric(float64(events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkScaleAzure measures the Azure Storage background.
func BenchmarkScaleAzure(b *testing.B) {
	const events = 20_000
	dir := b.TempDir()
	for i := 0; i < b.N; i++ {
		if _, err := WriteScale(dir, ScaleOptions{Options: Options{Seed: 1, Scenarios: []string{"azure-seed3-*"}, Shapes: []Shape{event.FormatAzureStorage}},
			AzureEvents: events}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// The high cardinality names many more callers, instances and Azure
// resource groups than the normal one, with the same counts, and its
// records decode.
func TestScaleCardinality(t *testing.T) {
	distinct := func(card Cardinality) (callers, instances, groups int) {
		dir := t.TempDir()
		st, err := WriteScale(dir, ScaleOptions{Options: Options{Seed: 5, Scenarios: []string{"aws-seed1-*"}},
			Events: 4000, AzureEvents: 1200, Files: 2, Workers: 2, Cardinality: card})
		if err != nil {
			t.Fatal(err)
		}
		if st.Events != 4000 || st.AzureEvents != 1200 {
			t.Fatalf("%s: wrote %d and %d events, want 4000 and 1200", card, st.Events, st.AzureEvents)
		}
		c, i, g := map[string]bool{}, map[string]bool{}, map[string]bool{}
		for _, sh := range st.Corpus.Truth.Background {
			got, sum := readDir(t, filepath.Join(dir, string(sh.Shape), "background"))
			if sum.Events != sh.Events {
				t.Errorf("%s %s: read %d events, truth says %d", card, sh.Shape, sum.Events, sh.Events)
			}
			for _, ev := range got[sh.Shape] {
				c[ev.Caller] = true
				g[ev.ResourceGroup] = true
				for _, x := range ev.Keys.Instances {
					i[x] = true
				}
			}
		}
		return len(c), len(i), len(g)
	}
	nc, ni, ng := distinct(CardinalityNormal)
	hc, hi, hg := distinct(CardinalityHigh)
	t.Logf("callers %d -> %d, instances %d -> %d, resource groups %d -> %d", nc, hc, ni, hi, ng, hg)
	if nc > 40 || hc < 10*nc || ni > 300 || hi < 3*ni || ng > 20 || hg < 10*ng {
		t.Errorf("callers %d -> %d, instances %d -> %d, resource groups %d -> %d: high is not high", nc, hc, ni, hi, ng, hg)
	}
	if _, err := ParseCardinality("huge"); err == nil {
		t.Error("ParseCardinality accepted huge")
	}
}
