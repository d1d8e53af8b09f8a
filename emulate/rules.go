package emulate

import "github.com/revertwatch/revertwatch/content"

// Rule names a detection a scenario expects to fire.
//
// This is the one table of rule ids the scenarios use. The ids are the
// built-in content's (content/revert.go), referenced by name so that a
// renamed rule fails to compile here instead of drifting from truth.json.
type Rule struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

// Rule ids.
const (
	RuleStopStart          = content.RuleStopStart
	RuleVolumeFromSnapshot = content.RuleVolumeFromSnapshot
	RuleSnapshotVolume     = content.RuleSnapshotVolumeAttach
	RuleImageFromSnapshot  = content.RuleImageFromSnapshot
	RuleSnapshotImage      = content.RuleSnapshotImageLaunch
	RuleReplaceRootVolume  = content.RuleReplaceRootVolume
	RuleBackupRestore      = content.RuleBackupRestore
	RuleRDSRestore         = content.RuleRDSRestore
	RuleAzureDiskSwap      = content.RuleAzureDiskSwap
	RuleAzureDiskBodyless  = content.RuleAzureDiskSwapBodyless
	RuleAzureReimage       = content.RuleAzureReimage
	RuleAzureBackupRestore = content.RuleAzureBackupRestore
)

// Rules is the table of rule ids the scenarios use.
var Rules = []Rule{
	{ID: RuleStopStart, Title: "EC2 instance stopped then started (ephemeral storage reset)"},
	{ID: RuleVolumeFromSnapshot, Title: "EBS volume created from a snapshot and attached"},
	{ID: RuleSnapshotVolume, Title: "Snapshot taken, volume created from it, attached (three hops)"},
	{ID: RuleImageFromSnapshot, Title: "AMI registered from a snapshot and launched"},
	{ID: RuleSnapshotImage, Title: "Snapshot taken, AMI registered from it, launched (three hops)"},
	{ID: RuleReplaceRootVolume, Title: "EC2 replace-root-volume task"},
	{ID: RuleBackupRestore, Title: "AWS Backup restore job"},
	{ID: RuleRDSRestore, Title: "RDS instance or cluster restored from a snapshot or point in time"},
	{ID: RuleAzureDiskSwap, Title: "Azure disk from a snapshot or restore point swapped in as a VM's OS disk"},
	{ID: RuleAzureDiskBodyless, Title: "Azure disk created and VM rewritten after a deallocate, bodies not logged"},
	{ID: RuleAzureReimage, Title: "Azure VM or scale set reimaged"},
	{ID: RuleAzureBackupRestore, Title: "Azure Backup recovery point restored"},
}
