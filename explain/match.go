package explain

import (
	"bytes"
	"encoding/binary"
	"math/bits"
)

// matcher tells whether a raw record may hold one of the strings a Scope
// looks for (resource ids, principals, event ids), without decoding it:
// most records of a large export hold none, and a partial decode
// (ingest.Options.QueryFields) costs a fraction of a whole one.
//
// It never misses a record whose whole decode would carry one of the
// strings: a decoder takes them whole from JSON string values or as the
// part of one after a '/' or ':' (a recovery point ARN's snapshot id),
// so in the raw bytes each is bounded by characters that are not letters
// or digits. A needle is found through its anchor, its longest run of
// letters and digits (in its last path segment, the specific part), which
// is then a whole run in the record too; the needle is then compared
// whole around it, ignoring ASCII case (Azure ids compare lower-cased),
// and must not go on with a letter or digit on either side.
// What the bytes could hide, it reports as a maybe: a JSON escape of '/'
// or \u, and for Azure records, whose ids are lower-cased as Unicode,
// any byte beyond ASCII.
type matcher struct {
	anchors map[uint64][]needle
	// shapes filters runs on their length and first and last letter
	// before they are hashed: most runs of a record stop there.
	shapes   [maxShaped * 36 * 36 / 64]uint64
	bits     [1024]uint64 // 65536-bit filter on anchor hashes
	lens     uint64       // the anchor lengths below 64, a bit each
	min, max int          // anchor lengths
	all      bool         // a needle the bytes cannot show: every record is a maybe
}

type needle struct {
	text  string // ASCII lower-cased
	off   int    // where the anchor run starts in text
	n     int    // the anchor run's length
	exact bool   // text is ASCII: compared whole around the anchor
}

// maxShaped bounds the runs matcher.shapes filters; longer ones are
// hashed at once (ids are shorter).
const maxShaped = 64

// fold maps letters and digits to their lower case and every other byte
// to 0, the run separators.
var fold = func() (t [256]byte) {
	for c := '0'; c <= '9'; c++ {
		t[c] = byte(c)
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = byte(c)
		t[c-'a'+'A'] = byte(c)
	}
	return t
}()

// digit36 numbers the letters and digits (fold is not 0) from 0 to 35.
var digit36 = func() (t [256]uint8) {
	for c := range t {
		switch f := fold[c]; {
		case f >= 'a':
			t[c] = f - 'a' + 10
		case f != 0:
			t[c] = f - '0'
		}
	}
	return t
}()

// shapeOf is the bit of a run (shorter than maxShaped) in matcher.shapes.
func shapeOf(run []byte) int {
	return (len(run)*36+int(digit36[run[0]]))*36 + int(digit36[run[len(run)-1]])
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func newMatcher() *matcher { return &matcher{anchors: map[uint64][]needle{}} }

// add looks for s too.
func (m *matcher) add(s string) {
	if s == "" {
		return
	}
	b := []byte(s)
	exact := true
	for i, c := range b {
		switch {
		case c < 0x20 || c == '"' || c == '\\':
			m.all = true // JSON writes it escaped
			return
		case c >= 0x80:
			exact = false
		case c >= 'A' && c <= 'Z':
			b[i] = c + 'a' - 'A'
		}
	}
	off, n := anchorOf(b)
	if n == 0 {
		m.all = true
		return
	}
	anchor := b[off : off+n]
	h := hashRun(anchor)
	m.anchors[h] = append(m.anchors[h], needle{text: string(b), off: off, n: n, exact: exact})
	m.bits[(h>>6)&1023] |= 1 << (h & 63)
	if n < maxShaped {
		i := shapeOf(anchor)
		m.shapes[i>>6] |= 1 << (i & 63)
		m.lens |= 1 << n
	}
	if m.min == 0 || n < m.min {
		m.min = n
	}
	if n > m.max {
		m.max = n
	}
}

// anchorOf returns where a needle's anchor is: its longest run in the
// last segment, else its longest run.
func anchorOf(b []byte) (off, n int) {
	last := 0
	for i, c := range b {
		if c == '/' || c == ':' {
			last = i + 1
		}
	}
	off, n = longestRun(b, last)
	if n == 0 {
		off, n = longestRun(b, 0)
	}
	return off, n
}

func longestRun(b []byte, from int) (off, n int) {
	start := -1
	for i := from; i <= len(b); i++ {
		if i < len(b) && fold[b[i]] != 0 {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 && i-start > n {
			off, n = start, i-start
		}
		start = -1
	}
	return off, n
}

func hashRun(b []byte) uint64 {
	h := uint64(fnvOffset)
	for _, c := range b {
		h = (h ^ uint64(fold[c])) * fnvPrime
	}
	return h
}

// find reports whether raw may hold a needle; unicode says that the
// record's ids are lower-cased as Unicode (Azure).
func (m *matcher) find(raw []byte, unicode bool) bool {
	if m.all {
		return true
	}
	if len(m.anchors) == 0 {
		return false
	}
	// What the bytes could hide first: rare, and cheaper found apart.
	if bytes.IndexByte(raw, '\\') >= 0 && (bytes.Contains(raw, escapeSlash) || bytes.Contains(raw, escapeU)) {
		return true
	}
	if unicode && !ascii(raw) {
		return true
	}
	// The runs, eight bytes at a time: a word's letters and digits are
	// found at once, and only the bytes that end a run are visited.
	return eachRun(raw, func(start, n int) bool { return m.length(n) && m.hit(raw, start, n) })
}

// eachRun calls fn with each run of ASCII letters and digits of raw,
// eight bytes at a time, until fn returns true; it reports whether fn
// did.
func eachRun(raw []byte, fn func(start, n int) bool) bool {
	start := 0 // of the current run
	i := 0
	for ; i+8 <= len(raw); i += 8 {
		ends := ^alnum8(binary.LittleEndian.Uint64(raw[i:])) & highs
		for ends != 0 {
			j := i + bits.TrailingZeros64(ends)>>3
			if n := j - start; n > 0 && fn(start, n) {
				return true
			}
			start = j + 1
			ends &= ends - 1
		}
	}
	for ; i < len(raw); i++ {
		if fold[raw[i]] == 0 {
			if n := i - start; n > 0 && fn(start, n) {
				return true
			}
			start = i + 1
		}
	}
	n := len(raw) - start
	return n > 0 && fn(start, n)
}

// length reports whether a run of n letters and digits may be an anchor.
func (m *matcher) length(n int) bool {
	if n < maxShaped {
		return m.lens&(1<<n) != 0
	}
	return n <= m.max
}

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// alnum8 sets the high bit of each byte of w that is an ASCII letter or
// digit (fold is not 0), and of no other.
func alnum8(w uint64) uint64 {
	return (between8(w|0x20*ones, 'a'-1, 'z'+1) | between8(w, '0'-1, '9'+1)) &^ w & highs
}

// between8 sets the high bit of each byte b of w with lo < b < hi, for
// bytes below 0x80 (Bit Twiddling Hacks, "hasbetween"; exact per byte).
func between8(w uint64, lo, hi uint64) uint64 {
	const low7 = 0x7f * ones
	x := w & low7
	return (ones*(127+hi) - x) &^ w & (x + ones*(127-lo)) & highs
}

var (
	escapeSlash = []byte(`\/`)
	escapeU     = []byte(`\u`)
)

// ascii reports whether every byte of b is below 0x80, eight at a time.
func ascii(b []byte) bool {
	var or uint64
	for len(b) >= 8 {
		or |= binary.LittleEndian.Uint64(b)
		b = b[8:]
	}
	for _, c := range b {
		or |= uint64(c)
	}
	return or&0x8080808080808080 == 0
}

// hit compares the needles anchored on the run raw[start:start+run].
func (m *matcher) hit(raw []byte, start, run int) bool {
	r := raw[start : start+run]
	if run < maxShaped {
		if i := shapeOf(r); m.shapes[i>>6]&(1<<(i&63)) == 0 {
			return false
		}
	}
	h := hashRun(r)
	if m.bits[(h>>6)&1023]&(1<<(h&63)) == 0 {
		return false
	}
	for _, nd := range m.anchors[h] {
		if nd.n != run {
			continue
		}
		if !nd.exact {
			if equalFold(r, nd.text[nd.off:nd.off+nd.n]) {
				return true
			}
			continue
		}
		// A value is bounded by a quote, a slash or a separator, not by
		// a letter or digit.
		from, to := start-nd.off, start-nd.off+len(nd.text)
		if from >= 0 && to <= len(raw) && (from == 0 || fold[raw[from-1]] == 0) && (to == len(raw) || fold[raw[to]] == 0) &&
			equalFold(raw[from:to], nd.text) {
			return true
		}
	}
	return false
}

// equalFold compares b with an ASCII lower-cased string, ignoring the
// ASCII case of b.
func equalFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}
