package query

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode"
	"unicode/utf8"
	"unsafe"

	"github.com/revertwatch/revertwatch/internal/jsonx"
	qs "github.com/revertwatch/revertwatch/query/syntax"
)

// Limits on patterns, so that an enormous alternation is refused at
// compile time instead of eating memory or time per record.
const (
	maxPatternBytes = 64 << 10
	maxRegexInsts   = 50000
)

// glob is a compiled wildcard pattern matched against a whole value.
// Infix matches uses only '*' as a wildcard and compares case-sensitively;
// the search scope also takes '?' and ignores case.
type glob struct {
	pat      string
	question bool // '?' matches one character
	fold     bool // ignore case
}

// match reports whether s matches the whole pattern. It backtracks only to
// the most recent '*', so it runs in O(len(s)·len(pat)) at worst.
func (g *glob) match(s string) bool {
	if jsonx.IsASCII(s) && jsonx.IsASCII(g.pat) {
		return g.matchASCII(s)
	}
	p := g.pat
	pi, si := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		if pi < len(p) {
			switch {
			case p[pi] == '*':
				star, mark = pi, si
				pi++
				continue
			case g.question && p[pi] == '?':
				_, n := utf8.DecodeRuneInString(s[si:])
				pi++
				si += n
				continue
			default:
				pr, pn := utf8.DecodeRuneInString(p[pi:])
				sr, sn := utf8.DecodeRuneInString(s[si:])
				if pr == sr || g.fold && foldEqual(pr, sr) {
					pi += pn
					si += sn
					continue
				}
			}
		}
		if star < 0 {
			return false
		}
		_, n := utf8.DecodeRuneInString(s[mark:])
		mark += n
		pi, si = star+1, mark
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

func foldEqual(a, b rune) bool {
	if a < utf8.RuneSelf && b < utf8.RuneSelf {
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		return a == b
	}
	return unicode.ToLower(a) == unicode.ToLower(b) || unicode.ToUpper(a) == unicode.ToUpper(b)
}

// searcher is a compiled regex used for an unanchored search. Patterns that
// are only an alternation of literals, optionally under (?i), skip the
// regex engine: the seed's patterns all have that shape, and they run on
// every record.
type searcher struct {
	re   *regexp.Regexp
	lits []string // lower-cased when fold; nil when the regex must run
	fold bool
}

// compileRegex compiles pat as RE2 with Perl syntax. anchored wraps it to
// match the whole value.
func compileRegex(pat string, anchored bool) (*regexp.Regexp, error) {
	if len(pat) > maxPatternBytes {
		return nil, fmt.Errorf("regular expression too long (%d bytes; the limit is %d)", len(pat), maxPatternBytes)
	}
	full := pat
	if anchored {
		// A syntax error should quote what the user wrote, not the wrapper.
		if _, err := syntax.Parse(pat, syntax.Perl); err != nil {
			return nil, err
		}
		full = `\A(?:` + pat + `)\z`
	}
	return compileBounded(full)
}

// compileBounded is the one way a regex built from user input is compiled:
// regexp.MustCompile would turn a hostile query into a panic, and the
// instruction limit keeps an accepted regex cheap to run on every record.
func compileBounded(full string) (*regexp.Regexp, error) {
	tree, err := syntax.Parse(full, syntax.Perl)
	if err != nil {
		return nil, err
	}
	prog, err := syntax.Compile(tree.Simplify())
	if err != nil {
		return nil, err
	}
	if len(prog.Inst) > maxRegexInsts {
		return nil, fmt.Errorf("regular expression too large (%d instructions; the limit is %d)", len(prog.Inst), maxRegexInsts)
	}
	return regexp.Compile(full)
}

// maxQuoted bounds the user text an error message quotes, a regex or a
// name: the regexp package quotes the whole expression and a name may be
// as long as the query, either burying the diagnostic under kilobytes.
const maxQuoted = 40

// regexMessage is err without the regexp package's prefix and with the
// quoted expression cut to maxQuoted runes; quote false leaves the
// expression out, for regexes the user did not write.
func regexMessage(err error, quote bool) string {
	var se *syntax.Error
	if !errors.As(err, &se) {
		return err.Error()
	}
	if !quote || se.Expr == "" {
		return se.Code.String()
	}
	return se.Code.String() + ": `" + qs.Clip(se.Expr, maxQuoted) + "`"
}

func newSearcher(pat string) (*searcher, error) {
	re, err := compileRegex(pat, false)
	if err != nil {
		return nil, err
	}
	s := &searcher{re: re}
	s.lits, s.fold = literalAlternation(pat)
	return s, nil
}

// literalAlternation recognises [(?i)] lit|lit|… with an optional single
// group around the alternation, where every literal is ASCII without
// regex metacharacters.
func literalAlternation(pat string) ([]string, bool) {
	fold := false
	if strings.HasPrefix(pat, "(?i)") {
		fold = true
		pat = pat[4:]
	}
	if strings.HasPrefix(pat, "(?:") && strings.HasSuffix(pat, ")") {
		pat = pat[3 : len(pat)-1]
	} else if strings.HasPrefix(pat, "(") && strings.HasSuffix(pat, ")") && !strings.HasPrefix(pat, "(?") {
		pat = pat[1 : len(pat)-1]
	}
	for i := 0; i < len(pat); i++ {
		c := pat[i]
		if c >= utf8.RuneSelf || strings.IndexByte(`\.+*?()|[]{}^$`, c) >= 0 && c != '|' {
			return nil, false
		}
	}
	lits := strings.Split(pat, "|")
	if fold {
		for i, l := range lits {
			lits[i] = strings.ToLower(l)
		}
	}
	return lits, fold
}

// search reports whether the pattern occurs anywhere in s.
func (m *searcher) search(s string) bool {
	if m.lits == nil {
		return m.re.MatchString(s)
	}
	if !m.fold {
		for _, l := range m.lits {
			if strings.Contains(s, l) {
				return true
			}
		}
		return false
	}
	var buf [256]byte
	var low []byte
	if len(s) <= len(buf) {
		low = buf[:len(s)]
	} else {
		low = make([]byte, len(s))
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			// Unicode case folding (K and the Kelvin sign, s and ſ)
			// needs the real engine.
			return m.re.MatchString(s)
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		low[i] = c
	}
	if len(low) == 0 {
		return containsEmpty(m.lits)
	}
	ls := unsafe.String(&low[0], len(low)) // read-only view; Contains does not keep it
	for _, l := range m.lits {
		if strings.Contains(ls, l) {
			return true
		}
	}
	return false
}

func containsEmpty(lits []string) bool {
	for _, l := range lits {
		if l == "" {
			return true
		}
	}
	return false
}

// matchASCII is match for ASCII text, byte by byte.
func (g *glob) matchASCII(s string) bool {
	p := g.pat
	pi, si := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		if pi < len(p) {
			pc, sc := p[pi], s[si]
			switch {
			case pc == '*':
				star, mark = pi, si
				pi++
				continue
			case g.question && pc == '?':
				pi++
				si++
				continue
			case pc == sc || g.fold && jsonx.LowerASCII(pc) == jsonx.LowerASCII(sc):
				pi++
				si++
				continue
			}
		}
		if star < 0 {
			return false
		}
		mark++
		pi, si = star+1, mark
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}
