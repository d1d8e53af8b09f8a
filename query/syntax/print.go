package syntax

import "strings"

// Quote writes s as a double-quoted string literal that the lexer reads
// back as s. Backslash pairs are kept as they are; a bare quote is escaped.
func Quote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s) && s[i+1] != '"':
			b.WriteByte('\\')
			b.WriteByte(s[i+1])
			i++
		case c == '\\':
			// A lone backslash (at the end, or before a quote) must not
			// escape what follows: double it.
			b.WriteString(`\\`)
		case c == '"':
			b.WriteString(`\"`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func join[T Node](xs []T, sep string) string {
	var b strings.Builder
	for i, x := range xs {
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteString(x.String())
	}
	return b.String()
}

// String prints the query with one stage per line.
func (q *Query) String() string {
	var b strings.Builder
	if q.Scope != nil {
		b.WriteString(q.Scope.String())
	}
	for i, s := range q.Stages {
		if i > 0 || q.Scope != nil {
			b.WriteByte('\n')
		}
		b.WriteString("| ")
		b.WriteString(s.String())
	}
	return b.String()
}

// String prints the node as query text that parses back to it.
func (n *ScopeOr) String() string { return n.L.String() + " OR " + n.R.String() }

// String prints the node as query text that parses back to it.
func (n *ScopeAnd) String() string {
	if n.Explicit {
		return n.L.String() + " AND " + n.R.String()
	}
	return n.L.String() + " " + n.R.String()
}

// String prints the node as query text that parses back to it.
func (n *ScopeNot) String() string {
	if n.Bang {
		return "!" + n.X.String()
	}
	return "NOT " + n.X.String()
}

// String prints the node as query text that parses back to it.
func (n *ScopeParen) String() string { return "(" + n.X.String() + ")" }

// String prints the node as query text that parses back to it.
func (n *ScopeField) String() string {
	if n.Quoted {
		return n.Name + "=" + Quote(n.Value)
	}
	return n.Name + "=" + n.Value
}

// String prints the node as query text that parses back to it.
func (n *ScopeTerm) String() string {
	if n.Quoted {
		return Quote(n.Text)
	}
	return n.Text
}

// String prints the node as query text that parses back to it.
func (n *FieldRef) String() string {
	switch n.Form {
	case QuotedName:
		return "%" + Quote(n.Name)
	case PathName:
		return "%" + n.Name
	}
	return n.Name
}

// String prints the node as query text that parses back to it.
func (n *StringLit) String() string { return Quote(n.Value) }

// String prints the node as query text that parses back to it.
func (n *NumberLit) String() string { return n.Text }

// String prints the node as query text that parses back to it.
func (n *BoolLit) String() string {
	if n.Value {
		return "true"
	}
	return "false"
}

// String prints the node as query text that parses back to it.
func (n *RegexLit) String() string { return "/" + n.Pattern + "/" }

// String prints the node as query text that parses back to it.
func (n *Unary) String() string {
	if n.Op == OpNot && n.Text != "!" {
		return n.Text + " " + n.X.String()
	}
	return n.Text + n.X.String()
}

// String prints the node as query text that parses back to it.
func (n *Binary) String() string { return n.L.String() + " " + n.Text + " " + n.R.String() }

func not(b bool) string {
	if b {
		return " not"
	}
	return ""
}

// String prints the node as query text that parses back to it.
func (n *In) String() string {
	return n.X.String() + not(n.Not) + " in (" + join(n.List, ", ") + ")"
}

// String prints the node as query text that parses back to it.
func (n *Matches) String() string {
	return n.X.String() + not(n.Not) + " matches " + n.Pattern.String()
}

// String prints the node as query text that parses back to it.
func (n *Contains) String() string {
	return n.X.String() + not(n.Not) + " contains " + n.Y.String()
}

// String prints the node as query text that parses back to it.
func (n *Call) String() string { return n.Name + "(" + join(n.Args, ", ") + ")" }

// String prints the node as query text that parses back to it.
func (n *Cond) String() string {
	return n.C.String() + " ? " + n.A.String() + " : " + n.B.String()
}

// String prints the node as query text that parses back to it.
func (n *Paren) String() string { return "(" + n.X.String() + ")" }

func asList(as []*FieldRef) string {
	if len(as) == 0 {
		return ""
	}
	return " as " + join(as, ", ")
}

func fieldOpt(f *FieldRef) string {
	if f == nil {
		return ""
	}
	return " field=" + f.String()
}

// String prints the node as query text that parses back to it.
func (n *JSONAuto) String() string {
	s := "json auto" + fieldOpt(n.Field)
	if n.MaxDepth != nil {
		s += " maxdepth " + n.MaxDepth.String()
	}
	if n.ExtractArrays {
		s += " extractarrays"
	}
	if len(n.Keys) > 0 {
		s += " keys " + join(n.Keys, ", ")
		if n.RefOnly {
			s += " refonly"
		}
		s += asList(n.As)
	}
	return s
}

// String prints the node as query text that parses back to it.
func (n *JSONPath) String() string {
	s := "json" + fieldOpt(n.Field) + " " + join(n.Paths, ", ") + asList(n.As)
	if n.NoDrop {
		s += " nodrop"
	}
	return s
}

// String prints the node as query text that parses back to it.
func (n *ParseStage) String() string {
	var s string
	switch {
	case n.Extract:
		s = "extract"
	case n.Regex:
		s = "parse regex"
	default:
		s = "parse"
	}
	s += fieldOpt(n.Field) + " " + join(n.Patterns, ", ") + asList(n.As)
	if n.NoDrop {
		s += " nodrop"
	}
	if n.Multi {
		s += " multi"
	}
	return s
}

// String prints the node as query text that parses back to it.
func (n *Where) String() string { return "where " + n.X.String() }

// String prints the node as query text that parses back to it.
func (n *AssignStage) String() string {
	if n.As == nil {
		return n.X.String()
	}
	return n.X.String() + " as " + n.As.String()
}

// String prints the node as query text that parses back to it.
func (n *Eval) String() string {
	var b strings.Builder
	b.WriteString("eval ")
	for i := range n.Targets {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(n.Targets[i].String())
		b.WriteString(" = ")
		b.WriteString(n.Values[i].String())
	}
	return b.String()
}

// String prints one aggregate.
func (n *AggItem) String() string {
	s := n.Name
	switch {
	case n.Star:
		s += "(*)"
	case n.Arg != nil:
		s += "(" + n.Arg.String() + ")"
	case n.Parens:
		s += "()"
	}
	if n.As != nil {
		s += " as " + n.As.String()
	}
	return s
}

// Pos returns the aggregate's span.
func (n *AggItem) Pos() Span { return n.Span }

// String prints the node as query text that parses back to it.
func (n *Aggregate) String() string {
	if n.Shorthand {
		return "count " + join(n.By, ", ")
	}
	s := ""
	if n.Stats {
		s = "stats "
	}
	s += join(n.Items, ", ")
	if n.ByWord != "" {
		s += " " + n.ByWord + " " + join(n.By, ", ")
	}
	return s
}

// String prints the node as query text that parses back to it.
func (n *Sort) String() string {
	s := n.Word
	if n.By {
		s += " by"
	}
	for i, k := range n.Keys {
		if i > 0 {
			s += ","
		}
		s += " "
		if k.Sign != 0 {
			s += string(k.Sign)
		}
		s += k.Field.String()
		if k.Dir != "" {
			s += " " + k.Dir
		}
	}
	return s
}

// String prints the node as query text that parses back to it.
func (n *Top) String() string {
	s := "top " + n.N.String() + " " + join(n.Fields, ", ")
	if n.By != nil {
		s += " by " + n.By.String()
	}
	return s
}

// String prints the node as query text that parses back to it.
func (n *Limit) String() string { return "limit " + n.N.String() }

// String prints the node as query text that parses back to it.
func (n *Fields) String() string {
	s := "fields "
	if n.Sign != 0 {
		s += string(n.Sign) + " "
	}
	return s + join(n.Names, ", ")
}

// String prints the node as query text that parses back to it.
func (n *Timeslice) String() string {
	s := "timeslice " + n.Width.String()
	if n.Buckets {
		s += " buckets"
	}
	if n.As != nil {
		s += " as " + n.As.String()
	}
	return s
}

// String prints the node as query text that parses back to it.
func (n *Lookup) String() string {
	s := "lookup "
	if n.Star {
		s += "*"
	} else {
		for i, c := range n.Cols {
			if i > 0 {
				s += ", "
			}
			s += c.Name.String()
			if c.As != nil {
				s += " as " + c.As.String()
			}
		}
	}
	s += " from " + n.Source + " on "
	for i, o := range n.On {
		if i > 0 {
			s += ", "
		}
		s += o.Field.String() + "=" + o.Column.String()
	}
	return s
}
