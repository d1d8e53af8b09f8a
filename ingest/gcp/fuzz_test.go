package gcp

// Fuzz targets for the Cloud Audit Logs decoder. Run with
//
//	go test -run='^$' -fuzz=FuzzDecode -fuzztime=30s ./ingest/gcp/
//	go test -run='^$' -fuzz=FuzzPubSub -fuzztime=30s ./ingest/gcp/
//
// Invariants: no panic on any JSON object in either shape; the operation
// is the methodName without an API version; every key is a path from
// projects/ or a name as written, never a URL; every event has a UID and
// can be written as JSON.

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/valyala/fastjson"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/internal/jsonx"
)

var fuzzRecords = []string{
	// A LogEntry: the first entry of a long-running disks.insert.
	`{"insertId":"a1","logName":"projects/p/logs/cloudaudit.googleapis.com%2Factivity","operation":{"id":"operation-1","producer":"compute.googleapis.com","first":true},` +
		`"protoPayload":{"@type":"type.googleapis.com/google.cloud.audit.AuditLog","authenticationInfo":{"principalEmail":"a@example.com","serviceAccountDelegationInfo":[{"firstPartyPrincipal":{"principalEmail":"b@example.com"}}]},` +
		`"methodName":"beta.compute.disks.insert","request":{"@type":"type.googleapis.com/compute.disks.insert","name":"d","sourceSnapshot":"https://www.googleapis.com/compute/beta/projects/p/global/snapshots/s"},` +
		`"requestMetadata":{"callerIp":"2001:db8::1","callerSuppliedUserAgent":"x"},"resourceName":"projects/p/zones/z/disks/d","serviceName":"compute.googleapis.com"},` +
		`"resource":{"type":"gce_disk","labels":{"project_id":"p","zone":"z"}},"severity":"NOTICE","timestamp":"2024-05-29T16:28:10.456Z"}`,
	// An instances.insert with a boot disk from an image and a machine image.
	`{"logName":"projects/p/logs/x","protoPayload":{"methodName":"v1.compute.instances.insert","resourceName":"projects/123/zones/z/instances/i",` +
		`"request":{"disks":[{"boot":true,"initializeParams":{"sourceImage":"global/images/im","sourceSnapshot":"x"}},{"source":"zones/z/disks/d2"}],"sourceMachineImage":"global/machineImages/m"}},` +
		`"resource":{"labels":{"project_id":"p"}},"timestamp":"2024-05-29T16:28:10Z"}`,
	// An attachDisk as boot; a failure.
	`{"protoPayload":{"methodName":"compute.instances.attachDisk","request":{"source":"zones/z/disks/d","boot":"true"},"status":{"code":7}},"severity":"ERROR","timestamp":1717000000}`,
	// A BigQuery row.
	`{"logName":"projects/p/logs/cloudaudit.googleapis.com%2Factivity","timestamp":"2024-05-29 16:26:40.123 UTC","insertId":"q",` +
		`"protopayload_auditlog":{"methodName":"v1.compute.images.insert","resourceName":"projects/p/global/images/i","requestJson":"{\"sourceSnapshot\":\"global/snapshots/s\"}"}}`,
	// Types other than expected everywhere.
	`{"protoPayload":{"methodName":["x"],"request":"{}","authenticationInfo":"e","status":{"code":"x"}},"operation":[],"timestamp":{},"resource":null}`,
	`{"protoPayload":{"methodName":"v1.","resourceName":"https://","request":{"disks":{"items":[1]}}},"logName":"projects/"}`,
}

// FuzzDecode decodes an arbitrary JSON object as each shape.
func FuzzDecode(f *testing.F) {
	for _, r := range fuzzRecords {
		f.Add([]byte(r))
	}
	var d Decoder
	f.Fuzz(func(t *testing.T, data []byte) {
		var p fastjson.Parser
		v, err := p.ParseBytes(data)
		if err != nil || !jsonx.ValidTokens(data) || v.Type() != fastjson.TypeObject {
			return
		}
		Classify(v)
		IsPubSub(v)
		for _, shape := range []Shape{LogEntry, BigQuery} {
			IsAudit(v, shape)
			ev := &event.Event{Raw: data}
			d.Decode(v, shape, ev)
			if ev.Provider != event.GCP || ev.UID == "" {
				t.Fatalf("shape %d: provider %q uid %q", shape, ev.Provider, ev.UID)
			}
			if ev.Operation != Method(ev.OperationName) {
				t.Fatalf("operation %q from %q", ev.Operation, ev.OperationName)
			}
			k := ev.Keys
			for _, list := range [][]string{k.Instances, k.Volumes, k.SourceVolumes, k.Snapshots, k.SourceSnapshots, k.Images, k.SourceInstances} {
				for _, id := range list {
					if strings.Contains(id, "://") {
						t.Fatalf("key %q is a URL, not a path", id)
					}
				}
			}
			if _, err := json.Marshal(ev); err != nil {
				t.Fatalf("shape %d: event cannot be written as JSON: %v", shape, err)
			}
		}
	})
}

// FuzzPubSub unwraps arbitrary Pub/Sub bodies: never a panic, and data
// that decodes is what was encoded.
func FuzzPubSub(f *testing.F) {
	enc := base64.StdEncoding.EncodeToString([]byte(fuzzRecords[0]))
	f.Add([]byte(`{"message":{"data":"` + enc + `","messageId":"1","publishTime":"2024-05-29T16:28:11Z"},"subscription":"projects/p/subscriptions/s"}`))
	f.Add([]byte(`{"ackId":"a","message":{"data":"e30=","attributes":{"logging.googleapis.com/timestamp":"x"}}}`))
	f.Add([]byte(`{"data":{"insertId":"x"},"publish_time":1717000000,"attributes":{}}`))
	f.Add([]byte(`{"message":{"data":"!!not base64"}}`))
	f.Add([]byte(`{"message":{"data":12}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var p fastjson.Parser
		v, err := p.ParseBytes(data)
		if err != nil || !IsPubSub(v) {
			return
		}
		m, err := PubSub(v)
		if err != nil {
			return
		}
		if s := jsonx.Str(jsonx.Path(v, "message", "data")); s != "" {
			if b, err := base64.StdEncoding.DecodeString(s); err == nil && string(b) != string(m.Data) {
				t.Fatalf("data %q decoded as %q", b, m.Data)
			}
		}
	})
}
