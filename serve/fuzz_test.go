package serve

import (
	"bytes"
	"io"
	"testing"
)

// unwrap peels gzip layers off whatever a client sends: it never panics,
// never lets the layers produce more than the budget, and refuses an
// encoding it does not know.
func FuzzUnwrap(f *testing.F) {
	rec := []byte(tinyRecord)
	for _, seed := range [][]byte{rec, gz(rec), gz(gz(rec)), gz(gz(gz(gz(gz(rec))))), {0x1f, 0x8b}, {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}, gz(bytes.Repeat(rec, 2000))} {
		for enc := range uint8(4) {
			f.Add(seed, enc)
		}
	}
	encodings := []string{"", "gzip", "identity", "br"}
	const limit = 1 << 16
	f.Fuzz(func(t *testing.T, data []byte, enc uint8) {
		encoding := encodings[enc%4]
		b := &budget{left: limit}
		r, closeAll, err := unwrap(data, encoding, b)
		if encoding == "br" {
			if err == nil {
				t.Fatal("br accepted")
			}
			return
		}
		if err != nil {
			return
		}
		defer closeAll()
		n, err := io.Copy(io.Discard, r)
		if b.left < 0 {
			t.Fatalf("budget overdrawn: %d", b.left)
		}
		gzipped := len(data) >= 2 && data[0] == 0x1f && data[1] == 0x8b
		if gzipped && n > limit {
			t.Fatalf("%d bytes out of gzip under a %d budget", n, limit)
		}
		if b.over && err != errDecodedTooLarge {
			t.Fatalf("over the budget, error %v", err)
		}
	})
}
