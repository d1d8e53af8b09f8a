package ingest_test

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/revertwatch/revertwatch/ingest"
)

// ** in a PATH argument matches any depth, none included (issue 18:
// 'logs/**/*.json.gz' matched nothing).
func TestGlobDoubleStar(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"a.json.gz", "x/b.json.gz", "x/y/c.json.gz", "x/y/c.txt", "x/.hidden/d.json.gz", "z/y/e.json.gz"} {
		writeFile(t, dir, f, []byte("{}"))
	}
	rel := func(ps []string) []string {
		var out []string
		for _, p := range ps {
			r, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(r))
		}
		return out
	}
	for _, tc := range []struct {
		pattern string
		want    []string
	}{
		{"**/*.json.gz", []string{"a.json.gz", "x/b.json.gz", "x/y/c.json.gz", "z/y/e.json.gz"}},
		{"x/**/*.json.gz", []string{"x/b.json.gz", "x/y/c.json.gz"}},
		{"*/**/y/*", []string{"x/y/c.json.gz", "x/y/c.txt", "z/y/e.json.gz"}},
		{"**/y/**/*.txt", []string{"x/y/c.txt"}},
		{"x/**", []string{"x/b.json.gz", "x/y/c.json.gz", "x/y/c.txt"}},
		{"*.json.gz", []string{"a.json.gz"}},
	} {
		got, err := ingest.Glob(filepath.Join(dir, tc.pattern))
		if err != nil {
			t.Fatalf("%s: %v", tc.pattern, err)
		}
		if !reflect.DeepEqual(rel(got), tc.want) {
			t.Errorf("%s: %v, want %v", tc.pattern, rel(got), tc.want)
		}
	}
	if _, err := ingest.Glob(filepath.Join(dir, "**", "[")); err == nil {
		t.Error("a bad pattern after ** is accepted")
	}
	files, err := ingest.Expand([]string{filepath.Join(dir, "x", "**", "*.json.gz")})
	if err != nil || len(files) != 2 {
		t.Errorf("Expand: %v %v", files, err)
	}
	// Relative to the working directory, as typed.
	wd, _ := os.Getwd()
	defer os.Chdir(wd)
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	got, err := ingest.Glob("**/c.*")
	if err != nil || !reflect.DeepEqual(got, []string{"x/y/c.json.gz", "x/y/c.txt"}) {
		t.Errorf("relative: %v %v", got, err)
	}
}
