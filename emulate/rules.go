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

	RuleGCPStopStart           = content.RuleGCPStopStart
	RuleGCPSuspendResume       = content.RuleGCPSuspendResume
	RuleGCPDiskSwap            = content.RuleGCPDiskSwap
	RuleGCPSnapshotDiskSwap    = content.RuleGCPSnapshotDiskSwap
	RuleGCPImageDiskSwap       = content.RuleGCPImageDiskSwap
	RuleGCPImageLaunch         = content.RuleGCPImageLaunch
	RuleGCPSnapshotImageLaunch = content.RuleGCPSnapshotImageLaunch
	RuleGCPMachineImageLaunch  = content.RuleGCPMachineImageLaunch
	RuleGCPInstanceFromSnap    = content.RuleGCPInstanceFromSnap
	RuleGCPSnapshotInstance    = content.RuleGCPSnapshotInstance
	RuleGCPDiskInstance        = content.RuleGCPDiskInstance
	RuleGCPBackupRestore       = content.RuleGCPBackupRestore
)

// Rules is the table of rule ids the scenarios use. The titles are the
// content's own, so that truth.json names a rule as its findings, the
// Sigma export and the platform queries do.
var Rules = rulesOf(
	RuleStopStart, RuleVolumeFromSnapshot, RuleSnapshotVolume, RuleImageFromSnapshot, RuleSnapshotImage,
	RuleReplaceRootVolume, RuleBackupRestore, RuleRDSRestore,
	RuleAzureDiskSwap, RuleAzureDiskBodyless, RuleAzureReimage, RuleAzureBackupRestore,
	RuleGCPStopStart, RuleGCPSuspendResume, RuleGCPDiskSwap, RuleGCPSnapshotDiskSwap, RuleGCPImageDiskSwap,
	RuleGCPImageLaunch, RuleGCPSnapshotImageLaunch, RuleGCPMachineImageLaunch, RuleGCPInstanceFromSnap,
	RuleGCPSnapshotInstance, RuleGCPDiskInstance, RuleGCPBackupRestore,
)

// rulesOf looks the ids up in the content. An id the content does not
// have is a programming error, caught by every test of this package.
func rulesOf(ids ...string) []Rule {
	out := make([]Rule, len(ids))
	for i, id := range ids {
		d, ok := content.RevertByID(id)
		if !ok {
			panic("emulate: no built-in rule " + id)
		}
		out[i] = Rule{ID: id, Title: d.Title}
	}
	return out
}
