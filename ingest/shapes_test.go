package ingest_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/ingest"
)

// fixture decodes one file under testdata/formats.
func fixture(t *testing.T, rel string) ([]*event.Event, []ingest.FileStats) {
	t.Helper()
	evs, _, files, _ := readAll(t, ingest.Options{Jobs: 1}, filepath.Join(formatsDir, rel))
	return evs, files
}

func find(t *testing.T, evs []*event.Event, op string, nth int) *event.Event {
	t.Helper()
	for _, ev := range evs {
		if strings.EqualFold(ev.Operation, op) {
			if nth == 0 {
				return ev
			}
			nth--
		}
	}
	t.Fatalf("no event %q", op)
	return nil
}

func eq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

const s3File = "cloudtrail/AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/02/111122223333_CloudTrail_us-east-1_20261102T1425Z_Qm3a9XcT0pLk7WvB.json.gz"

func TestCloudTrailS3File(t *testing.T) {
	evs, files := fixture(t, s3File)
	eq(t, "events", len(evs), 9)
	eq(t, "gzip", files[0].Gzip, true)
	eq(t, "format", evs[0].Format, event.FormatCloudTrailRecords)

	backup := find(t, evs, "CreateSnapshot", 0)
	eq(t, "backup service-initiated", backup.Actor.ServiceInitiated, true)
	eq(t, "backup invokedBy", backup.Actor.InvokedBy, "backup.amazonaws.com")
	eq(t, "snapshot created", strings.Join(backup.Keys.Snapshots, ","), "snap-0badc0ffee1234567")
	eq(t, "snapshot of volume", strings.Join(backup.Keys.SourceVolumes, ","), "vol-0aaaabbbbccccdddd")
	eq(t, "backup src is a domain", backup.SrcDomain, "backup.amazonaws.com")

	dry := find(t, evs, "StartInstances", 0)
	eq(t, "dry run outcome", dry.Outcome, event.OutcomeNoOp)

	stop := find(t, evs, "StopInstances", 0)
	eq(t, "stop outcome", stop.Outcome, event.OutcomeSuccess)
	eq(t, "stop instance", strings.Join(stop.Keys.Instances, ","), "i-0a1b2c3d4e5f60718")
	eq(t, "console session as string", stop.Actor.ConsoleSession, true)
	eq(t, "caller is the ARN", stop.Caller, "arn:aws:sts::111122223333:assumed-role/OpsAdmin/mallory-ops")
	eq(t, "session name", stop.Actor.Name, "mallory-ops")
	eq(t, "role", stop.Actor.Role, "arn:aws:iam::111122223333:role/OpsAdmin")

	attach := find(t, evs, "AttachVolume", 0)
	eq(t, "failed attach", attach.Outcome, event.OutcomeFailure)
	eq(t, "error code", attach.ErrorCode, "Client.CustomerKeyHasBeenRevoked")
	eq(t, "null response kept null", len(attach.Response), 0)

	start := find(t, evs, "StartInstances", 1)
	eq(t, "console session as bool", start.Actor.ConsoleSession, true)
	dup := find(t, evs, "StartInstances", 2)
	eq(t, "duplicate keeps its eventID (dedup is the engine's)", dup.UID, start.UID)
	fix := find(t, evs, "StartInstances", 3)
	eq(t, "addendum original id", fix.OriginalUID, start.UID)

	run := find(t, evs, "RunInstances", 0)
	eq(t, "autoscaling service-initiated", run.Actor.ServiceInitiated, true)
	eq(t, "instance created", strings.Join(run.Keys.Instances, ","), "i-0fedcba9876543210")
	eq(t, "image launched", strings.Join(run.Keys.Images, ","), "ami-0c1d2e3f4a5b6c7d8")
	eq(t, "root device", run.Keys.RootDeviceName, "/dev/xvda")
	eq(t, "empty blockDeviceMapping {} gives no snapshots", len(run.Keys.SourceSnapshots), 0)

	rr := find(t, evs, "CreateReplaceRootVolumeTask", 0)
	eq(t, "{content, tag} instance", strings.Join(rr.Keys.Instances, ","), "i-0a1b2c3d4e5f60718")
	eq(t, "wrapper snapshot", strings.Join(rr.Keys.SourceSnapshots, ","), "snap-0badc0ffee1234567")
	eq(t, "task id", rr.Keys.RestoreTask, "replacevol-0123456789abcdef0")

	for name, want := range map[string]string{
		"operationName": "StopInstances", "resourceGroup": "us-east-1", "_sourceHost": "111122223333",
		"_sourceCategory": "aws/cloudtrail", "caller": stop.Caller,
	} {
		got, _ := stop.Alias(name)
		eq(t, "alias "+name, got, want)
	}
}

func TestCloudTrailChains(t *testing.T) {
	evs, _ := fixture(t, "cloudtrail/volume-and-image.jsonl")
	eq(t, "format", evs[0].Format, event.FormatCloudTrailLines)
	cv := find(t, evs, "CreateVolume", 0)
	av := find(t, evs, "AttachVolume", 0)
	eq(t, "volume from snapshot", strings.Join(cv.Keys.SourceSnapshots, ","), "snap-0fa1e2d3c4b5a6978")
	eq(t, "new volume joins the attach", cv.Keys.Volumes[0], av.Keys.Volumes[0])
	eq(t, "attach device", strings.Join(av.Keys.Devices, ","), "/dev/xvda")
	ri := find(t, evs, "RegisterImage", 0)
	run := find(t, evs, "RunInstances", 0)
	eq(t, "image from snapshot", strings.Join(ri.Keys.SourceSnapshots, ","), "snap-0fa1e2d3c4b5a6978")
	eq(t, "image joins the launch", ri.Keys.Images[0], run.Keys.Images[0])
	eq(t, "register root device", ri.Keys.RootDeviceName, "/dev/xvda")
}

func TestCloudTrailWrappers(t *testing.T) {
	for _, c := range []struct {
		file   string
		events int
		format event.Format
		logged bool
	}{
		{"cloudtrail/eventbridge.jsonl", 2, event.FormatCloudTrailEventBridge, true},
		{"cloudtrail/cloudwatch-payload.json", 2, event.FormatCloudTrailCloudWatch, true},
		{"cloudtrail/cloudwatch-lambda.json", 2, event.FormatCloudTrailCloudWatch, true},
		{"cloudtrail/cloudwatch-control.json", 0, "", false},
		{"cloudtrail/lookup-events.json", 2, event.FormatCloudTrailLookup, false},
		{"cloudtrail/array.json", 2, event.FormatCloudTrailLines, false},
		{"cloudtrail/single-record.json", 1, event.FormatCloudTrailLines, false},
	} {
		t.Run(c.file, func(t *testing.T) {
			evs, files := fixture(t, c.file)
			eq(t, "events", len(evs), c.events)
			for _, ev := range evs {
				eq(t, "format", ev.Format, c.format)
				eq(t, "logged time set", !ev.LoggedTime.IsZero(), c.logged)
				eq(t, "account", ev.Account, "111122223333")
				if ev.Operation == "" || ev.Time.IsZero() || ev.Caller == "" {
					t.Errorf("incomplete event %+v", ev)
				}
			}
			if c.events == 0 && files[0].NSkipped() != 1 {
				t.Errorf("control message not skipped: %+v", files[0])
			}
		})
	}
}

func TestAzureShapes(t *testing.T) {
	const disk = "/subscriptions/0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d/resourcegroups/prod-web-rg/providers/microsoft.compute/disks/web-01-os-restored"
	const snap = "/subscriptions/0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d/resourcegroups/prod-web-rg/providers/microsoft.compute/snapshots/web-01-os-2026-10-20"
	for _, c := range []struct {
		file   string
		format event.Format
		phases []event.Phase
	}{
		{"azure/rest-disk-write.json", event.FormatAzureREST, []event.Phase{event.PhaseStart, event.PhaseAccept, event.PhaseEnd}},
		{"azure/eventhub-records.json", event.FormatAzureEventHub, []event.Phase{event.PhaseStart, event.PhaseAccept, event.PhaseEnd}},
		{"azure/loganalytics-rows.json", event.FormatAzureLogAnalytics, []event.Phase{event.PhaseAccept, event.PhaseEnd}},
	} {
		t.Run(c.file, func(t *testing.T) {
			evs, _ := fixture(t, c.file)
			var phases []event.Phase
			for _, ev := range evs {
				if ev.Operation != "microsoft.compute/disks/write" {
					continue
				}
				phases = append(phases, ev.Phase)
				eq(t, "format", ev.Format, c.format)
				eq(t, "caller", ev.Caller, "mallory@contoso.example")
				eq(t, "account lower-cased", ev.Account, "0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d")
				eq(t, "disk key", ev.Keys.Disk, disk)
				eq(t, "correlation", ev.CorrelationUID, "c0a1b2c3-0002-4000-8000-000000000002")
				rg, _ := ev.Alias("resourceGroup")
				eq(t, "resourceGroup alias", strings.ToLower(rg), "prod-web-rg")
				if ev.Phase == event.PhaseEnd {
					eq(t, "terminal outcome", ev.Outcome, event.OutcomeSuccess)
				} else {
					eq(t, "phase outcome", ev.Outcome, event.OutcomePending)
				}
			}
			if !slices.Equal(phases, c.phases) {
				t.Errorf("phases %v, want %v", phases, c.phases)
			}
			// The body that names the snapshot is on the Start (request)
			// or the Accept (response) record.
			first := find(t, evs, "microsoft.compute/disks/write", 0)
			eq(t, "createOption", first.Keys.CreateOption, "Copy")
			eq(t, "source", first.Keys.SourceResource, snap)
		})
	}

	const pt1h = "azure/insights-activity-logs/resourceId=/SUBSCRIPTIONS/0B1C2D3E-4F50-4A6B-8C7D-9E0F1A2B3C4D/y=2026/m=11/d=02/h=14/m=00/PT1H.json"
	evs, _ := fixture(t, pt1h)
	eq(t, "PT1H events", len(evs), 9)
	vm := find(t, evs, "microsoft.compute/virtualmachines/write", 0)
	eq(t, "storage format", vm.Format, event.FormatAzureStorage)
	eq(t, "OS disk swapped in", vm.Keys.OSDisk, disk)
	eq(t, "vm key", vm.Keys.VM, "/subscriptions/0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d/resourcegroups/prod-web-rg/providers/microsoft.compute/virtualmachines/web-01")

	evs, _ = fixture(t, "azure/bodyless-autoscale-managed-identity.jsonl")
	mi, auto := evs[0], evs[1]
	eq(t, "body-less createOption unknown", mi.Keys.CreateOption, "")
	eq(t, "managed identity caller falls back to appid", mi.Caller, "6a5b4c3d-2e1f-4a0b-9c8d-7e6f5a4b3c2d")
	eq(t, "managed identity resource", mi.Actor.Role, "/subscriptions/0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d/resourcegroups/ops-rg/providers/Microsoft.Automation/automationAccounts/nightly-ops")
	eq(t, "autoscale service-initiated", auto.Actor.ServiceInitiated, true)
	eq(t, "synthetic uid for exports", strings.HasPrefix(mi.UID, "sha256:"), true)
}

// TestParallelOrder checks that decoding with several jobs gives exactly the
// order of decoding with one.
func TestParallelOrder(t *testing.T) {
	inputs, err := ingest.Expand([]string{formatsDir})
	if err != nil {
		t.Fatal(err)
	}
	one, _, _, _ := readAll(t, ingest.Options{Jobs: 1}, inputs...)
	many, _, _, _ := readAll(t, ingest.Options{Jobs: 4}, inputs...)
	if len(one) != len(many) || len(one) == 0 {
		t.Fatalf("%d events with one job, %d with four", len(one), len(many))
	}
	for i := range one {
		if one[i].UID != many[i].UID || one[i].Source != many[i].Source {
			t.Fatalf("event %d differs: %s vs %s", i, one[i].UID, many[i].UID)
		}
	}
}
