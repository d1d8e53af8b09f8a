package sigma

import (
	"slices"
	"strings"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/internal/jsonx"
)

// The rule index. Each detection rule is planned once: the equality
// values, one of which a record must carry in some field for the rule to
// match (its keys), or none when no such set can be proven (a negation at
// the top, only wildcards or regular expressions, keywords, a branch of
// an "or" or "1 of" that cannot be indexed). A record is then tested only
// against the rules its provider admits whose keys it carries, and the
// rules without keys: never fewer rules than could match it.

// idxKey is one value a rule's detection may require of a field: an exact
// Sigma string (no wildcard), lower-cased unless cased.
type idxKey struct {
	field string
	val   string
	cased bool
}

// indexPlan is what planning found for one rule: its keys, or ok false
// when it must be evaluated on every record of its provider.
type indexPlan struct {
	keys []idxKey
	ok   bool
}

// opFields are the fields naming a record's operation: the most selective
// ones, preferred when a rule requires several.
var opFields = map[string]bool{"eventname": true, "operationname": true, "methodname": true,
	"protopayload.methodname": true, "operationnamevalue": true}

// fieldCost orders the fields a plan may choose among: operations first.
func fieldCost(f string) int {
	if opFields[strings.ToLower(f)] {
		return 0
	}
	return 1
}

// planRule plans a detection.
func planRule(d *detection) indexPlan {
	if d == nil || d.cond == nil {
		return indexPlan{}
	}
	keys, ok := d.condKeys(d.cond)
	return indexPlan{keys: keys, ok: ok}
}

// better reports whether key set a is a better choice than b for an
// "and": all on operation fields, then fewer keys.
func better(a, b []idxKey) bool {
	ca, cb := keysCost(a), keysCost(b)
	if ca != cb {
		return ca < cb
	}
	return len(a) < len(b)
}

func keysCost(ks []idxKey) int {
	c := 0
	for _, k := range ks {
		c = max(c, fieldCost(k.field))
	}
	return c
}

// condKeys returns keys one of which a record matching c carries.
func (d *detection) condKeys(c *cond) ([]idxKey, bool) {
	switch c.op {
	case condIdent:
		s := d.searches[c.name]
		if s == nil {
			return nil, false
		}
		return s.keys()
	case condAnd:
		return d.bestOf(c.kids)
	case condOr:
		return d.unionOf(c.kids)
	case condOf:
		if len(c.names) == 0 {
			return nil, false
		}
		kids := make([]*cond, len(c.names))
		for i, n := range c.names {
			kids[i] = &cond{op: condIdent, name: n}
		}
		if c.n == 0 {
			return d.bestOf(kids)
		}
		// At least c.n (≥ 1) of them: at least one.
		return d.unionOf(kids)
	}
	// condNot, and anything else: no key can be proven.
	return nil, false
}

// bestOf plans a conjunction: any indexable part's keys will do.
func (d *detection) bestOf(kids []*cond) ([]idxKey, bool) {
	var best []idxKey
	found := false
	for _, k := range kids {
		ks, ok := d.condKeys(k)
		if ok && (!found || better(ks, best)) {
			best, found = ks, true
		}
	}
	return best, found
}

// unionOf plans a disjunction: every part must be indexable.
func (d *detection) unionOf(kids []*cond) ([]idxKey, bool) {
	var out []idxKey
	for _, k := range kids {
		ks, ok := d.condKeys(k)
		if !ok {
			return nil, false
		}
		out = append(out, ks...)
	}
	return out, true
}

// keys plans a search: an OR of maps, each an AND of field matchers.
func (s *search) keys() ([]idxKey, bool) {
	if len(s.keywords) > 0 || len(s.maps) == 0 {
		return nil, false
	}
	var out []idxKey
	for _, m := range s.maps {
		var best []idxKey
		found := false
		for _, fm := range m {
			ks, ok := fm.keys()
			if ok && (!found || better(ks, best)) {
				best, found = ks, true
			}
		}
		if !found {
			return nil, false
		}
		out = append(out, best...)
	}
	return out, true
}

// keys plans one field matcher: only plain equality on strings, where a
// match means some value of the field equals one of the values.
func (fm *fieldMatcher) keys() ([]idxKey, bool) {
	if fm.neq || fm.exists != 0 || fm.null || fm.fieldref != nil || len(fm.vals) == 0 {
		return nil, false
	}
	out := make([]idxKey, 0, len(fm.vals))
	for _, v := range fm.vals {
		p, ok := v.(*pattern)
		if !ok || p.kind != 1 {
			return nil, false
		}
		// With |all every value must match; any one of them is required.
		out = append(out, idxKey{field: fm.field, val: p.exact, cased: p.cased})
	}
	return out, true
}

// ruleIndex finds the candidate rules of the records of one provider.
// Rules are numbered by their position in the plan's detections, so that
// candidates come out in load order.
type ruleIndex struct {
	always []int32 // rules evaluated on every record
	fields []string
	folded []map[string][]int32 // by field: lower-cased value → rules
	cased  []map[string][]int32 // by field: exact value → rules
	// lens are the lengths of each field's values, folded or cased: an
	// ASCII value of another length is in neither map, and is not
	// lower-cased to find that out (a user agent, on every record).
	lens []lenSet
}

// lenSet is a set of lengths.
type lenSet struct {
	short [4]uint64 // lengths below 256
	long  bool      // any length from 256
}

func (l *lenSet) add(n int) {
	if n >= 256 {
		l.long = true
		return
	}
	l.short[n/64] |= 1 << (n % 64)
}

func (l *lenSet) has(n int) bool {
	if n >= 256 {
		return l.long
	}
	return l.short[n/64]&(1<<(n%64)) != 0
}

// buildIndex indexes the detections a provider admits.
func buildIndex(dets []*Rule, plans []indexPlan, provider string) *ruleIndex {
	ix := &ruleIndex{}
	fieldAt := map[string]int{}
	add := func(m map[string][]int32, v string, i int32) {
		l := m[v]
		if len(l) > 0 && l[len(l)-1] == i {
			return
		}
		m[v] = append(l, i)
	}
	for i, r := range dets {
		if r.provider != "" && r.provider != provider {
			continue
		}
		pl := plans[i]
		if !pl.ok {
			ix.always = append(ix.always, int32(i))
			continue
		}
		for _, k := range pl.keys {
			f, seen := fieldAt[k.field]
			if !seen {
				f = len(ix.fields)
				fieldAt[k.field] = f
				ix.fields = append(ix.fields, k.field)
				ix.folded = append(ix.folded, map[string][]int32{})
				ix.cased = append(ix.cased, map[string][]int32{})
				ix.lens = append(ix.lens, lenSet{})
			}
			ix.lens[f].add(len(k.val))
			if k.cased {
				add(ix.cased[f], k.val, int32(i))
			} else {
				add(ix.folded[f], k.val, int32(i))
			}
		}
	}
	return ix
}

// maxIndexes bounds the providers indexed: the decoders name a few.
const maxIndexes = 16

// candidates returns the detections ev's record may match, in load order,
// in buf. The record must be parsed into ec.
func (r *Runner) candidates(ec *evalCtx, provider string, buf []*Rule) []*Rule {
	if r.noIndex {
		return append(buf, r.p.detections...)
	}
	if ec.d.root == nil {
		return buf
	}
	ix := r.idx[provider]
	if ix == nil && len(r.idx) >= maxIndexes {
		return append(buf, r.p.detections...)
	}
	if ix == nil {
		ix = buildIndex(r.p.detections, r.plans, provider)
		r.idx[provider] = ix
	}
	r.gen++
	if r.gen == 0 {
		clear(r.stamp)
		r.gen = 1
	}
	ids := append(r.ids[:0], ix.always...)
	for _, i := range ids {
		r.stamp[i] = r.gen
	}
	take := func(l []int32) {
		for _, i := range l {
			if r.stamp[i] != r.gen {
				r.stamp[i] = r.gen
				ids = append(ids, i)
			}
		}
	}
	for f, field := range ix.fields {
		vals, ok := ec.values(field)
		if !ok {
			continue
		}
		for _, v := range vals {
			switch v.kind {
			case leafNull:
				continue
			case leafObject:
				// An object matches by any string inside it: not worth
				// indexing; every rule is a candidate.
				r.ids = ids
				return append(buf, r.p.detections...)
			}
			if !ix.lens[f].has(len(v.s)) && jsonx.IsASCII(v.s) {
				continue // lower-cased, it is as long: no value of the field
			}
			r.low = event.AppendLower(r.low[:0], v.s)
			if l, ok := ix.folded[f][string(r.low)]; ok {
				take(l)
			}
			if l, ok := ix.cased[f][v.s]; ok {
				take(l)
			}
		}
	}
	slices.Sort(ids)
	r.ids = ids
	for _, i := range ids {
		buf = append(buf, r.p.detections[i])
	}
	return buf
}
