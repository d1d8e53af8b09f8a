// Package catalog is the one field catalog: for each cloud operation the
// rules and decoders know, which typed join keys (the fields of
// event.Keys, and the caller and resource id) a record of it carries, and
// where in the record each one is written, in one neutral notation.
//
// The Sigma export, every platform export and the hunting queries render
// these paths in their own syntax; a test holds the decoders
// (ingest/cloudtrail, ingest/azure, the partial decoder in ingest) to it.
// Adding a cloud API is one entry here, the rule and a fixture.
package catalog

import (
	"strings"
	"unicode/utf8"

	"github.com/revertwatch/revertwatch/event"
)

// Key names a typed join key. The names are those of event.Keys' JSON
// members (so a test can read a decoded event's keys by them) and of the
// sequence engine's fields (sequence.ParseField reads every one of them).
type Key string

// The keys.
const (
	Instances        Key = "instances"
	SourceInstances  Key = "source_instances"
	Volumes          Key = "volumes"
	SourceVolumes    Key = "source_volumes"
	Snapshots        Key = "snapshots"
	SourceSnapshots  Key = "source_snapshots"
	Images           Key = "images"
	Devices          Key = "devices"
	RootDevice       Key = "root_device_name"
	RestoreTask      Key = "restore_task"
	DBInstance       Key = "db_instance"
	SourceDBInstance Key = "source_db_instance"
	DBCluster        Key = "db_cluster"
	DBSnapshot       Key = "db_snapshot"
	RestoreTime      Key = "restore_time"
	RecoveryPoint    Key = "recovery_point"
	Disk             Key = "disk"
	VM               Key = "vm"
	OSDisk           Key = "os_disk"
	SourceResource   Key = "source_resource"
	CreateOption     Key = "create_option"
	// Caller and ResourceID are not in event.Keys but in the event itself;
	// Azure rules join on them, so the exports need their paths too.
	Caller     Key = "caller"
	ResourceID Key = "resource_id"
)

// EventKeys lists the keys held in event.Keys, in its order.
var EventKeys = []Key{
	Instances, SourceInstances, Volumes, SourceVolumes, Snapshots, SourceSnapshots, Images, Devices, RootDevice,
	RestoreTask, DBInstance, SourceDBInstance, DBCluster, DBSnapshot, RestoreTime, RecoveryPoint,
	Disk, VM, OSDisk, SourceResource, CreateOption,
}

// Body says which part of a record a path is relative to.
type Body uint8

// The bodies. A CloudTrail request is requestParameters and a response
// responseElements; an Azure request is properties.requestbody and a
// response properties.responseBody, both JSON held in a string.
const (
	Record   Body = iota // the record's own top-level members
	Request              // the call's request
	Response             // the call's response
)

// Path is where a key's value is written: a body and a dot-separated path
// inside it, in which a segment ending in "[]" is a list whose members
// are all searched (CloudTrail's {"items": [...]} is written items[]).
type Path struct {
	Body Body
	Path string
}

// String writes the path as body:path (request:instancesSet.items[].instanceId).
func (p Path) String() string {
	return [...]string{"record", "request", "response"}[p.Body] + ":" + p.Path
}

// List reports whether the path crosses a list: several values a record.
func (p Path) List() bool { return strings.Contains(p.Path, "[]") }

// Field is one key of an operation and where it is written.
type Field struct {
	Key Key
	// Paths are where the API writes the key, in the order an export
	// lists them. For an Azure body key: request, then response (the
	// response is logged for every accepted write, the request only on
	// Start).
	Paths []Path
	// Also are where the tolerant decoder finds the key too (a response
	// echoing the request, another SDK's field); the exports read Paths.
	Also []Path
	// Derived, when set, says how the value is made from the path's
	// value instead of being the value itself.
	Derived string
}

// Op is one operation and its fields.
type Op struct {
	Provider string
	// Name is the CloudTrail eventName, or the Azure operation
	// lower-cased; an Azure name ending in "/" covers every operation
	// under that resource type (the key read from resourceId).
	Name string
	// Source is the CloudTrail eventSource.
	Source string
	Fields []Field
}

// Field returns the op's field for key.
func (o *Op) Field(key Key) (Field, bool) {
	for _, f := range o.Fields {
		if f.Key == key {
			return f, true
		}
	}
	return Field{}, false
}

func req(p string) Path  { return Path{Request, p} }
func resp(p string) Path { return Path{Response, p} }
func rec(p string) Path  { return Path{Record, p} }

func f(k Key, paths ...Path) Field { return Field{Key: k, Paths: paths} }

func also(k Key, paths []Path, alt ...Path) Field { return Field{Key: k, Paths: paths, Also: alt} }

func derived(k Key, how string, paths ...Path) Field {
	return Field{Key: k, Paths: paths, Derived: how}
}

func ps(p ...Path) []Path { return p }

const (
	ec2    = "ec2.amazonaws.com"
	backup = "backup.amazonaws.com"
	rds    = "rds.amazonaws.com"
)

// Shared AWS fields.
var (
	instancesSet     = also(Instances, ps(req("instancesSet.items[].instanceId")), resp("instancesSet.items[].instanceId"), req("instanceId[]"))
	blockDeviceSnaps = f(SourceSnapshots, req("blockDeviceMapping.items[].ebs.snapshotId"))
)

// aws is the CloudTrail catalog (telemetry.md §2.2). Paths name the shapes
// the exports read; the decoder also reads the singular "item" list and
// the <Action>Request/<Action>Response wrappers without them.
var aws = []Op{
	{Name: "StopInstances", Source: ec2, Fields: []Field{instancesSet}},
	{Name: "StartInstances", Source: ec2, Fields: []Field{instancesSet}},
	{Name: "RebootInstances", Source: ec2, Fields: []Field{instancesSet}},
	{Name: "TerminateInstances", Source: ec2, Fields: []Field{instancesSet}},
	{Name: "MonitorInstances", Source: ec2, Fields: []Field{instancesSet}},
	{Name: "UnmonitorInstances", Source: ec2, Fields: []Field{instancesSet}},
	{Name: "RunInstances", Source: ec2, Fields: []Field{
		also(Images, ps(req("instancesSet.items[].imageId")), req("imageId"), resp("instancesSet.items[].imageId")),
		blockDeviceSnaps,
		f(Instances, resp("instancesSet.items[].instanceId")),
		f(RootDevice, resp("instancesSet.items[].rootDeviceName")),
	}},
	{Name: "CreateVolume", Source: ec2, Fields: []Field{
		also(SourceSnapshots, ps(req("snapshotId")), resp("snapshotId")),
		f(Volumes, resp("volumeId")),
	}},
	{Name: "AttachVolume", Source: ec2, Fields: []Field{
		also(Volumes, ps(req("volumeId")), resp("volumeId")),
		also(Instances, ps(req("instanceId")), resp("instanceId")),
		also(Devices, ps(req("device")), resp("device")),
	}},
	{Name: "DetachVolume", Source: ec2, Fields: []Field{
		also(Volumes, ps(req("volumeId")), resp("volumeId")),
		also(Instances, ps(req("instanceId")), resp("instanceId")),
		also(Devices, ps(req("device")), resp("device")),
	}},
	{Name: "CreateSnapshot", Source: ec2, Fields: []Field{
		also(SourceVolumes, ps(req("volumeId")), resp("volumeId")),
		f(Snapshots, resp("snapshotId")),
	}},
	{Name: "CreateSnapshots", Source: ec2, Fields: []Field{
		f(SourceInstances, req("InstanceSpecification.InstanceId")),
		f(Snapshots, resp("snapshotSet.items[].snapshotId")),
		f(SourceVolumes, resp("snapshotSet.items[].volumeId")),
	}},
	{Name: "CopySnapshot", Source: ec2, Fields: []Field{
		f(SourceSnapshots, req("sourceSnapshotId")),
		f(Snapshots, resp("snapshotId")),
	}},
	{Name: "CreateImage", Source: ec2, Fields: []Field{
		f(SourceInstances, req("instanceId")),
		blockDeviceSnaps,
		f(Images, resp("imageId")),
	}},
	{Name: "RegisterImage", Source: ec2, Fields: []Field{
		f(RootDevice, req("rootDeviceName")),
		blockDeviceSnaps,
		f(Images, resp("imageId")),
	}},
	{Name: "CopyImage", Source: ec2, Fields: []Field{
		also(Images, ps(resp("imageId")), req("sourceImageId")),
	}},
	{Name: "CreateReplaceRootVolumeTask", Source: ec2, Fields: []Field{
		also(Instances, ps(req("CreateReplaceRootVolumeTaskRequest.InstanceId")),
			resp("CreateReplaceRootVolumeTaskResponse.replaceRootVolumeTask.instanceId")),
		f(SourceSnapshots, req("CreateReplaceRootVolumeTaskRequest.SnapshotId")),
		f(Images, req("CreateReplaceRootVolumeTaskRequest.ImageId")),
		f(SourceVolumes, req("CreateReplaceRootVolumeTaskRequest.VolumeId")),
		f(RestoreTask, resp("CreateReplaceRootVolumeTaskResponse.replaceRootVolumeTask.replaceRootVolumeTaskId")),
	}},
	{Name: "StartRestoreJob", Source: backup, Fields: []Field{
		f(RecoveryPoint, req("recoveryPointArn")),
		derived(SourceSnapshots, "the id after the last / of an EBS recovery point ARN (snap-…)", req("recoveryPointArn")),
		derived(Images, "the id after the last / of an EC2 recovery point ARN (ami-…)", req("recoveryPointArn")),
		f(RestoreTask, resp("restoreJobId")),
	}},
	{Name: "RestoreDBInstanceFromDBSnapshot", Source: rds, Fields: []Field{
		f(DBInstance, req("dBInstanceIdentifier")),
		also(DBSnapshot, ps(req("dBSnapshotIdentifier")), req("dBClusterSnapshotIdentifier")),
	}},
	{Name: "RestoreDBInstanceFromS3", Source: rds, Fields: []Field{
		f(DBInstance, req("dBInstanceIdentifier")),
		also(DBSnapshot, ps(req("dBSnapshotIdentifier")), req("dBClusterSnapshotIdentifier")),
	}},
	{Name: "RestoreDBInstanceToPointInTime", Source: rds, Fields: []Field{
		f(DBInstance, req("targetDBInstanceIdentifier")),
		also(SourceDBInstance, ps(req("sourceDBInstanceIdentifier")), req("sourceDbiResourceId")),
		derived(RestoreTime, `the time, or "latest" when useLatestRestorableTime is true`, req("restoreTime")),
	}},
	{Name: "RestoreDBClusterFromSnapshot", Source: rds, Fields: []Field{
		f(DBCluster, req("dBClusterIdentifier")),
		f(DBSnapshot, req("snapshotIdentifier")),
	}},
	{Name: "RestoreDBClusterToPointInTime", Source: rds, Fields: []Field{
		f(DBCluster, req("dBClusterIdentifier")),
		f(SourceDBInstance, req("sourceDBClusterIdentifier")),
		derived(RestoreTime, `the time, or "latest" when useLatestRestorableTime is true`, req("restoreToTime")),
	}},
}

// awsDefault is what the decoder reads of a CloudTrail operation the
// catalog does not list: the ids its request names at the top level.
var awsDefault = Op{Provider: event.AWS, Fields: []Field{
	also(Instances, ps(req("instanceId")), req("instancesSet.items[].instanceId")),
	f(Volumes, req("volumeId")),
	f(Snapshots, req("snapshotId")),
	f(Images, req("imageId")),
	f(DBInstance, req("dBInstanceIdentifier")),
	f(DBSnapshot, req("dBSnapshotIdentifier")),
	f(DBCluster, req("dBClusterIdentifier")),
}}

// azureCommon are the fields of every Azure record.
var azureCommon = []Field{f(ResourceID, rec("resourceId")), f(Caller, rec("caller"))}

// Azure body fields, logged in the request (Start) and the response
// (Accept) of a write (telemetry.md §3.2).
var (
	createOption   = f(CreateOption, req("properties.creationData.createOption"), resp("properties.creationData.createOption"))
	sourceResource = f(SourceResource, req("properties.creationData.sourceResourceId"), resp("properties.creationData.sourceResourceId"))
	sourceSnapshot = derived(SourceSnapshots, "sourceResourceId when it names a snapshot or a restore point",
		req("properties.creationData.sourceResourceId"), resp("properties.creationData.sourceResourceId"))
	osDisk = f(OSDisk, req("properties.storageProfile.osDisk.managedDisk.id"), resp("properties.storageProfile.osDisk.managedDisk.id"))
)

// azure is the Activity Log catalog. An entry ending in "/" is a resource
// type: the key its resourceId is (Azure ids are lower-cased in keys).
var azure = []Op{
	{Name: "microsoft.compute/disks/", Fields: []Field{f(Disk, rec("resourceId"))}},
	{Name: "microsoft.compute/snapshots/", Fields: []Field{f(Snapshots, rec("resourceId"))}},
	{Name: "microsoft.compute/restorepointcollections/restorepoints/", Fields: []Field{f(Snapshots, rec("resourceId"))}},
	{Name: "microsoft.compute/virtualmachines/", Fields: []Field{derived(VM, "resourceId up to the virtual machine's name", rec("resourceId"))}},
	{Name: "microsoft.compute/virtualmachinescalesets/", Fields: []Field{f(VM, rec("resourceId"))}},
	{Name: "microsoft.recoveryservices/vaults/backupfabrics/protectioncontainers/protecteditems/recoverypoints/",
		Fields: []Field{f(RecoveryPoint, rec("resourceId"))}},
	{Name: "microsoft.compute/disks/write", Fields: []Field{createOption, sourceResource, sourceSnapshot}},
	{Name: "microsoft.compute/snapshots/write", Fields: []Field{createOption, sourceResource,
		derived(Disk, "sourceResourceId when it names a disk", sourceResource.Paths...)}},
	{Name: "microsoft.compute/virtualmachines/write", Fields: []Field{osDisk}},
}

// GCP record paths: a LogEntry's protoPayload (a BigQuery sink row's
// protopayload_auditlog, same member names). A GCP request is
// protoPayload.request and a response protoPayload.response (the BigQuery
// requestJson and responseJson); both are logged on an operation's first
// entry only. Resource references are compared as paths from projects/
// (a full URL or a partial zones/…, global/… URL names the same
// resource: ingest/gcp.Canonical).
const gcpResourceName = "protoPayload.resourceName"

// gcpCommon are the fields of every Cloud Audit Logs entry.
var gcpCommon = []Field{f(ResourceID, rec(gcpResourceName)), f(Caller, rec("protoPayload.authenticationInfo.principalEmail"))}

// gcp is the Cloud Audit Logs catalog for Compute Engine (Compute Engine
// API reference v1; telemetry-gcp.md §3). Operations are methodName
// without its API version (v1., beta., alpha.). An entry ending in "."
// is a resource collection: the key its resourceName is, unless the
// operation's own entry reads resourceName as another key.
var gcp = []Op{
	{Name: "compute.instances.", Fields: []Field{f(Instances, rec(gcpResourceName))}},
	{Name: "compute.disks.", Fields: []Field{f(Volumes, rec(gcpResourceName))}},
	{Name: "compute.regionDisks.", Fields: []Field{f(Volumes, rec(gcpResourceName))}},
	{Name: "compute.snapshots.", Fields: []Field{f(Snapshots, rec(gcpResourceName))}},
	{Name: "compute.instantSnapshots.", Fields: []Field{f(Snapshots, rec(gcpResourceName))}},
	{Name: "compute.images.", Fields: []Field{f(Images, rec(gcpResourceName))}},
	{Name: "compute.machineImages.", Fields: []Field{f(Images, rec(gcpResourceName))}},
	{Name: "compute.instances.insert", Fields: []Field{
		also(Images, ps(req("disks[].initializeParams.sourceImage")), req("sourceMachineImage")),
		f(SourceResource, req("sourceMachineImage")),
		f(SourceSnapshots, req("disks[].initializeParams.sourceSnapshot")),
		f(Volumes, req("disks[].source")),
	}},
	{Name: "compute.instances.attachDisk", Fields: []Field{
		f(Volumes, req("source")),
		f(Devices, req("deviceName")),
		derived(RootDevice, "deviceName (else the disk's name) when boot is true: the disk attached as the boot disk", req("deviceName"), req("boot")),
	}},
	{Name: "compute.instances.detachDisk", Fields: []Field{f(Devices, req("deviceName"))}},
	{Name: "compute.disks.insert", Fields: []Field{
		also(SourceSnapshots, ps(req("sourceSnapshot")), req("sourceInstantSnapshot")),
		f(Images, req("sourceImage")),
		f(SourceVolumes, req("sourceDisk")),
	}},
	{Name: "compute.regionDisks.insert", Fields: []Field{
		also(SourceSnapshots, ps(req("sourceSnapshot")), req("sourceInstantSnapshot")),
		f(Images, req("sourceImage")),
		f(SourceVolumes, req("sourceDisk")),
	}},
	{Name: "compute.disks.createSnapshot", Fields: []Field{
		f(SourceVolumes, rec(gcpResourceName)),
		derived(Snapshots, "projects/{project}/global/snapshots/{name}", req("name")),
	}},
	{Name: "compute.regionDisks.createSnapshot", Fields: []Field{
		f(SourceVolumes, rec(gcpResourceName)),
		derived(Snapshots, "projects/{project}/global/snapshots/{name}", req("name")),
	}},
	{Name: "compute.snapshots.insert", Fields: []Field{
		{Key: Snapshots, Paths: ps(req("name")), Also: ps(rec(gcpResourceName)),
			Derived: "projects/{project}/global/snapshots/{name}; resourceName when it names the snapshot"},
		f(SourceVolumes, req("sourceDisk")),
	}},
	{Name: "compute.images.insert", Fields: []Field{
		f(SourceSnapshots, req("sourceSnapshot")),
		f(SourceVolumes, req("sourceDisk")),
	}},
	{Name: "compute.machineImages.insert", Fields: []Field{f(SourceInstances, req("sourceInstance"))}},
	// Backup and DR (cloud.google.com/backup-disaster-recovery/docs/audit-logging):
	// resourceName is the backup restored.
	{Name: "google.cloud.backupdr.v1.BackupDR.RestoreBackup", Fields: []Field{f(RecoveryPoint, rec(gcpResourceName))}},
}

func init() {
	for i := range gcp {
		gcp[i].Provider = event.GCP
	}
	for i := range aws {
		aws[i].Provider = event.AWS
	}
	for i := range azure {
		azure[i].Provider = event.Azure
	}
}

// Ops lists the provider's catalog entries in a stable order (Azure
// resource-type entries end in "/").
func Ops(provider string) []Op {
	switch provider {
	case event.Azure:
		return azure
	case event.GCP:
		return gcp
	}
	return aws
}

// Lookup returns the fields of one operation: for CloudTrail its entry, or
// the default of unlisted operations (listed false); for Azure the fields
// of every record, of its resource type and of the operation itself.
func Lookup(provider, op string) (o Op, listed bool) {
	if provider == event.GCP {
		return lookupGCP(op)
	}
	if provider == event.Azure {
		op = strings.ToLower(op)
		o = Op{Provider: event.Azure, Name: op, Fields: append([]Field(nil), azureCommon...)}
		typ := ""
		for i := range azure {
			a := &azure[i]
			if a.Name == op {
				o.Fields = append(o.Fields, a.Fields...)
				listed = true
			}
			if strings.HasSuffix(a.Name, "/") && strings.HasPrefix(op, a.Name) && len(a.Name) > len(typ) {
				typ = a.Name
			}
		}
		for i := range azure {
			if azure[i].Name == typ && typ != "" {
				o.Fields = append(o.Fields, azure[i].Fields...)
				listed = true
			}
		}
		return o, listed
	}
	for i := range aws {
		if aws[i].Name == op {
			return aws[i], true
		}
	}
	o = awsDefault
	o.Name = op
	return o, false
}

// lookupGCP returns the fields of every entry, of the operation's
// resource collection (unless the operation's own entry reads the same
// path), and of the operation itself.
func lookupGCP(op string) (o Op, listed bool) {
	o = Op{Provider: event.GCP, Name: op, Fields: append([]Field(nil), gcpCommon...)}
	var own []Field
	typ := ""
	for i := range gcp {
		g := &gcp[i]
		if g.Name == op {
			own = append(own, g.Fields...)
			listed = true
		}
		if strings.HasSuffix(g.Name, ".") && strings.HasPrefix(op, g.Name) && len(g.Name) > len(typ) {
			typ = g.Name
		}
	}
	for i := range gcp {
		if gcp[i].Name != typ || typ == "" {
			continue
		}
		listed = true
	fields:
		for _, fl := range gcp[i].Fields {
			for _, of := range own {
				for _, p := range append(append([]Path(nil), of.Paths...), of.Also...) {
					if p == fl.Paths[0] {
						continue fields
					}
				}
			}
			o.Fields = append(o.Fields, fl)
		}
	}
	o.Fields = append(o.Fields, own...)
	return o, listed
}

// Paths returns where an operation writes key, or nil.
func Paths(provider, op string, key Key) []Path {
	o, _ := Lookup(provider, op)
	for _, fl := range o.Fields {
		if fl.Key == key {
			return fl.Paths
		}
	}
	return nil
}

// Source returns the CloudTrail eventSource of an operation, or "".
func Source(op string) string {
	for i := range aws {
		if aws[i].Name == op {
			return aws[i].Source
		}
	}
	return ""
}

// Operations that destroy a resource: the evidence destruction that
// often follows a revert. An Azure operation deletes when its name ends
// in azureDelete.
var awsDeletes = []string{
	"DeleteVolume", "DeleteSnapshot", "DeregisterImage", "TerminateInstances",
	"DeleteDBInstance", "DeleteDBCluster", "DeleteDBSnapshot", "DeleteDBClusterSnapshot",
	"DeleteRecoveryPoint", "DeleteBackupVault",
}

// Operations that share a snapshot or image with another account or
// export a disk: a copy leaves the account. An Azure operation shares
// when its name ends in azureExport.
var awsShares = []string{"ModifySnapshotAttribute", "ModifyImageAttribute"}

const (
	azureDelete = "/delete"
	azureExport = "/begingetaccess/action"
)

// A Google Cloud operation deletes when its method ends in gcpDelete and
// shares when it sets an IAM policy on a snapshot, image, machine image
// or disk (another principal may then copy it).
const gcpDelete = ".delete"

var gcpShares = []string{"compute.snapshots.setIamPolicy", "compute.images.setIamPolicy",
	"compute.machineImages.setIamPolicy", "compute.disks.setIamPolicy", "compute.regionDisks.setIamPolicy"}

// Deletes reports whether the operation destroys a resource.
func Deletes(provider, op string) bool {
	if provider == event.GCP {
		return strings.HasSuffix(op, gcpDelete)
	}
	if provider == event.Azure {
		return hasLowerSuffix(op, azureDelete)
	}
	return contains(awsDeletes, op)
}

// hasLowerSuffix is strings.HasSuffix(strings.ToLower(op), suffix) for a
// lower-case ASCII suffix, without a lowered copy of an ASCII op (every
// call of a bundle's timeline asks).
func hasLowerSuffix(op, suffix string) bool {
	for i := 0; i < len(op); i++ {
		if op[i] >= utf8.RuneSelf {
			return strings.HasSuffix(strings.ToLower(op), suffix)
		}
	}
	return len(op) >= len(suffix) && strings.EqualFold(op[len(op)-len(suffix):], suffix)
}

// Shares reports whether the operation shares or exports a snapshot,
// image or disk.
func Shares(provider, op string) bool {
	if provider == event.GCP {
		return contains(gcpShares, op)
	}
	if provider == event.Azure {
		return hasLowerSuffix(op, azureExport)
	}
	return contains(awsShares, op)
}

// Operations whose calls relate resources the way an investigation
// follows them (explain's lineage): what a snapshot, volume, image, disk
// or database was made from, the volumes detached from an instance, the
// instances a principal terminated. An Azure operation relates when its
// name starts with one of azureRelates or holds one of azureRelatesIn.
var (
	awsRelates = []string{
		"RunInstances", "CreateVolume", "CreateSnapshot", "CreateSnapshots", "CopySnapshot",
		"CreateImage", "RegisterImage", "CopyImage", "CreateReplaceRootVolumeTask", "StartRestoreJob",
		"RestoreDBInstanceFromDBSnapshot", "RestoreDBInstanceFromS3", "RestoreDBInstanceToPointInTime",
		"RestoreDBClusterFromSnapshot", "RestoreDBClusterToPointInTime",
		"DetachVolume", "TerminateInstances",
	}
	azureRelates = []string{
		"microsoft.compute/disks/write", "microsoft.compute/snapshots/write",
		"microsoft.compute/virtualmachines/write", "microsoft.compute/virtualmachinescalesets/",
	}
	azureRelatesIn = []string{"/restorepoints/", "/recoverypoints/"}
	gcpRelates     = []string{
		"compute.instances.insert", "compute.disks.insert", "compute.regionDisks.insert",
		"compute.disks.createSnapshot", "compute.regionDisks.createSnapshot", "compute.snapshots.insert",
		"compute.images.insert", "compute.machineImages.insert", "compute.instances.detachDisk",
		"compute.instances.delete",
	}
)

// Relates reports whether the operation's calls relate resources (see
// awsRelates); an Azure operation is spelled lower-cased.
func Relates(provider, op string) bool {
	switch provider {
	case event.GCP:
		return contains(gcpRelates, op)
	case event.Azure:
		for _, p := range azureRelates {
			if strings.HasPrefix(op, p) {
				return true
			}
		}
		for _, p := range azureRelatesIn {
			if strings.Contains(op, p) {
				return true
			}
		}
		return false
	}
	return contains(awsRelates, op)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
