package ingest_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/ingest"
)

// DecodeStream sizes its buffers to an input whose length it knows (a
// bytes.Reader: an HTTP body, a Kafka record, a Pub/Sub message) instead
// of a file's 320 KB. The result is the same as through a reader of
// unknown length, for every committed sample whole, cut in half, and
// with a quote dropped into it (the resync path, which resets the
// scanner's reader onto its source).
func TestDecodeStreamKnownLength(t *testing.T) {
	var files []string
	err := filepath.WalkDir(formatsDir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return err
	})
	if err != nil || len(files) == 0 {
		t.Fatalf("the samples: %v", err)
	}
	decode := func(name string, r io.Reader) string {
		var b strings.Builder
		st, err := ingest.DecodeStream(context.Background(), name, r, ingest.Options{}, ingest.Handlers{
			Event: func(ev *event.Event) error {
				fmt.Fprintln(&b, ev.Format, ev.Time.UnixNano(), ev.Operation, ev.UID, ev.Account, ev.Region, ev.Source.Line)
				return nil
			},
			Diag: func(d ingest.Diag) { fmt.Fprintln(&b, d.String()) },
		})
		fmt.Fprintln(&b, st.Events, st.Records, err)
		return b.String()
	}
	n := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range []struct {
			name string
			data []byte
		}{
			{"whole", data},
			{"half", data[:len(data)/2]},
			{"quote", append(append(append([]byte(nil), data[:len(data)/3]...), '"'), data[len(data)/3:]...)},
		} {
			known := decode(f, bytes.NewReader(v.data))
			unknown := decode(f, struct{ io.Reader }{bytes.NewReader(v.data)})
			if known != unknown {
				t.Errorf("%s (%s): of known length\n%s\nof unknown length\n%s", f, v.name, known, unknown)
			}
			n++
		}
	}
	t.Logf("%d inputs", n)
}
