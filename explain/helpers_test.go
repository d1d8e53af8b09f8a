package explain

import (
	"context"
	"sort"
	"testing"

	"github.com/revertwatch/revertwatch/detect"
	"github.com/revertwatch/revertwatch/emulate"
	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/finding"
	"github.com/revertwatch/revertwatch/ingest"
	"github.com/revertwatch/revertwatch/internal/emutest"
)

// hunted is an emulated corpus read once: its findings and its index.
type hunted struct {
	findings []finding.Finding
	index    *Index
	truth    emulate.Truth
}

// huntEmulated emulates the scenarios in one shape per provider, reads
// every file in memory, hunts it and indexes it, as 'hunt --explain' does.
func huntEmulated(t *testing.T, noise int, scenarios ...string) *hunted {
	t.Helper()
	c, names, open := emutest.Files(t, emulate.Options{Seed: 7, Noise: noise, Scenarios: scenarios,
		Shapes: []emulate.Shape{event.FormatCloudTrailRecords, event.FormatAzureStorage, event.FormatGCPArray}})
	sort.Strings(names)
	opt := ingest.Options{Jobs: 1, Open: open}
	names = ingest.SortByTime(context.Background(), names, opt)
	det, err := detect.New(detect.Options{Lateness: detectLateness})
	if err != nil {
		t.Fatal(err)
	}
	idx := NewIndex()
	if _, err := ingest.Read(context.Background(), names, opt, ingest.Handlers{Event: func(ev *event.Event) error {
		det.Process(ev)
		idx.Add(ev)
		return nil
	}}); err != nil {
		t.Fatal(err)
	}
	det.Flush()
	return &hunted{findings: det.Findings(), index: idx, truth: c.Truth}
}

// detectLateness is hunt's default for logs at rest.
const detectLateness = 24 * 3600 * 1e9

func (h *hunted) find(t *testing.T, rule string) finding.Finding {
	t.Helper()
	for _, f := range h.findings {
		if f.RuleID == rule {
			return f
		}
	}
	var got []string
	for _, f := range h.findings {
		got = append(got, f.RuleID)
	}
	t.Fatalf("no %s finding; have %v", rule, got)
	return finding.Finding{}
}
