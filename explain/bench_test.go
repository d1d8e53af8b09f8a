package explain

import (
	"context"
	"testing"

	"github.com/revertwatch/revertwatch/emulate"
	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/ingest"
)

// benchCorpus is every scenario among 20000 background calls per provider,
// in CloudTrail S3 files and Azure Storage blobs.
func benchCorpus(b *testing.B) (*memCorpus, int) {
	b.Helper()
	c := newMemCorpus(b, emulate.Options{Seed: 7, Noise: 20000,
		Shapes: []emulate.Shape{event.FormatCloudTrailRecords, event.FormatAzureStorage}})
	sum, err := ingest.Read(context.Background(), c.names, c.opt, ingest.Handlers{})
	if err != nil {
		b.Fatal(err)
	}
	return c, sum.Events
}

// BenchmarkExplain builds the bundles of every finding from an index of
// every call: what the postings cost, with no walk over the whole index
// per question. events/s counts the indexed calls per second of building
// all the bundles.
func BenchmarkExplain(b *testing.B) {
	c, _ := benchCorpus(b)
	fs, _ := c.hunt(b)
	x := c.full(b)
	x.sort()
	for b.Loop() {
		for _, f := range fs {
			x.Explain(f, Options{})
		}
	}
	b.ReportMetric(float64(x.Len())*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(len(fs))*float64(b.N)/b.Elapsed().Seconds(), "bundles/s")
}

// BenchmarkBuild builds the bundles of every finding as 'hunt --explain'
// does once the findings are known: a second read of the logs keeping
// only what the bundles can need. events/s counts the calls read.
func BenchmarkBuild(b *testing.B) {
	c, events := benchCorpus(b)
	fs, col := c.collect(b)
	var st BuildStats
	for b.Loop() {
		var err error
		if _, st, err = Build(context.Background(), fs, col.links, col.facts, c.names, c.opt, Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(st.Entries), "kept")
	b.ReportMetric(float64(st.Reads), "reads")
	b.ReportMetric(float64(st.Skipped), "files-skipped")
}
