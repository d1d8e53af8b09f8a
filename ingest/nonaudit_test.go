package ingest_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/revertwatch/revertwatch/ingest"
)

// Records of other AWS services that reach an audit pipeline (issue 18)
// are skipped and counted by kind, not rejected: an AWS Config rule
// invocation, a configuration item and notification, a Security Hub
// finding and a list of them, a GuardDuty finding. The CloudTrail record
// among them is still read.
func TestNonAuditSkipped(t *testing.T) {
	lines := []string{
		`{"version":"1.0","invokingEvent":"{\"configurationItem\":{}}","ruleParameters":"{}","resultToken":"t","eventLeftScope":false,"configRuleArn":"arn:aws:config:eu-west-1:111122223333:config-rule/config-rule-abc","configRuleName":"ebs-encrypted","accountId":"111122223333"}`,
		`{"configurationItemCaptureTime":"2026-03-01T00:00:00Z","configurationItemStatus":"OK","resourceType":"AWS::EC2::Volume","resourceId":"vol-1","awsRegion":"eu-west-1"}`,
		`{"messageType":"ConfigurationItemChangeNotification","configurationItem":{"resourceId":"vol-1"},"notificationCreationTime":"2026-03-01T00:00:00Z"}`,
		`{"SchemaVersion":"2018-10-08","Id":"f-1","ProductArn":"arn:aws:securityhub:eu-west-1::product/aws/securityhub","AwsAccountId":"111122223333","CreatedAt":"2026-03-01T00:00:00Z","Resources":[{"Type":"AwsEc2Volume","Id":"vol-1"}]}`,
		`{"Findings":[{"SchemaVersion":"2018-10-08","Id":"f-2","ProductArn":"p"}],"NextToken":"n"}`,
		`{"schemaVersion":"2.0","accountId":"111122223333","region":"eu-west-1","type":"Recon:EC2/PortProbeUnprotectedPort","service":{"serviceName":"guardduty"},"severity":2}`,
		ctRecord(1),
	}
	evs, diags := readGCP(t, "mixed.jsonl", strings.Join(lines, "\n")+"\n", ingest.Options{})
	if len(evs) != 1 {
		t.Fatalf("%d events, want the one CloudTrail record", len(evs))
	}
	var reasons []string
	for _, d := range diags {
		if d.Severity != ingest.Skipped {
			t.Errorf("%v is not a skip", d)
		}
		reasons = append(reasons, d.Reason)
	}
	want := []string{"AWS Config rule invocation", "AWS Config configuration item", "AWS Config notification",
		"Security Hub finding", "Security Hub findings list", "GuardDuty finding"}
	if !slices.Equal(reasons, want) {
		t.Errorf("skipped as %q, want %q", reasons, want)
	}
}
