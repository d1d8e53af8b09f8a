// Package emutest decodes emulated corpora for tests: the files
// emulate.Generate writes, read in memory through ingest.Read as the
// commands read files on disk.
package emutest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"testing"

	"github.com/revertwatch/revertwatch/emulate"
	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/ingest"
)

// Files generates the corpus opt describes and serves its files from
// memory: the corpus, the files' names in the order Generate lists them,
// and an Open for ingest.Options that refuses any other name
// (os.ErrNotExist). A generation error fails t.
func Files(t testing.TB, opt emulate.Options) (*emulate.Corpus, []string, func(string) (io.ReadCloser, error)) {
	t.Helper()
	corpus, err := emulate.Generate(opt)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	var names []string
	for _, f := range corpus.Files {
		files[f.Path] = f.Data
		names = append(names, f.Path)
	}
	return corpus, names, func(name string) (io.ReadCloser, error) {
		b, ok := files[name]
		if !ok {
			return nil, fmt.Errorf("%s: %w", name, os.ErrNotExist)
		}
		return io.NopCloser(bytes.NewReader(b)), nil
	}
}

// Events generates the corpus opt describes and returns its events, read
// by one decoder in the order Generate lists the files. A generation or
// read error fails t.
func Events(t testing.TB, opt emulate.Options) []*event.Event {
	t.Helper()
	_, names, open := Files(t, opt)
	var evs []*event.Event
	_, err := ingest.Read(context.Background(), names, ingest.Options{Jobs: 1, Open: open},
		ingest.Handlers{Event: func(ev *event.Event) error { evs = append(evs, ev); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}
