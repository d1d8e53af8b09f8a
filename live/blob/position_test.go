package blob_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/revertwatch/revertwatch/live/blob"
)

func TestParsePosition(t *testing.T) {
	good := `{"azblob":[{"name":"a/PT1H.json","created":"2026-11-02T14:00:01Z","etag":"\"0x1\"","offset":10,"line":1,"tail_len":10,"tail":"00112233445566778899aabbccddeeff"}]}`
	if _, err := blob.ParsePosition([]byte(good)); err != nil {
		t.Errorf("refused %s: %v", good, err)
	}
	for _, bad := range []string{
		`[{"path":"f","offset":3}]`, // a file watch's positions
		`{"sqs":{"read":[]}}`,       // an SQS input's
		`{"azblob":[{"name":"","offset":0,"line":0}]}`,
		`{"azblob":[{"name":"a","offset":-1,"line":0}]}`,
		`{"azblob":[{"name":"a","offset":1,"line":2}]}`,
		`{"azblob":[{"name":"a","offset":1,"line":0},{"name":"a","offset":1,"line":0}]}`,
		`{"azblob":[{"name":"a","offset":4,"line":0,"tail_len":5,"tail":"00112233445566778899aabbccddeeff"}]}`,
		`{"azblob":[{"name":"a","offset":4,"line":0,"tail_len":4,"tail":"zz"}]}`,
		`{"azblob":[{"name":"a","offset":4,"line":0,"tail":"00112233445566778899aabbccddeeff"}]}`,
	} {
		if _, err := blob.ParsePosition([]byte(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

// FuzzParsePosition: any checkpoint position parses or errs without
// panicking, and one that parses is written back to the same marks.
func FuzzParsePosition(f *testing.F) {
	f.Add([]byte(`{"azblob":[{"name":"a/PT1H.json","created":"2026-11-02T14:00:01Z","etag":"\"0x1\"","offset":10,"line":1,"tail_len":10,"tail":"00112233445566778899aabbccddeeff"}]}`))
	f.Add([]byte(`{"azblob":[]}`))
	f.Add([]byte(`[{"path":"f"}]`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		p, err := blob.ParsePosition(raw)
		if err != nil {
			return
		}
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		q, err := blob.ParsePosition(b)
		if err != nil {
			t.Fatalf("%s: written back as %s, refused: %v", raw, b, err)
		}
		if !reflect.DeepEqual(p, q) {
			t.Fatalf("%s: %+v written back as %+v", raw, p, q)
		}
	})
}
