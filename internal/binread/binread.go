// Package binread reads the varint-framed binary forms revertwatch keeps
// in memory and writes to its own temporary files (eventtime's compact
// events, explain's pack of calls). A Reader stops at the first damaged
// byte with an error: a damaged form is never a panic, nor an allocation
// of what it claims.
package binread

import "encoding/binary"

// Reader reads B from its start. After the first failure Err is set, B is
// empty, and every read returns zero.
type Reader struct {
	B   []byte
	Err error
	bad error // what Fail sets
}

// New returns a Reader of b that fails with bad.
func New(b []byte, bad error) Reader { return Reader{B: b, bad: bad} }

// Fail stops the reading with the Reader's error.
func (r *Reader) Fail() {
	if r.Err == nil {
		r.Err = r.bad
	}
	r.B = nil
}

// Byte reads one byte.
func (r *Reader) Byte() byte {
	if len(r.B) == 0 {
		r.Fail()
		return 0
	}
	c := r.B[0]
	r.B = r.B[1:]
	return c
}

// Uvarint reads an unsigned varint.
func (r *Reader) Uvarint() uint64 {
	v, n := binary.Uvarint(r.B)
	if n <= 0 {
		r.Fail()
		return 0
	}
	r.B = r.B[n:]
	return v
}

// Varint reads a signed (zig-zag) varint.
func (r *Reader) Varint() int64 {
	v, n := binary.Varint(r.B)
	if n <= 0 {
		r.Fail()
		return 0
	}
	r.B = r.B[n:]
	return v
}

// Take reads the next n bytes, as a slice of B capped at its length.
func (r *Reader) Take(n uint64) []byte {
	if n > uint64(len(r.B)) {
		r.Fail()
		return nil
	}
	p := r.B[:n:n]
	r.B = r.B[n:]
	return p
}
