package tune

import (
	"errors"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/revertwatch/revertwatch/event"
)

// Glob is a compiled shell-style pattern, matched case-insensitively
// against the whole value: * matches any run of characters (slashes and
// colons included, so one * spans an ARN segment or an ARM path), ? one
// character, [abc], [a-z] and [!abc] one character of a set, and \ makes
// the next character literal.
type Glob struct {
	src     string
	literal string         // lower-cased pattern when it has no wildcard
	re      *regexp.Regexp // otherwise
	// stars, when the pattern's only wildcard is *, are its literal
	// parts, lower-cased and ASCII, split at the stars (a leading or
	// trailing "" when it starts or ends with one): matched without the
	// regexp for ASCII values, the benign actors' common case.
	stars []string
}

var errMatchAll = errors.New("matches every value; remove the attribute instead")

// CompileGlob compiles a pattern. It refuses an empty pattern, a pattern
// made only of * (it would match everything) and malformed sets or escapes.
func CompileGlob(pattern string) (*Glob, error) {
	if pattern == "" {
		return nil, errors.New("empty pattern")
	}
	if strings.Trim(pattern, "*") == "" {
		return nil, errMatchAll
	}
	if !utf8.ValidString(pattern) {
		return nil, errors.New("pattern is not valid UTF-8")
	}
	var re strings.Builder
	re.WriteString(`(?is)\A`)
	wild := false
	var lit strings.Builder
	for i := 0; i < len(pattern); {
		r, size := utf8.DecodeRuneInString(pattern[i:])
		switch r {
		case '*':
			wild = true
			re.WriteString(`.*`)
			i += size
		case '?':
			wild = true
			re.WriteString(`.`)
			i += size
		case '\\':
			if i+size >= len(pattern) {
				return nil, errors.New(`trailing \ escapes nothing`)
			}
			r2, size2 := utf8.DecodeRuneInString(pattern[i+size:])
			re.WriteString(regexp.QuoteMeta(string(r2)))
			lit.WriteRune(r2)
			i += size + size2
		case '[':
			class, n, err := globClass(pattern[i:])
			if err != nil {
				return nil, err
			}
			wild = true
			re.WriteString(class)
			i += n
		default:
			re.WriteString(regexp.QuoteMeta(string(r)))
			lit.WriteRune(r)
			i += size
		}
	}
	re.WriteString(`\z`)
	g := &Glob{src: pattern}
	if !wild {
		g.literal = strings.ToLower(lit.String())
		return g, nil
	}
	compiled, err := regexp.Compile(re.String())
	if err != nil {
		// globClass validates sets, so this is unreachable; report it
		// rather than trust that.
		return nil, err
	}
	g.re = compiled
	g.stars = starParts(pattern)
	return g, nil
}

// starParts splits a pattern whose only wildcard is * at its stars, or
// returns nil when it has another wildcard, an escape or a byte that is
// not ASCII.
func starParts(pattern string) []string {
	for i := 0; i < len(pattern); i++ {
		switch c := pattern[i]; {
		case c == '?' || c == '[' || c == '\\' || c >= utf8.RuneSelf:
			return nil
		}
	}
	return strings.Split(strings.ToLower(pattern), "*")
}

// matchStars matches an ASCII value against star parts: the first part
// is a prefix, the last a suffix, and those between are found in order,
// leftmost first (which is enough: any later match leaves less room).
func matchStars(parts []string, s string) bool {
	first, last := parts[0], parts[len(parts)-1]
	if len(s) < len(first)+len(last) || !hasPrefixFold(s, first) || !hasPrefixFold(s[len(s)-len(last):], last) {
		return false
	}
	s = s[len(first) : len(s)-len(last)]
	for _, p := range parts[1 : len(parts)-1] {
		i := indexFold(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return true
}

// hasPrefixFold reports whether the ASCII s starts with the lower-case
// ASCII prefix p, ignoring the case of s.
func hasPrefixFold(s, p string) bool {
	return len(s) >= len(p) && event.LowerIs(s[:len(p)], p)
}

// indexFold is the index of the lower-case ASCII p in the ASCII s,
// ignoring the case of s, or -1. Only where s holds p's first byte, in
// either case, is the rest compared.
func indexFold(s, p string) int {
	if p == "" {
		return 0
	}
	first, mask := p[0], byte(0)
	if 'a' <= first && first <= 'z' {
		// Of all bytes only first and its upper case are first with
		// this bit set.
		mask = 'a' - 'A'
	}
	for i := 0; i+len(p) <= len(s); i++ {
		if s[i]|mask == first && event.LowerIs(s[i+1:i+len(p)], p[1:]) {
			return i
		}
	}
	return -1
}

// isASCII reports whether s is all ASCII: Unicode case folding (the
// Kelvin sign folds to k) then cannot make a match the bytes do not.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// globClass translates the set at the start of s into a regexp class and
// reports how many bytes of s it used.
func globClass(s string) (string, int, error) {
	var b strings.Builder
	b.WriteByte('[')
	i := 1
	if i < len(s) && (s[i] == '!' || s[i] == '^') {
		b.WriteByte('^')
		i++
	}
	members := 0
	var prev rune = -1
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == ']' && members > 0 {
			b.WriteByte(']')
			return b.String(), i + 1, nil
		}
		if r == '\\' {
			if i+size >= len(s) {
				return "", 0, errors.New(`trailing \ escapes nothing`)
			}
			i += size
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		if r == '-' && prev >= 0 && i+size < len(s) && s[i+size] != ']' {
			hi, hsize := utf8.DecodeRuneInString(s[i+size:])
			if hi == '\\' {
				return "", 0, errors.New(`escaped range end in a set is not supported`)
			}
			if hi < prev {
				return "", 0, errors.New("range " + string(prev) + "-" + string(hi) + " is backwards")
			}
			b.WriteByte('-')
			b.WriteString(regexp.QuoteMeta(string(hi)))
			i += size + hsize
			prev = -1
			members++
			continue
		}
		b.WriteString(classEscape(r))
		prev = r
		members++
		i += size
	}
	return "", 0, errors.New("unterminated [ set")
}

func classEscape(r rune) string {
	switch r {
	case '\\', ']', '[', '^', '-':
		return `\` + string(r)
	}
	return string(r)
}

// Match reports whether s matches the whole pattern, ignoring case.
func (g *Glob) Match(s string) bool {
	if g.re == nil {
		return strings.EqualFold(s, g.literal)
	}
	if g.stars != nil && isASCII(s) {
		return matchStars(g.stars, s)
	}
	return g.re.MatchString(s)
}

// String returns the pattern as written.
func (g *Glob) String() string { return g.src }

// globs is an any-of list of patterns.
type globs []*Glob

func (gs globs) match(s string) bool {
	if s == "" {
		return false
	}
	for _, g := range gs {
		if g.Match(s) {
			return true
		}
	}
	return false
}

func (gs globs) strings() []string {
	out := make([]string, len(gs))
	for i, g := range gs {
		out[i] = g.src
	}
	return out
}
