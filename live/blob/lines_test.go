package blob

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestLineEnd(t *testing.T) {
	cases := []struct {
		data           string
		capped, stable bool
		want           int
	}{
		{"{\"a\":1}\n{\"b\"", false, true, 8},     // half a record stays
		{"{\"a\":1}\n{\"b\":2}", false, false, 8}, // still changing: wait
		{"{\"a\":1}\n{\"b\":2}", false, true, 15}, // stopped, whole: read
		{"{\"a\":1}\n{\"b\":2}", true, true, 8},   // more beyond the read
		{"{\"a\":1", true, false, 6},              // no newline in a full read
		{"", false, true, 0},
	}
	for _, c := range cases {
		if got := lineEnd([]byte(c.data), c.capped, c.stable); got != c.want {
			t.Errorf("lineEnd(%q, capped %v, stable %v) = %d, want %d", c.data, c.capped, c.stable, got, c.want)
		}
	}
}

// FuzzLineEnd: what a read runs is a prefix of the data that ends after
// a newline, or is all of it — only once the blob stopped changing and
// the last line is whole JSON, or when a full read has no newline.
func FuzzLineEnd(f *testing.F) {
	f.Add([]byte("{\"a\":1}\n{\"b\""), false, true)
	f.Add([]byte("{\"a\":1}\n{\"b\":2}"), false, true)
	f.Add([]byte("\x1f\x8b"), true, false)
	f.Fuzz(func(t *testing.T, data []byte, capped, stable bool) {
		end := lineEnd(data, capped, stable)
		switch {
		case end < 0 || end > len(data):
			t.Fatalf("end %d of %d bytes", end, len(data))
		case end == 0, data[end-1] == '\n':
		case end == len(data) && capped && !bytes.Contains(data, []byte{'\n'}):
		case end == len(data) && stable && !capped && json.Valid(bytes.TrimSpace(data[bytes.LastIndexByte(data, '\n')+1:])):
		default:
			t.Fatalf("%q (capped %v, stable %v): runs %q, a partial line", data, capped, stable, data[:end])
		}
		_ = isWhole(data)
	})
}
