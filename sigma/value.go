package sigma

import (
	"encoding/base64"
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/revertwatch/revertwatch/event"
)

// Modifiers lists every value modifier this package supports, in the
// order of the modifiers appendix (v2.1).
var Modifiers = []string{
	"all", "startswith", "endswith", "contains", "exists", "cased", "neq",
	"windash", "re", "i", "m", "s", "base64", "base64offset",
	"utf16le", "utf16be", "utf16", "wide",
	"lt", "lte", "gt", "gte",
	"minute", "hour", "day", "week", "month", "year",
	"cidr", "expand", "fieldref",
}

func knownModifier(m string) bool {
	for _, x := range Modifiers {
		if x == m {
			return true
		}
	}
	return false
}

// token is a piece of a wildcard pattern.
type token struct {
	lit  string // literal text, when star and one are false
	star bool   // any run of characters
	one  bool   // exactly one character
}

// pattern is a compiled Sigma string value: wildcards, case folding.
type pattern struct {
	toks  []token
	cased bool
	// fast paths
	exact       string // no wildcards
	prefix      string // lit*
	suffix      string // *lit
	contains    string // *lit*
	kind        int    // 0 general, 1 exact, 2 prefix, 3 suffix, 4 contains
	displayText string
}

// parseWildcards splits a Sigma string into literal text and wildcards,
// honouring the escapes of the rules specification: \* and \? are
// literal wildcard characters, \\ is one backslash, and a backslash
// before anything else is itself.
func parseWildcards(s string) []token {
	var toks []token
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			toks = append(toks, token{lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\\':
			if i+1 < len(s) && (s[i+1] == '*' || s[i+1] == '?' || s[i+1] == '\\') {
				lit.WriteByte(s[i+1])
				i++
				continue
			}
			lit.WriteByte(c)
		case '*':
			flush()
			if len(toks) == 0 || !toks[len(toks)-1].star {
				toks = append(toks, token{star: true})
			}
		case '?':
			flush()
			toks = append(toks, token{one: true})
		default:
			lit.WriteByte(c)
		}
	}
	flush()
	return toks
}

func newPattern(toks []token, cased bool, display string) *pattern {
	p := &pattern{toks: toks, cased: cased, displayText: display}
	if !cased {
		for i := range p.toks {
			p.toks[i].lit = strings.ToLower(p.toks[i].lit)
		}
	}
	t := p.toks
	switch {
	case len(t) == 0:
		p.kind, p.exact = 1, ""
	case len(t) == 1 && !t[0].star && !t[0].one:
		p.kind, p.exact = 1, t[0].lit
	case len(t) == 1 && t[0].star:
		p.kind, p.contains = 4, ""
	case len(t) == 2 && !t[0].star && !t[0].one && t[1].star:
		p.kind, p.prefix = 2, t[0].lit
	case len(t) == 2 && t[0].star && !t[1].star && !t[1].one:
		p.kind, p.suffix = 3, t[1].lit
	case len(t) == 3 && t[0].star && t[2].star && !t[1].star && !t[1].one:
		p.kind, p.contains = 4, t[1].lit
	}
	return p
}

func (p *pattern) match(s string) bool {
	if !p.cased {
		if p.kind >= 1 && p.kind <= 3 && isASCII(s) {
			// The pattern is lower-cased; an ASCII value compares
			// without a lower-cased copy of its own.
			switch p.kind {
			case 1:
				return len(s) == len(p.exact) && event.LowerIs(s, p.exact)
			case 2:
				return len(s) >= len(p.prefix) && event.LowerIs(s[:len(p.prefix)], p.prefix)
			default:
				return len(s) >= len(p.suffix) && event.LowerIs(s[len(s)-len(p.suffix):], p.suffix)
			}
		}
		s = lower(s)
	}
	switch p.kind {
	case 1:
		return s == p.exact
	case 2:
		return strings.HasPrefix(s, p.prefix)
	case 3:
		return strings.HasSuffix(s, p.suffix)
	case 4:
		return strings.Contains(s, p.contains)
	}
	return globMatch(p.toks, s)
}

// isASCII reports whether s is ASCII.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// lower lower-cases s, without allocating when it has no upper case.
func lower(s string) string {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf || 'A' <= c && c <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}

// globMatch matches tokens against s, backtracking to the last star only:
// linear in practice, never exponential.
func globMatch(toks []token, s string) bool {
	ti, si := 0, 0
	starT, starS := -1, 0
	for {
		if ti < len(toks) {
			t := toks[ti]
			switch {
			case t.star:
				starT, starS = ti, si
				ti++
				continue
			case t.one:
				if si < len(s) {
					_, n := utf8.DecodeRuneInString(s[si:])
					si += n
					ti++
					continue
				}
			default:
				if strings.HasPrefix(s[si:], t.lit) {
					si += len(t.lit)
					ti++
					continue
				}
			}
		} else if si == len(s) {
			return true
		}
		if starT < 0 || starS >= len(s) {
			return false
		}
		_, n := utf8.DecodeRuneInString(s[starS:])
		starS += n
		ti, si = starT+1, starS
	}
}

// matcher tests one value of a field.
type matcher interface {
	matchLeaf(l leaf) bool
}

// matchLeaf matches a value. An object or array matches by its JSON text
// or by any string inside it, so that requestParameters|contains finds a
// value nested in it, as a search over the flattened record would.
func (p *pattern) matchLeaf(l leaf) bool {
	switch l.kind {
	case leafNull:
		return false
	case leafObject:
		return p.match(l.s) || l.v != nil && walkStrings(l.v, p.match)
	}
	return p.match(l.s)
}

// reMatcher is a field's |re value. must are literals every match
// contains (requiredLiterals): a value without one of them is refused
// without running the expression, which SigmaHQ writes unanchored and
// led by .+ (userIdentity.arn|re: '.+:assumed-role/aws:.+', tested on
// every CloudTrail record) and Go's engine then tries from every offset.
type reMatcher struct {
	re   *regexp.Regexp
	must []string
}

func newReMatcher(re *regexp.Regexp) reMatcher {
	return reMatcher{re: re, must: requiredLiterals(re.String())}
}

func (r reMatcher) matchLeaf(l leaf) bool {
	if l.kind == leafNull {
		return false
	}
	for _, lit := range r.must {
		if !strings.Contains(l.s, lit) {
			return false
		}
	}
	return r.re.MatchString(l.s)
}

// requiredLiterals returns literals that a string expr matches must
// contain: those of its top-level concatenation that match only
// themselves (not case-folded). It may return fewer than there are,
// never one a match can lack.
func requiredLiterals(expr string) []string {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil
	}
	re = re.Simplify()
	for re.Op == syntax.OpCapture && len(re.Sub) == 1 {
		re = re.Sub[0]
	}
	subs := []*syntax.Regexp{re}
	if re.Op == syntax.OpConcat {
		subs = re.Sub
	}
	var out []string
	for _, sub := range subs {
		for sub.Op == syntax.OpCapture && len(sub.Sub) == 1 {
			sub = sub.Sub[0]
		}
		if sub.Op == syntax.OpLiteral && sub.Flags&syntax.FoldCase == 0 && len(sub.Rune) > 0 {
			out = append(out, string(sub.Rune))
		}
	}
	return out
}

type cidrMatcher struct{ prefix netip.Prefix }

func (c cidrMatcher) matchLeaf(l leaf) bool {
	if l.kind != leafString {
		return false
	}
	a, err := netip.ParseAddr(strings.TrimSpace(l.s))
	if err != nil {
		return false
	}
	return c.prefix.Contains(a.Unmap())
}

type numMatcher struct {
	op string
	v  float64
}

func (n numMatcher) matchLeaf(l leaf) bool {
	if l.kind != leafNumber && l.kind != leafString {
		return false
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(l.s), 64)
	if err != nil || math.IsNaN(f) {
		return false
	}
	switch n.op {
	case "lt":
		return f < n.v
	case "lte":
		return f <= n.v
	case "gt":
		return f > n.v
	case "gte":
		return f >= n.v
	}
	return f == n.v
}

// timeMatcher extracts a part of a date value and hands it on as a number.
type timeMatcher struct {
	part string
	next matcher
}

func (t timeMatcher) matchLeaf(l leaf) bool {
	if l.kind != leafString {
		return false
	}
	ts, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(l.s))
	if err != nil {
		return false
	}
	ts = ts.UTC()
	var n int
	switch t.part {
	case "minute":
		n = ts.Minute()
	case "hour":
		n = ts.Hour()
	case "day":
		n = ts.Day()
	case "week":
		_, n = ts.ISOWeek()
	case "month":
		n = int(ts.Month())
	case "year":
		n = ts.Year()
	}
	return t.next.matchLeaf(leaf{kind: leafNumber, s: strconv.Itoa(n)})
}

// valueSpec is a rule value on its way through the modifiers.
type valueSpec struct {
	s       string
	literal bool // already bytes (after an encoding): no wildcards in it
}

// windashChars are the characters windash makes interchangeable.
var windashChars = []string{"-", "/", "–", "—", "―"}

// maxWindash caps the permutations one value may expand into.
const maxWindash = 3125

func windash(s string) ([]string, error) {
	out := []string{""}
	for _, r := range s {
		alts := []string{string(r)}
		for _, c := range windashChars {
			if string(r) == c {
				alts = windashChars
				break
			}
		}
		if len(out)*len(alts) > maxWindash {
			return nil, fmt.Errorf("windash expands %q into more than %d values", s, maxWindash)
		}
		next := make([]string, 0, len(out)*len(alts))
		for _, o := range out {
			for _, a := range alts {
				next = append(next, o+a)
			}
		}
		out = next
	}
	return out, nil
}

// base64Offsets returns the three encodings of s shifted by zero, one and
// two bytes, trimmed to the characters that do not depend on what
// surrounds s.
func base64Offsets(s string) []string {
	var out []string
	for i := 0; i < 3; i++ {
		enc := base64.StdEncoding.EncodeToString(append(make([]byte, i), s...))
		start := []int{0, 2, 3}[i]
		end := len(enc) - []int{0, 3, 2}[(len(s)+i)%3]
		enc = strings.TrimRight(enc, "=")
		if end > len(enc) {
			end = len(enc)
		}
		if start < end {
			out = append(out, enc[start:end])
		}
	}
	return out
}

func utf16Bytes(s string, bigEndian, bom bool) string {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 0, 2*len(u)+2)
	if bom {
		b = append(b, 0xFF, 0xFE)
	}
	for _, c := range u {
		if bigEndian {
			b = append(b, byte(c>>8), byte(c))
		} else {
			b = append(b, byte(c), byte(c>>8))
		}
	}
	return string(b)
}

// expandPlaceholders replaces %name% in s with each configured value,
// producing one value per combination. \% is a plain percent sign.
func expandPlaceholders(s string, ph map[string][]string) ([]valueSpec, error) {
	out := []valueSpec{{s: ""}}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' && i+1 < len(s) && s[i+1] == '%' {
			for k := range out {
				out[k].s += "%"
			}
			i++
			continue
		}
		if c == '%' {
			j := strings.IndexByte(s[i+1:], '%')
			if j > 0 {
				name := s[i+1 : i+1+j]
				vals, ok := ph[name]
				if !ok {
					return nil, fmt.Errorf("placeholder %%%s%% has no configured values", name)
				}
				next := make([]valueSpec, 0, len(out)*len(vals))
				for _, o := range out {
					for _, v := range vals {
						next = append(next, valueSpec{s: o.s + v})
					}
				}
				if len(next) > maxWindash {
					return nil, fmt.Errorf("placeholders expand %q into more than %d values", s, maxWindash)
				}
				out = next
				i += j + 1
				continue
			}
		}
		for k := range out {
			out[k].s += string(c)
		}
	}
	return out, nil
}
