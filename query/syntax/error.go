package syntax

import (
	"sort"
	"strings"
	"unicode/utf8"
)

// Span is a half-open byte range [Start, End) of the query text.
type Span struct {
	Start, End int
}

// Diagnostic is one problem found in a query: where, what, and, when a fix
// is known, how to fix it.
type Diagnostic struct {
	Span Span
	Msg  string
	Help string
}

// Errors is every problem found in one query, in source order. It
// implements error; the text shows each problem as
//
//	query:LINE:COL: message
//	    <source line>
//	    ^^^^
//	help: <fix>
type Errors struct {
	Src  string
	List []Diagnostic
}

// Add records a problem. Msg and help are cut to maxMessage runes: they
// may quote the query, and a quoted megabyte would bury the diagnostic.
func (e *Errors) Add(sp Span, msg, help string) {
	e.List = append(e.List, Diagnostic{Span: sp, Msg: Clip(msg, maxMessage), Help: Clip(help, maxMessage)})
}

// maxMessage bounds the message and the help line of one diagnostic.
const maxMessage = 200

// Clip cuts s to at most n runes, marking the cut with "…"; it never
// splits a UTF-8 sequence. Messages use it on any text they quote.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := 0
	for j := range s {
		if i == n {
			return s[:j] + "…"
		}
		i++
	}
	return s
}

// Err returns e as an error, or nil when there is nothing in it. The list is
// sorted by position first.
func (e *Errors) Err() error {
	if e == nil || len(e.List) == 0 {
		return nil
	}
	sort.SliceStable(e.List, func(i, j int) bool { return e.List[i].Span.Start < e.List[j].Span.Start })
	return e
}

// Error renders every diagnostic.
func (e *Errors) Error() string {
	var b strings.Builder
	for i, d := range e.List {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(Render(e.Src, d))
	}
	return b.String()
}

// Position returns the 1-based line and column (in runes) of byte offset
// off in src.
func Position(src string, off int) (line, col int) {
	if off > len(src) {
		off = len(src)
	}
	if off < 0 {
		off = 0
	}
	line = 1 + strings.Count(src[:off], "\n")
	ls := strings.LastIndexByte(src[:off], '\n') + 1
	col = 1 + utf8.RuneCountInString(src[ls:off])
	return line, col
}

// Render formats one diagnostic with its source line and a caret under the
// span.
func Render(src string, d Diagnostic) string {
	line, col := Position(src, d.Span.Start)
	var b strings.Builder
	b.WriteString("query:")
	b.WriteString(itoa(line))
	b.WriteByte(':')
	b.WriteString(itoa(col))
	b.WriteString(": ")
	b.WriteString(d.Msg)
	start := d.Span.Start
	if start > len(src) {
		start = len(src)
	}
	ls := strings.LastIndexByte(src[:start], '\n') + 1
	le := strings.IndexByte(src[start:], '\n')
	if le < 0 {
		le = len(src)
	} else {
		le += start
	}
	text := src[ls:le]
	const maxShown = 200
	if utf8.RuneCountInString(text) <= maxShown || col <= maxShown-40 {
		end := d.Span.End
		if end > le {
			end = le
		}
		if end < start {
			end = start
		}
		width := min(utf8.RuneCountInString(src[start:end]), maxCarets)
		if width == 0 {
			width = 1
		}
		shown := text
		if utf8.RuneCountInString(shown) > maxShown {
			shown = string([]rune(shown)[:maxShown]) + " …"
			if col-1+width > maxShown {
				width = max(1, maxShown-(col-1))
			}
		}
		b.WriteString("\n    ")
		b.WriteString(strings.Map(tabToSpace, shown))
		b.WriteString("\n    ")
		b.WriteString(strings.Repeat(" ", col-1))
		b.WriteString(strings.Repeat("^", width))
	}
	if d.Help != "" {
		b.WriteString("\nhelp: ")
		b.WriteString(d.Help)
	}
	return b.String()
}

// maxCarets bounds the underline: it marks where a span starts, and a
// term a page long underlined in full is a page of carets.
const maxCarets = 60

func tabToSpace(r rune) rune {
	if r == '\t' || r == '\r' {
		return ' '
	}
	return r
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var buf [20]byte
	i := len(buf)
	for n > 0 {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
	}
	return string(buf[i:])
}
