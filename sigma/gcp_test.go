package sigma

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/revertwatch/revertwatch/event"
)

// A Cloud Audit Logs entry as a LogEntry and as the BigQuery sink's row.
const (
	gcpLogEntry = `{"insertId":"a1","logName":"projects/acme/logs/cloudaudit.googleapis.com%2Factivity","operation":{"id":"op-1","first":true},` +
		`"protoPayload":{"@type":"type.googleapis.com/google.cloud.audit.AuditLog","serviceName":"compute.googleapis.com",` +
		`"methodName":"beta.compute.disks.insert","resourceName":"projects/acme/zones/z/disks/d",` +
		`"authenticationInfo":{"principalEmail":"mallory@acme.example"},"requestMetadata":{"callerIp":"198.51.100.9"},` +
		`"request":{"name":"d","sourceSnapshot":"https://www.googleapis.com/compute/v1/projects/acme/global/snapshots/s"}},` +
		`"severity":"NOTICE","timestamp":"2026-11-02T10:00:00Z"}`
	gcpBigQueryRow = `{"insertId":"a1","logName":"projects/acme/logs/cloudaudit.googleapis.com%2Factivity","operation":{"id":"op-1","first":true},` +
		`"protopayload_auditlog":{"serviceName":"compute.googleapis.com","methodName":"beta.compute.disks.insert",` +
		`"resourceName":"projects/acme/zones/z/disks/d","authenticationInfo":{"principalEmail":"mallory@acme.example"},` +
		`"requestMetadata":{"callerIp":"198.51.100.9"},` +
		`"requestJson":"{\"name\":\"d\",\"sourceSnapshot\":\"https://www.googleapis.com/compute/v1/projects/acme/global/snapshots/s\"}"},` +
		`"severity":"NOTICE","timestamp":"2026-11-02 10:00:00 UTC"}`
)

func gcpEvents() []*event.Event {
	return []*event.Event{
		{Raw: []byte(gcpLogEntry), Provider: event.GCP, Format: event.FormatGCPLogEntry},
		{Raw: []byte(gcpLogEntry), Provider: event.GCP, Format: event.FormatGCPArray},
		{Raw: []byte(gcpLogEntry), Provider: event.GCP, Format: event.FormatGCPPubSub},
		{Raw: []byte(gcpBigQueryRow), Provider: event.GCP, Format: event.FormatGCPBigQuery},
	}
}

// Rules for product gcp, service gcp.audit, written with the field names
// of our export (protoPayload.*), of SigmaHQ's older GCP rules
// (data.protoPayload.*) and of its newer ones (gcp.audit.*, the Elastic
// names), fire on a Cloud Audit Logs entry in every shape, the BigQuery
// row included; a rule for another method does not.
func TestGCPFieldNames(t *testing.T) {
	dir := t.TempDir()
	rules := map[string]string{
		"ours.yml": "title: ours\nid: 8d7c6b5a-0000-4000-8000-000000000001\nlogsource: {product: gcp, service: gcp.audit}\n" +
			"detection:\n  sel:\n    protoPayload.methodName|endswith: compute.disks.insert\n    protoPayload.request.sourceSnapshot|contains: /snapshots/\n  condition: sel\nlevel: high\n",
		"data.yml": "title: data\nid: 8d7c6b5a-0000-4000-8000-000000000002\nlogsource: {product: gcp, service: gcp.audit}\n" +
			"detection:\n  sel:\n    data.protoPayload.methodName|endswith: disks.insert\n    data.protoPayload.authenticationInfo.principalEmail: mallory@acme.example\n  condition: sel\nlevel: high\n",
		"ecs.yml": "title: ecs\nid: 8d7c6b5a-0000-4000-8000-000000000003\nlogsource: {product: gcp, service: gcp.audit}\n" +
			"detection:\n  sel:\n    gcp.audit.method_name|endswith: compute.disks.insert\n    gcp.audit.request_metadata.caller_ip|cidr: 198.51.100.0/24\n  condition: sel\nlevel: high\n",
		"other.yml": "title: other\nid: 8d7c6b5a-0000-4000-8000-000000000004\nlogsource: {product: gcp, service: gcp.audit}\n" +
			"detection:\n  sel:\n    gcp.audit.method_name|endswith: compute.instances.stop\n  condition: sel\nlevel: high\n",
		"aws.yml": "title: aws\nid: 8d7c6b5a-0000-4000-8000-000000000005\nlogsource: {product: aws, service: cloudtrail}\n" +
			"detection:\n  sel:\n    eventName|endswith: insert\n  condition: sel\nlevel: high\n",
	}
	for name, body := range rules {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rs, err := Load([]string{dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs.Problems) > 0 || len(rs.Rules) != 5 {
		t.Fatalf("loaded %d rules, problems %v", len(rs.Rules), rs.Problems)
	}
	run := NewRunner(rs, RunOptions{})
	for _, ev := range gcpEvents() {
		got := map[string]bool{}
		for _, r := range run.Match(ev) {
			got[r.Title] = true
		}
		for _, want := range []string{"ours", "data", "ecs"} {
			if !got[want] {
				t.Errorf("%s: rule %s did not fire", ev.Format, want)
			}
		}
		if got["other"] || got["aws"] {
			t.Errorf("%s: fired %v", ev.Format, got)
		}
	}
}

// TestSigmaHQGCPRules loads SigmaHQ's Google Cloud rules (rules/cloud/gcp)
// from the shared corpus when it holds them: each loads, for provider
// GCP, and runs on Cloud Audit Logs entries in every shape, firing on the
// BigQuery row exactly when it fires on the LogEntry.
func TestSigmaHQGCPRules(t *testing.T) {
	dir := filepath.Join(corpusDir, "cloud", "gcp")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("no SigmaHQ GCP rules in the shared corpus (%s): the corpus holds AWS and Azure only; %v", dir, err)
	}
	rs, err := Load([]string{dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range rs.Problems {
		t.Errorf("problem: %s", p)
	}
	if len(rs.Rules) == 0 {
		t.Fatal("no rule loaded")
	}
	for _, r := range rs.Rules {
		if r.provider != event.GCP && r.Kind == KindDetection {
			t.Errorf("%s: provider %q, want GCP", r.File, r.provider)
		}
	}
	run := NewRunner(rs, RunOptions{})
	evs := gcpEvents()
	base := map[*Rule]bool{}
	for _, r := range run.Match(evs[0]) {
		base[r] = true
	}
	for _, ev := range evs[1:] {
		got := map[*Rule]bool{}
		for _, r := range run.Match(ev) {
			got[r] = true
		}
		for _, r := range rs.Rules {
			if got[r] != base[r] {
				t.Errorf("%s: fires %v on %s, %v on the LogEntry", r.File, got[r], ev.Format, base[r])
			}
		}
	}
}
