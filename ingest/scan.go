package ingest

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"

	"github.com/revertwatch/revertwatch/internal/jsonx"
)

// errTooLarge marks a record longer than the size cap; the scanner has
// skipped past it, so reading can go on.
var errTooLarge = errors.New("record exceeds the size cap")

// syntaxError is damage in the JSON structure between or around records.
type syntaxError struct {
	offset int64
	line   int
	msg    string
}

func (e *syntaxError) Error() string {
	return fmt.Sprintf("line %d (byte %d): %s", e.line, e.offset, e.msg)
}

// scanner reads JSON values from a stream without loading the stream: it
// balances brackets and strings to find where each value ends and copies
// only that value. Parsing proper is left to the decoder.
type scanner struct {
	r    *bufio.Reader
	src  io.Reader // what r reads from, until resync first pushes bytes back
	back *pushback // set once bytes have been pushed back in front of src
	off  int64     // offset of the next unread byte
	line int       // line of the next unread byte (1-based)
	max  int
	buf  []byte
	// In append mode a value is appended to buf instead of replacing it,
	// starting at start: Read's splitter reads records straight into the
	// chunk they go to.
	appendMode bool
	start      int
}

// begin starts a value in buf.
func (s *scanner) begin() {
	if !s.appendMode {
		s.buf = s.buf[:0]
	}
	s.start = len(s.buf)
}

// scanBuf is the scanner's read buffer size.
const scanBuf = 256 << 10

// newScanner reads r through a buffer of size bytes. The buffer is its
// own even when r is a bufio.Reader at least as large (which
// bufio.NewReaderSize would hand back): unread resets the scanner's
// reader to read from r again.
func newScanner(r io.Reader, size, max int) *scanner {
	return &scanner{r: bufio.NewReaderSize(struct{ io.Reader }{r}, size), src: r, line: 1, max: max}
}

// peek returns the next byte that is not white space, without consuming it.
func (s *scanner) peek() (byte, error) {
	for {
		chunk, err := s.fill()
		if len(chunk) == 0 {
			return 0, err
		}
		for i, c := range chunk {
			if c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != 0xEF && c != 0xBB && c != 0xBF {
				s.advance(chunk[:i])
				return c, nil
			}
		}
		s.advance(chunk)
	}
}

// fill returns the buffered bytes, reading more when none are buffered.
func (s *scanner) fill() ([]byte, error) {
	if n := s.r.Buffered(); n > 0 {
		b, _ := s.r.Peek(n)
		return b, nil
	}
	_, err := s.r.Peek(1)
	n := s.r.Buffered()
	if n == 0 {
		if err == nil {
			err = io.EOF
		}
		return nil, err
	}
	b, _ := s.r.Peek(n)
	return b, nil
}

// advance consumes b, which must be a prefix of the buffered bytes.
func (s *scanner) advance(b []byte) {
	s.line += bytes.Count(b, []byte{'\n'})
	s.off += int64(len(b))
	s.r.Discard(len(b))
}

// consume reads one byte known to be next.
func (s *scanner) consume() {
	c, _ := s.r.ReadByte()
	s.off++
	if c == '\n' {
		s.line++
	}
}

// keep appends b to the value being copied, unless the copy is already over
// the cap, in which case it is dropped and only counted.
func (s *scanner) keep(b []byte, size *int) {
	*size += len(b)
	if *size <= s.max {
		s.buf = append(s.buf, b...)
	}
}

// value reads the JSON value that starts at the next non-space byte into
// s.buf (replacing its contents, or after them in append mode) and
// returns it. An object or array is read
// to its matching close; a string to its closing quote; a number or literal
// to the next delimiter. A value over the cap is consumed and errTooLarge
// returned. A stream that ends inside the value gives io.ErrUnexpectedEOF
// (or the stream's own error).
func (s *scanner) value() ([]byte, error) {
	s.begin()
	b, err := s.rawValue()
	if err != nil {
		s.buf = s.buf[:s.start]
		return nil, err
	}
	return b, nil
}

func (s *scanner) rawValue() ([]byte, error) {
	c, err := s.peek()
	if err != nil {
		return nil, err
	}
	size := 0
	depth := 0
	inStr, esc := false, false
	// afterStr: a string closed inside the value; JSON allows only white
	// space and then one of : , } ] after it. Anything else means the
	// quotes are out of step (an unbalanced quote), which the bracket
	// count alone would notice only at the end of the input, if ever.
	afterStr := false
	switch c {
	case '{', '[', '"':
	case '}', ']', ',':
		// A scalar would end before its first byte: the value is missing,
		// and reading on from here would not move.
		return nil, &syntaxError{s.off, s.line, "expected a value, found " + quoteByte(c)}
	default:
		return s.scalar()
	}
	for {
		chunk, err := s.fill()
		if len(chunk) == 0 {
			if err == nil || err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		i := 0
		done := false
	scan:
		for i < len(chunk) {
			if inStr {
				if esc {
					esc = false
					i++
					continue
				}
				j := quoteOrBackslash(chunk[i:])
				if j < 0 {
					i = len(chunk)
					break
				}
				i += j
				if chunk[i] == '\\' {
					esc = true
					i++
					continue
				}
				inStr = false
				i++
				if depth == 0 {
					done = true
					break scan
				}
				afterStr = true
				continue
			}
			if afterStr {
				switch chunk[i] {
				case ':', ',', '}', ']':
					afterStr = false
				case ' ', '\t', '\r', '\n':
					i++
					continue
				default:
					s.keep(chunk[:i], &size)
					s.advance(chunk[:i])
					return nil, &quoteError{off: s.off, line: s.line}
				}
			}
			switch chunk[i] {
			case '"':
				inStr = true
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					i++
					done = true
					break scan
				}
			}
			i++
		}
		s.keep(chunk[:i], &size)
		s.advance(chunk[:i])
		if done {
			if size > s.max {
				return nil, errTooLarge
			}
			return s.buf[s.start:], nil
		}
	}
}

// quoteOrBackslash is bytes.IndexAny(b, `"\`) without building a byte set
// on every call. Most strings in audit records are short, so the first 32
// bytes are tested eight at a time in registers; past them, two IndexByte
// scans (the second only up to the quote) take over.
func quoteOrBackslash(b []byte) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	const quotes, slashes = '"' * ones, '\\' * ones
	n := min(len(b), 32)
	i := 0
	for ; i+8 <= n; i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		q, s := w^quotes, w^slashes
		// The lowest set high bit marks the first zero byte, hence the
		// first quote or backslash.
		if m := ((q-ones)&^q | (s-ones)&^s) & highs; m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	if i < n {
		for ; i < n; i++ {
			if c := b[i]; c == '"' || c == '\\' {
				return i
			}
		}
		return -1
	}
	rest := b[i:]
	q := bytes.IndexByte(rest, '"')
	end := q
	if q < 0 {
		end = len(rest)
	}
	if k := bytes.IndexByte(rest[:end], '\\'); k >= 0 {
		return i + k
	}
	if q < 0 {
		return -1
	}
	return i + q
}

// scalar reads a number or literal.
func (s *scanner) scalar() ([]byte, error) {
	size := 0
	for {
		chunk, err := s.fill()
		if len(chunk) == 0 {
			if size > s.max {
				return nil, errTooLarge
			}
			if size > 0 && (err == nil || err == io.EOF) {
				return s.buf[s.start:], nil
			}
			return nil, err
		}
		i := bytes.IndexAny(chunk, " \t\r\n,]}{[\"")
		if i < 0 {
			s.keep(chunk, &size)
			s.advance(chunk)
			continue
		}
		s.keep(chunk[:i], &size)
		s.advance(chunk[:i])
		if size > s.max {
			return nil, errTooLarge
		}
		return s.buf[s.start:], nil
	}
}

// line reads the rest of the current line (without its newline) into
// s.buf. A line over the cap is skipped and errTooLarge returned.
func (s *scanner) readLine() ([]byte, error) {
	s.begin()
	b, err := s.rawLine()
	if err != nil {
		s.buf = s.buf[:s.start]
		return nil, err
	}
	return b, nil
}

func (s *scanner) rawLine() ([]byte, error) {
	size := 0
	for {
		chunk, err := s.fill()
		if len(chunk) == 0 {
			if size > 0 && (err == nil || err == io.EOF) {
				break
			}
			return nil, err
		}
		if i := bytes.IndexByte(chunk, '\n'); i >= 0 {
			s.keep(chunk[:i], &size)
			s.advance(chunk[:i+1])
			break
		}
		s.keep(chunk, &size)
		s.advance(chunk)
	}
	if size > s.max {
		return nil, errTooLarge
	}
	return bytes.TrimRight(s.buf[s.start:], "\r"), nil
}

// expect consumes the next non-space byte if it is one of want and
// returns it; otherwise it leaves it and reports a syntax error.
func (s *scanner) expect(want string) (byte, error) {
	c, err := s.peek()
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return 0, err
	}
	if bytes.IndexByte([]byte(want), c) < 0 {
		return c, &syntaxError{s.off, s.line, fmt.Sprintf("expected %s, found %s", quoteSet(want), quoteByte(c))}
	}
	s.consume()
	return c, nil
}

func quoteSet(set string) string {
	out := ""
	for i := 0; i < len(set); i++ {
		if i > 0 {
			out += " or "
		}
		out += fmt.Sprintf("%q", set[i])
	}
	return out
}

func quoteByte(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return fmt.Sprintf("%q", c)
	}
	return fmt.Sprintf("byte 0x%02x", c)
}

// objectFast reads the object that starts at the next non-space byte when
// it lies whole in the buffered input and is JSON, checking it and
// indexing its top-level members in one pass (jsonx.MembersPrefix). The
// members are appended to dst and point into the returned bytes, which
// are in buf as value leaves them. For anything else it reports false,
// having read nothing: the caller reads the value with value, which
// reports what is wrong.
func (s *scanner) objectFast(dst []jsonx.Member) ([]byte, []jsonx.Member, bool) {
	c, err := s.peek()
	if err != nil || c != '{' {
		return nil, dst, false
	}
	chunk, _ := s.fill()
	from := len(dst)
	end, ms, ok := jsonx.MembersPrefix(chunk, dst)
	if !ok || end > s.max {
		return nil, dst[:from], false
	}
	s.begin()
	s.buf = append(s.buf, chunk[:end]...)
	raw := s.buf[s.start:]
	rebase(ms[from:], chunk, raw)
	s.advance(chunk[:end])
	return raw, ms, true
}

// lineFast is objectFast for a line of JSON lines, read as readLine reads
// it: the line must hold one object, whole in the buffered input.
func (s *scanner) lineFast(dst []jsonx.Member) ([]byte, []jsonx.Member, bool) {
	chunk, _ := s.fill()
	i := bytes.IndexByte(chunk, '\n')
	if i < 0 || i > s.max {
		return nil, dst, false
	}
	line := chunk[:i]
	obj := bytes.TrimSpace(line)
	from := len(dst)
	ms, ok := jsonx.Members(obj, dst)
	if !ok {
		return nil, dst[:from], false
	}
	s.begin()
	s.buf = append(s.buf, line...)
	rebase(ms[from:], chunk, s.buf[s.start:])
	s.advance(chunk[:i+1])
	return bytes.TrimRight(s.buf[s.start:], "\r"), ms, true
}

// rebase points members found in from at the same places of to, a copy of
// from's start.
func rebase(ms []jsonx.Member, from, to []byte) {
	for i := range ms {
		m := &ms[i]
		k := cap(from) - cap(m.Key)
		m.Key = to[k : k+len(m.Key)]
		v := cap(from) - cap(m.Val)
		m.Val = to[v : v+len(m.Val)]
	}
}
