package finding

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/revertwatch/revertwatch/level"
)

// WriteSummary writes the overview a person reads at the end of a hunt:
// the findings counted by severity and by rule, and a timeline per
// account and actor of the first and the last revert and what they were.
// Suppressed findings are counted apart.
func WriteSummary(w io.Writer, fs []Finding) error {
	var open []Finding
	suppressed := 0
	for _, f := range fs {
		if f.Suppressed {
			suppressed++
			continue
		}
		open = append(open, f)
	}
	fmt.Fprintf(w, "Summary: %d findings", len(open))
	if suppressed > 0 {
		fmt.Fprintf(w, " (and %d suppressed)", suppressed)
	}
	if len(open) == 0 {
		_, err := fmt.Fprintln(w)
		return err
	}
	bySev := map[string]int{}
	byRule := map[string]int{}
	type key struct{ account, actor string }
	type span struct {
		first, last time.Time
		n           int
		rules       map[string]int
	}
	spans := map[key]*span{}
	for _, f := range open {
		bySev[f.Severity]++
		byRule[f.RuleID]++
		k := key{f.Account, shortActor(f.Actor.Caller)}
		s := spans[k]
		if s == nil {
			s = &span{first: f.FirstSeen, last: f.LastSeen, rules: map[string]int{}}
			spans[k] = s
		}
		if f.FirstSeen.Before(s.first) {
			s.first = f.FirstSeen
		}
		last := f.LastSeen
		if last.IsZero() {
			last = f.FirstSeen
		}
		if last.After(s.last) {
			s.last = last
		}
		s.n++
		s.rules[f.RuleID]++
	}
	accounts := map[string]bool{}
	for k := range spans {
		accounts[k.account] = true
	}
	fmt.Fprintf(w, " in %d account(s) by %d actor(s)\n", len(accounts), len(spans))

	// Severities from the most severe down.
	sevs := make([]string, 0, len(bySev))
	for s := range bySev {
		sevs = append(sevs, s)
	}
	sort.Slice(sevs, func(i, j int) bool {
		a, _ := level.Parse(sevs[i])
		b, _ := level.Parse(sevs[j])
		if a != b {
			return a > b
		}
		return sevs[i] < sevs[j]
	})
	var parts []string
	for _, s := range sevs {
		parts = append(parts, fmt.Sprintf("%s %d", s, bySev[s]))
	}
	fmt.Fprintf(w, "  by severity: %s\n", strings.Join(parts, ", "))
	fmt.Fprintf(w, "  by rule:     %s\n", countList(byRule))

	keys := make([]key, 0, len(spans))
	for k := range spans {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := spans[keys[i]], spans[keys[j]]
		if !a.first.Equal(b.first) {
			return a.first.Before(b.first)
		}
		if keys[i].account != keys[j].account {
			return keys[i].account < keys[j].account
		}
		return keys[i].actor < keys[j].actor
	})
	fmt.Fprintln(w, "  timeline (account, actor: first revert → last, findings):")
	for _, k := range keys {
		s := spans[k]
		_, err := fmt.Fprintf(w, "    %s  %s: %s → %s, %d (%s)\n", k.account, k.actor,
			s.first.UTC().Format(time.RFC3339), s.last.UTC().Format(time.RFC3339), s.n, countList(s.rules))
		if err != nil {
			return err
		}
	}
	return nil
}

// countList is "a 2, b 1": by count, then name.
func countList(m map[string]int) string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		if m[names[i]] != m[names[j]] {
			return m[names[i]] > m[names[j]]
		}
		return names[i] < names[j]
	})
	var parts []string
	for _, n := range names {
		parts = append(parts, fmt.Sprintf("%s %d", n, m[n]))
	}
	return strings.Join(parts, ", ")
}
