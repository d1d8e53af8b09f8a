package sigma

import (
	"fmt"
	"strings"
)

// use is a place a correlation refers to a rule.
type use struct {
	corr *Rule
	pos  int // the rule's position in correlation.rules
}

// plan is the runnable form of a resolved Ruleset.
type plan struct {
	detections []*Rule           // detection rules, load order
	corrs      []*Rule           // correlation rules, inner before outer
	filters    map[*Rule][]*Rule // filters by the rule they apply to
	refs       map[*Rule][]*Rule // correlation → its rules, by position
	users      map[*Rule][]use   // rule → the correlations using it
	standalone map[*Rule]bool    // reported on its own
	rank       map[*Rule]int     // tie-break of equal event times
}

// Resolve links correlations and filters to the rules they name, checks
// ids and names, and drops (with a Problem) every rule that cannot run:
// a correlation naming a missing or unrunnable rule, a cycle, a filter
// naming nothing. Load calls it; call it again after AddFile.
func (rs *Ruleset) Resolve() {
	if rs.resolved {
		return
	}
	rs.resolved = true
	all := append(append([]*Rule(nil), rs.Rules...), rs.pending...)
	rs.pending = nil
	byKey := map[string][]*Rule{}
	for _, r := range all {
		for _, k := range []string{r.ID, r.Name} {
			if k != "" {
				byKey[k] = append(byKey[k], r)
			}
		}
	}
	bad := map[*Rule]bool{}
	report := func(r *Rule, sev Severity, construct, format string, a ...any) {
		rs.problem(Problem{File: r.File, Line: r.Line, Column: r.Column, Severity: sev, Rule: r.Ref(),
			Construct: construct, Message: fmt.Sprintf(format, a...)})
	}
	for _, r := range all {
		for _, k := range []string{r.ID, r.Name} {
			if k == "" {
				continue
			}
			if others := byKey[k]; len(others) > 1 && others[0] != r {
				report(r, SevError, "", "%q is also the id or name of the rule at %s; references to it are ambiguous", k, others[0].Pos())
				bad[r] = true
			}
		}
	}
	lookup := func(k string) *Rule {
		if l := byKey[k]; len(l) > 0 {
			return l[0]
		}
		return nil
	}
	// Correlations: resolve references until nothing changes, so that a
	// correlation over a dropped rule is dropped too.
	for changed := true; changed; {
		changed = false
		for _, r := range all {
			if bad[r] {
				continue
			}
			var names []string
			switch r.Kind {
			case KindCorrelation:
				names = r.Correlation.Rules
			case KindFilter:
				names = r.Filter.Rules
			default:
				continue
			}
			for _, n := range names {
				t := lookup(n)
				switch {
				case t == nil && r.Kind == KindFilter:
					report(r, SevWarning, "", "filter names rule %q, which is not loaded", n)
				case t == nil:
					report(r, SevError, "", "correlation names rule %q, which is not loaded", n)
					bad[r], changed = true, true
				case bad[t] && r.Kind == KindCorrelation:
					report(r, SevError, "", "correlation names rule %q, which does not run (see its problem)", n)
					bad[r], changed = true, true
				case t.Kind == KindFilter:
					report(r, SevError, "", "%q is a filter; only detection and correlation rules can be referred to", n)
					bad[r], changed = true, true
				}
				if bad[r] {
					break
				}
			}
		}
	}
	// Cycles among correlations.
	state := map[*Rule]int{}
	var visit func(r *Rule) bool
	visit = func(r *Rule) bool {
		switch state[r] {
		case 1:
			return false
		case 2:
			return true
		}
		state[r] = 1
		for _, n := range r.Correlation.Rules {
			if t := lookup(n); t != nil && t.Kind == KindCorrelation {
				if !visit(t) {
					if !bad[r] {
						report(r, SevError, "", "correlation takes part in a cycle through %q", n)
						bad[r] = true
					}
					state[r] = 2
					return false
				}
			}
		}
		state[r] = 2
		return true
	}
	for _, r := range all {
		if r.Kind == KindCorrelation && !bad[r] {
			visit(r)
		}
	}
	rs.Rules = rs.Rules[:0]
	for _, r := range all {
		if !bad[r] {
			r.idx = len(rs.Rules)
			rs.Rules = append(rs.Rules, r)
		}
	}
	// Aliases name rules by name; check that they exist among the
	// correlation's rules.
	for _, r := range rs.Rules {
		if r.Kind != KindCorrelation {
			continue
		}
		for alias, m := range r.Correlation.Aliases {
			for rn := range m {
				found := false
				for _, n := range r.Correlation.Rules {
					t := lookup(n)
					if n == rn || t != nil && (t.Name == rn || t.ID == rn) {
						found = true
					}
				}
				if !found {
					report(r, SevWarning, "", "alias %s maps rule %q, which the correlation does not use", alias, rn)
				}
			}
		}
		for _, g := range r.Correlation.GroupBy {
			if strings.TrimSpace(g) == "" {
				report(r, SevWarning, "", "empty group-by field")
			}
		}
	}
}

// buildPlan makes the runnable form. The Ruleset must be resolved.
func (rs *Ruleset) buildPlan() *plan {
	rs.Resolve()
	p := &plan{filters: map[*Rule][]*Rule{}, refs: map[*Rule][]*Rule{}, users: map[*Rule][]use{},
		standalone: map[*Rule]bool{}, rank: map[*Rule]int{}}
	byKey := map[string]*Rule{}
	for _, r := range rs.Rules {
		for _, k := range []string{r.ID, r.Name} {
			if k != "" && byKey[k] == nil {
				byKey[k] = r
			}
		}
	}
	// Correlations in dependency order: a correlation after those it uses.
	done := map[*Rule]bool{}
	var add func(r *Rule)
	add = func(r *Rule) {
		if done[r] {
			return
		}
		done[r] = true
		for _, n := range r.Correlation.Rules {
			if t := byKey[n]; t != nil && t.Kind == KindCorrelation {
				add(t)
			}
		}
		p.corrs = append(p.corrs, r)
	}
	for _, r := range rs.Rules {
		switch r.Kind {
		case KindDetection:
			p.detections = append(p.detections, r)
		case KindCorrelation:
			add(r)
		}
	}
	for _, c := range p.corrs {
		for i, n := range c.Correlation.Rules {
			t := byKey[n]
			p.refs[c] = append(p.refs[c], t)
			p.users[t] = append(p.users[t], use{corr: c, pos: i})
			if c.Correlation.Type == TemporalOrdered && i > p.rank[t] {
				p.rank[t] = i
			}
		}
	}
	for _, r := range rs.Rules {
		if r.Kind == KindFilter {
			for _, n := range r.Filter.Rules {
				if t := byKey[n]; t != nil && t.Kind == KindDetection && providerCompatible(r.provider, t.provider) {
					p.filters[t] = append(p.filters[t], r)
				}
			}
		}
	}
	// A rule a correlation uses is reported on its own only when one of
	// them says generate: true.
	for _, r := range rs.Rules {
		if r.Kind == KindFilter {
			continue
		}
		us := p.users[r]
		p.standalone[r] = len(us) == 0
		for _, u := range us {
			if u.corr.Correlation.Generate {
				p.standalone[r] = true
			}
		}
	}
	return p
}

func providerCompatible(a, b string) bool { return a == "" || b == "" || a == b }
