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
)

// stateVersion is the format of Snapshot's output.
const stateVersion = 1

// state is the engine's persisted form. Everything is in a deterministic
// order and refers to events by their position in Events, so that a
// snapshot of a restored engine equals the snapshot it was restored from,
// byte for byte. Rules are referred to by id and contexts by rule id and
// name, never by position, so a state survives rules being added.
type state struct {
	Version  int            `json:"version"`
	MaxTime  time.Time      `json:"max_time"`
	Frontier time.Time      `json:"frontier"`
	Seq      uint64         `json:"seq"`
	NextID   uint64         `json:"next_id"`
	Stats    Stats          `json:"stats"`
	Events   []*event.Event `json:"events"`
	Buffer   []stateItem    `json:"buffer"`
	Seen     []stateSeen    `json:"seen"`
	Pending  [][]int        `json:"pending"`
	PendingQ []stateQ       `json:"pending_queue"`
	Partials []statePartial `json:"partials"`
	Contexts []stateContext `json:"contexts"`
	ContextQ []stateQ       `json:"context_queue"`
}

type stateItem struct {
	Event int    `json:"event"`
	Seq   uint64 `json:"seq"`
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

type statePartial struct {
	ID       uint64      `json:"id"`
	Rule     string      `json:"rule"`
	Next     int         `json:"next"`
	Scope    string      `json:"scope"`
	Values   []string    `json:"values"`
	Evidence []stateEvid `json:"evidence"`
	First    time.Time   `json:"first"`
	Last     time.Time   `json:"last"`
	Deadline time.Time   `json:"deadline"`
}

type stateEvid struct {
	Step   int   `json:"step"`
	Event  int   `json:"event"`
	Phases []int `json:"phases,omitempty"`
}

type stateContext struct {
	Rule    string      `json:"rule"`
	Context string      `json:"context"`
	Scope   string      `json:"scope"`
	Value   string      `json:"value"`
	Entries []stateEvid `json:"entries"`
}

// Snapshot encodes the engine's state: buffered events, partial
// sequences, contexts, pending Azure operations, remembered event ids and
// the counters. The encoding is deterministic.
func (e *Engine) Snapshot() ([]byte, error) {
	s := state{Version: stateVersion, MaxTime: e.maxTime, Frontier: e.frontier, Seq: e.seq, NextID: e.nextID, Stats: e.Stats()}
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

	buf := append(itemHeap(nil), e.buf...)
	sort.Sort(buf)
	for _, it := range buf {
		s.Buffer = append(s.Buffer, stateItem{Event: ref(it.ev), Seq: it.seq})
	}

	for i := e.seenQ.head; i < len(e.seenQ.items); i++ {
		q := e.seenQ.items[i]
		if t, ok := e.seen[q.key]; ok && t.Equal(q.t) {
			s.Seen = append(s.Seen, stateSeen{Key: q.key, Time: q.t})
		}
	}

	pkeys := sortedKeys(e.pending)
	ppos := map[string]int{}
	for i, k := range pkeys {
		ppos[k] = i
		s.Pending = append(s.Pending, refs(e.pending[k]))
	}
	for i := e.pendQ.head; i < len(e.pendQ.items); i++ {
		if p, ok := ppos[e.pendQ.items[i].key]; ok {
			s.PendingQ = append(s.PendingQ, stateQ{Ref: p, Time: e.pendQ.items[i].t})
		}
	}

	for _, k := range sortedKeys(e.index) {
		for _, p := range e.index[k] {
			sp := statePartial{ID: p.id, Rule: p.rule.ID, Next: p.next, Scope: p.scope, Values: p.vals,
				First: p.first, Last: p.last, Deadline: p.deadline}
			for _, x := range p.evidence {
				sp.Evidence = append(sp.Evidence, stateEvid{Step: x.step, Event: ref(x.ev), Phases: refs(x.phases)})
			}
			s.Partials = append(s.Partials, sp)
		}
	}

	ckeys := sortedKeys(e.ctx)
	cpos := map[string]int{}
	for i, k := range ckeys {
		ring := e.ctx[k]
		cpos[k] = i
		c := e.contexts[ring.ctx]
		sc := stateContext{Rule: e.ctxRule[ring.ctx].ID, Context: c.Name, Scope: ring.scope, Value: ring.value}
		for _, ce := range ring.entries {
			sc.Entries = append(sc.Entries, stateEvid{Event: ref(ce.ev), Phases: refs(ce.phases)})
		}
		s.Contexts = append(s.Contexts, sc)
	}
	for i := e.ctxQ.head; i < len(e.ctxQ.items); i++ {
		if p, ok := cpos[e.ctxQ.items[i].key]; ok {
			s.ContextQ = append(s.ContextQ, stateQ{Ref: p, Time: e.ctxQ.items[i].t})
		}
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
// The engine must have been made by New with the rules of the snapshot;
// partial sequences and contexts of rules it does not have are dropped.
// On error the engine is left as it was.
func (e *Engine) Restore(data []byte) error {
	var s state
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&s); err != nil {
		return fmt.Errorf("decoding sequence state: %w", err)
	}
	if s.Version != stateVersion {
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

	n, err := New(nil, e.opt) // a fresh state with the same options
	if err != nil {
		return err
	}
	n.rules, n.byID, n.contexts, n.ctxRule, n.ops, n.maxWindow = e.rules, e.byID, e.contexts, e.ctxRule, e.ops, e.maxWindow
	n.maxTime, n.frontier, n.seq, n.nextID, n.stats = s.MaxTime, s.Frontier, s.Seq, s.NextID, s.Stats
	n.stats.Partials = 0

	for _, it := range s.Buffer {
		ev, err := evAt(it.Event)
		if err != nil {
			return err
		}
		n.buf = append(n.buf, item{ev: ev, seq: it.Seq})
	}
	heap.Init(&n.buf)

	for _, x := range s.Seen {
		n.seen[x.Key] = x.Time
		n.seenQ.push(x.Key, x.Time)
	}

	pkeys := make([]string, len(s.Pending))
	for i, g := range s.Pending {
		evs, err := evsAt(g)
		if err != nil {
			return err
		}
		if len(evs) == 0 {
			return errors.New("sequence state: empty pending operation")
		}
		pkeys[i] = phaseKey(evs[0])
		n.pending[pkeys[i]] = evs
	}
	for _, q := range s.PendingQ {
		if q.Ref < 0 || q.Ref >= len(pkeys) {
			return fmt.Errorf("sequence state: pending reference %d out of range", q.Ref)
		}
		n.pendQ.push(pkeys[q.Ref], q.Time)
	}

	for _, sp := range s.Partials {
		r := n.byID[sp.Rule]
		if r == nil {
			continue
		}
		if sp.Next <= 0 || sp.Next >= len(r.steps) || len(sp.Values) != len(r.names) || len(sp.Evidence) != sp.Next {
			return fmt.Errorf("sequence state: partial %d does not fit rule %s", sp.ID, sp.Rule)
		}
		p := &partial{id: sp.ID, rule: r, next: sp.Next, scope: sp.Scope, vals: sp.Values,
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
			p.evidence = append(p.evidence, evid{step: x.Step, ev: ev, phases: ph})
		}
		v := p.vals[r.steps[p.next].index.slot]
		if v == "" {
			continue
		}
		p.key = string(n.indexKey(p.scope, r.idx, p.next, v))
		n.index[p.key] = append(n.index[p.key], p)
		n.expiry = append(n.expiry, p)
		n.stats.Partials++
	}
	for i, p := range n.expiry {
		p.hidx = i
	}
	heap.Init(&n.expiry)

	ckeys := make([]string, len(s.Contexts))
	for i, sc := range s.Contexts {
		r := n.byID[sc.Rule]
		gidx := -1
		if r != nil {
			for ci := range r.ctx {
				if r.ctx[ci].Name == sc.Context {
					gidx = r.ctx[ci].gidx
				}
			}
		}
		if gidx < 0 {
			continue
		}
		ring := &ctxRing{ctx: gidx, scope: sc.Scope, value: sc.Value}
		for _, x := range sc.Entries {
			ev, err := evAt(x.Event)
			if err != nil {
				return err
			}
			ph, err := evsAt(x.Phases)
			if err != nil {
				return err
			}
			ring.entries = append(ring.entries, ctxEntry{ev: ev, phases: ph})
		}
		ckeys[i] = string(n.ctxKey(sc.Scope, gidx, sc.Value))
		n.ctx[ckeys[i]] = ring
		n.ctxN += len(ring.entries)
	}
	for _, q := range s.ContextQ {
		if q.Ref < 0 || q.Ref >= len(ckeys) {
			return fmt.Errorf("sequence state: context reference %d out of range", q.Ref)
		}
		if ckeys[q.Ref] != "" {
			n.ctxQ.push(ckeys[q.Ref], q.Time)
		}
	}

	n.opt = e.opt
	n.lateness = e.lateness
	*e = *n
	return nil
}
