package platforms

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/revertwatch/revertwatch/emulate"
	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/internal/emutest"
	"github.com/revertwatch/revertwatch/query"
	"github.com/revertwatch/revertwatch/sequence"
)

// emulatedEvents reads the emulated corpus in the CloudTrail S3, Azure
// Storage and Cloud Storage sink shapes, in memory.
func emulatedEvents(t *testing.T) []*event.Event {
	t.Helper()
	return emutest.Events(t, emulate.Options{Seed: 5, Noise: 200,
		Shapes: []emulate.Shape{event.FormatCloudTrailRecords, event.FormatAzureStorage, event.FormatGCPLogEntry}})
}

// Every Sumo export and every hunting query compiles in revertwatch's own
// query engine and runs over the emulation; each detection's Sumo query
// returns a row on the scenarios that detection fires on.
func TestSumoAndHuntingQueriesRun(t *testing.T) {
	evs := emulatedEvents(t)
	qs, err := Export(FormatSumo)
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) != len(Detections())+1 {
		t.Fatalf("%d Sumo queries for %d detections and the seed", len(qs), len(Detections()))
	}
	for _, q := range qs {
		prog, err := query.Compile(q.Text, query.DefaultOptions())
		if err != nil {
			t.Errorf("%s does not compile:\n%v\n%s", q.ID, err, q.Text)
			continue
		}
		res := prog.RunEvents(evs)
		if res.Stats.BadRecords > 0 {
			t.Errorf("%s: %d records failed in the engine", q.ID, res.Stats.BadRecords)
		}
		if len(res.Rows) == 0 {
			t.Errorf("%s: no rows over the emulation, which holds its revert", q.ID)
		}
	}
	for _, h := range Hunts() {
		prog, err := query.Compile(h.Text, query.DefaultOptions())
		if err != nil {
			t.Errorf("hunting query %s does not compile:\n%v", h.ID, err)
			continue
		}
		res := prog.RunEvents(evs)
		if res.Stats.BadRecords > 0 {
			t.Errorf("%s: %d records failed in the engine", h.ID, res.Stats.BadRecords)
		}
		t.Logf("%s: %d rows", h.ID, len(res.Rows))
	}
}

// A hunting query finds what it hunts: the snapshot restored from outside
// the data shows up as foreign; the attach at /dev/xvda as a root attach.
func TestHuntingQueriesFind(t *testing.T) {
	evs := emulatedEvents(t)
	want := map[string]string{
		"hunt-volume-from-foreign-snapshot": "snap-",
		"hunt-root-volume-attach":           "/dev/",
		"hunt-evidence-deletion":            "DeleteVolume",
		"hunt-azure-disk-restored":          "/snapshots/",
		"hunt-stop-start-new-principal":     "StopInstances",
		"hunt-gcp-disk-restored":            "global/snapshots/",
		"hunt-gcp-boot-disk-attach":         "/disks/",
	}
	for _, h := range Hunts() {
		needle, ok := want[h.ID]
		if !ok {
			continue
		}
		prog, err := query.Compile(h.Text, query.DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := prog.RunEvents(evs).WriteJSON(&buf); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(buf.String(), needle) {
			t.Errorf("%s: no row mentions %q:\n%s", h.ID, needle, buf.String())
		}
	}
}

// flatten collects every path of a JSON value, lists written as [].
func flatten(prefix string, v any, out map[string]bool) {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			flatten(p, x, out)
		}
	case []any:
		for _, x := range t {
			flatten(prefix+"[]", x, out)
		}
	default:
		out[prefix] = true
	}
}

// The record paths every export shares exist in the emulated records of
// their operations: a renamed or mistyped path fails here for every
// platform at once.
func TestRecordPathsExist(t *testing.T) {
	evs := emulatedEvents(t)
	awsPaths := map[string]map[string]bool{} // op -> paths
	bodyPaths := map[string]bool{}
	for _, ev := range evs {
		var v any
		if err := json.Unmarshal(ev.Raw, &v); err != nil {
			t.Fatal(err)
		}
		if ev.Provider == event.AWS {
			if awsPaths[ev.Operation] == nil {
				awsPaths[ev.Operation] = map[string]bool{}
			}
			flatten("", v, awsPaths[ev.Operation])
			continue
		}
		for _, body := range []json.RawMessage{ev.Request, ev.Response} {
			var b any
			if json.Unmarshal(body, &b) == nil {
				flatten("", b, bodyPaths)
			}
		}
	}
	used := 0
	for _, d := range Detections() {
		for _, st := range d.Steps {
			var fields []sequence.Field
			for _, b := range st.Bind {
				fields = append(fields, b.Field)
			}
			for _, c := range st.Where {
				fields = append(fields, c.Field)
			}
			for _, f := range fields {
				for _, op := range st.Operations {
					r, ok := refFor(d.Provider, op, f)
					if !ok || (d.Provider == event.Azure && !r.body) {
						continue
					}
					used++
					switch {
					case d.Provider == event.Azure && !bodyPaths[r.path]:
						t.Errorf("%s %s: body path %s not in any emulated body", d.ID, st.Name, r.path)
					case d.Provider == event.AWS && awsPaths[op] != nil && !awsPaths[op][r.path] && !optionalPath(r.path):
						t.Errorf("%s %s %s: path %s not in any emulated record", d.ID, st.Name, op, r.path)
					}
				}
			}
		}
	}
	if used < 20 {
		t.Errorf("only %d paths checked", used)
	}
}

// optionalPath names paths a call carries only sometimes (a replace-root
// task without a snapshot or image).
func optionalPath(p string) bool {
	return strings.HasSuffix(p, "Request.ImageId") || strings.HasSuffix(p, "Request.VolumeId") || strings.HasSuffix(p, "Request.SnapshotId")
}

// checkBalanced reports unbalanced brackets or unterminated strings,
// outside string literals and (for SPL) triple-backtick comments.
func checkBalanced(text string, lineComment string) error {
	var stack []rune
	pairs := map[rune]rune{')': '(', ']': '[', '}': '{'}
	inStr := false
	lines := strings.Split(text, "\n")
	for n, line := range lines {
		if lineComment != "" && strings.HasPrefix(strings.TrimSpace(line), lineComment) {
			continue
		}
		verbatim := false
		for i := 0; i < len(line); i++ {
			c := rune(line[i])
			if inStr {
				switch {
				case c == '\\' && !verbatim:
					i++
				case c == '"':
					inStr = false
				}
				continue
			}
			switch c {
			case '"':
				inStr = true
				verbatim = i > 0 && line[i-1] == '@'
			case '(', '[', '{':
				stack = append(stack, c)
			case ')', ']', '}':
				if len(stack) == 0 || stack[len(stack)-1] != pairs[c] {
					return fmt.Errorf("line %d: unbalanced %c", n+1, c)
				}
				stack = stack[:len(stack)-1]
			}
		}
		if inStr {
			return fmt.Errorf("line %d: unterminated string", n+1)
		}
	}
	if len(stack) > 0 {
		return fmt.Errorf("unclosed %q", string(stack))
	}
	return nil
}

var (
	splCommands = map[string]bool{"eval": true, "where": true, "stats": true, "rename": true, "spath": true, "rex": true}
	kqlCommands = map[string]bool{"where": true, "extend": true, "summarize": true, "project": true, "mv-expand": true, "join": true}
	eqlStepRE   = regexp.MustCompile(`^  \[any where .+\] by [A-Za-z][A-Za-z0-9_.]*$`)
	eqlSeqRE    = regexp.MustCompile(`^sequence by [A-Za-z][A-Za-z0-9_.]*(, [A-Za-z][A-Za-z0-9_.]*)* with maxspan=\d+[smhd]$`)
)

// The SPL, KQL and EQL exports pass a structural check: balanced
// brackets and strings, pipelines of known commands, and for EQL the
// sequence shape with one bracketed step per line and a join key each.
func TestSPLKQLEQLStructure(t *testing.T) {
	for _, format := range []string{FormatSPL, FormatKQL, FormatEQL} {
		qs, err := Export(format)
		if err != nil {
			t.Fatal(err)
		}
		if len(qs) != len(Detections()) {
			t.Fatalf("%s: %d queries for %d detections", format, len(qs), len(Detections()))
		}
		for _, q := range qs {
			if err := checkBalanced(q.Text, ""); err != nil {
				t.Errorf("%s %s: %v\n%s", format, q.ID, err, q.Text)
			}
			switch format {
			case FormatSPL:
				segs := strings.Split(q.Text, "\n| ")
				if !strings.HasPrefix(segs[0], "sourcetype=") {
					t.Errorf("%s: SPL search does not start with a sourcetype", q.ID)
				}
				for _, s := range segs[1:] {
					if cmd := strings.Fields(s)[0]; !splCommands[cmd] {
						t.Errorf("%s: unknown SPL command %q", q.ID, cmd)
					}
				}
			case FormatKQL:
				stmts := strings.Split(q.Text, ";\n")
				for _, s := range stmts[:len(stmts)-1] {
					if !regexp.MustCompile(`^let [a-z_]+ = `).MatchString(s) {
						t.Errorf("%s: KQL statement is not a let: %.60q", q.ID, s)
					}
				}
				if strings.HasSuffix(strings.TrimSpace(stmts[len(stmts)-1]), ";") {
					t.Errorf("%s: KQL ends without a tabular expression", q.ID)
				}
				for _, line := range strings.Split(q.Text, "\n") {
					if strings.HasPrefix(line, "| ") {
						if cmd := strings.Fields(line)[1]; !kqlCommands[cmd] {
							t.Errorf("%s: unknown KQL operator %q", q.ID, cmd)
						}
					}
				}
				if n := len(Detections()); n > 0 && strings.Count(q.Text, "| join kind=inner (s_") != stepsOf(q.ID)-1 {
					t.Errorf("%s: %d step joins, want %d", q.ID, strings.Count(q.Text, "| join kind=inner (s_"), stepsOf(q.ID)-1)
				}
			case FormatEQL:
				lines := strings.Split(q.Text, "\n")
				if len(lines) == 1 {
					if !strings.HasPrefix(lines[0], "any where ") {
						t.Errorf("%s: single-event EQL is not 'any where': %s", q.ID, lines[0])
					}
					continue
				}
				if !eqlSeqRE.MatchString(lines[0]) {
					t.Errorf("%s: bad sequence header %q", q.ID, lines[0])
				}
				for _, l := range lines[1:] {
					if !eqlStepRE.MatchString(l) {
						t.Errorf("%s: bad sequence step %q", q.ID, l)
					}
				}
				if len(lines) < 3 {
					t.Errorf("%s: a sequence needs two steps", q.ID)
				}
			}
		}
	}
}

func stepsOf(id string) int {
	for _, d := range Detections() {
		if d.ID == id {
			return len(d.Steps)
		}
	}
	return 0
}

// Output is the same on every call, and every query says what it loses
// when it loses something.
func TestExportDeterministicAndHonest(t *testing.T) {
	for _, format := range Formats {
		var a, b bytes.Buffer
		if err := Write(&a, format, SQLOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := Write(&b, format, SQLOptions{}); err != nil {
			t.Fatal(err)
		}
		if a.String() != b.String() || a.Len() == 0 {
			t.Errorf("%s: output differs between runs or is empty", format)
		}
	}
	for _, format := range []string{FormatSumo, FormatSPL, FormatEQL} {
		qs, _ := Export(format)
		for _, q := range qs {
			if d := detection(q.ID); d != nil && len(d.Steps) > 2 && len(q.Lost) == 0 {
				t.Errorf("%s %s: a three-step chain exported without saying what is lost", format, q.ID)
			}
		}
	}
	if _, err := Export("xml"); err == nil {
		t.Error("unknown format accepted")
	}
	ids := map[string]bool{}
	for _, h := range Hunts() {
		if ids[h.ID] || h.Title == "" || h.Why == "" {
			t.Errorf("hunting query %q: duplicate id or missing text", h.ID)
		}
		ids[h.ID] = true
	}
}

func detection(id string) *Detection {
	for _, d := range Detections() {
		if d.ID == id {
			return &d
		}
	}
	return nil
}

// Every record path of a hunting query that comes from the field catalog
// is there (ct writes "missing." for one that is not).
func TestHuntPathsInCatalog(t *testing.T) {
	for _, h := range Hunts() {
		if strings.Contains(h.Text, `%"missing.`) {
			t.Errorf("%s names a key the field catalog lacks:\n%s", h.ID, h.Text)
		}
	}
}
