package ingest_test

import (
	"context"
	"encoding/base64"
	"io"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/ingest"
)

// The Google Cloud fixtures (testdata/README-gcp.md): one set of Cloud
// Audit Logs entries in each delivery shape, each recognised by content.
var gcpShapes = []struct {
	file   string
	format event.Format
}{
	{"gcp/gcloud-logging-read.json", event.FormatGCPArray},
	{"gcp/storage-sink/cloudaudit.googleapis.com/activity/2024/05/29/16_00_00_16_59_59_S0.json", event.FormatGCPLogEntry},
	{"gcp/entries-list.json", event.FormatGCPEntries},
	{"gcp/pubsub-push.jsonl", event.FormatGCPPubSub},
	{"gcp/pubsub-pull.json", event.FormatGCPPubSub},
	{"gcp/bigquery-rows.jsonl", event.FormatGCPBigQuery},
}

// uids returns the sorted record ids of events.
func uids(evs []*event.Event) []string {
	var out []string
	for _, ev := range evs {
		out = append(out, ev.UID)
	}
	sort.Strings(out)
	return out
}

// Every shape yields the same entries with the same ids (so that one
// entry delivered twice, in two shapes, is one), the same operation,
// phase and keys.
func TestGCPShapesAgree(t *testing.T) {
	var want []*event.Event
	for _, c := range gcpShapes {
		t.Run(c.file, func(t *testing.T) {
			evs, _ := fixture(t, c.file)
			for _, ev := range evs {
				eq(t, "provider", ev.Provider, event.GCP)
				eq(t, "format", ev.Format, c.format)
				eq(t, "account", ev.Account, "acme-prod")
				eq(t, "_sourceHost", ev.Source.Host, "acme-prod")
				eq(t, "_sourceCategory", ev.Source.Category, event.CategoryGCP)
			}
			byUID := func(evs []*event.Event) map[string]*event.Event {
				m := map[string]*event.Event{}
				for _, ev := range evs {
					m[ev.UID] = ev
				}
				return m
			}
			if want == nil {
				want = evs
				return
			}
			if !slices.Equal(uids(evs), uids(want)) {
				t.Fatalf("ids differ from %s:\n got  %v\n want %v", gcpShapes[0].file, uids(evs), uids(want))
			}
			w := byUID(want)
			for _, ev := range evs {
				o := w[ev.UID]
				eq(t, ev.UID+" operation", ev.Operation, o.Operation)
				eq(t, ev.UID+" phase", ev.Phase, o.Phase)
				eq(t, ev.UID+" outcome", ev.Outcome, o.Outcome)
				eq(t, ev.UID+" time", ev.Time, o.Time)
				eq(t, ev.UID+" caller", ev.Caller, o.Caller)
				eq(t, ev.UID+" correlation", ev.CorrelationUID, o.CorrelationUID)
				eq(t, ev.UID+" keys", keysOf(ev), keysOf(o))
			}
		})
	}
}

func keysOf(ev *event.Event) string {
	k := ev.Keys
	return strings.Join([]string{strings.Join(k.Instances, ","), strings.Join(k.Volumes, ","), strings.Join(k.SourceVolumes, ","),
		strings.Join(k.Snapshots, ","), strings.Join(k.SourceSnapshots, ","), strings.Join(k.Images, ","),
		strings.Join(k.SourceInstances, ","), k.RootDeviceName, k.RecoveryPoint}, "|")
}

// The normalized event of the shape-by-shape reference entries.
func TestGCPNormalized(t *testing.T) {
	evs, _ := fixture(t, "gcp/gcloud-logging-read.json")
	// gcloud writes newest first.
	if !evs[0].Time.After(evs[len(evs)-1].Time) {
		t.Errorf("gcloud fixture is not newest first")
	}
	var stops []*event.Event
	for _, ev := range evs {
		if ev.Operation == "compute.instances.stop" && ev.Caller == "alice@acme.example" {
			stops = append(stops, ev)
		}
	}
	if len(stops) != 4 {
		t.Fatalf("%d stop entries of alice", len(stops))
	}
	last, first := stops[len(stops)-2], stops[len(stops)-1] // web-1's: newest first
	eq(t, "operation without the API version", first.OperationName, "v1.compute.instances.stop")
	eq(t, "first entry phase", first.Phase, event.PhaseStart)
	eq(t, "first entry outcome", first.Outcome, event.OutcomePending)
	eq(t, "last entry phase", last.Phase, event.PhaseEnd)
	eq(t, "last entry outcome", last.Outcome, event.OutcomeSuccess)
	eq(t, "one operation", first.CorrelationUID, last.CorrelationUID)
	eq(t, "region is the zone", first.Region, "us-central1-a")
	eq(t, "src_ip", first.SrcIP, "203.0.113.7")
	eq(t, "user agent", first.UserAgent, "google-cloud-sdk gcloud/480.0.0 command/gcloud.compute.instances.stop,gzip(gfe)")
	eq(t, "principal subject", first.Actor.UID, "user:alice@acme.example")
	eq(t, "instance key", first.Keys.Instances[0], "projects/acme-prod/zones/us-central1-a/instances/web-1")
	rg, _ := first.Alias("resourceGroup")
	eq(t, "resourceGroup alias", rg, "us-central1-a")

	var disk *event.Event
	for _, ev := range evs {
		if ev.Operation == "compute.disks.insert" && strings.HasSuffix(ev.ResourceID, "/web-1-r") && ev.Phase == event.PhaseStart {
			disk = ev
		}
	}
	eq(t, "beta. dropped", disk.Operation, "compute.disks.insert")
	eq(t, "v6 caller", disk.SrcIP, "2001:db8::7")
	eq(t, "source snapshot from a full URL", strings.Join(disk.Keys.SourceSnapshots, ","), "projects/acme-prod/global/snapshots/web-1-0529")
	eq(t, "disk created", strings.Join(disk.Keys.Volumes, ","), "projects/acme-prod/zones/us-central1-a/disks/web-1-r")

	attach := find(t, evs, "compute.instances.attachDisk", 1)
	if attach.Keys.RootDeviceName == "" {
		attach = find(t, evs, "compute.instances.attachDisk", 3)
	}
	eq(t, "boot attach", attach.Keys.RootDeviceName != "", true)

	failed := find(t, evs, "compute.instances.stop", 0)
	for _, ev := range evs {
		if ev.Caller == "mallory@acme.example" {
			failed = ev
		}
	}
	eq(t, "failure", failed.Outcome, event.OutcomeFailure)
	eq(t, "failure code", failed.ErrorCode, "7")
	eq(t, "failure phase (no operation)", failed.Phase, event.PhaseNone)

	sys := find(t, evs, "compute.instances.automaticRestart", 0)
	eq(t, "system event type", sys.EventType, "system_event")
	eq(t, "system event caller", sys.Caller, "system@google.com")
	eq(t, "system event is the platform's", sys.Actor.ServiceInitiated, true)
	eq(t, "system event both flags: one record", sys.Phase, event.PhaseNone)

	restore := find(t, evs, "google.cloud.backupdr.v1.BackupDR.RestoreBackup", 1)
	eq(t, "backup restored", restore.Keys.RecoveryPoint, "projects/acme-prod/locations/us-central1/backupVaults/vault-1/dataSources/ds-web-1/backups/bk-0528")

	bq, _ := fixture(t, "gcp/bigquery-rows.jsonl")
	eq(t, "BigQuery time", bq[0].Time.Format("2006-01-02T15:04:05.000Z07:00"), "2024-05-29T15:10:00.120Z")
}

// A sink that exports other logs too: the entries without an AuditLog
// are skipped and counted, not rejected, and the audit entries are kept.
func TestGCPNonAuditSkipped(t *testing.T) {
	evs, diags, _, sum := readAll(t, ingest.Options{Jobs: 1}, formatsDir+"/"+gcpShapes[1].file)
	if len(evs) != 48 || sum.Rejected != 0 {
		t.Errorf("%d events, %d rejected", len(evs), sum.Rejected)
	}
	if len(diags) != 1 || diags[0].Severity != ingest.Skipped || !strings.Contains(diags[0].Msg, "without an AuditLog") {
		t.Errorf("diags %+v", diags)
	}
}

// readGCP decodes data as one file named name.
func readGCP(t *testing.T, name, data string, opt ingest.Options) ([]*event.Event, []ingest.Diag) {
	t.Helper()
	opt.Jobs = 1
	opt.Open = func(string) (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(data)), nil }
	var evs []*event.Event
	var diags []ingest.Diag
	_, err := ingest.Read(context.Background(), []string{name}, opt, ingest.Handlers{
		Event: func(ev *event.Event) error { evs = append(evs, ev); return nil },
		Diag:  func(d ingest.Diag) { diags = append(diags, d) },
	})
	if err != nil {
		t.Fatal(err)
	}
	return evs, diags
}

const gcpEntry = `{"insertId":"x1","logName":"projects/p/logs/cloudaudit.googleapis.com%2Factivity","protoPayload":{"@type":"type.googleapis.com/google.cloud.audit.AuditLog",` +
	`"methodName":"v1.compute.instances.stop","resourceName":"projects/p/zones/z/instances/i"},"timestamp":"2024-05-29T16:00:00Z"}`

// Bad Pub/Sub bodies are rejected with the file, line and what is wrong;
// the good ones around them are kept.
func TestGCPBadInput(t *testing.T) {
	good := `{"message":{"data":"` + base64.StdEncoding.EncodeToString([]byte(gcpEntry)) + `","messageId":"1"},"subscription":"s"}`
	lines := []string{
		good,
		`{"message":{"data":"!!!not-base64","messageId":"2"},"subscription":"s"}`,
		`{"message":{"data":"` + base64.StdEncoding.EncodeToString([]byte(`{"not":"a log entry"}`)) + `"},"subscription":"s"}`,
		`{"message":{"data":"` + base64.StdEncoding.EncodeToString([]byte(`{"insertId":`)) + `"},"subscription":"s"}`,
		`{"message":{"data":"` + base64.StdEncoding.EncodeToString([]byte(`{"logName":"projects/p/logs/cloudaudit.googleapis.com%2Factivity","timestamp":"2024-05-29T16:00:00Z","protoPayload":{"@type":"type.googleapis.com/google.cloud.audit.AuditLog"}}`)) + `"}}`,
		`{"message":{"data":"` + base64.StdEncoding.EncodeToString([]byte(gcpEntry)) + `","messageId":"6"},"subscription":"s"}`,
	}
	evs, diags := readGCP(t, "push.jsonl", strings.Join(lines, "\n")+"\n", ingest.Options{})
	if len(evs) != 2 {
		t.Errorf("%d events, want the two good bodies", len(evs))
	}
	want := map[int]string{2: "not base64", 3: "not a Cloud Audit Logs entry", 4: "not a JSON object", 5: "no operation"}
	if len(diags) != len(want) {
		t.Errorf("diags %+v", diags)
	}
	for _, d := range diags {
		if d.File != "push.jsonl" || !strings.Contains(d.Msg, want[d.Line]) || d.Severity != ingest.Rejected {
			t.Errorf("line %d: %s %q, want %q", d.Line, d.Severity, d.Msg, want[d.Line])
		}
	}

	// A forced format that the record is not.
	_, diags = readGCP(t, "ct.json", `{"eventVersion":"1.08","eventName":"StopInstances","eventTime":"2024-05-29T16:00:00Z"}`+"\n", ingest.Options{Format: ingest.FormatGCPPubSub})
	if len(diags) != 1 || !strings.Contains(diags[0].Msg, "not a Pub/Sub message") {
		t.Errorf("forced Pub/Sub on CloudTrail: %+v", diags)
	}
	_, diags = readGCP(t, "ct.json", `{"eventVersion":"1.08","eventName":"StopInstances","eventTime":"2024-05-29T16:00:00Z"}`+"\n", ingest.Options{Format: ingest.FormatGCP})
	if len(diags) != 1 || diags[0].Severity != ingest.Skipped && !strings.Contains(diags[0].Msg, "forced format") {
		t.Errorf("forced gcp on CloudTrail: %+v", diags)
	}
	// A BigQuery row whose requestJson is not JSON: the event is kept
	// without its keys from the body.
	row := `{"logName":"projects/p/logs/cloudaudit.googleapis.com%2Factivity","timestamp":"2024-05-29 16:00:00 UTC","insertId":"b",` +
		`"protopayload_auditlog":{"methodName":"v1.compute.disks.insert","resourceName":"projects/p/zones/z/disks/d","requestJson":"{not json"}}`
	evs, diags = readGCP(t, "bq.json", row+"\n", ingest.Options{})
	if len(evs) != 1 || len(diags) != 0 || evs[0].Keys.Volumes[0] != "projects/p/zones/z/disks/d" || evs[0].Request != nil {
		t.Errorf("bigquery row with a bad requestJson: %+v %+v", evs, diags)
	}
}

// --input-format accepts the GCP formats, and forcing them decodes what
// auto recognises the same way.
func TestGCPForcedFormats(t *testing.T) {
	for _, c := range []struct {
		f    ingest.Format
		file string
	}{{ingest.FormatGCP, gcpShapes[0].file}, {ingest.FormatGCPPubSub, gcpShapes[3].file}, {ingest.FormatGCPBigQuery, gcpShapes[5].file}} {
		if _, err := ingest.ParseFormat(string(c.f)); err != nil {
			t.Fatal(err)
		}
		auto, _, _, _ := readAll(t, ingest.Options{Jobs: 1}, formatsDir+"/"+c.file)
		forced, diags, _, _ := readAll(t, ingest.Options{Jobs: 1, Format: c.f}, formatsDir+"/"+c.file)
		if !slices.Equal(uids(auto), uids(forced)) || len(diags) != 0 {
			t.Errorf("%s: forced %d events (%v), auto %d", c.f, len(forced), diags, len(auto))
		}
	}
}
