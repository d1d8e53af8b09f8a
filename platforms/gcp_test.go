package platforms

import (
	"bytes"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/revertwatch/revertwatch/content/catalog"
	"github.com/revertwatch/revertwatch/detect"
	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/query"
	"github.com/revertwatch/revertwatch/sequence"
)

// Every Google Cloud detection is in every query export: the query
// exports and the hunting queries cover the three providers.
func TestGCPDetectionsExported(t *testing.T) {
	var gcp []string
	for _, d := range Detections() {
		if d.Provider == event.GCP {
			gcp = append(gcp, d.ID)
		}
	}
	if len(gcp) < 12 {
		t.Fatalf("only %d Google Cloud detections exported: %v", len(gcp), gcp)
	}
	for _, format := range []string{FormatSumo, FormatSPL, FormatKQL, FormatEQL} {
		qs, err := Export(format)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, q := range qs {
			got[q.ID] = q.Text
		}
		for _, id := range gcp {
			if got[id] == "" {
				t.Errorf("%s: no query for %s", format, id)
			}
		}
	}
	var sql bytes.Buffer
	if err := WriteSQL(&sql, SQLOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, id := range gcp {
		if !strings.Contains(sql.String(), viewName(id)) {
			t.Errorf("sql: no view for %s", id)
		}
	}
}

// The Google Cloud exports follow the field catalog: every path a step's
// key or condition is read from is the catalog's, written in each
// platform's syntax; a field the catalog does not have makes the export
// fail rather than guess.
func TestGCPExportsFollowCatalog(t *testing.T) {
	qs := map[string]map[string]string{}
	for _, format := range []string{FormatSumo, FormatSPL, FormatKQL, FormatEQL} {
		list, err := Export(format)
		if err != nil {
			t.Fatal(err)
		}
		qs[format] = map[string]string{}
		for _, q := range list {
			qs[format][q.ID] = q.Text
		}
	}
	var sql bytes.Buffer
	if err := WriteSQL(&sql, SQLOptions{}); err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, d := range Detections() {
		if d.Provider != event.GCP {
			continue
		}
		p := pairOf(&d)
		for si, st := range d.Steps {
			inPair := false
			for _, i := range p.steps {
				inPair = inPair || i == si
			}
			for _, f := range stepFields(&st) {
				for _, op := range st.Operations {
					paths := catalog.Paths(event.GCP, op, catalog.Key(f.String()))
					if len(paths) == 0 {
						continue
					}
					cp := paths[0]
					if catalog.Key(f.String()) == catalog.RootDevice {
						cp = catalog.Path{Body: catalog.Request, Path: "boot"}
					}
					full := gcpPath(cp)
					want := map[string]string{
						FormatKQL: strings.ReplaceAll(strings.NewReplacer("protoPayload.resourceName", "GCPResourceName",
							"protoPayload.request.", "Request.").Replace(full), "[]", "[0]"),
						"sql": "$." + strings.ReplaceAll(cp.Path, "[]", "[*]"),
					}
					if cp.Body == catalog.Record {
						want["sql"] = "e.resource_id"
					}
					if inPair && usedInPair(&d, &st, f, p.key) {
						want[FormatSumo] = `%"` + strings.ReplaceAll(full, "[]", "[0]") + `"`
						want[FormatSPL] = "data." + strings.ReplaceAll(full, "[]", "{}")
					}
					for format, w := range want {
						text := sql.String()
						if format != "sql" {
							text = qs[format][d.ID]
						}
						checked++
						if !strings.Contains(text, w) {
							t.Errorf("%s %s step %s (%s %s): %q, the catalog's path, is not in the query:\n%s", format, d.ID, st.Name, op, f, w, text)
						}
					}
				}
			}
		}
	}
	if checked < 60 {
		t.Errorf("only %d paths checked", checked)
	}
	if _, ok, err := gcpRefFor("compute.instances.stop", sequence.FieldSourceSnapshots); ok || err != nil {
		t.Errorf("a key the catalog lacks for the operation has a path (%v, %v)", ok, err)
	}
}

// stepFields lists the fields a step binds or tests.
func stepFields(st *sequence.Step) []sequence.Field {
	var out []sequence.Field
	for _, b := range st.Bind {
		out = append(out, b.Field)
	}
	for _, c := range st.Where {
		out = append(out, c.Field)
	}
	return out
}

// usedInPair reports whether the pair exports (Sumo, SPL) read a field
// of a step: a condition, or the key the pair joins on (every key of a
// lone step).
func usedInPair(d *Detection, st *sequence.Step, f sequence.Field, key string) bool {
	return splUses(st, f, key, len(d.Steps) == 1)
}

// Each Google Cloud Sumo export, run by the query engine over the
// emulation, returns the occurrence hunt finds: a row in the finding's
// project whose join key is the finding's resource, written from its
// zone, region or global/ collection.
func TestGCPSumoFindsHuntFindings(t *testing.T) {
	evs := emulatedEvents(t)
	det, err := detect.New(detect.Options{Lateness: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		det.Process(ev)
	}
	det.Flush()
	qs, err := Export(FormatSumo)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]string{}
	for _, q := range qs {
		byID[q.ID] = q.Text
	}
	tail := regexp.MustCompile(gcpTailRE)
	rules := map[string]bool{}
	for _, f := range det.Findings() {
		if f.Provider != event.GCP || unlogged(f) {
			continue
		}
		d := detection(f.RuleID)
		if d == nil {
			t.Fatalf("%s: no exported detection", f.RuleID)
		}
		prog, err := query.Compile(byID[f.RuleID], query.DefaultOptions())
		if err != nil {
			t.Fatalf("%s: %v", f.RuleID, err)
		}
		res := prog.RunEvents(evs)
		key := pairOf(d).key
		if key == "" && len(d.Steps[0].Bind) > 0 {
			key = d.Steps[0].Bind[0].Name
		}
		col, pcol := -1, -1
		for i, c := range res.Columns {
			switch c {
			case key:
				col = i
			case "rw_project":
				pcol = i
			}
		}
		if col < 0 || pcol < 0 {
			t.Errorf("%s: no %s or rw_project column in %v", f.RuleID, key, res.Columns)
			continue
		}
		var wants, rows []string
		for _, r := range f.Resources {
			if m := tail.FindStringSubmatch(r.UID); m != nil {
				wants = append(wants, f.Account+" "+m[1])
			}
		}
		found := false
		for _, row := range res.Rows {
			got := row[pcol].String() + " " + row[col].String()
			rows = append(rows, got)
			for _, w := range wants {
				found = found || got == w
			}
		}
		if !found {
			sort.Strings(rows)
			t.Errorf("%s: no Sumo row for any of %v; rows:\n  %s", f.RuleID, wants, strings.Join(rows, "\n  "))
		}
		rules[f.RuleID] = true
	}
	if len(rules) < 10 {
		t.Errorf("the emulation gives only %d Google Cloud rules: %v", len(rules), rules)
	}
}
