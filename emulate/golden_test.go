package emulate

import (
	"bytes"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// goldenOptions is the small set pinned byte for byte: the seed's four
// tests in every AWS and Azure shape, and a little noise. The Google
// Cloud shapes are left out: the Cloud Storage sink's object names hold
// ':' (HH:00:00_HH:59:59_S0.json), which Go module paths do not allow;
// TestDeterministic covers them.
var goldenOptions = Options{Seed: 1, Noise: 6, Scenarios: []string{"aws-seed*", "azure-seed3-*"},
	Shapes: append(append([]Shape(nil), AWSShapes...), AzureShapes...)}

// TestGolden pins the generator's output: every file (gzip files by their
// content) and truth.json. A change to the generator shows as a diff under
// testdata/golden; run with -update to accept it.
func TestGolden(t *testing.T) {
	c, err := Generate(goldenOptions)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]byte{"truth.json.golden": c.Truth.Marshal()}
	for _, f := range c.Files {
		data := f.Data
		if strings.HasSuffix(f.Path, ".gz") {
			data = gunzip(t, data)
		}
		want[f.Path+".golden"] = data
	}
	root := filepath.Join("testdata", "golden")
	if *update {
		if err := os.RemoveAll(root); err != nil {
			t.Fatal(err)
		}
		for p, data := range want {
			if err := writeFile(root, p, data); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	seen := 0
	err = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		exp, ok := want[rel]
		if !ok {
			t.Errorf("%s: golden file no longer generated (run go test ./emulate -update)", rel)
			return nil
		}
		seen++
		got, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if !bytes.Equal(got, exp) {
			t.Errorf("%s: output differs from the golden file (run go test ./emulate -update and review the diff)", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen != len(want) {
		t.Errorf("%d files generated, %d golden files: run go test ./emulate -update", len(want), seen)
	}
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
