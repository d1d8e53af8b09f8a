package attack

import (
	"slices"
	"testing"
)

func TestRevertCloudInstance(t *testing.T) {
	m := RevertCloudInstance
	if m.Tactic.ID != "TA0005" || m.Tactic.Name != "Defense Evasion" || m.Technique.ID != "T1578" ||
		m.Technique.Name != "Modify Cloud Compute Infrastructure" || m.SubTechnique.ID != "T1578.004" ||
		m.SubTechnique.Name != "Revert Cloud Instance" {
		t.Errorf("mapping %+v", m)
	}
	if got, want := m.Tags(), []string{"attack.defense-evasion", "attack.t1578", "attack.t1578.004"}; !slices.Equal(got, want) {
		t.Errorf("Tags() = %v, want %v", got, want)
	}
	if got := m.SubTechnique.URL(); got != "https://attack.mitre.org/techniques/T1578/004/" {
		t.Errorf("URL() = %s", got)
	}
}

func TestTacticByTag(t *testing.T) {
	for tag, id := range map[string]string{
		"defense-evasion": "TA0005", "stealth": "TA0005", "command-and-control": "TA0011",
		"resource-development": "TA0042", "impact": "TA0040",
	} {
		if got, ok := TacticByTag(tag); !ok || got.ID != id {
			t.Errorf("TacticByTag(%q) = %+v, %v; want %s", tag, got, ok, id)
		}
	}
	for _, tag := range []string{"", "t1578", "Defense-Evasion", "defense evasion"} {
		if got, ok := TacticByTag(tag); ok {
			t.Errorf("TacticByTag(%q) = %+v", tag, got)
		}
	}
	seen := map[string]bool{}
	for _, tac := range tactics {
		if seen[tac.ID] {
			t.Errorf("%s listed twice", tac.ID)
		}
		seen[tac.ID] = true
	}
}
