package query_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/revertwatch/revertwatch/content"
	"github.com/revertwatch/revertwatch/ingest"
	"github.com/revertwatch/revertwatch/query"
)

// corpusFiles lists JSON files under the shared corpus, or skips.
func corpusFiles(t *testing.T, dir string) []string {
	t.Helper()
	root := filepath.Join("..", "..", "shared", "corpus", dir)
	if _, err := os.Stat(root); err != nil {
		t.Skipf("shared corpus not available at %s (%v): these tests read ../shared/corpus next to the repository", root, err)
	}
	var files []string
	filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() && strings.HasSuffix(p, ".json") {
			files = append(files, p)
		}
		return nil
	})
	if len(files) == 0 {
		t.Skipf("no JSON files under %s", root)
	}
	return files
}

// TestSeedOnCorpus runs the seed over real published records: it must
// not fail on any record, must give the same rows twice, and must find
// the snapshot calls of the OTRF EC2 exfiltration dataset.
func TestSeedOnCorpus(t *testing.T) {
	seed, _ := content.Query("t1578.004-sumo")
	p, err := query.Compile(seed.Text, query.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{"microsoft-docs-activity-log-schema", "otel-collector-contrib-azurelogs", "otrf-security-datasets-aws", "aws-cloudtrail-processing-library-tests"} {
		t.Run(dir, func(t *testing.T) {
			files := corpusFiles(t, dir)
			evs := readEvents(t, "", files, ingest.Options{})
			var out [2]bytes.Buffer
			for i := range out {
				res := p.RunEvents(evs)
				if res.Stats.BadRecords != 0 {
					t.Errorf("%d bad records", res.Stats.BadRecords)
				}
				if err := res.WriteJSON(&out[i]); err != nil {
					t.Fatal(err)
				}
			}
			if out[0].String() != out[1].String() {
				t.Error("two runs differ")
			}
			t.Logf("%d events, %d rows", len(evs), strings.Count(out[0].String(), "\n"))
			if dir == "otrf-security-datasets-aws" && !strings.Contains(out[0].String(), `"Operations":["DescribeSnapshots"]`) {
				t.Errorf("the OTRF EC2 dataset should give a DescribeSnapshots row:\n%s", out[0].String())
			}
		})
	}
}
