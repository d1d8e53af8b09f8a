package tune

import (
	"bytes"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/level"
)

const terraformConfig = `allow:
  - name: terraform-deploys
    reason: the deploy role recreates instances with Terraform
    match:
      principal: "arn:aws:sts::111122223333:assumed-role/TerraformDeploy/*"
      user_agent: "*Terraform/*"
`

// A user agent is set by the caller: copying the deploy pipeline's user
// agent must not hide an intruder's revert.
func TestSpoofedUserAgentSuppressesNothing(t *testing.T) {
	c := mustParse(t, terraformConfig)
	const ua = "APN/1.0 HashiCorp/1.0 Terraform/1.9.5 (+https://www.terraform.io) terraform-provider-aws/5.60.0"
	mk := func(role string) []*event.Event {
		return []*event.Event{
			awsCall{when: at(t, "UTC", "2026-11-10 10:00"), op: "StopInstances", role: role, ua: ua, resources: []string{"i-1"}}.event(),
			awsCall{when: at(t, "UTC", "2026-11-10 10:05"), op: "StartInstances", role: role, ua: ua, resources: []string{"i-1"}}.event(),
		}
	}
	evs := mk("StolenAdmin")
	f := findingOf("aws-stop-start", evs...)
	if d := c.Apply(f, evs); d.Action != Keep || f.Suppressed {
		t.Fatalf("spoofed user agent suppressed the finding: %+v", d)
	}
	evs = mk("TerraformDeploy")
	f = findingOf("aws-stop-start", evs...)
	if d := c.Apply(f, evs); d.Action != Downgrade || d.Entry != "terraform-deploys" {
		t.Fatalf("deploy role with its user agent: %+v", d)
	}
	// The deploy role from a shell (another user agent) still fires.
	evs = mk("TerraformDeploy")
	evs[1].UserAgent = "aws-cli/2.15.0"
	f = findingOf("aws-stop-start", evs...)
	if d := c.Apply(f, evs); d.Action != Keep {
		t.Fatalf("one event with another user agent: %+v", d)
	}
	// And no config can be written to match the user agent alone.
	_, err := Parse("ua.yaml", []byte("allow:\n  - name: ua\n    reason: r\n    single_attribute: true\n    match:\n      user_agent: \"*Terraform/*\"\n"))
	if err == nil || !strings.Contains(err.Error(), "ua.yaml:5:5:") || !strings.Contains(err.Error(), "user agent alone is refused") {
		t.Fatalf("user-agent-only entry: %v", err)
	}
}

func TestExpiredEntrySuppressesNothing(t *testing.T) {
	src := `allow:
  - name: finished-migration
    reason: CHG-1 is done
    expires: 2026-11-28
    match:
      principal: "arn:aws:sts::111122223333:assumed-role/Mig/*"
      account: "111122223333"
`
	now := time.Date(2026, 11, 28, 23, 59, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	c := mustParse(t, src, WithClock(clock))
	if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0].Message, `"finished-migration" expires on 2026-11-28, today`) {
		t.Fatalf("warnings = %v", c.Warnings)
	}
	evs := []*event.Event{awsCall{when: at(t, "UTC", "2026-11-28 10:00"), op: "CreateReplaceRootVolumeTask", role: "Mig", resources: []string{"i-1"}}.event()}
	f := findingOf("aws-replace-root-volume", evs...)
	if d := c.Apply(f, evs); d.Action != Downgrade {
		t.Fatalf("before expiry: %+v", d)
	}
	// A long-running process crosses the expiry: the entry stops applying
	// at the end of the day, whatever the events' time.
	now = now.Add(2 * time.Minute)
	f = findingOf("aws-replace-root-volume", evs...)
	if d := c.Apply(f, evs); d.Action != Keep || f.Suppressed {
		t.Fatalf("after expiry: %+v", d)
	}
	s := c.Summary()
	if !s.Entries[0].Expired || s.Entries[0].Downgraded != 1 {
		t.Fatalf("summary: %+v", s)
	}
	// Loaded after the date: a warning naming the entry.
	c = mustParse(t, src)
	if len(c.Warnings) != 1 || c.Warnings[0].String() != `test.yaml:4:14: warning: allow entry "finished-migration" expired on 2026-11-28; it no longer applies (renew it or remove it)` {
		t.Fatalf("warnings = %v", c.Warnings)
	}
	f = findingOf("aws-replace-root-volume", evs...)
	if d := c.Apply(f, evs); d.Action != Keep {
		t.Fatalf("expired entry applied: %+v", d)
	}
}

func TestDropIsCountedAndFirstMatchWins(t *testing.T) {
	src := `allow:
  - name: ci-drop
    reason: pipeline
    action: drop
    rules: ["aws-*-instance"]
    match: {principal: "arn:aws:sts::*:assumed-role/CI/*", account: "111122223333"}
  - name: ci-downgrade
    reason: pipeline, other rules
    severity: medium
    match: {principal: "arn:aws:sts::*:assumed-role/CI/*", account: "111122223333"}
`
	c := mustParse(t, src)
	ev := func() []*event.Event {
		return []*event.Event{awsCall{when: at(t, "UTC", "2026-11-10 10:00"), op: "RunInstances", role: "CI", resources: []string{"i-1"}}.event()}
	}
	for i := 0; i < 3; i++ {
		evs := ev()
		f := findingOf("aws-snapshot-image-instance", evs...)
		d := c.Apply(f, evs)
		if d.Action != Drop || d.Emit() || d.Entry != "ci-drop" || !f.Suppressed || !strings.HasPrefix(f.SuppressionReason, `allow entry "ci-drop": pipeline`) {
			t.Fatalf("drop: %+v %q", d, f.SuppressionReason)
		}
	}
	evs := ev()
	f := findingOf("aws-stop-start", evs...)
	d := c.Apply(f, evs)
	if d.Action != Downgrade || !d.Emit() || d.Entry != "ci-downgrade" || f.Severity != level.Medium.String() {
		t.Fatalf("downgrade: %+v severity %s", d, f.Severity)
	}
	if want := `severity high → medium: downgraded by allow entry "ci-downgrade"`; !containsStr(f.Reasons, want) {
		t.Fatalf("reasons %q", f.Reasons)
	}
	s := c.Summary()
	if s.Dropped != 3 || s.Downgraded != 1 || s.Entries[0].Dropped != 3 || s.Entries[1].Downgraded != 1 {
		t.Fatalf("summary %+v", s)
	}
	var buf bytes.Buffer
	if err := s.Write(&buf); err != nil {
		t.Fatal(err)
	}
	want := "tuning: 1 downgraded, 3 dropped\n  ci-drop       drop       3\n  ci-downgrade  downgrade  1\n"
	if buf.String() != want {
		t.Fatalf("summary text:\n%s\nwant:\n%s", buf.String(), want)
	}
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// With the events gone (a finding read back from ndjson), the finding's own
// actor and evidence are matched, as strictly.
func TestApplyWithoutEvents(t *testing.T) {
	c := loadExample(t)
	evs := []*event.Event{
		awsCall{when: at(t, "Europe/Berlin", "2026-11-10 01:30"), op: "CreateVolume", role: "BackupVerifier", resources: []string{"vol-1"}}.event(),
		awsCall{when: at(t, "Europe/Berlin", "2026-11-10 01:40"), op: "AttachVolume", role: "BackupVerifier", resources: []string{"vol-1", "i-0scratch"}}.event(),
	}
	f := findingOf("aws-snapshot-volume-instance", evs...)
	if d := c.Apply(f, nil); d.Action != Downgrade || d.Entry != "backup-verification-job" {
		t.Fatalf("finding-only: %+v", d)
	}
	evs[1].Time = at(t, "Europe/Berlin", "2026-11-10 12:00")
	f = findingOf("aws-snapshot-volume-instance", evs...)
	if d := c.Apply(f, nil); d.Action != Keep {
		t.Fatalf("finding-only outside window: %+v", d)
	}
	// Azure resource group comes from the resource ids.
	az := []*event.Event{azureCall{when: at(t, "UTC", "2026-11-13 11:00"), op: "Microsoft.Compute/disks/write", group: "ci-web",
		appID: "5b0c6c1e-1111-4a4a-9c9c-0123456789ab", caller: "5b0c6c1e-1111-4a4a-9c9c-0123456789ab", resource: "Microsoft.Compute/disks/d"}.event()}
	f = findingOf("azure-disk-swap", az...)
	if d := c.Apply(f, nil); d.Action != Downgrade || d.Entry != "ci-azure-test-env" {
		t.Fatalf("finding-only azure: %+v", d)
	}
}

func TestResourceAndSourceMatching(t *testing.T) {
	src := `allow:
  - name: lab
    reason: the lab instances are rebuilt daily
    match:
      resource_id: ["i-0lab*", "vol-*"]
      source_ip: [10.20.0.0/16, "2001:db8::/32"]
`
	c := mustParse(t, src)
	cases := []struct {
		ip   string
		res  []string
		want Action
	}{
		{"10.20.1.2", []string{"i-0lab1", "vol-9"}, Downgrade},
		{"2001:db8::7", []string{"i-0lab1"}, Downgrade},
		{"::ffff:10.20.3.4", []string{"i-0lab1"}, Downgrade},
		{"10.21.1.2", []string{"i-0lab1"}, Keep},            // another network
		{"10.20.1.2", []string{"i-0lab1", "i-0prod"}, Keep}, // every resource must match
		{"AWS Internal", []string{"i-0lab1"}, Keep},         // not an address
	}
	for _, tc := range cases {
		evs := []*event.Event{awsCall{when: at(t, "UTC", "2026-11-10 10:00"), op: "StartInstances", role: "Ops", ip: tc.ip, resources: tc.res}.event()}
		f := findingOf("aws-stop-start", evs...)
		if d := c.Apply(f, evs); d.Action != tc.want {
			t.Errorf("%s %v: %v, want %v", tc.ip, tc.res, d.Action, tc.want)
		}
	}
}

func TestRequestValue(t *testing.T) {
	src := `allow:
  - name: golden-ami
    reason: launches from the golden image pipeline
    match:
      role: "arn:aws:iam::*:role/ImagePipeline"
      request_value: "golden-*"
`
	c := mustParse(t, src)
	mk := func(req string) []*event.Event {
		return []*event.Event{awsCall{when: at(t, "UTC", "2026-11-10 10:00"), op: "RunInstances", role: "ImagePipeline", request: req, resources: []string{"i-1"}}.event()}
	}
	for req, want := range map[string]Action{
		`{"imageId":"ami-1","tagSpecificationSet":{"items":[{"tags":[{"key":"Name","value":"golden-web"}]}]}}`: Downgrade,
		`{"imageId":"ami-1","golden-key":"x"}`: Keep, // keys are not values
		`{"imageId":"ami-1"}`:                  Keep,
		`not json`:                             Keep,
	} {
		evs := mk(req)
		f := findingOf("aws-snapshot-image-instance", evs...)
		if d := c.Apply(f, evs); d.Action != want {
			t.Errorf("%s: %v, want %v", req, d.Action, want)
		}
	}
}

func TestNilConfigAppliesBenignOnly(t *testing.T) {
	var c *Config
	evs := []*event.Event{awsCall{when: at(t, "UTC", "2026-11-10 10:00"), op: "RunInstances", role: "AWSServiceRoleForAutoScaling",
		invokedBy: "autoscaling.amazonaws.com", resources: []string{"i-1"}}.event()}
	f := findingOf("aws-snapshot-image-instance", evs...)
	d := c.Apply(f, evs)
	if d.Action != Keep || !d.AllBenign || f.Confidence != level.Low.String() || !f.Actor.ServiceInitiated || f.Suppressed {
		t.Fatalf("nil config: %+v confidence %s", d, f.Confidence)
	}
	if c.Apply(nil, evs).Action != Keep || len(c.Summary().Entries) != 0 || c.IsSet("lateness") {
		t.Fatal("nil config")
	}
}

// Apply may be called from several goroutines (go test -race).
func TestApplyConcurrent(t *testing.T) {
	c := loadExample(t)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				evs := []*event.Event{
					awsCall{when: time.Date(2026, 11, 13, 10, 0, 0, 0, time.UTC), op: "RegisterImage", account: "222233334444", role: "GitHubActionsImageBuild", resources: []string{"ami-1"}}.event(),
				}
				c.Apply(findingOf("aws-image-from-snapshot", evs...), evs)
			}
		}()
	}
	wg.Wait()
	if s := c.Summary(); s.Dropped != 400 {
		t.Fatalf("dropped = %d", s.Dropped)
	}
}

// TestDecisionBinary: a decision read back from AppendBinary is the one
// written, and counts the same.
func TestDecisionBinary(t *testing.T) {
	for _, d := range []Decision{{}, {Action: Drop, Entry: "ci", entry: 2, Benign: []string{"aws-backup", "aws-dlm"}, AllBenign: true}} {
		b, err := d.AppendBinary([]byte("x"))
		if err != nil {
			t.Fatal(err)
		}
		got, rest, err := DecodeDecision(append(b[1:], 'y'))
		if err != nil || string(rest) != "y" || !reflect.DeepEqual(got, d) {
			t.Errorf("%+v came back as %+v (rest %q, %v)", d, got, rest, err)
		}
	}
}

// FuzzDecodeDecision: any bytes give a decision or an error, never a
// panic, and a decision read encodes back to the bytes it used.
func FuzzDecodeDecision(f *testing.F) {
	b, _ := Decision{Action: Downgrade, Entry: "e", entry: 1, Benign: []string{"a"}}.AppendBinary(nil)
	f.Add(b)
	f.Add([]byte{0, 0, 0, 200, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		d, rest, err := DecodeDecision(b)
		if err != nil {
			return
		}
		again, _ := d.AppendBinary(nil)
		if used := b[:len(b)-len(rest)]; len(again) > len(used) {
			t.Fatalf("%q decoded to %+v, which encodes to %q", used, d, again)
		}
	})
}
