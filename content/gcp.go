package content

import (
	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/sequence"
)

// Rule ids of the Google Cloud revert detections.
const (
	RuleGCPStopStart           = "gcp-stop-start"
	RuleGCPSuspendResume       = "gcp-suspend-resume"
	RuleGCPDiskSwap            = "gcp-disk-swap"
	RuleGCPSnapshotDiskSwap    = "gcp-snapshot-disk-swap"
	RuleGCPImageDiskSwap       = "gcp-image-disk-swap"
	RuleGCPImageLaunch         = "gcp-image-launch"
	RuleGCPSnapshotImageLaunch = "gcp-snapshot-image-launch"
	RuleGCPMachineImageLaunch  = "gcp-machine-image-launch"
	RuleGCPInstanceFromSnap    = "gcp-instance-from-snapshot"
	RuleGCPSnapshotInstance    = "gcp-snapshot-instance"
	RuleGCPDiskInstance        = "gcp-disk-instance"
	RuleGCPBackupRestore       = "gcp-backupdr-restore"
)

// Compute Engine methods as event.Event carries them: methodName without
// its API version (v1., beta., alpha.), Compute Engine API reference v1.
const (
	gcpStop           = "compute.instances.stop"
	gcpStart          = "compute.instances.start"
	gcpStartKey       = "compute.instances.startWithEncryptionKey"
	gcpSuspend        = "compute.instances.suspend"
	gcpResume         = "compute.instances.resume"
	gcpInsert         = "compute.instances.insert"
	gcpAttachDisk     = "compute.instances.attachDisk"
	gcpDisksInsert    = "compute.disks.insert"
	gcpRegionDisks    = "compute.regionDisks.insert"
	gcpCreateSnapshot = "compute.disks.createSnapshot"
	gcpRegionSnapshot = "compute.regionDisks.createSnapshot"
	gcpSnapshotInsert = "compute.snapshots.insert"
	gcpImagesInsert   = "compute.images.insert"
	gcpMachineImages  = "compute.machineImages.insert"
	// gcpRestoreBackup is the Backup and DR restore: an ADMIN_WRITE,
	// long-running method of backupdr.googleapis.com, named as the
	// service's audit-logging page lists its methods
	// (cloud.google.com/backup-disaster-recovery/docs/audit-logging;
	// the request is google.cloud.backupdr.v1.RestoreBackupRequest, whose
	// name is the backup restored).
	gcpRestoreBackup = "google.cloud.backupdr.v1.BackupDR.RestoreBackup"
)

func gcpStep(name string, ops []string, bind ...sequence.Bind) sequence.Step {
	return sequence.Step{Name: name, Provider: event.GCP, Operations: ops, Bind: bind}
}

func gcpSnapshotStep() sequence.Step {
	return gcpStep("snapshot", []string{gcpCreateSnapshot, gcpRegionSnapshot, gcpSnapshotInsert}, bind("snapshot", sequence.FieldSnapshots))
}

// gcpDiskFromSnapshot is a disk created from a snapshot.
func gcpDiskFromSnapshot() sequence.Step {
	return gcpStep("disk", []string{gcpDisksInsert, gcpRegionDisks},
		bind("snapshot", sequence.FieldSourceSnapshots), bind("disk", sequence.FieldVolumes))
}

// gcpBootAttach is the disk attached to an instance as its boot disk.
func gcpBootAttach() sequence.Step {
	s := gcpStep("attach", []string{gcpAttachDisk}, bind("disk", sequence.FieldVolumes), bind("instance", sequence.FieldInstances))
	s.Where = []sequence.Cond{{Field: sequence.FieldRootDevice, Op: sequence.Present}}
	return s
}

func gcpLaunch() sequence.Step {
	return gcpStep("launch", []string{gcpInsert}, bind("image", sequence.FieldImages), bind("instance", sequence.FieldInstances))
}

func gcpStopContext() sequence.Context {
	return sequence.Context{
		Name: "stop", Provider: event.GCP, Operations: []string{gcpStop, gcpSuspend},
		Field: sequence.FieldInstances, Binding: "instance", Before: "attach",
	}
}

func gcpStoppedBefore() sequence.Adjust {
	return sequence.Adjust{Reason: "the instance was stopped before its boot disk was swapped", Confidence: +1, Context: "stop"}
}

var gcpDiskNextSteps = []string{
	"Read the snapshot's creation time and source disk (gcloud compute snapshots describe) and compare them with the intrusion timeline: a snapshot from before the compromise is the revert point.",
	"Preserve the boot disk that was detached (and its snapshots) before anyone deletes it; look for compute.disks.delete after the attach.",
	"Review everything the principal did in the project in the hours before the swap, including service-account impersonation (serviceAccountDelegationInfo).",
	"Check whether the principal normally manages this instance and whether a change covers the restore.",
}

var gcpImageNextSteps = []string{
	"Read the image's source snapshot or disk and its creation time (gcloud compute images describe): was the source taken before the compromise?",
	"Find the instance the new one replaces (compute.instances.delete, a reassigned address or a load-balancer backend) and snapshot its disks.",
	"Review the principal's activity before the launch, and whether the image came from a known release pipeline.",
}

// gcpReverts returns the Google Cloud revert detections.
func gcpReverts() []Detection {
	return []Detection{
		{
			Rule: sequence.Rule{
				ID: RuleGCPStopStart,
				Steps: []sequence.Step{
					gcpStep("stop", []string{gcpStop}, bind("instance", sequence.FieldInstances)),
					gcpStep("start", []string{gcpStart, gcpStartKey}, bind("instance", sequence.FieldInstances)),
				},
				Adjust: []sequence.Adjust{serviceActor()},
			},
			Title: "Compute Engine instance stopped and started again (local SSD and memory reset)",
			Description: "compute.instances.stop followed by compute.instances.start of the same instance in the same project. " +
				"A stop discards memory and, unless preserved, local SSD data: a stop and start can erase an intruder's traces there, and frames a boot-disk swap.",
			NextSteps: []string{
				"Check whether the instance has local SSDs (gcloud compute instances describe): those are what a stop erases.",
				"Look for a disk attach or detach, a metadata (startup-script) or machine-type change between the stop and the start.",
				"Review what the principal did on the instance before the stop (serial console, OS Login, IAP tunnels).",
			},
			FalsePositives: []string{"Instance schedules (the Compute Engine service agent)", "Machine-type changes and maintenance"},
		},
		{
			Rule: sequence.Rule{
				ID: RuleGCPSuspendResume,
				Steps: []sequence.Step{
					gcpStep("suspend", []string{gcpSuspend}, bind("instance", sequence.FieldInstances)),
					gcpStep("resume", []string{gcpResume}, bind("instance", sequence.FieldInstances)),
				},
				Adjust: []sequence.Adjust{serviceActor()},
			},
			Title: "Compute Engine instance suspended and resumed",
			Description: "compute.instances.suspend followed by compute.instances.resume of the same instance: the instance's memory state is written out and read back, " +
				"a window in which its disks can be changed under it.",
			NextSteps: []string{
				"Look for disk changes (attachDisk, detachDisk, disks.insert) on the instance between the suspend and the resume.",
				"Review the principal's activity on the instance before the suspend.",
			},
			FalsePositives: []string{"Cost-saving suspend schedules of development instances"},
		},
		{
			Rule: sequence.Rule{
				ID:      RuleGCPDiskSwap,
				Steps:   []sequence.Step{gcpDiskFromSnapshot(), gcpBootAttach()},
				Context: []sequence.Context{gcpStopContext()},
				Adjust:  []sequence.Adjust{gcpStoppedBefore(), serviceActor()},
			},
			Title: "Compute Engine disk restored from a snapshot and attached as an instance's boot disk",
			Description: "compute.disks.insert with a sourceSnapshot, then compute.instances.attachDisk of that disk with boot true: " +
				"the instance now boots the snapshot's earlier disk state (its old boot disk was detached, usually inside a stop and start).",
			NextSteps:      append([]string(nil), gcpDiskNextSteps...),
			FalsePositives: []string{"Disaster-recovery drills and boot-disk repairs by administrators", "Backup and DR restores"},
		},
		{
			Rule: sequence.Rule{
				ID:         RuleGCPSnapshotDiskSwap,
				Steps:      []sequence.Step{gcpSnapshotStep(), gcpDiskFromSnapshot(), gcpBootAttach()},
				Context:    []sequence.Context{gcpStopContext()},
				Adjust:     []sequence.Adjust{gcpStoppedBefore(), serviceActor()},
				Supersedes: []string{RuleGCPDiskSwap},
			},
			Title: "Compute Engine snapshot taken, restored to a disk and attached as a boot disk",
			Description: "compute.disks.createSnapshot or compute.snapshots.insert, compute.disks.insert from that snapshot, then compute.instances.attachDisk " +
				"of the new disk as the boot disk: the whole snapshot → disk → instance chain in one finding.",
			NextSteps:      append([]string(nil), gcpDiskNextSteps...),
			FalsePositives: []string{"Disaster-recovery drills", "Disk migrations (type, size, region) by snapshot and restore"},
		},
		{
			Rule: sequence.Rule{
				ID: RuleGCPImageDiskSwap,
				Steps: []sequence.Step{
					{Name: "image", Provider: event.GCP, Operations: []string{gcpImagesInsert},
						Where: []sequence.Cond{{Field: sequence.FieldSourceSnapshots, Op: sequence.Present}},
						Bind:  []sequence.Bind{bind("image", sequence.FieldImages)}},
					gcpStep("disk", []string{gcpDisksInsert}, bind("image", sequence.FieldImages), bind("disk", sequence.FieldVolumes)),
					gcpBootAttach(),
				},
				Context: []sequence.Context{gcpStopContext()},
				Adjust:  []sequence.Adjust{gcpStoppedBefore(), serviceActor()},
			},
			Title: "Compute Engine image made from a snapshot, restored to a disk and attached as a boot disk",
			Description: "compute.images.insert from a snapshot, compute.disks.insert with that sourceImage, then compute.instances.attachDisk of the disk as the boot disk: " +
				"the snapshot's disk state reaches the instance through an image.",
			NextSteps:      append([]string(nil), gcpDiskNextSteps...),
			FalsePositives: []string{"Golden-image pipelines that rebuild boot disks"},
		},
		{
			Rule: sequence.Rule{
				ID: RuleGCPImageLaunch,
				Steps: []sequence.Step{
					{Name: "image", Provider: event.GCP, Operations: []string{gcpImagesInsert},
						Where: []sequence.Cond{{Field: sequence.FieldSourceSnapshots, Op: sequence.Present}},
						Bind:  []sequence.Bind{bind("image", sequence.FieldImages)}},
					gcpLaunch(),
				},
				Adjust: []sequence.Adjust{serviceActor()},
			},
			Title: "Compute Engine image made from a snapshot and booted by a new instance",
			Description: "compute.images.insert with a sourceSnapshot, then compute.instances.insert whose boot disk is initialized from that image: " +
				"an instance rebuilt from an earlier disk state.",
			NextSteps:      append([]string(nil), gcpImageNextSteps...),
			FalsePositives: []string{"Image pipelines (Packer, Cloud Build) and golden-image releases"},
		},
		{
			Rule: sequence.Rule{
				ID: RuleGCPSnapshotImageLaunch,
				Steps: []sequence.Step{
					gcpSnapshotStep(),
					gcpStep("image", []string{gcpImagesInsert}, bind("snapshot", sequence.FieldSourceSnapshots), bind("image", sequence.FieldImages)),
					gcpLaunch(),
				},
				Adjust:     []sequence.Adjust{serviceActor()},
				Supersedes: []string{RuleGCPImageLaunch},
			},
			Title: "Compute Engine snapshot made into an image and booted by a new instance",
			Description: "compute.disks.createSnapshot or compute.snapshots.insert, compute.images.insert from that snapshot, then compute.instances.insert booting the image: " +
				"the whole snapshot → image → instance chain in one finding.",
			NextSteps:      append([]string(nil), gcpImageNextSteps...),
			FalsePositives: []string{"Image pipelines that bake from snapshots"},
		},
		{
			Rule: sequence.Rule{
				ID: RuleGCPMachineImageLaunch,
				Steps: []sequence.Step{
					gcpStep("machine_image", []string{gcpMachineImages}, bind("image", sequence.FieldImages)),
					gcpStep("launch", []string{gcpInsert}, bind("image", sequence.FieldSourceResource), bind("instance", sequence.FieldInstances)),
				},
				Adjust: []sequence.Adjust{serviceActor()},
			},
			Title: "Compute Engine machine image made and an instance created from it",
			Description: "compute.machineImages.insert (a whole instance: disks, metadata, configuration), then compute.instances.insert with that sourceMachineImage: " +
				"an instance brought back to the machine image's state.",
			NextSteps: []string{
				"Read the machine image's source instance and creation time (gcloud compute machine-images describe) and compare them with the intrusion timeline.",
				"Find the instance the new one replaces and snapshot its disks before they are deleted.",
				"Review the principal's activity before the machine image was taken.",
			},
			FalsePositives: []string{"Instance cloning for tests", "Migrations between zones by machine image"},
		},
		{
			Rule: sequence.Rule{
				ID: RuleGCPInstanceFromSnap,
				Steps: []sequence.Step{{Name: "launch", Provider: event.GCP, Operations: []string{gcpInsert},
					Where: []sequence.Cond{{Field: sequence.FieldSourceSnapshots, Op: sequence.Present}},
					Bind:  []sequence.Bind{bind("snapshot", sequence.FieldSourceSnapshots), bind("instance", sequence.FieldInstances)}}},
				Adjust: []sequence.Adjust{serviceActor()},
			},
			Title: "Compute Engine instance created with a disk initialized from a snapshot",
			Description: "compute.instances.insert whose disks[].initializeParams.sourceSnapshot names a snapshot: " +
				"the new instance starts from the snapshot's disk state.",
			NextSteps:      append([]string(nil), gcpDiskNextSteps...),
			FalsePositives: []string{"Restores by administrators", "Clones of production for tests"},
		},
		{
			Rule: sequence.Rule{
				ID: RuleGCPSnapshotInstance,
				Steps: []sequence.Step{
					gcpSnapshotStep(),
					gcpStep("launch", []string{gcpInsert}, bind("snapshot", sequence.FieldSourceSnapshots), bind("instance", sequence.FieldInstances)),
				},
				Adjust:     []sequence.Adjust{serviceActor()},
				Supersedes: []string{RuleGCPInstanceFromSnap},
			},
			Title: "Compute Engine snapshot taken and an instance created from it",
			Description: "compute.disks.createSnapshot or compute.snapshots.insert, then compute.instances.insert with a disk initialized from that snapshot: " +
				"the snapshot → instance chain in one finding.",
			NextSteps:      append([]string(nil), gcpDiskNextSteps...),
			FalsePositives: []string{"Clones of production for tests"},
		},
		{
			Rule: sequence.Rule{
				ID: RuleGCPDiskInstance,
				Steps: []sequence.Step{
					gcpDiskFromSnapshot(),
					gcpStep("launch", []string{gcpInsert}, bind("disk", sequence.FieldVolumes), bind("instance", sequence.FieldInstances)),
				},
				Adjust: []sequence.Adjust{serviceActor()},
			},
			Title: "Compute Engine disk restored from a snapshot and used by a new instance",
			Description: "compute.disks.insert with a sourceSnapshot, then compute.instances.insert that attaches that existing disk: " +
				"an instance built around a restored disk.",
			NextSteps:      append([]string(nil), gcpDiskNextSteps...),
			FalsePositives: []string{"Restores by administrators", "Instances rebuilt around a prepared disk"},
		},
		{
			Rule: sequence.Rule{
				ID: RuleGCPBackupRestore,
				Steps: []sequence.Step{gcpStep("restore", []string{gcpRestoreBackup},
					optional("backup", sequence.FieldRecoveryPoint))},
				Adjust: []sequence.Adjust{serviceActor()},
			},
			Title: "Backup and DR backup restored",
			Description: "google.cloud.backupdr.v1.BackupDR.RestoreBackup restores a Backup and DR backup of a Compute Engine instance or disk, " +
				"to a new resource or over the existing one; the Backup and DR service agent then makes the Compute Engine calls.",
			NextSteps: []string{
				"Read the backup's creation time and the restore's target (gcloud backup-dr backups describe) and compare them with the intrusion timeline.",
				"Follow the Compute Engine calls of the Backup and DR service agent after the restore to the restored instance or disk.",
				"Check whether the principal normally runs restores.",
			},
			FalsePositives: []string{"Restore tests and disaster-recovery drills"},
		},
	}
}
