package tune_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/revertwatch/revertwatch/detect"
	"github.com/revertwatch/revertwatch/emulate"
	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/finding"
	"github.com/revertwatch/revertwatch/ingest"
	"github.com/revertwatch/revertwatch/tune"
)

// End to end over the emulated telemetry of the seed's scenarios: with the
// example config, every benign look-alike that fires is suppressed by a
// documented entry, and no revert scenario is suppressed — the example
// hides no attack.
func TestExampleConfigOverEmulatedScenarios(t *testing.T) {
	clock := func() time.Time { return time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC) }
	for _, sc := range emulate.Catalog() {
		t.Run(sc.ID, func(t *testing.T) {
			cfg, err := tune.Load("../examples/revertwatch.yaml", tune.WithClock(clock))
			if err != nil {
				t.Fatal(err)
			}
			corpus, err := emulate.Generate(emulate.Options{Seed: 1, Scenarios: []string{sc.ID},
				Shapes: []emulate.Shape{event.FormatCloudTrailLines, event.FormatAzureStorage}})
			if err != nil {
				t.Fatal(err)
			}
			files := map[string][]byte{}
			var names []string
			for _, f := range corpus.Files {
				if strings.HasSuffix(f.Path, "truth.json") {
					continue
				}
				files[f.Path] = f.Data
				names = append(names, f.Path)
			}
			if len(names) == 0 {
				t.Skip("no file in the selected shapes")
			}
			type outcome struct {
				f finding.Finding
				d tune.Decision
			}
			var got []outcome
			det, err := detect.New(detect.Options{Lateness: 48 * time.Hour, Config: cfg,
				OnFinding: func(f finding.Finding, d tune.Decision) { got = append(got, outcome{f, d}) }})
			if err != nil {
				t.Fatal(err)
			}
			_, err = ingest.Read(context.Background(), names, ingest.Options{Jobs: 1,
				Open: func(name string) (io.ReadCloser, error) {
					b, ok := files[name]
					if !ok {
						return nil, os.ErrNotExist
					}
					return io.NopCloser(bytes.NewReader(b)), nil
				}},
				ingest.Handlers{Event: func(ev *event.Event) error { det.Process(ev); return nil }})
			if err != nil {
				t.Fatal(err)
			}
			det.Flush()
			truth := corpus.Truth.Scenarios[0]
			for _, o := range got {
				desc := fmt.Sprintf("%s by %s: %v %q", o.f.RuleID, o.f.Actor.Caller, o.d.Action, o.d.Entry)
				switch truth.Kind {
				case emulate.KindRevert:
					if o.f.Suppressed || !o.d.Emit() {
						t.Errorf("the example config hides an attack: %s", desc)
					}
				case emulate.KindBenign:
					if !o.f.Suppressed || o.d.Entry == "" {
						t.Errorf("benign look-alike not suppressed by a documented entry: %s", desc)
					}
				}
				t.Log(desc)
			}
		})
	}
}
