package ingest_test

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/revertwatch/revertwatch/ingest"
)

// A record without a readable time or without an operation is not an
// event: processed at 0001-01-01 it would be a silent wrong answer (issue
// 18). It is rejected with its file and position, by the full and the
// partial decoders alike.
func TestRejectRecordWithoutTimeOrOperation(t *testing.T) {
	good := ctRecord(1)
	azureGood := azureRecord(2, 0)
	for _, tc := range []struct {
		name, record string
		reason       string // "" when the record is an event
	}{
		{"good", good, ""},
		{"eventTime yesterday", strings.Replace(good, `"eventTime":"2024-03-01T10:00:01Z"`, `"eventTime":"yesterday"`, 1), "no readable event time"},
		{"no eventTime", strings.Replace(good, `"eventTime":"2024-03-01T10:00:01Z",`, ``, 1), "no readable event time"},
		{"eventTime yesterday, @timestamp readable", strings.Replace(good, `"eventTime":"2024-03-01T10:00:01Z"`, `"eventTime":"yesterday","@timestamp":"2024-03-01T10:00:01Z"`, 1), ""},
		{"no eventName", strings.Replace(good, `"eventName":"StopInstances",`, ``, 1), "no operation"},
		{"neither", strings.Replace(strings.Replace(good, `"eventName":"StopInstances",`, ``, 1), `"eventTime":"2024-03-01T10:00:01Z",`, ``, 1), "no event time and no operation"},
		{"azure good", azureGood, ""},
		{"azure time yesterday", replaceTime(t, azureGood), "no readable event time"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.record == good && tc.reason != "" || tc.record == azureGood && tc.reason != "" {
				t.Fatal("the record was not changed")
			}
			data := []byte(ctRecord(0) + "\n" + tc.record + "\n" + ctRecord(3) + "\n")
			var first run
			for i, opt := range []ingest.Options{
				{},
				{Jobs: 2},
				{Want: func(string, string) bool { return false }},
				{Jobs: 2, Want: func(string, string) bool { return false }},
				{QueryFields: true},
				{Jobs: 2, QueryFields: true},
			} {
				r := readBytes(t, data, opt)
				if i == 0 {
					first = r
				} else if !reflect.DeepEqual(r.diags, first.diags) || len(r.events) != len(first.events) || r.sum != first.sum {
					t.Errorf("options %d: the partial or parallel decoder disagrees:\n%s\nwant\n%s", i, r.describe(), first.describe())
				}
				for _, ev := range r.events {
					if ev.Time.IsZero() || ev.Operation == "" {
						t.Errorf("options %d: event without a time or an operation: %+v", i, ev.Source)
					}
				}
			}
			rej := first.diagsOf(ingest.Rejected)
			if tc.reason == "" {
				if len(first.events) != 3 || len(first.diags) != 0 {
					t.Errorf("want 3 events\n%s", first.describe())
				}
				return
			}
			if len(first.events) != 2 || len(rej) != 1 || first.sum.ExitCode() == 0 {
				t.Fatalf("want 2 events and one rejected record\n%s", first.describe())
			}
			d := rej[0]
			if d.Reason != tc.reason || d.File != "-" || d.Line != 2 || d.Index != 1 || d.Offset != int64(len(ctRecord(0))+1) ||
				!strings.Contains(d.Msg, "record 1 has "+tc.reason) || strings.Contains(d.Msg, "forced") {
				t.Errorf("got %+v", d)
			}
		})
	}
}

// replaceTime sets an Azure record's time to "yesterday".
func replaceTime(t *testing.T, rec string) string {
	t.Helper()
	i := strings.Index(rec, `"time":"`)
	if i < 0 {
		t.Fatalf("no time in %s", rec)
	}
	j := strings.IndexByte(rec[i+len(`"time":"`):], '"')
	return rec[:i] + `"time":"yesterday"` + rec[i+len(`"time":"`)+j+1:]
}

// A record read in a forced format it does not fit is rejected, naming
// the file, the position and the forced format: CloudTrail read as Azure
// used to give events at 0001-01-01 with no operation, and Azure read as
// EventBridge was skipped without a word (issue 18).
func TestForcedFormatMismatchRejected(t *testing.T) {
	for _, tc := range []struct {
		dir    string
		format ingest.Format
	}{
		{"cloudtrail", ingest.FormatAzure},
		{"cloudtrail", ingest.FormatAzureExport},
		{"azure", ingest.FormatCloudTrail},
		{"azure", ingest.FormatEventBridge},
		{"azure", ingest.FormatLookupEvents},
		{"azure", ingest.FormatCloudWatch},
	} {
		t.Run(fmt.Sprintf("%s as %s", tc.dir, tc.format), func(t *testing.T) {
			var inputs []string
			root := filepath.Join("..", "testdata", "formats", tc.dir)
			err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					inputs = append(inputs, p)
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			auto := read(t, inputs, ingest.Options{})
			r := read(t, inputs, ingest.Options{Format: tc.format})
			if len(r.events) != 0 || r.sum.Rejected == 0 || r.sum.ExitCode() == 0 {
				t.Fatalf("want every record rejected\n%s", r.describe())
			}
			// Every record auto-detection made an event of is rejected.
			if r.sum.Rejected < len(auto.events) {
				t.Errorf("%d rejected, %d events when recognised", r.sum.Rejected, len(auto.events))
			}
			for _, d := range r.diagsOf(ingest.Rejected) {
				if d.File == "" || d.File == "-" || d.Line == 0 && d.Offset == 0 && d.Index > 0 {
					t.Errorf("no file or position: %+v", d)
				}
				if tc.format != ingest.FormatCloudWatch && tc.format != ingest.FormatLookupEvents &&
					!strings.Contains(d.Msg, "forced format "+string(tc.format)) {
					t.Errorf("message does not name the forced format: %s", d)
				}
			}
		})
	}
}
