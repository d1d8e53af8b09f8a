package ingest_test

// Regression tests: each one failed before the decoder fix it names.

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/ingest"
)

const regressRecord = `{"eventVersion":"1.08","eventTime":"2024-03-01T10:00:00Z","eventSource":"ec2.amazonaws.com",` +
	`"eventName":"AttachVolume","awsRegion":"eu-west-1","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/ops"},` +
	`"recipientAccountId":"111122223333","eventID":"e-1"}`

// An EventBridge envelope whose detail-type was blanked (as sanitized
// samples do) around a CloudTrail record was skipped as "another
// detail-type"; the record is now decoded, with a note. Fixed in
// cloudtrail.EventBridgeDetail.
func TestRegressEventBridgeUnknownDetailType(t *testing.T) {
	in := `{"version":"0","id":"x","detail-type":"...","source":"aws.ec2","account":"111122223333","detail":` + regressRecord + "}\n" +
		`{"version":"0","id":"y","detail-type":"Backup Job State Change","source":"aws.backup","detail":{"backupJobId":"b-1","state":"COMPLETED"}}` + "\n"
	r := readBytes(t, []byte(in), ingest.Options{})
	if len(r.events) != 1 || r.sum.Skipped != 1 || r.sum.Rejected != 0 {
		t.Fatalf("want one event and one skip\n%s", r.describe())
	}
	ev := r.events[0]
	if ev.Format != event.FormatCloudTrailEventBridge || ev.Operation != "AttachVolume" || !hasNote(ev, `detail-type "..."`) {
		t.Errorf("got %s %s notes %q", ev.Format, ev.Operation, ev.Notes)
	}
	if d := r.diagsOf(ingest.Skipped)[0]; d.Reason != "EventBridge detail-type Backup Job State Change" {
		t.Errorf("skip reason %q", d.Reason)
	}
}

// A CloudWatch Logs payload whose messageType follows logEvents (as any
// re-serializer that sorts keys writes it) was streamed member by member
// before its messageType was known: a CONTROL_MESSAGE was rejected as "not
// a CloudTrail record" instead of skipped, and every event lost its log
// group. Fixed in fileDecoder.object and startEnvelope.
func TestRegressCloudWatchKeyOrder(t *testing.T) {
	quoted := strings.ReplaceAll(regressRecord, `"`, `\"`)
	for _, tc := range []struct {
		name, in       string
		events, skips  int
		wantLogGroup   string
		wantSkipReason string
	}{
		{
			name:           "control message, messageType last",
			in:             `{"logEvents":[{"id":"1","timestamp":1700000000000,"message":"CWL CONTROL MESSAGE: Checking health of destination"}],"logGroup":"","messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs"}`,
			skips:          1,
			wantSkipReason: "CloudWatch CONTROL_MESSAGE",
		},
		{
			name:         "data message, messageType last",
			in:           `{"logEvents":[{"id":"1","timestamp":1700000000000,"message":"` + quoted + `"}],"logGroup":"trail/group","messageType":"DATA_MESSAGE","owner":"111122223333"}`,
			events:       1,
			wantLogGroup: "trail/group",
		},
		{
			name:         "data message, AWS key order (streamed)",
			in:           `{"messageType":"DATA_MESSAGE","owner":"111122223333","logGroup":"trail/group","logStream":"s","subscriptionFilters":["f"],"logEvents":[{"id":"1","timestamp":1700000000000,"message":"` + quoted + `"},{"id":"2","timestamp":1700000000001,"message":"` + quoted + `"}]}`,
			events:       2,
			wantLogGroup: "trail/group",
		},
		{
			name:           "control message, AWS key order (streamed)",
			in:             `{"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logGroup":"","logStream":"","subscriptionFilters":[],"logEvents":[{"id":"1","timestamp":1700000000000,"message":"CWL CONTROL MESSAGE: Checking health of destination"}]}`,
			skips:          1,
			wantSkipReason: "CloudWatch CONTROL_MESSAGE",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := readBytes(t, []byte(tc.in), ingest.Options{})
			if len(r.events) != tc.events || r.sum.Skipped != tc.skips || r.sum.Rejected != 0 || r.sum.FileErrors != 0 {
				t.Fatalf("want %d events and %d skips\n%s", tc.events, tc.skips, r.describe())
			}
			for _, ev := range r.events {
				if ev.Format != event.FormatCloudTrailCloudWatch || ev.Source.Header != tc.wantLogGroup || ev.Operation != "AttachVolume" {
					t.Errorf("event %s %s from log group %q, want %q", ev.Format, ev.Operation, ev.Source.Header, tc.wantLogGroup)
				}
			}
			if tc.skips > 0 && r.diagsOf(ingest.Skipped)[0].Reason != tc.wantSkipReason {
				t.Errorf("skip reason %q", r.diagsOf(ingest.Skipped)[0].Reason)
			}
		})
	}
}

// A closing bracket or comma where a value belongs ("{} }", "[1,]") made
// the scanner return an empty value without moving: the top level then
// rejected empty records forever, without reading on. It is now damage to
// the structure, named, and reading stops. Fixed in scanner.value.
func TestRegressMissingValueTerminates(t *testing.T) {
	for _, tc := range []struct {
		in     string
		events int
	}{
		{"{} }", 0},
		{"{}\n]\n", 0},
		{"[1,]", 0},
		{`{"Records":[` + regressRecord + `,]}`, 1},
		{`[` + regressRecord + `,,` + regressRecord + `]`, 1},
		{`{"a":1,}`, 0},
	} {
		done := make(chan run, 1)
		go func() { done <- readBytes(t, []byte(tc.in), ingest.Options{}) }()
		select {
		case r := <-done:
			ferr := r.diagsOf(ingest.FileErr)
			if len(r.events) != tc.events || len(ferr) != 1 || !strings.Contains(ferr[0].Msg, "expected a value") {
				t.Errorf("%q: want %d events and one structure error\n%s", tc.in, tc.events, r.describe())
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%q: decoding does not end", tc.in)
		}
	}
}

// The JSON parser tolerates text that is not JSON (leading zeros, nan,
// bad escapes, raw control characters): such a record became an event
// whose raw bytes, request or response could not be written as JSON, and
// `cat` stopped with an encoding error. They are now refused as malformed,
// and a body string that is not JSON is treated as absent. Fixed in
// parseStrict (ingest) and jsonx.Embedded.
func TestRegressLenientJSONRefused(t *testing.T) {
	bad := []string{
		`{"eventVersion":"1.08","eventName":"X","eventSource":"s","n":00}`,
		`{"eventVersion":"1.08","eventName":"X","eventSource":"s","n":nan}`,
		`{"eventVersion":"1.08","eventName":"X","eventSource":"s","requestParameters":{"a":"\x"}}`,
		"{\"eventVersion\":\"1.08\",\"eventName\":\"X\",\"eventSource\":\"s\",\"a\":\"\x01\"}",
		"{\"eventVersion\":\"1.08\",\"eventName\":\"X\",\"eventSource\":\"s\",\"a\":\"\x00\\b\"}", // fastjson.Validate misses this one
		`{"EventId":"e","EventName":"X","CloudTrailEvent":"{\"eventVersion\":\"1\",\"n\":.5}"}`,
	}
	in := regressRecord + "\n" + strings.Join(bad, "\n") + "\n" +
		`{"time":"2024-03-01T10:00:00Z","operationName":"MICROSOFT.COMPUTE/DISKS/WRITE","resourceId":"/subscriptions/s/resourceGroups/r/providers/Microsoft.Compute/disks/d",` +
		`"resultType":"Success","properties":{"responseBody":"{\"properties\":{\"creationData\":{\"createOption\":01}}}"}}` + "\n"
	r := readBytes(t, []byte(in), ingest.Options{})
	if len(r.events) != 2 || r.sum.Rejected != len(bad) {
		t.Fatalf("want 2 events and %d rejected\n%s", len(bad), r.describe())
	}
	for _, d := range r.diagsOf(ingest.Rejected) {
		if !strings.Contains(d.Reason, "malformed") {
			t.Errorf("line %d rejected as %q", d.Line, d.Reason)
		}
	}
	for _, ev := range r.events {
		if _, err := json.Marshal(ev); err != nil {
			t.Errorf("%s: %v", ev.Operation, err)
		}
	}
	if az := r.events[1]; az.Response != nil || az.Keys.CreateOption != "" {
		t.Errorf("a body that is not JSON was used: response %s, createOption %q", az.Response, az.Keys.CreateOption)
	}
}
