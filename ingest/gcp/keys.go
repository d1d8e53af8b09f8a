package gcp

import (
	"strings"

	"github.com/valyala/fastjson"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/internal/jsonx"
)

// KindOf types a Compute Engine resource path by its collection:
// instances, disks (zonal and regional), snapshots and instant snapshots,
// images, machine images. Other paths are KindGCP.
func KindOf(path string) event.Kind {
	parts := strings.Split(path, "/")
	if len(parts) < 2 {
		return event.KindGCP
	}
	switch parts[len(parts)-2] {
	case "instances":
		return event.KindInstance
	case "disks":
		return event.KindVolume
	case "snapshots", "instantSnapshots":
		return event.KindSnapshot
	case "images":
		return event.KindImage
	case "machineImages":
		return event.KindMachineImage
	case "backups":
		return event.KindRecoveryPoint
	}
	return event.KindGCP
}

// creates reports whether an operation creates the resource it names.
func creates(op string) bool {
	return strings.HasSuffix(op, ".insert") || strings.HasSuffix(op, ".bulkInsert")
}

// Compute Engine operations whose request names other resources
// (Compute Engine API reference v1; telemetry-gcp.md §3). Zonal and
// regional disks are alike.
const (
	opInstancesInsert   = "compute.instances.insert"
	opAttachDisk        = "compute.instances.attachDisk"
	opDetachDisk        = "compute.instances.detachDisk"
	opDisksInsert       = "compute.disks.insert"
	opRegionDisksInsert = "compute.regionDisks.insert"
	opCreateSnapshot    = "compute.disks.createSnapshot"
	opRegionSnapshot    = "compute.regionDisks.createSnapshot"
	opSnapshotsInsert   = "compute.snapshots.insert"
	opImagesInsert      = "compute.images.insert"
	opMachineImages     = "compute.machineImages.insert"
)

// keys records the resource the entry is about (resourceName) and, for
// the operations that carry them, the resources the request names: the
// source snapshot, image or disk of a new disk or image, the boot disk of
// a new instance, the disk attached. Only the first entry of an
// operation has a request; the core folds it into the last.
func keys(req *fastjson.Value, ev *event.Event) {
	op := ev.Operation
	project := ev.Account
	ref := func(v *fastjson.Value) string { return Canonical(project, jsonx.Str(v)) }
	if id := ev.ResourceID; id != "" {
		kind := KindOf(id)
		role := event.RoleTarget
		if creates(op) {
			role = event.RoleCreated
		}
		switch {
		case kind == event.KindVolume && (op == opCreateSnapshot || op == opRegionSnapshot || op == opSnapshotsInsert):
			// The disk a snapshot is taken of; a cross-project
			// snapshots.insert names the source disk too.
			role = event.RoleSource
		case kind == event.KindGCP:
			ev.Resources = append(ev.Resources, event.Resource{UID: id, Type: string(kind), Role: role})
			kind = ""
		}
		if kind != "" {
			ev.AddResource(kind, role, id)
		}
	}
	if req == nil {
		return
	}
	switch op {
	case opDisksInsert, opRegionDisksInsert:
		ev.AddResource(event.KindSnapshot, event.RoleSource, ref(req.Get("sourceSnapshot")))
		ev.AddResource(event.KindSnapshot, event.RoleSource, ref(req.Get("sourceInstantSnapshot")))
		ev.AddResource(event.KindImage, event.RoleSource, ref(req.Get("sourceImage")))
		ev.AddResource(event.KindVolume, event.RoleSource, ref(req.Get("sourceDisk")))
	case opImagesInsert:
		ev.AddResource(event.KindSnapshot, event.RoleSource, ref(req.Get("sourceSnapshot")))
		ev.AddResource(event.KindVolume, event.RoleSource, ref(req.Get("sourceDisk")))
	case opCreateSnapshot, opRegionSnapshot:
		if name := jsonx.Str(req.Get("name")); name != "" && !strings.Contains(name, "/") && project != "" {
			ev.AddResource(event.KindSnapshot, event.RoleCreated, "projects/"+project+"/global/snapshots/"+name)
		}
	case opSnapshotsInsert:
		if name := jsonx.Str(req.Get("name")); name != "" && !strings.Contains(name, "/") && project != "" {
			ev.AddResource(event.KindSnapshot, event.RoleCreated, "projects/"+project+"/global/snapshots/"+name)
		}
		ev.AddResource(event.KindVolume, event.RoleSource, ref(req.Get("sourceDisk")))
	case opMachineImages:
		ev.AddResource(event.KindInstance, event.RoleSource, ref(req.Get("sourceInstance")))
	case opInstancesInsert:
		if mi := ref(req.Get("sourceMachineImage")); mi != "" {
			// The machine image the instance is made from: an image key,
			// and the instance's source (as Azure's sourceResourceId).
			ev.AddResource(event.KindMachineImage, event.RoleSource, mi)
			ev.Keys.SourceResource = mi
		}
		for _, dk := range jsonx.Items(req.Get("disks")) {
			ip := dk.Get("initializeParams")
			ev.AddResource(event.KindSnapshot, event.RoleSource, ref(jsonx.Get(ip, "sourceSnapshot")))
			ev.AddResource(event.KindImage, event.RoleSource, ref(jsonx.Get(ip, "sourceImage")))
			ev.AddResource(event.KindVolume, event.RoleAttachedTo, ref(dk.Get("source")))
		}
	case opAttachDisk:
		disk := ref(req.Get("source"))
		ev.AddResource(event.KindVolume, event.RoleAttachedTo, disk)
		dev := jsonx.Str(req.Get("deviceName"))
		if dev != "" {
			ev.Keys.Devices = appendUnique(ev.Keys.Devices, dev)
		}
		if jsonx.Bool(req.Get("boot")) {
			// The boot disk: the instance now starts from this disk.
			if dev == "" {
				dev = disk[strings.LastIndexByte(disk, '/')+1:]
			}
			ev.Keys.RootDeviceName = dev
		}
	case opDetachDisk:
		if dev := jsonx.Str(req.Get("deviceName")); dev != "" {
			ev.Keys.Devices = appendUnique(ev.Keys.Devices, dev)
		}
	}
}

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}
