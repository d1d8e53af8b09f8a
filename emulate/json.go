package emulate

import (
	"strconv"
	"unicode/utf8"
)

// obj is a JSON object whose members keep the order they were added in,
// so that records come out in the member order the providers write.
type obj []member

type member struct {
	k string
	v any
}

// set appends a member.
func (o obj) set(k string, v any) obj { return append(o, member{k, v}) }

// arr is a JSON array.
type arr []any

// rawJSON is already-encoded JSON.
type rawJSON string

// jsonString is a value written as a JSON string holding its encoding: the
// way Azure carries request and response bodies, and Event Hub exports the
// properties bag.
type jsonString struct{ v any }

// hole is a placeholder in a noise template (see noise.go): it is written
// as a marker byte and its code, filled in per event.
type hole byte

const holeMark = 0x01

// holeString is a hole inside a JSON string value.
func holeString(code byte) string { return string([]byte{holeMark, code}) }

func isHole(s string) bool { return len(s) == 2 && s[0] == holeMark }

// appendJSON appends the compact encoding of v. Strings are escaped as
// the providers do: quotes, backslashes and control characters only, so
// "<sensitiveDataRemoved>" stays readable.
func appendJSON(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case string:
		return appendString(b, x)
	case bool:
		return strconv.AppendBool(b, x)
	case int:
		return strconv.AppendInt(b, int64(x), 10)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case float64:
		return strconv.AppendFloat(b, x, 'f', -1, 64)
	case rawJSON:
		return append(b, x...)
	case hole:
		return append(b, holeMark, byte(x))
	case jsonString:
		return appendString(b, string(appendJSON(nil, x.v)))
	case obj:
		b = append(b, '{')
		for i, m := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, m.k)
			b = append(b, ':')
			b = appendJSON(b, m.v)
		}
		return append(b, '}')
	case arr:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSON(b, e)
		}
		return append(b, ']')
	case []string:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, e)
		}
		return append(b, ']')
	}
	panic("emulate: cannot encode " + strconv.Quote(typeName(v)))
}

func typeName(v any) string {
	switch v.(type) {
	case uint8, uint16, uint32, uint64, uint, int8, int16, int32, float32:
		return "sized number"
	}
	return "value"
}

const hexDigits = "0123456789abcdef"

func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c == holeMark && i+1 < len(s) {
			// A template hole inside a string (or a string inside a
			// string) passes through unescaped.
			i += 2
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = append(b, s[start:i]...)
				b = append(b, `\ufffd`...)
				i++
				start = i
				continue
			}
			i += size
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
