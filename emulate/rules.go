package emulate

// Rule names a detection a scenario expects to fire.
//
// The ids are descriptive: when this table was written the built-in
// content (content/revert*.go) had no rule ids yet. This is the one place
// to align them: change ID here (or set Content) and truth.json follows.
type Rule struct {
	ID      string `json:"id"`
	Title   string `json:"title"`
	Content string `json:"content,omitempty"` // the content/ rule id, once aligned
}

// Rule ids.
const (
	RuleStopStart          = "aws-stop-start"
	RuleVolumeFromSnapshot = "aws-volume-from-snapshot"
	RuleSnapshotVolume     = "aws-snapshot-volume-chain"
	RuleImageFromSnapshot  = "aws-image-from-snapshot"
	RuleSnapshotImage      = "aws-snapshot-image-chain"
	RuleReplaceRootVolume  = "aws-replace-root-volume"
	RuleBackupRestore      = "aws-backup-restore"
	RuleRDSRestore         = "aws-rds-restore"
	RuleAzureDiskSwap      = "azure-disk-swap"
	RuleAzureDiskBodyless  = "azure-disk-swap-bodyless"
	RuleAzureReimage       = "azure-vm-reimage"
	RuleAzureBackupRestore = "azure-backup-restore"
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
