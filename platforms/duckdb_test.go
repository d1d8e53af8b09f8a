package platforms

import (
	"context"
	"database/sql"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2" // the DuckDB driver, for the SQL export test only

	"github.com/revertwatch/revertwatch/detect"
	"github.com/revertwatch/revertwatch/emulate"
	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/finding"
	"github.com/revertwatch/revertwatch/ingest"
)

// statements splits the script at the ends of its statements: every
// statement of the export ends with ";" at the end of a line.
func statements(script string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.SplitAfter(script, "\n") {
		cur.WriteString(line)
		if strings.HasSuffix(strings.TrimRight(line, "\n"), ";") && !strings.HasPrefix(strings.TrimSpace(line), "--") {
			out = append(out, cur.String())
			cur.Reset()
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" && !strings.HasPrefix(s, "--") {
		out = append(out, s)
	}
	return out
}

// The SQL export, run by DuckDB over the raw emulated files, finds exactly
// the findings 'hunt' finds in the same files: the same finding ids,
// recomputed from the rule, scope and binding keys the query returns.
func TestSQLExportMatchesHunt(t *testing.T) {
	if testing.Short() {
		t.Skip("DuckDB run skipped in -short mode")
	}
	dir := t.TempDir()
	c, err := emulate.Generate(emulate.Options{Seed: 11, Noise: 300,
		Shapes: []emulate.Shape{event.FormatCloudTrailRecords, event.FormatAzureStorage, event.FormatGCPLogEntry}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Write(dir); err != nil {
		t.Fatal(err)
	}
	ctDir := filepath.Join(dir, string(event.FormatCloudTrailRecords))
	azDir := filepath.Join(dir, string(event.FormatAzureStorage))
	gcpDir := filepath.Join(dir, string(event.FormatGCPLogEntry))

	// hunt, as the CLI runs it.
	inputs, err := ingest.Expand([]string{ctDir, azDir, gcpDir})
	if err != nil {
		t.Fatal(err)
	}
	opt := ingest.Options{Jobs: 2}
	inputs = ingest.SortByTime(context.Background(), inputs, opt)
	det, err := detect.New(detect.Options{Lateness: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ingest.Read(context.Background(), inputs, opt, ingest.Handlers{Event: func(ev *event.Event) error {
		det.Process(ev)
		return nil
	}}); err != nil {
		t.Fatal(err)
	}
	det.Flush()
	want := map[string]string{}
	for _, f := range det.Findings() {
		if unlogged(f) {
			// The SQL counts an Azure operation by its Success record;
			// one whose outcome was never logged is beyond it.
			continue
		}
		want[f.GroupID] = f.RuleID
	}
	if len(want) < 15 {
		t.Fatalf("hunt found only %d findings in the emulation", len(want))
	}

	var script strings.Builder
	if err := WriteSQL(&script, SQLOptions{
		CloudTrail: filepath.ToSlash(filepath.Join(ctDir, "**", "*.json.gz")),
		Azure:      filepath.ToSlash(filepath.Join(azDir, "**", "*.json")),
		GCP:        filepath.ToSlash(filepath.Join(gcpDir, "**", "*.json")),
	}); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1) // temp views live in one connection
	stmts := statements(script.String())
	for _, s := range stmts[:len(stmts)-1] {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%v\nin:\n%s", err, s)
		}
	}
	rows, err := db.Query(stmts[len(stmts)-1])
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string]string{}
	for rows.Next() {
		var rule, provider, account, region string
		var bindings []any
		var first, last time.Time
		var n int64
		if err := rows.Scan(&rule, &provider, &account, &region, &bindings, &first, &last, &n); err != nil {
			t.Fatal(err)
		}
		keys := []string{provider, account, region}
		for _, b := range bindings {
			keys = append(keys, b.(string))
		}
		// The SQL has no event identities: it names groups (rule and
		// keys), as group_id does.
		got[finding.StableID(rule, keys...)] = rule + " " + strings.Join(keys, " ")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	t.Logf("hunt: %d findings; DuckDB: %d", len(want), len(got))
	rulesSeen := map[string]bool{}
	for _, r := range want {
		rulesSeen[r] = true
	}
	if len(rulesSeen) < len(Detections())-1 {
		t.Errorf("the emulation exercises only %d of %d detections", len(rulesSeen), len(Detections()))
	}
	var missing, extra []string
	for id, rule := range want {
		if _, ok := got[id]; !ok {
			missing = append(missing, rule+" "+id)
		}
	}
	for id, desc := range got {
		if _, ok := want[id]; !ok {
			extra = append(extra, desc)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 || len(extra) > 0 {
		t.Errorf("SQL vs hunt: %d findings, hunt %d\nmissing from SQL:\n  %s\nonly in SQL:\n  %s",
			len(got), len(want), strings.Join(missing, "\n  "), strings.Join(extra, "\n  "))
	}
}

func unlogged(f finding.Finding) bool {
	for _, r := range f.Reasons {
		if strings.Contains(r, "was not logged") {
			return true
		}
	}
	return false
}
