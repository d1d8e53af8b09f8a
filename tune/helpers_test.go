package tune

import (
	"strings"
	"testing"
	"time"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/finding"
	"github.com/revertwatch/revertwatch/level"
)

// fixedClock is the wall clock of the tests: after every example entry
// was written and before any of them expires.
var fixedClock = func() time.Time { return time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC) }

func mustParse(t *testing.T, src string, opts ...Option) *Config {
	t.Helper()
	opts = append([]Option{WithClock(fixedClock)}, opts...)
	c, err := Parse("test.yaml", []byte(src), opts...)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return c
}

// at parses a time in a named zone, for readable fixtures.
func at(t *testing.T, zone, s string) time.Time {
	t.Helper()
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// awsCall is a CloudTrail event made with an assumed role.
type awsCall struct {
	when      time.Time
	op        string
	account   string
	region    string
	role      string // role name; the session issuer and ARN are built from it
	session   string
	invokedBy string
	ip        string
	ua        string
	request   string
	resources []string
}

func (c awsCall) event() *event.Event {
	acct := c.account
	if acct == "" {
		acct = "111122223333"
	}
	region := c.region
	if region == "" {
		region = "eu-west-1"
	}
	session := c.session
	if session == "" {
		session = "session-1"
	}
	ev := &event.Event{
		Time: c.when, Provider: event.AWS, UID: c.op + c.when.String(), Account: acct, Region: region,
		Operation: c.op, OperationName: c.op, Outcome: event.OutcomeSuccess,
		SrcIP: c.ip, UserAgent: c.ua,
	}
	if c.ip == "" {
		ev.SrcIP = "192.0.2.10"
	}
	if c.ua == "" {
		ev.UserAgent = "aws-cli/2.15.0 Python/3.11"
	}
	rolePath := "role/"
	if strings.HasPrefix(c.role, "AWSBackup") || strings.HasPrefix(c.role, "AWSDataLifecycle") {
		rolePath = "role/service-role/"
	}
	ev.Actor = event.Actor{
		Type:      "AssumedRole",
		UID:       "arn:aws:sts::" + acct + ":assumed-role/" + c.role + "/" + session,
		Name:      session,
		Role:      "arn:aws:iam::" + acct + ":" + rolePath + c.role,
		InvokedBy: c.invokedBy,
	}
	ev.Caller = ev.Actor.UID
	if c.request != "" {
		ev.Request = []byte(c.request)
	}
	for _, r := range c.resources {
		ev.AddResource(event.KindInstance, event.RoleTarget, r)
	}
	return ev
}

// azureCall is an Azure Activity Log event.
type azureCall struct {
	when     time.Time
	op       string
	sub      string
	group    string
	caller   string
	appID    string
	mirid    string
	resource string
	ip       string
}

func (c azureCall) event() *event.Event {
	sub := c.sub
	if sub == "" {
		sub = "00000000-0000-0000-0000-00000000d1d1"
	}
	res := "/subscriptions/" + sub + "/resourceGroups/" + c.group + "/providers/" + c.resource
	ev := &event.Event{
		Time: c.when, Provider: event.Azure, UID: c.op + c.when.String(), Account: sub, Region: "westeurope",
		Operation: strings.ToLower(c.op), OperationName: c.op, Outcome: event.OutcomeSuccess,
		ResourceGroup: c.group, ResourceID: res, SrcIP: c.ip,
		Caller: c.caller,
	}
	ev.Actor = event.Actor{UID: "9f0b1c2d-0000-4000-8000-0000000000aa", Name: c.caller, AppID: c.appID, Role: c.mirid}
	ev.AddResource(event.KindAzure, event.RoleTarget, res)
	return ev
}

// findingOf builds the finding a rule would report for evs.
func findingOf(rule string, evs ...*event.Event) *finding.Finding {
	f := &finding.Finding{
		ID: finding.StableID(rule, evs[0].UID), RuleID: rule, Severity: level.High.String(), Confidence: level.Medium.String(),
		Provider: evs[0].Provider, Account: evs[0].Account, Region: evs[0].Region,
		Actor: finding.ActorOf(evs[0]), FirstSeen: evs[0].Time, LastSeen: evs[len(evs)-1].Time,
	}
	for _, ev := range evs {
		f.Evidence = append(f.Evidence, finding.NewEvidence(ev.Operation, ev))
		f.Resources = append(f.Resources, ev.Resources...)
		f.Actor.AddContext(ev)
	}
	return f
}
