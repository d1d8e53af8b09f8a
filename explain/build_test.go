package explain

import (
	"bytes"
	"context"
	"os"
	"sort"
	"testing"
	"time"

	"github.com/revertwatch/revertwatch/detect"
	"github.com/revertwatch/revertwatch/emulate"
	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/finding"
	"github.com/revertwatch/revertwatch/ingest"
	"github.com/revertwatch/revertwatch/internal/emutest"
)

// memCorpus is an emulated corpus held in memory, read as files.
type memCorpus struct {
	names []string
	opt   ingest.Options
}

func newMemCorpus(t testing.TB, opt emulate.Options) *memCorpus {
	t.Helper()
	_, names, open := emutest.Files(t, opt)
	sort.Strings(names)
	return &memCorpus{names: names, opt: ingest.Options{Jobs: 2, Open: open}}
}

// hunt reads the corpus as 'hunt --explain' does: at rest, partially
// decoded but for what the rules and the links want, gathering links.
func (c *memCorpus) hunt(t testing.TB) ([]finding.Finding, *Links) {
	t.Helper()
	fs, col := c.collect(t)
	return fs, col.links
}

// collect is hunt, returning the whole collector: the links and the
// files' Facts.
func (c *memCorpus) collect(t testing.TB) ([]finding.Finding, *Collector) {
	t.Helper()
	det, err := detect.New(detect.Options{AtRest: true})
	if err != nil {
		t.Fatal(err)
	}
	defer det.Close()
	// The corpus is in memory: NewCollector would find no files to
	// read again.
	col := &Collector{links: NewLinks(), facts: NewFacts()}
	opt := c.opt
	opt.Want = col.Want(det.Wants)
	opt.NewSelect = col.NewSelect()
	if _, err := ingest.Read(context.Background(), c.names, opt, ingest.Handlers{
		Event: func(ev *event.Event) error {
			col.Add(ev) // before the detector, which may take the record's bytes to a file
			det.Process(ev)
			return nil
		},
		File: col.File,
	}); err != nil {
		t.Fatal(err)
	}
	det.Flush()
	return det.Findings(), col
}

// full indexes every event whole, as 'hunt --explain' did before Build.
func (c *memCorpus) full(t testing.TB) *Index {
	t.Helper()
	x := NewIndex()
	if _, err := ingest.Read(context.Background(), c.names, c.opt, ingest.Handlers{Event: func(ev *event.Event) error {
		x.Add(ev)
		return nil
	}}); err != nil {
		t.Fatal(err)
	}
	return x
}

func render(t testing.TB, format string, bs []*Bundle) string {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, format, bs); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// Build over a second, scoped read gives the bundles an index of every
// event gives, byte for byte, in every shape and order, and the links
// foresee what the bundles ask so that one read is enough.
func TestBuildSameAsFullIndex(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opt    emulate.Options
		window time.Duration
	}{
		{"oldest-first", emulate.Options{Seed: 7, Noise: 1500}, 0},
		{"shuffled-3d", emulate.Options{Seed: 11, Noise: 1000, Order: emulate.OrderShuffled, Span: 3 * 24 * time.Hour}, 0},
		{"newest-first-2d-short-window", emulate.Options{Seed: 5, Noise: 1000, Order: emulate.OrderNewestFirst, Span: 2 * 24 * time.Hour}, 20 * time.Minute},
	} {
		if raceEnabled {
			// The decode workers' sharing (Select, Facts) is all the
			// race detector has to look at: one small corpus shows it.
			if tc.name != "oldest-first" {
				continue
			}
			tc.opt.Noise = 300
		}
		t.Run(tc.name, func(t *testing.T) {
			c := newMemCorpus(t, tc.opt)
			fs, col := c.collect(t)
			links := col.links
			if len(fs) < 10 {
				t.Fatalf("%d findings", len(fs))
			}
			opt := Options{Window: tc.window}
			x := c.full(t)
			want := make([]*Bundle, 0, len(fs))
			for _, f := range fs {
				want = append(want, x.Explain(f, opt))
			}
			// Build is given the options of the first read, as hunt
			// gives them: Build must not keep that read's selects.
			ropt := c.opt
			ropt.Want = col.Want(func(string, string) bool { return false })
			ropt.NewSelect = col.NewSelect()
			got, st, err := Build(context.Background(), fs, links, col.facts, c.names, ropt, opt)
			if err != nil {
				t.Fatal(err)
			}
			if st.Skipped == 0 || st.Packed == 0 {
				t.Errorf("the facts spared %d and packed %d of %d files", st.Skipped, st.Packed, len(c.names))
			}
			for i := range fs {
				if a, b := render(t, FormatJSON, want[i:i+1]), render(t, FormatJSON, got[i:i+1]); a != b {
					t.Errorf("%s (%s): bundles differ\nfull index: %s\nbuild:      %s", fs[i].ID, fs[i].RuleID, a, b)
				}
			}
			if a, b := render(t, FormatMarkdown, want), render(t, FormatMarkdown, got); a != b {
				t.Error("Markdown differs")
			}
			if st.Reads != 1 {
				t.Errorf("%d reads, want 1: the links did not foresee what the bundles asked", st.Reads)
			}
			if st.Entries*2 > x.Len() {
				t.Errorf("the scoped index kept %d of %d calls", st.Entries, x.Len())
			}
			t.Logf("%d findings; kept %d of %d calls in %d read(s), %d of %d files not read again, %d packed",
				len(fs), st.Entries, x.Len(), st.Reads, st.Skipped, len(c.names), st.Packed)

			// Without facts every file is read again, to the same
			// bundles.
			got, st, err = Build(context.Background(), fs, links, nil, c.names, c.opt, opt)
			if err != nil {
				t.Fatal(err)
			}
			if a, b := render(t, FormatJSON, want), render(t, FormatJSON, got); a != b || st.Skipped != 0 {
				t.Errorf("bundles without facts differ, or %d files skipped", st.Skipped)
			}

			// Without links Build reads once per generation of lineage,
			// and still gives the same bundles.
			got, st, err = Build(context.Background(), fs, nil, col.facts, c.names, c.opt, opt)
			if err != nil {
				t.Fatal(err)
			}
			if a, b := render(t, FormatJSON, want), render(t, FormatJSON, got); a != b {
				t.Error("bundles without links differ")
			}
			t.Logf("without links: %d reads", st.Reads)
		})
	}
}

// Logs that cannot be read again (standard input, a pipe) are indexed
// whole during the first read, every call decoded.
func TestCollectorKeepsWhatCannotBeReread(t *testing.T) {
	want := func(string, string) bool { return false }
	if c := NewCollector([]string{"-"}); c.full == nil || c.Want(want) != nil {
		t.Error("standard input: not indexed whole")
	}
	dir := t.TempDir()
	file := dir + "/a.json"
	if err := os.WriteFile(file, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if c := NewCollector([]string{file, dir}); c.full == nil {
		t.Error("a directory among the inputs: not indexed whole")
	}
	c := NewCollector([]string{file})
	if c.links == nil || c.Want(want) == nil || !c.Want(want)(event.AWS, "CreateSnapshot") || c.Want(want)(event.AWS, "DescribeInstances") {
		t.Error("a file: not read for the links only")
	}
	if bs, err := c.Bundles(context.Background(), nil, []string{file}, ingest.Options{}, Options{}); err != nil || len(bs) != 0 {
		t.Errorf("no findings: %v %v", bs, err)
	}
}
