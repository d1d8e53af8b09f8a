package content

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/ingest"
	"github.com/revertwatch/revertwatch/level"
	"github.com/revertwatch/revertwatch/sequence"
)

// huntFiles decodes files with the ingest package and runs the revert
// rules over them in one engine, as `revertwatch hunt` does.
func huntFiles(t *testing.T, files ...string) ([]*sequence.Match, sequence.Stats) {
	t.Helper()
	return huntFilesWith(t, sequence.Options{}, files...)
}

func huntFilesWith(t *testing.T, opt sequence.Options, files ...string) ([]*sequence.Match, sequence.Stats) {
	t.Helper()
	var out []*sequence.Match
	opt.OnMatch = func(m *sequence.Match) { out = append(out, m) }
	e, err := sequence.New(RevertRules(), opt)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := ingest.Read(context.Background(), files, ingest.Options{Jobs: 2}, ingest.Handlers{
		Event: func(ev *event.Event) error { e.Process(ev); return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Rejected != 0 || sum.FileErrors != 0 {
		t.Fatalf("ingest rejected input: %+v", sum)
	}
	e.Flush()
	return out, e.Stats()
}

func fixture(name string) string { return filepath.Join("testdata", "revert", name) }

var cloudTrailWant = []string{
	RuleStopStart + ": ct-0001 ct-0002",
	RuleVolumeFromSnapshot + ": ct-0004 ct-0006",
	RuleImageFromSnapshot + ": ct-0007 ct-0008",
	RuleReplaceRootVolume + ": ct-0012",
}

func TestFixtureCloudTrailRecords(t *testing.T) {
	ms, st := huntFiles(t, fixture("cloudtrail-records.json"))
	expect(t, ms, cloudTrailWant...)
	if st.Duplicates != 1 || st.NotSuccess != 1 {
		t.Errorf("want one duplicate and one dry run: %+v", st)
	}
	if len(ms) == 4 {
		d, _ := RevertByID(RuleVolumeFromSnapshot)
		if sev, conf := d.Assess(ms[1]); sev != level.Critical || conf != level.High {
			t.Errorf("root swap after a stop: %v/%v %+v", sev, conf, ms[1].Adjustments)
		}
		var got []string
		for _, r := range ms[1].Resources {
			got = append(got, r.UID)
		}
		sort.Strings(got)
		if want := []string{"i-0a1b2c3d4e5f60002", "snap-0aaa0000000000001", "vol-0ccc0000000000001"}; !reflect.DeepEqual(got, want) {
			t.Errorf("resources %v, want %v", got, want)
		}
	}
}

// TestFixtureCloudTrailShapes re-delivers the Records file as EventBridge
// envelopes and as JSON lines: the same findings in every shape.
func TestFixtureCloudTrailShapes(t *testing.T) {
	raw, err := os.ReadFile(fixture("cloudtrail-records.json"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct{ Records []json.RawMessage }
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var lines, bridge []byte
	for _, r := range file.Records {
		lines = append(append(lines, r...), '\n')
		var rec struct {
			EventTime string `json:"eventTime"`
			AWSRegion string `json:"awsRegion"`
			Account   string `json:"recipientAccountId"`
			EventID   string `json:"eventID"`
		}
		if err := json.Unmarshal(r, &rec); err != nil {
			t.Fatal(err)
		}
		env, _ := json.Marshal(map[string]any{"version": "0", "id": "env-" + rec.EventID, "detail-type": "AWS API Call via CloudTrail",
			"source": "aws.ec2", "account": rec.Account, "time": rec.EventTime, "region": rec.AWSRegion, "resources": []string{}, "detail": r})
		bridge = append(append(bridge, env...), '\n')
	}
	for name, data := range map[string][]byte{"lines.jsonl": lines, "eventbridge.jsonl": bridge} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		t.Run(name, func(t *testing.T) {
			ms, _ := huntFiles(t, p)
			expect(t, ms, cloudTrailWant...)
		})
	}
}

func TestFixtureChainEventBridge(t *testing.T) {
	ms, _ := huntFiles(t, fixture("cloudtrail-eventbridge.jsonl"))
	expect(t, ms, RuleSnapshotVolumeAttach+": eb-01 eb-03 eb-04")
	if len(ms) == 1 {
		var steps []string
		for _, x := range ms[0].Evidence {
			steps = append(steps, x.Step)
		}
		if !reflect.DeepEqual(steps, []string{"snapshot", "stop", "create", "attach"}) {
			t.Errorf("evidence steps %v", steps)
		}
		if ms[0].Account != "444455556666" || ms[0].Region != "eu-west-1" {
			t.Errorf("scope %s %s", ms[0].Account, ms[0].Region)
		}
	}
}

func TestFixtureAzure(t *testing.T) {
	t.Run("event hub with phases", func(t *testing.T) {
		ms, st := huntFiles(t, fixture("azure-eventhub.json"))
		if len(ms) != 1 || ms[0].Rule != RuleAzureDiskSwap {
			t.Fatalf("matches %q", summary(ms))
		}
		m := ms[0]
		if len(m.Evidence) != 3 || m.Evidence[0].Step != "deallocate" || len(m.Evidence[1].Phases) != 2 || len(m.Evidence[2].Phases) != 2 {
			t.Errorf("evidence: %+v", m.Evidence)
		}
		if got := m.Binding("source"); got != "/subscriptions/0b5c7a2e-0000-4000-8000-00000000abcd/resourcegroups/rg-prod/providers/microsoft.compute/snapshots/web01-os-2026-02-01" {
			t.Errorf("source binding %q", got)
		}
		if st.Phases == 0 || st.Pending != 0 {
			t.Errorf("phases: %+v", st)
		}
	})
	t.Run("rest without bodies", func(t *testing.T) {
		ms, _ := huntFiles(t, fixture("azure-rest.json"))
		expect(t, ms, RuleAzureDiskSwapBodyless+": rest-03 rest-04", RuleAzureReimage+": rest-05")
	})
	t.Run("log analytics", func(t *testing.T) {
		ms, _ := huntFiles(t, fixture("azure-loganalytics.json"))
		expect(t, ms, RuleAzureBackupRestore+": la-0001")
	})
}

// TestFixturesAcrossFiles hunts every fixture at once in the order of a
// directory walk, which is not time order: each scope (account and region,
// or subscription) has its own watermark, so the AWS files don't make each
// other late. Within the one Azure subscription the Log Analytics file
// (March 5) comes before the REST file (March 4): its events are a day
// late, reported as late, and replayed in their place, so the body-less
// sequence is found whatever the lateness.
func TestFixturesAcrossFiles(t *testing.T) {
	files, err := filepath.Glob(fixture("*"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{RuleStopStart: 1, RuleVolumeFromSnapshot: 1, RuleImageFromSnapshot: 1, RuleReplaceRootVolume: 1,
		RuleSnapshotVolumeAttach: 1, RuleAzureDiskSwap: 1, RuleAzureReimage: 1, RuleAzureBackupRestore: 1, RuleAzureDiskSwapBodyless: 1}
	for _, lateness := range []time.Duration{0, 72 * time.Hour} {
		ms, st := huntFilesWith(t, sequence.Options{Lateness: lateness}, files...)
		byRule := map[string]int{}
		for _, m := range ms {
			byRule[m.Rule]++
		}
		wantLate := uint64(5)
		if lateness > 0 {
			wantLate = 0
		}
		if !reflect.DeepEqual(byRule, want) {
			t.Errorf("lateness %v: matches by rule %v, want %v", lateness, byRule, want)
		}
		if st.Superseded != 1 || st.Late != wantLate {
			t.Errorf("lateness %v: want one superseded tail and %d late: %+v", lateness, wantLate, st)
		}
	}
}
