package sequence

import (
	"time"

	"github.com/revertwatch/revertwatch/event"
)

// Match is a completed rule: plain data for the finding renderers.
type Match struct {
	Rule     string `json:"rule_id"`
	Provider string `json:"provider"`
	Account  string `json:"account,omitempty"`
	Region   string `json:"region,omitempty"`
	// Bindings are the rule's keys in declaration order (snapshot, volume,
	// instance ...). An optional binding that stayed empty is left out.
	Bindings []Binding `json:"bindings"`
	// Evidence is every step event and every context event found, in
	// event-time order.
	Evidence []Evidence `json:"evidence"`
	// Resources is the union of the evidence events' resources, in the
	// order the evidence names them.
	Resources   []event.Resource `json:"resources"`
	First       time.Time        `json:"first_seen"`
	Last        time.Time        `json:"last_seen"`
	Adjustments []Adjustment     `json:"adjustments,omitempty"`
	// Late is set when an event of the match arrived behind its scope's
	// watermark and was replayed in its place; LateBy is how late the
	// latest such event was (its scope's newest event time when it came,
	// minus its own time).
	Late   bool          `json:"late,omitempty"`
	LateBy time.Duration `json:"late_by,omitempty"`
}

// Binding is one key of a match.
type Binding struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Evidence is one event of a match.
type Evidence struct {
	// Step is the step's name, or the context's name when Context is set.
	Step    string `json:"step"`
	Context bool   `json:"context,omitempty"`
	// Event is the call. For an Azure operation logged in several phases it
	// is the terminal record, with the keys of all its phases merged in.
	Event *event.Event `json:"event"`
	// Phases are the Azure Start and Accept records folded into Event.
	Phases []*event.Event `json:"phases,omitempty"`
	// Unlogged is set for an Azure operation whose outcome was never
	// logged (only its Start or Accept records): it counted as done at the
	// end of the input, or once the lateness had passed.
	Unlogged bool `json:"unlogged,omitempty"`
}

// Adjustment is a reason a match's severity or confidence moved.
type Adjustment struct {
	Reason     string `json:"reason"`
	Severity   int    `json:"severity,omitempty"`
	Confidence int    `json:"confidence,omitempty"`
}

// Binding returns the value bound to name, or "".
func (m *Match) Binding(name string) string {
	for _, b := range m.Bindings {
		if b.Name == name {
			return b.Value
		}
	}
	return ""
}

// Steps returns the evidence of the steps alone, in order.
func (m *Match) Steps() []Evidence {
	out := make([]Evidence, 0, len(m.Evidence))
	for _, ev := range m.Evidence {
		if !ev.Context {
			out = append(out, ev)
		}
	}
	return out
}

// Severity sums the severity adjustments.
func (m *Match) Severity() int {
	n := 0
	for _, a := range m.Adjustments {
		n += a.Severity
	}
	return n
}

// Confidence sums the confidence adjustments.
func (m *Match) Confidence() int {
	n := 0
	for _, a := range m.Adjustments {
		n += a.Confidence
	}
	return n
}
