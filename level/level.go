// Package level is the one scale revertwatch grades findings on, for
// severity and confidence alike, with its words and its two mappings out:
// to Sigma's levels and to OCSF's severity and confidence ids.
//
// The built-in content, the findings, tuning, the Sigma runner and every
// export read it, so that a level has one name everywhere (issue 14). It
// sits in the bottom layer because all of them, from finding up, use it.
package level

import "strings"

// Level is a grade on the scale, lowest first. The zero value is Unknown:
// a word this scale does not have.
type Level int8

// The levels, lowest first. Their numbers are OCSF's severity_id, which
// the scale was taken from (OCSF 1.8.0, base event: 1 Informational …
// 5 Critical).
const (
	Unknown Level = iota
	Info
	Low
	Medium
	High
	Critical
)

// words are the levels' names: in findings, in the tuning file, in every
// export. They are also Sigma's level keywords, letter for letter.
var words = [...]string{Unknown: "unknown", Info: "informational", Low: "low", Medium: "medium", High: "high", Critical: "critical"}

// String returns the level's word: "informational", "low", "medium",
// "high", "critical" (or "unknown").
func (l Level) String() string {
	if l > Unknown && int(l) < len(words) {
		return words[l]
	}
	return words[Unknown]
}

// MarshalText encodes the level by its word.
func (l Level) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// Parse returns the level a word names, exactly as String writes it.
// Anything else is Unknown and false.
func Parse(word string) (Level, bool) {
	for l := Info; l <= Critical; l++ {
		if words[l] == word {
			return l, true
		}
	}
	return Unknown, false
}

// ParseInput reads a level a person wrote (in the tuning file): a word in
// any letter case, or "info", the short spelling of informational the
// built-in content printed before the scale had one vocabulary, so that
// files written with it keep working.
func ParseInput(s string) (Level, bool) {
	s = strings.ToLower(s)
	if s == "info" {
		return Info, true
	}
	return Parse(s)
}

// Shift moves the level by delta steps, staying within Info..Critical:
// a match's adjustments move its detection's base levels.
func (l Level) Shift(delta int) Level {
	n := int(l) + delta
	if n < int(Info) {
		return Info
	}
	if n > int(Critical) {
		return Critical
	}
	return Level(n)
}

// Confidence returns the level as a confidence, which has only low,
// medium and high: below low is low, above high is high. Unknown stays
// Unknown.
func (l Level) Confidence() Level {
	switch {
	case l == Unknown:
		return Unknown
	case l < Low:
		return Low
	case l > High:
		return High
	}
	return l
}

// Sigma returns the level's Sigma level keyword (the rules
// specification's "level"). Unknown has none: "".
func (l Level) Sigma() string {
	if l == Unknown {
		return ""
	}
	return l.String()
}

// ParseSigma returns the level a Sigma level keyword names, exactly as
// the specification spells it (lower case); anything else is false.
func ParseSigma(keyword string) (Level, bool) { return Parse(keyword) }

// FromSigma grades a Sigma rule's level, in any letter case. A rule with
// no level, or a keyword Sigma does not define, is Medium: the middle of
// the scale, raised or lowered by nothing the rule says.
func FromSigma(keyword string) Level {
	if l, ok := ParseSigma(strings.ToLower(keyword)); ok {
		return l
	}
	return Medium
}

// OCSFSeverityID returns OCSF's severity_id for a severity: 0 Unknown,
// 1 Informational, 2 Low, 3 Medium, 4 High, 5 Critical.
func (l Level) OCSFSeverityID() int {
	if l < Unknown || l > Critical {
		return 0
	}
	return int(l)
}

// OCSFConfidenceID returns OCSF's confidence_id for a confidence: 1 Low,
// 2 Medium, 3 High; 0 Unknown for a level a confidence cannot be.
func (l Level) OCSFConfidenceID() int {
	if l < Low || l > High {
		return 0
	}
	return int(l - Low + 1)
}
