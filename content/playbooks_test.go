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
