// Package attack holds the MITRE ATT&CK identifiers revertwatch uses: the
// tactics (for reading Sigma's attack.* tags) and the technique it
// detects, T1578.004 Revert Cloud Instance, with their names, tags and
// pages.
//
// Content maps its detections here; findings, the Sigma runner and every
// export read the ids from here, so that an id is written once. It sits
// in the bottom layer because finding (layer 1) needs it as much as
// content does.
package attack

import (
	"strings"
	"sync"
)

// Version is the ATT&CK release the ids and names are taken from.
const Version = "v17"

// Tactic is an ATT&CK tactic.
type Tactic struct {
	ID   string // TA0005
	Name string // Defense Evasion
}

// Tag returns the tactic's Sigma tag: attack.defense-evasion.
func (t Tactic) Tag() string {
	return "attack." + strings.ReplaceAll(strings.ToLower(t.Name), " ", "-")
}

// Technique is an ATT&CK technique or sub-technique.
type Technique struct {
	ID   string // T1578.004
	Name string // Revert Cloud Instance
}

// Tag returns the technique's Sigma tag: attack.t1578.004.
func (t Technique) Tag() string { return "attack." + strings.ToLower(t.ID) }

// URL returns the technique's page on attack.mitre.org:
// https://attack.mitre.org/techniques/T1578/004/.
func (t Technique) URL() string {
	return "https://attack.mitre.org/techniques/" + strings.ReplaceAll(t.ID, ".", "/") + "/"
}

// Mapping places a detection in ATT&CK: a tactic, a technique and one of
// its sub-techniques.
type Mapping struct {
	Tactic       Tactic
	Technique    Technique
	SubTechnique Technique
}

// Tags returns the mapping's Sigma tags, as SigmaHQ writes them: the
// tactic, the technique and the sub-technique.
func (m Mapping) Tags() []string {
	return []string{m.Tactic.Tag(), m.Technique.Tag(), m.SubTechnique.Tag()}
}

// DefenseEvasion is the tactic of every revert.
var DefenseEvasion = Tactic{ID: "TA0005", Name: "Defense Evasion"}

// RevertCloudInstance is T1578.004, the sub-technique revertwatch detects,
// under T1578 Modify Cloud Compute Infrastructure.
var RevertCloudInstance = Mapping{
	Tactic:       DefenseEvasion,
	Technique:    Technique{ID: "T1578", Name: "Modify Cloud Compute Infrastructure"},
	SubTechnique: Technique{ID: "T1578.004", Name: "Revert Cloud Instance"},
}

// tactics are the Enterprise tactics, in ATT&CK's order.
var tactics = []Tactic{
	{"TA0043", "Reconnaissance"},
	{"TA0042", "Resource Development"},
	{"TA0001", "Initial Access"},
	{"TA0002", "Execution"},
	{"TA0003", "Persistence"},
	{"TA0004", "Privilege Escalation"},
	DefenseEvasion,
	{"TA0006", "Credential Access"},
	{"TA0007", "Discovery"},
	{"TA0008", "Lateral Movement"},
	{"TA0009", "Collection"},
	{"TA0011", "Command and Control"},
	{"TA0010", "Exfiltration"},
	{"TA0040", "Impact"},
}

// TacticByTag returns the tactic a Sigma tag names, given without its
// "attack." prefix and in lower case (defense-evasion). "stealth", the
// name newer Sigma rules give Defense Evasion, is Defense Evasion.
func TacticByTag(name string) (Tactic, bool) {
	if name == "stealth" {
		return DefenseEvasion, true
	}
	t, ok := tacticTags()[name]
	return t, ok
}

// tacticTags finds a tactic by its tag without the attack. prefix.
var tacticTags = sync.OnceValue(func() map[string]Tactic {
	m := make(map[string]Tactic, len(tactics))
	for _, t := range tactics {
		m[strings.TrimPrefix(t.Tag(), "attack.")] = t
	}
	return m
})
