package finding_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/revertwatch/revertwatch/attack"
	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/finding"
	"github.com/revertwatch/revertwatch/level"
)

// sample builds a two-step finding the way the detection engine will.
func sample(suppressed bool) []finding.Finding {
	t0 := time.Date(2026, 11, 2, 14, 1, 7, 0, time.UTC)
	stop := &event.Event{UID: "e-1", Time: t0, OperationName: "StopInstances", Outcome: event.OutcomeSuccess,
		Caller: "arn:aws:sts::111122223333:assumed-role/OpsAdmin/mallory", SrcIP: "198.51.100.23",
		Raw: json.RawMessage(`{"eventName":"StopInstances"}`), Source: event.Source{Name: "logs/a.json.gz", Line: 1, Offset: 12}}
	start := &event.Event{UID: "e-2", Time: t0.Add(3 * time.Minute), OperationName: "StartInstances", Outcome: event.OutcomeSuccess,
		Caller: stop.Caller, Raw: json.RawMessage(`{"eventName":"StartInstances"}`), Source: event.Source{Name: "-"}}
	a := attack.RevertCloudInstance
	f := finding.Finding{
		ID: finding.StableID("aws-stop-start", "111122223333", "us-east-1", "i-0a1b2c3d4e5f60718"), RuleID: "aws-stop-start",
		Title: "EC2 instance stopped and started (ephemeral storage reset)", Description: "desc",
		Tactic: a.Tactic.Name, TacticID: a.Tactic.ID, Technique: a.SubTechnique.ID, TechniqueName: a.SubTechnique.Name,
		Severity: level.High.String(), Confidence: level.Medium.String(), Provider: event.AWS,
		Account: "111122223333", Region: "us-east-1", Actor: finding.ActorOf(stop),
		Resources: []event.Resource{{UID: "i-0a1b2c3d4e5f60718", Type: "instance", Role: "target"}},
		FirstSeen: stop.Time, LastSeen: start.Time,
		Evidence:  []finding.Evidence{finding.NewEvidence("stop", stop), finding.NewEvidence("start", start)},
		NextSteps: []string{"Preserve the instance store contents are gone; pull VPC flow logs."},
	}
	if suppressed {
		f.Suppressed, f.SuppressionReason = true, "nightly-instance-scheduler"
	}
	return []finding.Finding{f}
}

func corpusFile(t *testing.T, rel string) string {
	t.Helper()
	p := filepath.Join("..", "..", "shared", "corpus", rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared corpus not found at %s: skipping the schema check", p)
	}
	return p
}

func TestStableID(t *testing.T) {
	a := finding.StableID("r", "k1", "k2")
	if a != finding.StableID("r", "k1", "k2") || a == finding.StableID("r", "k1k2") || !strings.HasPrefix(a, "rw-") {
		t.Fatalf("unstable or ambiguous id %s", a)
	}
}

func TestSARIFValidates(t *testing.T) {
	schemaPath := corpusFile(t, "sarif/sarif-schema-2.1.0.json")
	c := jsonschema.NewCompiler()
	sch, err := c.Compile(schemaPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, suppressed := range []bool{false, true} {
		var buf bytes.Buffer
		rules := []finding.RuleInfo{{ID: "aws-stop-start", Title: "Stop/start", Severity: "high"}, {ID: "unused", Title: "Unused", Severity: "low"}}
		fs := sample(suppressed)
		if suppressed {
			fs[0].Hits = 7 // a folded finding: occurrenceCount
		}
		if err := finding.WriteSARIF(&buf, fs, rules, "test"); err != nil {
			t.Fatal(err)
		}
		if suppressed != strings.Contains(buf.String(), `"occurrenceCount": 7`) {
			t.Errorf("occurrenceCount: %v, want it for the folded finding only", !suppressed)
		}
		doc, err := jsonschema.UnmarshalJSON(&buf)
		if err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(doc); err != nil {
			t.Fatalf("SARIF output does not validate: %v", err)
		}
	}
	// An empty run is valid too.
	var buf bytes.Buffer
	finding.WriteSARIF(&buf, nil, nil, "test")
	doc, _ := jsonschema.UnmarshalJSON(&buf)
	if err := sch.Validate(doc); err != nil {
		t.Fatalf("empty SARIF does not validate: %v", err)
	}
}

// requiredOCSF lists the attributes OCSF 1.8.0 requires of a Detection
// Finding (base_event, finding, detection_finding) and of the objects we
// emit; the corpus check below re-derives the top level from the schema.
var requiredOCSF = []string{"activity_id", "category_uid", "class_uid", "finding_info", "metadata", "severity_id", "time", "type_uid",
	"finding_info.uid", "finding_info.analytic.type_id", "metadata.product", "metadata.version", "remediation.desc"}

func lookup(m map[string]any, path string) (any, bool) {
	var cur any = m
	for _, p := range strings.Split(path, ".") {
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = obj[p]; !ok {
			return nil, false
		}
	}
	return cur, true
}

func TestOCSFRequired(t *testing.T) {
	var buf bytes.Buffer
	if err := finding.WriteOCSF(&buf, sample(true), "test"); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	for _, p := range requiredOCSF {
		if _, ok := lookup(m, p); !ok {
			t.Errorf("missing required %s", p)
		}
	}
	if m["class_uid"].(float64) != 2004 || m["type_uid"].(float64) != 200401 || m["status_id"].(float64) != 3 {
		t.Errorf("wrong class, type or status: %v %v %v", m["class_uid"], m["type_uid"], m["status_id"])
	}
	if _, ok := m["count"]; ok {
		t.Errorf("a finding of one occurrence has a count: %v", m["count"])
	}
	folded := sample(false)
	folded[0].Hits = 7
	var fb bytes.Buffer
	if err := finding.WriteOCSF(&fb, folded, "test"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(fb.String(), `"count":7`) {
		t.Errorf("a folded finding's OCSF has no count of 7: %s", fb.String())
	}
	attack, _ := lookup(m, "finding_info.attacks")
	if !strings.Contains(toJSON(attack), `"uid":"T1578.004"`) {
		t.Errorf("attacks lack the sub-technique: %s", toJSON(attack))
	}

	// Every attribute the schema itself marks required, on the class and
	// the classes it extends.
	for _, rel := range []string{"events/base_event.json", "events/findings/finding.json", "events/findings/detection_finding.json"} {
		raw, err := os.ReadFile(corpusFile(t, filepath.Join("ocsf-schema", rel)))
		if err != nil {
			t.Fatal(err)
		}
		var class struct {
			Attributes map[string]json.RawMessage `json:"attributes"`
		}
		json.Unmarshal(raw, &class)
		for name, def := range class.Attributes {
			var a struct {
				Requirement string `json:"requirement"`
			}
			json.Unmarshal(def, &a)
			if a.Requirement == "required" {
				if _, ok := m[name]; !ok {
					t.Errorf("%s requires %s", rel, name)
				}
			}
		}
	}
}

func toJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestTableAndNDJSON(t *testing.T) {
	var buf bytes.Buffer
	if err := finding.Write(&buf, finding.FormatTable, sample(false), nil, "test"); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"SEVERITY", "aws-stop-start", "i-0a1b2c3d4e5f60718", "StopInstances", "StartInstances", "open"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	buf.Reset()
	finding.Write(&buf, finding.FormatNDJSON, sample(false), nil, "test")
	var f map[string]any
	if err := json.Unmarshal(buf.Bytes(), &f); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"id", "rule_id", "title", "technique", "tactic", "severity", "confidence", "provider", "account", "region",
		"actor", "resources", "first_seen", "last_seen", "evidence", "suppressed", "next_steps"} {
		if _, ok := f[k]; !ok {
			t.Errorf("ndjson finding lacks %s", k)
		}
	}
	if err := finding.Write(&buf, "xml", nil, nil, ""); err == nil {
		t.Error("unknown format accepted")
	}
}

// TestTableGroupsRepeats: five occurrences of one group are one row with
// their count and times; another group keeps its own row.
func TestTableGroupsRepeats(t *testing.T) {
	day := time.Date(2026, 9, 1, 9, 0, 0, 0, time.UTC)
	var fs []finding.Finding
	for d := 0; d < 5; d++ {
		fs = append(fs, finding.Finding{ID: fmt.Sprintf("rw-%d", d), GroupID: "rw-g1", RuleID: "aws-stop-start", Severity: "high", Confidence: "medium",
			FirstSeen: day.Add(time.Duration(d) * 24 * time.Hour)})
	}
	fs = append(fs, finding.Finding{ID: "rw-x", GroupID: "rw-g2", RuleID: "aws-rds-restore", Severity: "high", Confidence: "medium", FirstSeen: day})
	var b strings.Builder
	if err := finding.WriteTable(&b, fs); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.Count(out, "aws-stop-start") != 1 || !strings.Contains(out, "5 occurrences (group rw-g1)") ||
		!strings.Contains(out, "2026-09-05T09:00:00Z") || !strings.Contains(out, "aws-rds-restore") {
		t.Errorf("table:\n%s", out)
	}
}

// TestTableShowsFold: a fold's row says how many records it stands for,
// and its first and last, not a sequence of steps.
func TestTableShowsFold(t *testing.T) {
	day := time.Date(2026, 9, 1, 9, 0, 0, 0, time.UTC)
	f := finding.Finding{ID: "rw-f", GroupID: "rw-g", RuleID: "905d389b", Severity: "low", Confidence: "medium", FirstSeen: day, LastSeen: day.Add(time.Hour), Hits: 10560,
		Evidence: []finding.Evidence{{Operation: "Decrypt", Time: day}, {Operation: "DescribeVolumes", Time: day.Add(time.Hour)}}}
	var b strings.Builder
	if err := finding.WriteTable(&b, []finding.Finding{f}); err != nil {
		t.Fatal(err)
	}
	if out := b.String(); !strings.Contains(out, "10560 records, the first Decrypt 09:00:00, the last DescribeVolumes 10:00:00") || strings.Contains(out, "→") {
		t.Errorf("table:\n%s", out)
	}
}
