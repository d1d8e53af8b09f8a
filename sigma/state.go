package sigma

import (
	"container/heap"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/eventtime"
)

// stateVersion is the format of Snapshot's output.
// Version 2 moved the watermarks, buffers and remembered ids into the
// event-time core's part (Core).
const stateVersion = 2

// runState is a Runner's persisted form, modelled on the sequence
// engine's. Everything is in a deterministic order and refers to events
// by their position in Events, to occurrences by their position in Occs
// and to correlations by their position in Rules, so that a snapshot of a
// restored Runner equals the snapshot it was restored from, byte for
// byte. Rules name correlations by id (or Ref) and a signature of their
// definition, never by load position, so a state survives rules being
// added, and the state of a correlation that is gone or was redefined is
// dropped rather than misread.
//
// The anchored count windows are not written: an open group has exactly
// one live window, ending a timespan after the group's start, and the
// others in the heap are stale entries that evaluate nothing. Restore
// rebuilds the live ones from the groups.
type runState struct {
	Version int            `json:"version"`
	Stats   RunStats       `json:"stats"`
	Rules   []stateRule    `json:"rules"`
	Events  []*event.Event `json:"events"`
	Occs    []stateOcc     `json:"occurrences"`
	Scopes  []stateScope   `json:"scopes"`
	// Core is the Runner's own event-time core (watermarks, buffered and
	// kept events, remembered ids), its events in Events.
	Core eventtime.Snapshot `json:"core"`
}

// stateRule names a correlation: its id (else its Ref) and a signature
// of what its state means (stateSig).
type stateRule struct {
	Ref string `json:"ref"`
	Sig string `json:"sig"`
}

// stateOcc is one occurrence (occ).
type stateOcc struct {
	Rule   int             `json:"rule"`
	Pos    int             `json:"pos"`
	Time   time.Time       `json:"time"`
	Late   bool            `json:"late,omitempty"`
	Groups [][]string      `json:"groups,omitempty"`
	Value  string          `json:"value,omitempty"`
	Events []stateHitEvent `json:"events"`
}

type stateHitEvent struct {
	Rule  string `json:"rule"`
	Event int    `json:"event"`
}

// stateScope is one scope's groups by key.
type stateScope struct {
	Provider string       `json:"provider"`
	Account  string       `json:"account"`
	Region   string       `json:"region"`
	Swept    time.Time    `json:"swept"`
	Groups   []stateGroup `json:"groups,omitempty"`
}

// stateGroup is one group (group); Last holds -1 for a position with no
// occurrence, Chains null for a prefix not matched.
type stateGroup struct {
	Rule     int           `json:"rule"`
	Vals     []string      `json:"vals"`
	Items    []int         `json:"items,omitempty"`
	Last     []int         `json:"last,omitempty"`
	Chains   []*stateChain `json:"chains,omitempty"`
	Start    time.Time     `json:"start,omitzero"`
	Open     bool          `json:"open,omitempty"`
	LastSeen time.Time     `json:"last_seen"`
}

type stateChain struct {
	Start time.Time `json:"start"`
	Last  time.Time `json:"last"`
	Occs  []int     `json:"occs"`
}

// stateKey is how a snapshot names a correlation: its id, which the
// export and most rule sets give, else its Ref.
func stateKey(r *Rule) string {
	if r.ID != "" {
		return r.ID
	}
	return r.Ref()
}

// stateSig digests what a correlation's state means: its type, the rules
// at each position, the group-by fields and their aliases, value_count's
// field, and whether its count windows are anchored (an upper-bounded
// condition). A state written under another definition is dropped. The
// timespan and the threshold are left out: tuning them keeps the state
// meaningful.
func stateSig(r *Rule) string {
	c := r.Correlation
	type alias struct {
		Alias, Rule, Field string
	}
	var aliases []alias
	for a, m := range c.Aliases {
		for rn, f := range m {
			aliases = append(aliases, alias{a, rn, f})
		}
	}
	sort.Slice(aliases, func(i, j int) bool {
		if aliases[i].Alias != aliases[j].Alias {
			return aliases[i].Alias < aliases[j].Alias
		}
		return aliases[i].Rule < aliases[j].Rule
	})
	b, _ := json.Marshal(struct {
		Type     CorrelationType
		Rules    []string
		GroupBy  []string
		Aliases  []alias
		Field    []string
		Anchored bool
	}{c.Type, c.Rules, c.GroupBy, aliases, c.Field, upperBounded(c)})
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:8])
}

// stateKeys names the correlations; a key two of them share (rules
// named by title alone) finds none of them on Restore.
func stateKeys(corrs []*Rule) (map[*Rule]stateRule, map[string]*Rule) {
	keys := map[*Rule]stateRule{}
	byKey := map[string]*Rule{}
	taken := map[string]bool{}
	for _, c := range corrs {
		k := stateKey(c)
		keys[c] = stateRule{Ref: k, Sig: stateSig(c)}
		if taken[k] {
			byKey[k] = nil
			continue
		}
		taken[k] = true
		byKey[k] = c
	}
	return keys, byKey
}

// Snapshot encodes the Runner's state: each scope's watermark, buffered
// occurrences and correlation groups (count windows, temporal positions,
// ordered chains), the remembered event ids in order, and the counters.
// The encoding is deterministic: the same history gives the same bytes,
// and so does a Runner restored from them.
func (r *Runner) Snapshot() ([]byte, error) {
	s := runState{Version: stateVersion, Stats: r.Stats()}
	var t eventtime.Table
	refEv := t.Ref
	s.Core = r.core.Snapshot(&t)
	ruleIdx := map[*Rule]int{}
	occIdx := map[*occ]int{}
	refOcc := func(o *occ) int {
		if i, ok := occIdx[o]; ok {
			return i
		}
		ri, ok := ruleIdx[o.corr]
		if !ok {
			ri = len(s.Rules)
			ruleIdx[o.corr] = ri
			s.Rules = append(s.Rules, r.keys[o.corr])
		}
		so := stateOcc{Rule: ri, Pos: o.pos, Time: o.t, Late: o.late, Groups: o.groups, Value: o.value}
		for _, e := range o.events {
			so.Events = append(so.Events, stateHitEvent{Rule: e.Rule, Event: refEv(e.Event)})
		}
		occIdx[o] = len(s.Occs)
		s.Occs = append(s.Occs, so)
		return occIdx[o]
	}
	refOccs := func(list []*occ) []int {
		var out []int
		for _, o := range list {
			out = append(out, refOcc(o))
		}
		return out
	}
	for _, name := range eventtime.SortedKeys(r.scopes) {
		sc := r.scopes[name]
		k := sc.key
		ss := stateScope{Provider: k.Provider, Account: k.Account, Region: k.Region, Swept: sc.swept}
		for _, key := range eventtime.SortedKeys(sc.groups) {
			g := sc.groups[key]
			if _, ok := ruleIdx[g.corr]; !ok {
				ruleIdx[g.corr] = len(s.Rules)
				s.Rules = append(s.Rules, r.keys[g.corr])
			}
			sg := stateGroup{Rule: ruleIdx[g.corr], Vals: g.vals, Items: refOccs(g.items),
				Start: g.start, Open: g.open, LastSeen: g.lastSeen}
			for _, o := range g.last {
				if o == nil {
					sg.Last = append(sg.Last, -1)
				} else {
					sg.Last = append(sg.Last, refOcc(o))
				}
			}
			for _, ch := range g.dp {
				if ch == nil {
					sg.Chains = append(sg.Chains, nil)
					continue
				}
				sg.Chains = append(sg.Chains, &stateChain{Start: ch.start, Last: ch.last, Occs: refOccs(ch.occs)})
			}
			ss.Groups = append(ss.Groups, sg)
		}
		s.Scopes = append(s.Scopes, ss)
	}
	s.Events = t.Events
	return eventtime.Encode(&s, "sigma")
}

// Restore replaces the Runner's state with a snapshot taken by Snapshot.
// The Runner must have been made by NewRunner; the state of correlations
// it does not have, or has under another definition, is dropped. A
// corrupt state is an error, and on error the Runner is left as it was.
func (r *Runner) Restore(data []byte) error {
	var s runState
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("decoding sigma state: %w", err)
	}
	if s.Version != stateVersion {
		return fmt.Errorf("sigma state version %d, want %d", s.Version, stateVersion)
	}
	for i, ev := range s.Events {
		if ev == nil {
			return fmt.Errorf("sigma state: event %d is null", i)
		}
	}
	// The correlations the state names, nil where this Runner has none
	// of that name and definition.
	rules := make([]*Rule, len(s.Rules))
	for i, sr := range s.Rules {
		if c := r.byKey[sr.Ref]; c != nil && r.keys[c].Sig == sr.Sig {
			rules[i] = c
		}
	}
	ruleAt := func(i int) (*Rule, error) {
		if i < 0 || i >= len(rules) {
			return nil, fmt.Errorf("sigma state: rule reference %d out of range", i)
		}
		return rules[i], nil
	}

	// Occurrences, nil where their correlation is dropped.
	occs := make([]*occ, len(s.Occs))
	for i, so := range s.Occs {
		c, err := ruleAt(so.Rule)
		if err != nil {
			return err
		}
		o := &occ{corr: c, pos: so.Pos, t: so.Time, late: so.Late, groups: so.Groups, value: so.Value}
		for _, e := range so.Events {
			if e.Event < 0 || e.Event >= len(s.Events) {
				return fmt.Errorf("sigma state: event reference %d out of range", e.Event)
			}
			o.events = append(o.events, HitEvent{Rule: e.Rule, Event: s.Events[e.Event]})
		}
		if c == nil {
			continue
		}
		if so.Pos < 0 || so.Pos >= len(c.Correlation.Rules) {
			return fmt.Errorf("sigma state: occurrence %d at position %d of %s", i, so.Pos, stateKey(c))
		}
		for _, g := range so.Groups {
			if len(g) != len(c.Correlation.GroupBy) {
				return fmt.Errorf("sigma state: occurrence %d has %d group-by values, %s wants %d", i, len(g), stateKey(c), len(c.Correlation.GroupBy))
			}
		}
		occs[i] = o
	}
	occAt := func(i int, c *Rule) (*occ, error) {
		if i < 0 || i >= len(occs) {
			return nil, fmt.Errorf("sigma state: occurrence reference %d out of range", i)
		}
		if c != nil && (occs[i] == nil || occs[i].corr != c) {
			return nil, fmt.Errorf("sigma state: occurrence %d of another correlation in a group of %s", i, stateKey(c))
		}
		return occs[i], nil
	}
	occsAt := func(is []int, c *Rule) ([]*occ, error) {
		var out []*occ
		for _, i := range is {
			o, err := occAt(i, c)
			if err != nil {
				return nil, err
			}
			out = append(out, o)
		}
		return out, nil
	}

	scopes := map[string]*rscope{}
	var ngroups, nopen int
	for i, ss := range s.Scopes {
		k := eventtime.Scope{Provider: ss.Provider, Account: ss.Account, Region: ss.Region}
		if k != eventtime.Canonical(k) || scopes[k.Name()] != nil {
			return fmt.Errorf("sigma state: scope %d (%s %s %s) is not canonical or repeated", i, ss.Provider, ss.Account, ss.Region)
		}
		sc := &rscope{key: k, name: k.Name(), swept: ss.Swept, groups: map[string]*group{}}
		for _, sg := range ss.Groups {
			c, err := ruleAt(sg.Rule)
			if err != nil {
				return err
			}
			g, err := restoreGroup(sg, c, occsAt)
			if err != nil {
				return err
			}
			if g == nil {
				continue
			}
			if sc.groups[g.key] != nil {
				return fmt.Errorf("sigma state: group %q repeated", g.key)
			}
			sc.groups[g.key] = g
			ngroups++
			if g.open {
				nopen++
				heap.Push(&sc.windows, window{deadline: g.start.Add(c.Correlation.Timespan), key: g.key, start: g.start})
			}
		}
		scopes[sc.name] = sc
	}

	core := *r.core
	if _, err := core.Restore(s.Core, eventtime.Lookup{Events: s.Events, What: "sigma"}); err != nil {
		return fmt.Errorf("sigma %w", err)
	}

	*r.core = core
	r.scopes = scopes
	r.stats = s.Stats
	r.stats.Events, r.stats.Duplicates, r.stats.Late = 0, 0, 0
	r.stats.Groups, r.stats.Buffered, r.stats.OpenWindows = 0, 0, 0
	r.ngroups, r.nopen = ngroups, nopen
	return nil
}

// restoreGroup rebuilds one group of correlation c; nil, nil when c is
// dropped. Its parts must fit c's type: a state that does not is corrupt.
func restoreGroup(sg stateGroup, c *Rule, occsAt func([]int, *Rule) ([]*occ, error)) (*group, error) {
	if c == nil {
		return nil, nil
	}
	n := len(c.Correlation.Rules)
	if len(sg.Vals) != len(c.Correlation.GroupBy) {
		return nil, fmt.Errorf("sigma state: group of %s has %d values, want %d", stateKey(c), len(sg.Vals), len(c.Correlation.GroupBy))
	}
	g := &group{key: groupKey(c, sg.Vals), corr: c, vals: sg.Vals, start: sg.Start, open: sg.Open, lastSeen: sg.LastSeen}
	var err error
	if g.items, err = occsAt(sg.Items, c); err != nil {
		return nil, err
	}
	if len(sg.Last) > 0 {
		if len(sg.Last) != n {
			return nil, fmt.Errorf("sigma state: group of %s has %d positions, want %d", stateKey(c), len(sg.Last), n)
		}
		g.last = make([]*occ, n)
		for i, oi := range sg.Last {
			if oi == -1 {
				continue
			}
			if g.last[i], err = occsAtOne(occsAt, oi, c); err != nil {
				return nil, err
			}
		}
	}
	if len(sg.Chains) > 0 {
		if len(sg.Chains) != n+1 {
			return nil, fmt.Errorf("sigma state: group of %s has %d chains, want %d", stateKey(c), len(sg.Chains), n+1)
		}
		g.dp = make([]*chain, n+1)
		for i, ch := range sg.Chains {
			if ch == nil {
				continue
			}
			occs, err := occsAt(ch.Occs, c)
			if err != nil {
				return nil, err
			}
			g.dp[i] = &chain{start: ch.Start, last: ch.Last, occs: occs}
		}
	}
	switch c.Correlation.Type {
	case EventCount, ValueCount:
		if g.last != nil || g.dp != nil || g.open && !upperBounded(c.Correlation) {
			return nil, fmt.Errorf("sigma state: count group of %s holds temporal state or an unanchored window", stateKey(c))
		}
	case Temporal:
		if g.items != nil || g.dp != nil || g.open {
			return nil, fmt.Errorf("sigma state: temporal group of %s holds other state", stateKey(c))
		}
	case TemporalOrdered:
		if g.items != nil || g.last != nil || g.open {
			return nil, fmt.Errorf("sigma state: ordered group of %s holds other state", stateKey(c))
		}
	}
	return g, nil
}

func occsAtOne(occsAt func([]int, *Rule) ([]*occ, error), i int, c *Rule) (*occ, error) {
	l, err := occsAt([]int{i}, c)
	if err != nil {
		return nil, err
	}
	return l[0], nil
}
