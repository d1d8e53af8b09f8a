package finding

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/revertwatch/revertwatch/attack"
	"github.com/revertwatch/revertwatch/level"
)

const sarifSchema = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"

type sarifText struct {
	Text string `json:"text"`
}

type sarifConfig struct {
	Level string `json:"level"`
}

type sarifRule struct {
	ID                   string         `json:"id"`
	Name                 string         `json:"name,omitempty"`
	ShortDescription     sarifText      `json:"shortDescription"`
	FullDescription      *sarifText     `json:"fullDescription,omitempty"`
	HelpURI              string         `json:"helpUri,omitempty"`
	DefaultConfiguration sarifConfig    `json:"defaultConfiguration"`
	Properties           map[string]any `json:"properties,omitempty"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version,omitempty"`
	InformationURI string      `json:"informationUri,omitempty"`
	Rules          []sarifRule `json:"rules"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine  int   `json:"startLine,omitempty"`
	ByteOffset int64 `json:"byteOffset"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           *sarifRegion  `json:"region,omitempty"`
}

type sarifLogical struct {
	Name               string `json:"name,omitempty"`
	FullyQualifiedName string `json:"fullyQualifiedName,omitempty"`
	Kind               string `json:"kind,omitempty"`
}

type sarifLocation struct {
	ID               int            `json:"id,omitempty"`
	PhysicalLocation *sarifPhysical `json:"physicalLocation,omitempty"`
	LogicalLocations []sarifLogical `json:"logicalLocations,omitempty"`
	Message          *sarifText     `json:"message,omitempty"`
}

type sarifSuppression struct {
	Kind          string `json:"kind"`
	Justification string `json:"justification,omitempty"`
}

type sarifResult struct {
	RuleID              string             `json:"ruleId"`
	RuleIndex           int                `json:"ruleIndex"`
	Level               string             `json:"level"`
	Message             sarifText          `json:"message"`
	Locations           []sarifLocation    `json:"locations"`
	RelatedLocations    []sarifLocation    `json:"relatedLocations,omitempty"`
	PartialFingerprints map[string]string  `json:"partialFingerprints"`
	Suppressions        []sarifSuppression `json:"suppressions,omitempty"`
	OccurrenceCount     int                `json:"occurrenceCount,omitempty"` // the records a folded finding stands for (Finding.Hits)
	Properties          map[string]any     `json:"properties"`
}

type sarifRun struct {
	Tool struct {
		Driver sarifDriver `json:"driver"`
	} `json:"tool"`
	Results []sarifResult `json:"results"`
}

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

// sarifLevel maps a severity onto SARIF's levels.
func sarifLevel(severity string) string {
	switch l, _ := level.Parse(severity); l {
	case level.High, level.Critical:
		return "error"
	case level.Medium:
		return "warning"
	}
	return "note"
}

// SARIF builds a SARIF 2.1.0 log with one run: the rules, then one result
// per finding. The main location is the first evidence event (its file and
// line, and its event id as a logical location); the other events are
// related locations.
func SARIF(fs []Finding, rules []RuleInfo, version string) any {
	var run sarifRun
	// The product's page, every rule's help and every result's technique
	// are the technique revertwatch is for.
	a := attack.RevertCloudInstance
	run.Tool.Driver = sarifDriver{Name: ProductName, Version: version, InformationURI: a.SubTechnique.URL(), Rules: []sarifRule{}}
	index := map[string]int{}
	addRule := func(r RuleInfo) {
		if _, ok := index[r.ID]; ok {
			return
		}
		index[r.ID] = len(run.Tool.Driver.Rules)
		sr := sarifRule{
			ID: r.ID, Name: r.Title, ShortDescription: sarifText{Text: r.Title}, HelpURI: a.SubTechnique.URL(),
			DefaultConfiguration: sarifConfig{Level: sarifLevel(r.Severity)},
			Properties:           map[string]any{"tags": []string{"security", a.Tactic.Tag(), a.SubTechnique.Tag()}},
		}
		if r.Description != "" {
			sr.FullDescription = &sarifText{Text: r.Description}
		}
		run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, sr)
	}
	for _, r := range rules {
		addRule(r)
	}
	run.Results = []sarifResult{}
	for i := range fs {
		f := &fs[i]
		addRule(RuleInfo{ID: f.RuleID, Title: f.Title, Description: f.Description, Severity: f.Severity})
		res := sarifResult{
			RuleID: f.RuleID, RuleIndex: index[f.RuleID], Level: sarifLevel(f.Severity),
			Message:             sarifText{Text: sarifMessage(f)},
			PartialFingerprints: map[string]string{"revertwatchFindingId/v1": f.ID},
			OccurrenceCount:     f.Hits,
			Properties: map[string]any{
				"severity": f.Severity, "confidence": f.Confidence, "provider": f.Provider, "account": f.Account,
				"region": f.Region, "caller": f.Actor.Caller, "firstSeen": f.FirstSeen, "lastSeen": f.LastSeen,
				"technique": a.SubTechnique.ID, "tags": []string{a.Tactic.Tag(), a.SubTechnique.Tag()},
			},
		}
		if f.Suppressed {
			res.Suppressions = []sarifSuppression{{Kind: "external", Justification: f.SuppressionReason}}
		}
		for j, e := range f.Evidence {
			loc := sarifLocation{
				LogicalLocations: []sarifLogical{{Name: e.Operation, FullyQualifiedName: e.UID, Kind: "object"}},
				Message:          &sarifText{Text: fmt.Sprintf("%s at %s", e.Operation, e.Time.UTC().Format("2006-01-02T15:04:05Z"))},
			}
			if e.File != "" && e.File != "-" {
				loc.PhysicalLocation = &sarifPhysical{
					ArtifactLocation: sarifArtifact{URI: filepath.ToSlash(e.File)},
					Region:           &sarifRegion{StartLine: e.Line, ByteOffset: e.Offset},
				}
			}
			if j == 0 {
				res.Locations = append(res.Locations, loc)
			} else {
				loc.ID = j
				res.RelatedLocations = append(res.RelatedLocations, loc)
			}
		}
		if len(res.Locations) == 0 {
			res.Locations = []sarifLocation{}
		}
		run.Results = append(run.Results, res)
	}
	return sarifLog{Schema: sarifSchema, Version: "2.1.0", Runs: []sarifRun{run}}
}

func sarifMessage(f *Finding) string {
	var ops []string
	for _, e := range f.Evidence {
		ops = append(ops, e.Operation)
	}
	return fmt.Sprintf("%s by %s in %s %s: %s", f.Title, f.Actor.Caller, f.Provider, f.Account, strings.Join(ops, " → "))
}

// WriteSARIF writes the findings as one SARIF 2.1.0 log.
func WriteSARIF(w io.Writer, fs []Finding, rules []RuleInfo, version string) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(SARIF(fs, rules, version))
}
