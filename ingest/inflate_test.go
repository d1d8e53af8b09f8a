package ingest_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/ingest"
)

// Options.Inflate is told what each awslogs payload inflates to, and a
// false answer rejects the record without inflating it.
func TestInflateBudget(t *testing.T) {
	quoted, _ := json.Marshal(ctRecord(1))
	payload := `{"messageType":"DATA_MESSAGE","logGroup":"g","logEvents":[{"id":"1","timestamp":1,"message":` + string(quoted) + `}]}`
	line := `{"awslogs":{"data":"` + base64.StdEncoding.EncodeToString(gzipBytes(t, []byte(payload))) + `"}}` + "\n"
	left := len(payload) * 2 // two payloads' worth
	var asked []int
	var events int
	st, err := ingest.DecodeStream(context.Background(), "in", strings.NewReader(strings.Repeat(line, 4)), ingest.Options{
		Inflate: func(n int) bool {
			asked = append(asked, n)
			left -= n
			return left >= 0
		},
	}, ingest.Handlers{Event: func(*event.Event) error { events++; return nil }})
	if err != nil {
		t.Fatal(err)
	}
	if events != 2 || st.Rejected["over the decompression budget"] != 2 {
		t.Fatalf("%d events, rejected %v: want 2 and 2 over the budget", events, st.Rejected)
	}
	// Two inflated (asked before and after each), the third inflated past
	// the budget, the fourth refused before inflating.
	want := []int{0, len(payload), 0, len(payload), 0, len(payload), 0}
	if len(asked) != len(want) {
		t.Fatalf("asked %v, want %v", asked, want)
	}
	for i := range want {
		if asked[i] != want[i] {
			t.Fatalf("asked %v, want %v", asked, want)
		}
	}
}
