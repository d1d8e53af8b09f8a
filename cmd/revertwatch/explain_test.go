package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/revertwatch/revertwatch/emulate"
	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/explain"
	"github.com/revertwatch/revertwatch/ingest"
)

// emulated writes the chain scenario as S3 CloudTrail files under a temp
// directory.
func emulated(t *testing.T) string {
	t.Helper()
	c, err := emulate.Generate(emulate.Options{Seed: 3, Noise: 50, Scenarios: []string{"aws-chain-snapshot-volume-attach"},
		Shapes: []emulate.Shape{event.FormatCloudTrailRecords}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := c.Write(dir); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, string(event.FormatCloudTrailRecords))
}

func TestExplainByIDAndFromStdin(t *testing.T) {
	logs := emulated(t)
	out, err := run(t, "hunt", "--quiet", "--format", "ndjson", logs)
	if err != nil {
		t.Fatal(err)
	}
	var id string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var f struct {
			ID     string `json:"id"`
			RuleID string `json:"rule_id"`
		}
		if err := json.Unmarshal([]byte(line), &f); err != nil {
			t.Fatal(err)
		}
		if f.RuleID == "aws-snapshot-volume-instance" {
			id = f.ID
		}
	}
	if id == "" {
		t.Fatalf("no chain finding in %s", out)
	}

	md, err := run(t, "explain", "--quiet", "--input", logs, id[:12])
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# EBS snapshot restored", "## Lineage", "## Replaced by the revert", "DeleteVolume", "## Response playbook"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q", want)
		}
	}

	// The same finding piped in as ndjson.
	stdin, err := os.CreateTemp(t.TempDir(), "findings")
	if err != nil {
		t.Fatal(err)
	}
	stdin.WriteString(out)
	stdin.Seek(0, 0)
	root := newRootCmd()
	root.SetIn(stdin)
	var buf strings.Builder
	root.SetOut(&buf)
	root.SetArgs([]string{"explain", "--quiet", "-i", logs, "-f", "json", "-"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(strings.TrimSpace(buf.String()), "\n") + 1; n != strings.Count(strings.TrimSpace(out), "\n")+1 {
		t.Errorf("%d bundles for the piped findings", n)
	}

	// hunt --explain writes bundles instead of the list.
	page, err := run(t, "hunt", "--quiet", "--explain=html", logs)
	if err != nil || !strings.HasPrefix(page, "<!doctype html>") {
		t.Errorf("hunt --explain=html: %v, output starts %.40q", err, page)
	}
	// ... with the calls no rule uses decoded whole: the actor's detach,
	// start and delete are on the timeline, the delete among the deletions.
	hmd, err := run(t, "hunt", "--quiet", "--explain", logs)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| `DetachVolume` |", "| `StartInstances` |", "deleted 4m after the revert's last step by the actor"} {
		if !strings.Contains(hmd, want) {
			t.Errorf("hunt --explain lacks %q", want)
		}
	}

	var ee *exitError
	for _, args := range [][]string{
		{"explain", "--quiet", "-i", logs, "rw-nosuchfinding"},
		{"explain", "--quiet", "-i", logs, "-f", "pdf", id},
		{"explain", "--quiet", id},
		{"hunt", "--quiet", "--explain=pdf", logs},
	} {
		if _, err := run(t, args...); !errors.As(err, &ee) || ee.code != exitUsage {
			t.Errorf("%v: got %v, want a usage error", args, err)
		}
	}
}

// hunt --explain and explain read the logs again for the bundles' calls
// only; the bundles are those of an index of every call, in every shape.
func TestHuntExplainSameAsFullIndex(t *testing.T) {
	c, err := emulate.Generate(emulate.Options{Seed: 9, Noise: 400, Order: emulate.OrderShuffled, Span: 2 * 24 * time.Hour,
		Shapes: []emulate.Shape{event.FormatCloudTrailRecords, event.FormatCloudTrailLines, event.FormatAzureStorage, event.FormatAzureREST}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := c.Write(dir); err != nil {
		t.Fatal(err)
	}
	list, err := run(t, "hunt", "--quiet", "--format", "ndjson", dir)
	if err != nil {
		t.Fatal(err)
	}
	fs, err := readFindings(strings.NewReader(list))
	if err != nil || len(fs) < 10 {
		t.Fatalf("%d findings: %v", len(fs), err)
	}
	files, err := ingest.Expand([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	x := explain.NewIndex()
	if _, err := ingest.Read(context.Background(), files, ingest.Options{}, ingest.Handlers{Event: func(ev *event.Event) error {
		x.Add(ev)
		return nil
	}}); err != nil {
		t.Fatal(err)
	}
	var want strings.Builder
	bs := make([]*explain.Bundle, 0, len(fs))
	for _, f := range fs {
		bs = append(bs, x.Explain(f, explain.Options{}))
	}
	if err := explain.Write(&want, explain.FormatJSON, bs); err != nil {
		t.Fatal(err)
	}

	got, err := run(t, "hunt", "--quiet", "--explain=json", dir)
	if err != nil {
		t.Fatal(err)
	}
	if got != want.String() {
		t.Errorf("hunt --explain=json differs from the bundles of a full index:\n%s", firstDiff(got, want.String()))
	}

	ids := make([]string, 0, len(fs))
	for _, f := range fs {
		ids = append(ids, f.ID)
	}
	got, err = run(t, append([]string{"explain", "--quiet", "-f", "json", "-i", dir}, ids...)...)
	if err != nil {
		t.Fatal(err)
	}
	if got != want.String() {
		t.Errorf("explain -f json differs from the bundles of a full index:\n%s", firstDiff(got, want.String()))
	}
}

// firstDiff shows where two outputs part.
func firstDiff(a, b string) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	from := max(0, i-200)
	return fmt.Sprintf("at byte %d:\n got: %.400s\nwant: %.400s", i, a[from:], b[from:])
}

// TestExplainHonoursFilters: the bundles' second read keeps to the record
// filters of the first, so that with --until a bundle shows none of the
// actor's later calls, which the findings could not have seen (it did
// before); hunt --explain and explain alike. JSON lines: their file
// names say nothing of time, so --until prunes none of them.
func TestExplainHonoursFilters(t *testing.T) {
	c, err := emulate.Generate(emulate.Options{Seed: 9, Noise: 400, Span: 2 * 24 * time.Hour,
		Shapes: []emulate.Shape{event.FormatCloudTrailLines}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := c.Write(dir); err != nil {
		t.Fatal(err)
	}
	type bundle struct {
		Finding struct {
			ID       string
			LastSeen time.Time `json:"last_seen"`
		} `json:"finding"`
		Timeline []struct {
			Entries []struct {
				Time time.Time `json:"time"`
			} `json:"entries"`
		} `json:"timeline"`
	}
	bundles := func(out string) []bundle {
		var bs []bundle
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			var b bundle
			if err := json.Unmarshal([]byte(line), &b); err != nil {
				t.Fatal(err)
			}
			bs = append(bs, b)
		}
		return bs
	}
	latest := func(b bundle) time.Time {
		var last time.Time
		for _, ph := range b.Timeline {
			for _, e := range ph.Entries {
				if e.Time.After(last) {
					last = e.Time
				}
			}
		}
		return last
	}
	all, err := run(t, "hunt", "--quiet", "--explain=json", dir)
	if err != nil {
		t.Fatal(err)
	}
	var until time.Time
	var id string
	for _, b := range bundles(all) {
		if latest(b).After(b.Finding.LastSeen.Add(time.Second)) {
			until, id = b.Finding.LastSeen.Add(time.Second), b.Finding.ID
			break
		}
	}
	if id == "" {
		t.Fatal("no bundle shows calls after its finding: the test would not test the filter")
	}
	for _, args := range [][]string{
		{"hunt", "--quiet", "--explain=json", "--until", until.Format(time.RFC3339Nano), dir},
		{"explain", "--quiet", "-f", "json", "--until", until.Format(time.RFC3339Nano), "-i", dir, id},
	} {
		out, err := run(t, args...)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, b := range bundles(out) {
			found = found || b.Finding.ID == id
			if last := latest(b); !last.Before(until) {
				t.Errorf("%s: the bundle of %s shows a call at %s, past --until %s", args[0], b.Finding.ID, last, until)
			}
		}
		if !found {
			t.Errorf("%s: finding %s is gone with --until %s", args[0], id, until)
		}
	}
}
