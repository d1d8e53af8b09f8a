package finding_test

import (
	"bufio"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/revertwatch/revertwatch/finding"
)

// huntSample is what hunt finds in the committed sample logs.
func huntSample(t *testing.T) []finding.Finding {
	t.Helper()
	f, err := os.Open("testdata/sample.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var fs []finding.Finding
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var x finding.Finding
		if err := json.Unmarshal(sc.Bytes(), &x); err != nil {
			t.Fatal(err)
		}
		fs = append(fs, x)
	}
	if len(fs) < 5 {
		t.Fatalf("%d findings in the sample", len(fs))
	}
	return fs
}

// The table fits the terminal (issue 18: rows were 208 columns): every line
// is at most the width, every row starts with the finding's short id in
// full, and the resource ids shown are never cut.
func TestTableFitsWidth(t *testing.T) {
	fs := huntSample(t)
	short := finding.ShortIDs(func() []string {
		var ids []string
		for _, f := range fs {
			ids = append(ids, f.ID, f.GroupID)
		}
		return ids
	}())
	for _, width := range []int{80, 100, 132, 200} {
		var b strings.Builder
		if err := finding.WriteTableWith(&b, fs, finding.TableOptions{Width: width}); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
		row := 0
		for _, l := range lines {
			if n := utf8.RuneCountInString(l); n > width {
				t.Errorf("width %d: a line of %d columns:\n%s", width, n, l)
			}
			if strings.HasPrefix(l, "rw-") {
				id := strings.Fields(l)[0]
				if id != short[fs[row].ID] || !strings.HasPrefix(fs[row].ID, id) {
					t.Errorf("width %d: row %d starts with %q, want %q", width, row, id, short[fs[row].ID])
				}
				for _, r := range fs[row].Resources {
					if i := strings.Index(l, r.UID[:min(6, len(r.UID))]); i >= 0 && strings.HasPrefix(r.UID, "i-") && !strings.Contains(l, r.UID) {
						t.Errorf("width %d: resource %s cut in %q", width, r.UID, l)
					}
				}
				row++
			}
		}
		if row != len(fs) {
			t.Errorf("width %d: %d rows, want %d\n%s", width, row, len(fs), b.String())
		}
		if width == 80 {
			t.Logf("\n%s", b.String())
		}
	}
}

// ShortIDs are unique prefixes, "rw-" and 12 hex digits at least, longer
// where two ids share more.
func TestShortIDs(t *testing.T) {
	got := finding.ShortIDs([]string{"rw-aaaaaaaaaaaa1111", "rw-aaaaaaaaaaaa2222", "rw-bbbbbbbbbbbbbbbb", "rw-bbbbbbbbbbbbbbbb", ""})
	want := map[string]string{"rw-aaaaaaaaaaaa1111": "rw-aaaaaaaaaaaa1", "rw-aaaaaaaaaaaa2222": "rw-aaaaaaaaaaaa2", "rw-bbbbbbbbbbbbbbbb": "rw-bbbbbbbbbbbb"}
	if len(got) != len(want) {
		t.Fatalf("%v", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q, want %q", k, got[k], v)
		}
	}
}

// Colour marks the severity only, and only when asked.
func TestTableColor(t *testing.T) {
	fs := huntSample(t)
	var plain, colored strings.Builder
	finding.WriteTableWith(&plain, fs, finding.TableOptions{Width: 120})
	finding.WriteTableWith(&colored, fs, finding.TableOptions{Width: 120, Color: true})
	if strings.Contains(plain.String(), "\x1b[") {
		t.Error("colour without Color")
	}
	if !strings.Contains(colored.String(), "\x1b[1;31mcritical\x1b[0m") || !strings.Contains(colored.String(), "\x1b[31mhigh\x1b[0m") {
		t.Errorf("no severity colours:\n%q", colored.String())
	}
	strip := strings.NewReplacer("\x1b[1;31m", "", "\x1b[31m", "", "\x1b[33m", "", "\x1b[36m", "", "\x1b[2m", "", "\x1b[0m", "")
	if strip.Replace(colored.String()) != plain.String() {
		t.Error("colour changed more than the severities")
	}
}

// The summary: counts by severity (most severe first) and rule, and the
// timeline per account and actor.
func TestSummary(t *testing.T) {
	fs := huntSample(t)
	fs[0].Suppressed = true
	var b strings.Builder
	if err := finding.WriteSummary(&b, fs); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"Summary: 4 findings (and 1 suppressed) in 2 account(s) by 2 actor(s)",
		"by severity: critical 1, high 3",
		"111122223333  assumed-role/OpsAdmin/mallory-ops: 2026-11-02T14:01:07Z → 2026-11-02T14:33:47Z, 3 (",
		"mallory@contoso.example: 2026-11-02T14:05:48Z → 2026-11-02T14:07:52Z, 1 (azure-disk-swap 1)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
}
