package gencorpus

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
)

func TestGenerateIsDeterministicAndValid(t *testing.T) {
	opt := Options{Seed: 7, CloudTrailEvents: 3000, CloudTrailFiles: 4, AzureRecords: 900, AzureBlobs: 2, Jobs: 3}
	a, b := opt, opt
	a.Dir, b.Dir = t.TempDir(), t.TempDir()
	ra, err := Generate(a)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Generate(b); err != nil {
		t.Fatal(err)
	}
	if len(ra.CloudTrail) != 4 || len(ra.Azure) != 2 {
		t.Fatalf("%d CloudTrail files, %d Azure blobs", len(ra.CloudTrail), len(ra.Azure))
	}
	for _, f := range append(ra.CloudTrail, ra.Azure...) {
		rel, _ := filepath.Rel(a.Dir, f.Path)
		x, err := os.ReadFile(f.Path)
		if err != nil {
			t.Fatal(err)
		}
		y, err := os.ReadFile(filepath.Join(b.Dir, rel))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(x, y) {
			t.Errorf("%s differs between two runs with one seed", rel)
		}
	}

	var ct int
	for _, f := range ra.CloudTrail {
		if !strings.Contains(f.Path, "/CloudTrail/") || !strings.HasSuffix(f.Path, ".json.gz") {
			t.Errorf("unexpected CloudTrail path %s", f.Path)
		}
		var file struct{ Records []map[string]any }
		plain := gunzip(t, f.Path)
		if int64(len(plain)) != f.Bytes {
			t.Errorf("%s: %d bytes, reported %d", f.Path, len(plain), f.Bytes)
		}
		if err := json.Unmarshal(plain, &file); err != nil {
			t.Fatalf("%s: %v", f.Path, err)
		}
		for _, r := range file.Records {
			if r["eventName"] == nil || r["eventTime"] == nil || r["userIdentity"] == nil {
				t.Fatalf("record without the basics: %v", r)
			}
			if r["errorCode"] != nil && r["responseElements"] != nil {
				t.Fatalf("failed call with a response: %v", r)
			}
		}
		ct += len(file.Records)
	}
	if ct != 3000 {
		t.Errorf("%d CloudTrail records, want 3000", ct)
	}

	var az int
	for _, f := range ra.Azure {
		if filepath.Base(f.Path) != "PT1H.json" || !strings.Contains(f.Path, "insights-activity-logs/resourceId=/SUBSCRIPTIONS/") {
			t.Errorf("unexpected Azure path %s", f.Path)
		}
		fh, err := os.Open(f.Path)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Fatalf("%s line %d: %v", f.Path, az+1, err)
			}
			az++
		}
		fh.Close()
	}
	if az != 900 {
		t.Errorf("%d Azure records, want 900", az)
	}
}

func TestAzureShapesAreJSON(t *testing.T) {
	g := NewAzure(1, Subscriptions[0], Options{}.Start)
	for _, shape := range []AzureShape{AzureExport, AzureREST, AzureLogAnalytics} {
		for range 200 {
			rec := g.AppendRecord(nil, shape)
			if !json.Valid(rec) {
				t.Fatalf("shape %d: not JSON: %s", shape, rec)
			}
		}
	}
}

func gunzip(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
