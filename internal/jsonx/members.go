package jsonx

import (
	"bytes"
	"encoding/binary"
	"math/bits"
)

// Member is one top-level member of an object found by Members.
type Member struct {
	Key  []byte // the name, without quotes (Members refuses escaped names)
	Val  []byte // the value as written; for a string, the bytes between the quotes
	Kind byte   // '"' string, '{' object, '[' array, 't' true, 'f' false, 'n' null, '0' number
	Esc  bool   // a string with escapes: Val is not its text
}

// maxDepth bounds the nesting Members follows; deeper input is refused
// (a caller falls back to the full parser, whose own limit is 300).
const maxDepth = 64

// Members checks that b is exactly one JSON object (RFC 8259: no
// surrounding space, strings without control characters, numbers in
// JSON's grammar) and returns its top-level members, appended to dst, in
// the order written. It builds no tree: nested values are only checked.
// It reports false for anything else, and also for a member name with an
// escape or nesting deeper than 64, which it does not resolve, so that
// whatever it accepts fastjson parses and ValidTokens accepts too. It is
// the cheap path for records whose top-level fields are all a caller needs.
func Members(b []byte, dst []Member) ([]Member, bool) {
	end, dst, ok := MembersPrefix(b, dst)
	return dst, ok && end == len(b)
}

// MembersPrefix is Members for an object at the start of b that may be
// followed by anything: it also returns the index just past the object.
// An object that runs past the end of b is refused like a malformed one.
func MembersPrefix(b []byte, dst []Member) (int, []Member, bool) {
	end, dst, _, ok := membersPrefix(b, dst, maxDepth, nil)
	return end, dst, ok
}

// MembersInner is Members of b that also lists, appended to inner, the
// members of the first member whose name matches name ignoring case, when
// its value is an object Members accepts: in one walk, where Members of
// that value after Members of b reads its bytes twice. at is that member's
// place in ms, or -1 (then inner is as given). ok is Members' verdict.
func MembersInner(b []byte, dst []Member, name string, inner []Member) (ms, in []Member, at int, ok bool) {
	d := &descent{name: name, members: inner, at: -1}
	end, dst, _, ok := membersPrefix(b, dst, maxDepth, d)
	return dst, d.members, d.at, ok && end == len(b)
}

// descent is the member MembersInner lists the members of.
type descent struct {
	name    string
	members []Member
	at      int
}

// membersPrefix is MembersPrefix with nesting bounded by limit levels
// below b's object, listing d's member's members when d is not nil.
func membersPrefix(b []byte, dst []Member, limit int, d *descent) (int, []Member, *descent, bool) {
	n := len(b)
	if n < 2 || b[0] != '{' {
		return 0, dst, d, false
	}
	i := skipSpace(b, 1)
	if i < n && b[i] == '}' {
		return i + 1, dst, d, true
	}
	for {
		if i >= n || b[i] != '"' {
			return 0, dst, d, false
		}
		end, esc, ok := scanString(b, i)
		if !ok || esc {
			return 0, dst, d, false
		}
		m := Member{Key: b[i+1 : end-1]}
		i = skipSpace(b, end)
		if i >= n || b[i] != ':' {
			return 0, dst, d, false
		}
		i = skipSpace(b, i+1)
		if i >= n {
			return 0, dst, d, false
		}
		start := i
		switch c := b[i]; c {
		case '"':
			end, m.Esc, ok = scanString(b, i)
			m.Kind = '"'
		case '{', '[':
			m.Kind = c
			if c == '{' && d != nil && d.at < 0 && bytes.EqualFold(m.Key, []byte(d.name)) {
				// Its members' values may nest one level less than
				// skipping the object would allow.
				if e, in, _, inOK := membersPrefix(b[i:], d.members, limit-1, nil); inOK {
					d.members, d.at = in, len(dst)
					end, ok = i+e, true
					break
				}
				clear(d.members[len(d.members):cap(d.members)]) // what the failed walk left points into b
			}
			end, ok = skipNested(b, i, limit)
		case 't':
			end, ok = literal(b, i, "true")
			m.Kind = c
		case 'f':
			end, ok = literal(b, i, "false")
			m.Kind = c
		case 'n':
			end, ok = literal(b, i, "null")
			m.Kind = c
		default:
			end, ok = number(b, i)
			m.Kind = '0'
		}
		if !ok {
			return 0, dst, d, false
		}
		if m.Kind == '"' {
			m.Val = b[start+1 : end-1]
		} else {
			m.Val = b[start:end]
		}
		dst = append(dst, m)
		i = skipSpace(b, end)
		if i >= n {
			return 0, dst, d, false
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			return i + 1, dst, d, true
		default:
			return 0, dst, d, false
		}
	}
}

// Lookup returns the first top-level member of the object b named key
// exactly, as Members would list it, having checked and read b only up to
// it: in an object a caller already checked (a nested value of a record
// Members accepted), a member written early is found without reading what
// follows. ok is false when there is none, or b is not such an object.
func Lookup(b []byte, key string) (Member, bool) {
	n := len(b)
	if n < 2 || b[0] != '{' {
		return Member{}, false
	}
	for i := skipSpace(b, 1); i < n && b[i] != '}'; {
		m, end, ok := member(b, i)
		if !ok {
			return Member{}, false
		}
		if string(m.Key) == key {
			return m, true
		}
		if i = skipSpace(b, end); i >= n || b[i] != ',' {
			return Member{}, false
		}
		i = skipSpace(b, i+1)
	}
	return Member{}, false
}

// member checks and reads the member that starts at b[i] (its name's
// quote), returning it and the index past its value. MembersPrefix keeps
// the same steps inline: a call per member costs it a fifth of its speed
// (BenchmarkMembers), on every record of every read.
func member(b []byte, i int) (Member, int, bool) {
	n := len(b)
	if i >= n || b[i] != '"' {
		return Member{}, 0, false
	}
	end, esc, ok := scanString(b, i)
	if !ok || esc {
		return Member{}, 0, false
	}
	m := Member{Key: b[i+1 : end-1]}
	i = skipSpace(b, end)
	if i >= n || b[i] != ':' {
		return Member{}, 0, false
	}
	i = skipSpace(b, i+1)
	if i >= n {
		return Member{}, 0, false
	}
	start := i
	switch c := b[i]; c {
	case '"':
		end, m.Esc, ok = scanString(b, i)
		m.Kind = '"'
	case '{', '[':
		end, ok = skipNested(b, i, maxDepth)
		m.Kind = c
	case 't':
		end, ok = literal(b, i, "true")
		m.Kind = c
	case 'f':
		end, ok = literal(b, i, "false")
		m.Kind = c
	case 'n':
		end, ok = literal(b, i, "null")
		m.Kind = c
	default:
		end, ok = number(b, i)
		m.Kind = '0'
	}
	if !ok {
		return Member{}, 0, false
	}
	if m.Kind == '"' {
		m.Val = b[start+1 : end-1]
	} else {
		m.Val = b[start:end]
	}
	return m, end, true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

func literal(b []byte, i int, lit string) (int, bool) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return i, false
	}
	return i + len(lit), true
}

// scanString checks the string that starts at b[i] (a quote) and returns
// the index past its closing quote and whether it holds escapes.
func scanString(b []byte, i int) (int, bool, bool) {
	n := len(b)
	i++
	esc := false
	for {
		// Eight bytes at a time, jumping straight to the first quote,
		// backslash or control character; byte by byte at the end.
		for i+8 <= n {
			if m := special8(binary.LittleEndian.Uint64(b[i:])); m != 0 {
				i += bits.TrailingZeros64(m) / 8
				break
			}
			i += 8
		}
		for i < n && strPlain[b[i]] {
			i++
		}
		if i >= n {
			return i, esc, false
		}
		switch b[i] {
		case '"':
			return i + 1, esc, true
		case '\\':
			esc = true
			if i+1 >= n {
				return i, esc, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > n || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return i, esc, false
				}
				i += 6
			default:
				return i, esc, false
			}
		default:
			return i, esc, false // a control character
		}
	}
}

// skipNested checks the object or array that starts at b[i] and returns
// the index past its end.
func skipNested(b []byte, i int, limit int) (int, bool) {
	n := len(b)
	var objects uint64 // one bit a level: set for an object, clear for an array
	depth := 0
	var ok bool
	for {
		// A value starts at b[i].
		switch c := b[i]; c {
		case '{', '[':
			if depth == limit {
				return i, false
			}
			depth++
			objects <<= 1
			if c == '{' {
				objects |= 1
			}
			i = skipSpace(b, i+1)
			if i >= n {
				return i, false
			}
			if b[i] == c+2 { // '}' is '{'+2, ']' is '['+2
				i++
				depth--
				objects >>= 1
				break
			}
			if c == '{' {
				if i, ok = memberName(b, i); !ok {
					return i, false
				}
			}
			continue
		case '"':
			if i, _, ok = scanString(b, i); !ok {
				return i, false
			}
		case 't':
			if i, ok = literal(b, i, "true"); !ok {
				return i, false
			}
		case 'f':
			if i, ok = literal(b, i, "false"); !ok {
				return i, false
			}
		case 'n':
			if i, ok = literal(b, i, "null"); !ok {
				return i, false
			}
		default:
			if i, ok = number(b, i); !ok {
				return i, false
			}
		}
		// A value ended before b[i]: close containers until the next
		// value starts.
		for {
			if depth == 0 {
				return i, true
			}
			i = skipSpace(b, i)
			if i >= n {
				return i, false
			}
			inObject := objects&1 == 1
			c := b[i]
			if c == ',' {
				i = skipSpace(b, i+1)
				if inObject {
					if i, ok = memberName(b, i); !ok {
						return i, false
					}
				}
				if i >= n {
					return i, false
				}
				break
			}
			if inObject && c == '}' || !inObject && c == ']' {
				i++
				depth--
				objects >>= 1
				continue
			}
			return i, false
		}
	}
}

// memberName checks `"name" :` at b[i] and returns where the value starts.
func memberName(b []byte, i int) (int, bool) {
	if i >= len(b) || b[i] != '"' {
		return i, false
	}
	i, _, ok := scanString(b, i)
	if !ok {
		return i, false
	}
	i = skipSpace(b, i)
	if i >= len(b) || b[i] != ':' {
		return i, false
	}
	i = skipSpace(b, i+1)
	return i, i < len(b)
}

// special8 marks, with the high bit of each byte, the quotes, backslashes
// and control characters among the eight bytes of w. The lowest mark is
// exact (the word tricks of plain8 only err above a true one).
func special8(w uint64) uint64 {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	q, s := w^('"'*ones), w^('\\'*ones)
	return ((q-ones)&^q | (s-ones)&^s | (w-0x20*ones)&^w) & highs
}
