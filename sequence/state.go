package sequence

import (
	"bytes"
	"container/heap"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/eventtime"
)

// stateVersion is the format of Snapshot's output.
// Version 1 had no history and no late events; it restores as a state
// with neither.
const stateVersion = 2

// state is the engine's persisted form. Everything is in a deterministic
// order and refers to events by their position in Events and to scopes by
// their position in Scopes, so that a snapshot of a restored engine equals
// the snapshot it was restored from, byte for byte. Rules are referred to
// by id and contexts by rule id and name, never by position, so a state
// survives rules being added.
type state struct {
	Version  int            `json:"version"`
	Seq      uint64         `json:"seq"`
	NextID   uint64         `json:"next_id"`
	Stats    Stats          `json:"stats"`
	Events   []*event.Event `json:"events"`
	Scopes   []stateScope   `json:"scopes"`
	Pending  []stateGroup   `json:"pending"`
	Partials []statePartial `json:"partials"`
	Contexts []stateContext `json:"contexts"`
}

type stateScope struct {
	Provider string      `json:"provider"`
	Account  string      `json:"account"`
	Region   string      `json:"region"`
	MaxTime  time.Time   `json:"max_time"`
	Frontier time.Time   `json:"frontier"`
	Swept    time.Time   `json:"swept"`
	Buffer   []stateItem `json:"buffer"`
	History  []stateItem `json:"history,omitempty"`
	Late     []stateItem `json:"late,omitempty"`
	// LateSince is when the late events started waiting.
	LateSince time.Time   `json:"late_since,omitzero"`
	Seen      []stateSeen `json:"seen"`
	PendingQ  []stateQ    `json:"pending_queue"`
	ContextQ  []stateQ    `json:"context_queue"`
}

type stateItem struct {
	Event    int           `json:"event"`
	Seq      uint64        `json:"seq"`
	Unlogged bool          `json:"unlogged,omitempty"`
	Phases   []int         `json:"phases,omitempty"`
	LateBy   time.Duration `json:"late_by,omitempty"`
}

type stateSeen struct {
	Key  string    `json:"key"`
	Time time.Time `json:"time"`
}

// stateQ is a queue entry naming a pending group or context ring by its
// position in the state.
type stateQ struct {
	Ref  int       `json:"ref"`
	Time time.Time `json:"time"`
}

type stateGroup struct {
	Scope  int   `json:"scope"`
	Events []int `json:"events"`
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
	Step     int   `json:"step"`
	Event    int   `json:"event"`
	Phases   []int `json:"phases,omitempty"`
	Unlogged bool  `json:"unlogged,omitempty"`
}

type stateContext struct {
	Rule    string      `json:"rule"`
	Context string      `json:"context"`
	Scope   int         `json:"scope"`
	Value   string      `json:"value"`
	Entries []stateEvid `json:"entries"`
}

// Snapshot encodes the engine's state: each scope's watermark and
// buffered events, partial sequences, contexts, pending Azure operations,
// remembered event ids and the counters. The encoding is deterministic.
func (e *Engine) Snapshot() ([]byte, error) {
	s := state{Version: stateVersion, Seq: e.seq, NextID: e.nextID, Stats: e.Stats()}
	ids := map[*event.Event]int{}
	ref := func(ev *event.Event) int {
		if i, ok := ids[ev]; ok {
			return i
		}
		ids[ev] = len(s.Events)
		s.Events = append(s.Events, ev)
		return ids[ev]
	}
	refs := func(evs []*event.Event) []int {
		var out []int
		for _, ev := range evs {
			out = append(out, ref(ev))
		}
		return out
	}
	scopes := e.sortedScopes()
	spos := map[*scopeState]int{}
	for i, sc := range scopes {
		spos[sc] = i
		ss := stateScope{Provider: sc.key.Provider, Account: sc.key.Account, Region: sc.key.Region,
			MaxTime: sc.maxTime, Frontier: sc.frontier, Swept: sc.swept, LateSince: sc.lateSince}
		buf := append(itemHeap(nil), sc.buf...)
		sort.Sort(buf)
		items := func(list []item) []stateItem {
			var out []stateItem
			for _, it := range list {
				out = append(out, stateItem{Event: ref(it.ev), Seq: it.seq, Unlogged: it.unlogged, Phases: refs(it.phases), LateBy: it.lateBy})
			}
			return out
		}
		ss.Buffer = items(buf)
		ss.History = items(sc.hist)
		ss.Late = items(sc.lateQ)
		for _, q := range sc.seenQ.live() {
			if t, ok := e.seen[q.key]; ok && t.Equal(q.t) {
				ss.Seen = append(ss.Seen, stateSeen{Key: q.key, Time: q.t})
			}
		}
		s.Scopes = append(s.Scopes, ss)
	}

	pkeys := sortedKeys(e.pending)
	ppos := map[string]int{}
	for i, k := range pkeys {
		ppos[k] = i
	}
	ckeys := sortedKeys(e.ctx)
	cpos := map[string]int{}
	for i, k := range ckeys {
		cpos[k] = i
	}
	for i, sc := range scopes {
		for _, q := range sc.pendQ.live() {
			if p, ok := ppos[q.key]; ok {
				s.Scopes[i].PendingQ = append(s.Scopes[i].PendingQ, stateQ{Ref: p, Time: q.t})
			}
		}
		for _, q := range sc.ctxQ.live() {
			if p, ok := cpos[q.key]; ok {
				s.Scopes[i].ContextQ = append(s.Scopes[i].ContextQ, stateQ{Ref: p, Time: q.t})
			}
		}
	}
	for _, k := range pkeys {
		g := e.pending[k]
		s.Pending = append(s.Pending, stateGroup{Scope: spos[e.scopeOf(g[0])], Events: refs(g)})
	}

	for _, k := range sortedKeys(e.index) {
		for _, p := range e.index[k] {
			sp := statePartial{ID: p.id, Rule: p.rule.ID, Next: p.next, Scope: spos[p.sc], Values: p.vals,
				First: p.first, Last: p.last, Deadline: p.deadline}
			for _, x := range p.evidence {
				sp.Evidence = append(sp.Evidence, stateEvid{Step: x.step, Event: ref(x.ev), Phases: refs(x.phases), Unlogged: x.unlogged})
			}
			s.Partials = append(s.Partials, sp)
		}
	}

	for _, k := range ckeys {
		ring := e.ctx[k]
		c := e.contexts[ring.ctx]
		sc := stateContext{Rule: e.ctxRule[ring.ctx].ID, Context: c.Name, Scope: spos[ring.sc], Value: ring.value}
		for _, ce := range ring.entries {
			sc.Entries = append(sc.Entries, stateEvid{Event: ref(ce.ev), Phases: refs(ce.phases)})
		}
		s.Contexts = append(s.Contexts, sc)
	}

	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&s); err != nil {
		return nil, fmt.Errorf("encoding sequence state: %w", err)
	}
	return b.Bytes(), nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
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
	evAt := func(i int) (*event.Event, error) {
		if i < 0 || i >= len(s.Events) {
			return nil, fmt.Errorf("sequence state: event reference %d out of range", i)
		}
		return s.Events[i], nil
	}
	evsAt := func(is []int) ([]*event.Event, error) {
		var out []*event.Event
		for _, i := range is {
			ev, err := evAt(i)
			if err != nil {
				return nil, err
			}
			out = append(out, ev)
		}
		return out, nil
	}

	n := *e // same rules and options, fresh state
	n.scopes = map[string]*scopeState{}
	n.last = nil
	n.seen = map[string]time.Time{}
	n.pending = map[string][]*event.Event{}
	n.index = map[string][]*partial{}
	n.ctx = map[string]*ctxRing{}
	n.ctxN, n.nbuf, n.nhist, n.done, n.keyBuf = 0, 0, 0, nil, nil
	n.replay, n.unlogged = nil, nil
	n.seq, n.nextID, n.stats = s.Seq, s.NextID, s.Stats
	n.stats.Partials = 0

	scopes := make([]*scopeState, len(s.Scopes))
	scopeAt := func(i int) (*scopeState, error) {
		if i < 0 || i >= len(scopes) {
			return nil, fmt.Errorf("sequence state: scope reference %d out of range", i)
		}
		return scopes[i], nil
	}
	for i, ss := range s.Scopes {
		k := eventtime.Scope{Provider: ss.Provider, Account: ss.Account, Region: ss.Region}
		if k != eventtime.Canonical(k) || n.scopes[k.Name()] != nil {
			return fmt.Errorf("sequence state: scope %d (%s %s %s) is not canonical or repeated", i, ss.Provider, ss.Account, ss.Region)
		}
		sc := n.newScope(k)
		sc.maxTime, sc.frontier, sc.swept, sc.lateSince = ss.MaxTime, ss.Frontier, ss.Swept, ss.LateSince
		items := func(list []stateItem) ([]item, error) {
			var out []item
			for _, it := range list {
				ev, err := evAt(it.Event)
				if err != nil {
					return nil, err
				}
				ph, err := evsAt(it.Phases)
				if err != nil {
					return nil, err
				}
				out = append(out, item{ev: ev, seq: it.Seq, rank: n.rank(ev), unlogged: it.Unlogged, phases: ph, lateBy: it.LateBy})
			}
			return out, nil
		}
		var err error
		if sc.buf, err = items(ss.Buffer); err != nil {
			return err
		}
		n.nbuf += len(sc.buf)
		heap.Init(&sc.buf)
		if sc.hist, err = items(ss.History); err != nil {
			return err
		}
		n.nhist += len(sc.hist)
		if sc.lateQ, err = items(ss.Late); err != nil {
			return err
		}
		for _, x := range ss.Seen {
			n.seen[x.Key] = x.Time
			sc.seenQ.push(x.Key, x.Time)
		}
		scopes[i] = sc
	}

	pkeys := make([]string, len(s.Pending))
	for i, g := range s.Pending {
		evs, err := evsAt(g.Events)
		if err != nil {
			return err
		}
		sc, err := scopeAt(g.Scope)
		if err != nil {
			return err
		}
		if len(evs) == 0 {
			return errors.New("sequence state: empty pending operation")
		}
		pkeys[i] = phaseKey(sc, evs[0])
		n.pending[pkeys[i]] = evs
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
			p.evidence = append(p.evidence, evid{step: x.Step, ev: ev, phases: ph, unlogged: x.Unlogged})
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
		sc := scopes[i]
		for _, q := range ss.PendingQ {
			if q.Ref < 0 || q.Ref >= len(pkeys) {
				return fmt.Errorf("sequence state: pending reference %d out of range", q.Ref)
			}
			sc.pendQ.push(pkeys[q.Ref], q.Time)
		}
		for _, q := range ss.ContextQ {
			if q.Ref < 0 || q.Ref >= len(ckeys) {
				return fmt.Errorf("sequence state: context reference %d out of range", q.Ref)
			}
			if ckeys[q.Ref] != "" {
				sc.ctxQ.push(ckeys[q.Ref], q.Time)
			}
		}
	}
	*e = n
	return nil
}
