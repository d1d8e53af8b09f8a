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
	Generator string          `json:"generator"`
	Seed      int64           `json:"seed"`
	Noise     int             `json:"noise"`
	Shapes    []Shape         `json:"shapes"`
	Rules     []Rule          `json:"rules"`
	Scenarios []ScenarioTruth `json:"scenarios"`
	// Background lists the noise files per shape; none of their events is
	// part of any scenario, and none should produce a finding.
	Background []ShapeTruth `json:"background,omitempty"`
}

// ScenarioTruth is one scenario's ground truth.
type ScenarioTruth struct {
	ID            string    `json:"id"`
	Kind          Kind      `json:"kind"`
	Title         string    `json:"title"`
	Provider      string    `json:"provider"`
	SeedTest      int       `json:"seed_test,omitempty"`
	ExpectFinding bool      `json:"expect_finding"`
	Rules         []string  `json:"rules"` // expected rule ids, the main one first
	Why           string    `json:"why"`
	Account       string    `json:"account"` // AWS account or Azure subscription of the first call
	Region        string    `json:"region,omitempty"`
	ResourceGroup string    `json:"resource_group,omitempty"`
	Start         time.Time `json:"start"`
	Calls         int       `json:"calls"`
	// Resources are the ids the scenario touches, as the records write
	// them: EC2 and RDS ids, Azure ARM ids.
	Resources []string     `json:"resources"`
	Shapes    []ShapeTruth `json:"shapes"`
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
