package syntax

import (
	"os"
	"strings"
	"testing"
)

func TestLexModes(t *testing.T) {
	cases := []struct {
		in   string
		want string // kinds and texts
	}{
		{`_sourceCategory=Labs/* error | where x`, `Term(_sourceCategory) '=' Term(Labs/*) Term(error) '|' Ident(where) Ident(x)`},
		{`a // comment
| x /* c */ / 2`, `Term(a) '|' Ident(x) '/' Number(2)`},
		{`| "a\"b\d" 10k 1.5e3 5m`, `'|' String(a"b\d) Number(10k) Number(1.5e3) Number(5m)`},
		{`| fields %"a b", %a[0].b | x % y`, `'|' Ident(fields) Field(a b) ',' Field(a[0].b) '|' Ident(x) '%' Ident(y)`},
		{`| a != b <> c && d || e`, `'|' Ident(a) '!=' Ident(b) '!=' Ident(c) '&&' Ident(d) '||' Ident(e)`},
		{`| properties.resourceGroup`, `'|' Ident(properties.resourceGroup)`},
	}
	for _, c := range cases {
		l := newLexer(c.in)
		var got []string
		for {
			tok := l.Next()
			if tok.Kind == EOF {
				break
			}
			switch tok.Kind {
			case Term, Ident, String, Number, Field, Regex, Illegal:
				got = append(got, tok.Kind.name()+"("+tok.Text+")")
			default:
				got = append(got, tok.Kind.String())
			}
		}
		if s := strings.Join(got, " "); s != c.want {
			t.Errorf("%q:\n got %s\nwant %s", c.in, s, c.want)
		}
	}
}

func (k TokenKind) name() string {
	return map[TokenKind]string{Term: "Term", Ident: "Ident", String: "String", Number: "Number", Field: "Field", Regex: "Regex", Illegal: "Illegal"}[k]
}

func TestParsePrecedence(t *testing.T) {
	cases := []struct{ in, want string }{
		{`a or b and c`, `(a or (b and c))`},
		{`!x matches "a*"`, `((!x) matches "a*")`},
		{`a + b * c = d`, `((a + (b * c)) = d)`},
		{`c ? a : b ? d : e`, `(c ? a : (b ? d : e))`},
		{`not a in (1, 2)`, `((not a) in (1, 2))`},
		{`x not matches /a\/b/`, `(x not matches /a\/b/)`},
		{`- a - b`, `((-a) - b)`},
	}
	for _, c := range cases {
		q, err := Parse("| where " + c.in)
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		if got := tree(q.Stages[0].(*Where).X); got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.in, got, c.want)
		}
	}
}

// tree prints an expression fully parenthesised.
func tree(e Expr) string {
	switch e := e.(type) {
	case *Binary:
		return "(" + tree(e.L) + " " + e.Text + " " + tree(e.R) + ")"
	case *Unary:
		if e.Text == "-" || e.Text == "!" {
			return "(" + e.Text + tree(e.X) + ")"
		}
		return "(" + e.Text + " " + tree(e.X) + ")"
	case *Matches:
		return "(" + tree(e.X) + not(e.Not) + " matches " + e.Pattern.String() + ")"
	case *In:
		var xs []string
		for _, x := range e.List {
			xs = append(xs, tree(x))
		}
		return "(" + tree(e.X) + not(e.Not) + " in (" + strings.Join(xs, ", ") + "))"
	case *Cond:
		return "(" + tree(e.C) + " ? " + tree(e.A) + " : " + tree(e.B) + ")"
	}
	return e.String()
}

func TestParseStages(t *testing.T) {
	// Each query prints back as itself (canonical form).
	for _, q := range []string{
		`_sourceCategory=*azure* OR NOT (a AND "b c")` + "\n| json auto",
		`| json auto field=x maxdepth 2 extractarrays keys "a", "b" refonly as c, d`,
		`| json field=x "a.b", "c[0]" as p, q nodrop`,
		`| parse field=msg "user=*:" as u nodrop`,
		`| parse regex "(?<a>\d+)" nodrop multi`,
		`| extract "(?<a>\d+)"`,
		`| eval a = 1, b = a + 1`,
		`| stats count(*) as n, values(x) by a, b`,
		`| count_distinct(x) group by a`,
		`| count a, b`,
		`| sort by +a, -b, c asc, d desc`,
		`| top 10 a, b`,
		`| limit 5`,
		`| fields - a, b`,
		`| timeslice 15m as t`,
		`| timeslice 10 buckets`,
		`| lookup a as x, b from path://"/tmp/t.csv" on k=key, j=key2`,
		`| num(x)`,
		`| %"odd name" as y`,
	} {
		p, err := Parse(q)
		if err != nil {
			t.Errorf("%s: %v", q, err)
			continue
		}
		if got := p.String(); got != q {
			t.Errorf("String:\n got %s\nwant %s", got, q)
		}
	}
}

func TestParseLimits(t *testing.T) {
	cases := []struct{ name, q, want string }{
		{"deep parentheses", "| where " + strings.Repeat("(", 5000) + "x" + strings.Repeat(")", 5000), "nested too deeply"},
		{"deep unary", "| where " + strings.Repeat("!", 100000) + "x", "nested too deeply"},
		{"deep scope", strings.Repeat("(", 5000) + "a" + strings.Repeat(")", 5000), "nested too deeply"},
		{"too many stages", strings.Repeat("| limit 1 ", MaxStages+1), "too many stages"},
		{"too long", strings.Repeat("a ", MaxQueryBytes), "query too long"},
		{"huge in list", "| where x in (" + strings.Repeat("1,", MaxListItems+1) + "1)", "list too long"},
	}
	for _, c := range cases {
		_, err := Parse(c.q)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v", c.name, err)
		}
	}
}

func TestErrorRendering(t *testing.T) {
	_, err := Parse("| json auto\n| where x = = 1\n| sort by")
	want := "query:2:13: expected an expression, found '='\n    | where x = = 1\n                ^\n" +
		"query:3:10: expected a field name, found end of query\n    | sort by\n             ^"
	if err == nil || err.Error() != want {
		t.Errorf("got:\n%v\nwant:\n%s", err, want)
	}
}

// FuzzLex: the lexer never panics and always reaches EOF.
func FuzzLex(f *testing.F) {
	seedCorpus(f)
	f.Fuzz(func(t *testing.T, src string) {
		l := newLexer(src)
		for i := 0; i <= len(src)+2; i++ {
			if tok := l.Next(); tok.Kind == EOF {
				return
			}
		}
		t.Fatalf("lexer did not reach EOF on %q", src)
	})
}

// FuzzParse: the parser never panics, and String round-trips: what it
// prints parses, and prints the same again.
func FuzzParse(f *testing.F) {
	seedCorpus(f)
	f.Fuzz(func(t *testing.T, src string) {
		q, err := Parse(src)
		if err != nil {
			return
		}
		s1 := q.String()
		q2, err := Parse(s1)
		if err != nil {
			t.Fatalf("String of %q does not parse:\n%s\n%v", src, s1, err)
		}
		if s2 := q2.String(); s1 != s2 {
			t.Fatalf("round trip of %q:\n%s\n---\n%s", src, s1, s2)
		}
	})
}

func seedCorpus(f *testing.F) {
	if b, err := os.ReadFile("../../content/queries/t1578.004-sumo.sumo"); err == nil {
		f.Add(string(b))
	}
	for _, s := range []string{
		`_sourceCategory=Labs/* AND (a OR "b")`, `| where x matches /a\/b/ and !(y in (1, "2"))`,
		`| parse "a=*;" as a nodrop`, `| json auto | count by %"a b"`, `| sort - a | limit 3`,
		`| eval a = if(b, "c\"d", 1.5e3k)`, `| x % y as z`, `| lookup * from path://"a b.csv" on a=b`,
		`| where matches(x, //)`, `| "\\" as a`, `a /* c */ | b`,
	} {
		f.Add(s)
	}
}
