package cloudtrail

import (
	"strings"

	"github.com/valyala/fastjson"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/internal/jsonx"
)

// params gives case-insensitive access to a call's request or response,
// looking both at the top level and inside the <Action>Request or
// <Action>Response wrapper of the newer EC2 actions.
type params struct {
	top, wrapped *fastjson.Value
}

func newParams(v *fastjson.Value, op, suffix string) params {
	p := params{top: v}
	if v != nil && v.Type() == fastjson.TypeObject {
		p.wrapped = jsonx.Get(v, op+suffix)
	}
	return p
}

// get returns the member at the key path, wrapped form first.
func (p params) get(keys ...string) *fastjson.Value {
	if m := jsonx.Path(p.wrapped, keys...); m != nil {
		return m
	}
	return jsonx.Path(p.top, keys...)
}

func (p params) str(keys ...string) string { return jsonx.Str(p.get(keys...)) }

// list returns the members of the list at the key path in any list shape.
func (p params) list(keys ...string) []*fastjson.Value { return jsonx.Items(p.get(keys...)) }

// extractKeys fills the typed join keys of telemetry.md §2.2. Calls not in
// the table still yield the ids their request names at the top level.
func extractKeys(ev *event.Event, reqV, respV *fastjson.Value) {
	op := ev.Operation
	req, resp := newParams(reqV, op, "Request"), newParams(respV, op, "Response")
	add := ev.AddResource

	instancesSet := func(p params, role string) {
		for _, it := range p.list("instancesSet") {
			add(event.KindInstance, role, jsonx.Str(jsonx.Get(it, "instanceId")))
		}
	}

	switch op {
	case "StopInstances", "StartInstances", "RebootInstances", "TerminateInstances",
		"MonitorInstances", "UnmonitorInstances":
		instancesSet(req, event.RoleTarget)
		instancesSet(resp, event.RoleTarget)
		for _, id := range req.list("instanceId") { // some SDKs send a flat list
			add(event.KindInstance, event.RoleTarget, jsonx.Str(id))
		}

	case "RunInstances":
		for _, it := range req.list("instancesSet") {
			add(event.KindImage, event.RoleSource, jsonx.Str(jsonx.Get(it, "imageId")))
		}
		add(event.KindImage, event.RoleSource, req.str("imageId"))
		blockDevices(ev, req)
		for _, it := range resp.list("instancesSet") {
			add(event.KindInstance, event.RoleCreated, jsonx.Str(jsonx.Get(it, "instanceId")))
			add(event.KindImage, event.RoleSource, jsonx.Str(jsonx.Get(it, "imageId")))
			if ev.Keys.RootDeviceName == "" {
				ev.Keys.RootDeviceName = jsonx.Str(jsonx.Get(it, "rootDeviceName"))
			}
		}

	case "CreateVolume":
		add(event.KindSnapshot, event.RoleSource, req.str("snapshotId"))
		add(event.KindSnapshot, event.RoleSource, resp.str("snapshotId"))
		add(event.KindVolume, event.RoleCreated, resp.str("volumeId"))

	case "AttachVolume", "DetachVolume":
		for _, p := range [...]params{req, resp} {
			add(event.KindVolume, event.RoleTarget, p.str("volumeId"))
			add(event.KindInstance, event.RoleAttachedTo, p.str("instanceId"))
			if d := p.str("device"); d != "" && len(ev.Keys.Devices) == 0 {
				ev.Keys.Devices = append(ev.Keys.Devices, d)
			}
		}

	case "CreateSnapshot":
		add(event.KindVolume, event.RoleSource, req.str("volumeId"))
		add(event.KindSnapshot, event.RoleCreated, resp.str("snapshotId"))
		add(event.KindVolume, event.RoleSource, resp.str("volumeId"))

	case "CreateSnapshots":
		add(event.KindInstance, event.RoleSource, req.str("InstanceSpecification", "InstanceId"))
		for _, it := range resp.list("snapshotSet") {
			add(event.KindSnapshot, event.RoleCreated, jsonx.Str(jsonx.Get(it, "snapshotId")))
			add(event.KindVolume, event.RoleSource, jsonx.Str(jsonx.Get(it, "volumeId")))
		}

	case "CopySnapshot":
		add(event.KindSnapshot, event.RoleSource, req.str("sourceSnapshotId"))
		add(event.KindSnapshot, event.RoleCreated, resp.str("snapshotId"))

	case "CreateImage":
		add(event.KindInstance, event.RoleSource, req.str("instanceId"))
		blockDevices(ev, req)
		add(event.KindImage, event.RoleCreated, resp.str("imageId"))

	case "RegisterImage":
		ev.Keys.RootDeviceName = req.str("rootDeviceName")
		blockDevices(ev, req)
		add(event.KindImage, event.RoleCreated, resp.str("imageId"))

	case "CopyImage":
		add(event.KindImage, event.RoleSource, req.str("sourceImageId"))
		add(event.KindImage, event.RoleCreated, resp.str("imageId"))

	case "CreateReplaceRootVolumeTask":
		add(event.KindInstance, event.RoleTarget, req.str("InstanceId"))
		add(event.KindSnapshot, event.RoleSource, req.str("SnapshotId"))
		add(event.KindImage, event.RoleSource, req.str("ImageId"))
		add(event.KindVolume, event.RoleSource, req.str("VolumeId"))
		task := resp.get("replaceRootVolumeTask")
		add(event.KindInstance, event.RoleTarget, jsonx.Str(jsonx.Get(task, "instanceId")))
		add(event.KindRestoreTask, event.RoleCreated, jsonx.Str(jsonx.Get(task, "replaceRootVolumeTaskId")))

	case "RestoreDBInstanceFromDBSnapshot", "RestoreDBInstanceFromS3":
		add(event.KindDBInstance, event.RoleCreated, req.str("dBInstanceIdentifier"))
		add(event.KindDBSnapshot, event.RoleSource, req.str("dBSnapshotIdentifier"))
		add(event.KindDBSnapshot, event.RoleSource, req.str("dBClusterSnapshotIdentifier"))

	case "RestoreDBInstanceToPointInTime":
		add(event.KindDBInstance, event.RoleCreated, req.str("targetDBInstanceIdentifier"))
		add(event.KindDBInstance, event.RoleSource, req.str("sourceDBInstanceIdentifier"))
		add(event.KindDBInstance, event.RoleSource, req.str("sourceDbiResourceId"))
		ev.Keys.RestoreTime = restorePoint(req, "restoreTime")

	case "RestoreDBClusterFromSnapshot":
		add(event.KindDBCluster, event.RoleCreated, req.str("dBClusterIdentifier"))
		add(event.KindDBSnapshot, event.RoleSource, req.str("snapshotIdentifier"))

	case "RestoreDBClusterToPointInTime":
		add(event.KindDBCluster, event.RoleCreated, req.str("dBClusterIdentifier"))
		add(event.KindDBInstance, event.RoleSource, req.str("sourceDBClusterIdentifier"))
		ev.Keys.RestoreTime = restorePoint(req, "restoreToTime")

	case "StartRestoreJob":
		rp := req.str("recoveryPointArn")
		add(event.KindRecoveryPoint, event.RoleSource, rp)
		// EBS and EC2 recovery points are snapshot and image ARNs; their
		// trailing id joins with the EC2 events.
		if i := strings.LastIndexByte(rp, '/'); i >= 0 {
			switch id := rp[i+1:]; {
			case strings.HasPrefix(id, "snap-"):
				add(event.KindSnapshot, event.RoleSource, id)
			case strings.HasPrefix(id, "ami-"):
				add(event.KindImage, event.RoleSource, id)
			}
		}
		add(event.KindRestoreTask, event.RoleCreated, resp.str("restoreJobId"))

	default:
		add(event.KindInstance, event.RoleTarget, req.str("instanceId"))
		instancesSet(req, event.RoleTarget)
		add(event.KindVolume, event.RoleTarget, req.str("volumeId"))
		add(event.KindSnapshot, event.RoleTarget, req.str("snapshotId"))
		add(event.KindImage, event.RoleTarget, req.str("imageId"))
		add(event.KindDBInstance, event.RoleTarget, req.str("dBInstanceIdentifier"))
		add(event.KindDBSnapshot, event.RoleTarget, req.str("dBSnapshotIdentifier"))
		add(event.KindDBCluster, event.RoleTarget, req.str("dBClusterIdentifier"))
	}
}

// blockDevices records the snapshots of a block device mapping, the source
// of an image or of a launched instance's volumes.
func blockDevices(ev *event.Event, req params) {
	for _, bd := range req.list("blockDeviceMapping") {
		ev.AddResource(event.KindSnapshot, event.RoleSource, jsonx.PathStr(bd, "ebs", "snapshotId"))
	}
}

// restorePoint is the time a point-in-time restore goes back to, or
// "latest" when the caller asked for the latest restorable time.
func restorePoint(req params, key string) string {
	if t := req.str(key); t != "" {
		return t
	}
	if jsonx.Bool(req.get("useLatestRestorableTime")) {
		return "latest"
	}
	return ""
}
