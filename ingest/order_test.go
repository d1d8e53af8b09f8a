package ingest_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/revertwatch/revertwatch/ingest"
)

func TestSortByTime(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	rec := func(t string) string {
		return `{"eventVersion":"1.11","eventTime":"` + t + `","eventSource":"ec2.amazonaws.com","eventName":"StopInstances","awsRegion":"us-east-1"}` + "\n"
	}
	a := write("a-late.jsonl", rec("2026-11-02T15:00:00Z")+rec("2026-11-02T09:00:00Z"))
	b := write("b-early.jsonl", rec("2026-11-02T10:00:00Z"))
	c := write("c-junk.txt", "not json")
	d := write("d-same-as-b.jsonl", rec("2026-11-02T10:00:00Z"))
	got := ingest.SortByTime(context.Background(), []string{"-", a, c, b, d}, ingest.Options{Jobs: 2})
	// Files without an event keep their order after the dated ones; stdin
	// is never opened and comes last.
	want := []string{b, d, a, c, "-"}
	if !slices.Equal(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
}
