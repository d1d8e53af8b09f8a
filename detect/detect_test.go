package detect_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/revertwatch/revertwatch/attack"
	"github.com/revertwatch/revertwatch/detect"
	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/finding"
	"github.com/revertwatch/revertwatch/ingest"
	"github.com/revertwatch/revertwatch/level"
	"github.com/revertwatch/revertwatch/tune"
)

func hunt(t *testing.T, inputs []string, cfg *tune.Config) ([]finding.Finding, detect.Summary) {
	t.Helper()
	d, err := detect.New(detect.Options{Lateness: 24 * time.Hour, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	_, err = ingest.Read(context.Background(), inputs, ingest.Options{Jobs: 2}, ingest.Handlers{
		Event: func(ev *event.Event) error { d.Process(ev); return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	d.Flush()
	return d.Findings(), d.Summary()
}

func ids(fs []finding.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.RuleID+" "+f.ID)
	}
	return out
}

// TestStableAcrossInputOrder: the same logs read in the opposite file order
// give the same findings with the same ids, in the same output order.
func TestStableAcrossInputOrder(t *testing.T) {
	inputs, err := ingest.Expand([]string{"../testdata/formats"})
	if err != nil {
		t.Fatal(err)
	}
	inputs = withoutConsole(inputs)
	fwd, sum := hunt(t, inputs, nil)
	rev := slices.Clone(inputs)
	slices.Reverse(rev)
	back, _ := hunt(t, rev, nil)
	if len(fwd) < 5 || !slices.Equal(ids(fwd), ids(back)) {
		t.Fatalf("forward %v\nreverse %v", ids(fwd), ids(back))
	}
	if sum.Findings != len(fwd) || sum.ByRule["aws-stop-start"] != 1 || sum.Engine.Duplicates == 0 {
		t.Errorf("summary %+v", sum)
	}
	for _, f := range fwd {
		_, sevOK := level.Parse(f.Severity)
		conf, confOK := level.Parse(f.Confidence)
		if f.Tactic != attack.DefenseEvasion.Name || f.Technique != attack.RevertCloudInstance.SubTechnique.ID || len(f.Evidence) == 0 || len(f.NextSteps) == 0 ||
			f.Actor.Caller == "" || f.FirstSeen.After(f.LastSeen) || !sevOK || !confOK || conf.Confidence() != conf {
			t.Errorf("incomplete finding %+v", f)
		}
	}
}

// withoutConsole leaves out the console CSV downloads, whose stop-start
// is another instance's (ingest/console.go; TestHuntConsoleCSV).
func withoutConsole(inputs []string) []string {
	return slices.DeleteFunc(inputs, func(s string) bool { return strings.Contains(filepath.ToSlash(s), "/console/") })
}

func TestDropIsCounted(t *testing.T) {
	cfg, err := tune.Parse("drop.yaml", []byte(`
allow:
  - name: drop-ops-admin
    reason: test
    rules: [aws-stop-start]
    action: drop
    match:
      principal: "arn:aws:sts::111122223333:assumed-role/OpsAdmin/*"
      account: "111122223333"
`))
	if err != nil {
		t.Fatal(err)
	}
	inputs, _ := ingest.Expand([]string{"../testdata/formats"})
	inputs = withoutConsole(inputs)
	fs, sum := hunt(t, inputs, cfg)
	for _, f := range fs {
		if f.RuleID == "aws-stop-start" {
			t.Fatal("dropped finding emitted")
		}
	}
	if sum.Dropped != 1 {
		t.Errorf("dropped %d, want 1", sum.Dropped)
	}
	if len(detect.RuleIDs()) != 24 {
		t.Errorf("rule ids %v", detect.RuleIDs())
	}
}
