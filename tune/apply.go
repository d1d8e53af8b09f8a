package tune

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/finding"
	"github.com/revertwatch/revertwatch/level"
)

// Decision is what Apply did to a finding.
type Decision struct {
	// Action is Keep when no allow entry matched, else the entry's action.
	// The caller emits the finding unless the action is Drop.
	Action Action `json:"action"`
	// Entry names the allow entry that matched ("" for Keep).
	Entry string `json:"entry,omitempty"`
	// Benign lists the built-in benign actors recognised in the evidence,
	// in list order.
	Benign []string `json:"benign,omitempty"`
	// AllBenign is true when every event was made by a recognised actor
	// that is not caller-set; confidence was then lowered one step.
	AllBenign bool `json:"all_benign,omitempty"`
	// entry is the matching allow entry's index plus one, for Count.
	entry int
}

// AppendBinary appends a compact encoding of d, which DecodeDecision
// reads back, for a caller that keeps decisions on disk until it counts
// them.
func (d Decision) AppendBinary(b []byte) ([]byte, error) {
	b = binary.AppendUvarint(b, uint64(d.Action))
	b = binary.AppendUvarint(b, uint64(d.entry))
	flag := uint64(0)
	if d.AllBenign {
		flag = 1
	}
	b = binary.AppendUvarint(b, flag)
	b = binary.AppendUvarint(b, uint64(len(d.Benign)))
	for _, s := range append([]string{d.Entry}, d.Benign...) {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return b, nil
}

// DecodeDecision reads a Decision that AppendBinary encoded and returns
// it with the rest of b.
func DecodeDecision(b []byte) (Decision, []byte, error) {
	var d Decision
	bad := errors.New("tune: truncated decision")
	num := func() uint64 {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			b = nil
			return 0
		}
		b = b[n:]
		return v
	}
	str := func() (string, bool) {
		n := num()
		if b == nil || uint64(len(b)) < n {
			return "", false
		}
		s := string(b[:n])
		b = b[n:]
		return s, true
	}
	d.Action, d.entry, d.AllBenign = Action(num()), int(num()), num() == 1
	nb := num()
	if b == nil || nb > uint64(len(b)) {
		return Decision{}, nil, bad
	}
	var ok bool
	if d.Entry, ok = str(); !ok {
		return Decision{}, nil, bad
	}
	for i := uint64(0); i < nb; i++ {
		s, ok := str()
		if !ok {
			return Decision{}, nil, bad
		}
		d.Benign = append(d.Benign, s)
	}
	return d, b, nil
}

// Emit reports whether the finding should be written out.
func (d Decision) Emit() bool { return d.Action != Drop }

var defaultConfig = sync.OnceValue(func() *Config { return Default() })

// Apply tunes one finding, in place, and says what it did. evs are the
// events behind the finding (its evidence); with none, the finding's own
// actor, resources and evidence summary are used instead, which is coarser
// (request_value cannot match then).
//
// In order:
//
//  1. Built-in benign actors are recognised per event. When every event
//     was made by one (not counting caller-set actors such as Packer), the
//     finding's confidence drops one step and, if they are cloud services,
//     Actor.ServiceInitiated is set. Either way a reason is added. This
//     never suppresses.
//  2. The first allow entry, in file order, that is not expired, covers the
//     finding's rule and matches every event decides. downgrade marks the
//     finding suppressed with a reason naming the entry and lowers its
//     severity to the entry's severity (default low); drop marks it too and
//     the decision says not to emit it. Both are counted per entry.
//
// Call Apply once per finding: a second call would lower confidence again.
// A nil *Config applies the built-in benign actors only.
func (c *Config) Apply(f *finding.Finding, evs []*event.Event) Decision {
	dec := c.ApplyUncounted(f, evs)
	c.Count(dec)
	return dec
}

// ApplyUncounted is Apply without counting the decision into the
// summary: for a caller that makes a finding more than once (one per
// copy of a record) and counts the one it keeps with Count.
func (c *Config) ApplyUncounted(f *finding.Finding, evs []*event.Event) Decision {
	if c == nil {
		c = defaultConfig()
	}
	var dec Decision
	if f == nil {
		return dec
	}
	subjects := make([]subject, 0, len(evs))
	for _, ev := range evs {
		if ev != nil {
			subjects = append(subjects, subjectOf(ev))
		}
	}
	if len(subjects) == 0 {
		subjects = subjectsOfFinding(f)
	}
	c.applyBenign(f, subjects, &dec)
	c.applyEntries(f, subjects, &dec)
	return dec
}

// Key is what tells two decisions apart: equal for equal decisions, ""
// for one that changed nothing.
func (d Decision) Key() string {
	if d.Action == Keep && d.Entry == "" && len(d.Benign) == 0 && !d.AllBenign {
		return ""
	}
	return d.Action.String() + "|" + d.Entry + "|" + strings.Join(d.Benign, ",") + "|" + strconv.FormatBool(d.AllBenign)
}

// Count counts a decision of ApplyUncounted into the summary: the benign
// actors it recognised and the allow entry that downgraded or dropped the
// finding.
func (c *Config) Count(dec Decision) {
	if c == nil {
		c = defaultConfig()
	}
	set := c.benign
	if set == nil {
		set = Builtin()
	}
	for _, id := range dec.Benign {
		for j, a := range set.Actors {
			if a.ID == id && j < len(c.benignN) {
				c.benignN[j].Add(1)
			}
		}
	}
	if dec.entry <= 0 || dec.entry > len(c.Entries) {
		return
	}
	if e := c.Entries[dec.entry-1]; dec.Action == Drop {
		e.dropped.Add(1)
	} else {
		e.downgraded.Add(1)
	}
}

func (c *Config) applyBenign(f *finding.Finding, subjects []subject, dec *Decision) {
	set := c.benign
	if set == nil {
		set = Builtin()
	}
	seen := make([]bool, len(set.Actors))
	all, service := true, true
	recognised := 0
	for i := range subjects {
		s := &subjects[i]
		s.benign = set.recognise(s)
		strong, svc := false, false
		for _, id := range s.benign {
			for j, a := range set.Actors {
				if a.ID != id {
					continue
				}
				seen[j] = true
				if !a.CallerSet {
					strong = true
					svc = svc || a.ServiceInitiated
				}
			}
		}
		if len(s.benign) > 0 {
			recognised++
		}
		all = all && strong
		service = service && svc
	}
	var names, callerSet []string
	for j, a := range set.Actors {
		if !seen[j] {
			continue
		}
		dec.Benign = append(dec.Benign, a.ID)
		if a.CallerSet {
			callerSet = append(callerSet, a.Name)
		} else {
			names = append(names, a.Name)
		}
	}
	if recognised == 0 {
		return
	}
	cite := fmt.Sprintf("built-in benign actors %s", set.Version)
	switch {
	case all:
		dec.AllBenign = true
		from := f.Confidence
		f.Confidence = lowerConfidence(f.Confidence)
		if service {
			f.Actor.ServiceInitiated = true
		}
		f.Reasons = append(f.Reasons, fmt.Sprintf("confidence %s → %s: every event was made by %s, a known benign actor (%s); not suppressed: an intruder can drive these services too",
			orUnknown(from), orUnknown(f.Confidence), strings.Join(names, " and "), cite))
	case len(names) > 0:
		f.Reasons = append(f.Reasons, fmt.Sprintf("%d of %d events were made by %s, a known benign actor (%s); confidence unchanged because the others were not",
			recognised, len(subjects), strings.Join(names, " and "), cite))
	}
	if len(callerSet) > 0 {
		f.Reasons = append(f.Reasons, fmt.Sprintf("looks like %s, but its marks are set by the caller (%s); confidence unchanged",
			strings.Join(callerSet, " and "), cite))
	}
}

// lowerConfidence moves a confidence one step down, stopping at low; a
// word that is not a confidence is left as it is.
func lowerConfidence(c string) string {
	l, ok := level.Parse(c)
	if !ok || l.Confidence() != l {
		return c
	}
	return l.Shift(-1).Confidence().String()
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func (c *Config) applyEntries(f *finding.Finding, subjects []subject, dec *Decision) {
	if len(c.Entries) == 0 {
		return
	}
	now := c.clock()
	for i, e := range c.Entries {
		if e.Expired(now) || !e.appliesToRule(f.RuleID) || e.Match == nil {
			continue
		}
		if !matchAll(e.Match, subjects) {
			continue
		}
		dec.Action, dec.Entry, dec.entry = e.Action, e.Name, i+1
		f.Suppressed = true
		reason := fmt.Sprintf("allow entry %q: %s", e.Name, e.Reason)
		if e.Owner != "" {
			reason += " (owner: " + e.Owner + ")"
		}
		f.SuppressionReason = reason
		if e.Action == Drop {
			return
		}
		if sev, _ := level.Parse(f.Severity); sev > e.Severity {
			f.Reasons = append(f.Reasons, fmt.Sprintf("severity %s → %s: downgraded by allow entry %q", f.Severity, e.Severity, e.Name))
			f.Severity = e.Severity.String()
		}
		return
	}
}

func matchAll(m *Match, subjects []subject) bool {
	if len(subjects) == 0 {
		return false
	}
	for i := range subjects {
		if !m.matches(&subjects[i]) {
			return false
		}
	}
	return true
}

func (c *Config) clock() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Summary accounts for every finding tuning touched: per allow entry, how
// many were downgraded and dropped, and per built-in benign actor, how many
// findings it was recognised in.
type Summary struct {
	Downgraded int64          `json:"downgraded"`
	Dropped    int64          `json:"dropped"`
	Entries    []EntrySummary `json:"entries"`
	Benign     []BenignCount  `json:"benign,omitempty"`
}

// EntrySummary is one allow entry's count.
type EntrySummary struct {
	Name       string `json:"name"`
	Action     Action `json:"action"`
	Downgraded int64  `json:"downgraded"`
	Dropped    int64  `json:"dropped"`
	Expired    bool   `json:"expired,omitempty"`
}

// BenignCount is how many findings a built-in benign actor was seen in.
type BenignCount struct {
	ID       string `json:"id"`
	Findings int64  `json:"findings"`
}

// Summary returns the counts so far: every entry in file order (zero counts
// included, so an entry that never matched is visible) and the benign
// actors seen at least once, in list order.
func (c *Config) Summary() Summary {
	var s Summary
	if c == nil {
		return s
	}
	now := c.clock()
	for _, e := range c.Entries {
		es := EntrySummary{Name: e.Name, Action: e.Action, Downgraded: e.downgraded.Load(), Dropped: e.dropped.Load(), Expired: e.Expired(now)}
		s.Downgraded += es.Downgraded
		s.Dropped += es.Dropped
		s.Entries = append(s.Entries, es)
	}
	set := c.benign
	if set == nil {
		set = Builtin()
	}
	for i := range c.benignN {
		if n := c.benignN[i].Load(); n > 0 && i < len(set.Actors) {
			s.Benign = append(s.Benign, BenignCount{ID: set.Actors[i].ID, Findings: n})
		}
	}
	return s
}

// Write prints the summary for a person, as a few aligned lines.
func (s Summary) Write(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "tuning: %d downgraded, %d dropped\n", s.Downgraded, s.Dropped)
	for _, e := range s.Entries {
		state := e.Action.String()
		if e.Expired {
			state += " (expired)"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%d\n", e.Name, state, e.Downgraded+e.Dropped)
	}
	if len(s.Benign) > 0 {
		parts := make([]string, len(s.Benign))
		for i, b := range s.Benign {
			parts[i] = fmt.Sprintf("%s %d", b.ID, b.Findings)
		}
		fmt.Fprintf(tw, "  benign actors seen: %s\n", strings.Join(parts, ", "))
	}
	return tw.Flush()
}

// CheckRules warns about allow entries limited to rule patterns that match
// none of the known rule ids (such an entry never applies). Pass the ids of
// the loaded content.
func (c *Config) CheckRules(known []string) Diagnostics {
	if c == nil {
		return nil
	}
	var ds Diagnostics
	for _, e := range c.Entries {
		for i, g := range e.rules {
			hit := false
			for _, id := range known {
				if g.Match(id) {
					hit = true
					break
				}
			}
			if !hit {
				ids := append([]string(nil), known...)
				sort.Strings(ids)
				ds = append(ds, Diagnostic{File: c.File, Line: e.Line, Column: e.Column, Warning: true,
					Message: fmt.Sprintf("allow entry %q: rule %q matches no rule, so the entry never applies to it (rules: %s)", e.Name, e.Rules[i], strings.Join(ids, ", "))})
			}
		}
	}
	return ds
}
