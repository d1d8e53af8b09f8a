package syntax

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// TokenKind is the type of a lexical token.
type TokenKind uint8

// The token kinds. Keywords are not token kinds: they are identifiers (or
// scope terms) that the parser recognises case-insensitively by context,
// so that keywords stay usable as field names.
const (
	EOF       TokenKind = iota
	Illegal             // a character or construct the lexer rejects; Text says why
	Pipe                // |
	LParen              // (
	RParen              // )
	Comma               // ,
	Assign              // =
	EqEq                // ==
	NotEq               // != or <>
	Less                // <
	LessEq              // <=
	Greater             // >
	GreaterEq           // >=
	Plus                // +
	Minus               // -
	Star                // *
	Slash               // /
	Percent             // %
	Bang                // !
	AndAnd              // &&
	OrOr                // ||
	Question            // ?
	Colon               // :
	Ident               // name or dotted.name
	Field               // %"quoted name" or %raw[0].path
	String              // "text" (Text is unescaped for \" only)
	Number              // 12, 1.5e3, 10k, 5m
	Regex               // /re/ (Text is the pattern between the slashes)
	Term                // a scope keyword term or glob
)

var tokenNames = [...]string{
	EOF: "end of query", Illegal: "illegal token", Pipe: "'|'", LParen: "'('", RParen: "')'",
	Comma: "','", Assign: "'='", EqEq: "'=='", NotEq: "'!='", Less: "'<'", LessEq: "'<='",
	Greater: "'>'", GreaterEq: "'>='", Plus: "'+'", Minus: "'-'", Star: "'*'", Slash: "'/'",
	Percent: "'%'", Bang: "'!'", AndAnd: "'&&'", OrOr: "'||'", Question: "'?'", Colon: "':'",
	Ident: "identifier", Field: "field reference", String: "string", Number: "number",
	Regex: "regular expression", Term: "search term",
}

// String names the kind for error messages.
func (k TokenKind) String() string {
	if int(k) < len(tokenNames) {
		return tokenNames[k]
	}
	return "token"
}

// Token is one lexical token with its byte span.
type Token struct {
	Kind TokenKind
	Span Span
	Text string // identifier, term, unescaped string, number text, regex body, field name, or the error for Illegal
	Help string // for Illegal: how to fix it
}

// stateFn is one state of the lexer; it returns the next state.
type stateFn func(*lexer) stateFn

// lexer turns query text into tokens. It runs synchronously: Next runs
// state functions until one emits a token. Scope mode lasts until the first
// '|' outside parentheses; pipeline mode follows.
type lexer struct {
	src     string
	start   int
	pos     int
	state   stateFn
	mode    stateFn // lexScope or lexPipeline: where to go on after an error
	out     Token
	emitted bool
	depth   int  // parentheses open in scope mode
	operand bool // the last token ends an operand: '%' is then the modulo operator
	regexOK bool // the parser accepts a /regex/ literal as the next token
	// afterKeyword: the last token is a word after which a field name is
	// expected (fields, as, by, …), so %name is a field, not modulo.
	afterKeyword bool
}

// fieldKeywords are the words a field name may follow directly.
var fieldKeywords = map[string]bool{"fields": true, "as": true, "by": true, "group": true, "sort": true,
	"order": true, "count": true, "top": true, "on": true, "and": true, "or": true, "not": true, "where": true,
	"eval": true, "lookup": true, "in": true, "matches": true, "contains": true}

func newLexer(src string) *lexer {
	return &lexer{src: src, state: lexScope, mode: lexScope}
}

// Next returns the next token.
func (l *lexer) Next() Token {
	l.emitted = false
	for !l.emitted {
		l.state = l.state(l)
	}
	l.regexOK = false
	return l.out
}

func (l *lexer) emit(k TokenKind, text string) {
	l.out = Token{Kind: k, Span: Span{l.start, l.pos}, Text: text}
	l.emitted = true
	l.afterKeyword = k == Ident && fieldKeywords[strings.ToLower(text)]
	switch k {
	case Ident, Field, String, Number, RParen, Regex:
		l.operand = true
	default:
		l.operand = false
	}
	l.start = l.pos
}

func (l *lexer) errorf(help, msg string) stateFn {
	l.out = Token{Kind: Illegal, Span: Span{l.start, l.pos}, Text: msg, Help: help}
	l.emitted = true
	l.start = l.pos
	return l.mode
}

func (l *lexer) peekByte(off int) byte {
	if l.pos+off < len(l.src) {
		return l.src[l.pos+off]
	}
	return 0
}

// skipSpace skips whitespace and comments. A comment starts only here, at
// a token boundary. It reports an unterminated block comment as false.
func (l *lexer) skipSpace() bool {
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			l.pos++
		case c == '/' && l.peekByte(1) == '/' && !l.regexOK:
			i := strings.IndexByte(l.src[l.pos:], '\n')
			if i < 0 {
				l.pos = len(l.src)
			} else {
				l.pos += i + 1
			}
		case c == '/' && l.peekByte(1) == '*' && !l.regexOK:
			i := strings.Index(l.src[l.pos+2:], "*/")
			if i < 0 {
				l.start = l.pos
				l.pos = len(l.src)
				return false
			}
			l.pos += i + 4
		default:
			if c >= utf8.RuneSelf {
				r, n := utf8.DecodeRuneInString(l.src[l.pos:])
				if unicode.IsSpace(r) {
					l.pos += n
					continue
				}
			}
			l.start = l.pos
			return true
		}
	}
	l.start = l.pos
	return true
}

// isTermByte reports the ASCII characters of a scope term.
func isTermByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		strings.IndexByte("-_:/.+@#$%^*?", c) >= 0
}

func lexScope(l *lexer) stateFn {
	if !l.skipSpace() {
		return l.errorf("close it with */", "unterminated /* comment")
	}
	if l.pos >= len(l.src) {
		l.emit(EOF, "")
		return lexScope
	}
	c := l.src[l.pos]
	switch c {
	case '|':
		l.pos++
		if l.depth > 0 {
			return l.errorf("close the parentheses before the first '|'", "'|' inside parentheses in the search scope")
		}
		l.emit(Pipe, "|")
		l.mode = lexPipeline
		return lexPipeline
	case '(':
		l.pos++
		l.depth++
		l.emit(LParen, "(")
	case ')':
		l.pos++
		if l.depth > 0 {
			l.depth--
		}
		l.emit(RParen, ")")
	case '=':
		l.pos++
		l.emit(Assign, "=")
	case '!':
		l.pos++
		if l.peekByte(0) == '=' {
			l.pos++
			return l.errorf("write NOT field=value", "'!=' is not supported in the search scope")
		}
		l.emit(Bang, "!")
	case '"':
		return lexString(l, lexScope)
	case '\'':
		return l.badQuote(lexScope)
	default:
		start := l.pos
		for l.pos < len(l.src) {
			c := l.src[l.pos]
			if c < utf8.RuneSelf {
				if !isTermByte(c) {
					break
				}
				l.pos++
				continue
			}
			r, n := utf8.DecodeRuneInString(l.src[l.pos:])
			if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
				break
			}
			l.pos += n
		}
		if l.pos == start {
			_, n := utf8.DecodeRuneInString(l.src[l.pos:])
			l.pos += n
			return l.errorf("", "unexpected character "+quoteChar(l.src[start:l.pos])+" in the search scope")
		}
		l.emit(Term, l.src[start:l.pos])
	}
	return lexScope
}

func quoteChar(s string) string { return "'" + s + "'" }

func (l *lexer) badQuote(next stateFn) stateFn {
	// Skip the single-quoted text so that one mistake gives one error.
	l.pos++
	if i := strings.IndexByte(l.src[l.pos:], '\''); i >= 0 {
		l.pos += i + 1
	}
	name := strings.Trim(l.src[l.start:l.pos], "'")
	return l.errorf(`write the string as "`+name+`"; a field name with special characters is written %"`+name+`"`,
		"single quotes are not Sumo syntax")
}

// lexString scans a double-quoted string. A backslash keeps the next
// character from ending the string; only \" loses its backslash, so regex
// and glob consumers see \d and \. as written.
func lexString(l *lexer, next stateFn) stateFn {
	l.pos++ // opening quote
	var b strings.Builder
	seg := l.pos
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		switch c {
		case '\\':
			if l.peekByte(1) == '"' {
				b.WriteString(l.src[seg:l.pos])
				b.WriteByte('"')
				l.pos += 2
				seg = l.pos
				continue
			}
			if l.pos+1 < len(l.src) {
				l.pos += 2
				continue
			}
			l.pos++
		case '"':
			b.WriteString(l.src[seg:l.pos])
			l.pos++
			l.emit(String, b.String())
			return next
		default:
			l.pos++
		}
	}
	return l.errorf(`close the string with "`, "unterminated string")
}

func isIdentStart(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' }
func isIdentByte(c byte) bool  { return isIdentStart(c) || c >= '0' && c <= '9' }

func lexPipeline(l *lexer) stateFn {
	if !l.skipSpace() {
		return l.errorf("close it with */", "unterminated /* comment")
	}
	if l.pos >= len(l.src) {
		l.emit(EOF, "")
		return lexPipeline
	}
	c := l.src[l.pos]
	two := func(k TokenKind, s string) stateFn {
		l.pos += 2
		l.emit(k, s)
		return lexPipeline
	}
	one := func(k TokenKind, s string) stateFn {
		l.pos++
		l.emit(k, s)
		return lexPipeline
	}
	n1 := l.peekByte(1)
	switch {
	case c == '|' && n1 == '|':
		return two(OrOr, "||")
	case c == '|':
		return one(Pipe, "|")
	case c == '&' && n1 == '&':
		return two(AndAnd, "&&")
	case c == '(':
		return one(LParen, "(")
	case c == ')':
		return one(RParen, ")")
	case c == ',':
		return one(Comma, ",")
	case c == '=' && n1 == '=':
		return two(EqEq, "==")
	case c == '=':
		return one(Assign, "=")
	case c == '!' && n1 == '=':
		return two(NotEq, "!=")
	case c == '!':
		return one(Bang, "!")
	case c == '<' && n1 == '>':
		return two(NotEq, "<>")
	case c == '<' && n1 == '=':
		return two(LessEq, "<=")
	case c == '<':
		return one(Less, "<")
	case c == '>' && n1 == '=':
		return two(GreaterEq, ">=")
	case c == '>':
		return one(Greater, ">")
	case c == '+':
		return one(Plus, "+")
	case c == '-':
		return one(Minus, "-")
	case c == '*':
		return one(Star, "*")
	case c == '/' && l.regexOK:
		return lexRegex
	case c == '/':
		return one(Slash, "/")
	case c == '%' && (n1 == '"' || isIdentStart(n1) && (!l.operand || l.afterKeyword)):
		// %"name" is always a field; %name is one unless it follows an
		// operand (a %b is the modulo operator).
		return lexField
	case c == '%':
		return one(Percent, "%")
	case c == '?':
		return one(Question, "?")
	case c == ':':
		return one(Colon, ":")
	case c == '"':
		return lexString(l, lexPipeline)
	case c == '\'':
		return l.badQuote(lexPipeline)
	case c >= '0' && c <= '9':
		return lexNumber
	case isIdentStart(c):
		return lexIdent
	}
	_, n := utf8.DecodeRuneInString(l.src[l.pos:])
	l.pos += n
	return l.errorf("", "unexpected character "+quoteChar(l.src[l.start:l.pos]))
}

// lexIdent scans name or dotted.name. A segment after a dot may start with
// a digit (a[0] style paths need the %-form).
func lexIdent(l *lexer) stateFn {
	for l.pos < len(l.src) && isIdentByte(l.src[l.pos]) {
		l.pos++
	}
	for l.peekByte(0) == '.' && isIdentByte(l.peekByte(1)) {
		l.pos++
		for l.pos < len(l.src) && isIdentByte(l.src[l.pos]) {
			l.pos++
		}
	}
	if l.peekByte(0) == '.' {
		l.pos++
		return l.errorf(`write the name as %"`+l.src[l.start:l.pos]+`"`, "a field name cannot end with '.' or contain '..'")
	}
	l.emit(Ident, l.src[l.start:l.pos])
	return lexPipeline
}

// lexField scans %"any text" or %raw[0].path.
func lexField(l *lexer) stateFn {
	l.pos++ // %
	if l.peekByte(0) == '"' {
		st := lexString(l, lexPipeline)
		if l.out.Kind == String {
			l.out.Kind = Field
			l.operand = true
		}
		return st
	}
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		if isIdentByte(c) || c == '.' || c == '[' || c == ']' || c == '*' || c == '-' {
			l.pos++
			continue
		}
		break
	}
	l.emit(Field, l.src[l.start+1:l.pos])
	return lexPipeline
}

// numberSuffixes are the size and duration suffixes, longest first.
var numberSuffixes = []string{"Ki", "Mi", "Gi", "Ti", "Pi", "ns", "us", "ms", "k", "K", "M", "G", "B", "T", "P", "s", "m", "h", "d", "w"}

func lexNumber(l *lexer) stateFn {
	digits := func() int {
		s := l.pos
		for l.pos < len(l.src) && l.src[l.pos] >= '0' && l.src[l.pos] <= '9' {
			l.pos++
		}
		return l.pos - s
	}
	digits()
	if l.peekByte(0) == '.' && l.peekByte(1) >= '0' && l.peekByte(1) <= '9' {
		l.pos++
		digits()
	}
	if c := l.peekByte(0); c == 'e' || c == 'E' {
		save := l.pos
		l.pos++
		if c := l.peekByte(0); c == '+' || c == '-' {
			l.pos++
		}
		if digits() == 0 {
			l.pos = save
		}
	}
	for _, s := range numberSuffixes {
		if strings.HasPrefix(l.src[l.pos:], s) && !isIdentByte(l.peekByte(len(s))) {
			l.pos += len(s)
			break
		}
	}
	if isIdentByte(l.peekByte(0)) || l.peekByte(0) == '.' {
		for l.pos < len(l.src) && (isIdentByte(l.src[l.pos]) || l.src[l.pos] == '.') {
			l.pos++
		}
		return l.errorf("a number may end in a size (k M G T P, Ki Mi …) or time (ns us ms s m h d w) unit",
			"malformed number "+l.src[l.start:l.pos])
	}
	l.emit(Number, l.src[l.start:l.pos])
	return lexPipeline
}

// lexRegex scans /pattern/. A backslash keeps the next character (a '/'
// included) from ending the literal; the text is kept as written.
func lexRegex(l *lexer) stateFn {
	l.pos++
	for l.pos < len(l.src) {
		switch l.src[l.pos] {
		case '\\':
			l.pos += 2
			if l.pos > len(l.src) {
				l.pos = len(l.src)
			}
			continue
		case '/':
			body := l.src[l.start+1 : l.pos]
			l.pos++
			l.emit(Regex, body)
			return lexPipeline
		case '\n':
			return l.errorf("close the regular expression with /", "unterminated regular expression")
		}
		l.pos++
	}
	return l.errorf("close the regular expression with /", "unterminated regular expression")
}
