package explain

import (
	"bytes"
	"encoding/binary"
	"hash/maphash"
	"math/bits"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/internal/jsonx"
)

// Facts are what the first read (hunt's) learned of each file, so that
// Build reads again only the files that may hold a call a bundle needs:
// in a long export most files hold none of the findings' actors and
// resources, and reading them costs as much as the first read did.
//
// A file is known to hold none when every event of it was CloudTrail and
// was seen here (Collector.NewSelect, Collector.Add, then Collector.File):
// its accounts and regions, the principals of its calls, and the tokens
// of its records (eachToken) that can end an id: those of its request,
// response and event id (idsMember) when the partial decoder indexed
// its members, else those from its request on (idsFrom). Among them are
// the last segment of every id the decoder takes and the event ids. A
// file keeps a 32-bit
// fingerprint of each distinct token, sorted once its read ended; two
// tokens sharing one costs a read, never a call. A file the facts cannot
// speak for (another provider's records, a record not seen, tokens past
// maxPrints) is always read.
//
// The records of other providers (Azure, Google Cloud) have no such
// tokens: their ids are compared lower-cased and their principals stand in
// claims. The first read decodes them whole and packs each call's entry
// (pack), so that a file of them whose every event was packed is not read
// again at all: Build admits its calls from the pack, in the place of the
// file's read.
type Facts struct {
	mu     sync.Mutex
	files  map[string]*fileFacts
	seed   maphash.Seed
	tokens uint64       // the seed of tokenHash
	prints atomic.Int64 // fingerprints kept, all files
	calls  *pack
}

// fileFacts are the facts of one file.
type fileFacts struct {
	salt uint64

	mu         sync.Mutex
	seen       int // events seen
	opaque     bool
	complete   bool               // the read of the file ended and every event was seen
	scopes     map[[2]string]bool // account, region
	principals map[uint64]bool
	prints     []uint32 // the tokens' fingerprints; sorted and distinct once complete

	packed   *packedFile // the calls of the file, while every event of it is packed
	unpacked bool        // an event of it could not be packed
	covered  bool        // the read of the file ended and every event of it is packed
}

// maxPrints bounds the fingerprints Facts keep (4 bytes each): a
// CloudTrail record has about five tokens no record before it had, so
// that this covers some six million records; the files past it are read
// again.
const maxPrints = 32 << 20

// NewFacts returns empty facts.
func NewFacts() *Facts {
	return &Facts{files: map[string]*fileFacts{}, seed: maphash.MakeSeed(), tokens: rand.Uint64(), calls: newPack()}
}

func (f *Facts) file(name string) *fileFacts {
	f.mu.Lock()
	defer f.mu.Unlock()
	ff := f.files[name]
	if ff == nil {
		ff = &fileFacts{salt: maphash.String(f.seed, name), scopes: map[[2]string]bool{}, principals: map[uint64]bool{}}
		f.files[name] = ff
	}
	return ff
}

// observe takes one event of the first read, whole or partial (then with
// its Raw and, from CloudTrail, its Caller). It is safe to call from
// several goroutines.
func (f *Facts) observe(ev *event.Event, principal string) {
	if ev.Source.Name == "" || ev.Source.Name == "-" {
		return
	}
	o := observer{facts: f, ff: f.file(ev.Source.Name), seen: seenPool.Get().(*seenTokens)}
	o.observe(ev, principal, nil)
	seenPool.Put(o.seen)
}

// observer takes the events of one decoding goroutine (Collector.NewSelect):
// the file it last saw and its table of tokens lately kept are its own.
type observer struct {
	facts *Facts
	name  string // the file of ff
	ff    *fileFacts
	seen  *seenTokens
	news  []uint32
}

// observe takes one event (see Facts.observe); members, when not nil,
// are the record's top-level members as the partial decoder indexed them.
func (o *observer) observe(ev *event.Event, principal string, members []jsonx.Member) {
	f := o.facts
	if ev.Source.Name == "" || ev.Source.Name == "-" {
		return
	}
	if o.ff == nil || o.name != ev.Source.Name {
		o.ff, o.name = f.file(ev.Source.Name), ev.Source.Name
	}
	ff := o.ff
	opaque := ev.Provider != event.AWS || len(ev.Raw) == 0
	news := o.news[:0]
	keep := func(tok []byte) {
		// Most tokens of a record were in the records before it: a
		// small table that stays in the core's cache keeps them out of
		// the file's list.
		h := tokenHash(f.tokens, tok) ^ ff.salt
		if i := h % uint64(len(o.seen.last)); o.seen.last[i] != h {
			o.seen.last[i] = h
			news = append(news, uint32(h>>32))
		}
	}
	switch {
	case opaque:
	case members != nil:
		for i := range members {
			if m := &members[i]; idsMember(m.Key) {
				tokens(m.Val, keep)
			}
		}
	default:
		raw := ev.Raw
		if bytes.IndexByte(raw, '\\') >= 0 {
			// An escape could hide an id from the tokens of the
			// bytes: the tokens are those of the strings as decoded.
			raw = unescape(raw)
		}
		eachToken(raw[idsFrom(raw):], keep)
	}
	o.news = news
	p := maphash.String(f.seed, principal)
	ff.mu.Lock()
	defer ff.mu.Unlock()
	ff.seen++
	if ff.opaque = ff.opaque || opaque || f.prints.Load() > maxPrints; ff.opaque {
		if ff.prints != nil {
			f.prints.Add(-int64(len(ff.prints)))
			ff.prints = nil
		}
		return
	}
	if sc := [2]string{ev.Account, ev.Region}; !ff.scopes[sc] {
		ff.scopes[sc] = true
	}
	ff.principals[p] = true
	ff.prints = append(ff.prints, news...)
	f.prints.Add(int64(len(news)))
}

// idsMember reports whether a top-level member of a CloudTrail record
// may hold an id Facts.needed asks about: a resource id comes from
// requestParameters or responseElements only (ingest/cloudtrail), the
// event id from eventID. Names are compared ignoring case, a superset of
// what the decoder reads.
func idsMember(key []byte) bool {
	switch len(key) {
	case len("requestParameters"):
		return bytes.EqualFold(key, requestParameters[1:len(requestParameters)-1])
	case len("responseElements"):
		return bytes.EqualFold(key, responseElements[1:len(responseElements)-1])
	case len("eventID"):
		return bytes.EqualFold(key, eventIDMember[1:len(eventIDMember)-1])
	}
	return false
}

// tokens calls fn with the tokens of a member's value as written (a
// string's bytes between its quotes), those of its text as decoded when
// it has escapes.
func tokens(val []byte, fn func(tok []byte)) {
	if bytes.IndexByte(val, '\\') >= 0 {
		val = unescape(val)
	}
	eachToken(val, fn)
}

// idsFrom returns where the tokens of a CloudTrail record (its strings
// as decoded) that Facts.needed can ask about begin: a resource id comes
// from requestParameters or responseElements only (ingest/cloudtrail,
// as Scope.maybe reads), and the event id follows them in CloudTrail's
// order, so that the tokens before them (the caller's identity, its
// agent, the time: most of a record) are skipped. From the start when
// neither member is found or the event id comes first.
func idsFrom(raw []byte) int {
	from := requestStart(raw)
	if from < 0 || bytes.Contains(raw[:from], eventIDMember) {
		return 0
	}
	return from
}

var eventIDMember = []byte(`"eventID"`)

// seenTokens are the salted hashes of tokens lately kept, by where they
// fall (a direct-mapped cache); a clash only keeps a fingerprint twice.
type seenTokens struct{ last [1 << 13]uint64 }

var seenPool = sync.Pool{New: func() any { return new(seenTokens) }}

// pack takes a whole event of the first read of a provider other than
// AWS (see Facts). Only the goroutine that hands the events on calls it.
func (f *Facts) pack(ev *event.Event) {
	if ev.Source.Name == "" || ev.Source.Name == "-" {
		return
	}
	ff := f.file(ev.Source.Name)
	ff.mu.Lock()
	defer ff.mu.Unlock()
	if ff.unpacked {
		return
	}
	if ff.packed == nil {
		ff.packed = &packedFile{}
	}
	if !f.calls.add(ff.packed, ev) {
		ff.unpack(f.calls)
	}
}

// unpack drops the pack of a file, which then speaks for nothing.
func (ff *fileFacts) unpack(p *pack) {
	if ff.packed != nil {
		p.size -= len(ff.packed.buf)
	}
	ff.packed, ff.unpacked = nil, true
}

// covered reports whether every event of the file was packed: Build
// admits its calls from the pack (replay) and does not read it.
func (f *Facts) covered(name string) bool {
	if f == nil {
		return false
	}
	f.mu.Lock()
	ff := f.files[name]
	f.mu.Unlock()
	return ff != nil && ff.covered
}

// replay admits the packed calls of a covered file into x, in the order
// the file's read would give them.
func (f *Facts) replay(name string, s *Scope, x *Index) error {
	f.mu.Lock()
	ff := f.files[name]
	f.mu.Unlock()
	return f.calls.each(ff.packed, func(e *Entry, original, resourceID string) {
		s.admitCall(x, e, original, resourceID)
	})
}

// release drops the pack of a covered file once Build admitted its calls:
// the pack is the largest thing the first read kept, and the index Build
// fills grows while the replays go on. A later read of a wider scope
// (seldom: Build's widening) reads the file itself, which the facts
// cannot rule out.
func (f *Facts) release(name string) {
	f.mu.Lock()
	ff := f.files[name]
	f.mu.Unlock()
	ff.mu.Lock()
	defer ff.mu.Unlock()
	ff.unpack(f.calls)
	ff.covered = false
}

// done says that the read of a file ended with events events: the facts
// speak for the file only if each of them was observed.
func (f *Facts) done(name string, events int) {
	if events == 0 {
		return
	}
	ff := f.file(name)
	ff.mu.Lock()
	defer ff.mu.Unlock()
	if ff.covered = !ff.unpacked && ff.packed != nil && ff.packed.events == events; ff.covered {
		f.calls.done(ff.packed)
	} else {
		ff.unpack(f.calls)
	}
	ff.complete = ff.seen == events && !ff.opaque
	if !ff.complete {
		f.prints.Add(-int64(len(ff.prints)))
		ff.prints = nil
		return
	}
	sortPrints(ff.prints)
	n := len(ff.prints)
	// A copy of the distinct ones: the list grew by doubling.
	ff.prints = append([]uint32(nil), slices.Compact(ff.prints)...)
	f.prints.Add(int64(len(ff.prints) - n))
}

// sortPrints sorts a file's fingerprints in two passes of 16 bits (a
// radix sort): a large file has hundreds of thousands, which a comparison
// sort takes several times as long over, on the goroutine that hands
// events to hunt.
func sortPrints(a []uint32) {
	if len(a) < 1<<12 {
		slices.Sort(a)
		return
	}
	tmp := make([]uint32, len(a))
	count := make([]int, 1<<16)
	for shift := 0; shift < 32; shift += 16 {
		clear(count)
		for _, v := range a {
			count[v>>shift&0xffff]++
		}
		sum := 0
		for i, c := range count {
			count[i] = sum
			sum += c
		}
		for _, v := range a {
			d := v >> shift & 0xffff
			tmp[count[d]] = v
			count[d]++
		}
		a, tmp = tmp, a // after the second pass, a is the caller's again
	}
}

// has reports whether the file may hold a token with this hash.
func (ff *fileFacts) has(h uint64) bool {
	_, ok := slices.BinarySearch(ff.prints, uint32((h^ff.salt)>>32))
	return ok
}

// needed reports whether a read for s must read the file: unless the
// facts prove that no call of it is one the scope keeps.
func (f *Facts) needed(name string, s *Scope) bool {
	if f == nil || s.everything || len(s.found) > 0 {
		return true
	}
	f.mu.Lock()
	ff := f.files[name]
	f.mu.Unlock()
	if ff == nil {
		// No event of it was seen: it may have none, or have changed.
		return true
	}
	ff.mu.Lock()
	defer ff.mu.Unlock()
	if !ff.complete {
		return true
	}
	for u := range s.uids {
		// The steps: an AWS event's id is its eventID, a token of
		// the record.
		if h, ok := idToken(f.tokens, u); !ok || ff.has(h) {
			return true
		}
	}
	for p := range s.principals {
		if ff.principals[maphash.String(f.seed, p)] {
			return true
		}
	}
	for k := range s.keys {
		account, region, _ := strings.Cut(k.scope, "/")
		if k.provider != event.AWS || !ff.scopes[[2]string{account, region}] {
			continue // admit compares keys with the event's own provider and scope
		}
		if h, ok := idToken(f.tokens, k.id); !ok || ff.has(h) {
			return true
		}
	}
	return false
}

// idToken is the hash of the token (eachToken) an id ends with, if the
// filter can hold it: a decoder takes an id whole from a JSON string, or
// as the part of one after a '/' or ':', so that the id's last segment is
// a whole token of its record.
func idToken(seed uint64, id string) (uint64, bool) {
	last := id[strings.LastIndexAny(id, "/:")+1:]
	if last == "" || strings.ContainsAny(last, "\"\\") || structural[last[0]] || structural[last[len(last)-1]] {
		return 0, false
	}
	return tokenHash(seed, last), true
}

// tokenHash is the hash of a token of a record (eachToken) or of an id's
// last one (idToken): a multiply-mix of its bytes eight at a time. A large
// export has tens of millions of short tokens, which maphash's call costs
// more to hash; two tokens sharing a fingerprint cost a read, never a
// call.
func tokenHash[T string | []byte](seed uint64, b T) uint64 {
	h := seed ^ uint64(len(b))*0x9e3779b97f4a7c15
	for len(b) >= 8 {
		w := uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
			uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
		h = mix64(h^w, 0xbf58476d1ce4e5b9)
		b = b[8:]
	}
	var w uint64
	for i := 0; i < len(b); i++ {
		w |= uint64(b[i]) << (8 * i)
	}
	return mix64(mix64(h^w, 0x94d049bb133111eb), 0x9e3779b97f4a7c15)
}

// mix64 folds the 128-bit product of a and b into 64 bits.
func mix64(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// eachToken calls fn with each token of raw that may end an id: each
// stretch between the bytes '"', '/' and ':', found eight bytes at a
// time, but for the members' names and what lies between strings (a
// stretch that begins or ends with JSON's structure: a comma, a bracket,
// a brace, a space).
func eachToken(raw []byte, fn func(tok []byte)) {
	const lo7 = 0x7f7f7f7f7f7f7f7f
	zero := func(v uint64) uint64 { return ^(((v & lo7) + lo7) | v | lo7) } // the high bit of each zero byte
	emit := func(start, end int) {
		if end > start && !structural[raw[start]] && !structural[raw[end-1]] &&
			!(raw[end] == '"' && end+1 < len(raw) && raw[end+1] == ':') {
			fn(raw[start:end])
		}
	}
	start := 0
	i := 0
	for ; i+8 <= len(raw); i += 8 {
		w := binary.LittleEndian.Uint64(raw[i:])
		m := zero(w^('"'*ones)) | zero(w^('/'*ones)) | zero(w^(':'*ones))
		for m != 0 {
			j := i + bits.TrailingZeros64(m)>>3
			emit(start, j)
			start = j + 1
			m &= m - 1
		}
	}
	for ; i < len(raw); i++ {
		if c := raw[i]; c == '"' || c == '/' || c == ':' {
			emit(start, i)
			start = i + 1
		}
	}
	if len(raw) > start && !structural[raw[start]] && !structural[raw[len(raw)-1]] {
		fn(raw[start:])
	}
}

// structural are the bytes of JSON's structure that no id begins or ends
// with.
var structural = func() (t [256]bool) {
	for _, c := range []byte(",{}[] \t\r\n") {
		t[c] = true
	}
	return t
}()

// unescape returns a record's bytes with the escapes of its JSON strings
// undone, so that its tokens are those of the strings as decoded.
func unescape(raw []byte) []byte {
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' || i+1 >= len(raw) {
			out = append(out, c)
			continue
		}
		i++
		switch c = raw[i]; c {
		case 'u':
			if i+4 < len(raw) {
				if v, err := strconv.ParseUint(string(raw[i+1:i+5]), 16, 32); err == nil {
					out = utf8.AppendRune(out, rune(v))
					i += 4
					continue
				}
			}
			out = append(out, '\\', c)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		default: // '"', '\\', '/'
			out = append(out, c)
		}
	}
	return out
}
