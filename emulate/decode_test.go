package emulate

import (
	"context"

	"path/filepath"
	"testing"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/ingest"
)

// readDir decodes every file under dir with ingest and returns the events
// by format and the summary, failing the test on any reject or error.
func readDir(t *testing.T, dir string) (map[event.Format][]*event.Event, ingest.Summary) {
	t.Helper()
	inputs, err := ingest.Expand([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	got := map[event.Format][]*event.Event{}
	sum, err := ingest.Read(context.Background(), inputs, ingest.Options{}, ingest.Handlers{
		Event: func(ev *event.Event) error {
			got[ev.Format] = append(got[ev.Format], ev)
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
	return got, sum
}

func writeCorpus(t *testing.T, c *Corpus) string {
	t.Helper()
	dir := t.TempDir()
	if err := c.Write(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Every scenario decodes in every shape with no rejects, in the format of
// its shape, with the number of events truth.json promises, and every
// event of a scenario names the scenario's account.
func TestEveryScenarioDecodesInEveryShape(t *testing.T) {
	c, err := Generate(Options{Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	dir := writeCorpus(t, c)
	for _, st := range c.Truth.Scenarios {
		want := AWSShapes
		switch st.Provider {
		case event.Azure:
			want = AzureShapes
		case event.GCP:
			want = GCPShapes
		}
		if len(st.Shapes) != len(want) {
			t.Errorf("%s: written in %d shapes, want %d", st.ID, len(st.Shapes), len(want))
		}
		for _, sh := range st.Shapes {
			got, sum := readDir(t, filepath.Join(dir, string(sh.Shape), st.ID))
			if sum.Rejected != 0 || sum.FileErrors != 0 {
				t.Errorf("%s/%s: %d rejected, %d file errors", st.ID, sh.Shape, sum.Rejected, sum.FileErrors)
			}
			if sum.Events != sh.Events {
				t.Errorf("%s/%s: read %d events, truth says %d", st.ID, sh.Shape, sum.Events, sh.Events)
			}
			if len(got[sh.Shape]) != sum.Events {
				t.Errorf("%s/%s: %d of %d events in format %s", st.ID, sh.Shape, len(got[sh.Shape]), sum.Events, sh.Shape)
			}
			for _, ev := range got[sh.Shape] {
				if ev.Provider != st.Provider {
					t.Errorf("%s/%s: event of provider %s", st.ID, sh.Shape, ev.Provider)
				}
				if len(ev.Notes) > 0 {
					t.Errorf("%s/%s: %s: decoder notes %q", st.ID, sh.Shape, ev.Operation, ev.Notes)
				}
				if ev.Time.IsZero() || ev.UID == "" || ev.Operation == "" || ev.Caller == "" {
					t.Errorf("%s/%s: event lacks time, uid, operation or caller: %+v", st.ID, sh.Shape, ev)
				}
			}
		}
	}
}

// The expected event counts: one CloudTrail event per call (and one more
// per duplicate in S3; none for read-only calls in EventBridge); per
// Azure call, three records (Start, Accept, and Success or Failure), one
// fewer when the terminal record was not kept; per Google Cloud call, its
// first and last entries.
func TestEventCounts(t *testing.T) {
	c, err := Generate(Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]*Scenario{}
	for _, s := range Catalog() {
		byID[s.ID] = s
	}
	for _, st := range c.Truth.Scenarios {
		s := byID[st.ID]
		dups, reads := 0, 0
		for _, call := range s.Calls {
			if call.Dup {
				dups++
			}
			if s.Provider == event.AWS && awsOps[call.Op].readOnly {
				reads++
			}
		}
		for _, sh := range st.Shapes {
			want := len(s.Calls)
			switch sh.Shape {
			case event.FormatCloudTrailRecords:
				want += dups
			case event.FormatCloudTrailEventBridge:
				want -= reads
			}
			if s.Provider == event.Azure {
				want = 0
				for i := range s.Calls {
					want += azPhaseCount(&s.Calls[i])
				}
			}
			if s.Provider == event.GCP {
				// A long-running operation's first and last entries; one
				// ERROR entry for a failed call; the first only with
				// NoEnd; Pub/Sub delivers a duplicated call twice.
				want = 0
				for _, call := range s.Calls {
					n := 2
					if call.Error != "" || call.NoEnd {
						n = 1
					}
					if call.Dup && sh.Shape == event.FormatGCPPubSub {
						n *= 2
					}
					want += n
				}
			}
			if sh.Events != want {
				t.Errorf("%s/%s: %d events, want %d", st.ID, sh.Shape, sh.Events, want)
			}
		}
	}
}
