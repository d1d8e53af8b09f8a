package sigma

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/revertwatch/revertwatch/content"
)

func exportAll(t *testing.T) []Document {
	t.Helper()
	docs, err := Export(content.Reverts(), ExportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return docs
}

// TestExportValidatesAgainstSchemas checks every exported document
// against the specification's JSON schemas from the shared folder.
func TestExportValidatesAgainstSchemas(t *testing.T) {
	needCorpus(t, specDir)
	schemas, err := LoadSchemas(specDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range exportAll(t) {
		var n yaml.Node
		if err := yaml.Unmarshal(d.YAML, &n); err != nil {
			t.Fatalf("%s: %v", d.Name, err)
		}
		if err := schemas[d.Kind].Validate(toJSON(&n)); err != nil {
			t.Errorf("%s does not validate: %v\n%s", d.Name, err, d.YAML)
		}
	}
	// And lint agrees, schemas included.
	var stream bytes.Buffer
	if err := WriteStream(&stream, exportAll(t)); err != nil {
		t.Fatal(err)
	}
	res, err := Lint("export.yml", stream.Bytes(), LintOptions{SchemaDir: specDir})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range res.Problems {
		t.Errorf("lint: %s", p)
	}
}

func TestExportMetadataAndStability(t *testing.T) {
	a, b := exportAll(t), exportAll(t)
	if len(a) != len(b) {
		t.Fatal("export is not stable")
	}
	ids := map[string]bool{}
	for i := range a {
		if !bytes.Equal(a[i].YAML, b[i].YAML) {
			t.Errorf("%s differs between two exports", a[i].Name)
		}
		if ids[a[i].ID] {
			t.Errorf("%s: id %s used twice", a[i].Name, a[i].ID)
		}
		ids[a[i].ID] = true
		y := string(a[i].YAML)
		if a[i].Kind == KindDetection || !strings.Contains(a[i].Ref, ".") {
			for _, want := range []string{"attack.defense-evasion", "attack.t1578.004", "https://attack.mitre.org/techniques/T1578/004/",
				"status: experimental", "author: 'revertwatch'", "date: " + ContentDate, "level: ", SeedFalsePositives[0], SeedFalsePositives[3]} {
				if !strings.Contains(y, want) {
					t.Errorf("%s lacks %q", a[i].Name, want)
				}
			}
		}
	}
	if got := RuleUUID(content.RuleStopStart); got != "82aac5e7-3761-57ef-a8b7-5b666c3abfe5" {
		t.Errorf("the id of %s changed to %s: ids must be stable", content.RuleStopStart, got)
	}
	// Every sequence is a temporal_ordered correlation with aliases, every
	// native revert a detection rule.
	byRef := map[string]Document{}
	for _, d := range a {
		byRef[d.Ref] = d
	}
	for _, d := range content.Reverts() {
		doc, ok := byRef[d.ID()]
		if !ok {
			t.Errorf("no document named %s", d.ID())
			continue
		}
		if len(d.Rule.Steps) > 1 && (doc.Kind != KindCorrelation || !strings.Contains(string(doc.YAML), "temporal_ordered") ||
			!strings.Contains(string(doc.YAML), "aliases:")) {
			t.Errorf("%s: want a temporal_ordered correlation with aliases:\n%s", d.ID(), doc.YAML)
		}
		if len(d.Rule.Steps) == 1 && doc.Kind != KindDetection {
			t.Errorf("%s: want a detection rule", d.ID())
		}
	}
}

func TestExportFilesLoad(t *testing.T) {
	dir := t.TempDir()
	for _, d := range exportAll(t) {
		if err := os.WriteFile(filepath.Join(dir, d.Name), d.YAML, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rs, err := Load([]string{dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs.Problems) > 0 || len(rs.Rules) != len(exportAll(t)) {
		t.Errorf("loaded %d of %d, problems %v", len(rs.Rules), len(exportAll(t)), rs.Problems)
	}
}
