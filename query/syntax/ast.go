package syntax

// Node is any part of a parsed query. Every node knows its byte span, and
// String prints it back as query text that parses to the same tree.
type Node interface {
	Pos() Span
	String() string
}

// Dialect says which language a construct comes from.
type Dialect uint8

// The dialects. Splunk constructs are accepted by the compat dialect only.
const (
	Sumo Dialect = iota
	Splunk
)

// Query is a whole query: a search scope and the pipeline stages after it.
type Query struct {
	Scope  Scope // nil: every message
	Stages []Stage
	Span   Span
}

// Pos returns the span of the whole query.
func (q *Query) Pos() Span { return q.Span }

// ---- scope ----

// Scope is a keyword-search expression (before the first '|').
type Scope interface {
	Node
	scopeNode()
}

// ScopeOr is a OR b.
type ScopeOr struct {
	L, R Scope
}

// ScopeAnd is a AND b, or two terms side by side.
type ScopeAnd struct {
	L, R     Scope
	Explicit bool // written with AND
}

// ScopeNot is NOT x or !x.
type ScopeNot struct {
	X    Scope
	Bang bool // written as !
	Span Span
}

// ScopeParen is (x).
type ScopeParen struct {
	X    Scope
	Span Span
}

// ScopeField is FIELD=value: a glob over a metadata field's whole value,
// or, when Quoted, a literal.
type ScopeField struct {
	Name      string
	Value     string
	Quoted    bool
	NameSpan  Span
	ValueSpan Span
}

// ScopeTerm is a keyword (with optional * wildcards) or a quoted phrase,
// searched in the message text.
type ScopeTerm struct {
	Text   string
	Quoted bool
	Span   Span
}

func (*ScopeOr) scopeNode()    {}
func (*ScopeAnd) scopeNode()   {}
func (*ScopeNot) scopeNode()   {}
func (*ScopeParen) scopeNode() {}
func (*ScopeField) scopeNode() {}
func (*ScopeTerm) scopeNode()  {}

// Pos returns the node's span.
func (n *ScopeOr) Pos() Span { return Span{n.L.Pos().Start, n.R.Pos().End} }

// Pos returns the node's span.
func (n *ScopeAnd) Pos() Span { return Span{n.L.Pos().Start, n.R.Pos().End} }

// Pos returns the node's span.
func (n *ScopeNot) Pos() Span { return n.Span }

// Pos returns the node's span.
func (n *ScopeParen) Pos() Span { return n.Span }

// Pos returns the node's span.
func (n *ScopeField) Pos() Span { return Span{n.NameSpan.Start, n.ValueSpan.End} }

// Pos returns the node's span.
func (n *ScopeTerm) Pos() Span { return n.Span }

// ---- expressions ----

// Expr is a pipeline expression.
type Expr interface {
	Node
	exprNode()
}

// FieldRef names a field: name, dotted.name, %"any text" or %path[0].x.
type FieldRef struct {
	Name string
	Form FieldForm
	Span Span
}

// FieldForm is how a field name was written.
type FieldForm uint8

// The field-name forms.
const (
	BareName   FieldForm = iota // name or dotted.name
	QuotedName                  // %"any text"
	PathName                    // %path[0].x
)

// StringLit is a double-quoted string. Value has \" unescaped and every
// other backslash pair kept as written.
type StringLit struct {
	Value string
	Span  Span
}

// NumberLit is a number as written (Text), with its value; size suffixes
// are applied and time suffixes converted to milliseconds.
type NumberLit struct {
	Text  string
	Value float64
	Span  Span
}

// BoolLit is true or false.
type BoolLit struct {
	Value bool
	Span  Span
}

// RegexLit is /pattern/.
type RegexLit struct {
	Pattern string
	Span    Span
}

// Op is an operator.
type Op uint8

// The operators.
const (
	OpNone Op = iota
	OpOr      // or, ||
	OpAnd     // and, &&
	OpEq      // =, ==
	OpNe      // !=, <>
	OpLt
	OpLe
	OpGt
	OpGe
	OpAdd
	OpSub
	OpMul
	OpDiv
	OpMod
	OpNot // !, not
	OpNeg // unary -
)

// Unary is !x, not x or -x.
type Unary struct {
	Op   Op
	Text string // as written: "!", "not" (any case), "-"
	X    Expr
	Span Span
}

// Binary is l op r for the logical, comparison and arithmetic operators.
type Binary struct {
	Op   Op
	Text string // as written, e.g. "and", "&&", "==", "<>"
	L, R Expr
}

// In is x [not] in (v, ...).
type In struct {
	X    Expr
	Not  bool
	List []Expr
	Span Span
}

// Matches is x [not] matches pattern: a glob (string), a regex (/re/), or a
// field holding a glob.
type Matches struct {
	X       Expr
	Not     bool
	Pattern Expr
}

// Contains is x [not] contains y.
type Contains struct {
	X, Y Expr
	Not  bool
}

// Call is name(args...).
type Call struct {
	Name     string
	NameSpan Span
	Args     []Expr
	Span     Span
}

// Cond is c ? a : b.
type Cond struct {
	C, A, B Expr
}

// Paren is (x), kept so that String reproduces the tree.
type Paren struct {
	X    Expr
	Span Span
}

func (*FieldRef) exprNode()  {}
func (*StringLit) exprNode() {}
func (*NumberLit) exprNode() {}
func (*BoolLit) exprNode()   {}
func (*RegexLit) exprNode()  {}
func (*Unary) exprNode()     {}
func (*Binary) exprNode()    {}
func (*In) exprNode()        {}
func (*Matches) exprNode()   {}
func (*Contains) exprNode()  {}
func (*Call) exprNode()      {}
func (*Cond) exprNode()      {}
func (*Paren) exprNode()     {}

// Pos returns the node's span.
func (n *FieldRef) Pos() Span { return n.Span }

// Pos returns the node's span.
func (n *StringLit) Pos() Span { return n.Span }

// Pos returns the node's span.
func (n *NumberLit) Pos() Span { return n.Span }

// Pos returns the node's span.
func (n *BoolLit) Pos() Span { return n.Span }

// Pos returns the node's span.
func (n *RegexLit) Pos() Span { return n.Span }

// Pos returns the node's span.
func (n *Unary) Pos() Span { return n.Span }

// Pos returns the node's span.
func (n *Binary) Pos() Span { return Span{n.L.Pos().Start, n.R.Pos().End} }

// Pos returns the node's span.
func (n *In) Pos() Span { return n.Span }

// Pos returns the node's span.
func (n *Matches) Pos() Span { return Span{n.X.Pos().Start, n.Pattern.Pos().End} }

// Pos returns the node's span.
func (n *Contains) Pos() Span { return Span{n.X.Pos().Start, n.Y.Pos().End} }

// Pos returns the node's span.
func (n *Call) Pos() Span { return n.Span }

// Pos returns the node's span.
func (n *Cond) Pos() Span { return Span{n.C.Pos().Start, n.B.Pos().End} }

// Pos returns the node's span.
func (n *Paren) Pos() Span { return n.Span }

// ---- stages ----

// Stage is one pipeline stage.
type Stage interface {
	Node
	stageNode()
}

// StageBase carries what every stage has: its span and the keyword that
// began it, as written.
type StageBase struct {
	Span Span
}

// Pos returns the stage's span.
func (b *StageBase) Pos() Span { return b.Span }

func (*StageBase) stageNode() {}

// JSONAuto is json auto [field=f] [maxdepth N] [extractarrays] [keys "k", ... [refonly] [as a, ...]].
type JSONAuto struct {
	StageBase
	Field         *FieldRef
	MaxDepth      *NumberLit
	ExtractArrays bool
	Keys          []*StringLit
	RefOnly       bool
	As            []*FieldRef
}

// JSONPath is json [field=f] "path", ... [as a, ...] [nodrop].
type JSONPath struct {
	StageBase
	Field  *FieldRef
	Paths  []*StringLit
	As     []*FieldRef
	NoDrop bool
}

// ParseStage is parse [field=f] "anchor*pattern" as a, ... [nodrop], or with
// Regex set, parse regex / extract [field=f] "re", ... [nodrop] [multi].
type ParseStage struct {
	StageBase
	Regex    bool
	Extract  bool // written as extract
	Field    *FieldRef
	Patterns []*StringLit
	As       []*FieldRef
	NoDrop   bool
	Multi    bool
}

// Where is where expr.
type Where struct {
	StageBase
	X Expr
}

// AssignStage is expr as field (Sumo), or, with As nil, a bare conversion
// call such as num(x) that writes back into its argument.
type AssignStage struct {
	StageBase
	X  Expr
	As *FieldRef
}

// Eval is the Splunk eval f = e, g = e2 (applied left to right).
type Eval struct {
	StageBase
	Targets []*FieldRef
	Values  []Expr
}

// AggItem is one aggregate of an aggregation stage.
type AggItem struct {
	Func     string // lower-case: count, count_distinct, values, first, last, sum, avg, min, max
	Name     string // as written
	NameSpan Span
	Parens   bool // count() or count(*) rather than bare count
	Star     bool // count(*)
	Arg      Expr // nil for count and count(*)
	As       *FieldRef
	Span     Span
}

// Aggregate is [stats] agg [as a], ... [by|group by|group f, ...], or the
// count f, ... shorthand (Shorthand set, Items empty).
type Aggregate struct {
	StageBase
	Stats     bool // the Splunk stats keyword was written
	Items     []*AggItem
	ByWord    string // "by", "group by" or "group"; empty without a group clause
	By        []*FieldRef
	Shorthand bool
}

// SortKey is [+|-] field [asc|desc].
type SortKey struct {
	Sign  byte // '+', '-' or 0
	Field *FieldRef
	Dir   string // "asc", "desc" or ""
}

// Desc reports whether the key sorts descending; Sumo's default is
// descending.
func (k *SortKey) Desc() bool {
	switch {
	case k.Dir == "asc":
		return false
	case k.Dir == "desc":
		return true
	case k.Sign == '+':
		return false
	}
	return true
}

// Sort is sort|order [by] key, ....
type Sort struct {
	StageBase
	Word string // "sort" or "order"
	By   bool
	Keys []*SortKey
}

// Top is top N f, ... [by f].
type Top struct {
	StageBase
	N      *NumberLit
	Fields []*FieldRef
	By     *FieldRef
}

// Limit is limit N.
type Limit struct {
	StageBase
	N *NumberLit
}

// Fields is fields [+|-] f, ....
type Fields struct {
	StageBase
	Sign  byte // '+', '-' or 0
	Names []*FieldRef
}

// Timeslice is timeslice D [as name] or timeslice N buckets [as name].
type Timeslice struct {
	StageBase
	Width   *NumberLit
	Buckets bool
	As      *FieldRef
}

// LookupCol is one output column of a lookup, optionally renamed.
type LookupCol struct {
	Name *FieldRef
	As   *FieldRef
}

// LookupOn is one join condition field=column.
type LookupOn struct {
	Field  *FieldRef
	Column *FieldRef
}

// Lookup is lookup * | a [as x], ... from SOURCE on f=col [, f=col].
type Lookup struct {
	StageBase
	Star   bool
	Cols   []*LookupCol
	Source string // as written: path://"…", a quoted path, or a bare path
	On     []*LookupOn
}
