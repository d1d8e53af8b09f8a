package emulate

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/revertwatch/revertwatch/event"
)

// The same seed gives the same bytes, gzip streams included; another seed
// gives other ids.
func TestDeterministic(t *testing.T) {
	opt := Options{Seed: 42, Noise: 50}
	a, err := Generate(opt)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Generate(opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Files) != len(b.Files) {
		t.Fatalf("%d files, then %d", len(a.Files), len(b.Files))
	}
	for i := range a.Files {
		if a.Files[i].Path != b.Files[i].Path || !bytes.Equal(a.Files[i].Data, b.Files[i].Data) {
			t.Fatalf("%s: differs between two runs with the same seed", a.Files[i].Path)
		}
	}
	if !bytes.Equal(a.Truth.Marshal(), b.Truth.Marshal()) {
		t.Fatal("truth.json differs between two runs with the same seed")
	}
	opt.Seed = 43
	c, err := Generate(opt)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a.Truth.Marshal(), c.Truth.Marshal()) {
		t.Fatal("seeds 42 and 43 wrote the same truth.json")
	}
}

// A scenario's ids do not depend on which other scenarios are selected.
func TestSelectionDoesNotChangeIDs(t *testing.T) {
	all, err := Generate(Options{Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	one, err := Generate(Options{Seed: 9, Scenarios: []string{"aws-seed2-volume-from-snapshot"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range all.Truth.Scenarios {
		if s.ID == one.Truth.Scenarios[0].ID {
			if strings.Join(s.Resources, " ") != strings.Join(one.Truth.Scenarios[0].Resources, " ") {
				t.Fatalf("resources %v alone, %v with the others", one.Truth.Scenarios[0].Resources, s.Resources)
			}
			return
		}
	}
	t.Fatal("scenario not found")
}

// Gzip headers carry no name and no time.
func TestGzipHeaderFixed(t *testing.T) {
	c, err := Generate(Options{Seed: 1, Scenarios: []string{"aws-seed1-*"}, Shapes: []Shape{event.FormatCloudTrailRecords}})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range c.Files {
		h := f.Data[:10]
		if h[0] != 0x1f || h[1] != 0x8b || h[3]&0x08 != 0 || !bytes.Equal(h[4:8], []byte{0, 0, 0, 0}) {
			t.Errorf("%s: gzip header % x carries a name or a time", f.Path, h)
		}
	}
}

// The scale corpus does not depend on the number of workers.
func TestScaleDeterministic(t *testing.T) {
	read := func(dir string) map[string][]byte {
		out := map[string][]byte{}
		filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				rel, _ := filepath.Rel(dir, p)
				out[rel], _ = os.ReadFile(p)
			}
			return err
		})
		return out
	}
	for _, o := range Orders() {
		var runs []map[string][]byte
		for _, w := range []int{1, 4} {
			dir := t.TempDir()
			if _, err := WriteScale(dir, ScaleOptions{Options: Options{Seed: 2, Scenarios: []string{"aws-seed1-*"}, Order: o, Span: 2 * Day},
				Events: 3000, AzureEvents: 100, Files: 5, Workers: w}); err != nil {
				t.Fatal(err)
			}
			runs = append(runs, read(dir))
		}
		if len(runs[0]) != len(runs[1]) {
			t.Fatalf("%s: %d files with one worker, %d with four", o, len(runs[0]), len(runs[1]))
		}
		for p, data := range runs[0] {
			if !bytes.Equal(data, runs[1][p]) {
				t.Errorf("%s: %s: differs between one and four workers", o, p)
			}
		}
	}
}

// Late delivery: in every seed scenario with a late first step, the
// CloudTrail file holding the later step is named before the file holding
// the earlier one.
func TestLateStepInLaterFile(t *testing.T) {
	c, err := Generate(Options{Seed: 1, Scenarios: []string{"aws-seed*"}, Shapes: []Shape{event.FormatCloudTrailRecords}})
	if err != nil {
		t.Fatal(err)
	}
	byScenario := map[string][]File{}
	for _, f := range c.Files {
		id := strings.Split(f.Path, "/")[1]
		byScenario[id] = append(byScenario[id], f)
	}
	byID := map[string]*Scenario{}
	for _, s := range Catalog() {
		byID[s.ID] = s
	}
	for id, files := range byScenario {
		s := byID[id]
		sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
		first := func(op string) int {
			for i, f := range files {
				if bytes.Contains(gunzip(t, f.Data), []byte(`"eventName":"`+op+`"`)) {
					return i
				}
			}
			return -1
		}
		if !s.Calls[0].Late {
			continue
		}
		early, later := first(s.Calls[0].Op), first(s.Calls[1].Op)
		if early <= later {
			t.Errorf("%s: %s (late) in file %d, %s in file %d: want the later step in the earlier-named file",
				id, s.Calls[0].Op, early, s.Calls[1].Op, later)
		}
	}
}
