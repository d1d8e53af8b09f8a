package query

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	qs "github.com/revertwatch/revertwatch/query/syntax"
)

// scope compiles the search scope (spec §4): metadata globs compared
// case-insensitively, keywords and phrases searched in _raw.
func (c *compiler) scope(s qs.Scope) func(r *record) bool {
	switch s := s.(type) {
	case *qs.ScopeOr:
		l, r := c.scope(s.L), c.scope(s.R)
		return func(rec *record) bool { return l(rec) || r(rec) }
	case *qs.ScopeAnd:
		l, r := c.scope(s.L), c.scope(s.R)
		return func(rec *record) bool { return l(rec) && r(rec) }
	case *qs.ScopeNot:
		x := c.scope(s.X)
		return func(rec *record) bool { return !x(rec) }
	case *qs.ScopeParen:
		return c.scope(s.X)
	case *qs.ScopeField:
		a := c.accessor(&qs.FieldRef{Name: s.Name})
		g := &glob{pat: s.Value, question: true, fold: true}
		if s.Quoted {
			want := c.literal(s.Value)
			return func(rec *record) bool {
				v := rec.get(a)
				return v.kind != KindNull && strings.EqualFold(render(v), want)
			}
		}
		id, match := c.newMemo(), g.match
		return func(rec *record) bool {
			v := rec.get(a)
			return v.kind != KindNull && rec.memoTest(id, render(v), match)
		}
	case *qs.ScopeTerm:
		if !s.Quoted && strings.Trim(s.Text, "*") == "" {
			return func(*record) bool { return true }
		}
		re, err := c.termRegex(s)
		if err != nil {
			if err == errWildcardsReported {
				return func(*record) bool { return false }
			}
			c.errorf(s.Span, "use a shorter term, with fewer wildcards", "search term too large: %s", err)
			return func(*record) bool { return false }
		}
		return func(rec *record) bool { return re.MatchString(rec.raw) }
	}
	return func(*record) bool { return false }
}

// maxTermWildcards bounds the * and ? of the bare terms of one query. Each
// is a Unicode class that the regexp package takes about 0.2 ms to
// compile, so without it a query of a few kilobytes could take seconds.
const maxTermWildcards = 1000

// errWildcardsReported refuses the terms after the one that went over
// maxTermWildcards without saying so again for each.
var errWildcardsReported = errors.New("wildcard limit already reported")

// termRegex builds the matcher for a keyword or phrase. A bare term
// matches whole tokens, its * and ? staying inside one token; a phrase is
// a substring match with any run of whitespace matching any other.
//
// The error never quotes the regex: the user wrote a term, not the regex,
// and each ? of a long term is ten bytes of it.
func (c *compiler) termRegex(s *qs.ScopeTerm) (*regexp.Regexp, error) {
	const word = `[\pL\pN_]`
	if len(s.Text) > maxPatternBytes {
		return nil, fmt.Errorf("%d bytes (the limit is %d)", len(s.Text), maxPatternBytes)
	}
	if !s.Quoted {
		if c.wildcards > maxTermWildcards {
			return nil, errWildcardsReported
		}
		c.wildcards += strings.Count(s.Text, "*") + strings.Count(s.Text, "?")
		if c.wildcards > maxTermWildcards {
			return nil, fmt.Errorf("%d wildcards in the search terms so far (the limit is %d)", c.wildcards, maxTermWildcards)
		}
	}
	var b strings.Builder
	b.WriteString("(?i)")
	if s.Quoted {
		for i, w := range strings.Fields(c.literal(s.Text)) {
			if i > 0 {
				b.WriteString(`\s+`)
			}
			quoteRunes(&b, w)
		}
	} else {
		whole := c.sem.KeywordWholeToken
		if whole {
			b.WriteString(`(?:^|[^\pL\pN_])`)
		}
		for _, r := range s.Text {
			switch r {
			case '*':
				b.WriteString(word + "*")
			case '?':
				b.WriteString(word)
			default:
				b.WriteString(regexp.QuoteMeta(string(r)))
			}
		}
		if whole {
			b.WriteString(`(?:$|[^\pL\pN_])`)
		}
	}
	re, err := compileBounded(b.String())
	if err != nil {
		return nil, errors.New(regexMessage(err, false))
	}
	return re, nil
}

// quoteRunes writes w as a regex literal one rune at a time. An invalid
// UTF-8 byte becomes U+FFFD, which is what the regexp package sees for
// such a byte in _raw; kept as a byte it would make the regex invalid.
func quoteRunes(b *strings.Builder, w string) {
	for _, r := range w {
		b.WriteString(regexp.QuoteMeta(string(r)))
	}
}
