package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// Re-synchronisation: one unbalanced quote inside a record turns every
// string after it inside out, so the bracket count that finds where a
// record ends goes wrong for the rest of the stream. The scanner notices
// it early (a string closing where JSON allows no string to close:
// quoteError) or at the end of the input, and then looks for the next
// place where a record provably begins: a comma and an object whose first
// member has the name the damaged record's first member has
// (`,{"eventVersion":`). A quote cannot appear unescaped inside a JSON
// string, so those bytes begin an object wherever they are, and the name
// tells a sibling record from a nested object. Reading goes
// on from there; the damaged record is rejected with its position and the
// bytes skipped are counted.

// quoteError is a string that closed where JSON does not allow one to
// close: the quotes of the value are out of step.
type quoteError struct {
	off  int64
	line int
}

func (e *quoteError) Error() string {
	return fmt.Sprintf("line %d (byte %d): a string closes where JSON allows none to (an unbalanced quote)", e.line, e.off)
}

// resynced is what member returns for a damaged member: where the damage
// was noticed, and where reading goes on.
type resynced struct {
	cause     error // quoteError, io.ErrUnexpectedEOF or the stream's error
	found     bool  // a record boundary was found; the scanner is at its '{'
	skipped   int64 // bytes from the damaged member's first byte to there
	nextOff   int64
	nextLine  int
	noticeOff int64 // where the damage was noticed
	noticeLn  int
}

func (r *resynced) Error() string {
	return fmt.Sprintf("damaged record: %v", r.cause)
}

func (r *resynced) Unwrap() error { return r.cause }

// pushback reads pending bytes before those of r: the bytes a resync
// searched past the record boundary it found.
type pushback struct {
	pending []byte
	r       io.Reader
}

func (p *pushback) Read(b []byte) (int, error) {
	if len(p.pending) > 0 {
		n := copy(b, p.pending)
		p.pending = p.pending[n:]
		return n, nil
	}
	return p.r.Read(b)
}

// unread puts b, the bytes just before the scanner's position, back in
// front of the unread input.
func (s *scanner) unread(b []byte) {
	if len(b) == 0 {
		return
	}
	buffered, _ := s.r.Peek(s.r.Buffered())
	var rest []byte
	if s.back == nil {
		s.back = &pushback{r: s.src}
	} else {
		rest = s.back.pending
	}
	pending := make([]byte, 0, len(b)+len(buffered)+len(rest))
	pending = append(pending, b...)
	pending = append(pending, buffered...)
	pending = append(pending, rest...)
	s.back.pending = pending
	s.r.Reset(s.back)
	s.off -= int64(len(b))
	s.line -= bytes.Count(b, []byte{'\n'})
}

// member reads a member of an array of records as value does. When the
// member is damaged — its quotes out of step, or the input ending inside
// it — it moves to the next record boundary (see resync) and returns a
// *resynced error; the member's bytes are dropped. Other errors are
// value's. fallbackKey is the first member name of an earlier record of
// the array, used when the damaged record's own cannot be read.
func (s *scanner) member(fallbackKey string) ([]byte, error) {
	s.begin()
	startOff := s.off
	b, err := s.rawValue()
	if err == nil {
		return b, nil
	}
	defer func() { s.buf = s.buf[:s.start] }()
	var qe *quoteError
	if !errors.As(err, &qe) && err != io.ErrUnexpectedEOF {
		return nil, err
	}
	kept := s.buf[s.start:]
	key, ok := firstKey(kept)
	if !ok {
		key = fallbackKey
	}
	if key == "" || len(kept) == 0 || kept[0] != '{' {
		return nil, err
	}
	rs := &resynced{cause: err, noticeOff: s.off, noticeLn: s.line}
	var prev byte // unknown: the search starts where the damage was noticed
	if int64(len(kept)) == s.off-startOff {
		// The member's bytes are all here: the boundary may lie before
		// the place the damage was noticed, so search them again.
		s.unread(kept[1:])
		prev = '{'
	}
	found, serr := s.resync(key, prev)
	if !found {
		if serr != nil && serr != io.EOF {
			rs.cause = serr
		}
		return nil, rs
	}
	rs.found = true
	rs.skipped = s.off - startOff
	rs.nextOff, rs.nextLine = s.off, s.line
	return nil, rs
}

// resync consumes the input up to the next `,` `{"key":` (white space
// allowed between them) and stops at its '{'. It reports false, with the
// input consumed, when there is none. prev is the last byte before the
// position that is not white space, 0 if unknown.
func (s *scanner) resync(key string, prev byte) (bool, error) {
	want := []byte(`"` + key + `"`)
	for {
		chunk, err := s.fill()
		if len(chunk) == 0 {
			if err == nil {
				err = io.EOF
			}
			return false, err
		}
		i := bytes.IndexByte(chunk, '{')
		if i < 0 {
			prev = lastNonSpace(chunk, prev)
			s.advance(chunk)
			continue
		}
		prev = lastNonSpace(chunk[:i], prev)
		s.advance(chunk[:i])
		if prev == ',' {
			ahead, _ := s.r.Peek(min(len(want)+256, s.r.Size()))
			if opensWith(ahead[1:], want) {
				return true, nil
			}
		}
		prev = '{'
		s.consume()
	}
}

// lastNonSpace returns the last byte of b that is not white space, or
// prev when there is none.
func lastNonSpace(b []byte, prev byte) byte {
	for i := len(b) - 1; i >= 0; i-- {
		if c := b[i]; c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			return c
		}
	}
	return prev
}

// opensWith reports whether b is white space, name, white space and a
// colon.
func opensWith(b, name []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	if !bytes.HasPrefix(b, name) {
		return false
	}
	b = bytes.TrimLeft(b[len(name):], " \t\r\n")
	return len(b) > 0 && b[0] == ':'
}

// firstKey returns the name of the first member of the object that starts
// b, when it is a plain name (no escapes) followed by a colon.
func firstKey(b []byte) (string, bool) {
	if len(b) == 0 || b[0] != '{' {
		return "", false
	}
	b = bytes.TrimLeft(b[1:], " \t\r\n")
	if len(b) == 0 || b[0] != '"' {
		return "", false
	}
	end := bytes.IndexAny(b[1:], "\"\\")
	if end <= 0 || end > 128 || b[1+end] != '"' {
		return "", false
	}
	name := b[1 : 1+end]
	if !opensWith(b, b[:end+2]) {
		return "", false
	}
	return string(name), true
}
