package tune

import (
	"testing"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/level"
)

// The example config in the repository is the documentation of every
// recipe; these tests keep it honest.
func loadExample(t *testing.T) *Config {
	t.Helper()
	c, err := Load("../examples/revertwatch.yaml", WithClock(fixedClock))
	if err != nil {
		t.Fatalf("example config: %v", err)
	}
	if len(c.Warnings) > 0 {
		t.Fatalf("example config warns: %v", c.Warnings)
	}
	return c
}

type recipeCase struct {
	name   string
	rule   string
	events []*event.Event
	action Action
	entry  string
}

func runRecipes(t *testing.T, c *Config, cases []recipeCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := findingOf(tc.rule, tc.events...)
			d := c.Apply(f, tc.events)
			if d.Action != tc.action || d.Entry != tc.entry {
				t.Fatalf("decision = %v by %q, want %v by %q (reasons %q)", d.Action, d.Entry, tc.action, tc.entry, f.Reasons)
			}
			if tc.action == Keep {
				if f.Suppressed || f.Severity != level.High.String() {
					t.Fatalf("kept finding changed: suppressed=%v severity=%s", f.Suppressed, f.Severity)
				}
				return
			}
			if !f.Suppressed || f.SuppressionReason == "" {
				t.Fatalf("suppressed=%v reason=%q", f.Suppressed, f.SuppressionReason)
			}
			if tc.action == Downgrade && f.Severity != level.Low.String() {
				t.Fatalf("severity = %s, want low", f.Severity)
			}
		})
	}
}

// Seed false positive 1: authorized backup snapshots.
func TestRecipeBackupSnapshots(t *testing.T) {
	c := loadExample(t)
	backup := func(op string, hhmm string) *event.Event {
		return awsCall{when: at(t, "UTC", "2026-11-10 "+hhmm), op: op, role: "AWSBackupDefaultServiceRole",
			session: "AWSBackup-AWSBackupDefaultServiceRole", invokedBy: "backup.amazonaws.com", resources: []string{"i-0aaa"}}.event()
	}
	verifier := func(role, zoneTime string) []*event.Event {
		return []*event.Event{
			awsCall{when: at(t, "Europe/Berlin", zoneTime), op: "CreateVolume", role: role, resources: []string{"vol-1"}}.event(),
			awsCall{when: at(t, "Europe/Berlin", zoneTime).Add(4 * 60e9), op: "AttachVolume", role: role, resources: []string{"vol-1", "i-0scratch"}}.event(),
		}
	}
	person := awsCall{when: at(t, "UTC", "2026-11-10 02:00"), op: "StartRestoreJob", role: "BackupOperator", resources: []string{"i-0aaa"}}.event()
	otherAccount := awsCall{when: at(t, "UTC", "2026-11-10 02:00"), op: "StartRestoreJob", account: "999988887777", role: "AWSBackupDefaultServiceRole",
		invokedBy: "backup.amazonaws.com", resources: []string{"i-0aaa"}}.event()
	runRecipes(t, c, []recipeCase{
		{"restore-testing-job", "aws-backup-restore", []*event.Event{backup("StartRestoreJob", "02:00")}, Downgrade, "backup-restore-testing"},
		// The service's own volume and attach are lowered in confidence, not hidden.
		{"service-volume-attach", "aws-snapshot-volume-instance", []*event.Event{backup("CreateVolume", "02:00"), backup("AttachVolume", "02:03")}, Keep, ""},
		{"restore-started-by-a-person", "aws-backup-restore", []*event.Event{person}, Keep, ""},
		{"restore-testing-other-account", "aws-backup-restore", []*event.Event{otherAccount}, Keep, ""},
		{"verifier-in-window", "aws-snapshot-volume-instance", verifier("BackupVerifier", "2026-11-10 01:30"), Downgrade, "backup-verification-job"},
		{"verifier-outside-window", "aws-snapshot-volume-instance", verifier("BackupVerifier", "2026-11-10 14:30"), Keep, ""},
		{"other-principal-in-window", "aws-snapshot-volume-instance", verifier("Developer", "2026-11-10 01:30"), Keep, ""},
		{"verifier-other-rule", "aws-stop-start", verifier("BackupVerifier", "2026-11-10 01:30"), Keep, ""},
	})
}

// Seed false positive 2: automated disaster recovery.
func TestRecipeDisasterRecovery(t *testing.T) {
	c := loadExample(t)
	asr := func(group, appID, caller string) []*event.Event {
		base := azureCall{group: group, appID: appID, caller: caller, resource: "Microsoft.Compute/disks/web-01-ASRReplica"}
		w := base
		w.when, w.op = at(t, "UTC", "2026-11-12 03:00"), "Microsoft.Compute/disks/write"
		v := base
		v.when, v.op, v.resource = at(t, "UTC", "2026-11-12 03:05"), "Microsoft.Compute/virtualMachines/write", "Microsoft.Compute/virtualMachines/web-01"
		return []*event.Event{w.event(), v.event()}
	}
	const asrApp = "b8340c3b-9267-498f-b21a-15d5547fd85e"
	runRecipes(t, c, []recipeCase{
		{"asr-in-dr-group", "azure-disk-swap", asr("web-asr", asrApp, asrApp), Downgrade, "asr-dr-drills"},
		{"asr-in-production-group", "azure-disk-swap", asr("web-prod", asrApp, asrApp), Keep, ""},
		{"person-in-dr-group", "azure-disk-swap", asr("web-asr", "c44b4083-3bb0-49c1-b47d-974e53cbdf3c", "mallory@example.com"), Keep, ""},
	})
}

// Seed false positive 3: CI/CD pipelines creating and deleting instances.
func TestRecipeCICD(t *testing.T) {
	c := loadExample(t)
	pipeline := func(role, region string) []*event.Event {
		return []*event.Event{
			awsCall{when: at(t, "UTC", "2026-11-13 10:00"), op: "RegisterImage", account: "222233334444", region: region, role: role, resources: []string{"ami-1"}}.event(),
			awsCall{when: at(t, "UTC", "2026-11-13 10:06"), op: "RunInstances", account: "222233334444", region: region, role: role, resources: []string{"ami-1", "i-0smoke"}}.event(),
		}
	}
	azure := func(appID, group string) []*event.Event {
		return []*event.Event{
			azureCall{when: at(t, "UTC", "2026-11-13 11:00"), op: "Microsoft.Compute/disks/write", group: group, appID: appID, caller: appID, resource: "Microsoft.Compute/disks/test-os"}.event(),
			azureCall{when: at(t, "UTC", "2026-11-13 11:02"), op: "Microsoft.Compute/virtualMachines/write", group: group, appID: appID, caller: appID, resource: "Microsoft.Compute/virtualMachines/test"}.event(),
		}
	}
	const ciApp = "5b0c6c1e-1111-4a4a-9c9c-0123456789ab"
	runRecipes(t, c, []recipeCase{
		{"pipeline-image-launch", "aws-snapshot-image-instance", pipeline("GitHubActionsImageBuild", "eu-west-1"), Drop, "ci-image-pipeline"},
		{"pipeline-other-region", "aws-snapshot-image-instance", pipeline("GitHubActionsImageBuild", "us-east-1"), Keep, ""},
		{"other-principal", "aws-snapshot-image-instance", pipeline("Developer", "eu-west-1"), Keep, ""},
		{"azure-pipeline", "azure-disk-swap", azure(ciApp, "ci-web"), Downgrade, "ci-azure-test-env"},
		{"azure-pipeline-prod-group", "azure-disk-swap", azure(ciApp, "prod-web"), Keep, ""},
		{"azure-other-app", "azure-disk-swap-bodyless", azure("04b07795-8ddb-461a-bbee-02f9e1bf7b46", "ci-web"), Keep, ""},
	})
	s := c.Summary()
	if s.Dropped != 1 || s.Entries[3].Name != "ci-image-pipeline" || s.Entries[3].Dropped != 1 {
		t.Fatalf("drop not counted: %+v", s)
	}
}

// Seed false positive 4: authorized migrations between regions or accounts.
func TestRecipeMigration(t *testing.T) {
	c := loadExample(t)
	move := func(role, ip, nyTime string) []*event.Event {
		start := at(t, "America/New_York", nyTime)
		return []*event.Event{
			awsCall{when: start, op: "CreateVolume", account: "333344445555", role: role, ip: ip, resources: []string{"vol-2"}}.event(),
			awsCall{when: start.Add(20 * 60e9), op: "AttachVolume", account: "333344445555", role: role, ip: ip, resources: []string{"vol-2", "i-0bill"}}.event(),
		}
	}
	runRecipes(t, c, []recipeCase{
		{"saturday-night", "aws-snapshot-volume-instance", move("MigrationOperator", "198.51.100.20", "2026-11-14 23:00"), Downgrade, "migration-chg-4711"},
		{"past-midnight-into-sunday", "aws-snapshot-volume-instance", move("MigrationOperator", "198.51.100.20", "2026-11-15 04:00"), Downgrade, "migration-chg-4711"},
		{"sunday-night-outside-window", "aws-snapshot-volume-instance", move("MigrationOperator", "198.51.100.20", "2026-11-15 23:00"), Keep, ""},
		{"wednesday", "aws-snapshot-volume-instance", move("MigrationOperator", "198.51.100.20", "2026-11-11 23:00"), Keep, ""},
		{"other-network", "aws-snapshot-volume-instance", move("MigrationOperator", "203.0.113.9", "2026-11-14 23:00"), Keep, ""},
		{"other-principal", "aws-snapshot-volume-instance", move("Contractor", "198.51.100.20", "2026-11-14 23:00"), Keep, ""},
	})
}

// The seed's stop/start scenario run by a scheduler on purpose.
func TestRecipeScheduler(t *testing.T) {
	c := loadExample(t)
	stopStart := func(account, role string) []*event.Event {
		return []*event.Event{
			awsCall{when: at(t, "Europe/Berlin", "2026-11-16 19:00"), op: "StopInstances", account: account, role: role, resources: []string{"i-0dev"}}.event(),
			awsCall{when: at(t, "Europe/Berlin", "2026-11-17 07:00"), op: "StartInstances", account: account, role: role, resources: []string{"i-0dev"}}.event(),
		}
	}
	mixed := stopStart("111122223333", "InstanceSchedulerRole")
	mixed[1] = stopStart("111122223333", "Intruder")[1]
	runRecipes(t, c, []recipeCase{
		{"scheduler", "aws-stop-start", stopStart("111122223333", "InstanceSchedulerRole"), Downgrade, "nightly-instance-scheduler"},
		{"scheduler-role-in-another-account", "aws-stop-start", stopStart("999988887777", "InstanceSchedulerRole"), Keep, ""},
		{"other-principal", "aws-stop-start", stopStart("111122223333", "Intruder"), Keep, ""},
		{"scheduler-stops-intruder-starts", "aws-stop-start", mixed, Keep, ""},
	})
}
