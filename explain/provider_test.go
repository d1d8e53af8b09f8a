package explain

import (
	"strings"
	"testing"
	"time"

	"github.com/revertwatch/revertwatch/content"
	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/finding"
)

// Lineage advice names the provider's own calls (issue 18): an Azure
// resource is read with az and ARM GET, never DescribeSnapshots; an AWS
// one never with ARM; a Google Cloud one with gcloud.
func TestOriginAdviceMatchesProvider(t *testing.T) {
	kinds := []event.Kind{event.KindSnapshot, event.KindImage, event.KindVolume, event.KindInstance, event.KindVM, event.KindDisk, event.KindRecoveryPoint}
	for _, k := range kinds {
		az := originMissing(event.Azure, string(k))
		if strings.Contains(az, "Describe") || strings.Contains(az, "aws ") || strings.Contains(az, "gcloud") {
			t.Errorf("Azure %s: %q", k, az)
		}
		aws := originMissing(event.AWS, string(k))
		if strings.Contains(aws, "ARM") || strings.Contains(aws, "az ") || strings.Contains(aws, "gcloud") {
			t.Errorf("AWS %s: %q", k, aws)
		}
		gcp := originMissing(event.GCP, string(k))
		if strings.Contains(gcp, "ARM") || strings.Contains(gcp, "az ") || strings.Contains(gcp, "Describe") {
			t.Errorf("GCP %s: %q", k, gcp)
		}
	}
	if s := originMissing(event.Azure, string(event.KindSnapshot)); !strings.Contains(s, "az snapshot show") {
		t.Errorf("Azure snapshot advice %q", s)
	}
}

// The header names an Azure actor by UPN, with the object id beside it.
func TestActorLabel(t *testing.T) {
	b := &Bundle{Principal: "3f2a1b0c-1d2e-4f30-8a4b-5c6d7e8f9a0b", Finding: finding.Finding{Provider: event.Azure,
		Actor: finding.Actor{UID: "3f2a1b0c-1d2e-4f30-8a4b-5c6d7e8f9a0b", Name: "mallory@contoso.example", Caller: "mallory@contoso.example"}}}
	if got := b.ActorLabel(); got != "mallory@contoso.example (object id 3f2a1b0c-1d2e-4f30-8a4b-5c6d7e8f9a0b)" {
		t.Errorf("Azure actor label %q", got)
	}
	b = &Bundle{Principal: "arn:aws:iam::1:user/a", Finding: finding.Finding{Provider: event.AWS, Actor: finding.Actor{Name: "a"}}}
	if got := b.ActorLabel(); got != "arn:aws:iam::1:user/a" {
		t.Errorf("AWS actor label %q", got)
	}
}

// "Revoke every session issued before now" is the time of the response.
func TestPlaybookNow(t *testing.T) {
	h := huntEmulated(t, 0, "aws-chain-snapshot-volume-attach")
	f := h.find(t, content.RuleSnapshotVolumeAttach)
	now := time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)
	b := h.index.Explain(f, Options{Now: now})
	found := false
	for _, a := range b.Playbook.Containment {
		if strings.Contains(a.Command, "aws:TokenIssueTime") {
			found = true
			if !strings.Contains(a.Command, `"2031-05-06T07:08:09Z"`) {
				t.Errorf("revoke command %q does not name the time of the response", a.Command)
			}
		}
	}
	if key := b.values()["access_key"]; !found && !strings.HasPrefix(key, "AKIA") {
		t.Errorf("no role-session step for key %q: %v", key, b.Playbook.Containment)
	}
}
