package sequence

import (
	"fmt"
	"strings"

	"github.com/revertwatch/revertwatch/event"
)

// Field names a value of an event that a rule can test or bind: one of the
// typed join keys of event.Keys, or an attribute of the call.
type Field uint8

// The fields. List fields (instances, volumes, ...) may hold several values;
// the others hold at most one.
const (
	FieldNone             Field = iota
	FieldInstances              // event.Keys.Instances
	FieldSourceInstances        // event.Keys.SourceInstances
	FieldVolumes                // event.Keys.Volumes
	FieldSourceVolumes          // event.Keys.SourceVolumes
	FieldSnapshots              // event.Keys.Snapshots
	FieldSourceSnapshots        // event.Keys.SourceSnapshots
	FieldImages                 // event.Keys.Images
	FieldDevices                // event.Keys.Devices
	FieldRootDevice             // event.Keys.RootDeviceName
	FieldRestoreTask            // event.Keys.RestoreTask
	FieldDBInstance             // event.Keys.DBInstance
	FieldSourceDBInstance       // event.Keys.SourceDBInstance
	FieldDBCluster              // event.Keys.DBCluster
	FieldDBSnapshot             // event.Keys.DBSnapshot
	FieldRecoveryPoint          // event.Keys.RecoveryPoint
	FieldDisk                   // event.Keys.Disk (Azure, lower-cased)
	FieldVM                     // event.Keys.VM (Azure, lower-cased)
	FieldOSDisk                 // event.Keys.OSDisk (Azure, lower-cased)
	FieldSourceResource         // event.Keys.SourceResource (Azure, lower-cased)
	FieldCreateOption           // event.Keys.CreateOption
	FieldCaller                 // event.Caller (Azure: lower-cased)
	FieldActor                  // event.Actor.UID
	FieldResourceID             // event.ResourceID (Azure: lower-cased)
	FieldUserAgent              // event.UserAgent
	FieldRestoreTime            // event.Keys.RestoreTime
	numFields
)

var fieldNames = [numFields]string{
	FieldNone:             "",
	FieldInstances:        "instances",
	FieldSourceInstances:  "source_instances",
	FieldVolumes:          "volumes",
	FieldSourceVolumes:    "source_volumes",
	FieldSnapshots:        "snapshots",
	FieldSourceSnapshots:  "source_snapshots",
	FieldImages:           "images",
	FieldDevices:          "devices",
	FieldRootDevice:       "root_device_name",
	FieldRestoreTask:      "restore_task",
	FieldDBInstance:       "db_instance",
	FieldSourceDBInstance: "source_db_instance",
	FieldDBCluster:        "db_cluster",
	FieldDBSnapshot:       "db_snapshot",
	FieldRecoveryPoint:    "recovery_point",
	FieldDisk:             "disk",
	FieldVM:               "vm",
	FieldOSDisk:           "os_disk",
	FieldSourceResource:   "source_resource",
	FieldCreateOption:     "create_option",
	FieldCaller:           "caller",
	FieldActor:            "actor",
	FieldResourceID:       "resource_id",
	FieldUserAgent:        "user_agent",
	FieldRestoreTime:      "restore_time",
}

// String returns the field's name as used in event.Keys JSON.
func (f Field) String() string {
	if f < numFields {
		return fieldNames[f]
	}
	return fmt.Sprintf("field(%d)", uint8(f))
}

// ParseField returns the field with the given name.
func ParseField(name string) (Field, error) {
	for i, n := range fieldNames {
		if n != "" && strings.EqualFold(n, name) {
			return Field(i), nil
		}
	}
	return FieldNone, fmt.Errorf("unknown field %q", name)
}

// values returns the field's values on ev. Scalar fields are returned
// through buf so that the common case does not allocate; list fields are
// the event's own slices and must not be modified.
func (f Field) values(ev *event.Event, buf *[1]string) []string {
	k := &ev.Keys
	one := func(s string) []string {
		if s == "" {
			return nil
		}
		buf[0] = s
		return buf[:]
	}
	switch f {
	case FieldInstances:
		return k.Instances
	case FieldSourceInstances:
		return k.SourceInstances
	case FieldVolumes:
		return k.Volumes
	case FieldSourceVolumes:
		return k.SourceVolumes
	case FieldSnapshots:
		return k.Snapshots
	case FieldSourceSnapshots:
		return k.SourceSnapshots
	case FieldImages:
		return k.Images
	case FieldDevices:
		return k.Devices
	case FieldRootDevice:
		return one(k.RootDeviceName)
	case FieldRestoreTask:
		return one(k.RestoreTask)
	case FieldDBInstance:
		return one(k.DBInstance)
	case FieldSourceDBInstance:
		return one(k.SourceDBInstance)
	case FieldDBCluster:
		return one(k.DBCluster)
	case FieldDBSnapshot:
		return one(k.DBSnapshot)
	case FieldRecoveryPoint:
		return one(k.RecoveryPoint)
	case FieldDisk:
		return one(k.Disk)
	case FieldVM:
		return one(k.VM)
	case FieldOSDisk:
		return one(k.OSDisk)
	case FieldSourceResource:
		return one(k.SourceResource)
	case FieldCreateOption:
		return one(k.CreateOption)
	case FieldCaller:
		return one(azureLower(ev, ev.Caller))
	case FieldActor:
		return one(ev.Actor.UID)
	case FieldResourceID:
		return one(azureLower(ev, ev.ResourceID))
	case FieldUserAgent:
		return one(ev.UserAgent)
	case FieldRestoreTime:
		return one(k.RestoreTime)
	}
	return nil
}

// azureLower lower-cases Azure identifiers, which compare
// case-insensitively (telemetry.md §5.4); AWS ids are kept as written.
func azureLower(ev *event.Event, s string) string {
	if ev.Provider == event.Azure {
		return strings.ToLower(s)
	}
	return s
}
