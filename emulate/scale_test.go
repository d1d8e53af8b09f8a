package emulate

import (
	"path/filepath"
	"testing"

	"github.com/revertwatch/revertwatch/event"
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
