package ingest_test

// Console exports (issue 18): the CloudTrail console's Event history CSV
// and the Azure portal's Activity log CSV are recognised by their header,
// decoded with what they lack said on every event, and a damaged row is
// reported at its own line while the rows after it are read.

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/ingest"
)

var consoleDir = filepath.Join("..", "testdata", "formats", "console")

func TestConsoleCloudTrailCSV(t *testing.T) {
	evs, diags, _, _ := readAll(t, ingest.Options{Jobs: 2}, filepath.Join(consoleDir, "cloudtrail-event-history.csv"))
	if len(diags) != 0 {
		t.Fatalf("diagnostics: %v", diags)
	}
	if len(evs) != 8 {
		t.Fatalf("%d events, want 8", len(evs))
	}
	byOp := map[string]*event.Event{}
	for i, ev := range evs {
		if ev.Format != event.FormatCloudTrailConsoleCSV || ev.Provider != event.AWS {
			t.Errorf("event %d: %s %s", i, ev.Provider, ev.Format)
		}
		if ev.Source.Line != i+2 || ev.Source.Index != i {
			t.Errorf("event %d placed at line %d index %d", i, ev.Source.Line, ev.Source.Index)
		}
		if len(ev.Notes) == 0 || !strings.Contains(ev.Notes[0], "no request or response bodies") {
			t.Errorf("event %d: notes %q do not say what the export lacks", i, ev.Notes)
		}
		byOp[ev.Operation] = ev
	}
	cv := byOp["CreateVolume"]
	if !slices.Equal(cv.Keys.SourceSnapshots, []string{"snap-0feedc0ffee123456"}) || !slices.Equal(cv.Keys.Volumes, []string{"vol-0123456789abcdef0"}) {
		t.Errorf("CreateVolume keys %+v", cv.Keys)
	}
	at := byOp["AttachVolume"]
	if !slices.Equal(at.Keys.Volumes, []string{"vol-0123456789abcdef0"}) || !slices.Equal(at.Keys.Instances, []string{"i-0a1b2c3d4e5f60718"}) {
		t.Errorf("AttachVolume keys %+v", at.Keys)
	}
	if at.Region != "eu-west-1" || at.Actor.Name != "dana.ops" || at.Actor.AccessKeyID != "ASIAEXAMPLEDANA0001" || at.SrcIP != "198.51.100.23" {
		t.Errorf("AttachVolume fields: region %q actor %+v ip %q", at.Region, at.Actor, at.SrcIP)
	}
	if ct := byOp["CreateTags"]; ct.Outcome != event.OutcomeFailure || ct.ErrorCode != "UnauthorizedOperation" {
		t.Errorf("CreateTags outcome %s %q", ct.Outcome, ct.ErrorCode)
	}
	if d := byOp["DescribeInstances"]; !d.ReadOnly {
		t.Error("DescribeInstances not read-only")
	}
}

// A download without the Resources column names its resources in the
// Resource type and Resource name columns; times in the console's own
// spelling are read.
func TestConsoleCloudTrailCSVColumns(t *testing.T) {
	data := "\ufeffEvent ID,Event time,User name,Event name,Resource type,Resource name,AWS region\r\n" +
		`e-1,"March 2, 2026, 10:04:12 (UTC+01:00)",dana,CreateVolume,"AWS::EC2::Snapshot, AWS::EC2::Volume","snap-1, vol-1",eu-west-1` + "\r\n" +
		`e-2,2026-03-02 10:06:02,dana,CopySnapshot,"AWS::EC2::Snapshot, AWS::EC2::Snapshot","snap-1, snap-2",eu-west-1` + "\r\n"
	evs, diags := readGCP(t, "history.csv", data, ingest.Options{})
	if len(diags) != 0 || len(evs) != 2 {
		t.Fatalf("%d events, diagnostics %v", len(evs), diags)
	}
	if got := evs[0].Time.UTC().Format("15:04:05"); got != "09:04:12" {
		t.Errorf("time %s, want 09:04:12 UTC", got)
	}
	if !slices.Equal(evs[0].Keys.SourceSnapshots, []string{"snap-1"}) || !slices.Equal(evs[0].Keys.Volumes, []string{"vol-1"}) {
		t.Errorf("keys %+v", evs[0].Keys)
	}
	// CopySnapshot names two snapshots: which is the source is not said.
	if len(evs[1].Keys.Snapshots)+len(evs[1].Keys.SourceSnapshots) != 0 || !strings.Contains(strings.Join(evs[1].Notes, ";"), "does not say") {
		t.Errorf("CopySnapshot keys %+v notes %q", evs[1].Keys, evs[1].Notes)
	}
	if !strings.Contains(strings.Join(evs[1].Notes, ";"), "no zone") {
		t.Errorf("a time without zone is not noted: %q", evs[1].Notes)
	}
}

func TestConsoleAzureCSV(t *testing.T) {
	evs, diags, _, _ := readAll(t, ingest.Options{Jobs: 2}, filepath.Join(consoleDir, "azure-activity-log.csv"))
	if len(diags) != 0 || len(evs) != 8 {
		t.Fatalf("%d events, diagnostics %v", len(evs), diags)
	}
	for i, ev := range evs {
		if ev.Format != event.FormatAzurePortalCSV || ev.Provider != event.Azure {
			t.Errorf("event %d: %s %s", i, ev.Provider, ev.Format)
		}
	}
	disk := evs[4]
	if disk.Operation != "microsoft.compute/disks/write" || disk.Phase != event.PhaseEnd || disk.Outcome != event.OutcomeSuccess ||
		disk.Keys.Disk == "" || disk.Caller != "eve.intruder@contoso.example" || disk.Account != "5a1d2b3c-0000-4e11-8a22-9b8c7d6e5f40" {
		t.Errorf("disk write: %+v", disk)
	}
	if evs[1].Phase != event.PhaseStart {
		t.Errorf("Started row: phase %q", evs[1].Phase)
	}
	// A display name with no known operation id is kept and said so.
	if evs[0].OperationName != "List Storage Account Keys" || !strings.Contains(strings.Join(evs[0].Notes, ";"), "display name") {
		t.Errorf("unmapped display name: %q, notes %q", evs[0].OperationName, evs[0].Notes)
	}
}

// One unbalanced quote does not swallow the rows after it; a row of the
// wrong width and a row without a readable time are rejected in place.
func TestConsoleCSVBadRows(t *testing.T) {
	hdr := "Operation name,Status,Time stamp,Event initiated by,Resource\n"
	row := func(op, ts string) string {
		return op + ",Succeeded," + ts + ",a@example.com,/subscriptions/5a1d2b3c-0000-4e11-8a22-9b8c7d6e5f40/resourceGroups/rg/providers/Microsoft.Compute/disks/d\n"
	}
	data := hdr +
		row("Create or Update Disk", "2026-03-03T14:00:00Z") +
		`"Delete Disk,Succeeded,2026-03-03T14:01:00Z,a@example.com,/x` + "\n" + // the quote never closes
		row("Delete Disk", "2026-03-03T14:02:00Z") +
		"Delete Disk,Succeeded\n" +
		row("Delete Disk", "yesterday") +
		row("Create or Update Snapshot", "Tue Mar 03 2026 15:05:00 GMT+0100 (Central European Standard Time)")
	evs, diags := readGCP(t, "activity.csv", data, ingest.Options{})
	if len(evs) != 3 {
		t.Fatalf("%d events, want 3; diagnostics %v", len(evs), diags)
	}
	if evs[2].Time.UTC().Format("15:04") != "14:05" {
		t.Errorf("browser time read as %s", evs[2].Time)
	}
	var lines []int
	for _, d := range diags {
		if d.Severity != ingest.Rejected {
			t.Errorf("diagnostic %v is not a rejection", d)
		}
		lines = append(lines, d.Line)
	}
	if !slices.Equal(lines, []int{3, 5, 6}) {
		t.Errorf("rejected at lines %v, want 3, 5, 6: %v", lines, diags)
	}
	if !strings.Contains(diags[0].Msg, "quoted field") || !strings.Contains(diags[1].Msg, "fields") || !strings.Contains(diags[2].Msg, "not a time") {
		t.Errorf("messages: %v", diags)
	}
}

// A gzipped download is read; a CSV that is no console export still gets
// the CSV hint.
func TestConsoleCSVGzipAndForeign(t *testing.T) {
	data := "Event name,Event time,Event source\nStopInstances,2026-03-02T10:02:40Z,ec2.amazonaws.com\n"
	evs, diags := readGCP(t, "h.csv.gz", string(gzipBytes(t, []byte(data))), ingest.Options{})
	if len(evs) != 1 || len(diags) != 0 {
		t.Fatalf("gzip: %d events, %v", len(evs), diags)
	}
	_, diags = readGCP(t, "other.csv", "name,size\nx,1\n", ingest.Options{})
	if len(diags) != 1 || !strings.Contains(diags[0].Msg, "CSV") {
		t.Fatalf("foreign CSV: %v", diags)
	}
}

// A forced JSON format does not read a console CSV as something else: the
// file is refused, saying why.
func TestConsoleCSVForcedFormat(t *testing.T) {
	data := "Event name,Event time\nStopInstances,2026-03-02T10:02:40Z\n"
	evs, diags := readGCP(t, "h.csv", data, ingest.Options{Format: ingest.FormatAzure})
	if len(evs) != 0 || len(diags) != 1 || diags[0].Severity != ingest.FileErr || !strings.Contains(diags[0].Msg, "forced format azure") {
		t.Fatalf("%d events, %v", len(evs), diags)
	}
	if evs, _ := readGCP(t, "h.csv", data, ingest.Options{Format: ingest.FormatAuto}); len(evs) != 1 {
		t.Errorf("auto: %d events", len(evs))
	}
}
