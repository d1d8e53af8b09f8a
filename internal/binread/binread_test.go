package binread

import (
	"encoding/binary"
	"errors"
	"testing"
)

var errBad = errors.New("bad")

// What was written reads back; past the end, the Reader fails once, with
// its error, and every later read is zero.
func TestReader(t *testing.T) {
	var b []byte
	b = binary.AppendUvarint(b, 300)
	b = binary.AppendVarint(b, -7)
	b = append(b, 9, 'a', 'b', 'c')
	r := New(b, errBad)
	if r.Uvarint() != 300 || r.Varint() != -7 || r.Byte() != 9 || string(r.Take(2)) != "ab" || r.Err != nil {
		t.Fatalf("read back wrong: %v", r.Err)
	}
	if p := r.Take(2); p != nil || r.Err != errBad || len(r.B) != 0 {
		t.Fatalf("Take past the end: %q %v", p, r.Err)
	}
	if r.Byte() != 0 || r.Uvarint() != 0 || r.Varint() != 0 {
		t.Fatal("a failed Reader read something")
	}
}

// FuzzReader: any bytes and any sequence of reads end in values or the
// Reader's error, never a panic; a read never returns more than was left.
func FuzzReader(f *testing.F) {
	f.Add([]byte{0x80, 0x80, 0x01, 3, 'x'}, []byte{0, 1, 2, 3})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, []byte{0, 1})
	f.Fuzz(func(t *testing.T, data, ops []byte) {
		r := New(data, errBad)
		for _, op := range ops {
			left := len(r.B)
			switch op % 4 {
			case 0:
				r.Uvarint()
			case 1:
				r.Varint()
			case 2:
				r.Byte()
			case 3:
				if p := r.Take(uint64(op)); len(p) > left {
					t.Fatalf("took %d of %d bytes", len(p), left)
				}
			}
			if r.Err != nil && (r.Err != errBad || len(r.B) != 0) {
				t.Fatalf("failed with %v, %d bytes left", r.Err, len(r.B))
			}
		}
	})
}
