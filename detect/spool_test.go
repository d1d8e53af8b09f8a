package detect

import (
	"bufio"
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/revertwatch/revertwatch/finding"
)

// TestSpoolEncode: the spool's line is what finding.WriteNDJSON writes,
// whether the record is put in as it is or goes through the encoder.
func TestSpoolEncode(t *testing.T) {
	s := newSpool(1<<20, t.TempDir())
	for _, raw := range []string{
		`{"a":"b c","n":1,"x":[1,{"y":"\"raw\":0}]"}]}`,
		`{ "a": "spaced" }`,
		`{"html":"<&>","u":"\u2028"}`,
	} {
		f := finding.Finding{ID: "rw-1", RuleID: "r", FirstSeen: time.Unix(1, 0).UTC(), NextSteps: []string{"a \"raw\":0}] b"},
			Evidence: []finding.Evidence{{UID: "u", Raw: json.RawMessage(raw)}}}
		var want bytes.Buffer
		if err := finding.WriteNDJSON(&want, []finding.Finding{f}); err != nil {
			t.Fatal(err)
		}
		got, err := s.newEncoder().encode(&f)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want.Bytes()) {
			t.Errorf("record %s:\n got %s\nwant %s", raw, got, want.Bytes())
		}
		if string(f.Evidence[0].Raw) != raw {
			t.Errorf("encode changed the finding's record to %s", f.Evidence[0].Raw)
		}
	}
}

// FuzzCompactJSON holds compactJSON to encoding/json: valid JSON it
// calls compact is what json.Compact writes, byte for byte.
func FuzzCompactJSON(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `{"a": 1}`, `"x\" y"`, `[1,2 ]`, "{\"a\":\"\t\"}", `{"a":"\\"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !json.Valid(b) {
			return
		}
		var c bytes.Buffer
		if err := json.Compact(&c, b); err != nil {
			t.Fatal(err)
		}
		if compactJSON(b) && !bytes.Equal(c.Bytes(), b) {
			t.Fatalf("%q is called compact, but json.Compact writes %q", b, c.Bytes())
		}
	})
}

// FuzzSpoolRun: a spilled run that comes back damaged (a disk that
// lies) gives entries or an error, never a panic or a huge allocation.
func FuzzSpoolRun(f *testing.F) {
	s := newSpool(1<<20, f.TempDir())
	var b bytes.Buffer
	w := bufio.NewWriter(&b)
	s.mem = []spoolEntry{{first: 1, rule: "r", id: "rw-1", copy: "c", line: []byte("{}\n")}}
	writeEntries(w, s.mem)
	w.Flush()
	f.Add(b.Bytes())
	f.Add([]byte{2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f})
	f.Fuzz(func(t *testing.T, data []byte) {
		c := &cursor{r: bufio.NewReader(bytes.NewReader(data))}
		for i := 0; i < 100; i++ {
			if err := c.next(); err != nil {
				return
			}
		}
	})
}
