package source_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/revertwatch/revertwatch/source"
)

// FuzzRecordWriter: whatever entries a list API returns, the pulled
// document is one valid JSON document holding exactly the entries that
// are JSON objects, each as it was.
func FuzzRecordWriter(f *testing.F) {
	f.Add([]byte(`{"eventID":"a"}` + "\x00" + `{"eventVersion":` + "\x00" + `[1]` + "\x00" + ` { "x" : "\u2028" } `))
	f.Add([]byte(`{"a":{"b":[1,2,{"c":null}]}}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		entries := bytes.Split(in, []byte{0})
		var out bytes.Buffer
		w := source.NewRecordWriter(&out, "Records", false)
		kept := 0
		for _, e := range entries {
			rec, ok := source.CompactObject(e)
			if !ok {
				continue
			}
			if err := w.Add(rec); err != nil {
				t.Fatal(err)
			}
			kept++
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		var doc struct{ Records []json.RawMessage }
		if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
			t.Fatalf("the pulled document is not JSON: %v\n%s", err, out.Bytes())
		}
		if len(doc.Records) != kept {
			t.Fatalf("%d records in the document, %d added", len(doc.Records), kept)
		}
		for _, r := range doc.Records {
			var m map[string]any
			if json.Unmarshal(r, &m) != nil {
				t.Fatalf("record %s is not an object", r)
			}
		}
	})
}
