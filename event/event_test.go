package event_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/revertwatch/revertwatch/event"
)

func TestAlias(t *testing.T) {
	aws := &event.Event{Provider: event.AWS, OperationName: "StopInstances", Caller: "arn:aws:iam::1:user/a", Region: "eu-west-1",
		ResourceGroup: "ignored", Time: time.UnixMilli(1793628067000).UTC(),
		Source: event.Source{Category: event.CategoryAWS, Host: "111122223333", Name: "a.json"}}
	for name, want := range map[string]string{
		"operationName": "StopInstances", "OPERATIONNAME": "StopInstances", "caller": "arn:aws:iam::1:user/a",
		"resourceGroup": "eu-west-1", "_sourceHost": "111122223333", "_sourceCategory": "aws/cloudtrail",
		"_sourceName": "a.json", "_messageTime": "1793628067000",
	} {
		if got, ok := aws.Alias(name); !ok || got != want {
			t.Errorf("AWS %s = %q %v, want %q", name, got, ok, want)
		}
	}
	az := &event.Event{Provider: event.Azure, ResourceGroup: "prod-rg", Region: "westeurope"}
	if got, _ := az.Alias("resourceGroup"); got != "prod-rg" {
		t.Errorf("Azure resourceGroup = %q", got)
	}
	for _, name := range []string{"caller", "_messageTime", "nosuchfield"} {
		if _, ok := az.Alias(name); ok {
			t.Errorf("%s resolved on an event that lacks it", name)
		}
	}
	for _, n := range event.AliasNames {
		if event.AliasSource[n] == "" {
			t.Errorf("alias %s has no documented source", n)
		}
	}
}

func TestAddResource(t *testing.T) {
	ev := &event.Event{Provider: event.AWS}
	ev.AddResource(event.KindSnapshot, event.RoleSource, "snap-1")
	ev.AddResource(event.KindSnapshot, event.RoleSource, "snap-1") // repeat: ignored
	ev.AddResource(event.KindVolume, event.RoleCreated, "vol-1")
	ev.AddResource(event.KindInstance, event.RoleAttachedTo, "i-1")
	ev.AddResource(event.KindInstance, event.RoleTarget, "")
	if len(ev.Resources) != 3 || strings.Join(ev.Keys.SourceSnapshots, ",") != "snap-1" ||
		strings.Join(ev.Keys.Volumes, ",") != "vol-1" || strings.Join(ev.Keys.Instances, ",") != "i-1" {
		t.Fatalf("resources %+v keys %+v", ev.Resources, ev.Keys)
	}
	az := &event.Event{Provider: event.Azure}
	az.AddResource(event.KindDisk, event.RoleAttachedTo, "/SUBSCRIPTIONS/S/Disks/D")
	az.AddResource(event.KindVM, event.RoleTarget, "/subscriptions/s/virtualMachines/VM")
	if az.Keys.OSDisk != "/subscriptions/s/disks/d" || az.Keys.VM != "/subscriptions/s/virtualmachines/vm" ||
		az.Resources[0].UID != "/SUBSCRIPTIONS/S/Disks/D" {
		t.Fatalf("Azure ids: keys %+v resources %+v", az.Keys, az.Resources)
	}
}

func TestOutcomeText(t *testing.T) {
	for _, o := range []event.Outcome{event.OutcomeUnknown, event.OutcomeSuccess, event.OutcomeFailure, event.OutcomeNoOp, event.OutcomePending} {
		b, _ := json.Marshal(o)
		var back event.Outcome
		if err := json.Unmarshal(b, &back); err != nil || back != o {
			t.Errorf("%v round-trips to %v (%s)", o, back, b)
		}
	}
	if event.Outcome(99).String() != "unknown" {
		t.Error("out-of-range outcome")
	}
}
