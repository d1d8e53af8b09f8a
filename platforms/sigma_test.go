package platforms

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/revertwatch/revertwatch/content"
	"github.com/revertwatch/revertwatch/sigma"
)

// specDir is the shared Sigma specification and its JSON schemas.
const specDir = "../../shared/corpus/sigma-specification"

func exportAll(t *testing.T) []SigmaDocument {
	t.Helper()
	docs, err := ExportSigma(content.Reverts(), SigmaOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return docs
}

// TestExportValidatesAgainstSchemas lints the export as one stream (the
// correlations name the detection rules beside them) with the
// specification's JSON schemas from the shared folder: every document
// against its schema, and lint's semantic checks.
func TestExportValidatesAgainstSchemas(t *testing.T) {
	if _, err := os.Stat(specDir); err != nil {
		t.Skipf("shared corpus not found at %s (it lives beside the repository as ../shared/corpus): %v", specDir, err)
	}
	var stream bytes.Buffer
	if err := WriteSigma(&stream, exportAll(t)); err != nil {
		t.Fatal(err)
	}
	res, err := sigma.Lint("export.yml", stream.Bytes(), sigma.LintOptions{SchemaDir: specDir})
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
		if a[i].Kind == sigma.KindDetection || !strings.Contains(a[i].Ref, ".") {
			for _, want := range []string{"attack.defense-evasion", "attack.t1578.004", "https://attack.mitre.org/techniques/T1578/004/",
				"status: experimental", "author: 'revertwatch'", "date: " + SigmaDate, "level: ", SeedFalsePositives[0], SeedFalsePositives[3]} {
				if !strings.Contains(y, want) {
					t.Errorf("%s lacks %q", a[i].Name, want)
				}
			}
		}
	}
	if got := SigmaRuleUUID(content.RuleStopStart); got != "82aac5e7-3761-57ef-a8b7-5b666c3abfe5" {
		t.Errorf("the id of %s changed to %s: ids must be stable", content.RuleStopStart, got)
	}
	// Every sequence is a temporal_ordered correlation with aliases, every
	// native revert a detection rule.
	byRef := map[string]SigmaDocument{}
	for _, d := range a {
		byRef[d.Ref] = d
	}
	for _, d := range content.Reverts() {
		doc, ok := byRef[d.ID()]
		if !ok {
			t.Errorf("no document named %s", d.ID())
			continue
		}
		if len(d.Rule.Steps) > 1 && (doc.Kind != sigma.KindCorrelation || !strings.Contains(string(doc.YAML), "temporal_ordered") ||
			!strings.Contains(string(doc.YAML), "aliases:")) {
			t.Errorf("%s: want a temporal_ordered correlation with aliases:\n%s", d.ID(), doc.YAML)
		}
		if len(d.Rule.Steps) == 1 && doc.Kind != sigma.KindDetection {
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
	rs, err := sigma.Load([]string{dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs.Problems) > 0 || len(rs.Rules) != len(exportAll(t)) {
		t.Errorf("loaded %d of %d, problems %v", len(rs.Rules), len(exportAll(t)), rs.Problems)
	}
}

// sigmaGolden is the export the sigma package's own tests run (they
// cannot import this package, which imports theirs).
const sigmaGolden = "../sigma/testdata/exported.yml"

// The sigma package's copy of the export is the export.
func TestSigmaGoldenCurrent(t *testing.T) {
	var got bytes.Buffer
	if err := WriteSigma(&got, exportAll(t)); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(sigmaGolden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("%s is not the current export; regenerate it: revertwatch rules export --format sigma > sigma/testdata/exported.yml", sigmaGolden)
	}
}
