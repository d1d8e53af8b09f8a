package archtest

import (
	"bufio"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/revertwatch/revertwatch/"

// layers reads the ```layers block of ARCHITECTURE.md: package → layer.
func layers(t *testing.T) map[string]int {
	t.Helper()
	f, err := os.Open("../../ARCHITECTURE.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]int{}
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "```layers":
			in = true
		case in && line == "```":
			return out
		case in:
			n, pkgs, ok := strings.Cut(line, ":")
			layer, err := strconv.Atoi(n)
			if !ok || err != nil {
				t.Fatalf("ARCHITECTURE.md: bad layer line %q", line)
			}
			for _, p := range strings.Fields(pkgs) {
				out[p] = layer
			}
		}
	}
	t.Fatal("ARCHITECTURE.md has no ```layers block")
	return nil
}

// imports returns every package of the module under root and the module
// packages its non-test files import.
func imports(t *testing.T, root string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); path != root && (strings.HasPrefix(n, ".") || n == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		file, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		pkg := filepath.ToSlash(rel)
		if _, ok := out[pkg]; !ok {
			out[pkg] = nil
		}
		for _, imp := range file.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if dep, ok := strings.CutPrefix(p, module); ok && !contains(out[pkg], dep) {
				out[pkg] = append(out[pkg], dep)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestLayers: every package is in ARCHITECTURE.md's map, and imports only
// packages of lower layers.
func TestLayers(t *testing.T) {
	layer := layers(t)
	pkgs := imports(t, "../..")
	names := make([]string, 0, len(pkgs))
	for p := range pkgs {
		names = append(names, p)
	}
	sort.Strings(names)
	for _, p := range names {
		if p == "." || strings.HasPrefix(p, "internal/archtest") || strings.HasPrefix(p, "bench/duckdb") {
			continue
		}
		l, ok := layer[p]
		if !ok {
			t.Errorf("package %s is not in ARCHITECTURE.md's layers", p)
			continue
		}
		for _, dep := range pkgs[p] {
			dl, ok := layer[dep]
			if !ok {
				continue // reported as a package of its own
			}
			if dl >= l {
				t.Errorf("%s (layer %d) imports %s (layer %d): a package imports only lower layers", p, l, dep, dl)
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
