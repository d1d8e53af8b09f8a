package tune

import (
	"strings"
	"testing"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/level"
)

func TestBuiltinList(t *testing.T) {
	b := Builtin()
	if b.Version == "" {
		t.Fatal("no version")
	}
	want := []string{"aws-autoscaling", "aws-backup", "aws-dlm", "aws-imagebuilder", "packer", "azure-backup", "azure-site-recovery", "azure-automation", "azure-autoscale",
		"gcp-managed-instance-group", "gcp-compute-system", "gcp-backup-dr", "gcp-gke", "gcp-platform"}
	if got := strings.Join(b.IDs(), ","); got != strings.Join(want, ",") {
		t.Fatalf("ids = %s", got)
	}
	for _, a := range b.Actors {
		if len(a.Sources) == 0 || a.Description == "" || len(a.Signatures) != len(a.When) {
			t.Errorf("%s: incomplete %+v", a.ID, a)
		}
		for _, s := range a.Sources {
			if !strings.HasPrefix(s, "https://") {
				t.Errorf("%s: source %q is not a URL", a.ID, s)
			}
		}
	}
	if b.Actor("AWS-BACKUP") == nil || b.Actor("nope") != nil {
		t.Fatal("Actor lookup")
	}
}

func TestBenignRecognition(t *testing.T) {
	ts := at(t, "UTC", "2026-11-10 10:00")
	aws := func(role, invokedBy, ua, req string) *event.Event {
		return awsCall{when: ts, op: "CreateVolume", role: role, invokedBy: invokedBy, ua: ua, request: req, resources: []string{"vol-1"}}.event()
	}
	slr := func(ev *event.Event, service, role string) *event.Event {
		ev.Actor.Role = "arn:aws:iam::111122223333:role/aws-service-role/" + service + "/" + role
		return ev
	}
	az := func(caller, appID, mirid string) *event.Event {
		return azureCall{when: ts, op: "Microsoft.Compute/disks/write", group: "rg", caller: caller, appID: appID, mirid: mirid, resource: "Microsoft.Compute/disks/d"}.event()
	}
	cases := []struct {
		name    string
		ev      *event.Event
		want    string // actor id, "" for none
		service bool
	}{
		{"autoscaling invokedBy", aws("AWSServiceRoleForAutoScaling", "autoscaling.amazonaws.com", "", ""), "aws-autoscaling", true},
		{"autoscaling role", slr(aws("AWSServiceRoleForAutoScaling", "", "", ""), "autoscaling.amazonaws.com", "AWSServiceRoleForAutoScaling"), "aws-autoscaling", true},
		{"backup invokedBy", aws("MyBackupRole", "backup.amazonaws.com", "", ""), "aws-backup", true},
		{"backup default role", aws("AWSBackupDefaultServiceRole", "", "", ""), "aws-backup", true},
		{"backup session name only", awsCall{when: ts, op: "CreateVolume", role: "Attacker", session: "AWSBackup-AWSBackupDefaultServiceRole", resources: []string{"vol-1"}}.event(), "", false},
		{"dlm role", aws("AWSDataLifecycleManagerDefaultRole", "", "", ""), "aws-dlm", true},
		{"dlm invokedBy", aws("X", "dlm.amazonaws.com", "", ""), "aws-dlm", true},
		{"image builder", slr(aws("AWSServiceRoleForImageBuilder", "", "", ""), "imagebuilder.amazonaws.com", "AWSServiceRoleForImageBuilder"), "aws-imagebuilder", true},
		{"packer user agent", aws("Builder", "", "aws-sdk-go/1.44.0 (go1.21; linux; amd64) APN/1.0 HashiCorp/1.0 packer-plugin-amazon/1.3.2 (+https://www.packer.io/docs/builders/amazon) Packer/1.11.2 (+https://www.packer.io)", ""), "packer", false},
		{"packer key pair", aws("Builder", "", "", `{"keyName":"packer_6561f3c2-aaaa-bbbb-cccc-0123456789ab"}`), "packer", false},
		{"console human", aws("Admin", "AWS Internal", "", ""), "", false},
		{"azure backup", az("262044b1-e2ce-469f-a196-69ab7ada62d3", "262044b1-e2ce-469f-a196-69ab7ada62d3", ""), "azure-backup", true},
		{"azure backup vault identity", az("6d1f0000-0000-0000-0000-000000000001", "", "/subscriptions/s/resourcegroups/rg/providers/Microsoft.RecoveryServices/vaults/v1"), "azure-backup", true},
		{"site recovery", az("b8340c3b-9267-498f-b21a-15d5547fd85e", "b8340c3b-9267-498f-b21a-15d5547fd85e", ""), "azure-site-recovery", true},
		{"automation app", az("x", "fc75330b-179d-49af-87dd-3b1acf6827fa", ""), "azure-automation", true},
		{"automation identity", az("7e2f0000-0000-0000-0000-000000000002", "", "/subscriptions/s/resourceGroups/ops/providers/Microsoft.Automation/automationAccounts/nightly"), "azure-automation", true},
		{"autoscale", az("Microsoft.Insights/autoscaleSettings", "", ""), "azure-autoscale", true},
		{"portal user", az("alice@example.com", "c44b4083-3bb0-49c1-b47d-974e53cbdf3c", ""), "", false},
		{"caller named automation", az("automation-svc@example.com", "04b07795-8ddb-461a-bbee-02f9e1bf7b46", ""), "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := findingOf("aws-volume-from-snapshot", tc.ev)
			f.Actor.ServiceInitiated = false
			d := (*Config)(nil).Apply(f, []*event.Event{tc.ev})
			got := strings.Join(d.Benign, ",")
			if got != tc.want {
				t.Fatalf("benign = %q, want %q", got, tc.want)
			}
			if d.Action != Keep || f.Suppressed {
				t.Fatalf("a built-in actor suppressed a finding: %+v", d)
			}
			lowered := f.Confidence == level.Low.String()
			if lowered != tc.service || f.Actor.ServiceInitiated != tc.service || d.AllBenign != tc.service {
				t.Fatalf("confidence %s service_initiated %v all %v, want lowered=%v", f.Confidence, f.Actor.ServiceInitiated, d.AllBenign, tc.service)
			}
			if tc.want != "" && len(f.Reasons) == 0 {
				t.Fatal("no reason given")
			}
		})
	}
}

func TestBenignPartial(t *testing.T) {
	ts := at(t, "UTC", "2026-11-10 10:00")
	evs := []*event.Event{
		awsCall{when: ts, op: "CreateVolume", role: "AWSBackupDefaultServiceRole", invokedBy: "backup.amazonaws.com", resources: []string{"vol-1"}}.event(),
		awsCall{when: ts.Add(60e9), op: "AttachVolume", role: "Admin", resources: []string{"vol-1", "i-1"}}.event(),
	}
	f := findingOf("aws-snapshot-volume-instance", evs...)
	d := Default().Apply(f, evs)
	if d.AllBenign || f.Confidence != level.Medium.String() || len(f.Reasons) != 1 || !strings.HasPrefix(f.Reasons[0], "1 of 2 events were made by AWS Backup") {
		t.Fatalf("%+v %s %q", d, f.Confidence, f.Reasons)
	}
}

// A config entry may name a benign actor to suppress it on purpose; Packer
// counts as caller-set, so it needs an anchor like the principal.
func TestBenignInEntry(t *testing.T) {
	src := `allow:
  - name: packer-builds
    reason: the image team builds AMIs with Packer
    match:
      benign: packer
      principal: "arn:aws:sts::111122223333:assumed-role/ImageTeam/*"
`
	c := mustParse(t, src)
	const ua = "APN/1.0 HashiCorp/1.0 packer-plugin-amazon/1.3.2 (+https://www.packer.io/docs/builders/amazon) Packer/1.11.2 (+https://www.packer.io)"
	for role, want := range map[string]Action{"ImageTeam": Downgrade, "Intruder": Keep} {
		evs := []*event.Event{awsCall{when: at(t, "UTC", "2026-11-10 10:00"), op: "RegisterImage", role: role, ua: ua, resources: []string{"ami-1"}}.event()}
		f := findingOf("aws-image-from-snapshot", evs...)
		d := c.Apply(f, evs)
		if d.Action != want || f.Confidence != level.Medium.String() {
			t.Errorf("%s: %+v confidence %s", role, d, f.Confidence)
		}
	}
	// Without the Packer marks the same principal is not covered.
	evs := []*event.Event{awsCall{when: at(t, "UTC", "2026-11-10 10:00"), op: "RegisterImage", role: "ImageTeam", resources: []string{"ami-1"}}.event()}
	if d := c.Apply(findingOf("aws-image-from-snapshot", evs...), evs); d.Action != Keep {
		t.Errorf("no packer marks: %+v", d)
	}
	if s := c.Summary(); len(s.Benign) != 1 || s.Benign[0].ID != "packer" || s.Benign[0].Findings != 2 {
		t.Errorf("benign counts %+v", s.Benign)
	}
}

func TestParseBenignErrors(t *testing.T) {
	for _, src := range []string{
		"",
		"version: 1\n",
		"actors: []\n",
		"version: 1\nactors:\n  - id: x\n    name: X\n    provider: AWS\n    sources: [https://e]\n    when: [{benign: aws-backup}]\n",
		"version: 1\nactors:\n  - id: x\n    name: X\n    provider: AWS\n    sources: [https://e]\n",
		"version: 1\nactors:\n  - {id: x, name: X, provider: AWS, sources: [s], when: [{invoked_by: a}]}\n  - {id: x, name: X, provider: AWS, sources: [s], when: [{invoked_by: a}]}\n",
	} {
		if _, err := parseBenign("b.yaml", []byte(src)); err == nil {
			t.Errorf("accepted %q", src)
		}
	}
}
