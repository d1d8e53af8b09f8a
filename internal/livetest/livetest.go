// Package livetest makes CloudTrail records and ground truth for the tests
// of the live modes (watch, serve, its NATS replicas): a stop and start of
// one instance in any account, at any time, with deterministic ids, and
// the findings the batch detector makes of any input, as the oracle.
package livetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/revertwatch/revertwatch/detect"
	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/ingest"
	"github.com/revertwatch/revertwatch/tune"
)

// uuid is a deterministic UUID-shaped id.
func uuid(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	b := h.Sum(nil)
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// Instance is a deterministic EC2 instance id for a name in an account.
func Instance(account, name string) string {
	h := sha256.Sum256([]byte(account + "/" + name))
	return fmt.Sprintf("i-%x", h[:9])[:19]
}

// Record is one CloudTrail record, JSON on one line, of an EC2 call on one
// instance by a stolen key.
func Record(account, region, op, instance string, at time.Time) []byte {
	id := uuid(account, region, op, instance, at.Format(time.RFC3339Nano))
	return fmt.Appendf(nil, `{"eventVersion":"1.11","userIdentity":{"type":"IAMUser","principalId":"AIDACBHPWU6MNQIGGXIME","arn":"arn:aws:iam::%[1]s:user/svc-deploy","accountId":"%[1]s","accessKeyId":"AKIAMNQ65HTLG3FFLQIB","userName":"svc-deploy"},"eventTime":"%[2]s","eventSource":"ec2.amazonaws.com","eventName":"%[3]s","awsRegion":"%[4]s","sourceIPAddress":"203.0.113.45","userAgent":"aws-cli/2.15.30","requestParameters":{"instancesSet":{"items":[{"instanceId":"%[5]s"}]}},"responseElements":{"requestId":"%[6]s","instancesSet":{"items":[{"instanceId":"%[5]s"}]}},"requestID":"%[6]s","eventID":"%[6]s","readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"%[1]s","eventCategory":"Management"}`,
		account, at.UTC().Format(time.RFC3339), op, region, instance, id)
}

// LogEntry is one Cloud Audit Logs entry (Admin Activity), JSON on one
// line, of a Compute Engine call (method such as "v1.compute.instances.stop")
// on one instance, as a Logging sink publishes it to Pub/Sub.
func LogEntry(project, zone, method, instance string, at time.Time) []byte {
	id := uuid(project, zone, method, instance, at.Format(time.RFC3339Nano))
	return fmt.Appendf(nil, `{"insertId":"%[6]s","logName":"projects/%[1]s/logs/cloudaudit.googleapis.com%%2Factivity","protoPayload":{"@type":"type.googleapis.com/google.cloud.audit.AuditLog","authenticationInfo":{"principalEmail":"deploy@%[1]s.iam.gserviceaccount.com"},"methodName":"%[3]s","requestMetadata":{"callerIp":"203.0.113.45","callerSuppliedUserAgent":"google-cloud-sdk gcloud/480.0.0"},"resourceName":"projects/%[1]s/zones/%[2]s/instances/%[4]s","serviceName":"compute.googleapis.com"},"resource":{"type":"gce_instance","labels":{"instance_id":"%[7]s","project_id":"%[1]s","zone":"%[2]s"}},"severity":"NOTICE","timestamp":"%[5]s","receiveTimestamp":"%[5]s"}`,
		project, zone, method, instance, at.UTC().Format(time.RFC3339Nano), id[:12], id[:8])
}

// Lines joins records as JSON lines.
func Lines(records ...[]byte) []byte {
	var b bytes.Buffer
	for _, r := range records {
		b.Write(r)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// Account is the i-th synthetic AWS account id.
func Account(i int) string { return fmt.Sprintf("%012d", 100000000000+i) }

// AtRest runs hunt's detector (exact at rest) over bodies and returns the
// ids of its findings, sorted: what watch --once must deliver.
func AtRest(bodies ...[]byte) ([]string, error) {
	det, err := detect.New(detect.Options{AtRest: true})
	if err != nil {
		return nil, err
	}
	defer det.Close()
	return run(det, bodies, det.Flush)
}

// Oracle runs the streaming detector over bodies, in order, and returns the
// ids of the findings it emits, sorted: what a live run over the same
// input must deliver, each exactly once.
func Oracle(lateness time.Duration, conf *tune.Config, bodies ...[]byte) ([]string, error) {
	det, err := detect.New(detect.Options{Lateness: lateness, Config: conf})
	if err != nil {
		return nil, err
	}
	// A live input never ends: what a quiet period releases (Idle), not
	// what the end of an input adds (an Azure operation whose outcome was
	// never logged counts only once the lateness has passed).
	return run(det, bodies, det.Idle)
}

func run(det *detect.Detector, bodies [][]byte, end func()) ([]string, error) {
	for i, b := range bodies {
		_, err := ingest.DecodeStream(context.Background(), fmt.Sprint("body", i), io.NopCloser(bytes.NewReader(b)), ingest.Options{},
			ingest.Handlers{Event: func(ev *event.Event) error { det.Process(ev); return nil }})
		if err != nil {
			return nil, err
		}
	}
	end()
	var ids []string
	for _, f := range det.Findings() {
		ids = append(ids, f.ID)
	}
	sort.Strings(ids)
	return ids, nil
}
