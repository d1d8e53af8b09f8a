package ingest_test

// Bad input gets a clear answer and loses nothing (issue 2): a malformed
// record is counted and placed, damage keeps what came before it, a file
// that is not ours is named in one line while the others are read, an
// oversized record is refused without losing the next one, a huge file
// streams in bounded memory, and parallel decoding changes nothing.

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/ingest"
)

// ctRecord is a small CloudTrail record, distinct per i.
func ctRecord(i int) string {
	return fmt.Sprintf(`{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/u%d","accountId":"111122223333"},`+
		`"eventTime":"2024-03-01T10:%02d:%02dZ","eventSource":"ec2.amazonaws.com","eventName":"StopInstances","awsRegion":"eu-west-1",`+
		`"requestParameters":{"instancesSet":{"items":[{"instanceId":"i-%017d"}]}},"responseElements":null,`+
		`"eventID":"00000000-0000-4000-8000-%012d","recipientAccountId":"111122223333"}`, i, i/60%60, i%60, i, i)
}

// recordsFile is a CloudTrail S3 file of n records, one per line.
func recordsFile(n int) []byte {
	var b bytes.Buffer
	b.WriteString("{\"Records\":[\n")
	for i := range n {
		if i > 0 {
			b.WriteString(",\n")
		}
		b.WriteString(ctRecord(i))
	}
	b.WriteString("\n]}\n")
	return b.Bytes()
}

func gzipBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	var z bytes.Buffer
	w := gzip.NewWriter(&z)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return z.Bytes()
}

// writeFile writes data to name under dir and returns the path.
func writeFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// checkIDs checks that the events are records want, in that order.
func checkIDs(t *testing.T, evs []*event.Event, want ...int) {
	t.Helper()
	var got, exp []string
	for _, ev := range evs {
		got = append(got, ev.UID)
	}
	for _, i := range want {
		exp = append(exp, fmt.Sprintf("00000000-0000-4000-8000-%012d", i))
	}
	if strings.Join(got, " ") != strings.Join(exp, " ") {
		t.Errorf("events %v, want records %v", got, want)
	}
}

func TestBadInputMalformedRecord(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, text string
		line       int
		reason     string
	}{
		{
			name:   "lines.json",
			text:   ctRecord(0) + "\n" + `{"eventVersion":"1.08","eventName":tru}` + "\n" + ctRecord(2) + "\n",
			line:   2,
			reason: "malformed JSON",
		},
		{
			// The scanner still finds where the bad member ends, so the
			// array goes on.
			name:   "records.json",
			text:   "{\"Records\":[\n" + ctRecord(0) + ",\n" + `{"eventName":"X",,"eventVersion":"1"}` + ",\n" + ctRecord(2) + "\n]}",
			line:   3,
			reason: "malformed JSON",
		},
		{
			name:   "array.json",
			text:   "[\n" + ctRecord(0) + ",\n" + `"just a string"` + ",\n" + ctRecord(2) + "\n]",
			line:   3,
			reason: "not a JSON object",
		},
		{
			name:   "foreign.json",
			text:   ctRecord(0) + "\n" + `{"hello":"world"}` + "\n" + ctRecord(2) + "\n",
			line:   2,
			reason: "unrecognized record",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, dir, tc.name, []byte(tc.text))
			r := read(t, []string{path}, ingest.Options{})
			checkIDs(t, r.events, 0, 2)
			rej := r.diagsOf(ingest.Rejected)
			if len(rej) != 1 || r.sum.FileErrors != 0 {
				t.Fatalf("want exactly one rejected record\n%s", r.describe())
			}
			d := rej[0]
			prefix := fmt.Sprintf("%s:%d: rejected: ", path, tc.line)
			if d.Reason != tc.reason || d.Index != 1 || !strings.HasPrefix(d.String(), prefix) {
				t.Errorf("got %q (reason %q, index %d), want reason %q and prefix %q", d, d.Reason, d.Index, tc.reason, prefix)
			}
			if want := int64(strings.Index(tc.text, "\n"+strings.SplitN(tc.text, "\n", tc.line+1)[tc.line-1]) + 1); d.Offset != want {
				t.Errorf("offset %d, want %d (start of line %d)", d.Offset, want, tc.line)
			}
			if r.files[0].Records != 3 || r.sum.ExitCode() != 3 {
				t.Errorf("records %d exit %d, want 3 and 3", r.files[0].Records, r.sum.ExitCode())
			}
		})
	}
}

// A JSON lines file (or the chunk of a growing one that watch reads)
// whose first line is damaged loses only that line: the lines after it
// are read. A document whose first line only begins it ({"Records":[,
// one record a line) is still read as one document.
func TestBadInputDamagedFirstLine(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ name, text string }{
		{"cut-string.json", ctRecord(0)[:90] + "\n" + ctRecord(1) + "\n" + ctRecord(2) + "\n"},
		{"syntax.json", `{"eventVersion":"1.08","eventName":tru}` + "\n" + ctRecord(1) + "\n" + ctRecord(2) + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, dir, tc.name, []byte(tc.text))
			r := read(t, []string{path}, ingest.Options{})
			checkIDs(t, r.events, 1, 2)
			rej := r.diagsOf(ingest.Rejected)
			if len(rej) != 1 || r.sum.FileErrors != 0 || !strings.HasPrefix(rej[0].String(), path+":1: rejected: ") {
				t.Fatalf("want exactly one rejected record, at line 1\n%s", r.describe())
			}
		})
	}
	one := writeFile(t, dir, "one-record.json", recordsFile(1))
	r := read(t, []string{one}, ingest.Options{})
	checkIDs(t, r.events, 0)
	if len(r.diags) != 0 {
		t.Errorf("a Records document of one record, a line each: %s", r.describe())
	}
}

func TestBadInputTruncated(t *testing.T) {
	const n = 200
	plain := recordsFile(n)
	// Cut inside record 120: records 0..119 are whole.
	cut := bytes.Index(plain, []byte(ctRecord(120))) + 40

	t.Run("Records array", func(t *testing.T) {
		r := readBytes(t, plain[:cut], ingest.Options{})
		checkIDs(t, r.events, seq(120)...)
		ferr := r.diagsOf(ingest.FileErr)
		if len(ferr) != 1 || ferr[0].Reason != "truncated" || !strings.Contains(ferr[0].Msg, "records before the damage were kept") {
			t.Fatalf("want one truncation error\n%s", r.describe())
		}
		if r.sum.ExitCode() != 3 {
			t.Errorf("exit code %d, want 3", r.sum.ExitCode())
		}
	})

	// Cut between tokens rather than inside a record: the end of input
	// is still named as truncation, not as a read error.
	for _, tc := range []struct {
		name string
		text string
		kept int
	}{
		{"after a comma", "{\"Records\":[\n" + ctRecord(0) + ",\n", 1},
		{"after the array opens", `{"Records":[`, 0},
		{"after a member name", `{"Records"`, 0},
		{"after the object opens", "{\n", 0},
		{"bare array after a comma", "[" + ctRecord(0) + ",", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := readBytes(t, []byte(tc.text), ingest.Options{})
			checkIDs(t, r.events, seq(tc.kept)...)
			ferr := r.diagsOf(ingest.FileErr)
			if len(ferr) != 1 || ferr[0].Reason != "truncated" {
				t.Errorf("want one truncation error\n%s", r.describe())
			}
		})
	}

	t.Run("gzip stream", func(t *testing.T) {
		z := gzipBytes(t, plain)
		// Cut the compressed stream in the middle: whatever inflates
		// before the cut is kept.
		r := readBytes(t, z[:len(z)/2], ingest.Options{})
		ferr := r.diagsOf(ingest.FileErr)
		if len(ferr) != 1 || !strings.Contains(ferr[0].Msg, "gzip stream") || !strings.Contains(ferr[0].Msg, "records before the damage were kept") {
			t.Fatalf("want one gzip damage error\n%s", r.describe())
		}
		if len(r.events) == 0 || len(r.events) >= n {
			t.Fatalf("%d events kept from half a gzip stream of %d", len(r.events), n)
		}
		checkIDs(t, r.events, seq(len(r.events))...)
		if !r.files[0].Gzip || r.sum.ExitCode() != 3 {
			t.Errorf("gzip %v exit %d", r.files[0].Gzip, r.sum.ExitCode())
		}
	})

	t.Run("gzip missing its trailer", func(t *testing.T) {
		// All the JSON arrives but the CRC and length do not.
		z := gzipBytes(t, plain)
		r := readBytes(t, z[:len(z)-4], ingest.Options{})
		if len(r.events) != n || r.sum.FileErrors != 1 {
			t.Errorf("%d events, %d file errors; want %d and 1\n%s", len(r.events), r.sum.FileErrors, n, r.describe())
		}
	})

	t.Run("JSON lines", func(t *testing.T) {
		text := ctRecord(0) + "\n" + ctRecord(1) + "\n" + ctRecord(2)[:50]
		r := readBytes(t, []byte(text), ingest.Options{})
		checkIDs(t, r.events, 0, 1)
		if r.sum.Rejected+r.sum.FileErrors != 1 {
			t.Errorf("the cut line must be reported once\n%s", r.describe())
		}
	})
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

func TestBadInputUnreadableFiles(t *testing.T) {
	dir := t.TempDir()
	good1 := writeFile(t, dir, "a-good.json", recordsFile(3))
	bad := map[string]struct {
		data   []byte
		reason string
		msg    string
	}{
		"b-empty.json": {nil, "empty", "empty file"},
		"c-blank.json": {[]byte(" \n\t\n"), "empty", "empty file"},
		"d-binary.bin": {[]byte{0x00, 0x01, 0xfe, 0x7f, 'E', 'L', 'F'}, "unknown format", "unknown format: not JSON (starts with byte 0x00)"},
		"e-text.csv":   {[]byte("Event Type,Event Name\nAwsApiCall,HeadBucket\n"), "unknown format", "unknown format: a CSV file whose header is not that of a console export"},
		// Recognised by their first bytes, not their names.
		"e-zip.json":          {[]byte("PK\x03\x04\x14\x00\x00\x00"), "zip", "a zip archive that cannot be read: zip: not a valid zip file"},
		"e-png.json":          {[]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), "unknown format", "unknown format: a PNG image, not a log"},
		"e-bomcsv.json":       {[]byte("\xef\xbb\xbfa,b\r\n1,2\r\n"), "unknown format", "unknown format: a CSV file"},
		"e-text.txt":          {[]byte("hello world\n"), "unknown format", "unknown format: not JSON (starts with 'h')"},
		"f-badgzip.json.gz":   {[]byte{0x1f, 0x8b, 0x00, 0x00, 0x01}, "gzip", "gzip header unreadable"},
		"g-gzipbinary.gz":     {gzipBytes(t, []byte{0xff, 0xfe, 0x00, 0x12}), "unknown format", "unknown format"},
		"h-gzipempty.json.gz": {gzipBytes(t, nil), "empty", "empty file"},
	}
	inputs := []string{good1}
	for name, b := range bad {
		inputs = append(inputs, writeFile(t, dir, name, b.data))
	}
	good2 := writeFile(t, dir, "z-good.json", []byte(ctRecord(7)+"\n"))
	inputs = append(inputs, good2)
	inputs = inputsSorted(inputs)

	r := read(t, inputs, ingest.Options{Jobs: 3})
	checkIDs(t, r.events, 0, 1, 2, 7)
	ferr := r.diagsOf(ingest.FileErr)
	if len(ferr) != len(bad) {
		t.Fatalf("%d file errors, want %d\n%s", len(ferr), len(bad), r.describe())
	}
	for _, d := range ferr {
		b := bad[filepath.Base(d.File)]
		if d.Reason != b.reason || !strings.Contains(d.Msg, b.msg) || !strings.HasPrefix(d.String(), d.File) {
			t.Errorf("%s: got %q (reason %q), want reason %q and %q", filepath.Base(d.File), d, d.Reason, b.reason, b.msg)
		}
	}
	if r.sum.ExitCode() != 3 {
		t.Errorf("exit code %d, want 3: some input unreadable, the rest read", r.sum.ExitCode())
	}

	// With no good file left, nothing was readable.
	r = read(t, inputs[1:len(inputs)-1], ingest.Options{})
	if len(r.events) != 0 || r.sum.ExitCode() != 2 {
		t.Errorf("exit code %d with %d events, want 2", r.sum.ExitCode(), len(r.events))
	}
}

func inputsSorted(in []string) []string {
	out := append([]string(nil), in...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestBadInputOversizedRecord(t *testing.T) {
	const max = 4096
	big := `{"eventVersion":"1.08","eventTime":"2024-01-01T00:00:00Z","eventName":"RunInstances","eventSource":"ec2.amazonaws.com","requestParameters":{"userData":"` +
		strings.Repeat("A", 3*max) + `"},"eventID":"big"}`
	for _, tc := range []struct {
		name, text string
		line       int
	}{
		{"Records", "{\"Records\":[\n" + ctRecord(0) + ",\n" + big + ",\n" + ctRecord(2) + "\n]}", 3},
		{"JSON lines", ctRecord(0) + "\n" + big + "\n" + ctRecord(2) + "\n", 2},
		{"array", "[" + ctRecord(0) + ",\n" + big + ",\n" + ctRecord(2) + "]", 2},
		{"Azure records", `{"records":[` + ctRecord(0) + ",\n" + big + ",\n" + ctRecord(2) + "]}", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := readBytes(t, []byte(tc.text), ingest.Options{MaxRecordSize: max})
			checkIDs(t, r.events, 0, 2)
			rej := r.diagsOf(ingest.Rejected)
			if len(rej) != 1 || r.sum.FileErrors != 0 {
				t.Fatalf("want one rejected record\n%s", r.describe())
			}
			d := rej[0]
			if d.Reason != "record over the size cap" || d.Line != tc.line || d.Index != 1 ||
				!strings.Contains(d.Msg, fmt.Sprintf("larger than the %d-byte cap", max)) {
				t.Errorf("got %q line %d index %d", d, d.Line, d.Index)
			}
		})
	}

	t.Run("a single object over the cap", func(t *testing.T) {
		r := readBytes(t, []byte(big), ingest.Options{MaxRecordSize: max})
		if len(r.events) != 0 || r.sum.Rejected != 1 || r.sum.ExitCode() != 3 {
			t.Errorf("want one rejected record\n%s", r.describe())
		}
	})

	t.Run("the default cap lets 1 MiB through", func(t *testing.T) {
		rec := strings.Replace(big, strings.Repeat("A", 3*max), strings.Repeat("A", 1<<20), 1)
		r := readBytes(t, []byte(rec), ingest.Options{})
		if len(r.events) != 1 || r.sum.Rejected != 0 {
			t.Errorf("want one event\n%s", r.describe())
		}
	})
}

// hugeRecords generates {"Records":[...]} of about size bytes on the fly,
// so that a test can stream a file far bigger than it may hold in memory.
type hugeRecords struct {
	size, n int64 // bytes to produce, bytes produced
	i       int
	pending []byte
	done    bool
}

func (h *hugeRecords) Read(p []byte) (int, error) {
	w := 0
	for w < len(p) {
		if len(h.pending) == 0 {
			switch {
			case h.done:
				if w == 0 {
					return 0, io.EOF
				}
				return w, nil
			case h.i == 0:
				h.pending = []byte(`{"Records":[` + ctRecord(0))
			case h.n >= h.size:
				h.pending = []byte("]}\n")
				h.done = true
			default:
				h.pending = []byte(",\n" + ctRecord(h.i))
			}
			h.i++
		}
		c := copy(p[w:], h.pending)
		h.pending = h.pending[c:]
		w += c
		h.n += int64(c)
	}
	return w, nil
}

func TestBadInputHugeFileStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 200 MB; skipped with -short")
	}
	size := int64(200 << 20)
	if raceEnabled {
		size = 40 << 20 // the race detector makes decoding ~10× slower
	}
	gen := &hugeRecords{size: size}
	runtime.GC()
	var ms runtime.MemStats
	var peak uint64
	events := 0
	sample := func() {
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapInuse)
	}
	sum, err := ingest.Read(t.Context(), []string{"-"}, ingest.Options{Stdin: gen}, ingest.Handlers{
		Event: func(ev *event.Event) error {
			events++
			if events%20000 == 0 {
				sample()
			}
			return nil
		},
	})
	sample()
	if err != nil {
		t.Fatal(err)
	}
	if events != gen.i-1 || sum.Rejected != 0 || sum.FileErrors != 0 || sum.Bytes != gen.n {
		t.Fatalf("%d events of %d records, summary %+v, %d bytes generated", events, gen.i-1, sum, gen.n)
	}
	t.Logf("%d MB, %d events, peak heap in use %d MB", gen.n>>20, events, peak>>20)
	if peak > 64<<20 {
		t.Errorf("peak heap in use %d MB while streaming %d MB: memory grows with file size", peak>>20, gen.n>>20)
	}
}

// mixedInputs writes a directory of inputs of every kind, good and bad,
// for the ordering test.
func mixedInputs(t *testing.T) []string {
	dir := t.TempDir()
	var in []string
	for i := range 12 {
		var data []byte
		switch i % 6 {
		case 0:
			data = gzipBytes(t, recordsFile(300+i))
		case 1:
			var b bytes.Buffer
			for j := range 500 {
				b.WriteString(ctRecord(j*10+i) + "\n")
			}
			data = b.Bytes()
		case 2:
			data = []byte(`{"records":[` + azureRecord(i, 0) + "," + azureRecord(i, 1) + "]}")
		case 3:
			data = append(recordsFile(100), []byte("garbage")...)
		case 4:
			data = []byte("not json at all")
		case 5:
			data = []byte(ctRecord(i) + "\n{broken\n" + ctRecord(i+1) + "\n")
		}
		in = append(in, writeFile(t, dir, fmt.Sprintf("f%02d.json", i), data))
	}
	return in
}

func azureRecord(i, phase int) string {
	return fmt.Sprintf(`{"time":"2024-03-01T10:00:%02d.000Z","resourceId":"/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.COMPUTE/DISKS/D%d",`+
		`"operationName":"MICROSOFT.COMPUTE/DISKS/WRITE","category":"Administrative","resultType":"%s","correlationId":"c-%d",`+
		`"identity":{"claims":{"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn":"a@example.com"}}}`,
		phase, i, []string{"Start", "Success"}[phase], i)
}

func TestBadInputParallelJobsIdentical(t *testing.T) {
	inputs := mixedInputs(t)
	encode := func(r run) string {
		var b strings.Builder
		enc := json.NewEncoder(&b)
		for _, ev := range r.events {
			if err := enc.Encode(ev); err != nil {
				t.Fatal(err)
			}
		}
		for _, d := range r.diags {
			b.WriteString(d.String() + "\n")
		}
		for _, f := range r.files {
			b.WriteString(f.String() + "\n")
		}
		return b.String()
	}
	want := encode(read(t, inputs, ingest.Options{Jobs: 1}))
	for _, jobs := range []int{2, 5, 16} {
		got := encode(read(t, inputs, ingest.Options{Jobs: jobs}))
		if got != want {
			t.Errorf("Jobs=%d output differs from Jobs=1", jobs)
		}
	}
}

func TestBadInputExitCodes(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "good.json", recordsFile(2))
	digest := writeFile(t, dir, "digest.json", []byte(`{"awsAccountId":"1","digestStartTime":"2024-03-01T10:00:00Z","digestEndTime":"2024-03-01T11:00:00Z","logFiles":[]}`))
	rejected := writeFile(t, dir, "rejected.json", []byte(ctRecord(0)+"\n[1]\n"))
	empty := writeFile(t, dir, "empty.json", nil)
	binary := writeFile(t, dir, "binary.bin", []byte{0, 1, 2})
	for _, tc := range []struct {
		name   string
		inputs []string
		code   int
	}{
		{"all read", []string{good}, 0},
		{"skipped records are not errors", []string{good, digest}, 0},
		{"only skipped records", []string{digest}, 0},
		{"a rejected record", []string{good, rejected}, 3},
		{"an unreadable file beside a good one", []string{empty, good}, 3},
		{"nothing readable", []string{empty, binary}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := read(t, tc.inputs, ingest.Options{})
			if got := r.sum.ExitCode(); got != tc.code {
				t.Errorf("exit code %d, want %d\n%s", got, tc.code, r.describe())
			}
		})
	}
}
