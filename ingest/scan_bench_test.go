package ingest

import (
	"bytes"
	"strings"
	"testing"
)

// BenchmarkScannerValues is the splitter's slow path alone: the bracket
// scanner over the members of a Records array, without decoding them.
func BenchmarkScannerValues(b *testing.B) {
	rec := strings.Replace(fuzzRecord, `"eventVersion":"1.08",`, `"eventVersion":"1.08","pad":"`+strings.Repeat("x", 200)+`",`, 1)
	var in bytes.Buffer
	in.WriteString(`{"Records":[`)
	for i := range 20000 {
		if i > 0 {
			in.WriteByte(',')
		}
		in.WriteString(rec)
	}
	in.WriteString(`]}`)
	data := in.Bytes()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for range b.N {
		sc := newScanner(bytes.NewReader(data), scanBuf, DefaultMaxRecordSize)
		sc.consume()
		if _, err := sc.value(); err != nil { // "Records"
			b.Fatal(err)
		}
		sc.expect(":")
		sc.expect("[")
		for {
			if _, err := sc.value(); err != nil {
				b.Fatal(err)
			}
			if c, _ := sc.expect(",]"); c == ']' {
				break
			}
		}
	}
}
