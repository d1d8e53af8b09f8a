package content

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// Every detection has a playbook with all four parts, each command names
// only known placeholders, and every placeholder is used somewhere.
func TestPlaybooks(t *testing.T) {
	used := map[string]bool{}
	ph := regexp.MustCompile(`\{([a-z_]+)\}`)
	for _, d := range Reverts() {
		p, ok := PlaybookFor(d.ID())
		if !ok {
			t.Errorf("%s: no playbook", d.ID())
			continue
		}
		if p.RuleID != d.ID() || p.Provider != d.Rule.Steps[0].Provider {
			t.Errorf("%s: playbook for %s/%s", d.ID(), p.RuleID, p.Provider)
		}
		for name, part := range map[string][]Action{"containment": p.Containment, "evidence": p.Evidence, "eradication": p.Eradication, "recovery": p.Recovery} {
			if len(part) == 0 {
				t.Errorf("%s: empty %s", d.ID(), name)
			}
			for _, a := range part {
				if a.Text == "" {
					t.Errorf("%s %s: action without text", d.ID(), name)
				}
				for _, m := range ph.FindAllStringSubmatch(a.Command, -1) {
					if _, ok := Placeholders[m[1]]; !ok {
						t.Errorf("%s: unknown placeholder {%s} in %q", d.ID(), m[1], a.Command)
					}
					used[m[1]] = true
				}
			}
		}
	}
	for name := range Placeholders {
		if !used[name] {
			t.Errorf("placeholder {%s} is used by no playbook", name)
		}
	}
	if _, ok := PlaybookFor("no-such-rule"); ok {
		t.Error("playbook for an unknown rule")
	}
	if len(Playbooks()) != len(Reverts()) {
		t.Errorf("%d playbooks for %d detections", len(Playbooks()), len(Reverts()))
	}
}

func TestFill(t *testing.T) {
	got := Fill("aws ec2 create-snapshot --volume-id {replaced_volume} --region {region}", map[string]string{"region": "eu-west-1"})
	if want := "aws ec2 create-snapshot --volume-id <replaced-volume> --region eu-west-1"; got != want {
		t.Errorf("Fill = %q, want %q", got, want)
	}
	p, _ := PlaybookFor(RuleStopStart)
	f := p.Filled(map[string]string{"instance": "i-0abc"})
	if !strings.Contains(fmt.Sprint(f.Evidence), "i-0abc") || strings.Contains(fmt.Sprint(p.Evidence), "i-0abc") {
		t.Error("Filled must fill a copy")
	}
}

func ExampleFill() {
	fmt.Println(Fill("aws ec2 describe-snapshots --region {region} --snapshot-ids {snapshot}",
		map[string]string{"region": "us-east-1", "snapshot": "snap-0123456789abcdef0"}))
	// Output:
	// aws ec2 describe-snapshots --region us-east-1 --snapshot-ids snap-0123456789abcdef0
}

// Every command of every playbook is the finding's provider's own CLI,
// and names no other provider's tool (issue 18): an Azure finding is
// never told to run aws, a Google Cloud one never az.
func TestPlaybookCommandsMatchProvider(t *testing.T) {
	cli := map[string]string{"AWS": "aws", "Azure": "az", "GCP": "gcloud"}
	foreign := regexp.MustCompile(`(^|[\s'"(])(aws|az|gcloud|gsutil|bq) `)
	providers := map[string]bool{}
	for _, p := range Playbooks() {
		want, ok := cli[p.Provider]
		if !ok {
			t.Errorf("%s: provider %q has no CLI", p.RuleID, p.Provider)
			continue
		}
		providers[p.Provider] = true
		for _, a := range cat(p.Containment, p.Evidence, p.Eradication, p.Recovery) {
			if a.Command == "" {
				continue
			}
			if first, _, _ := strings.Cut(a.Command, " "); first != want {
				t.Errorf("%s (%s): command runs %s, want %s: %s", p.RuleID, p.Provider, first, want, a.Command)
			}
			for _, m := range foreign.FindAllStringSubmatch(a.Command, -1) {
				if m[2] != want {
					t.Errorf("%s (%s): command names %s: %s", p.RuleID, p.Provider, m[2], a.Command)
				}
			}
			if a.When != "" && p.Provider != "AWS" {
				t.Errorf("%s: an AWS actor condition on a %s action", p.RuleID, p.Provider)
			}
		}
	}
	for _, prov := range []string{"AWS", "Azure", "GCP"} {
		if !providers[prov] {
			t.Errorf("no playbook for %s was checked", prov)
		}
	}
}

// An IAM user's long-term key (AKIA) gets the key's deactivation only; a
// temporary key (ASIA) the role-session revocation only, which fills in
// the time of the response; without a key both stay.
func TestPlaybookForActor(t *testing.T) {
	p, _ := PlaybookFor(RuleVolumeFromSnapshot)
	has := func(p Playbook, cmd string) bool { return strings.Contains(fmt.Sprint(p.Containment), cmd) }
	user := p.ForActor("AKIAEXAMPLE0000001")
	if !has(user, "update-access-key") || has(user, "put-role-policy") {
		t.Errorf("AKIA: %v", user.Containment)
	}
	role := p.Filled(map[string]string{"now": "2026-12-07T06:40:00Z", "end": "2026-12-08T00:00:00Z"}).ForActor("ASIAEXAMPLE0000001")
	if has(role, "update-access-key") || !has(role, "put-role-policy") || !has(role, `"aws:TokenIssueTime":"2026-12-07T06:40:00Z"`) {
		t.Errorf("ASIA: %v", role.Containment)
	}
	if both := p.ForActor(""); !has(both, "update-access-key") || !has(both, "put-role-policy") {
		t.Errorf("no key: %v", both.Containment)
	}
}
