package sequence

import (
	"container/heap"
	"encoding/json"
	"fmt"
	"time"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/eventtime"
)

// stateVersion is the format of Snapshot's output.
// Version 1 had no history and no late events; it restores as a state
// with neither.
const stateVersion = 2

// state is the engine's persisted form: the event-time core's (scopes,
// buffered and kept events, pending Azure operations, remembered ids) and
// the engine's own (partial sequences, contexts). Everything is in a
// deterministic order and refers to events by their position in Events
// and to scopes by their position in Scopes, so that a snapshot of a
// restored engine equals the snapshot it was restored from, byte for
// byte. Rules are referred to by id and contexts by rule id and name,
// never by position, so a state survives rules being added.
type state struct {
	Version  int                       `json:"version"`
	Seq      uint64                    `json:"seq"`
	NextID   uint64                    `json:"next_id"`
	Stats    Stats                     `json:"stats"`
	Events   []*event.Event            `json:"events"`
	Scopes   []stateScope              `json:"scopes"`
	Pending  []eventtime.GroupSnapshot `json:"pending"`
	Partials []statePartial            `json:"partials"`
	Contexts []stateContext            `json:"contexts"`
}

type stateScope struct {
	eventtime.ScopeSnapshot
	ContextQ []eventtime.QSnapshot `json:"context_queue"`
}

type statePartial struct {
	ID       uint64      `json:"id"`
	Rule     string      `json:"rule"`
	Next     int         `json:"next"`
	Scope    int         `json:"scope"`
	Values   []string    `json:"values"`
	Evidence []stateEvid `json:"evidence"`
	First    time.Time   `json:"first"`
	Last     time.Time   `json:"last"`
	Deadline time.Time   `json:"deadline"`
}

type stateEvid struct {
	Step     int           `json:"step"`
	Event    int           `json:"event"`
	Phases   []int         `json:"phases,omitempty"`
	Unlogged bool          `json:"unlogged,omitempty"`
	Late     bool          `json:"late,omitempty"`
	LateBy   time.Duration `json:"late_by,omitempty"`
}

type stateContext struct {
	Rule    string      `json:"rule"`
	Context string      `json:"context"`
	Scope   int         `json:"scope"`
	Value   string      `json:"value"`
	Entries []stateEvid `json:"entries"`
}

// Snapshot encodes the engine's state: each scope's watermark, buffered
// and kept events, partial sequences, contexts, pending Azure operations,
// remembered event ids and the counters. The encoding is deterministic.
func (e *Engine) Snapshot() ([]byte, error) {
	s := state{Version: stateVersion, NextID: e.nextID, Stats: e.Stats()}
	var t eventtime.Table
	ref, refs := t.Ref, t.Refs
	cs := e.core.Snapshot(&t)
	s.Seq, s.Pending = cs.Seq, cs.Pending
	spos := map[*eventtime.ScopeState]int{}
	for i, sc := range e.core.Scopes() {
		spos[sc] = i
	}
	ckeys := eventtime.SortedKeys(e.ctx)
	cpos := map[string]int{}
	for i, k := range ckeys {
		cpos[k] = i
	}
	for i, cscope := range e.core.Scopes() {
		st := stateScope{ScopeSnapshot: cs.Scopes[i]}
		if sc := e.scopes[cscope]; sc != nil {
			for _, q := range sc.ctxQ.Live() {
				if p, ok := cpos[q.Key()]; ok {
					st.ContextQ = append(st.ContextQ, eventtime.QSnapshot{Ref: p, Time: q.Time()})
				}
			}
		}
		s.Scopes = append(s.Scopes, st)
	}
	for _, k := range eventtime.SortedKeys(e.index) {
		for _, p := range e.index[k] {
			sp := statePartial{ID: p.id, Rule: p.rule.ID, Next: p.next, Scope: spos[p.sc.core], Values: p.vals,
				First: p.first, Last: p.last, Deadline: p.deadline}
			for _, x := range p.evidence {
				sp.Evidence = append(sp.Evidence, stateEvid{Step: x.step, Event: ref(x.ev), Phases: refs(x.phases), Unlogged: x.unlogged, Late: x.late, LateBy: x.lateBy})
			}
			s.Partials = append(s.Partials, sp)
		}
	}
	for _, k := range ckeys {
		ring := e.ctx[k]
		c := e.contexts[ring.ctx]
		sc := stateContext{Rule: e.ctxRule[ring.ctx].ID, Context: c.Name, Scope: spos[ring.sc.core], Value: ring.value}
		for _, ce := range ring.entries {
			sc.Entries = append(sc.Entries, stateEvid{Event: ref(ce.ev), Phases: refs(ce.phases)})
		}
		s.Contexts = append(s.Contexts, sc)
	}

	s.Events = t.Events
	return eventtime.Encode(&s, "sequence")
}

// Restore replaces the engine's state with a snapshot taken by Snapshot.
// The engine must have been made by New; partial sequences and contexts of
// rules it does not have are dropped. On error the engine is left as it
// was.
func (e *Engine) Restore(data []byte) error {
	var s state
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("decoding sequence state: %w", err)
	}
	if s.Version != stateVersion && s.Version != 1 {
		return fmt.Errorf("sequence state version %d, want %d", s.Version, stateVersion)
	}
	for i, ev := range s.Events {
		if ev == nil {
			return fmt.Errorf("sequence state: event %d is null", i)
		}
	}
	lookup := eventtime.Lookup{Events: s.Events, What: "sequence"}
	evAt, evsAt := lookup.At, lookup.All

	n := *e // same rules and options, fresh state
	core := *e.core
	n.core = &core
	n.scopes = map[*eventtime.ScopeState]*scopeState{}
	n.last = nil
	n.index = map[string][]*partial{}
	n.ctx = map[string]*ctxRing{}
	n.ctxN, n.done, n.keyBuf = 0, nil, nil
	n.nextID = s.NextID
	n.stats = Stats{Matches: s.Stats.Matches, Superseded: s.Stats.Superseded, Expired: s.Stats.Expired,
		EvictedPerKey: s.Stats.EvictedPerKey, EvictedTotal: s.Stats.EvictedTotal, EvictedContext: s.Stats.EvictedContext,
		ForksCapped: s.Stats.ForksCapped, PeakPartials: s.Stats.PeakPartials}
	cs := eventtime.Snapshot{Seq: s.Seq, Stats: coreStats(s.Stats), Pending: s.Pending}
	for _, ss := range s.Scopes {
		cs.Scopes = append(cs.Scopes, ss.ScopeSnapshot)
	}
	coreScopes, err := n.core.Restore(cs, lookup)
	if err != nil {
		return fmt.Errorf("sequence %w", err)
	}
	scopes := make([]*scopeState, len(coreScopes))
	for i, c := range coreScopes {
		scopes[i] = n.scope(c)
	}
	scopeAt := func(i int) (*scopeState, error) {
		if i < 0 || i >= len(scopes) {
			return nil, fmt.Errorf("sequence state: scope reference %d out of range", i)
		}
		return scopes[i], nil
	}

	for _, sp := range s.Partials {
		r := n.byID[sp.Rule]
		if r == nil {
			continue
		}
		if sp.Next <= 0 || sp.Next >= len(r.steps) || len(sp.Values) != len(r.names) || len(sp.Evidence) != sp.Next {
			return fmt.Errorf("sequence state: partial %d does not fit rule %s", sp.ID, sp.Rule)
		}
		sc, err := scopeAt(sp.Scope)
		if err != nil {
			return err
		}
		p := &partial{id: sp.ID, rule: r, next: sp.Next, sc: sc, vals: sp.Values,
			first: sp.First, last: sp.Last, deadline: sp.Deadline, hidx: -1}
		for _, x := range sp.Evidence {
			ev, err := evAt(x.Event)
			if err != nil {
				return err
			}
			ph, err := evsAt(x.Phases)
			if err != nil {
				return err
			}
			if x.Step < 0 || x.Step >= len(r.steps) {
				return fmt.Errorf("sequence state: partial %d has step %d", sp.ID, x.Step)
			}
			p.evidence = append(p.evidence, evid{step: x.Step, ev: ev, phases: ph, unlogged: x.Unlogged, late: x.Late, lateBy: x.LateBy})
		}
		v := p.vals[r.steps[p.next].index.slot]
		if v == "" {
			continue
		}
		p.key = string(n.indexKey(sc.name, r.idx, p.next, v))
		n.index[p.key] = append(n.index[p.key], p)
		p.hidx = len(sc.expiry)
		sc.expiry = append(sc.expiry, p)
		n.stats.Partials++
	}
	for _, sc := range scopes {
		heap.Init(&sc.expiry)
	}

	ckeys := make([]string, len(s.Contexts))
	for i, x := range s.Contexts {
		r := n.byID[x.Rule]
		gidx := -1
		if r != nil {
			for ci := range r.ctx {
				if r.ctx[ci].Name == x.Context {
					gidx = r.ctx[ci].gidx
				}
			}
		}
		if gidx < 0 {
			continue
		}
		sc, err := scopeAt(x.Scope)
		if err != nil {
			return err
		}
		ring := &ctxRing{ctx: gidx, sc: sc, value: x.Value}
		for _, y := range x.Entries {
			ev, err := evAt(y.Event)
			if err != nil {
				return err
			}
			ph, err := evsAt(y.Phases)
			if err != nil {
				return err
			}
			ring.entries = append(ring.entries, ctxEntry{ev: ev, phases: ph})
		}
		ckeys[i] = string(n.ctxKey(sc.name, gidx, x.Value))
		n.ctx[ckeys[i]] = ring
		n.ctxN += len(ring.entries)
	}
	for i, ss := range s.Scopes {
		for _, q := range ss.ContextQ {
			if q.Ref < 0 || q.Ref >= len(ckeys) {
				return fmt.Errorf("sequence state: context reference %d out of range", q.Ref)
			}
			if ckeys[q.Ref] != "" {
				scopes[i].ctxQ.Push(ckeys[q.Ref], q.Time)
			}
		}
	}
	*e = n
	return nil
}
