package emulate

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Truth is truth.json: what was written and what a detector should make
// of it.
type Truth struct {
	Generator string `json:"generator"`
	Seed      int64  `json:"seed"`
	Noise     int    `json:"noise"`
	// Order is the order of records in and across files; absent for
	// oldest-first, the default, so that older files read the same.
	Order Order `json:"order,omitempty"`
	// Span is how long the activity lasts from its first day (90d);
	// absent for one day, the default.
	Span      string          `json:"span,omitempty"`
	Shapes    []Shape         `json:"shapes"`
	Rules     []Rule          `json:"rules"`
	Scenarios []ScenarioTruth `json:"scenarios"`
	// Background lists the noise files per shape; none of their events is
	// part of any scenario, and none should produce a finding.
	Background []ShapeTruth `json:"background,omitempty"`
}

// ScenarioTruth is one scenario's ground truth.
type ScenarioTruth struct {
	ID            string   `json:"id"`
	Kind          Kind     `json:"kind"`
	Title         string   `json:"title"`
	Provider      string   `json:"provider"`
	SeedTest      int      `json:"seed_test,omitempty"`
	ExpectFinding bool     `json:"expect_finding"`
	Rules         []string `json:"rules"` // expected rule ids, the main one first
	// Counts give the exact number of findings (distinct finding ids)
	// expected of a rule, where the scenario says; a rule of Rules not
	// listed here is expected at least once. Absent in older files,
	// which read as "at least once" for every rule.
	Counts        []RuleCount `json:"counts,omitempty"`
	Why           string      `json:"why"`
	Account       string      `json:"account"` // AWS account or Azure subscription of the first call
	Region        string      `json:"region,omitempty"`
	ResourceGroup string      `json:"resource_group,omitempty"`
	Start         time.Time   `json:"start"`
	Calls         int         `json:"calls"`
	// Resources are the ids the scenario touches, as the records write
	// them: EC2 and RDS ids, Azure ARM ids.
	Resources []string     `json:"resources"`
	Shapes    []ShapeTruth `json:"shapes"`
}

// RuleCount is how many findings of a rule a scenario should produce.
type RuleCount struct {
	Rule  string `json:"rule"`
	Count int    `json:"count"`
}

// Expected returns the exact number of findings of rule the truth asks
// for, and whether it asks for one (otherwise: at least one).
func (st *ScenarioTruth) Expected(rule string) (int, bool) {
	for _, c := range st.Counts {
		if c.Rule == rule {
			return c.Count, true
		}
	}
	return 0, false
}

// ShapeTruth is what one scenario (or the background) wrote in one shape.
type ShapeTruth struct {
	Shape  Shape    `json:"shape"`
	Files  []string `json:"files"`
	Events int      `json:"events"` // events ingest reads from the files (duplicates included)
}

// Marshal encodes the truth as indented JSON.
func (t *Truth) Marshal() []byte {
	b, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		panic(err) // plain structs: cannot fail
	}
	return append(b, '\n')
}

// Write writes the corpus and truth.json under dir.
func (c *Corpus) Write(dir string) error {
	for _, f := range c.Files {
		if err := writeFile(dir, f.Path, f.Data); err != nil {
			return err
		}
	}
	return writeFile(dir, "truth.json", c.Truth.Marshal())
}

func writeFile(dir, rel string, data []byte) error {
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("emulate: %w", err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		return fmt.Errorf("emulate: %w", err)
	}
	return nil
}
