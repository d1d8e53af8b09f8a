package platforms

import (
	"fmt"
	"strings"
	"time"

	"github.com/revertwatch/revertwatch/content"
	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/sequence"
)

// ref is where a rule field lives in a raw record. AWS paths are
// CloudTrail record paths; a "[]" segment marks a list whose members are
// all searched. Azure paths either name a top-level record field or, with
// body set, a path inside the JSON-string request or response body.
type ref struct {
	path string
	body bool // Azure: inside properties.responseBody (else requestbody)
	list bool // the path crosses a list: several values per record
}

// awsRefs maps a rule field, per CloudTrail operation, to its record path
// (telemetry.md §2.2). It lists the shapes the detections use; the
// tolerant decoder in ingest knows more (item vs items, wrapper keys).
var awsRefs = map[sequence.Field]map[string]ref{
	sequence.FieldInstances: {
		"StopInstances":               {path: "requestParameters.instancesSet.items[].instanceId", list: true},
		"StartInstances":              {path: "requestParameters.instancesSet.items[].instanceId", list: true},
		"AttachVolume":                {path: "requestParameters.instanceId"},
		"RunInstances":                {path: "responseElements.instancesSet.items[].instanceId", list: true},
		"CreateReplaceRootVolumeTask": {path: "requestParameters.CreateReplaceRootVolumeTaskRequest.InstanceId"},
	},
	sequence.FieldSnapshots: {
		"CreateSnapshot": {path: "responseElements.snapshotId"},
		"CopySnapshot":   {path: "responseElements.snapshotId"},
	},
	sequence.FieldSourceSnapshots: {
		"CreateVolume":                {path: "requestParameters.snapshotId"},
		"RegisterImage":               {path: "requestParameters.blockDeviceMapping.items[].ebs.snapshotId", list: true},
		"CreateReplaceRootVolumeTask": {path: "requestParameters.CreateReplaceRootVolumeTaskRequest.SnapshotId"},
	},
	sequence.FieldSourceVolumes: {
		"CreateReplaceRootVolumeTask": {path: "requestParameters.CreateReplaceRootVolumeTaskRequest.VolumeId"},
	},
	sequence.FieldVolumes: {
		"CreateVolume": {path: "responseElements.volumeId"},
		"AttachVolume": {path: "requestParameters.volumeId"},
	},
	sequence.FieldImages: {
		"RegisterImage":               {path: "responseElements.imageId"},
		"RunInstances":                {path: "requestParameters.instancesSet.items[].imageId", list: true},
		"CreateReplaceRootVolumeTask": {path: "requestParameters.CreateReplaceRootVolumeTaskRequest.ImageId"},
	},
	sequence.FieldDevices: {
		"AttachVolume": {path: "requestParameters.device"},
	},
	sequence.FieldRestoreTask: {
		"CreateReplaceRootVolumeTask": {path: "responseElements.CreateReplaceRootVolumeTaskResponse.replaceRootVolumeTask.replaceRootVolumeTaskId"},
		"StartRestoreJob":             {path: "responseElements.restoreJobId"},
	},
	sequence.FieldRecoveryPoint: {
		"StartRestoreJob": {path: "requestParameters.recoveryPointArn"},
	},
	sequence.FieldDBInstance: {
		"RestoreDBInstanceFromDBSnapshot": {path: "requestParameters.dBInstanceIdentifier"},
		"RestoreDBInstanceToPointInTime":  {path: "requestParameters.targetDBInstanceIdentifier"},
	},
	sequence.FieldSourceDBInstance: {
		"RestoreDBInstanceToPointInTime": {path: "requestParameters.sourceDBInstanceIdentifier"},
		"RestoreDBClusterToPointInTime":  {path: "requestParameters.sourceDBClusterIdentifier"},
	},
	sequence.FieldDBCluster: {
		"RestoreDBClusterFromSnapshot":  {path: "requestParameters.dBClusterIdentifier"},
		"RestoreDBClusterToPointInTime": {path: "requestParameters.dBClusterIdentifier"},
	},
	sequence.FieldDBSnapshot: {
		"RestoreDBInstanceFromDBSnapshot": {path: "requestParameters.dBSnapshotIdentifier"},
		"RestoreDBClusterFromSnapshot":    {path: "requestParameters.snapshotIdentifier"},
	},
	sequence.FieldRestoreTime: {
		"RestoreDBInstanceToPointInTime": {path: "requestParameters.restoreTime"},
		"RestoreDBClusterToPointInTime":  {path: "requestParameters.restoreToTime"},
	},
}

// azureRefs maps a rule field to the Azure Activity Log record (the
// diagnostic-export shape: Storage JSON lines and Event Hub records).
// Azure ids compare lower-cased.
var azureRefs = map[sequence.Field]ref{
	sequence.FieldDisk:           {path: "resourceId"},
	sequence.FieldVM:             {path: "resourceId"},
	sequence.FieldResourceID:     {path: "resourceId"},
	sequence.FieldCaller:         {path: "caller"},
	sequence.FieldCreateOption:   {path: "properties.creationData.createOption", body: true},
	sequence.FieldSourceResource: {path: "properties.creationData.sourceResourceId", body: true},
	sequence.FieldOSDisk:         {path: "properties.storageProfile.osDisk.managedDisk.id", body: true},
}

// refFor returns where a field of a step's operation is, or false when
// the export cannot reach it.
func refFor(provider, op string, f sequence.Field) (ref, bool) {
	if provider == event.Azure {
		r, ok := azureRefs[f]
		return r, ok
	}
	r, ok := awsRefs[f][op]
	return r, ok
}

// Detection is a revert detection as the exports see it: the rule's
// steps, its required contexts, and what it supersedes.
type Detection struct {
	ID          string
	Title       string
	Provider    string
	Window      time.Duration
	Steps       []sequence.Step
	Required    []sequence.Context
	Supersedes  []string
	Description string
}

// Detections returns the built-in revert detections in content order.
func Detections() []Detection {
	var out []Detection
	for _, d := range content.Reverts() {
		det := Detection{ID: d.ID(), Title: d.Title, Description: d.Description, Window: d.Rule.Window,
			Steps: d.Rule.Steps, Supersedes: d.Rule.Supersedes}
		if det.Window == 0 {
			det.Window = sequence.DefaultWindow
		}
		for _, c := range d.Rule.Context {
			if c.Required {
				det.Required = append(det.Required, c)
			}
		}
		if len(det.Steps) > 0 {
			det.Provider = det.Steps[0].Provider
		}
		out = append(out, det)
	}
	return out
}

// bindings lists the rule's binding names in declaration order, as the
// engine reports them in a match.
func (d *Detection) bindings() []string {
	var out []string
	for _, st := range d.Steps {
		for _, b := range st.Bind {
			if !contains(out, b.Name) {
				out = append(out, b.Name)
			}
		}
	}
	return out
}

// bindStep returns the index of the first step that binds name.
func (d *Detection) bindStep(name string) int {
	for i, st := range d.Steps {
		for _, b := range st.Bind {
			if b.Name == name {
				return i
			}
		}
	}
	return -1
}

// opsByRef groups a step's operations by where the field is: the exports
// need one expression per group.
func opsByRef(provider string, ops []string, f sequence.Field) (groups [][]string, refs []ref, missing []string) {
	idx := map[string]int{}
	for _, op := range ops {
		r, ok := refFor(provider, op, f)
		if !ok {
			missing = append(missing, op)
			continue
		}
		key := fmt.Sprint(r)
		i, seen := idx[key]
		if !seen {
			i = len(groups)
			idx[key] = i
			groups = append(groups, nil)
			refs = append(refs, r)
		}
		groups[i] = append(groups[i], op)
	}
	return groups, refs, missing
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func lowerAll(list []string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = strings.ToLower(s)
	}
	return out
}
