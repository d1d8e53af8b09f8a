package ingest_test

// One unbalanced quote loses one record, not the rest of the file
// (issue 18): the scanner re-synchronises at the next record boundary it
// can prove, rejects the damaged record at its own position and reads on.

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/ingest"
)

// sampleRecordsFile is the committed S3 delivery file of nine records, one
// of them the CreateReplaceRootVolumeTask revert, decompressed.
func sampleRecordsFile(t *testing.T) []byte {
	t.Helper()
	matches, err := filepath.Glob(filepath.Join(formatsDir, "cloudtrail/AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/02/*.json.gz"))
	if err != nil || len(matches) != 1 {
		t.Fatalf("the sample S3 file: %v %v", matches, err)
	}
	z, err := os.ReadFile(matches[0])
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(z))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// resyncModes are the ways a file is read: whole events by the workers,
// partial events indexed by the splitter (hunt), query fields, and the
// stream decoder of serve and watch.
var resyncModes = []struct {
	name string
	opt  ingest.Options
}{
	{"full", ingest.Options{Jobs: 2}},
	{"want", ingest.Options{Jobs: 2, Want: func(string, string) bool { return true }}},
	{"query", ingest.Options{Jobs: 2, QueryFields: true}},
	{"stream", ingest.Options{}},
}

// readMode decodes data as the mode reads it.
func readMode(t *testing.T, name string, data []byte, opt ingest.Options) run {
	t.Helper()
	if name != "stream" {
		return readBytes(t, data, opt)
	}
	var r run
	st, err := ingest.DecodeStream(context.Background(), "-", bytes.NewReader(data), opt, ingest.Handlers{
		Event: func(ev *event.Event) error { c := *ev; r.events = append(r.events, &c); return nil },
		Diag:  func(d ingest.Diag) { r.diags = append(r.diags, d) },
	})
	if err != nil {
		t.Fatal(err)
	}
	r.files = []ingest.FileStats{st}
	return r
}

// indexes are the events' record numbers: every mode sets them, and a
// damaged record keeps its number.
func indexes(evs []*event.Event) []int {
	var out []int
	for _, ev := range evs {
		out = append(out, ev.Source.Index)
	}
	return out
}

func TestResyncSampleFileBrokenQuote(t *testing.T) {
	good := sampleRecordsFile(t)
	clean := readBytes(t, good, ingest.Options{Jobs: 1})
	if len(clean.events) != 9 {
		t.Fatalf("the sample has %d events, want 9", len(clean.events))
	}
	// The closing quote of record 3's eventName (AttachVolume) goes.
	at := bytes.Index(good, []byte(`"eventName":"AttachVolume"`)) + len(`"eventName":"AttachVolume`)
	broken := append(append([]byte(nil), good[:at]...), good[at+1:]...)
	var victim *event.Event
	var want []int
	for _, ev := range clean.events {
		if ev.Operation == "AttachVolume" {
			victim = ev
			continue
		}
		want = append(want, ev.Source.Index)
	}
	for _, m := range resyncModes {
		for _, zip := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/gzip=%v", m.name, zip), func(t *testing.T) {
				data := broken
				if zip {
					data = gzipBytes(t, broken)
				}
				r := readMode(t, m.name, data, m.opt)
				if got := indexes(r.events); fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("events %v\nwant %v\n%s", got, want, r.describe())
				}
				rej := r.diagsOf(ingest.Rejected)
				if len(rej) != 1 || len(r.diagsOf(ingest.FileErr)) != 0 {
					t.Fatalf("want one rejected record and no file error\n%s", r.describe())
				}
				d := rej[0]
				if d.Offset != victim.Source.Offset || d.Line != victim.Source.Line || d.Index != victim.Source.Index || d.Reason != "damaged JSON structure" {
					t.Errorf("rejected %v (index %d, reason %q), want at byte %d line %d index %d", d, d.Index, d.Reason,
						victim.Source.Offset, victim.Source.Line, victim.Source.Index)
				}
				next := clean.events[victim.Source.Index+1].Source.Offset - 1 // the damaged record is one byte shorter
				if !strings.Contains(d.Msg, "unbalanced quote") || !strings.Contains(d.Msg, fmt.Sprintf("(byte %d)", next)) ||
					!strings.Contains(d.Msg, fmt.Sprintf("skipped %d bytes", next-victim.Source.Offset)) {
					t.Errorf("message %q does not say what was wrong, how much was skipped and where reading went on (byte %d)", d.Msg, next)
				}
				st := r.files[0]
				if st.Records != 9 || st.Events != 8 || st.NRejected() != 1 || st.Error != "" {
					t.Errorf("stats %+v, want 9 records, 8 events, 1 rejected", st)
				}
			})
		}
	}
}

// TestResyncEveryQuote deletes, in turn, every quote of every record but
// the first and the last (TestResyncLastRecord) of a Records file (one record a line, then the same
// pretty-printed) and inserts a quote before every byte of one record:
// every time, exactly the damaged record is lost, and it is reported at its
// own line and byte.
func TestResyncEveryQuote(t *testing.T) {
	const n = 9
	type file struct {
		name  string
		data  []byte
		start []int // each record's first byte
	}
	var files []file
	for _, pretty := range []bool{false, true} {
		var b bytes.Buffer
		var start []int
		b.WriteString("{\"Records\": [\n")
		for i := range n {
			if i > 0 {
				b.WriteString(",\n")
			}
			if pretty {
				b.WriteString("  ")
			}
			start = append(start, b.Len())
			rec := ctRecord(i)
			if pretty {
				rec = strings.NewReplacer(`,"`, ",\n    \"", `":`, `": `).Replace(rec)
			}
			b.WriteString(rec)
		}
		b.WriteString("\n]}\n")
		files = append(files, file{fmt.Sprintf("pretty=%v", pretty), b.Bytes(), start})
	}
	check := func(t *testing.T, f file, damaged []byte, k int, what string) {
		t.Helper()
		for _, m := range resyncModes[1:2] { // hunt's path; the others share the slow path it falls back to
			r := readMode(t, m.name, damaged, m.opt)
			var want []int
			for i := range n {
				if i != k {
					want = append(want, i)
				}
			}
			if got := indexes(r.events); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("%s %s: records %v decoded, want %v\n%s", f.name, what, got, want, r.describe())
			}
			rej := r.diagsOf(ingest.Rejected)
			line := bytes.Count(f.data[:f.start[k]], []byte{'\n'}) + 1
			if len(rej) != 1 || rej[0].Index != k || rej[0].Offset != int64(f.start[k]) || rej[0].Line != line || len(r.diagsOf(ingest.FileErr)) != 0 {
				t.Fatalf("%s %s: want record %d rejected at line %d byte %d\n%s", f.name, what, k, line, f.start[k], r.describe())
			}
		}
	}
	for _, f := range files {
		for k := 1; k < n-1; k++ {
			for at := f.start[k]; at < f.start[k+1]; at++ {
				if f.data[at] != '"' {
					continue
				}
				damaged := append(append([]byte(nil), f.data[:at]...), f.data[at+1:]...)
				check(t, f, damaged, k, fmt.Sprintf("quote at byte %d deleted", at))
			}
		}
		k := 4
		end := f.start[k+1] - len(",\n  ") // just past the record's closing brace
		if f.name == "pretty=false" {
			end = f.start[k+1] - len(",\n")
		}
		for at := f.start[k] + 1; at < end; at++ {
			damaged := append(append(append([]byte(nil), f.data[:at]...), '"'), f.data[at:]...)
			check(t, f, damaged, k, fmt.Sprintf("quote inserted at byte %d", at))
		}
		// A quote between two records damages neither: it is skipped
		// and reported where it is.
		damaged := append(append(append([]byte(nil), f.data[:end]...), '"'), f.data[end:]...)
		r := readMode(t, "want", damaged, resyncModes[1].opt)
		rej := r.diagsOf(ingest.Rejected)
		if len(r.events) != n || len(rej) != 1 || rej[0].Offset != int64(end) || !strings.Contains(rej[0].Msg, "between records") {
			t.Fatalf("%s: a quote between records: want every record and the damage at byte %d\n%s", f.name, end, r.describe())
		}
	}
}

// TestResyncLastRecord: when the damaged record is the last, no boundary
// follows; the records before it are kept and the damage is named at the
// record's position.
func TestResyncLastRecord(t *testing.T) {
	data := recordsFile(5)
	last := bytes.LastIndex(data, []byte(`"eventName"`))
	damaged := append(append([]byte(nil), data[:last]...), data[last+1:]...)
	for _, m := range resyncModes {
		t.Run(m.name, func(t *testing.T) {
			r := readMode(t, m.name, damaged, m.opt)
			if got := indexes(r.events); fmt.Sprint(got) != "[0 1 2 3]" {
				t.Fatalf("records %v decoded, want [0 1 2 3]\n%s", got, r.describe())
			}
			ferr := r.diagsOf(ingest.FileErr)
			start := bytes.Index(data, []byte(ctRecord(4)))
			if len(ferr) != 1 || ferr[0].Offset != int64(start) || ferr[0].Line != 6 || !strings.Contains(ferr[0].Msg, "record 4 is damaged: an unbalanced quote") {
				t.Fatalf("want the damage named at record 4 (line 6, byte %d)\n%s", start, r.describe())
			}
		})
	}
}

// TestResyncLargeFile damages a record in the middle of a file larger than
// the scanner's buffer and the chunks the workers get.
func TestResyncLargeFile(t *testing.T) {
	const n = 6000
	data := recordsFile(n)
	k := 3777
	start := bytes.Index(data, []byte(ctRecord(k)))
	at := start + bytes.Index([]byte(ctRecord(k)), []byte(`"StopInstances"`))
	damaged := append(append([]byte(nil), data[:at]...), data[at+1:]...)
	for _, m := range resyncModes {
		t.Run(m.name, func(t *testing.T) {
			r := readMode(t, m.name, damaged, m.opt)
			if len(r.events) != n-1 {
				t.Fatalf("%d events, want %d\n%s", len(r.events), n-1, r.describe())
			}
			rej := r.diagsOf(ingest.Rejected)
			if len(rej) != 1 || rej[0].Index != k || rej[0].Offset != int64(start) {
				t.Fatalf("want record %d rejected at byte %d\n%s", k, start, r.describe())
			}
		})
	}
}
