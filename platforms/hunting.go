package platforms

import (
	"strings"

	"github.com/revertwatch/revertwatch/content/catalog"
	"github.com/revertwatch/revertwatch/event"
)

// Hunt is a hunting query: broader than a detection, for a person to read
// the rows of, in revertwatch's query language (run it with
// 'revertwatch query').
type Hunt struct {
	ID    string
	Title string
	Why   string // what a row means and what to do with it
	Text  string
}

// Hunts returns the hunting queries in a stable order.
func Hunts() []Hunt {
	return []Hunt{
		{
			ID:    "hunt-snapshot-shared-out",
			Title: "EBS snapshots or AMIs shared with another account or made public",
			Why: "ModifySnapshotAttribute or ModifyImageAttribute adding createVolumePermission or launchPermission: a copy of the disk " +
				"leaves the account (exfiltration), or a prepared image is offered to a victim account to revert into.",
			Text: `_sourceCategory=*aws*cloudtrail*
| json auto
| where eventName in ("ModifySnapshotAttribute", "ModifyImageAttribute") and isEmpty(errorCode)
| %"requestParameters.createVolumePermission.add.items[0].userId" as shared_with_account
| %"requestParameters.createVolumePermission.add.items[0].group" as shared_with_group
| if(isEmpty(shared_with_account), %"requestParameters.launchPermission.add.items[0].userId", shared_with_account) as shared_with_account
| if(isEmpty(shared_with_group), %"requestParameters.launchPermission.add.items[0].group", shared_with_group) as shared_with_group
| where !isEmpty(shared_with_account) or !isEmpty(shared_with_group)
| if(isEmpty(` + ct("ModifySnapshotAttribute", catalog.Snapshots) + `), ` + ct("ModifyImageAttribute", catalog.Images) + `, ` + ct("ModifySnapshotAttribute", catalog.Snapshots) + `) as resource
| count as calls, min(_messageTime) as first_seen, values(shared_with_account) as accounts, values(shared_with_group) as groups by recipientAccountId, awsRegion, caller, resource
| sort by first_seen asc`,
		},
		{
			ID:    "hunt-volume-from-foreign-snapshot",
			Title: "Volumes created from a snapshot no CreateSnapshot or CopySnapshot in the data made",
			Why: "A volume restored from a snapshot this account did not create in the period (shared in from another account, or older than the logs): " +
				"a revert to an image the attacker prepared, or to a point long before the intrusion. Check the snapshot's owner with DescribeSnapshots.",
			Text: `_sourceCategory=*aws*cloudtrail*
| json auto
| where eventName in ("CreateSnapshot", "CopySnapshot", "CreateVolume") and isEmpty(errorCode)
| if(eventName = "CreateVolume", ` + ct("CreateVolume", catalog.SourceSnapshots) + `, ` + ct("CreateSnapshot", catalog.Snapshots) + `) as snapshot
| where !isEmpty(snapshot)
| if(eventName = "CreateVolume", 1, 0) as restored
| if(eventName = "CreateVolume", 0, 1) as created_here
| sum(restored) as volumes_restored, sum(created_here) as created_in_data, values(caller) as callers, min(_messageTime) as first_seen by recipientAccountId, awsRegion, snapshot
| where volumes_restored > 0 and created_in_data = 0
| sort by first_seen asc`,
		},
		{
			ID:    "hunt-stop-start-new-principal",
			Title: "Principals who stopped or started instances rarely (once or twice in the period)",
			Why: "A stop and start wipes instance-store volumes; people and automation who do it routinely show up with many calls, " +
				"a principal with one or two in the whole period is new to it. The query language has no history of earlier periods: " +
				"run it over a long range so that 'rare' means 'never seen before'.",
			Text: `_sourceCategory=*aws*cloudtrail*
| json auto
| where eventName in ("StopInstances", "StartInstances", "RebootInstances") and isEmpty(errorCode)
| ` + ct("StopInstances", catalog.Instances) + ` as instance
| count as calls, count_distinct(instance) as instances, values(eventName) as operations, values(sourceIPAddress) as source_ips, min(_messageTime) as first_seen by recipientAccountId, caller
| where calls <= 2
| sort by first_seen asc`,
		},
		{
			ID:    "hunt-root-volume-attach",
			Title: "Volumes attached at a root device name",
			Why:   "AttachVolume at /dev/xvda, /dev/sda1 or /dev/sda replaces an instance's system disk (the detections need the volume's CreateVolume in the data; this does not).",
			Text: `_sourceCategory=*aws*cloudtrail*
| json auto
| where eventName = "AttachVolume" and isEmpty(errorCode)
| ` + ct("AttachVolume", catalog.Devices) + ` as device
| where device in ("/dev/xvda", "/dev/sda1", "/dev/sda")
| count as attaches, min(_messageTime) as first_seen by recipientAccountId, awsRegion, caller, ` + ct("AttachVolume", catalog.Instances) + `, ` + ct("AttachVolume", catalog.Volumes) + `, device
| sort by first_seen asc`,
		},
		{
			ID:    "hunt-evidence-deletion",
			Title: "Volumes, snapshots, images and disks deleted, per caller",
			Why: "Deleting the replaced root volume or disk, or the snapshot used to revert, destroys the evidence a revert leaves; " +
				"read the callers with deletions next to their revert findings.",
			Text: `_sourceCategory=*aws*cloudtrail* OR _sourceCategory=*azure*activitylog* OR ` + gcpScope + `
| json auto
| where matches(operationName, "(?i)^(DeleteVolume|DeleteSnapshot|DeregisterImage|microsoft\.compute/(disks|snapshots|images)/delete|` + gcpVersion + `?compute\.(disks|regionDisks|snapshots|images|machineImages)\.delete)$")
| count as deletions, values(operationName) as operations, min(_messageTime) as first_seen, max(_messageTime) as last_seen by _sourceHost, caller
| sort by deletions desc`,
		},
		{
			ID:    "hunt-azure-snapshot-export",
			Title: "Azure snapshots or disks exported with a SAS URL",
			Why:   "beginGetAccess on a snapshot or disk hands out a download URL: a copy of the disk leaves Azure (exfiltration), often before a revert.",
			Text: `_sourceCategory=*azure*activitylog*
| json auto
| where matches(operationName, "(?i)^microsoft\.compute/(snapshots|disks)/begingetaccess/action$")
| count as exports, min(_messageTime) as first_seen by _sourceHost, caller, resourceId
| sort by first_seen asc`,
		},
		{
			ID:    "hunt-azure-disk-restored",
			Title: "Azure disks created from a snapshot or restore point, with or without a swap",
			Why:   "Every disks/write whose body shows createOption Copy or Restore: the inputs of an OS-disk swap, including those whose VM write is missing from the data.",
			Text: `_sourceCategory=*azure*activitylog*
| json auto
| where matches(operationName, "(?i)^microsoft\.compute/disks/write$")
| parse regex field=%"properties.responseBody" "\"createOption\":\s*\"(?<create_option>[^\"]*)\"" nodrop
| parse regex field=%"properties.responseBody" "\"sourceResourceId\":\s*\"(?<source>[^\"]*)\"" nodrop
| where matches(create_option, "(?i)^(copy|restore|copystart|copyfromsansnapshot)$")
| count as writes, min(_messageTime) as first_seen by _sourceHost, caller, resourceId, create_option, source
| sort by first_seen asc`,
		},
		{
			ID:    "hunt-gcp-disk-restored",
			Title: "Compute Engine disks created from a snapshot or an image, per project and source",
			Why: "Every disks.insert that names a sourceSnapshot or sourceImage: the inputs of a boot-disk swap, including those whose attachDisk is missing from the data. " +
				"A snapshot taken before the intrusion, restored by a principal who does not normally restore, is a revert point.",
			Text: gcpScope + `
| json auto
| parse regex field=%"protoPayload.methodName" "^(?:` + gcpVersion + `)?(?<method>.+)$" nodrop
| where method in ("compute.disks.insert", "compute.regionDisks.insert") and !(severity in ("ERROR", "CRITICAL", "ALERT", "EMERGENCY"))
| ` + gcpHunt("compute.disks.insert", catalog.SourceSnapshots) + ` as source_snapshot
| ` + gcpHunt("compute.disks.insert", catalog.Images) + ` as source_image
| where !isEmpty(source_snapshot) or !isEmpty(source_image)
| count as disks, min(_messageTime) as first_seen, values(%"protoPayload.resourceName") as disk_names by _sourceHost, caller, source_snapshot, source_image
| sort by first_seen asc`,
		},
		{
			ID:    "hunt-gcp-boot-disk-attach",
			Title: "Compute Engine disks attached as an instance's boot disk",
			Why: "attachDisk with boot true replaces the disk an instance starts from (the detections need the disk's disks.insert in the data; this does not). " +
				"Outside a rebuild, it is how a boot disk is swapped for a restored one.",
			Text: gcpScope + `
| json auto
| parse regex field=%"protoPayload.methodName" "^(?:` + gcpVersion + `)?(?<method>.+)$" nodrop
| where method = "compute.instances.attachDisk" and toString(%"protoPayload.request.boot") = "true" and !(severity in ("ERROR", "CRITICAL", "ALERT", "EMERGENCY"))
| count as attaches, min(_messageTime) as first_seen by _sourceHost, caller, ` + gcpHunt("compute.instances.attachDisk", catalog.Instances) + `, ` + gcpHunt("compute.instances.attachDisk", catalog.Volumes) + `
| sort by first_seen asc`,
		},
		{
			ID:    "hunt-gcp-image-shared",
			Title: "Compute Engine snapshots, images, machine images or disks whose IAM policy was set",
			Why: "setIamPolicy on a snapshot, image, machine image or disk can grant another principal or project the right to copy it: " +
				"a copy of the disk leaves the project, or a prepared image is offered to revert into. Read the policy in the request.",
			Text: gcpScope + `
| json auto
| parse regex field=%"protoPayload.methodName" "^(?:` + gcpVersion + `)?(?<method>.+)$" nodrop
| where method in (` + quoteList(gcpSharing()) + `) and !(severity in ("ERROR", "CRITICAL", "ALERT", "EMERGENCY"))
| count as calls, min(_messageTime) as first_seen by _sourceHost, caller, method, %"protoPayload.resourceName"
| sort by first_seen asc`,
		},
	}
}

// gcpHunt names, as a hunting query after json auto does, where a Google
// Cloud operation writes a key: the field catalog's LogEntry path, a
// list's first member ("missing." when the catalog lacks it, as ct).
func gcpHunt(op string, k catalog.Key) string {
	paths := catalog.Paths(event.GCP, op, k)
	if len(paths) == 0 {
		return `%"missing.` + op + "." + string(k) + `"`
	}
	return `%"` + strings.ReplaceAll(gcpPath(paths[0]), "[]", "[0]") + `"`
}

// gcpSharing lists the Google Cloud operations the catalog says share a
// snapshot, image or disk.
func gcpSharing() []string {
	var out []string
	for _, kind := range []string{"snapshots", "images", "machineImages", "disks", "regionDisks"} {
		if op := "compute." + kind + ".setIamPolicy"; catalog.Shares(event.GCP, op) {
			out = append(out, op)
		}
	}
	return out
}

// ct names, as a hunting query after json auto does, where a CloudTrail
// operation writes a key: the field catalog's path, a list's first
// member. A key the catalog lacks yields a name no record has
// ("missing."), which TestHuntPathsInCatalog reports.
func ct(op string, k catalog.Key) string {
	paths := catalog.Paths(event.AWS, op, k)
	if len(paths) == 0 {
		return `%"missing.` + op + "." + string(k) + `"`
	}
	return `%"` + strings.ReplaceAll(ctPath(paths[0]), "[]", "[0]") + `"`
}
