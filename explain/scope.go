package explain

import (
	"bytes"
	"sort"
	"sync"
	"time"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/finding"
)

// reachPad widens the stretch of an actor's calls a Scope keeps whole
// beyond the timeline's window, so that the records of one Azure
// operation (minutes apart) fall on one side of it. An operation that
// straddles it anyway is caught (gaps) and read again whole.
const reachPad = time.Hour

// maxLineage caps the resources the lineage closure of one finding
// follows: well above the 50 a bundle shows, so that a bundle seldom asks
// beyond the scope; when it does, Build reads again.
const maxLineage = 200

// Scope is what the bundles of a set of findings can need from the logs,
// so that a second read keeps only that: every call naming a resource of
// the findings or one their lineage and replacements lead to (Links),
// whenever it happened; the calls of the findings' actors within reach of
// their timelines, whole, and outside it slim (when an address or agent
// was first used is all a bundle reads of them); and the findings' own
// calls by id.
type Scope struct {
	keys       map[rkey]bool
	principals map[string]*reach
	uids       map[string]bool // event ids kept whatever they touch: the steps, originals of re-deliveries
	times      map[int64]bool  // step times: a partial record at one is decoded to compare ids
	found      map[string]bool // ids (originals) looked for in partial records by needle, not by time
	ids        *matcher        // resource ids and principals in partial records
	originals  *matcher        // found, in partial records
	everything bool            // keep every call (an actor without identity, or too many rereads)

	azureKeys map[string]bool // the ids of the Azure keys (hasKey)
	lower     []byte          // hasKey's scratch
}

// reach is the stretch of one actor's calls a Scope keeps whole: the
// timelines' windows, and reachPad on either side.
type reach struct {
	spans []span // the windows, sorted and disjoint
	whole bool   // every call, whenever
}

type span struct{ from, to time.Time }

// at returns the first span that ends at t or later, padded by pad, or nil.
func (r *reach) at(t time.Time, pad time.Duration) *span {
	i := sort.Search(len(r.spans), func(i int) bool { return !r.spans[i].to.Add(pad).Before(t) })
	if i < len(r.spans) && !t.Before(r.spans[i].from.Add(-pad)) {
		return &r.spans[i]
	}
	return nil
}

// full reports whether a call at t is kept whole.
func (r *reach) full(t time.Time) bool { return r.whole || r.at(t, reachPad) != nil }

// shown reports whether a call at t is within a timeline's window.
func (r *reach) shown(t time.Time) bool { return r.whole || r.at(t, 0) != nil }

// covers reports whether every call from from to to is kept whole; r may
// be nil (not an actor of the scope).
func (r *reach) covers(from, to time.Time) bool {
	switch {
	case r == nil:
		return false
	case r.whole || to.Before(from):
		return true
	}
	s := r.at(from, 0)
	return s != nil && !to.After(s.to)
}

// add merges a window into the sorted, disjoint list.
func (r *reach) add(s span) {
	r.spans = append(r.spans, s)
	sort.Slice(r.spans, func(i, j int) bool { return r.spans[i].from.Before(r.spans[j].from) })
	out := r.spans[:1]
	for _, s := range r.spans[1:] {
		last := &out[len(out)-1]
		if s.from.After(last.to) {
			out = append(out, s)
			continue
		}
		if s.to.After(last.to) {
			last.to = s.to
		}
	}
	r.spans = out
}

// NewScope returns what the bundles of fs can need, with the relations
// links gathered from the logs (nil for none: Build then reads as many
// times as the lineage is deep).
func NewScope(fs []finding.Finding, links *Links, opt Options) *Scope {
	s := &Scope{keys: map[rkey]bool{}, principals: map[string]*reach{}, uids: map[string]bool{}, times: map[int64]bool{}, found: map[string]bool{}}
	w := opt.window()
	for i := range fs {
		f := &fs[i]
		p := findingPrincipal(f)
		if p == "" {
			// Every call without an identity is the actor's: no
			// needle finds them.
			s.everything = true
		}
		first, last := bounds(f)
		r := s.principals[p]
		if r == nil {
			r = &reach{}
			s.principals[p] = r
		}
		r.add(span{first.Add(-w), last.Add(w)})
		for _, ev := range f.Evidence {
			if ev.UID != "" {
				s.uids[ev.UID] = true
			}
			s.times[ev.Time.UnixNano()] = true
		}
		links.closure(f, p, first, last, w, func(k rkey) { s.keys[k] = true })
	}
	s.compile()
	return s
}

// compile builds the matchers of partial records from the scope's
// strings. The steps are found by their time, not their id: an Azure id
// may be a hash of the record rather than a string in it.
func (s *Scope) compile() {
	s.ids = newMatcher()
	s.azureKeys = map[string]bool{}
	for k := range s.keys {
		s.ids.add(k.id)
		if k.provider == event.Azure && k.scope == "" {
			s.azureKeys[k.id] = true // keyOf's: lowered, without account or region
		}
	}
	for p := range s.principals {
		// An Azure partial record carries its principal only in the
		// raw record (the object id claim).
		s.ids.add(p)
	}
	s.originals = newMatcher()
	for u := range s.found {
		s.originals.add(u)
	}
}

// widen adds what an index was asked beyond the scope.
func (s *Scope) widen(g *gaps) {
	for k := range g.keys {
		s.keys[k] = true
	}
	for u := range g.uids {
		s.uids[u] = true
		s.found[u] = true
	}
	for p := range g.principals {
		r := s.principals[p]
		if r == nil {
			r = &reach{}
			s.principals[p] = r
		}
		r.whole = true
	}
	s.compile()
}

// maybe reports whether a partial record may be a call the scope keeps:
// decoding it whole tells.
func (s *Scope) maybe(ev *event.Event) bool {
	if s.everything || s.times[ev.Time.UnixNano()] || s.originals.find(ev.Raw, ev.Provider != event.AWS) {
		return true
	}
	if ev.Provider != event.AWS {
		return s.ids.find(ev.Raw, true)
	}
	// An AWS partial record's Caller is its principal as principalOf
	// computes it: the ARN, else invokedBy, else principalId.
	if s.principals[ev.Caller] != nil {
		return true
	}
	// Its resources come from requestParameters and responseElements
	// only (ingest/cloudtrail): the bytes from the first of them on,
	// unless a \u could spell either name.
	from := requestStart(ev.Raw)
	if from < 0 || bytes.Contains(ev.Raw[:from], escapeU) {
		from = 0
	}
	return s.ids.find(ev.Raw[from:], false)
}

// requestStart returns where "requestParameters" or "responseElements"
// first starts in a CloudTrail record, or -1. Both begin with "re, which
// the members before them in CloudTrail's order do not.
func requestStart(raw []byte) int {
	for off := 0; ; {
		i := bytes.Index(raw[off:], quoteRe)
		if i < 0 {
			return -1
		}
		i += off
		if bytes.HasPrefix(raw[i:], requestParameters) || bytes.HasPrefix(raw[i:], responseElements) {
			return i
		}
		off = i + 1
	}
}

var (
	quoteRe           = []byte(`"re`)
	requestParameters = []byte(`"requestParameters"`)
	responseElements  = []byte(`"responseElements"`)
)

// hasKey is s.keys[keyOf(provider, account, region, id)], without a
// string of the lowered id of an Azure resource, which every Azure call
// of the read asks about. Only the goroutine that admits events calls it.
func (s *Scope) hasKey(provider, account, region, id string) bool {
	if provider != event.Azure {
		return s.keys[keyOf(provider, account, region, id)]
	}
	s.lower = event.AppendLower(s.lower[:0], id)
	return s.azureKeys[string(s.lower)]
}

// admit adds a whole event to a scoped index if the scope keeps it.
func (s *Scope) admit(x *Index, ev *event.Event) {
	if ev == nil || ev.Time.IsZero() {
		return
	}
	x.read = true
	if s.everything {
		x.add(ev, false)
		return
	}
	keep, slim := s.decide(x, ev.UID, ev.OriginalUID, ev.Provider, ev.Account, ev.Region, ev.Resources,
		principalOf(ev), ev.Time, ev.CorrelationUID, ev.ResourceID)
	if keep {
		x.add(ev, slim)
	}
}

// admitCall is admit for a call of the first read's Facts (Facts.replay):
// e is its whole entry, original and resourceID its record's.
func (s *Scope) admitCall(x *Index, e *Entry, original, resourceID string) {
	x.read = true
	if !s.everything {
		keep, slim := s.decide(x, e.UID, original, e.Provider, e.Account, e.Region, e.Resources,
			e.Principal, e.Time, e.correlation, resourceID)
		if !keep {
			return
		}
		if slim {
			e = e.slimmed()
		}
	}
	if !x.folded(e.UID, original) {
		x.insert(e, resourceID)
	}
}

// decide reports whether a scoped index keeps a call, and whether slim,
// noting in x's gaps what only the end of the read can settle.
func (s *Scope) decide(x *Index, uid, original, provider, account, region string, resources []event.Resource,
	principal string, t time.Time, correlation, resourceID string) (keep, slim bool) {
	whole := uid != "" && s.uids[uid]
	for i := 0; !whole && i < len(resources); i++ {
		whole = s.hasKey(provider, account, region, resources[i].UID)
	}
	r := s.principals[principal]
	if !whole {
		if r == nil {
			return false, false
		}
		slim = !r.full(t)
	}
	if original != "" && original != uid && !s.uids[original] {
		// Whether the re-delivery folds into its original depends on
		// the original being in the index: checked once the read ends.
		// A record that is its own original (an Azure record without
		// an eventDataId) is in the index once added.
		x.gaps.original(original)
	}
	if event.Phased(provider) && correlation != "" && r == nil {
		// The entry of an Azure or Google Cloud operation folds all its
		// records: kept for a resource its body names or for its id,
		// the others are found by the operation's own resource.
		if resourceID != "" && !s.hasKey(provider, "", "", resourceID) {
			x.gaps.key(keyOf(provider, "", "", resourceID))
		}
	}
	return true, slim
}

// bounds returns the first and last time of a finding, its evidence
// included.
func bounds(f *finding.Finding) (first, last time.Time) {
	first, last = f.FirstSeen, f.LastSeen
	for _, ev := range f.Evidence {
		if first.IsZero() || ev.Time.Before(first) {
			first = ev.Time
		}
		if ev.Time.After(last) {
			last = ev.Time
		}
	}
	return first, last
}

// gaps are what a scoped index was asked beyond its scope, or found it
// could not build as a full index would: the next read widens the scope
// by them.
//
// Explain runs over one index on several goroutines (explainAll): the
// methods that note a gap take the lock.
type gaps struct {
	mu         sync.Mutex
	keys       map[rkey]bool
	principals map[string]bool
	uids       map[string]bool
	originals  map[string]bool // re-deliveries' originals, a gap only if absent at the end
}

func (g *gaps) key(k rkey) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.keys == nil {
		g.keys = map[rkey]bool{}
	}
	g.keys[k] = true
}

func (g *gaps) principal(p string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.principals == nil {
		g.principals = map[string]bool{}
	}
	g.principals[p] = true
}

func (g *gaps) original(uid string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.originals == nil {
		g.originals = map[string]bool{}
	}
	g.originals[uid] = true
}

// settle turns into gaps what only the end of a read tells: originals of
// re-deliveries missing from the index, and Azure operations folded
// from whole and slim records that fall in a timeline's window (a record
// beyond the padded reach would add resources or a position).
func (g *gaps) settle(x *Index) {
	for _, e := range x.entries {
		if e.mixed && x.scope != nil && x.scope.principals[e.Principal] != nil && x.scope.principals[e.Principal].shown(e.Time) {
			g.principal(e.Principal)
		}
	}
	for u := range g.originals {
		if _, ok := x.byUID[u]; !ok {
			if g.uids == nil {
				g.uids = map[string]bool{}
			}
			g.uids[u] = true
		}
	}
	g.originals = nil
}

func (g *gaps) empty() bool {
	return len(g.keys) == 0 && len(g.principals) == 0 && len(g.uids) == 0
}
