package query_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/ingest"
	"github.com/revertwatch/revertwatch/query"
	"github.com/revertwatch/revertwatch/query/syntax"
)

var update = flag.Bool("update", false, "rewrite the output and error sections of testdata/*.txtar")

// archive is a txtar file: a comment, then "-- name --" sections. A tiny
// reader is enough here; golang.org/x/tools would be a large dependency
// for forty lines.
type archive struct {
	comment string
	files   []archiveFile
}

type archiveFile struct {
	name string
	data string
}

func parseArchive(data string) *archive {
	a := &archive{}
	cur := -1
	var b strings.Builder
	flush := func() {
		if cur < 0 {
			a.comment = b.String()
		} else {
			a.files[cur].data = b.String()
		}
		b.Reset()
	}
	for _, line := range strings.SplitAfter(data, "\n") {
		t := strings.TrimRight(line, "\r\n")
		if strings.HasPrefix(t, "-- ") && strings.HasSuffix(t, " --") && len(t) > 6 {
			flush()
			a.files = append(a.files, archiveFile{name: strings.TrimSpace(t[3 : len(t)-3])})
			cur = len(a.files) - 1
			continue
		}
		b.WriteString(line)
	}
	flush()
	return a
}

func (a *archive) format() string {
	var b strings.Builder
	b.WriteString(a.comment)
	for _, f := range a.files {
		fmt.Fprintf(&b, "-- %s --\n", f.name)
		b.WriteString(f.data)
		if f.data != "" && !strings.HasSuffix(f.data, "\n") {
			b.WriteByte('\n')
		}
	}
	return b.String()
}

func (a *archive) get(name string) (string, bool) {
	for _, f := range a.files {
		if f.name == name {
			return f.data, true
		}
	}
	return "", false
}

func (a *archive) set(name, data string) {
	for i := range a.files {
		if a.files[i].name == name {
			a.files[i].data = data
			return
		}
	}
	a.files = append(a.files, archiveFile{name: name, data: data})
}

func (a *archive) remove(name string) {
	out := a.files[:0]
	for _, f := range a.files {
		if f.name != name {
			out = append(out, f)
		}
	}
	a.files = out
}

// opts reads the "opts" section: key: value lines.
func (a *archive) opts() map[string]string {
	m := map[string]string{}
	s, _ := a.get("opts")
	for _, line := range strings.Split(s, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok {
			m[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return m
}

// readEvents decodes input files with the real ingest path, so that the
// seed aliases are those a user gets.
func readEvents(t testing.TB, _ string, names []string, opt ingest.Options) []*event.Event {
	t.Helper()
	var evs []*event.Event
	opt.Jobs = 1
	_, err := ingest.Read(context.Background(), names, opt, ingest.Handlers{
		Event: func(ev *event.Event) error { evs = append(evs, ev); return nil },
		Diag:  func(d ingest.Diag) { t.Logf("ingest: %s", d.String()) },
	})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func runArchive(t *testing.T, a *archive) (output, errText string) {
	src, ok := a.get("query")
	if !ok {
		t.Fatal("no query section")
	}
	src = strings.TrimSuffix(src, "\n")
	o := a.opts()
	opts := query.DefaultOptions()
	if d, ok := query.ParseDialect(o["dialect"]); ok {
		opts.Dialect = d
	}
	if o["aliases"] == "off" {
		opts.NoSeedAliases = true
	}
	if o["null-groups"] == "drop" {
		opts.Semantics.KeepNullGroups = false
	}
	dir := t.TempDir()
	opts.LookupDir = dir
	var inputs []string
	for i, f := range a.files {
		switch {
		case strings.HasPrefix(f.name, "input"):
			p := filepath.Join(dir, fmt.Sprintf("%02d-%s", i, f.name))
			if err := os.WriteFile(p, []byte(f.data), 0o644); err != nil {
				t.Fatal(err)
			}
			inputs = append(inputs, p)
		case strings.HasSuffix(f.name, ".csv"):
			if err := os.WriteFile(filepath.Join(dir, f.name), []byte(f.data), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	prog, err := query.Compile(src, opts)
	if err != nil {
		return "", err.Error() + "\n"
	}
	checkRoundTrip(t, src)
	evs := readEvents(t, dir, inputs, ingest.Options{SourceHost: o["source-host"], SourceCategory: o["source-category"]})
	res := prog.RunEvents(evs)
	var buf bytes.Buffer
	switch o["format"] {
	case "table":
		err = res.WriteTable(&buf)
	case "csv":
		err = res.WriteCSV(&buf)
	default:
		err = res.WriteJSON(&buf)
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(&buf, "warning: %s\n", w)
	}
	return buf.String(), ""
}

// checkRoundTrip asserts that String prints a query that parses to the
// same tree: printing it again gives the same text.
func checkRoundTrip(t testing.TB, src string) {
	t.Helper()
	q, err := syntax.Parse(src)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	s1 := q.String()
	q2, err := syntax.Parse(s1)
	if err != nil {
		t.Fatalf("reparse of %q: %v", s1, err)
	}
	if s2 := q2.String(); s1 != s2 {
		t.Fatalf("String round trip differs:\n%s\n---\n%s", s1, s2)
	}
}

func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txtar")
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	if len(files) == 0 {
		t.Fatal("no golden files")
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			a := parseArchive(string(data))
			out, errText := runArchive(t, a)
			if *update {
				if errText != "" {
					a.remove("output")
					a.set("error", errText)
				} else {
					a.remove("error")
					a.set("output", out)
				}
				if err := os.WriteFile(file, []byte(a.format()), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			wantErr, isErr := a.get("error")
			if isErr {
				if errText != wantErr {
					t.Errorf("error mismatch\n got:\n%s\nwant:\n%s", errText, wantErr)
				}
				return
			}
			if errText != "" {
				t.Fatalf("unexpected error:\n%s", errText)
			}
			want, _ := a.get("output")
			if out != want {
				t.Errorf("output mismatch\n got:\n%s\nwant:\n%s", out, want)
			}
		})
	}
}
