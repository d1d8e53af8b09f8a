package emulate

import (
	"path/filepath"
	"testing"

	"github.com/revertwatch/revertwatch/event"
)

// Background noise decodes in every shape with the counts truth.json
// gives, and no noise event is one a revert sequence starts with.
func TestNoiseDecodes(t *testing.T) {
	c, err := Generate(Options{Seed: 3, Noise: 150, Scenarios: []string{"aws-seed1-*"}})
	if err != nil {
		t.Fatal(err)
	}
	dir := writeCorpus(t, c)
	if len(c.Truth.Background) != len(AllShapes()) {
		t.Fatalf("background in %d shapes, want %d", len(c.Truth.Background), len(AllShapes()))
	}
	for _, sh := range c.Truth.Background {
		got, sum := readDir(t, filepath.Join(dir, string(sh.Shape), "background"))
		if sum.Events != sh.Events || len(got[sh.Shape]) != sh.Events {
			t.Errorf("%s: read %d events (%d in the shape's format), truth says %d", sh.Shape, sum.Events, len(got[sh.Shape]), sh.Events)
		}
		if sh.Shape != event.FormatCloudTrailEventBridge && sh.Events != 150 {
			t.Errorf("%s: %d events, want 150", sh.Shape, sh.Events)
		}
		for _, ev := range got[sh.Shape] {
			if len(ev.Notes) > 0 {
				t.Errorf("%s: %s: notes %q", sh.Shape, ev.Operation, ev.Notes)
			}
			switch ev.Operation {
			case "StopInstances", "StartInstances", "CreateVolume", "AttachVolume", "RegisterImage", "RunInstances",
				"microsoft.compute/disks/write", "microsoft.compute/virtualmachines/write":
				t.Errorf("%s: noise contains %s", sh.Shape, ev.Operation)
			}
		}
	}
}
