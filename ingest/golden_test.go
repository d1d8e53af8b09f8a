package ingest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/ingest"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

const formatsDir = "../testdata/formats"

// readAll decodes inputs with one job and returns the events, diagnostics
// and per-file stats in order.
func readAll(t *testing.T, opt ingest.Options, inputs ...string) ([]*event.Event, []ingest.Diag, []ingest.FileStats, ingest.Summary) {
	t.Helper()
	var evs []*event.Event
	var diags []ingest.Diag
	var files []ingest.FileStats
	sum, err := ingest.Read(context.Background(), inputs, opt, ingest.Handlers{
		Event: func(ev *event.Event) error { evs = append(evs, ev); return nil },
		Diag:  func(d ingest.Diag) { diags = append(diags, d) },
		File:  func(s ingest.FileStats) { files = append(files, s) },
	})
	if err != nil {
		t.Fatal(err)
	}
	return evs, diags, files, sum
}

// TestGoldenFormats decodes every hand-written fixture under
// testdata/formats and compares the normalized events, diagnostics and
// stats with testdata/golden. Run with -update after an intended change.
func TestGoldenFormats(t *testing.T) {
	inputs, err := ingest.Expand([]string{formatsDir})
	if err != nil {
		t.Fatal(err)
	}
	if len(inputs) < 10 {
		t.Fatalf("expected the fixture tree, found %d files", len(inputs))
	}
	for _, in := range inputs {
		rel, _ := filepath.Rel(formatsDir, in)
		t.Run(rel, func(t *testing.T) {
			evs, diags, files, _ := readAll(t, ingest.Options{Jobs: 1}, in)
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			for _, ev := range evs {
				ev.Source.Name = filepath.ToSlash(rel)
				if err := enc.Encode(ev); err != nil {
					t.Fatal(err)
				}
			}
			for _, d := range diags {
				d.File = filepath.ToSlash(rel)
				enc.Encode(d)
			}
			for _, s := range files {
				s.File = filepath.ToSlash(rel)
				enc.Encode(s)
			}
			golden := filepath.Join("..", "testdata", "golden", "formats", rel+".golden")
			if *update {
				os.MkdirAll(filepath.Dir(golden), 0o755)
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./ingest -run TestGoldenFormats -update)", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				got := strings.Split(buf.String(), "\n")
				wl := strings.Split(string(want), "\n")
				for i := range got {
					if i >= len(wl) || got[i] != wl[i] {
						w := ""
						if i < len(wl) {
							w = wl[i]
						}
						t.Fatalf("line %d differs from %s\n got: %.600s\nwant: %.600s", i+1, golden, got[i], w)
					}
				}
				t.Fatalf("output shorter than %s", golden)
			}
		})
	}
}
