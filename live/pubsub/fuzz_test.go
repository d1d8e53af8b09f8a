package pubsub

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzParse: a subscription name and a checkpoint's position, the two
// things the input parses, never panic; a name accepted is put back
// together as it was, and a position of a subscription so named, written
// as Position writes it, reads back to the same ids.
func FuzzParse(f *testing.F) {
	f.Add("projects/acme-prod/subscriptions/revertwatch", []byte(`{"pubsub":{"subscription":"projects/acme-prod/subscriptions/revertwatch","read":["1","2"]}}`))
	f.Add("projects//subscriptions/s", []byte(`{"sqs":{"read":[]}}`))
	f.Add("projects/p/topics/t", []byte(`null`))
	f.Add("projects/p/subscriptions/s/x", []byte(`{"pubsub":{"read":null}}`))
	f.Add("", []byte(`[`))
	f.Fuzz(func(t *testing.T, name string, pos []byte) {
		project, id, err := ParseSubscription(name)
		read, perr := readPosition(pos, name)
		if err != nil {
			return
		}
		if project == "" || id == "" || strings.Contains(project+id, "/") || "projects/"+project+"/subscriptions/"+id != name {
			t.Fatalf("ParseSubscription(%q) = %q, %q", name, project, id)
		}
		if perr != nil || len(read) == 0 {
			return
		}
		var p Position
		p.PubSub.Subscription, p.PubSub.Read = name, read
		raw, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		again, err := readPosition(raw, name)
		if err != nil || strings.Join(again, "\x00") != strings.Join(read, "\x00") {
			t.Fatalf("position %s read back as %q, %v; want %q", raw, again, err, read)
		}
	})
}
