package ingest_test

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/revertwatch/revertwatch/ingest"
)

// zipOf builds a zip archive of the named members, in order.
func zipOf(t *testing.T, members ...[2]string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, m := range members {
		w, err := zw.Create(m[0])
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(m[1]))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// A zip archive is read directly (issue 18), member by member, positions
// naming the member; what a walk leaves out (directories, hidden files,
// Finder's __MACOSX) is left out.
func TestZipArchiveReadDirectly(t *testing.T) {
	dir := t.TempDir()
	data := zipOf(t,
		[2]string{"export/", ""},
		[2]string{"export/a.json", "{\"Records\":[\n" + ctRecord(0) + ",\n" + ctRecord(1) + "\n]}"},
		[2]string{"export/b.json.gz", string(gzipBytes(t, []byte(ctRecord(2)+"\n"+`{"eventVersion":"1.08","eventName":tru}`+"\n")))},
		[2]string{"export/.DS_Store", "\x00\x00\x00\x01Bud1"},
		[2]string{"__MACOSX/export/._a.json", "\x00\x05\x16\x07"},
		[2]string{"export/c.jsonl", ctRecord(3) + "\n"},
	)
	path := writeFile(t, dir, "console-export.zip", data)
	for _, tc := range []struct {
		name string
		read func() run
	}{
		{"file", func() run { return read(t, []string{path}, ingest.Options{Jobs: 2}) }},
		{"file, partial events", func() run {
			return read(t, []string{path}, ingest.Options{Jobs: 2, Want: func(string, string) bool { return true }})
		}},
		{"stdin", func() run { return readBytes(t, data, ingest.Options{Jobs: 2}) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.read()
			checkIDs(t, r.events, 0, 1, 2, 3)
			archive := path
			if tc.name == "stdin" {
				archive = "-"
			}
			wantNames := []string{"export/a.json", "export/a.json", "export/b.json.gz", "export/c.jsonl"}
			for i, ev := range r.events {
				if ev.Source.Name != archive+"!"+wantNames[i] {
					t.Errorf("event %d named %q, want %q", i, ev.Source.Name, archive+"!"+wantNames[i])
				}
			}
			if r.events[1].Source.Line != 3 || r.events[3].Source.Index != 0 {
				t.Errorf("positions are not the member's: %+v %+v", r.events[1].Source, r.events[3].Source)
			}
			rej := r.diagsOf(ingest.Rejected)
			if len(rej) != 1 || !strings.HasPrefix(rej[0].String(), archive+"!export/b.json.gz:2: rejected: ") {
				t.Errorf("the bad record is not named in its member:\n%s", r.describe())
			}
			if len(r.files) != 1 || r.files[0].File != archive || r.files[0].Records != 5 || r.files[0].Error != "" {
				t.Errorf("the archive is one input of 5 records: %+v", r.files)
			}
		})
	}

	// An archive with nothing to read, and one that is not whole.
	empty := writeFile(t, dir, "empty.zip", zipOf(t, [2]string{"dir/", ""}))
	cut := writeFile(t, dir, "cut.zip", data[:len(data)-30])
	r := read(t, []string{cut, empty}, ingest.Options{})
	ferr := r.diagsOf(ingest.FileErr)
	if len(ferr) != 2 || !strings.Contains(ferr[0].Msg, "a zip archive that cannot be read") || !strings.Contains(ferr[1].Msg, "empty zip archive") {
		t.Errorf("want both named:\n%s", r.describe())
	}
	if _, err := os.Stat(filepath.Join(dir, "console-export.zip")); err != nil {
		t.Fatal(err)
	}
}
