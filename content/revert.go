package content

import (
	"github.com/revertwatch/revertwatch/attack"
	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/level"
	"github.com/revertwatch/revertwatch/sequence"
)

// Detection is a built-in rule: the engine's sequence and what a person
// needs to read its match.
type Detection struct {
	Rule        sequence.Rule
	Title       string
	Description string
	Attack      attack.Mapping
	// Severity and Confidence before the match's adjustments.
	Severity   level.Level
	Confidence level.Level
	// NextSteps are the investigation steps for an analyst, most useful
	// first.
	NextSteps      []string
	FalsePositives []string
}

// ID returns the rule id.
func (d *Detection) ID() string { return d.Rule.ID }

// Assess returns a match's severity and confidence: the detection's base
// levels moved by the match's adjustments.
func (d *Detection) Assess(m *sequence.Match) (severity, confidence level.Level) {
	return d.Severity.Shift(m.Severity()), d.Confidence.Shift(m.Confidence())
}

// The seed's levels (T1578.004 Sumo Logic CSE: high severity, medium
// confidence) are where every revert detection starts.
const (
	seedSeverity   = level.High
	seedConfidence = level.Medium
)

// Rule ids of the revert detections.
const (
	RuleStopStart             = "aws-stop-start"
	RuleVolumeFromSnapshot    = "aws-volume-from-snapshot"
	RuleSnapshotVolumeAttach  = "aws-snapshot-volume-instance"
	RuleImageFromSnapshot     = "aws-image-from-snapshot"
	RuleSnapshotImageLaunch   = "aws-snapshot-image-instance"
	RuleAzureDiskSwap         = "azure-disk-swap"
	RuleAzureDiskSwapBodyless = "azure-disk-swap-bodyless"
	RuleReplaceRootVolume     = "aws-replace-root-volume"
	RuleBackupRestore         = "aws-backup-restore"
	RuleRDSRestore            = "aws-rds-restore"
	RuleAzureReimage          = "azure-reimage"
	RuleAzureBackupRestore    = "azure-backup-restore"
)

// Azure operations, lower-cased as event.Event carries them.
const (
	azDiskWrite      = "microsoft.compute/disks/write"
	azVMWrite        = "microsoft.compute/virtualmachines/write"
	azVMDeallocate   = "microsoft.compute/virtualmachines/deallocate/action"
	azVMPowerOff     = "microsoft.compute/virtualmachines/poweroff/action"
	azBackupRestore  = "microsoft.recoveryservices/vaults/backupfabrics/protectioncontainers/protecteditems/recoverypoints/restore/action"
	azVMReimage      = "microsoft.compute/virtualmachines/reimage/action"
	azVMSSReimage    = "microsoft.compute/virtualmachinescalesets/reimage/action"
	azVMSSReimageAll = "microsoft.compute/virtualmachinescalesets/reimageall/action"
	azVMSSVMReimage  = "microsoft.compute/virtualmachinescalesets/virtualmachines/reimage/action"
)

// rootDevices are the device names EC2 gives a root volume; attaching a
// restored volume there replaces the instance's system disk.
var rootDevices = []string{"/dev/xvda", "/dev/sda1", "/dev/sda"}

// The adjustments, contexts and steps below are shared by several
// detections. They are built per call so that no two detections share a
// slice.

func serviceActor() sequence.Adjust {
	return sequence.Adjust{
		Reason:       "made by a cloud service on someone's behalf (backup, scaling, image pipeline): often scheduled restores; attribute the request that drove it",
		Confidence:   -1,
		ServiceActor: true,
	}
}

func rootAttach() sequence.Adjust {
	return sequence.Adjust{
		Reason:   "the restored volume was attached at a root device name, replacing the system disk",
		Severity: +1,
		Step:     "attach",
		Where:    []sequence.Cond{{Field: sequence.FieldDevices, Op: sequence.In, Values: append([]string(nil), rootDevices...)}},
	}
}

func stoppedBefore() sequence.Adjust {
	return sequence.Adjust{Reason: "the instance was stopped before the volume was attached", Confidence: +1, Context: "stop"}
}

func stopContext() sequence.Context {
	return sequence.Context{
		Name: "stop", Provider: event.AWS, Operations: []string{"StopInstances"},
		Field: sequence.FieldInstances, Binding: "instance", Before: "attach",
	}
}

func deallocateContext(required bool) sequence.Context {
	return sequence.Context{
		Name: "deallocate", Provider: event.Azure, Operations: []string{azVMDeallocate, azVMPowerOff},
		Field: sequence.FieldVM, Binding: "vm", Before: "swap", Required: required,
	}
}

// awsStep keeps the declarations below to a line or two per step.
func awsStep(name string, ops []string, bind ...sequence.Bind) sequence.Step {
	return sequence.Step{Name: name, Provider: event.AWS, Operations: ops, Bind: bind}
}

func bind(name string, f sequence.Field) sequence.Bind { return sequence.Bind{Name: name, Field: f} }

func optional(name string, f sequence.Field) sequence.Bind {
	return sequence.Bind{Name: name, Field: f, Optional: true}
}

func stepSnapshot() sequence.Step {
	return awsStep("snapshot", []string{"CreateSnapshot", "CopySnapshot"}, bind("snapshot", sequence.FieldSnapshots))
}

func stepVolume() sequence.Step {
	return awsStep("create", []string{"CreateVolume"},
		bind("snapshot", sequence.FieldSourceSnapshots), bind("volume", sequence.FieldVolumes))
}

func stepAttach() sequence.Step {
	return awsStep("attach", []string{"AttachVolume"},
		bind("volume", sequence.FieldVolumes), bind("instance", sequence.FieldInstances))
}

func stepLaunch() sequence.Step {
	return awsStep("launch", []string{"RunInstances"},
		bind("image", sequence.FieldImages), bind("instance", sequence.FieldInstances))
}

var volumeNextSteps = []string{
	"Compare the snapshot's start time and source volume (DescribeSnapshots) with the intrusion timeline: a snapshot from before the compromise is the revert point.",
	"Preserve the volume that was detached from the instance (and its snapshots) before anyone deletes it; look for DeleteVolume or DeleteSnapshot after the attach.",
	"Review everything the actor did in the hours before the restore, across accounts and regions.",
	"Check whether the actor normally manages this instance, and whether a change ticket covers the restore.",
}

var imageNextSteps = []string{
	"Compare the snapshot behind the image with the intrusion timeline: was it taken before the compromise?",
	"Find the instance the new one replaces (TerminateInstances, reassigned Elastic IP or load-balancer target) and preserve its volumes.",
	"Review the actor's activity before the launch, and whether the AMI was registered for a known release process (Image Builder, Packer).",
}

// Reverts returns the built-in revert detections in a stable order. Each
// call returns fresh values the caller may modify.
func Reverts() []Detection {
	d := []Detection{
		{
			Rule: sequence.Rule{
				ID: RuleStopStart,
				Steps: []sequence.Step{
					awsStep("stop", []string{"StopInstances"}, bind("instance", sequence.FieldInstances)),
					awsStep("start", []string{"StartInstances"}, bind("instance", sequence.FieldInstances)),
				},
				Adjust: []sequence.Adjust{serviceActor()},
			},
			Title: "EC2 instance stopped and started again (ephemeral storage reset)",
			Description: "StopInstances followed by StartInstances of the same instance in the same account and region. " +
				"A stop wipes instance-store volumes and memory, so a stop and start can erase an intruder's traces on ephemeral storage.",
			NextSteps: []string{
				"Check whether the instance has instance-store (ephemeral) volumes: those are what a stop erases.",
				"Review what the actor did on and around the instance before the stop (SSM sessions, user data changes, security group edits).",
				"Look for a ModifyInstanceAttribute (userData, instanceType) between the stop and the start.",
			},
			FalsePositives: []string{"Scheduled start/stop of development instances", "Instance type changes and maintenance"},
		},
		{
			Rule: sequence.Rule{
				ID:      RuleVolumeFromSnapshot,
				Steps:   []sequence.Step{stepVolume(), stepAttach()},
				Context: []sequence.Context{stopContext()},
				Adjust:  []sequence.Adjust{rootAttach(), stoppedBefore(), serviceActor()},
			},
			Title: "EBS volume restored from a snapshot and attached to an instance",
			Description: "CreateVolume from a snapshot, then AttachVolume of that new volume. " +
				"Attached at the root device of a stopped instance, it rolls the instance's disk back to the snapshot.",
			NextSteps:      append([]string(nil), volumeNextSteps...),
			FalsePositives: []string{"Disaster-recovery drills and data recovery by administrators", "AWS Backup restores"},
		},
		{
			Rule: sequence.Rule{
				ID:         RuleSnapshotVolumeAttach,
				Steps:      []sequence.Step{stepSnapshot(), stepVolume(), stepAttach()},
				Context:    []sequence.Context{stopContext()},
				Adjust:     []sequence.Adjust{rootAttach(), stoppedBefore(), serviceActor()},
				Supersedes: []string{RuleVolumeFromSnapshot},
			},
			Title: "EBS snapshot restored to a volume and attached to an instance",
			Description: "CreateSnapshot or CopySnapshot, CreateVolume from that snapshot, then AttachVolume of the new volume: " +
				"the whole snapshot → volume → instance chain in one finding.",
			NextSteps:      append([]string(nil), volumeNextSteps...),
			FalsePositives: []string{"Disaster-recovery drills", "Volume migrations (resize, encryption, type change) by snapshot and restore"},
		},
		{
			Rule: sequence.Rule{
				ID: RuleImageFromSnapshot,
				Steps: []sequence.Step{
					{Name: "register", Provider: event.AWS, Operations: []string{"RegisterImage"},
						Where: []sequence.Cond{{Field: sequence.FieldSourceSnapshots, Op: sequence.Present}},
						Bind:  []sequence.Bind{bind("image", sequence.FieldImages)}},
					stepLaunch(),
				},
				Adjust: []sequence.Adjust{serviceActor()},
			},
			Title: "AMI registered from a snapshot and launched",
			Description: "RegisterImage with a snapshot in its block device mapping, then RunInstances with that image: " +
				"an instance rebuilt from an earlier disk state.",
			NextSteps:      append([]string(nil), imageNextSteps...),
			FalsePositives: []string{"Image pipelines (EC2 Image Builder, Packer) and golden-image releases"},
		},
		{
			Rule: sequence.Rule{
				ID: RuleSnapshotImageLaunch,
				Steps: []sequence.Step{
					stepSnapshot(),
					awsStep("register", []string{"RegisterImage"},
						bind("snapshot", sequence.FieldSourceSnapshots), bind("image", sequence.FieldImages)),
					stepLaunch(),
				},
				Adjust:     []sequence.Adjust{serviceActor()},
				Supersedes: []string{RuleImageFromSnapshot},
			},
			Title: "EBS snapshot registered as an AMI and launched",
			Description: "CreateSnapshot or CopySnapshot, RegisterImage from that snapshot, then RunInstances with the image: " +
				"the whole snapshot → image → instance chain in one finding.",
			NextSteps:      append([]string(nil), imageNextSteps...),
			FalsePositives: []string{"Image pipelines (EC2 Image Builder, Packer)"},
		},
		{
			Rule: sequence.Rule{
				ID: RuleAzureDiskSwap,
				Steps: []sequence.Step{
					{Name: "disk", Provider: event.Azure, Operations: []string{azDiskWrite},
						Where: []sequence.Cond{
							{Field: sequence.FieldCreateOption, Op: sequence.In, Values: []string{"Copy", "Restore", "CopyStart", "CopyFromSanSnapshot"}},
							{Field: sequence.FieldSourceResource, Op: sequence.Contains, Values: []string{"/microsoft.compute/snapshots/", "/restorepoints/"}},
						},
						Bind: []sequence.Bind{bind("disk", sequence.FieldDisk), bind("source", sequence.FieldSourceResource)}},
					{Name: "swap", Provider: event.Azure, Operations: []string{azVMWrite},
						Bind: []sequence.Bind{bind("disk", sequence.FieldOSDisk), bind("vm", sequence.FieldVM)}},
				},
				Context: []sequence.Context{deallocateContext(false)},
				Adjust: []sequence.Adjust{
					{Reason: "the virtual machine was deallocated or powered off before the disk swap", Confidence: +1, Context: "deallocate"},
					{Reason: "the disk was restored from a VM restore point", Step: "disk",
						Where: []sequence.Cond{{Field: sequence.FieldCreateOption, Op: sequence.In, Values: []string{"Restore"}}}},
					serviceActor(),
				},
			},
			Title: "Azure managed disk created from a snapshot and swapped in as a VM's OS disk",
			Description: "Microsoft.Compute/disks/write with creationData.createOption Copy or Restore from a snapshot or restore point, " +
				"then Microsoft.Compute/virtualMachines/write whose storageProfile.osDisk is that disk: the VM now boots an earlier disk state.",
			NextSteps: []string{
				"Read the snapshot's or restore point's creation time (ARM GET) and compare it with the intrusion timeline.",
				"Preserve the VM's previous OS disk before it is deleted; look for Microsoft.Compute/disks/delete after the swap.",
				"Review the caller's activity in the subscription before the swap, and whether Azure Backup or Site Recovery explains it.",
			},
			FalsePositives: []string{"Azure Backup 'replace existing' restores", "Site Recovery failover", "OS disk swaps during planned maintenance"},
		},
		{
			Rule: sequence.Rule{
				ID: RuleAzureDiskSwapBodyless,
				Steps: []sequence.Step{
					{Name: "disk", Provider: event.Azure, Operations: []string{azDiskWrite},
						Where: []sequence.Cond{
							{Field: sequence.FieldCreateOption, Op: sequence.Absent},
							{Field: sequence.FieldSourceResource, Op: sequence.Absent},
						},
						Bind: []sequence.Bind{bind("disk", sequence.FieldDisk), bind("caller", sequence.FieldCaller)}},
					{Name: "swap", Provider: event.Azure, Operations: []string{azVMWrite},
						Bind: []sequence.Bind{bind("caller", sequence.FieldCaller), bind("vm", sequence.FieldVM), optional("disk", sequence.FieldOSDisk)}},
				},
				Context: []sequence.Context{deallocateContext(true)},
				Adjust:  []sequence.Adjust{serviceActor()},
			},
			Title: "Azure disk written, then a deallocated VM rewritten by the same caller (no request or response body logged)",
			Description: "Microsoft.Compute/disks/write then Microsoft.Compute/virtualMachines/write by the same caller, " +
				"with the VM deallocated before the write. The Activity Log carried no body, so the disk's source and the VM's new OS disk " +
				"are unknown: this is the shape of an OS-disk swap from a snapshot, reported with lower confidence instead of not at all.",
			NextSteps: []string{
				"Resolve the disk's creationData (ARM GET or Resource Graph) to learn whether it was copied from a snapshot or restore point.",
				"Check the VM's current OS disk against the disk written; use Resource Graph change history for the VM.",
				"Review the caller's activity in the subscription before the change.",
			},
			FalsePositives: []string{"Disk resizes or tag edits followed by a VM update", "Planned maintenance"},
		},
		{
			Rule: sequence.Rule{
				ID: RuleReplaceRootVolume,
				Steps: []sequence.Step{awsStep("replace", []string{"CreateReplaceRootVolumeTask"},
					bind("instance", sequence.FieldInstances), optional("snapshot", sequence.FieldSourceSnapshots),
					optional("image", sequence.FieldImages), optional("task", sequence.FieldRestoreTask))},
				Context: []sequence.Context{{
					Name: "snapshot", Provider: event.AWS, Operations: []string{"CreateSnapshot", "CopySnapshot"},
					Field: sequence.FieldSnapshots, Binding: "snapshot", Before: "replace",
				}},
				Adjust: []sequence.Adjust{
					{Reason: "no snapshot or image given: the root volume is reset to its launch state", Step: "replace",
						Where: []sequence.Cond{
							{Field: sequence.FieldSourceSnapshots, Op: sequence.Absent},
							{Field: sequence.FieldImages, Op: sequence.Absent},
							{Field: sequence.FieldSourceVolumes, Op: sequence.Absent},
						}},
					serviceActor(),
				},
			},
			Title: "EC2 root volume replaced (native revert)",
			Description: "CreateReplaceRootVolumeTask restores a running instance's root volume to a snapshot, an image, or its launch state, " +
				"in one call: the EC2 feature made for reverting an instance.",
			NextSteps: []string{
				"Identify the snapshot or image restored and when it was taken; no snapshot means launch state.",
				"Preserve the replaced root volume (DeleteReplacedRootVolume may have deleted it) and its snapshots.",
				"Review the actor's activity on the instance before the task.",
			},
			FalsePositives: []string{"Patching by root volume replacement", "Recovery from a failed update"},
		},
		{
			Rule: sequence.Rule{
				ID: RuleBackupRestore,
				Steps: []sequence.Step{awsStep("restore", []string{"StartRestoreJob"},
					optional("recovery_point", sequence.FieldRecoveryPoint), optional("job", sequence.FieldRestoreTask))},
				Adjust: []sequence.Adjust{serviceActor()},
			},
			Title: "AWS Backup restore job started",
			Description: "StartRestoreJob restores a recovery point (EBS, EC2, RDS, EFS ...) through AWS Backup; " +
				"the service then makes the CreateVolume or RunInstances calls itself. The human request is the event to attribute.",
			NextSteps: []string{
				"Read the restore job (DescribeRestoreJob) for the resource created and the recovery point's creation date.",
				"Follow the backup service's calls after the job (invokedBy backup.amazonaws.com) to the restored resource and where it was attached.",
				"Check whether the caller normally runs restores.",
			},
			FalsePositives: []string{"Restore testing and disaster-recovery drills"},
		},
		{
			Rule: sequence.Rule{
				ID: RuleRDSRestore,
				Steps: []sequence.Step{awsStep("restore", []string{
					"RestoreDBInstanceFromDBSnapshot", "RestoreDBInstanceToPointInTime",
					"RestoreDBClusterFromSnapshot", "RestoreDBClusterToPointInTime"},
					optional("db_instance", sequence.FieldDBInstance), optional("db_cluster", sequence.FieldDBCluster),
					optional("db_snapshot", sequence.FieldDBSnapshot), optional("source_db", sequence.FieldSourceDBInstance))},
				Adjust: []sequence.Adjust{
					{Reason: "restored to a point in time", Step: "restore",
						Where: []sequence.Cond{{Field: sequence.FieldRestoreTime, Op: sequence.Present}}},
					serviceActor(),
				},
			},
			Title: "RDS database restored from a snapshot or to a point in time",
			Description: "An RDS instance or cluster restored from a snapshot or to an earlier point in time; " +
				"swapping the restored database in for the original rolls its data back.",
			NextSteps: []string{
				"Compare the snapshot time or restore time with the intrusion timeline.",
				"Look for ModifyDBInstance or ModifyDBCluster renames after the restore (endpoint swap) and for deletion of the original.",
				"Review the caller's RDS activity before the restore.",
			},
			FalsePositives: []string{"Creating test copies of production data", "Recovery from an operator error"},
		},
		{
			Rule: sequence.Rule{
				ID: RuleAzureReimage,
				Steps: []sequence.Step{{Name: "reimage", Provider: event.Azure,
					Operations: []string{azVMReimage, azVMSSReimage, azVMSSReimageAll, azVMSSVMReimage},
					Bind:       []sequence.Bind{bind("vm", sequence.FieldResourceID)}}},
				Adjust: []sequence.Adjust{serviceActor()},
			},
			Title: "Azure virtual machine or scale set reimaged",
			Description: "A reimage resets the OS disk to the image it was created from (for ephemeral OS disks, the VM's initial state), " +
				"erasing what was written to it since.",
			NextSteps: []string{
				"Check whether the OS disk was ephemeral (everything gone) or kept (deleteOption) and preserve what remains.",
				"Review the caller's activity on the VM before the reimage (run commands, extensions, logins).",
			},
			FalsePositives: []string{"Scale-set upgrades and automatic repairs", "Routine rebuilds of stateless hosts"},
		},
		{
			Rule: sequence.Rule{
				ID: RuleAzureBackupRestore,
				Steps: []sequence.Step{{Name: "restore", Provider: event.Azure, Operations: []string{azBackupRestore},
					Bind: []sequence.Bind{bind("recovery_point", sequence.FieldResourceID)}}},
				Adjust: []sequence.Adjust{serviceActor()},
			},
			Title:       "Azure Backup recovery point restored",
			Description: "A Recovery Services vault restore of a VM recovery point: as a new VM, as disks, or replacing the existing VM's disks.",
			NextSteps: []string{
				"Read the restore job in the vault for its type (replace existing, new VM, disks) and the recovery point's time.",
				"Follow the disks/write and virtualMachines/write records made for the restore to the affected VM.",
				"Check whether the caller normally runs restores.",
			},
			FalsePositives: []string{"Restore tests and disaster-recovery drills"},
		},
	}
	d = append(d, gcpReverts()...)
	for i := range d {
		d[i].Attack = attack.RevertCloudInstance
		d[i].Severity = seedSeverity
		d[i].Confidence = seedConfidence
	}
	for i := range d {
		if d[i].Rule.ID == RuleAzureDiskSwapBodyless {
			d[i].Confidence = level.Low
		}
	}
	return d
}

// RevertRules returns the engine rules of the revert detections.
func RevertRules() []sequence.Rule {
	ds := Reverts()
	rules := make([]sequence.Rule, len(ds))
	for i := range ds {
		rules[i] = ds[i].Rule
	}
	return rules
}

// RevertByID returns the revert detection with the given rule id.
func RevertByID(id string) (Detection, bool) {
	for _, d := range Reverts() {
		if d.Rule.ID == id {
			return d, true
		}
	}
	return Detection{}, false
}
