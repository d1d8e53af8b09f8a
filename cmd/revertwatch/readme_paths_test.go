package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Every path in the repository that README names exists (issue 18): a
// word that starts at one of the repository's top-level entries
// (testdata/…, scripts/…, .ci/run, Dockerfile) or a markdown link to a
// local file. Globs must match something; placeholders (<…>, {…}, …) and
// paths a command writes (out/, dist/) are not checked.
func TestReadmePathsExist(t *testing.T) {
	root := filepath.Join("..", "..")
	b, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	top := map[string]bool{}
	for _, e := range entries {
		if e.Name() != ".git" {
			top[e.Name()] = true
		}
	}
	word := regexp.MustCompile(`[A-Za-z0-9_.*/-]+`)
	link := regexp.MustCompile(`\]\(([^)#:]+)\)`)
	var paths []string
	for _, m := range link.FindAllSubmatch(b, -1) {
		paths = append(paths, string(m[1]))
	}
	for _, w := range word.FindAll(b, -1) {
		s := strings.TrimPrefix(string(w), "./")
		s = strings.TrimRight(s, ".,:;")
		if !strings.Contains(s, "/") && strings.HasSuffix(s, ".md") {
			paths = append(paths, s) // a document named alone lives at the root
			continue
		}
		first, _, _ := strings.Cut(s, "/")
		if !top[first] || s == first && !strings.Contains(first, ".") && first != "Dockerfile" {
			continue // a bare word such as "testdata" or "query" is prose
		}
		paths = append(paths, s)
	}
	checked := 0
	for _, p := range paths {
		if strings.ContainsAny(p, "<>{}…") || strings.HasPrefix(p, "/") {
			continue
		}
		p = strings.TrimSuffix(p, "/")
		full := filepath.Join(root, filepath.FromSlash(p))
		checked++
		if strings.Contains(p, "*") {
			if ms, _ := filepath.Glob(strings.ReplaceAll(full, "**", "*")); len(ms) == 0 {
				t.Errorf("README names %s, which matches nothing in the repository", p)
			}
			continue
		}
		if _, err := os.Stat(full); err != nil {
			t.Errorf("README names %s, which is not in the repository", p)
		}
	}
	if checked < 20 {
		t.Errorf("only %d paths checked: the extraction is broken", checked)
	}
}
