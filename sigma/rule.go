package sigma

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Kind is what a Sigma document is.
type Kind uint8

// The document kinds.
const (
	KindDetection   Kind = iota + 1 // a detection rule: logsource and detection
	KindCorrelation                 // a correlation (meta) rule
	KindFilter                      // a global filter
)

// String names the kind.
func (k Kind) String() string {
	switch k {
	case KindDetection:
		return "detection"
	case KindCorrelation:
		return "correlation"
	case KindFilter:
		return "filter"
	}
	return "unknown"
}

// Logsource is a rule's logsource.
type Logsource struct {
	Category   string `yaml:"category,omitempty"`
	Product    string `yaml:"product,omitempty"`
	Service    string `yaml:"service,omitempty"`
	Definition string `yaml:"definition,omitempty"`
}

// Rule is one loaded Sigma document: a detection rule, a correlation rule
// or a filter.
type Rule struct {
	Kind Kind
	// File, Line and Column locate the document.
	File         string
	Line, Column int

	ID, Name, Title, Status, Description, Author, Date, Modified, Level string
	References, Tags, FalsePositives                                    []string
	Logsource                                                           Logsource

	// Correlation is set for a correlation rule.
	Correlation *Correlation
	// Filter is set for a filter.
	Filter *Filter

	det      *detection
	provider string // the event provider the logsource selects, "" for any
	idx      int    // position in the Ruleset
}

// Ref is how the rule is referred to in messages and findings: its name,
// else its id, else its title.
func (r *Rule) Ref() string {
	switch {
	case r.Name != "":
		return r.Name
	case r.ID != "":
		return r.ID
	}
	return r.Title
}

// Pos returns FILE:LINE:COL of the document.
func (r *Rule) Pos() string { return fmt.Sprintf("%s:%d:%d", r.File, r.Line, r.Column) }

// CorrelationType is a correlation rule's type.
type CorrelationType string

// The correlation types.
const (
	EventCount      CorrelationType = "event_count"
	ValueCount      CorrelationType = "value_count"
	Temporal        CorrelationType = "temporal"
	TemporalOrdered CorrelationType = "temporal_ordered"
)

// Correlation is the correlation section of a correlation rule.
type Correlation struct {
	Type     CorrelationType
	Rules    []string // ids or names, as written
	GroupBy  []string
	Timespan time.Duration
	// Aliases maps an alias to the field it stands for in each rule's
	// events, by rule name (or id).
	Aliases map[string]map[string]string
	// Condition holds the count thresholds; Field is value_count's field.
	Condition []Threshold
	Field     []string
	Generate  bool
}

// Threshold is one comparison of a correlation condition.
type Threshold struct {
	Op    string // gt, gte, lt, lte, eq, neq
	Value int
}

func (t Threshold) holds(n int) bool {
	switch t.Op {
	case "gt":
		return n > t.Value
	case "gte":
		return n >= t.Value
	case "lt":
		return n < t.Value
	case "lte":
		return n <= t.Value
	case "eq":
		return n == t.Value
	case "neq":
		return n != t.Value
	}
	return false
}

// Filter is the filter section of a global filter.
type Filter struct {
	Rules []string
	det   *detection
}

// Severity is where a problem leaves its rule.
type Severity uint8

// The severities.
const (
	// SevError: the document is not valid Sigma; it is not run.
	SevError Severity = iota + 1
	// SevUnsupported: valid Sigma using something revertwatch does not
	// run; the rule is not run.
	SevUnsupported
	// SevWarning: the rule runs, but something deserves a look.
	SevWarning
)

// String names the severity.
func (s Severity) String() string {
	switch s {
	case SevError:
		return "error"
	case SevUnsupported:
		return "unsupported"
	case SevWarning:
		return "warning"
	}
	return "?"
}

// Problem is something wrong with a rule file, located.
type Problem struct {
	File         string   `json:"file"`
	Line         int      `json:"line"`
	Column       int      `json:"column"`
	Severity     Severity `json:"-"`
	Rule         string   `json:"rule,omitempty"`      // the rule's name, id or title
	Construct    string   `json:"construct,omitempty"` // the unsupported construct
	Message      string   `json:"message"`
	SeverityName string   `json:"severity"`
}

// String renders FILE:LINE:COL: severity: [rule R:] message.
func (p Problem) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s:%d:%d: %s: ", p.File, p.Line, p.Column, p.Severity)
	if p.Rule != "" {
		fmt.Fprintf(&b, "rule %s: ", p.Rule)
	}
	b.WriteString(p.Message)
	if p.Construct != "" && p.Severity == SevUnsupported {
		fmt.Fprintf(&b, " [unsupported: %s]", p.Construct)
	}
	return b.String()
}

var timespanRE = regexp.MustCompile(`^([0-9]+)([smhdwy])$`)

// ParseTimespan parses a correlation timespan: a number and one of s, m,
// h, d (the specification's units), w or y.
func ParseTimespan(s string) (time.Duration, error) {
	m := timespanRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, fmt.Errorf("timespan %q: want a number and a unit (s, m, h, d), like 90m", s)
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil || n <= 0 || n > 100000 {
		return 0, fmt.Errorf("timespan %q out of range", s)
	}
	unit := map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour,
		"w": 7 * 24 * time.Hour, "y": 365 * 24 * time.Hour}[m[2]]
	return time.Duration(n) * unit, nil
}

// FormatTimespan writes a duration as a Sigma timespan in the largest
// whole unit.
func FormatTimespan(d time.Duration) string {
	switch {
	case d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return fmt.Sprintf("%ds", (d+time.Second-1)/time.Second)
}

// docMap returns the mapping node of a document node, or nil.
func docMap(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	if n.Kind != yaml.MappingNode {
		return nil
	}
	return n
}

// get returns the value node of key in a mapping node.
func get(m *yaml.Node, key string) (k, v *yaml.Node) {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i], m.Content[i+1]
		}
	}
	return nil, nil
}
