package ingest

import (
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Glob is filepath.Glob with one more form: a path element that is
// exactly ** matches any number of directories, none included, so that
// 'logs/**/*.json.gz' finds the gzip files at any depth under logs, as
// shells with globstar do; a final ** matches every file below. Names
// starting with a dot are left out below the pattern's fixed part, as a
// walk of a directory argument leaves them out. The matches are sorted
// and each is given once.
func Glob(pattern string) ([]string, error) {
	elems := strings.Split(filepath.ToSlash(pattern), "/")
	star := -1
	for i, e := range elems {
		if e == "**" {
			star = i
			break
		}
	}
	if star < 0 {
		return filepath.Glob(pattern)
	}
	// Check the whole pattern's syntax once, ** read as *.
	if _, err := filepath.Match(strings.ReplaceAll(pattern, "**", "*"), ""); err != nil {
		return nil, err
	}
	head := filepath.FromSlash(strings.Join(elems[:star], "/"))
	rest := filepath.FromSlash(strings.Join(elems[star+1:], "/"))
	if star == 0 {
		head = "."
	} else if head == "" {
		head = string(filepath.Separator) // the pattern started at the root
	}
	bases := []string{head}
	if strings.ContainsAny(head, "*?[") {
		var err error
		if bases, err = filepath.Glob(head); err != nil {
			return nil, err
		}
	}
	seen := map[string]bool{}
	var out []string
	add := func(p string) {
		if star == 0 {
			p = strings.TrimPrefix(p, "."+string(filepath.Separator))
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for _, base := range bases {
		if info, err := os.Stat(base); err != nil || !info.IsDir() {
			continue
		}
		err := filepath.WalkDir(base, func(dir string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil // an unreadable directory matches nothing
			}
			hidden := dir != base && strings.HasPrefix(d.Name(), ".")
			if !d.IsDir() {
				if rest == "" && !hidden {
					add(dir) // a final ** matches the files at every depth
				}
				return nil
			}
			if hidden {
				return filepath.SkipDir
			}
			if rest == "" {
				return nil
			}
			matches, err := Glob(filepath.Join(dir, rest))
			if err != nil {
				return err
			}
			for _, m := range matches {
				add(m)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	sort.Strings(out)
	return out, nil
}
