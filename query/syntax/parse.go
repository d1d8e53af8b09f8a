package syntax

import (
	"strconv"
	"strings"

	"github.com/revertwatch/revertwatch/internal/suggest"
)

// Limits that keep a hostile query from exhausting the stack, memory or
// time. They are far above what a person writes.
const (
	MaxQueryBytes = 1 << 20 // query text
	MaxStages     = 1000    // pipeline stages
	MaxDepth      = 200     // nesting of parentheses, calls and unary operators
	MaxListItems  = 10000   // items of an in (...) list or call arguments
	MaxErrors     = 50      // diagnostics collected before giving up
)

// Parse reads a query. On failure the error is an *Errors holding every
// problem found; the returned query is then partial.
func Parse(src string) (*Query, error) {
	errs := &Errors{Src: src}
	if len(src) > MaxQueryBytes {
		errs.Add(Span{0, 0}, "query too long: "+strconv.Itoa(len(src))+" bytes (the limit is "+strconv.Itoa(MaxQueryBytes)+")", "")
		return &Query{}, errs.Err()
	}
	p := &parser{lx: newLexer(src), src: src, errs: errs}
	q := p.parseQuery()
	return q, errs.Err()
}

// bailout unwinds the parser to the stage being parsed after an error.
type bailout struct{ fatal bool }

type parser struct {
	lx    *lexer
	src   string
	tok   Token
	has   bool
	errs  *Errors
	depth int
}

func (p *parser) peek() Token {
	if !p.has {
		p.tok = p.lx.Next()
		p.has = true
	}
	return p.tok
}

func (p *parser) next() Token {
	t := p.peek()
	p.has = false
	return t
}

// allowRegex makes the next token a /regex/ literal if it starts with '/'.
// The lookahead must be empty.
func (p *parser) allowRegex() {
	if !p.has {
		p.lx.regexOK = true
	}
}

func (p *parser) fail(sp Span, msg, help string) {
	p.errs.Add(sp, msg, help)
	panic(bailout{fatal: len(p.errs.List) >= MaxErrors})
}

func (p *parser) fatal(sp Span, msg, help string) {
	p.errs.Add(sp, msg, help)
	panic(bailout{fatal: true})
}

// unexpected reports the token t where something else was needed.
func (p *parser) unexpected(t Token, want string) {
	if t.Kind == Illegal {
		p.fail(t.Span, t.Text, t.Help)
	}
	p.fail(t.Span, "expected "+want+", found "+describe(t), "")
}

// maxQuoted bounds the token text an error quotes; the caret already
// shows where the token is.
const maxQuoted = 40

func describe(t Token) string {
	switch t.Kind {
	case Ident, Number, Term:
		return strconv.Quote(Clip(t.Text, maxQuoted))
	case String:
		return "string " + Quote(Clip(t.Text, maxQuoted))
	case EOF:
		return "end of query"
	}
	return t.Kind.String()
}

func isKw(t Token, kw string) bool {
	return (t.Kind == Ident || t.Kind == Term) && strings.EqualFold(t.Text, kw)
}

func (p *parser) accept(kw string) (Token, bool) {
	if t := p.peek(); isKw(t, kw) {
		return p.next(), true
	}
	return Token{}, false
}

func (p *parser) expectKw(kw string) Token {
	t := p.peek()
	if !isKw(t, kw) {
		p.unexpected(t, strconv.Quote(kw))
	}
	return p.next()
}

func (p *parser) expect(k TokenKind) Token {
	t := p.peek()
	if t.Kind != k {
		p.unexpected(t, k.String())
	}
	return p.next()
}

func (p *parser) enter(sp Span) {
	p.depth++
	if p.depth > MaxDepth {
		p.fatal(sp, "query nested too deeply (the limit is "+strconv.Itoa(MaxDepth)+" levels)", "split the expression into several stages")
	}
}

func (p *parser) leave() { p.depth-- }

func (p *parser) parseQuery() *Query {
	q := &Query{Span: Span{0, len(p.src)}}
	if t := p.peek(); t.Kind == Term && isStageWord(t.Text) {
		// "count by f" is a search for three words, which finds no
		// rows: almost surely a first stage without its '|'.
		c := *p.lx
		if n := c.Next(); n.Kind != EOF && n.Kind != Pipe && !isKw(n, "or") && !isKw(n, "and") {
			p.errs.Add(t.Span, t.Text+" is an operator: a stage starts with '|'",
				"write | "+strings.TrimSpace(p.src[t.Span.Start:])+` (or quote "`+t.Text+`" to search for the word)`)
			return q
		}
	}
	if !p.guard(func() { q.Scope = p.parseScope() }) {
		return q
	}
	for {
		t := p.peek()
		if t.Kind == EOF {
			return q
		}
		if t.Kind != Pipe {
			if !p.guard(func() { p.unexpected(t, "'|' before the next stage") }) {
				return q
			}
			continue
		}
		pipe := p.next()
		if len(q.Stages) >= MaxStages {
			p.errs.Add(pipe.Span, "too many stages (the limit is "+strconv.Itoa(MaxStages)+")", "")
			return q
		}
		var st Stage
		ok := p.guard(func() {
			st = p.parseStage()
			if t := p.peek(); t.Kind != Pipe && t.Kind != EOF {
				p.unexpected(t, "'|' or the end of the query")
			}
		})
		if st != nil {
			q.Stages = append(q.Stages, st)
		}
		if !ok {
			return q
		}
	}
}

// guard runs f and recovers a bailout: after an error it skips to the next
// '|' so that later stages are still checked. It reports false when parsing
// must stop.
func (p *parser) guard(f func()) (ok bool) {
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		b, isBail := r.(bailout)
		if !isBail {
			panic(r)
		}
		p.depth = 0
		if b.fatal {
			ok = false
			return
		}
		for {
			t := p.peek()
			if t.Kind == EOF || t.Kind == Pipe {
				break
			}
			p.next()
		}
		ok = true
	}()
	f()
	return true
}

// ---- scope ----

func (p *parser) parseScope() Scope {
	t := p.peek()
	if t.Kind == EOF || t.Kind == Pipe {
		return nil
	}
	return p.scopeOr()
}

func (p *parser) scopeOr() Scope {
	l := p.scopeAnd()
	for {
		if _, ok := p.accept("or"); !ok {
			return l
		}
		l = &ScopeOr{L: l, R: p.scopeAnd()}
	}
}

func startsScopeAtom(t Token) bool {
	switch t.Kind {
	case Term:
		return !isKw(t, "or") && !isKw(t, "and")
	case String, LParen, Bang:
		return true
	}
	return false
}

func (p *parser) scopeAnd() Scope {
	l := p.scopeNot()
	for {
		if _, ok := p.accept("and"); ok {
			l = &ScopeAnd{L: l, R: p.scopeNot(), Explicit: true}
			continue
		}
		if !startsScopeAtom(p.peek()) {
			return l
		}
		l = &ScopeAnd{L: l, R: p.scopeNot()}
	}
}

func (p *parser) scopeNot() Scope {
	t := p.peek()
	switch {
	case t.Kind == Bang || isKw(t, "not"):
		p.next()
		p.enter(t.Span)
		x := p.scopeNot()
		p.leave()
		return &ScopeNot{X: x, Bang: t.Kind == Bang, Span: Span{t.Span.Start, x.Pos().End}}
	case t.Kind == LParen:
		p.next()
		p.enter(t.Span)
		x := p.scopeOr()
		p.leave()
		r := p.expect(RParen)
		return &ScopeParen{X: x, Span: Span{t.Span.Start, r.Span.End}}
	case t.Kind == String:
		p.next()
		return &ScopeTerm{Text: t.Text, Quoted: true, Span: t.Span}
	case t.Kind == Term && !isKw(t, "and") && !isKw(t, "or"):
		p.next()
		if p.peek().Kind == Assign {
			p.next()
			v := p.next()
			switch v.Kind {
			case Term:
				return &ScopeField{Name: t.Text, Value: v.Text, NameSpan: t.Span, ValueSpan: v.Span}
			case String:
				return &ScopeField{Name: t.Text, Value: v.Text, Quoted: true, NameSpan: t.Span, ValueSpan: v.Span}
			}
			p.unexpected(v, "a value after '='")
		}
		return &ScopeTerm{Text: t.Text, Span: t.Span}
	}
	p.unexpected(t, "a search term")
	return nil
}

// ---- stages ----

// aggFuncs are the aggregate functions, which also begin an aggregation
// stage.
var aggFuncs = []string{"count", "count_distinct", "values", "first", "last", "sum", "avg", "min", "max"}

// stageWords are the words that begin a stage.
var stageWords = append([]string{"json", "parse", "extract", "where", "eval", "stats", "sort", "order", "top", "limit",
	"fields", "timeslice", "lookup"}, aggFuncs...)

// isStageWord reports whether name (any case) begins a stage.
func isStageWord(name string) bool {
	for _, w := range stageWords {
		if strings.EqualFold(w, name) {
			return true
		}
	}
	return false
}

// IsAggregate reports whether name (any case) is an aggregate function.
func IsAggregate(name string) bool {
	for _, a := range aggFuncs {
		if strings.EqualFold(a, name) {
			return true
		}
	}
	return false
}

func (p *parser) parseStage() Stage {
	t := p.peek()
	if t.Kind == Illegal {
		p.unexpected(t, "a stage")
	}
	if t.Kind == EOF || t.Kind == Pipe {
		p.fail(t.Span, "empty stage", "remove the extra '|'")
	}
	start := t.Span.Start
	var st Stage
	kw := ""
	if t.Kind == Ident {
		kw = strings.ToLower(t.Text)
	}
	switch {
	case kw == "json":
		st = p.parseJSON()
	case kw == "parse" || kw == "extract":
		st = p.parseParse()
	case kw == "where":
		p.next()
		st = &Where{X: p.parseExpr()}
	case kw == "eval":
		st = p.parseEval()
	case kw == "stats" || IsAggregate(kw):
		st = p.parseAggregate()
	case kw == "sort" || kw == "order":
		st = p.parseSort()
	case kw == "top":
		st = p.parseTop()
	case kw == "limit":
		p.next()
		st = &Limit{N: p.parseNumber()}
	case kw == "fields":
		st = p.parseFields()
	case kw == "timeslice":
		st = p.parseTimeslice()
	case kw == "lookup":
		st = p.parseLookup()
	default:
		if t.Kind == Ident {
			// An operator spelled wrong ("cuont by f", "feilds a")
			// would otherwise read as an expression without its as.
			c := *p.lx
			n := c.Next()
			word := n.Kind == Ident && !isKw(n, "as") && !isKw(n, "or") && !isKw(n, "and") && !isKw(n, "in") &&
				!isKw(n, "not") && !isKw(n, "matches") && !isKw(n, "contains") && !isKw(n, "like")
			if s := DidYouMean(t.Text, stageWords); s != "" && len(t.Text) > 2 && (word || n.Kind == EOF || n.Kind == Pipe) {
				p.fail(t.Span, "unknown operator "+t.Text+"; did you mean "+s+"?", "")
			} else if n.Kind == Ident && (isKw(n, "by") || isKw(n, "group")) {
				p.fail(t.Span, "unknown operator "+t.Text, "the operators are "+strings.Join(stageWords, ", "))
			}
		}
		x := p.parseExpr()
		a := &AssignStage{X: x}
		if _, ok := p.accept("as"); ok {
			a.As = p.parseFieldRef()
		}
		st = a
	}
	end := p.lastEnd()
	switch s := st.(type) {
	case *JSONAuto:
		s.Span = Span{start, end}
	case *JSONPath:
		s.Span = Span{start, end}
	case *ParseStage:
		s.Span = Span{start, end}
	case *Where:
		s.Span = Span{start, end}
	case *AssignStage:
		s.Span = Span{start, end}
	case *Eval:
		s.Span = Span{start, end}
	case *Aggregate:
		s.Span = Span{start, end}
	case *Sort:
		s.Span = Span{start, end}
	case *Top:
		s.Span = Span{start, end}
	case *Limit:
		s.Span = Span{start, end}
	case *Fields:
		s.Span = Span{start, end}
	case *Timeslice:
		s.Span = Span{start, end}
	case *Lookup:
		s.Span = Span{start, end}
	}
	return st
}

// lastEnd is the end of the last consumed token: the start of the
// lookahead, less the whitespace before it.
func (p *parser) lastEnd() int {
	t := p.peek()
	e := t.Span.Start
	for e > 0 && strings.IndexByte(" \t\r\n", p.src[e-1]) >= 0 {
		e--
	}
	return e
}

func (p *parser) parseFieldRef() *FieldRef {
	t := p.peek()
	switch t.Kind {
	case Ident:
		p.next()
		return &FieldRef{Name: t.Text, Span: t.Span}
	case Field:
		p.next()
		form := PathName
		if strings.HasPrefix(p.src[t.Span.Start:], `%"`) {
			form = QuotedName
		}
		return &FieldRef{Name: t.Text, Form: form, Span: t.Span}
	}
	p.unexpected(t, "a field name")
	return nil
}

func (p *parser) parseFieldList() []*FieldRef {
	list := []*FieldRef{p.parseFieldRef()}
	for p.peek().Kind == Comma {
		p.next()
		if len(list) >= MaxListItems {
			p.fail(p.peek().Span, "too many fields in a list", "")
		}
		list = append(list, p.parseFieldRef())
	}
	return list
}

func (p *parser) parseString() *StringLit {
	t := p.expect(String)
	return &StringLit{Value: t.Text, Span: t.Span}
}

func (p *parser) parseStringList() []*StringLit {
	list := []*StringLit{p.parseString()}
	for p.peek().Kind == Comma {
		p.next()
		if len(list) >= MaxListItems {
			p.fail(p.peek().Span, "too many strings in a list", "")
		}
		list = append(list, p.parseString())
	}
	return list
}

func (p *parser) parseNumber() *NumberLit {
	t := p.peek()
	if t.Kind != Number {
		p.unexpected(t, "a number")
	}
	p.next()
	v, err := NumberValue(t.Text)
	if err != nil {
		p.fail(t.Span, "malformed number "+t.Text, "")
	}
	return &NumberLit{Text: t.Text, Value: v, Span: t.Span}
}

// fieldOption reads field=f if the lookahead is the keyword field.
func (p *parser) fieldOption(cur **FieldRef) bool {
	t, ok := p.accept("field")
	if !ok {
		return false
	}
	if *cur != nil {
		p.fail(t.Span, "field= given twice", "")
	}
	p.expect(Assign)
	*cur = p.parseFieldRef()
	return true
}

func (p *parser) parseJSON() Stage {
	p.next() // json
	var field *FieldRef
	for p.fieldOption(&field) {
	}
	if _, ok := p.accept("auto"); ok {
		s := &JSONAuto{Field: field}
		for {
			if p.fieldOption(&s.Field) {
				continue
			}
			if _, ok := p.accept("maxdepth"); ok {
				s.MaxDepth = p.parseNumber()
				continue
			}
			if _, ok := p.accept("extractarrays"); ok {
				s.ExtractArrays = true
				continue
			}
			if _, ok := p.accept("keys"); ok {
				s.Keys = p.parseStringList()
				if _, ok := p.accept("refonly"); ok {
					s.RefOnly = true
				}
				if _, ok := p.accept("as"); ok {
					s.As = p.parseFieldList()
				}
				continue
			}
			return s
		}
	}
	s := &JSONPath{Field: field}
	if p.peek().Kind != String {
		p.unexpected(p.peek(), `"auto" or a quoted JSON path`)
	}
	s.Paths = p.parseStringList()
	if _, ok := p.accept("as"); ok {
		s.As = p.parseFieldList()
	}
	if _, ok := p.accept("nodrop"); ok {
		s.NoDrop = true
	}
	return s
}

func (p *parser) parseParse() Stage {
	t := p.next()
	s := &ParseStage{}
	if strings.EqualFold(t.Text, "extract") {
		s.Regex, s.Extract = true, true
	} else if _, ok := p.accept("regex"); ok {
		s.Regex = true
	}
	p.fieldOption(&s.Field)
	if s.Regex {
		s.Patterns = p.parseStringList()
	} else {
		s.Patterns = []*StringLit{p.parseString()}
		p.expectKw("as")
		s.As = p.parseFieldList()
	}
	for {
		if t, ok := p.accept("nodrop"); ok {
			if s.NoDrop {
				p.fail(t.Span, "nodrop given twice", "")
			}
			s.NoDrop = true
			continue
		}
		if t, ok := p.accept("multi"); ok {
			if !s.Regex {
				p.fail(t.Span, "multi applies to parse regex only", "")
			}
			s.Multi = true
			continue
		}
		if p.fieldOption(&s.Field) {
			continue
		}
		return s
	}
}

func (p *parser) parseEval() Stage {
	p.next() // eval
	s := &Eval{}
	for {
		f := p.parseFieldRef()
		if t := p.peek(); t.Kind != Assign {
			p.unexpected(t, "'=' after the eval target")
		}
		p.next()
		s.Targets = append(s.Targets, f)
		s.Values = append(s.Values, p.parseExpr())
		if p.peek().Kind != Comma {
			return s
		}
		p.next()
	}
}

func isGroupWord(t Token) bool { return isKw(t, "by") || isKw(t, "group") }

func (p *parser) parseAggregate() Stage {
	s := &Aggregate{}
	if _, ok := p.accept("stats"); ok {
		s.Stats = true
	}
	// The count x, y shorthand: bare count followed by a field name.
	if t := p.peek(); isKw(t, "count") {
		p.next()
		n := p.peek()
		if (n.Kind == Ident && !isKw(n, "as") && !isGroupWord(n)) || n.Kind == Field {
			s.Shorthand = true
			s.By = p.parseFieldList()
			return s
		}
		s.Items = append(s.Items, p.finishAggItem(t))
	} else {
		s.Items = append(s.Items, p.parseAggItem())
	}
	for p.peek().Kind == Comma {
		p.next()
		s.Items = append(s.Items, p.parseAggItem())
	}
	if t := p.peek(); isGroupWord(t) {
		p.next()
		s.ByWord = strings.ToLower(t.Text)
		if s.ByWord == "group" {
			if _, ok := p.accept("by"); ok {
				s.ByWord = "group by"
			}
		}
		s.By = p.parseFieldList()
	}
	return s
}

func (p *parser) parseAggItem() *AggItem {
	t := p.peek()
	if t.Kind != Ident || !IsAggregate(t.Text) {
		help := ""
		if t.Kind == Ident {
			if s := DidYouMean(t.Text, aggFuncs); s != "" {
				help = "did you mean " + s + "?"
			}
		}
		if help == "" {
			help = "the aggregates are " + strings.Join(aggFuncs, ", ")
		}
		p.fail(t.Span, "expected an aggregate function, found "+describe(t), help)
	}
	p.next()
	return p.finishAggItem(t)
}

func (p *parser) finishAggItem(name Token) *AggItem {
	it := &AggItem{Func: strings.ToLower(name.Text), Name: name.Text, NameSpan: name.Span}
	if p.peek().Kind == LParen {
		p.next()
		it.Parens = true
		switch p.peek().Kind {
		case Star:
			p.next()
			it.Star = true
		case RParen:
		default:
			p.enter(name.Span)
			it.Arg = p.parseExpr()
			p.leave()
		}
		p.expect(RParen)
	} else if it.Func != "count" {
		p.fail(name.Span, it.Func+" needs an argument", "write "+it.Func+"(field)")
	}
	if _, ok := p.accept("as"); ok {
		it.As = p.parseFieldRef()
	}
	it.Span = Span{name.Span.Start, p.lastEnd()}
	return it
}

func (p *parser) parseSort() Stage {
	t := p.next()
	s := &Sort{Word: strings.ToLower(t.Text)}
	if _, ok := p.accept("by"); ok {
		s.By = true
	}
	for {
		k := &SortKey{}
		switch p.peek().Kind {
		case Plus:
			p.next()
			k.Sign = '+'
		case Minus:
			p.next()
			k.Sign = '-'
		}
		k.Field = p.parseFieldRef()
		if _, ok := p.accept("asc"); ok {
			k.Dir = "asc"
		} else if _, ok := p.accept("desc"); ok {
			k.Dir = "desc"
		}
		s.Keys = append(s.Keys, k)
		if p.peek().Kind != Comma {
			return s
		}
		p.next()
	}
}

func (p *parser) parseTop() Stage {
	p.next()
	s := &Top{N: p.parseNumber()}
	s.Fields = p.parseFieldList()
	if _, ok := p.accept("by"); ok {
		s.By = p.parseFieldRef()
	}
	return s
}

func (p *parser) parseFields() Stage {
	p.next()
	s := &Fields{}
	switch p.peek().Kind {
	case Plus:
		p.next()
		s.Sign = '+'
	case Minus:
		p.next()
		s.Sign = '-'
	}
	s.Names = p.parseFieldList()
	return s
}

func (p *parser) parseTimeslice() Stage {
	p.next()
	s := &Timeslice{Width: p.parseNumber()}
	if _, ok := p.accept("buckets"); ok {
		s.Buckets = true
	}
	if _, ok := p.accept("as"); ok {
		s.As = p.parseFieldRef()
	}
	return s
}

func (p *parser) parseLookup() Stage {
	p.next()
	s := &Lookup{}
	if p.peek().Kind == Star {
		p.next()
		s.Star = true
	} else {
		for {
			c := &LookupCol{Name: p.parseFieldRef()}
			if _, ok := p.accept("as"); ok {
				c.As = p.parseFieldRef()
			}
			s.Cols = append(s.Cols, c)
			if p.peek().Kind != Comma {
				break
			}
			p.next()
		}
	}
	p.expectKw("from")
	s.Source = p.scanSource()
	p.expectKw("on")
	for {
		o := &LookupOn{Field: p.parseFieldRef()}
		p.expect(Assign)
		o.Column = p.parseFieldRef()
		s.On = append(s.On, o)
		if p.peek().Kind == Comma {
			p.next()
			continue
		}
		if _, ok := p.accept("and"); ok {
			continue
		}
		return s
	}
}

// scanSource reads a lookup source as written: a quoted path, or a run of
// non-space characters that may hold a quoted part (path://"…"). It reads
// the text directly, because '//' would otherwise start a comment.
func (p *parser) scanSource() string {
	if p.has {
		// The lookahead was already scanned; only a string can be reused.
		t := p.next()
		if t.Kind == String {
			return Quote(t.Text)
		}
		p.unexpected(t, "a lookup source")
	}
	l := p.lx
	if !l.skipSpace() {
		p.fail(Span{l.start, l.pos}, "unterminated /* comment", "")
	}
	start := l.pos
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '|' {
			break
		}
		if c == '"' {
			l.pos++
			for l.pos < len(l.src) && l.src[l.pos] != '"' {
				if l.src[l.pos] == '\\' {
					l.pos++
				}
				l.pos++
			}
			if l.pos >= len(l.src) {
				p.fail(Span{start, l.pos}, "unterminated string in the lookup source", "")
			}
		}
		l.pos++
	}
	l.start = l.pos
	if l.pos == start {
		p.fail(Span{start, start + 1}, "expected a lookup source after from", `write from path://"table.csv"`)
	}
	return l.src[start:l.pos]
}

// ---- expressions ----

const (
	precOr  = 1
	precAnd = 2
	precCmp = 3
	precAdd = 4
	precMul = 5
)

// binaryOp is the precedence table: the operator a token stands for in
// infix position, and how tightly it binds.
func binaryOp(t Token) (Op, int) {
	switch t.Kind {
	case OrOr:
		return OpOr, precOr
	case AndAnd:
		return OpAnd, precAnd
	case Assign, EqEq:
		return OpEq, precCmp
	case NotEq:
		return OpNe, precCmp
	case Less:
		return OpLt, precCmp
	case LessEq:
		return OpLe, precCmp
	case Greater:
		return OpGt, precCmp
	case GreaterEq:
		return OpGe, precCmp
	case Plus:
		return OpAdd, precAdd
	case Minus:
		return OpSub, precAdd
	case Star:
		return OpMul, precMul
	case Slash:
		return OpDiv, precMul
	case Percent:
		return OpMod, precMul
	case Ident:
		switch strings.ToLower(t.Text) {
		case "or":
			return OpOr, precOr
		case "and":
			return OpAnd, precAnd
		case "in", "not", "matches", "contains":
			return OpNone, precCmp
		}
	}
	return OpNone, 0
}

func (p *parser) parseExpr() Expr {
	t := p.peek()
	p.enter(t.Span)
	defer p.leave()
	c := p.parseBinary(precOr)
	if p.peek().Kind != Question {
		return c
	}
	p.next()
	a := p.parseExpr()
	p.expect(Colon)
	b := p.parseExpr()
	return &Cond{C: c, A: a, B: b}
}

func (p *parser) parseBinary(min int) Expr {
	l := p.parseUnary()
	compared := false
	for {
		t := p.peek()
		op, prec := binaryOp(t)
		if prec == 0 || prec < min {
			return l
		}
		if prec == precCmp {
			if compared {
				p.fail(t.Span, "comparisons do not chain", "combine them with and")
			}
			l = p.parseComparison(l)
			compared = true
			continue
		}
		p.next()
		r := p.parseBinary(prec + 1)
		l = &Binary{Op: op, Text: t.Text, L: l, R: r}
	}
}

func (p *parser) parseComparison(l Expr) Expr {
	t := p.next()
	if op, _ := binaryOp(t); op != OpNone {
		return &Binary{Op: op, Text: t.Text, L: l, R: p.parseBinary(precAdd)}
	}
	negated := false
	if isKw(t, "not") {
		negated = true
		t = p.next()
	}
	switch {
	case isKw(t, "in"):
		lp := p.expect(LParen)
		in := &In{X: l, Not: negated}
		if p.peek().Kind != RParen {
			in.List = p.parseExprList()
		}
		r := p.expect(RParen)
		_ = lp
		in.Span = Span{l.Pos().Start, r.Span.End}
		return in
	case isKw(t, "matches"):
		p.allowRegex()
		return &Matches{X: l, Not: negated, Pattern: p.parsePattern()}
	case isKw(t, "contains"):
		return &Contains{X: l, Not: negated, Y: p.parseBinary(precAdd)}
	}
	p.unexpected(t, `"in", "matches" or "contains" after "not"`)
	return nil
}

func (p *parser) parsePattern() Expr {
	t := p.peek()
	switch t.Kind {
	case String:
		p.next()
		return &StringLit{Value: t.Text, Span: t.Span}
	case Regex:
		p.next()
		return &RegexLit{Pattern: t.Text, Span: t.Span}
	case Ident, Field:
		return p.parseFieldRef()
	}
	p.unexpected(t, `a pattern ("glob*", /regex/ or a field)`)
	return nil
}

func (p *parser) parseExprList() []Expr {
	list := []Expr{p.parseExpr()}
	for p.peek().Kind == Comma {
		p.next()
		if len(list) >= MaxListItems {
			p.fatal(p.peek().Span, "list too long (the limit is "+strconv.Itoa(MaxListItems)+" items)", "")
		}
		list = append(list, p.parseExpr())
	}
	return list
}

func (p *parser) parseUnary() Expr {
	t := p.peek()
	var op Op
	switch {
	case t.Kind == Bang:
		op = OpNot
	case t.Kind == Minus:
		op = OpNeg
	case isKw(t, "not"):
		op = OpNot
	default:
		return p.parsePrimary()
	}
	p.next()
	p.enter(t.Span)
	x := p.parseUnary()
	p.leave()
	return &Unary{Op: op, Text: t.Text, X: x, Span: Span{t.Span.Start, x.Pos().End}}
}

func (p *parser) parsePrimary() Expr {
	t := p.peek()
	switch t.Kind {
	case Number:
		return p.parseNumber()
	case String:
		p.next()
		return &StringLit{Value: t.Text, Span: t.Span}
	case Field:
		return p.parseFieldRef()
	case LParen:
		p.next()
		p.enter(t.Span)
		x := p.parseExpr()
		p.leave()
		r := p.expect(RParen)
		return &Paren{X: x, Span: Span{t.Span.Start, r.Span.End}}
	case Ident:
		p.next()
		if isKw(t, "true") || isKw(t, "false") {
			return &BoolLit{Value: isKw(t, "true"), Span: t.Span}
		}
		if p.peek().Kind != LParen {
			return &FieldRef{Name: t.Text, Span: t.Span}
		}
		return p.parseCall(t)
	}
	p.unexpected(t, "an expression")
	return nil
}

func (p *parser) parseCall(name Token) Expr {
	p.next() // (
	p.enter(name.Span)
	defer p.leave()
	c := &Call{Name: name.Text, NameSpan: name.Span}
	regexArg := strings.EqualFold(name.Text, "matches") || strings.EqualFold(name.Text, "match")
	if p.peek().Kind != RParen {
		for {
			if len(c.Args) >= MaxListItems {
				p.fatal(p.peek().Span, "too many arguments", "")
			}
			if regexArg && len(c.Args) == 1 {
				p.allowRegex()
				if t := p.peek(); t.Kind == Regex {
					p.next()
					c.Args = append(c.Args, &RegexLit{Pattern: t.Text, Span: t.Span})
				} else {
					c.Args = append(c.Args, p.parseExpr())
				}
			} else {
				c.Args = append(c.Args, p.parseExpr())
			}
			if p.peek().Kind != Comma {
				break
			}
			p.next()
		}
	}
	r := p.expect(RParen)
	c.Span = Span{name.Span.Start, r.Span.End}
	return c
}

// NumberValue converts number text with an optional size or time suffix
// to its value; time suffixes give milliseconds.
func NumberValue(text string) (float64, error) {
	mult := 1.0
	for _, s := range numberSuffixes {
		if strings.HasSuffix(text, s) && len(text) > len(s) {
			head := text[:len(text)-len(s)]
			if c := head[len(head)-1]; c < '0' || c > '9' {
				continue
			}
			mult = suffixValue[s]
			text = head
			break
		}
	}
	v, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return 0, err
	}
	return v * mult, nil
}

var suffixValue = map[string]float64{
	"k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "B": 1e9, "T": 1e12, "P": 1e15,
	"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40, "Pi": 1 << 50,
	"ns": 1e-6, "us": 1e-3, "ms": 1, "s": 1e3, "m": 60e3, "h": 3600e3, "d": 86400e3, "w": 7 * 86400e3,
}

// IsDuration reports whether number text ends in a time unit.
func IsDuration(text string) bool {
	for _, s := range []string{"ns", "us", "ms", "s", "m", "h", "d", "w"} {
		if strings.HasSuffix(text, s) {
			return true
		}
	}
	return false
}

// DidYouMean returns the candidate closest to name (case-insensitive edit
// distance at most 2), or "".
func DidYouMean(name string, candidates []string) string { return suggest.Closest(name, candidates) }
