package query

import (
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/revertwatch/revertwatch/query/syntax"
)

// evalFn is a planned expression: a closure over one record.
type evalFn func(r *record) Value

// cexpr is a checked, lowered expression: its closure and its canonical
// text (compat syntax, used by --explain).
type cexpr struct {
	fn    evalFn
	text  string
	konst bool
	val   Value
}

func constant(v Value, text string) *cexpr {
	return &cexpr{fn: func(*record) Value { return v }, text: text, konst: true, val: v}
}

// maxExprDepth bounds the lowered tree (long and/or chains included), so
// that evaluation never recurses without limit.
const maxExprDepth = 500

func (c *compiler) expr(e syntax.Expr) *cexpr {
	c.depth++
	defer func() { c.depth-- }()
	if c.depth > maxExprDepth {
		if !c.tooDeep {
			c.tooDeep = true
			c.errorf(e.Pos(), "", "expression nested too deeply (the limit is %d levels)", maxExprDepth)
		}
		return constant(Null, "null")
	}
	switch e := e.(type) {
	case *syntax.FieldRef:
		a := c.accessor(e)
		return &cexpr{fn: func(r *record) Value { return r.get(a) }, text: e.String()}
	case *syntax.StringLit:
		return constant(Str(c.literal(e.Value)), e.String())
	case *syntax.NumberLit:
		return constant(Float(e.Value), e.Text)
	case *syntax.BoolLit:
		return constant(Bool(e.Value), e.String())
	case *syntax.RegexLit:
		c.errorf(e.Span, "use it after matches, or as the pattern of matches(x, /re/)", "a /regex/ literal is not a value")
		return constant(Null, "null")
	case *syntax.Paren:
		x := c.expr(e.X)
		return &cexpr{fn: x.fn, text: "(" + x.text + ")", konst: x.konst, val: x.val}
	case *syntax.Unary:
		return c.unary(e)
	case *syntax.Binary:
		return c.binary(e)
	case *syntax.In:
		return c.in(e)
	case *syntax.Matches:
		return c.matches(e)
	case *syntax.Contains:
		x, y := c.expr(e.X), c.expr(e.Y)
		return negate(&cexpr{fn: containsFn(x.fn, y.fn), text: x.text + " contains " + y.text}, e.Not, x.text+" not contains "+y.text)
	case *syntax.Cond:
		return c.ifExpr(c.expr(e.C), c.expr(e.A), c.expr(e.B))
	case *syntax.Call:
		return c.call(e)
	}
	c.errorf(e.Pos(), "", "unsupported expression")
	return constant(Null, "null")
}

// literal applies the plain-literal escapes (spec §2) when enabled.
func (c *compiler) literal(s string) string {
	if !c.sem.LiteralEscapes || strings.IndexByte(s, '\\') < 0 {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			switch s[i+1] {
			case '\\':
				b.WriteByte('\\')
				i++
				continue
			case 'n':
				b.WriteByte('\n')
				i++
				continue
			case 't':
				b.WriteByte('\t')
				i++
				continue
			case 'r':
				b.WriteByte('\r')
				i++
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func negate(x *cexpr, not bool, text string) *cexpr {
	if !not {
		return x
	}
	f := x.fn
	return &cexpr{text: text, fn: func(r *record) Value { return notValue(f(r)) }}
}

func notValue(v Value) Value {
	b, ok := v.truth()
	if !ok {
		return Null
	}
	return Bool(!b)
}

func (c *compiler) unary(e *syntax.Unary) *cexpr {
	x := c.expr(e.X)
	f := x.fn
	if e.Op == syntax.OpNot {
		return &cexpr{text: "!" + x.text, fn: func(r *record) Value { return notValue(f(r)) }}
	}
	return &cexpr{text: "-" + x.text, fn: func(r *record) Value {
		n, ok := f(r).number()
		if !ok {
			return Null
		}
		if n.isInt && n.int() != math.MinInt64 {
			return Int(-n.int())
		}
		return floatValue(-n.float())
	}}
}

func (c *compiler) binary(e *syntax.Binary) *cexpr {
	l, r := c.expr(e.L), c.expr(e.R)
	lf, rf := l.fn, r.fn
	text := l.text + " " + opText(e.Op) + " " + r.text
	switch e.Op {
	case syntax.OpAnd:
		// Kleene AND: false wins over Null, in either order (cel-go's
		// evalAnd absorbs unknowns the same way).
		return &cexpr{text: text, fn: func(rec *record) Value {
			a, aok := lf(rec).truth()
			if aok && !a {
				return Bool(false)
			}
			b, bok := rf(rec).truth()
			if bok && !b {
				return Bool(false)
			}
			if aok && bok {
				return Bool(true)
			}
			return Null
		}}
	case syntax.OpOr:
		return &cexpr{text: text, fn: func(rec *record) Value {
			a, aok := lf(rec).truth()
			if aok && a {
				return Bool(true)
			}
			b, bok := rf(rec).truth()
			if bok && b {
				return Bool(true)
			}
			if aok && bok {
				return Bool(false)
			}
			return Null
		}}
	case syntax.OpEq, syntax.OpNe, syntax.OpLt, syntax.OpLe, syntax.OpGt, syntax.OpGe:
		test := cmpTest(e.Op)
		if r.konst && r.val.kind == KindString && (e.Op == syntax.OpEq || e.Op == syntax.OpNe) {
			// The common x = "literal": no coercion unless x is a number.
			want, eq := r.val.s, e.Op == syntax.OpEq
			return &cexpr{text: text, fn: func(rec *record) Value {
				a := lf(rec)
				switch a.kind {
				case KindNull:
					return Null
				case KindString:
					return Bool((a.s == want) == eq)
				}
				return Bool(test(coerceCompare(a, Str(want))))
			}}
		}
		return &cexpr{text: text, fn: func(rec *record) Value {
			a := lf(rec)
			if a.kind == KindNull {
				return Null
			}
			b := rf(rec)
			if b.kind == KindNull {
				return Null
			}
			return Bool(test(coerceCompare(a, b)))
		}}
	}
	op := e.Op
	return &cexpr{text: text, fn: func(rec *record) Value {
		a, ok := lf(rec).number()
		if !ok {
			return Null
		}
		b, ok := rf(rec).number()
		if !ok {
			return Null
		}
		return arith(op, a, b)
	}}
}

func opText(op syntax.Op) string {
	return [...]string{syntax.OpOr: "or", syntax.OpAnd: "and", syntax.OpEq: "=", syntax.OpNe: "!=",
		syntax.OpLt: "<", syntax.OpLe: "<=", syntax.OpGt: ">", syntax.OpGe: ">=", syntax.OpAdd: "+",
		syntax.OpSub: "-", syntax.OpMul: "*", syntax.OpDiv: "/", syntax.OpMod: "%"}[op]
}

func cmpTest(op syntax.Op) func(int) bool {
	switch op {
	case syntax.OpEq:
		return func(c int) bool { return c == 0 }
	case syntax.OpNe:
		return func(c int) bool { return c != 0 }
	case syntax.OpLt:
		return func(c int) bool { return c < 0 }
	case syntax.OpLe:
		return func(c int) bool { return c <= 0 }
	case syntax.OpGt:
		return func(c int) bool { return c > 0 }
	}
	return func(c int) bool { return c >= 0 }
}

// arith applies + - * / % to two Numbers: integers while exact, floats
// otherwise; division by zero is Null.
func arith(op syntax.Op, a, b Value) Value {
	if a.isInt && b.isInt {
		x, y := a.int(), b.int()
		switch op {
		case syntax.OpAdd:
			if s := x + y; (s > x) == (y > 0) {
				return Int(s)
			}
		case syntax.OpSub:
			if d := x - y; (d < x) == (y > 0) {
				return Int(d)
			}
		case syntax.OpMul:
			if x == 0 || y == 0 {
				return Int(0)
			}
			if p := x * y; p/y == x && !(x == -1 && y == math.MinInt64) && !(y == -1 && x == math.MinInt64) {
				return Int(p)
			}
		case syntax.OpMod:
			if y == 0 {
				return Null
			}
			if y != -1 {
				return Int(x % y)
			}
			return Int(0)
		}
	}
	x, y := a.float(), b.float()
	var f float64
	switch op {
	case syntax.OpAdd:
		f = x + y
	case syntax.OpSub:
		f = x - y
	case syntax.OpMul:
		f = x * y
	case syntax.OpDiv:
		if y == 0 {
			return Null
		}
		f = x / y
	case syntax.OpMod:
		if y == 0 {
			return Null
		}
		f = math.Mod(x, y)
	}
	return Float(f)
}

func (c *compiler) in(e *syntax.In) *cexpr {
	x := c.expr(e.X)
	items := make([]*cexpr, len(e.List))
	texts := make([]string, len(e.List))
	allStrings := true
	for i, it := range e.List {
		items[i] = c.expr(it)
		texts[i] = items[i].text
		if !items[i].konst || items[i].val.kind != KindString {
			allStrings = false
		}
	}
	xf := x.fn
	text := x.text + " in (" + strings.Join(texts, ", ") + ")"
	var fn evalFn
	if allStrings {
		want := make([]string, len(items))
		for i, it := range items {
			want[i] = it.val.s
		}
		fn = func(r *record) Value {
			v := xf(r)
			switch v.kind {
			case KindNull:
				return Null
			case KindString:
				for _, w := range want {
					if v.s == w {
						return Bool(true)
					}
				}
				return Bool(false)
			}
			for _, w := range want {
				if coerceCompare(v, Str(w)) == 0 {
					return Bool(true)
				}
			}
			return Bool(false)
		}
	} else {
		fns := make([]evalFn, len(items))
		for i, it := range items {
			fns[i] = it.fn
		}
		fn = func(r *record) Value {
			v := xf(r)
			if v.kind == KindNull {
				return Null
			}
			for _, f := range fns {
				if w := f(r); w.kind != KindNull && coerceCompare(v, w) == 0 {
					return Bool(true)
				}
			}
			return Bool(false)
		}
	}
	return negate(&cexpr{fn: fn, text: text}, e.Not, x.text+" not in ("+strings.Join(texts, ", ")+")")
}

// render returns the text of a non-Null value without allocating for
// strings.
func render(v Value) string {
	if v.kind == KindString {
		return v.s
	}
	return v.String()
}

func (c *compiler) matches(e *syntax.Matches) *cexpr {
	x := c.expr(e.X)
	xf := x.fn
	not := ""
	if e.Not {
		not = " not"
	}
	var out *cexpr
	switch p := e.Pattern.(type) {
	case *syntax.StringLit:
		g := &glob{pat: p.Value}
		out = &cexpr{text: x.text + " matches " + p.String(), fn: func(r *record) Value {
			v := xf(r)
			if v.kind == KindNull {
				return Null
			}
			return Bool(g.match(render(v)))
		}}
	case *syntax.RegexLit:
		re, err := compileRegex(p.Pattern, c.sem.RegexMatchAnchored)
		if err != nil {
			c.regexError(p.Span, err)
			return constant(Null, "null")
		}
		out = &cexpr{text: x.text + " matches " + p.String(), fn: func(r *record) Value {
			v := xf(r)
			if v.kind == KindNull {
				return Null
			}
			return Bool(re.MatchString(render(v)))
		}}
	default:
		pat := c.expr(p)
		pf := pat.fn
		out = &cexpr{text: x.text + " matches " + pat.text, fn: func(r *record) Value {
			v, pv := xf(r), pf(r)
			if v.kind == KindNull || pv.kind == KindNull {
				return Null
			}
			g := glob{pat: render(pv)}
			return Bool(g.match(render(v)))
		}}
	}
	if e.Not {
		return negate(out, true, strings.Replace(out.text, " matches ", not+" matches ", 1))
	}
	return out
}

func (c *compiler) regexError(sp syntax.Span, err error) {
	c.errorf(sp, "RE2 syntax; lookarounds and backreferences are not supported", "invalid regular expression: %s", regexMessage(err, true))
}

func containsFn(xf, yf evalFn) evalFn {
	return func(r *record) Value {
		a, b := xf(r), yf(r)
		if a.kind == KindNull || b.kind == KindNull {
			return Null
		}
		s, t := render(a), render(b)
		if s == "" || t == "" {
			return Bool(s == t)
		}
		return Bool(strings.Contains(s, t))
	}
}

func (c *compiler) ifExpr(cond, a, b *cexpr) *cexpr {
	cf, af, bf := cond.fn, a.fn, b.fn
	return &cexpr{text: "if(" + cond.text + ", " + a.text + ", " + b.text + ")", fn: func(r *record) Value {
		if t, ok := cf(r).truth(); ok && t {
			return af(r)
		}
		return bf(r)
	}}
}

// function is one entry of the function registry.
type function struct {
	name       string // canonical spelling
	min, max   int    // arity; max -1 is variadic
	conversion bool   // a bare call writes back into its field argument
	splunk     bool   // a Splunk spelling (rejected by the sumo dialect)
	build      func(c *compiler, call *syntax.Call, args []*cexpr) evalFn
}

// functions is the registry: every function the engine knows, checked
// here once for name and arity.
var functions []*function

func init() {
	functions = []*function{
		{name: "matches", min: 2, max: 2, splunk: true},
		{name: "match", min: 2, max: 2, splunk: true},
		{name: "if", min: 3, max: 3},
		{name: "isNull", min: 1, max: 1, build: unaryFn(func(v Value) Value { return Bool(v.kind == KindNull) })},
		{name: "isEmpty", min: 1, max: 1, build: unaryFn(func(v Value) Value {
			return Bool(v.kind == KindNull || v.kind == KindString && v.s == "")
		})},
		{name: "isBlank", min: 1, max: 1, build: unaryFn(func(v Value) Value {
			return Bool(v.kind == KindNull || v.kind == KindString && strings.TrimFunc(v.s, unicode.IsSpace) == "")
		})},
		{name: "toLowerCase", min: 1, max: 1, conversion: true, build: caseFn(strings.ToLower)},
		{name: "toUpperCase", min: 1, max: 1, conversion: true, build: caseFn(strings.ToUpper)},
		{name: "num", min: 1, max: 1, conversion: true, build: unaryFn(toNumber)},
		{name: "number", min: 1, max: 1, conversion: true, build: unaryFn(toNumber)},
		{name: "toLong", min: 1, max: 1, conversion: true, build: unaryFn(func(v Value) Value {
			n, ok := v.number()
			if !ok {
				return Null
			}
			if n.isInt {
				return n
			}
			if math.IsNaN(n.float()) || math.IsInf(n.float(), 0) {
				return Null
			}
			return Int(int64(n.float()))
		})},
		{name: "toString", min: 1, max: 1, conversion: true, build: unaryFn(func(v Value) Value {
			if v.kind == KindNull || v.kind == KindString {
				return v
			}
			return Str(v.String())
		})},
		{name: "concat", min: 1, max: -1, build: buildConcat},
		{name: "length", min: 1, max: 1, build: unaryFn(func(v Value) Value {
			if v.kind == KindNull {
				return Null
			}
			return Int(int64(utf8.RuneCountInString(render(v))))
		})},
		{name: "substring", min: 2, max: 3, build: buildSubstring},
		{name: "contains", min: 2, max: 2, build: func(_ *compiler, _ *syntax.Call, a []*cexpr) evalFn { return containsFn(a[0].fn, a[1].fn) }},
	}
}

func lookupFunction(name string) *function {
	for _, f := range functions {
		if strings.EqualFold(f.name, name) {
			return f
		}
	}
	return nil
}

func functionNames() []string {
	names := make([]string, len(functions))
	for i, f := range functions {
		names[i] = f.name
	}
	return names
}

func unaryFn(f func(Value) Value) func(*compiler, *syntax.Call, []*cexpr) evalFn {
	return func(_ *compiler, _ *syntax.Call, args []*cexpr) evalFn {
		x := args[0].fn
		return func(r *record) Value { return f(x(r)) }
	}
}

func toNumber(v Value) Value {
	n, ok := v.number()
	if !ok {
		return Null
	}
	return n
}

func caseFn(conv func(string) string) func(*compiler, *syntax.Call, []*cexpr) evalFn {
	return func(c *compiler, _ *syntax.Call, args []*cexpr) evalFn {
		x := args[0].fn
		render := c.sem.CaseConvertNonStrings
		return func(r *record) Value {
			v := x(r)
			switch {
			case v.kind == KindString:
				return Str(conv(v.s))
			case v.kind == KindNull || !render:
				return Null
			}
			return Str(conv(v.String()))
		}
	}
}

func buildConcat(c *compiler, _ *syntax.Call, args []*cexpr) evalFn {
	fns := make([]evalFn, len(args))
	for i, a := range args {
		fns[i] = a.fn
	}
	nullEmpty := c.sem.ConcatNullAsEmpty
	return func(r *record) Value {
		var b strings.Builder
		for _, f := range fns {
			v := f(r)
			if v.kind == KindNull {
				if !nullEmpty {
					return Null
				}
				continue
			}
			b.WriteString(render(v))
		}
		return Str(b.String())
	}
}

func buildSubstring(_ *compiler, _ *syntax.Call, args []*cexpr) evalFn {
	x, s := args[0].fn, args[1].fn
	var e evalFn
	if len(args) == 3 {
		e = args[2].fn
	}
	return func(r *record) Value {
		v := x(r)
		if v.kind == KindNull {
			return Null
		}
		runes := []rune(render(v))
		sv, ok := s(r).number()
		if !ok {
			return Null
		}
		start := clampIndex(sv, len(runes))
		end := len(runes)
		if e != nil {
			ev, ok := e(r).number()
			if !ok {
				return Null
			}
			end = clampIndex(ev, len(runes))
		}
		if end < start {
			return Str("")
		}
		return Str(string(runes[start:end]))
	}
}

func clampIndex(n Value, size int) int {
	f := n.float()
	switch {
	case f < 0:
		return 0
	case f > float64(size):
		return size
	}
	return int(f)
}

func (c *compiler) call(e *syntax.Call) *cexpr {
	f := lookupFunction(e.Name)
	if f == nil {
		if syntax.IsAggregate(e.Name) {
			c.errorf(e.NameSpan, "compute it in an aggregation stage, e.g. | "+strings.ToLower(e.Name)+"(x) as n by key",
				"%s is an aggregate function, not allowed in an expression", e.Name)
		} else {
			help := ""
			if s := syntax.DidYouMean(e.Name, functionNames()); s != "" {
				help = "did you mean " + s + "?"
			}
			c.errorf(e.NameSpan, help, "unknown function %s", syntax.Clip(e.Name, maxQuoted))
		}
		for _, a := range e.Args {
			if _, re := a.(*syntax.RegexLit); !re {
				c.expr(a)
			}
		}
		return constant(Null, "null")
	}
	if n := len(e.Args); n < f.min || f.max >= 0 && n > f.max {
		want := strconv.Itoa(f.min)
		switch {
		case f.max < 0:
			want = "at least " + want
		case f.max != f.min:
			want += " or " + strconv.Itoa(f.max)
		}
		c.errorf(e.Span, "", "%s takes %s argument(s), got %d", f.name, want, n)
		return constant(Null, "null")
	}
	if f.splunk && c.opts.Dialect == Strict {
		x := "x"
		if len(e.Args) > 0 {
			x = e.Args[0].String()
		}
		c.errorf(e.NameSpan, "Sumo writes "+x+" matches /regex/; its matches is infix and anchored, so add .* for a search: "+x+" matches /.*(…).*/",
			"%s(x, re) is Splunk's match(), not Sumo", e.Name)
	}
	switch strings.ToLower(f.name) {
	case "matches", "match":
		return c.regexSearch(e)
	case "if":
		return c.ifExpr(c.expr(e.Args[0]), c.expr(e.Args[1]), c.expr(e.Args[2]))
	}
	args := make([]*cexpr, len(e.Args))
	texts := make([]string, len(e.Args))
	for i, a := range e.Args {
		args[i] = c.expr(a)
		texts[i] = args[i].text
	}
	return &cexpr{fn: f.build(c, e, args), text: f.name + "(" + strings.Join(texts, ", ") + ")"}
}

// regexSearch lowers matches(x, re) / match(x, re): an unanchored RE2
// search, unlike infix matches (spec §6.1, §10).
func (c *compiler) regexSearch(e *syntax.Call) *cexpr {
	x := c.expr(e.Args[0])
	var pat string
	var sp syntax.Span
	switch p := e.Args[1].(type) {
	case *syntax.StringLit:
		pat, sp = p.Value, p.Span
	case *syntax.RegexLit:
		pat, sp = p.Pattern, p.Span
	default:
		c.errorf(e.Args[1].Pos(), `write the pattern as "…" or /…/`, "the pattern of %s must be a constant", e.Name)
		return constant(Null, "null")
	}
	s, err := newSearcher(pat)
	if err != nil {
		c.regexError(sp, err)
		return constant(Null, "null")
	}
	xf := x.fn
	id, search := c.newMemo(), s.search
	return &cexpr{text: "matches(" + x.text + ", " + syntax.Quote(pat) + ")", fn: func(r *record) Value {
		v := xf(r)
		if v.kind == KindNull {
			return Null
		}
		return Bool(r.memoTest(id, render(v), search))
	}}
}
