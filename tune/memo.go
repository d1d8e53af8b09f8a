package tune

import (
	"hash/maphash"
	"strconv"
	"time"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/finding"
)

// maxMemo bounds the decisions a Memo holds; past it they are forgotten
// and taken again.
const maxMemo = 1 << 14

// A Memo takes ApplyUncounted's decision on one-record findings,
// remembering each by all it is taken from: the rule, the provider and
// the attributes of the record that some matcher of the allow entries or
// of the benign actors reads (a config that names no resource does not
// tell two records apart by their resources). A rule of one record that matches most of a log (SigmaHQ's
// AssumeRole misuse matches nearly every assumed-role call) matches it
// from few actors, whose decisions are then taken once each instead of
// once a record. The decisions are forgotten when an allow entry
// expires. A Memo is not safe for concurrent use; its Config must not
// change while it is used.
type Memo struct {
	c     *Config
	reads [numAttrs]bool // the attributes some matcher reads
	// decisions are found by two 64-bit hashes of their key, of seeds
	// of their own: a key is some hundreds of bytes (a user agent, a
	// request), and two keys of one hash pair are a chance of about
	// 2^-100 among the decisions held.
	decisions map[[2]uint64]memoised
	seeds     [2]maphash.Seed
	key       []byte
	subject   subject // scratch of Decide
	// until is when the next allow entry expires (zero: none will): the
	// decisions taken before hold until then.
	until time.Time
}

// NewMemo returns a Memo over c (nil: the built-in benign actors only).
func (c *Config) NewMemo() *Memo {
	if c == nil {
		c = defaultConfig()
	}
	m := &Memo{c: c, decisions: map[[2]uint64]memoised{}, seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}}
	reads := func(ma *Match) {
		if ma == nil {
			return
		}
		for a := range numAttrs {
			m.reads[a] = m.reads[a] || ma.has(a)
		}
	}
	for _, e := range c.Entries {
		reads(e.Match)
	}
	set := c.benign
	if set == nil {
		set = Builtin()
	}
	for _, a := range set.Actors {
		for _, ma := range a.When {
			reads(ma)
		}
	}
	m.until = c.nextExpiry(c.clock())
	return m
}

// nextExpiry is the soonest an allow entry not yet expired at now
// expires, or zero.
func (c *Config) nextExpiry(now time.Time) time.Time {
	var next time.Time
	for _, e := range c.Entries {
		if !e.Expired(now) && !e.Expires.IsZero() && (next.IsZero() || e.Expires.Before(next)) {
			next = e.Expires
		}
	}
	return next
}

// memoised is a decision and its Key.
type memoised struct {
	d   Decision
	key string
}

// Decide returns what ApplyUncounted decides for a finding of ruleID on
// ev alone, and the decision's Key. The Decision's slices are shared:
// read them, do not change them.
func (m *Memo) Decide(ruleID string, ev *event.Event) (Decision, string) {
	if !m.until.IsZero() {
		if now := m.c.clock(); !now.Before(m.until) {
			clear(m.decisions)
			m.until = m.c.nextExpiry(now)
		}
	}
	m.subject.fill(ev)
	m.key = m.appendKey(m.key[:0], ruleID, &m.subject)
	h := [2]uint64{maphash.Bytes(m.seeds[0], m.key), maphash.Bytes(m.seeds[1], m.key)}
	if d, ok := m.decisions[h]; ok {
		return d.d, d.key
	}
	d := m.c.ApplyUncounted(&finding.Finding{RuleID: ruleID}, []*event.Event{ev})
	if len(m.decisions) >= maxMemo {
		clear(m.decisions)
	}
	k := d.Key()
	m.decisions[h] = memoised{d, k}
	return d, k
}

// appendKey writes what a decision on s is taken from: each part with its
// length, so that no two subjects write the same key.
func (m *Memo) appendKey(b []byte, ruleID string, s *subject) []byte {
	str := func(v string) {
		b = strconv.AppendInt(b, int64(len(v)), 10)
		b = append(b, ':')
		b = append(b, v...)
	}
	list := func(vs []string) {
		b = strconv.AppendInt(b, int64(len(vs)), 10)
		b = append(b, '#')
		for _, v := range vs {
			str(v)
		}
	}
	str(ruleID)
	str(s.provider)
	for a, read := range m.reads {
		if !read {
			continue
		}
		switch attr(a) {
		case attrPrincipal:
			list(s.identities)
		case attrRole:
			str(s.role)
		case attrInvokedBy:
			str(s.invokedBy)
		case attrAppID:
			str(s.appID)
		case attrAccount:
			str(s.account)
		case attrRegion:
			str(s.region)
		case attrResourceGroup:
			str(s.resourceGroup)
		case attrResourceID:
			list(s.resources)
		case attrSourceIP:
			list(s.srcIPs)
		case attrOperation:
			list(s.operations)
		case attrUserAgent:
			list(s.userAgents)
		case attrRequestValue:
			b = strconv.AppendInt(b, int64(len(s.request)), 10)
			b = append(b, ':')
			b = append(b, s.request...)
		case attrTime:
			b = strconv.AppendInt(b, s.time.UnixNano(), 10)
		}
		// attrBenign: the actors recognised, from the attributes above.
	}
	return b
}
