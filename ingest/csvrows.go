package ingest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// csvRows reads RFC 4180 rows (a console's CSV download) from a stream,
// line by line, so that one damaged row cannot swallow the rows after it:
// a row whose quoted field never closes (before the end of the input or
// the record size cap) is reported as damaged at its own position, and
// reading resumes at the physical line after the one it began on.
type csvRows struct {
	br      *bufio.Reader
	max     int
	off     int64 // offset of the next physical line not yet read
	line    int   // its 1-based number
	pending []physLine
	eof     bool
	err     error // a read error other than EOF
}

// maxRowLines bounds the physical lines one row may span, so that each
// unclosed quote costs a bounded re-read, not the rest of the file.
const maxRowLines = 256

// physLine is one physical line of the input, with its terminator.
type physLine struct {
	b    []byte
	off  int64
	line int
}

func newCSVRows(r io.Reader, max int) *csvRows {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, 64<<10)
	}
	return &csvRows{br: br, max: max, line: 1}
}

// physical returns the next physical line, from the lines pushed back by
// a resync first.
func (c *csvRows) physical() (physLine, bool) {
	if n := len(c.pending); n > 0 {
		l := c.pending[0]
		c.pending = c.pending[1:]
		return l, true
	}
	if c.eof {
		return physLine{}, false
	}
	b, err := c.br.ReadBytes('\n')
	if err != nil {
		c.eof = true
		if !errors.Is(err, io.EOF) {
			c.err = err
		}
		if len(b) == 0 {
			return physLine{}, false
		}
	}
	l := physLine{b: b, off: c.off, line: c.line}
	c.off += int64(len(b))
	c.line++
	return l, true
}

// csvDamaged says why a row could not be read.
type csvDamaged struct {
	msg     string
	skipped int // bytes given up: the row's first physical line
}

// next returns the next row's fields and the position of its first byte.
// A blank line is no row. At the end it returns ok false. A damaged row
// comes back with dmg set and no fields.
func (c *csvRows) next() (fields []string, pos recordPos, dmg *csvDamaged, ok bool) {
	for {
		first, ok := c.physical()
		if !ok {
			return nil, recordPos{}, nil, false
		}
		pos = recordPos{first.off, first.line}
		if len(bytes.TrimRight(first.b, "\r\n")) == 0 {
			continue
		}
		lines := []physLine{first}
		var field []byte
		inQuotes, quoted := false, false
		size := 0
		cur := first.b
		for {
			for i := 0; i < len(cur); i++ {
				ch := cur[i]
				switch {
				case inQuotes && ch == '"':
					if i+1 < len(cur) && cur[i+1] == '"' {
						field = append(field, '"')
						i++
					} else {
						inQuotes = false
					}
				case inQuotes:
					field = append(field, ch)
				case ch == '"' && len(field) == 0 && !quoted:
					inQuotes, quoted = true, true
				case ch == ',':
					fields = append(fields, string(field))
					field, quoted = field[:0], false
				case ch == '\n' || ch == '\r' && (i+1 == len(cur) || cur[i+1] == '\n'):
					// the end of the row's last line
				default:
					field = append(field, ch) // a quote inside an unquoted field is taken as written
				}
			}
			if !inQuotes {
				fields = append(fields, string(field))
				return fields, pos, nil, true
			}
			size += len(cur)
			nl, more := c.physical()
			if !more || size+len(nl.b) > c.max || len(lines) == maxRowLines {
				why := "a quoted field is not closed before the end of the input"
				if more {
					why = fmt.Sprintf("a quoted field is not closed within %d lines or the record size cap", maxRowLines)
					c.pending = append([]physLine{nl}, c.pending...)
				}
				// Read on from the line after the row's first one: the
				// lines the open quote took are rows of their own.
				c.pending = append(append([]physLine(nil), lines[1:]...), c.pending...)
				return nil, pos, &csvDamaged{msg: why, skipped: len(first.b)}, true
			}
			lines = append(lines, nl)
			cur = nl.b
		}
	}
}
