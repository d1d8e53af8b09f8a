package cloudtrail

// Fuzz targets for the CloudTrail record decoder and its wrappers. Run one
// with, for example,
//
//	go test -run='^$' -fuzz=FuzzDecode -fuzztime=45s ./ingest/cloudtrail/
//
// Invariants: no panic on any JSON object; the event names the provider,
// keeps eventName as its operation and can be written as JSON.

import (
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/valyala/fastjson"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/internal/jsonx"
)

// fuzzRecords are seed records covering the shapes of telemetry.md §2.1:
// the legacy family (items, item, {} lists, epoch milliseconds) and the
// wrapper family (<Action>Request, PascalCase, {content, tag}).
var fuzzRecords = []string{
	`{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLE:ops","arn":"arn:aws:sts::111122223333:assumed-role/Ops/ops",` +
		`"sessionContext":{"sessionIssuer":{"arn":"arn:aws:iam::111122223333:role/aws-service-role/backup.amazonaws.com/R"},"attributes":{"mfaAuthenticated":"true"}},"invokedBy":"backup.amazonaws.com"},` +
		`"eventTime":"2024-03-01T10:00:00Z","eventSource":"ec2.amazonaws.com","eventName":"RunInstances","awsRegion":"eu-west-1","sourceIPAddress":"AWS Internal",` +
		`"requestParameters":{"instancesSet":{"items":[{"imageId":"ami-1","minCount":1}]},"blockDeviceMapping":{}},` +
		`"responseElements":{"instancesSet":{"items":[{"instanceId":"i-1","rootDeviceName":"/dev/xvda","launchTime":1643590371083,"privateIpAddressesSet":{"item":[{"privateIpAddress":"10.0.0.1"}]}}]}},` +
		`"sessionCredentialFromConsole":true,"eventID":"e-1","recipientAccountId":"111122223333","addendum":{"reason":"UPDATED_DATA","originalEventID":"e-0"}}`,
	`{"eventVersion":"1.09","eventTime":"2024-03-01 10:00:00","eventName":"CreateReplaceRootVolumeTask","eventSource":"ec2.amazonaws.com","errorCode":"Client.DryRunOperation",` +
		`"requestParameters":{"CreateReplaceRootVolumeTaskRequest":{"InstanceId":"i-1","SnapshotId":{"content":"snap-1","tag":1}}},` +
		`"responseElements":{"CreateReplaceRootVolumeTaskResponse":{"replaceRootVolumeTask":{"replaceRootVolumeTaskId":"replacevol-1"}}}}`,
	`{"eventName":"AttachVolume","awsRegion":"us-east-1","@timestamp":1700000000,"requestParameters":{"volumeId":"vol-1","instanceId":"i-1","device":"/dev/sda1"},"responseElements":null,"errorCode":"Client.X"}`,
	`{"eventName":"RestoreDBInstanceToPointInTime","eventSource":"rds.amazonaws.com","requestParameters":{"sourceDBInstanceIdentifier":"a","targetDBInstanceIdentifier":"b","restoreTime":"2024-01-01T00:00:00Z"}}`,
	`{"eventName":"StartRestoreJob","eventSource":"backup.amazonaws.com","requestParameters":{"recoveryPointArn":"arn:aws:ec2:eu-west-1::snapshot/snap-1"},"responseElements":{"restoreJobId":"r-1"}}`,
	`{"eventName":"CreateSnapshots","eventSource":"ec2.amazonaws.com","responseElements":{"CreateSnapshotsResponse":{"snapshotSet":{"item":{"snapshotId":"snap-2","volumeId":"vol-2"}}}}}`,
	`{"eventSource":"x","eventName":{"a":1},"userIdentity":"nope","requestParameters":[1,2],"responseElements":"s","eventTime":{}}`,
}

func decodeChecked(t *testing.T, v *fastjson.Value, ev *event.Event) {
	Decode(v, ev)
	if ev.Provider != event.AWS {
		t.Fatalf("provider %q", ev.Provider)
	}
	if name := jsonx.Str(v.Get("eventName")); ev.Operation != name || ev.OperationName != name {
		t.Fatalf("operation %q, eventName %q", ev.Operation, name)
	}
	if _, err := json.Marshal(ev); err != nil {
		t.Fatalf("event cannot be written as JSON: %v", err)
	}
}

// FuzzDecode decodes an arbitrary JSON object as a CloudTrail record.
func FuzzDecode(f *testing.F) {
	for _, r := range fuzzRecords {
		f.Add([]byte(r))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// What the file decoder hands on: parsed, and JSON token by token.
		var p fastjson.Parser
		v, err := p.ParseBytes(data)
		if err != nil || v.Type() != fastjson.TypeObject || !jsonx.ValidTokens(data) {
			return
		}
		IsRecord(v)
		decodeChecked(t, v, &event.Event{Raw: data})
	})
}

// FuzzEventBridge wraps an arbitrary JSON value as the detail of an
// EventBridge envelope with an arbitrary detail-type and time.
func FuzzEventBridge(f *testing.F) {
	for _, r := range fuzzRecords {
		f.Add([]byte(r), "AWS API Call via CloudTrail", "2024-03-01T10:00:05Z")
	}
	f.Add([]byte(`{"state":"stopped"}`), "EC2 Instance State-change Notification", "x")
	f.Add([]byte(`"s"`), "...", "")
	f.Fuzz(func(t *testing.T, detail []byte, detailType, tm string) {
		if !utf8.ValidString(detailType) {
			return // encoding/json would replace the bad bytes
		}
		dt, _ := json.Marshal(detailType)
		ts, _ := json.Marshal(tm)
		env := `{"version":"0","detail-type":` + string(dt) + `,"time":` + string(ts) + `,"account":"1","region":"r","detail":` + string(detail) + `}`
		var p fastjson.Parser
		v, err := p.Parse(env)
		if err != nil || !jsonx.ValidTokens([]byte(env)) {
			return
		}
		if !IsEventBridge(v) {
			t.Fatalf("envelope not recognised: %s", env)
		}
		d, gotType := EventBridgeDetail(v)
		if gotType != detailType {
			t.Fatalf("detail-type %q, want %q", gotType, detailType)
		}
		if d == nil {
			return
		}
		if d.Type() != fastjson.TypeObject {
			t.Fatalf("detail of type %s accepted", d.Type())
		}
		ev := &event.Event{}
		DecodeEventBridge(v, d, ev)
		if ev.Format != event.FormatCloudTrailEventBridge || ev.Region == "" || ev.Account == "" {
			t.Fatalf("format %q region %q account %q", ev.Format, ev.Region, ev.Account)
		}
		if _, err := json.Marshal(ev); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzWrappers puts an arbitrary string where the CloudWatch Logs and
// LookupEvents wrappers carry a record as JSON text, and decodes it the
// way the file decoder does when it is a record.
func FuzzWrappers(f *testing.F) {
	for _, r := range fuzzRecords {
		f.Add(r)
	}
	f.Add("CWL CONTROL MESSAGE: Checking health of destination")
	f.Fuzz(func(t *testing.T, msg string) {
		m, _ := json.Marshal(msg)
		var p, inner fastjson.Parser
		for _, w := range []string{
			`{"id":"1","timestamp":1700000000000,"message":` + string(m) + `}`,
			`{"EventId":"e","EventName":"n","CloudTrailEvent":` + string(m) + `}`,
			`{"messageType":"DATA_MESSAGE","logEvents":[{"id":"1","timestamp":1,"message":` + string(m) + `}]}`,
		} {
			v, err := p.Parse(w)
			if err != nil {
				t.Fatalf("%s: %v", w, err)
			}
			if !IsCloudWatchLogEvent(v) && !IsLookupEvent(v) && !IsCloudWatchPayload(v) {
				t.Fatalf("wrapper not recognised: %s", w)
			}
			iv, err := inner.Parse(msg)
			if err != nil || !IsRecord(iv) || !jsonx.ValidTokens([]byte(msg)) {
				continue
			}
			decodeChecked(t, iv, &event.Event{Raw: []byte(msg)})
		}
	})
}
