package tune

import (
	"testing"

	"github.com/valyala/fastjson"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/finding"
	"github.com/revertwatch/revertwatch/ingest/gcp"
)

// gcpCall decodes a Cloud Audit Logs entry of method on an instance, by
// principal, as ingest does.
func gcpCall(t *testing.T, method, principal, when string) *event.Event {
	t.Helper()
	raw := `{"insertId":"` + method + when + `","logName":"projects/acme-prod/logs/cloudaudit.googleapis.com%2Factivity",` +
		`"protoPayload":{"@type":"type.googleapis.com/google.cloud.audit.AuditLog","methodName":"v1.` + method + `",` +
		`"authenticationInfo":{"principalEmail":"` + principal + `"},"requestMetadata":{"callerIp":"192.0.2.80","callerSuppliedUserAgent":"Terraform/1.9.5"},` +
		`"resourceName":"projects/acme-prod/zones/us-central1-a/instances/web-1"},"timestamp":"` + when + `"}`
	v, err := fastjson.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	ev := &event.Event{Raw: []byte(raw)}
	var d gcp.Decoder
	d.Decode(v, gcp.LogEntry, ev)
	return ev
}

// A tuning entry names a Google Cloud principal by its email (and the
// project as the account): it downgrades the findings of that principal
// and no other's; a Google-managed service agent is recognised as a
// built-in benign actor, which lowers confidence and never suppresses.
func TestGCPPrincipals(t *testing.T) {
	c := mustParse(t, `allow:
  - name: terraform-gcp
    reason: the Terraform service account recreates instances
    match:
      principal: "terraform@*.iam.gserviceaccount.com"
      account: acme-prod
`)
	mk := func(who string) (*finding.Finding, []*event.Event) {
		evs := []*event.Event{
			gcpCall(t, "compute.instances.stop", who, "2026-11-10T10:00:00Z"),
			gcpCall(t, "compute.instances.start", who, "2026-11-10T10:05:00Z"),
		}
		return findingOf("gcp-stop-start", evs...), evs
	}
	f, evs := mk("terraform@acme-prod.iam.gserviceaccount.com")
	if d := c.Apply(f, evs); d.Action != Downgrade || d.Entry != "terraform-gcp" {
		t.Fatalf("the Terraform service account: %+v", d)
	}
	f, evs = mk("terraform-old@acme-prod.iam.gserviceaccount.com")
	if d := c.Apply(f, evs); d.Action != Keep {
		t.Fatalf("another service account: %+v", d)
	}
	f, evs = mk("service-48151623420@compute-system.iam.gserviceaccount.com")
	d := c.Apply(f, evs)
	if d.Action != Keep || f.Suppressed || !d.AllBenign || len(d.Benign) != 1 || d.Benign[0] != "gcp-compute-system" {
		t.Fatalf("the Compute Engine service agent: %+v", d)
	}
	// A customer's own account named like an agent is no agent.
	f, evs = mk("service-48151623420@acme-prod.iam.gserviceaccount.com")
	if d := c.Apply(f, evs); len(d.Benign) != 0 {
		t.Fatalf("a look-alike service account is recognised as benign: %+v", d)
	}
}
