package query

import (
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
		return func(rec *record) bool {
			v := rec.get(a)
			return v.kind != KindNull && g.match(render(v))
		}
	case *qs.ScopeTerm:
		if !s.Quoted && strings.Trim(s.Text, "*") == "" {
			return func(*record) bool { return true }
		}
		re := c.termRegex(s)
		return func(rec *record) bool { return re.MatchString(rec.raw) }
	}
	return func(*record) bool { return false }
}

// termRegex builds the matcher for a keyword or phrase. A bare term
// matches whole tokens, its * and ? staying inside one token; a phrase is
// a substring match with any run of whitespace matching any other.
func (c *compiler) termRegex(s *qs.ScopeTerm) *regexp.Regexp {
	const word = `[\pL\pN_]`
	var b strings.Builder
	b.WriteString("(?i)")
	if s.Quoted {
		for i, w := range strings.Fields(c.literal(s.Text)) {
			if i > 0 {
				b.WriteString(`\s+`)
			}
			b.WriteString(regexp.QuoteMeta(w))
		}
		return regexp.MustCompile(b.String())
	}
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
	return regexp.MustCompile(b.String())
}
