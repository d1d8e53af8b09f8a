package emulate

import (
	"time"

	"github.com/revertwatch/revertwatch/event"
)

const (
	sec  = time.Second
	mins = time.Minute
	hrs  = time.Hour
)

// catalog is the scenario data. Symbols (web, golden, restored …) become
// ids per scenario; Azure names are literal and unique per scenario, so
// scenarios never join each other.
func catalog() []*Scenario {
	const aws, az = event.AWS, event.Azure
	return []*Scenario{
		// The seed's four tests (Testing Methodology).
		{ID: "aws-seed1-stop-start", Kind: KindRevert, Provider: aws, SeedTest: 1, Expect: []string{RuleStopStart},
			Title: "EC2 stop and start of one instance (ephemeral storage reset)",
			Why:   "StopInstances then StartInstances on the same instance wipes instance-store volumes; the stop is delivered late, the start twice",
			Calls: []Call{
				{Op: "StopInstances", Actor: "stolen-key", Late: true, Args: Args{Instance: "web"}},
				{After: 3 * mins, Op: "StartInstances", Actor: "stolen-key", Dup: true, Args: Args{Instance: "web"}},
			}},
		{ID: "aws-seed2-volume-from-snapshot", Kind: KindRevert, Provider: aws, SeedTest: 2, Expect: []string{RuleVolumeFromSnapshot},
			Title: "EBS volume created from a snapshot and attached",
			Why:   "CreateVolume with a snapshotId, then AttachVolume of the new volume (responseElements.volumeId = requestParameters.volumeId)",
			Calls: []Call{
				{Op: "CreateVolume", Actor: "ops-boto3", Late: true, Args: Args{Snapshot: "golden", Volume: "restored"}},
				{After: 2 * mins, Op: "AttachVolume", Actor: "ops-boto3", Args: Args{Volume: "restored", Instance: "web", Device: "/dev/sdf"}},
			}},
		{ID: "azure-seed3-disk-from-snapshot", Kind: KindRevert, Provider: az, SeedTest: 3, Expect: []string{RuleAzureDiskSwap},
			Title: "Azure managed disk created from a snapshot and swapped in as the OS disk",
			Why:   "disks/write with createOption Copy from a snapshot, then a VM write whose osDisk is the new disk, between deallocate and start",
			Calls: []Call{
				{Op: "Microsoft.Compute/virtualMachines/deallocate/action", Actor: "cli-admin", Args: Args{RG: "prod-web-rg", VM: "web-01"}},
				{After: 2 * mins, Op: "Microsoft.Compute/disks/write", Actor: "cli-admin",
					Args: Args{RG: "prod-web-rg", Disk: "web-01-os-restored", CreateOption: "Copy", Snapshot: "web-01-os-2026-10-20"}},
				{After: 3 * mins, Op: "Microsoft.Compute/virtualMachines/write", Actor: "cli-admin", Args: Args{RG: "prod-web-rg", VM: "web-01", Disk: "web-01-os-restored"}},
				{After: 2 * mins, Op: "Microsoft.Compute/virtualMachines/start/action", Actor: "cli-admin", Args: Args{RG: "prod-web-rg", VM: "web-01"}},
			}},
		{ID: "aws-seed4-image-from-snapshot", Kind: KindRevert, Provider: aws, SeedTest: 4, Expect: []string{RuleImageFromSnapshot},
			Title: "AMI registered from a snapshot and launched in place of the instance",
			Why:   "RegisterImage with the snapshot at /dev/xvda in blockDeviceMapping, RunInstances with the new imageId, the old instance terminated",
			Calls: []Call{
				{Op: "RegisterImage", Actor: "ops-boto3", Late: true, Args: Args{Snapshot: "golden", Image: "restored", Device: "/dev/xvda"}},
				{After: 2 * mins, Op: "RunInstances", Actor: "ops-boto3", Args: Args{Image: "restored", Instance: "relaunched"}},
				{After: 4 * mins, Op: "TerminateInstances", Actor: "ops-boto3", Args: Args{Instance: "web"}},
			}},

		// Native reverts.
		{ID: "aws-replace-root-volume-snapshot", Kind: KindRevert, Provider: aws, Expect: []string{RuleReplaceRootVolume},
			Title: "Replace-root-volume task restoring a snapshot",
			Why:   "CreateReplaceRootVolumeTask with a SnapshotId puts the root volume back to that snapshot in one call",
			Calls: []Call{{Op: "CreateReplaceRootVolumeTask", Actor: "stolen-key", Args: Args{Instance: "web", Snapshot: "golden"}}}},
		{ID: "aws-replace-root-volume-launch-state", Kind: KindRevert, Provider: aws, Expect: []string{RuleReplaceRootVolume},
			Title: "Replace-root-volume task resetting to the launch state",
			Why:   "CreateReplaceRootVolumeTask with neither snapshot nor image resets the root volume to its launch state",
			Calls: []Call{{Op: "CreateReplaceRootVolumeTask", Actor: "console-sso", Args: Args{Instance: "web"}}}},
		{ID: "aws-backup-restore-ebs", Kind: KindRevert, Provider: aws, Expect: []string{RuleBackupRestore, RuleVolumeFromSnapshot},
			Title: "AWS Backup restore of an EBS recovery point, attached by the Backup role",
			Why:   "StartRestoreJob by a person, then CreateVolume and AttachVolume invoked by backup.amazonaws.com: service-initiated, still a revert",
			Calls: []Call{
				{Op: "StartRestoreJob", Actor: "backup-operator", Args: Args{Snapshot: "recovery"}},
				{After: 50 * sec, Op: "CreateVolume", Actor: "backup", Args: Args{Snapshot: "recovery", Volume: "restored"}},
				{After: 3 * mins, Op: "AttachVolume", Actor: "backup", Args: Args{Volume: "restored", Instance: "db", Device: "/dev/sdf"}},
			}},
		{ID: "aws-rds-restore-from-snapshot", Kind: KindRevert, Provider: aws, Expect: []string{RuleRDSRestore},
			Title: "RDS instance restored from a DB snapshot",
			Calls: []Call{{Op: "RestoreDBInstanceFromDBSnapshot", Actor: "ops-boto3", Args: Args{DB: "orders-db-restore", DBSnapshot: "orders-db-2026-10-30"}}}},
		{ID: "aws-rds-restore-point-in-time", Kind: KindRevert, Provider: aws, Expect: []string{RuleRDSRestore},
			Title: "RDS instance restored to a point in time",
			Calls: []Call{{Op: "RestoreDBInstanceToPointInTime", Actor: "stolen-key", Args: Args{SourceDB: "billing-db", DB: "billing-db-pitr"}}}},
		{ID: "aws-rds-cluster-restore-snapshot", Kind: KindRevert, Provider: aws, Expect: []string{RuleRDSRestore},
			Title: "Aurora cluster restored from a cluster snapshot",
			Calls: []Call{{Op: "RestoreDBClusterFromSnapshot", Actor: "ops-boto3", Args: Args{Cluster: "inventory-aurora-restored", DBSnapshot: "inventory-aurora-2026-10-31"}}}},
		{ID: "aws-rds-cluster-restore-point-in-time", Kind: KindRevert, Provider: aws, Expect: []string{RuleRDSRestore},
			Title: "Aurora cluster restored to a point in time",
			Calls: []Call{{Op: "RestoreDBClusterToPointInTime", Actor: "ops-boto3", Args: Args{SrcCluster: "ledger-aurora", Cluster: "ledger-aurora-pitr"}}}},
		{ID: "aws-root-swap-from-snapshot", Kind: KindRevert, Provider: aws, Expect: []string{RuleVolumeFromSnapshot, RuleStopStart},
			Title: "Root volume swapped for one from an old snapshot, in the console",
			Why:   "stop, detach the root, volume from a snapshot attached at the root device /dev/xvda, start: root-device attach after a stop",
			Calls: []Call{
				{Op: "StopInstances", Actor: "console-sso", Args: Args{Instance: "web"}},
				{After: 90 * sec, Op: "DetachVolume", Actor: "console-sso", Args: Args{Volume: "root", Instance: "web", Device: "/dev/xvda"}},
				{After: 2 * mins, Op: "CreateVolume", Actor: "console-sso", Late: true, Args: Args{Snapshot: "golden", Volume: "restored"}},
				{After: 2 * mins, Op: "AttachVolume", Actor: "console-sso", Args: Args{Volume: "restored", Instance: "web", Device: "/dev/xvda"}},
				{After: 1 * mins, Op: "StartInstances", Actor: "console-sso", Args: Args{Instance: "web"}},
			}},

		// Multi-hop chains.
		{ID: "aws-chain-snapshot-volume-attach", Kind: KindRevert, Provider: aws, Expect: []string{RuleSnapshotVolume, RuleStopStart},
			Title: "Snapshot taken, then after the intrusion a volume from it swapped in as root",
			Why:   "CreateSnapshot of the root volume → CreateVolume from that snapshot → AttachVolume at /dev/xvda: three hops, one finding",
			Calls: []Call{
				{Op: "CreateSnapshot", Actor: "stolen-key", Args: Args{Volume: "root", Snapshot: "pre-intrusion"}},
				{After: 47 * mins, Op: "StopInstances", Actor: "stolen-key", Args: Args{Instance: "web"}},
				{After: 1 * mins, Op: "DetachVolume", Actor: "stolen-key", Args: Args{Volume: "root", Instance: "web", Device: "/dev/xvda"}},
				{After: 1 * mins, Op: "CreateVolume", Actor: "stolen-key", Late: true, Args: Args{Snapshot: "pre-intrusion", Volume: "restored"}},
				{After: 2 * mins, Op: "AttachVolume", Actor: "stolen-key", Args: Args{Volume: "restored", Instance: "web", Device: "/dev/xvda"}},
				{After: 1 * mins, Op: "StartInstances", Actor: "stolen-key", Args: Args{Instance: "web"}},
				{After: 3 * mins, Op: "DeleteVolume", Actor: "stolen-key", Args: Args{Volume: "root"}},
			}},
		{ID: "aws-chain-snapshot-image-run", Kind: KindRevert, Provider: aws, Expect: []string{RuleSnapshotImage},
			Title: "Snapshot taken, AMI registered from it, instance relaunched from the AMI",
			Why:   "CreateSnapshot → RegisterImage with that snapshot → RunInstances with that image: three hops, one finding",
			Calls: []Call{
				{Op: "CreateSnapshot", Actor: "ops-boto3", Args: Args{Volume: "root", Snapshot: "pre-intrusion"}},
				{After: 38 * mins, Op: "RegisterImage", Actor: "ops-boto3", Late: true, Args: Args{Snapshot: "pre-intrusion", Image: "restored", Device: "/dev/xvda"}},
				{After: 3 * mins, Op: "RunInstances", Actor: "ops-boto3", Args: Args{Image: "restored", Instance: "relaunched"}},
				{After: 2 * mins, Op: "TerminateInstances", Actor: "ops-boto3", Args: Args{Instance: "web"}},
			}},

		// Azure native reverts and variants.
		{ID: "azure-restore-point-disk-swap", Kind: KindRevert, Provider: az, Expect: []string{RuleAzureDiskSwap},
			Title: "Azure OS disk restored from a VM restore point and swapped in",
			Why:   "restorePoints/write, then disks/write with createOption Restore from its diskRestorePoint, swapped in as the OS disk",
			Calls: []Call{
				{Op: "Microsoft.Compute/restorePointCollections/restorePoints/write", Actor: "portal-user",
					Args: Args{RG: "app-rg", VM: "app-02", Collection: "app-02-rpc", RestorePoint: "rp-before-patch", SourceDisk: "app-02_OsDisk_1"}},
				{After: 52 * mins, Op: "Microsoft.Compute/virtualMachines/deallocate/action", Actor: "portal-user", Args: Args{RG: "app-rg", VM: "app-02"}},
				{After: 2 * mins, Op: "Microsoft.Compute/disks/write", Actor: "portal-user", Args: Args{RG: "app-rg", Disk: "app-02-os-restored", CreateOption: "Restore",
					Collection: "app-02-rpc", RestorePoint: "rp-before-patch", SourceDisk: "app-02_OsDisk_1"}},
				{After: 3 * mins, Op: "Microsoft.Compute/virtualMachines/write", Actor: "portal-user", Args: Args{RG: "app-rg", VM: "app-02", Disk: "app-02-os-restored"}},
				{After: 1 * mins, Op: "Microsoft.Compute/virtualMachines/start/action", Actor: "portal-user", Args: Args{RG: "app-rg", VM: "app-02"}},
			}},
		{ID: "azure-disk-swap-bodyless", Kind: KindRevert, Provider: az, Expect: []string{RuleAzureDiskBodyless},
			Title: "Azure OS disk swap with no request or response bodies logged",
			Why:   "deallocate, disks/write, VM write, start by one caller with no bodies: createOption unknown, the degraded sequence-only path",
			Calls: []Call{
				{Op: "Microsoft.Compute/virtualMachines/deallocate/action", Actor: "deploy-sp", Args: Args{RG: "data-rg", VM: "db-03"}},
				{After: 2 * mins, Op: "Microsoft.Compute/disks/write", Actor: "deploy-sp", NoBody: true,
					Args: Args{RG: "data-rg", Disk: "db-03-os-restored", CreateOption: "Copy", Snapshot: "db-03-os-weekly"}},
				{After: 2 * mins, Op: "Microsoft.Compute/virtualMachines/write", Actor: "deploy-sp", NoBody: true, Args: Args{RG: "data-rg", VM: "db-03", Disk: "db-03-os-restored"}},
				{After: 1 * mins, Op: "Microsoft.Compute/virtualMachines/start/action", Actor: "deploy-sp", Args: Args{RG: "data-rg", VM: "db-03"}},
			}},
		{ID: "azure-vm-reimage", Kind: KindRevert, Provider: az, Expect: []string{RuleAzureReimage},
			Title: "Azure VM reimaged (ephemeral OS disk reset to its initial state)",
			Calls: []Call{{Op: "Microsoft.Compute/virtualMachines/reimage/action", Actor: "cli-admin", Args: Args{RG: "build-rg", VM: "build-04"}}}},
		{ID: "azure-vmss-reimageall", Kind: KindRevert, Provider: az, Expect: []string{RuleAzureReimage},
			Title: "Azure scale set instances reimaged",
			Calls: []Call{{Op: "Microsoft.Compute/virtualMachineScaleSets/reimageall/action", Actor: "cli-admin", Args: Args{RG: "front-rg", VM: "front-vmss"}}}},
		{ID: "azure-backup-restore", Kind: KindRevert, Provider: az, Expect: []string{RuleAzureBackupRestore},
			Title: "Azure Backup recovery point restored over the original VM",
			Calls: []Call{{Op: "Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers/protectedItems/recoveryPoints/restore/action",
				Actor: "backup-admin", Args: Args{RG: "erp-rg", VM: "erp-05", Vault: "erp-rsv", RestorePoint: "86410381762154"}}}},

		// Repeats and partial exports: what hunting over weeks of saved
		// records meets.
		{ID: "aws-stop-start-five-days", Kind: KindRevert, Provider: aws, Expect: []string{RuleStopStart}, Count: 5,
			Title: "The same EC2 instance stopped and started on five different days",
			Why:   "five StopInstances → StartInstances pairs of one instance, a day apart: five reverts, five findings with their own ids, none merged into another",
			Calls: []Call{
				{Op: "StopInstances", Actor: "stolen-key", Args: Args{Instance: "cache"}},
				{After: 20 * mins, Op: "StartInstances", Actor: "stolen-key", Args: Args{Instance: "cache"}},
				{After: 23*hrs + 52*mins, Op: "StopInstances", Actor: "stolen-key", Args: Args{Instance: "cache"}},
				{After: 31 * mins, Op: "StartInstances", Actor: "stolen-key", Args: Args{Instance: "cache"}},
				{After: 23*hrs + 18*mins, Op: "StopInstances", Actor: "stolen-key", Late: true, Args: Args{Instance: "cache"}},
				{After: 17 * mins, Op: "StartInstances", Actor: "stolen-key", Args: Args{Instance: "cache"}},
				{After: 24*hrs + 6*mins, Op: "StopInstances", Actor: "stolen-key", Args: Args{Instance: "cache"}},
				{After: 26 * mins, Op: "StartInstances", Actor: "stolen-key", Dup: true, Args: Args{Instance: "cache"}},
				{After: 23*hrs + 41*mins, Op: "StopInstances", Actor: "stolen-key", Args: Args{Instance: "cache"}},
				{After: 22 * mins, Op: "StartInstances", Actor: "stolen-key", Args: Args{Instance: "cache"}},
			}},
		{ID: "azure-disk-swap-accept-only", Kind: KindRevert, Provider: az, Expect: []string{RuleAzureDiskSwap},
			Title: "Azure OS disk swap from a snapshot, only the Start and Accept records saved",
			Why: "deallocate, disks/write with createOption Copy from a snapshot, VM write with the new OS disk, start: no record says how any of them ended " +
				"(a responder saved only the records that mattered); an outcome never logged counts as done at the end of the input, at lower confidence",
			Calls: []Call{
				{Op: "Microsoft.Compute/virtualMachines/deallocate/action", Actor: "cli-admin", NoEnd: true, Args: Args{RG: "ops-rg", VM: "jump-11"}},
				{After: 2 * mins, Op: "Microsoft.Compute/disks/write", Actor: "cli-admin", NoEnd: true,
					Args: Args{RG: "ops-rg", Disk: "jump-11-os-restored", CreateOption: "Copy", Snapshot: "jump-11-os-2026-10-28"}},
				{After: 3 * mins, Op: "Microsoft.Compute/virtualMachines/write", Actor: "cli-admin", NoEnd: true, Args: Args{RG: "ops-rg", VM: "jump-11", Disk: "jump-11-os-restored"}},
				{After: 2 * mins, Op: "Microsoft.Compute/virtualMachines/start/action", Actor: "cli-admin", NoEnd: true, Args: Args{RG: "ops-rg", VM: "jump-11"}},
			}},

		// Benign look-alikes: the seed's false-positive list.
		{ID: "aws-benign-backup-snapshots", Kind: KindBenign, Provider: aws,
			Title: "AWS Backup scheduled snapshots and expiry",
			Why:   "snapshots by the Backup service role and a DeleteSnapshot of an expired one: nothing restored",
			Calls: []Call{
				{Op: "CreateSnapshot", Actor: "backup", Args: Args{Volume: "db-data", Snapshot: "nightly-1"}},
				{After: 40 * sec, Op: "CreateSnapshot", Actor: "backup", Args: Args{Volume: "web-root", Snapshot: "nightly-2"}},
				{After: 2 * mins, Op: "DeleteSnapshot", Actor: "backup", Args: Args{Snapshot: "expired"}},
			}},
		{ID: "aws-benign-dlm-snapshots", Kind: KindBenign, Provider: aws,
			Title: "Data Lifecycle Manager policy snapshots",
			Why:   "crash-consistent multi-volume CreateSnapshots and a volume snapshot by the DLM role: nothing restored",
			Calls: []Call{
				{Op: "CreateSnapshots", Actor: "dlm", Args: Args{Instance: "app", Volume: "app-root", Snapshot: "dlm-app"}},
				{After: 1 * mins, Op: "CreateSnapshot", Actor: "dlm", Args: Args{Volume: "logs", Snapshot: "dlm-logs"}},
			}},
		{ID: "aws-benign-packer-build", Kind: KindBenign, Provider: aws,
			Title: "Packer AMI build: launch, stop, image, terminate",
			Why:   "a builder instance stopped but never started again, its AMI created from the instance, not registered from a snapshot",
			Calls: []Call{
				{Op: "RunInstances", Actor: "packer-ci", Args: Args{Image: "al2023-base", Instance: "builder"}},
				{After: 4 * sec, Op: "CreateTags", Actor: "packer-ci", Args: Args{Instance: "builder"}},
				{After: 7 * mins, Op: "StopInstances", Actor: "packer-ci", Args: Args{Instance: "builder"}},
				{After: 1 * mins, Op: "CreateImage", Actor: "packer-ci", Args: Args{Instance: "builder", Image: "app-v42"}},
				{After: 5 * mins, Op: "TerminateInstances", Actor: "packer-ci", Args: Args{Instance: "builder"}},
			}},
		{ID: "aws-benign-imagebuilder-pipeline", Kind: KindBenign, Provider: aws,
			Title: "EC2 Image Builder pipeline build instance",
			Why:   "the Image Builder service role launches, stops, images and terminates its build instance",
			Calls: []Call{
				{Op: "RunInstances", Actor: "imagebuilder", Args: Args{Image: "al2023-base", Instance: "build"}},
				{After: 14 * mins, Op: "StopInstances", Actor: "imagebuilder", Args: Args{Instance: "build"}},
				{After: 1 * mins, Op: "CreateImage", Actor: "imagebuilder", Args: Args{Instance: "build", Image: "pipeline-output"}},
				{After: 6 * mins, Op: "TerminateInstances", Actor: "imagebuilder", Args: Args{Instance: "build"}},
			}},
		{ID: "aws-benign-terraform-replace", Kind: KindBenign, Provider: aws,
			Title: "Terraform replaces an instance from a CI pipeline",
			Why:   "terminate and run from a released AMI that no snapshot in the data was registered into",
			Calls: []Call{
				{Op: "TerminateInstances", Actor: "terraform-ci", Args: Args{Instance: "api-old"}},
				{After: 35 * sec, Op: "RunInstances", Actor: "terraform-ci", Args: Args{Image: "api-v17", Instance: "api-new"}},
			}},
		{ID: "aws-benign-migration-copy", Kind: KindBenign, Provider: aws,
			Title: "Authorized migration: snapshot and AMI copied to another region and launched",
			Why:   "CopySnapshot and CopyImage are logged in the destination region; the copied image was not registered from a snapshot",
			Calls: []Call{
				{Op: "CopySnapshot", Actor: "migration-admin", Region: "eu-west-1", Args: Args{Snapshot: "app-data", Copy: "app-data-eu", SrcRgn: "us-east-1"}},
				{After: 2 * mins, Op: "CopyImage", Actor: "migration-admin", Region: "eu-west-1", Args: Args{Image: "app-golden", Copy: "app-golden-eu", SrcRgn: "us-east-1"}},
				{After: 25 * mins, Op: "RunInstances", Actor: "migration-admin", Region: "eu-west-1", Args: Args{Image: "app-golden-eu", Instance: "app-eu"}},
			}},
		{ID: "aws-benign-instance-scheduler", Kind: KindBenign, Provider: aws, Expect: []string{RuleStopStart},
			Title: "Instance Scheduler stops a dev instance at night and starts it in the morning",
			Why:   "a real stop/start by the scheduler's Lambda role: the rule fires, and the documented allowlist entry downgrades it",
			Calls: []Call{
				{Op: "StopInstances", Actor: "scheduler", Args: Args{Instance: "dev-box"}},
				{After: 12 * hrs, Op: "StartInstances", Actor: "scheduler", Args: Args{Instance: "dev-box"}},
			}},
		{ID: "azure-benign-backup-restore-points", Kind: KindBenign, Provider: az,
			Title: "Azure Backup snapshot tier: restore points by the Backup Management Service",
			Why:   "restore point creation in AzureBackupRG_<geo>_<n> by the first-party Backup service: nothing restored",
			Calls: []Call{
				{Op: "Microsoft.Compute/restorePointCollections/restorePoints/write", Actor: "backup-service",
					Args: Args{RG: "AzureBackupRG_westeurope_1", VM: "erp-07", Collection: "AzureBackup_erp-07_108641372", RestorePoint: "AzureBackup_20261102_0300", SourceDisk: "erp-07_OsDisk_1"}},
			}},
		{ID: "azure-benign-site-recovery", Kind: KindBenign, Provider: az,
			Title: "Azure Site Recovery replica disks in the DR subscription",
			Why:   "Hyper-V Recovery Manager creates empty -ASRReplica disks and snapshots them: no VM is written",
			Calls: []Call{
				{Op: "Microsoft.Compute/disks/write", Actor: "site-recovery", Account: "other", Args: Args{RG: "dr-rg", Disk: "web-09_OsDisk_1-ASRReplica", CreateOption: "Empty"}},
				{After: 20 * mins, Op: "Microsoft.Compute/snapshots/write", Actor: "site-recovery", Account: "other",
					Args: Args{RG: "dr-rg", Snapshot: "asrseeddisk-web-09-snap", SourceDisk: "web-09_OsDisk_1-ASRReplica"}},
			}},
		{ID: "azure-benign-automation-resize", Kind: KindBenign, Provider: az,
			Title: "Automation runbook resizes a VM (deallocate, write, start) with its own OS disk",
			Why:   "the VM write keeps the VM's own OS disk and no disk is created: not a swap",
			Calls: []Call{
				{Op: "Microsoft.Compute/virtualMachines/deallocate/action", Actor: "automation-mi", Args: Args{RG: "report-rg", VM: "report-08"}},
				{After: 2 * mins, Op: "Microsoft.Compute/virtualMachines/write", Actor: "automation-mi", Args: Args{RG: "report-rg", VM: "report-08"}},
				{After: 1 * mins, Op: "Microsoft.Compute/virtualMachines/start/action", Actor: "automation-mi", Args: Args{RG: "report-rg", VM: "report-08"}},
			}},

		// Near-misses: one detail away from a revert.
		{ID: "aws-near-stop-one-start-another", Kind: KindNearMiss, Provider: aws,
			Title: "Stop one instance, start another", Why: "the instance ids differ",
			Calls: []Call{
				{Op: "StopInstances", Actor: "ops-boto3", Args: Args{Instance: "web-a"}},
				{After: 3 * mins, Op: "StartInstances", Actor: "ops-boto3", Args: Args{Instance: "web-b"}},
			}},
		{ID: "aws-near-volume-never-attached", Kind: KindNearMiss, Provider: aws,
			Title: "Volume from a snapshot, never attached", Why: "no AttachVolume of the new volume",
			Calls: []Call{{Op: "CreateVolume", Actor: "ops-boto3", Args: Args{Snapshot: "golden", Volume: "restored"}}}},
		{ID: "aws-near-empty-volume-attached", Kind: KindNearMiss, Provider: aws,
			Title: "Empty volume created and attached", Why: "CreateVolume without a snapshotId makes a blank volume",
			Calls: []Call{
				{Op: "CreateVolume", Actor: "ops-boto3", Args: Args{Volume: "scratch", Size: 100}},
				{After: 2 * mins, Op: "AttachVolume", Actor: "ops-boto3", Args: Args{Volume: "scratch", Instance: "web", Device: "/dev/sdg"}},
			}},
		{ID: "aws-near-start-before-stop", Kind: KindNearMiss, Provider: aws,
			Title: "Start before stop", Why: "the start precedes the stop in event time",
			Calls: []Call{
				{Op: "StartInstances", Actor: "ops-boto3", Args: Args{Instance: "web"}},
				{After: 2 * hrs, Op: "StopInstances", Actor: "ops-boto3", Args: Args{Instance: "web"}},
			}},
		{ID: "aws-near-cross-account", Kind: KindNearMiss, Provider: aws,
			Title: "Stop and start of the same instance id in two accounts", Why: "ids are unique per account and region only",
			Calls: []Call{
				{Op: "StopInstances", Actor: "ops-boto3", Args: Args{Instance: "web"}},
				{After: 3 * mins, Op: "StartInstances", Actor: "ops-boto3", Account: "other", Args: Args{Instance: "web"}},
			}},
		{ID: "aws-near-cross-region", Kind: KindNearMiss, Provider: aws,
			Title: "Stop and start of the same instance id in two regions", Why: "ids are unique per account and region only",
			Calls: []Call{
				{Op: "StopInstances", Actor: "ops-boto3", Args: Args{Instance: "web"}},
				{After: 3 * mins, Op: "StartInstances", Actor: "ops-boto3", Region: "us-west-2", Args: Args{Instance: "web"}},
			}},
		{ID: "aws-near-attach-failed", Kind: KindNearMiss, Provider: aws,
			Title: "Volume from a snapshot, AttachVolume failed", Why: "errorCode set, responseElements null: nothing attached",
			Calls: []Call{
				{Op: "CreateVolume", Actor: "ops-boto3", Args: Args{Snapshot: "golden", Volume: "restored"}},
				{After: 2 * mins, Op: "AttachVolume", Actor: "ops-boto3", Error: "Client.InvalidVolume.ZoneMismatch",
					Args: Args{Volume: "restored", Instance: "web", Device: "/dev/xvda"}},
			}},
		{ID: "aws-near-dry-run", Kind: KindNearMiss, Provider: aws,
			Title: "Stop and start as dry runs", Why: "Client.DryRunOperation: a permission check, no change",
			Calls: []Call{
				{Op: "StopInstances", Actor: "stolen-key", Error: "Client.DryRunOperation", Args: Args{Instance: "web"}},
				{After: 20 * sec, Op: "StartInstances", Actor: "stolen-key", Error: "Client.DryRunOperation", Args: Args{Instance: "web"}},
			}},
		{ID: "aws-near-image-not-from-snapshot", Kind: KindNearMiss, Provider: aws,
			Title: "RunInstances from an image not registered from a snapshot in the data",
			Why:   "an AMI is registered from a snapshot, but the launch uses another image",
			Calls: []Call{
				{Op: "RegisterImage", Actor: "ops-boto3", Args: Args{Snapshot: "golden", Image: "registered", Device: "/dev/xvda"}},
				{After: 5 * mins, Op: "RunInstances", Actor: "ops-boto3", Args: Args{Image: "marketplace", Instance: "new"}},
			}},
		{ID: "azure-near-disk-swap-accept-only-failed", Kind: KindNearMiss, Provider: az,
			Title: "Azure OS disk swap from a snapshot, Start and Accept records saved, the disk copy failed",
			Why:   "as azure-disk-swap-accept-only, but a Failure record of the disks/write is there: the disk was never made, so nothing was swapped in",
			Calls: []Call{
				{Op: "Microsoft.Compute/virtualMachines/deallocate/action", Actor: "cli-admin", NoEnd: true, Args: Args{RG: "bastion-rg", VM: "bastion-12"}},
				{After: 2 * mins, Op: "Microsoft.Compute/disks/write", Actor: "cli-admin", Error: "InternalExecutionError",
					Args: Args{RG: "bastion-rg", Disk: "bastion-12-os-restored", CreateOption: "Copy", Snapshot: "bastion-12-os-2026-10-28"}},
				{After: 3 * mins, Op: "Microsoft.Compute/virtualMachines/write", Actor: "cli-admin", NoEnd: true, Args: Args{RG: "bastion-rg", VM: "bastion-12", Disk: "bastion-12-os-restored"}},
				{After: 2 * mins, Op: "Microsoft.Compute/virtualMachines/start/action", Actor: "cli-admin", NoEnd: true, Args: Args{RG: "bastion-rg", VM: "bastion-12"}},
			}},
		{ID: "azure-near-disk-empty", Kind: KindNearMiss, Provider: az,
			Title: "Azure empty disk created and attached as a data disk around a deallocate",
			Why:   "createOption Empty, and the VM keeps its OS disk: not a restore",
			Calls: []Call{
				{Op: "Microsoft.Compute/virtualMachines/deallocate/action", Actor: "cli-admin", Args: Args{RG: "etl-rg", VM: "etl-06"}},
				{After: 1 * mins, Op: "Microsoft.Compute/disks/write", Actor: "cli-admin", Args: Args{RG: "etl-rg", Disk: "etl-06-scratch", CreateOption: "Empty"}},
				{After: 2 * mins, Op: "Microsoft.Compute/virtualMachines/write", Actor: "cli-admin", Args: Args{RG: "etl-rg", VM: "etl-06", DataDisk: "etl-06-scratch"}},
				{After: 1 * mins, Op: "Microsoft.Compute/virtualMachines/start/action", Actor: "cli-admin", Args: Args{RG: "etl-rg", VM: "etl-06"}},
			}},
	}
}
