package sink

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/revertwatch/revertwatch/finding"
)

// FuzzLineIDs: reading the ids of a line of the findings file never
// panics, whatever the line (a torn one, garbage), and the id of a
// finding rendered in each format is read back whole.
func FuzzLineIDs(f *testing.F) {
	f.Add([]byte(`{"id":"rw-1","rule_id":"x"}`), "rw-1")
	f.Add([]byte(`{"finding_info":{"uid":"rw-\"2"}}`), "a\\b")
	f.Add([]byte(`  "revertwatchFindingId/v1": "rw-3"`), "")
	f.Add([]byte(`"unterminated \"`), "rw-4")
	f.Fuzz(func(t *testing.T, line []byte, id string) {
		for _, format := range finding.Formats {
			lineIDs(format, line)
		}
		if id == "" || strings.ContainsAny(id, "\n") || !utf8.ValidString(id) {
			return // ids are hex; JSON cannot carry invalid UTF-8
		}
		for _, format := range []string{finding.FormatNDJSON, finding.FormatOCSF, finding.FormatSARIF} {
			b, err := Render{Format: format}.Bytes(findings(id))
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, l := range strings.Split(string(b), "\n") {
				for _, got := range lineIDs(format, []byte(l)) {
					found = found || got == id
				}
			}
			if !found {
				t.Fatalf("%s: id %q not read back from\n%s", format, id, b)
			}
		}
	})
}
