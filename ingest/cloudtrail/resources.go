package cloudtrail

import (
	"strings"

	"github.com/revertwatch/revertwatch/event"
)

// Resource is a resource a record names without saying its part in the
// call: an entry of LookupEvents' Resources, or of the CloudTrail
// console's Event history download (Resource type, Resource name).
type Resource struct {
	Type string // AWS::EC2::Volume
	Name string // vol-…
}

// resourceKinds maps CloudTrail resource types to the kinds of keys.
var resourceKinds = map[string]event.Kind{
	"AWS::EC2::Instance":         event.KindInstance,
	"AWS::EC2::Volume":           event.KindVolume,
	"AWS::EC2::Snapshot":         event.KindSnapshot,
	"AWS::EC2::Ami":              event.KindImage,
	"AWS::EC2::Image":            event.KindImage,
	"AWS::RDS::DBInstance":       event.KindDBInstance,
	"AWS::RDS::DBCluster":        event.KindDBCluster,
	"AWS::RDS::DBSnapshot":       event.KindDBSnapshot,
	"AWS::Backup::RecoveryPoint": event.KindRecoveryPoint,
}

// kindOf tells a resource's kind by its type, else by its id's prefix.
func kindOf(r Resource) (event.Kind, bool) {
	for t, k := range resourceKinds {
		if strings.EqualFold(t, r.Type) {
			return k, true
		}
	}
	for prefix, k := range map[string]event.Kind{"i-": event.KindInstance, "vol-": event.KindVolume, "snap-": event.KindSnapshot, "ami-": event.KindImage} {
		if strings.HasPrefix(r.Name, prefix) && r.Type == "" {
			return k, true
		}
	}
	return "", false
}

// resourceRoles is the part a resource of a kind plays in an operation,
// as extractKeys reads it from the bodies. A kind an operation names in
// two parts (CopySnapshot's source and copy) is absent: a bare list does
// not tell them apart.
var resourceRoles = map[string]map[event.Kind]string{
	"RunInstances":                    {event.KindImage: event.RoleSource, event.KindInstance: event.RoleCreated, event.KindSnapshot: event.RoleSource},
	"CreateVolume":                    {event.KindSnapshot: event.RoleSource, event.KindVolume: event.RoleCreated},
	"AttachVolume":                    {event.KindVolume: event.RoleTarget, event.KindInstance: event.RoleAttachedTo},
	"DetachVolume":                    {event.KindVolume: event.RoleTarget, event.KindInstance: event.RoleAttachedTo},
	"CreateSnapshot":                  {event.KindVolume: event.RoleSource, event.KindSnapshot: event.RoleCreated},
	"CreateSnapshots":                 {event.KindInstance: event.RoleSource, event.KindVolume: event.RoleSource, event.KindSnapshot: event.RoleCreated},
	"CopySnapshot":                    {},
	"CreateImage":                     {event.KindInstance: event.RoleSource, event.KindSnapshot: event.RoleSource, event.KindImage: event.RoleCreated},
	"RegisterImage":                   {event.KindSnapshot: event.RoleSource, event.KindImage: event.RoleCreated},
	"CopyImage":                       {},
	"CreateReplaceRootVolumeTask":     {event.KindInstance: event.RoleTarget, event.KindSnapshot: event.RoleSource, event.KindImage: event.RoleSource, event.KindVolume: event.RoleSource},
	"RestoreDBInstanceFromDBSnapshot": {event.KindDBInstance: event.RoleCreated, event.KindDBSnapshot: event.RoleSource},
	"RestoreDBClusterFromSnapshot":    {event.KindDBCluster: event.RoleCreated, event.KindDBSnapshot: event.RoleSource},
	"StartRestoreJob":                 {event.KindRecoveryPoint: event.RoleSource},
}

// ResourceKeys adds to ev (decoded without bodies) the keys of the
// resources its record lists, each in the part its operation gives that
// kind of resource; an operation the table does not list names its
// resources as targets, as its request's top-level ids would be. It
// returns the resources it could not place: of an unknown type, or of a
// kind the operation names in two parts.
func ResourceKeys(ev *event.Event, rs []Resource) (unplaced []string) {
	roles, listed := resourceRoles[ev.Operation]
	for _, r := range rs {
		k, ok := kindOf(r)
		role := event.RoleTarget
		if ok && listed {
			role, ok = roles[k]
		}
		if !ok {
			unplaced = append(unplaced, strings.TrimSpace(r.Type+" "+r.Name))
			continue
		}
		ev.AddResource(k, role, r.Name)
	}
	return unplaced
}
