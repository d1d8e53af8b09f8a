package sigma

import (
	"fmt"
	"path"
	"strconv"
	"strings"
)

// condOp is a node kind of a parsed condition.
type condOp uint8

const (
	condIdent condOp = iota + 1 // a search identifier
	condAnd
	condOr
	condNot
	condOf // N of / all of a pattern or them
)

// cond is a node of a condition expression. Pos is the byte offset of the
// node in the condition text, for messages.
type cond struct {
	op    condOp
	name  string  // condIdent; condOf: the pattern, or "them"
	n     int     // condOf: how many must hold; 0 means all
	kids  []*cond // condAnd, condOr, condNot
	pos   int
	names []string // condOf: the identifiers the pattern selects
}

// String prints the condition back in Sigma syntax.
func (c *cond) String() string {
	switch c.op {
	case condIdent:
		return c.name
	case condNot:
		return "not " + c.kids[0].wrap()
	case condAnd, condOr:
		sep := " and "
		if c.op == condOr {
			sep = " or "
		}
		parts := make([]string, len(c.kids))
		for i, k := range c.kids {
			parts[i] = k.wrap()
		}
		return strings.Join(parts, sep)
	case condOf:
		q := "all"
		if c.n > 0 {
			q = strconv.Itoa(c.n)
		}
		return q + " of " + c.name
	}
	return "?"
}

func (c *cond) wrap() string {
	if c.op == condAnd || c.op == condOr {
		return "(" + c.String() + ")"
	}
	return c.String()
}

// condError is a condition problem at a byte offset.
type condError struct {
	pos       int
	msg       string
	construct string // set when the condition uses something unsupported
}

func (e *condError) Error() string { return e.msg }

type condTok struct {
	kind string // word, (, ), |, eof
	text string
	pos  int
}

func lexCondition(s string) []condTok {
	var toks []condTok
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(' || c == ')' || c == '|':
			toks = append(toks, condTok{kind: string(c), text: string(c), pos: i})
			i++
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\r\n()|", rune(s[j])) {
				j++
			}
			toks = append(toks, condTok{kind: "word", text: s[i:j], pos: i})
			i = j
		}
	}
	return append(toks, condTok{kind: "eof", pos: len(s)})
}

type condParser struct {
	toks []condTok
	i    int
	ids  []string // the detection's search identifiers, sorted
}

// parseCondition parses one condition string against the detection's
// search identifiers. Precedence, loosest first: or, and, not, x of,
// parentheses.
func parseCondition(s string, ids []string) (*cond, error) {
	p := &condParser{toks: lexCondition(s), ids: ids}
	for _, t := range p.toks {
		if t.kind == "|" {
			return nil, &condError{pos: t.pos, msg: "the pipe aggregation syntax (| count() ...) is Sigma 1.0; use a correlation rule",
				construct: "condition aggregation '|'"}
		}
		if t.kind == "word" && strings.EqualFold(t.text, "near") {
			return nil, &condError{pos: t.pos, msg: "the near operator is not part of Sigma 2; use a temporal correlation rule",
				construct: "condition operator 'near'"}
		}
	}
	c, err := p.or()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != "eof" {
		return nil, &condError{pos: t.pos, msg: fmt.Sprintf("unexpected %q", t.text)}
	}
	return c, nil
}

func (p *condParser) peek() condTok { return p.toks[p.i] }
func (p *condParser) next() condTok {
	t := p.toks[p.i]
	if t.kind != "eof" {
		p.i++
	}
	return t
}

func (p *condParser) isWord(w string) bool {
	t := p.peek()
	return t.kind == "word" && strings.EqualFold(t.text, w)
}

func (p *condParser) or() (*cond, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.isWord("or") {
		t := p.next()
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		if l.op == condOr {
			l.kids = append(l.kids, r)
		} else {
			l = &cond{op: condOr, kids: []*cond{l, r}, pos: t.pos}
		}
	}
	return l, nil
}

func (p *condParser) and() (*cond, error) {
	l, err := p.not()
	if err != nil {
		return nil, err
	}
	for p.isWord("and") {
		t := p.next()
		r, err := p.not()
		if err != nil {
			return nil, err
		}
		if l.op == condAnd {
			l.kids = append(l.kids, r)
		} else {
			l = &cond{op: condAnd, kids: []*cond{l, r}, pos: t.pos}
		}
	}
	return l, nil
}

func (p *condParser) not() (*cond, error) {
	if p.isWord("not") {
		t := p.next()
		k, err := p.not()
		if err != nil {
			return nil, err
		}
		return &cond{op: condNot, kids: []*cond{k}, pos: t.pos}, nil
	}
	return p.primary()
}

func (p *condParser) primary() (*cond, error) {
	t := p.next()
	switch t.kind {
	case "(":
		c, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.peek().kind != ")" {
			return nil, &condError{pos: p.peek().pos, msg: "missing )"}
		}
		p.next()
		return c, nil
	case "eof":
		return nil, &condError{pos: t.pos, msg: "condition ends where an identifier was expected"}
	case ")":
		return nil, &condError{pos: t.pos, msg: "unexpected )"}
	}
	low := strings.ToLower(t.text)
	if low == "and" || low == "or" || low == "of" || low == "them" {
		return nil, &condError{pos: t.pos, msg: fmt.Sprintf("unexpected %q", t.text)}
	}
	if p.isWord("of") {
		n := 0
		if low != "all" {
			v, err := strconv.Atoi(t.text)
			if err != nil || v < 1 {
				return nil, &condError{pos: t.pos, msg: fmt.Sprintf("%q of: want 1 or all", t.text)}
			}
			n = v
		}
		p.next()
		target := p.next()
		if target.kind != "word" {
			return nil, &condError{pos: target.pos, msg: "x of needs a search identifier pattern or them"}
		}
		c := &cond{op: condOf, n: n, name: target.text, pos: t.pos}
		if strings.EqualFold(target.text, "them") {
			c.name = "them"
			for _, id := range p.ids {
				if !strings.HasPrefix(id, "_") {
					c.names = append(c.names, id)
				}
			}
		} else {
			for _, id := range p.ids {
				if ok, _ := path.Match(target.text, id); ok {
					c.names = append(c.names, id)
				}
			}
		}
		if len(c.names) == 0 {
			return nil, &condError{pos: target.pos, msg: fmt.Sprintf("%q selects no search identifier", target.text)}
		}
		return c, nil
	}
	if strings.ContainsAny(t.text, "*?[") {
		return nil, &condError{pos: t.pos, msg: fmt.Sprintf("wildcard %q outside x of", t.text)}
	}
	found := false
	for _, id := range p.ids {
		if id == t.text {
			found = true
		}
	}
	if !found {
		return nil, &condError{pos: t.pos, msg: fmt.Sprintf("unknown search identifier %q", t.text)}
	}
	return &cond{op: condIdent, name: t.text, pos: t.pos}, nil
}

// eval evaluates the condition; search reports whether an identifier
// matches (and may memoise).
func (c *cond) eval(search func(string) bool) bool {
	switch c.op {
	case condIdent:
		return search(c.name)
	case condNot:
		return !c.kids[0].eval(search)
	case condAnd:
		for _, k := range c.kids {
			if !k.eval(search) {
				return false
			}
		}
		return true
	case condOr:
		for _, k := range c.kids {
			if k.eval(search) {
				return true
			}
		}
		return false
	case condOf:
		hits := 0
		for _, n := range c.names {
			if search(n) {
				hits++
				if c.n > 0 && hits >= c.n {
					return true
				}
			} else if c.n == 0 {
				return false
			}
		}
		return c.n == 0
	}
	return false
}

// idents lists the identifiers the condition uses.
func (c *cond) idents(out map[string]bool) {
	switch c.op {
	case condIdent:
		out[c.name] = true
	case condOf:
		for _, n := range c.names {
			out[n] = true
		}
	}
	for _, k := range c.kids {
		k.idents(out)
	}
}
