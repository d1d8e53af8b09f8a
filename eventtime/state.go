package eventtime

import (
	"container/heap"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/revertwatch/revertwatch/event"
)

// Snapshot is a Core's persisted form. Events are referred to by their
// position in a table the caller keeps (shared with the handler's own
// state, so that an event held by both is written once), scopes by their
// position in Scopes; everything is in a deterministic order, so that the
// snapshot of a restored Core equals the one it was restored from.
type Snapshot struct {
	Seq     uint64
	Stats   CoreStats
	Scopes  []ScopeSnapshot
	Pending []GroupSnapshot
}

// ScopeSnapshot is one scope's part of a Snapshot.
type ScopeSnapshot struct {
	Provider  string         `json:"provider"`
	Account   string         `json:"account"`
	Region    string         `json:"region"`
	MaxTime   time.Time      `json:"max_time"`
	Frontier  time.Time      `json:"frontier"`
	Swept     time.Time      `json:"swept"`
	Buffer    []ItemSnapshot `json:"buffer"`
	History   []ItemSnapshot `json:"history,omitempty"`
	Late      []ItemSnapshot `json:"late,omitempty"`
	LateSince time.Time      `json:"late_since,omitzero"`
	Seen      []SeenSnapshot `json:"seen"`
	PendingQ  []QSnapshot    `json:"pending_queue"`
}

// ItemSnapshot is a held event.
type ItemSnapshot struct {
	Event    int           `json:"event"`
	Seq      uint64        `json:"seq"`
	Unlogged bool          `json:"unlogged,omitempty"`
	Phases   []int         `json:"phases,omitempty"`
	LateBy   time.Duration `json:"late_by,omitempty"`
}

// SeenSnapshot is a remembered event id.
type SeenSnapshot struct {
	Key  string    `json:"key"`
	Time time.Time `json:"time"`
}

// QSnapshot is a queue entry naming an entry of another list of the
// snapshot by its position.
type QSnapshot struct {
	Ref  int       `json:"ref"`
	Time time.Time `json:"time"`
}

// GroupSnapshot is an Azure operation waiting for its outcome record.
type GroupSnapshot struct {
	Scope  int   `json:"scope"`
	Events []int `json:"events"`
}

// Snapshot returns the Core's state, its events numbered in the caller's
// table.
func (c *Core) Snapshot(t *Table) Snapshot {
	ref, refs := t.Ref, t.Refs
	items := func(list []item) []ItemSnapshot {
		var out []ItemSnapshot
		for _, it := range list {
			out = append(out, ItemSnapshot{Event: ref(it.ev), Seq: it.seq, Unlogged: it.unlogged, Phases: refs(it.phases), LateBy: it.lateBy})
		}
		return out
	}
	s := Snapshot{Seq: c.seq, Stats: c.Stats()}
	scopes := c.Scopes()
	spos := map[*ScopeState]int{}
	for i, sc := range scopes {
		spos[sc] = i
		ss := ScopeSnapshot{Provider: sc.Key.Provider, Account: sc.Key.Account, Region: sc.Key.Region,
			MaxTime: sc.maxTime, Frontier: sc.frontier, Swept: sc.swept, LateSince: sc.lateSince}
		buf := append(itemHeap(nil), sc.buf...)
		sort.Sort(buf)
		ss.Buffer = items(buf)
		ss.History = items(sc.hist)
		ss.Late = items(sc.lateQ)
		for _, q := range sc.seenQ.live() {
			if t, ok := c.seen[q.key]; ok && t.Equal(q.t) {
				ss.Seen = append(ss.Seen, SeenSnapshot{Key: q.key, Time: q.t})
			}
		}
		s.Scopes = append(s.Scopes, ss)
	}
	pkeys := SortedKeys(c.pending)
	ppos := map[string]int{}
	for i, k := range pkeys {
		ppos[k] = i
	}
	for i, sc := range scopes {
		for _, q := range sc.pendQ.live() {
			if p, ok := ppos[q.key]; ok {
				s.Scopes[i].PendingQ = append(s.Scopes[i].PendingQ, QSnapshot{Ref: p, Time: q.t})
			}
		}
	}
	for _, k := range pkeys {
		g := c.pending[k]
		s.Pending = append(s.Pending, GroupSnapshot{Scope: spos[c.scopeOf(g[0])], Events: refs(g)})
	}
	return s
}

// Restore replaces the Core's state with a snapshot's, its events looked
// up in l. On error the Core is left as it was. It returns the scopes in
// the snapshot's order, for the caller's references to them.
func (c *Core) Restore(s Snapshot, l Lookup) ([]*ScopeState, error) {
	evAt, evsAt := l.At, l.All
	n := *c
	n.scopes, n.last, n.keyBuf = map[string]*ScopeState{}, nil, nil
	n.seen, n.pending = map[string]time.Time{}, map[string][]*event.Event{}
	n.nbuf, n.nhist, n.replay, n.unlogged = 0, 0, nil, nil
	n.seq, n.stats = s.Seq, s.Stats
	items := func(list []ItemSnapshot) ([]item, error) {
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
			rank, _ := n.rank(ev)
			out = append(out, item{ev: ev, seq: it.Seq, rank: rank, unlogged: it.Unlogged, phases: ph, lateBy: it.LateBy})
		}
		return out, nil
	}
	scopes := make([]*ScopeState, len(s.Scopes))
	for i, ss := range s.Scopes {
		k := Scope{Provider: ss.Provider, Account: ss.Account, Region: ss.Region}
		if k != Canonical(k) || n.scopes[k.Name()] != nil {
			return nil, fmt.Errorf("state: scope %d (%s %s %s) is not canonical or repeated", i, ss.Provider, ss.Account, ss.Region)
		}
		sc := n.newScope(k)
		sc.maxTime, sc.frontier, sc.swept, sc.lateSince = ss.MaxTime, ss.Frontier, ss.Swept, ss.LateSince
		var err error
		if sc.buf, err = items(ss.Buffer); err != nil {
			return nil, err
		}
		n.nbuf += len(sc.buf)
		heap.Init(&sc.buf)
		if sc.hist, err = items(ss.History); err != nil {
			return nil, err
		}
		n.nhist += len(sc.hist)
		if sc.lateQ, err = items(ss.Late); err != nil {
			return nil, err
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
			return nil, err
		}
		if g.Scope < 0 || g.Scope >= len(scopes) {
			return nil, fmt.Errorf("state: scope reference %d out of range", g.Scope)
		}
		if len(evs) == 0 {
			return nil, errors.New("state: empty pending operation")
		}
		pkeys[i] = phaseKey(scopes[g.Scope], evs[0])
		n.pending[pkeys[i]] = evs
	}
	for i, ss := range s.Scopes {
		for _, q := range ss.PendingQ {
			if q.Ref < 0 || q.Ref >= len(pkeys) {
				return nil, fmt.Errorf("state: pending reference %d out of range", q.Ref)
			}
			scopes[i].pendQ.push(pkeys[q.Ref], q.Time)
		}
	}
	*c = n
	return scopes, nil
}
