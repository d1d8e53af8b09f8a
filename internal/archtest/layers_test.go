package archtest

import (
	"bufio"
	"go/ast"
	"os"
	"path"
	"slices"
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
	walkSource(t, root, func(rel string, f *ast.File) {
		pkg := path.Dir(rel)
		if _, ok := out[pkg]; !ok {
			out[pkg] = nil
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if dep, ok := strings.CutPrefix(p, module); ok && !slices.Contains(out[pkg], dep) {
				out[pkg] = append(out[pkg], dep)
			}
		}
	})
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
