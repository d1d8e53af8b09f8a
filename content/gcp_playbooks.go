package content

// Google Cloud playbooks: gcloud commands (Google Cloud SDK reference,
// cloud.google.com/sdk/gcloud/reference) named with the finding's project,
// zone and resource names.

func gcpRevokeActor() []Action {
	return []Action{
		{Text: "If the principal is a service account, disable it (do not delete it: its id ties the logs together) and list its keys; disable the key it signed with.",
			Command: "gcloud iam service-accounts disable {principal} --project {project} && gcloud iam service-accounts keys list --iam-account {principal}"},
		{Text: "If the principal is a user, remove its project roles for the investigation (keep the policy for the report) and have the identity provider end its sessions.",
			Command: "gcloud projects get-iam-policy {project} --format=json > iam-policy-{finding}.json"},
	}
}

func gcpPreserveDisk() []Action {
	return []Action{
		{Text: "Find the boot disk the revert detached (detachDisk logs no disk name): the instance's disks that are attached to nothing now. Snapshot it before anyone deletes it: it holds the system as the intruder left it.",
			Command: "gcloud compute disks list --project {project} --filter='zone~{zone} AND -users:*' --format='table(name,sizeGb,lastDetachTimestamp)'"},
		{Text: "Snapshot the disk the instance runs now too: the actor may change it again.",
			Command: "gcloud compute snapshots create ir-{finding} --project {project} --source-disk {gce_disk} --source-disk-zone {zone} --labels legal-hold=true"},
		{Text: "Keep the instance's disks when the instance is deleted.",
			Command: "gcloud compute instances set-disk-auto-delete {gce_instance} --project {project} --zone {zone} --all-disks --no-auto-delete"},
	}
}

func gcpIsolateInstance() Action {
	return Action{Text: "Isolate the instance's network: tag it and add deny-all ingress and egress firewall rules for the tag (keep it running if memory is to be captured).",
		Command: "gcloud compute instances add-tags {gce_instance} --project {project} --zone {zone} --tags ir-quarantine"}
}

func gcpEvidence() []Action {
	return []Action{
		{Text: "Pull every Admin Activity entry of the principal in the project for the window (newest first; add --order=asc for a timeline).",
			Command: `gcloud logging read 'logName:"cloudaudit.googleapis.com" AND protoPayload.authenticationInfo.principalEmail="{principal}" AND timestamp>="{start}" AND timestamp<="{end}"' --project {project} --format=json`},
		{Text: "Pull the entries on the instance itself, by anyone.",
			Command: `gcloud logging read 'protoPayload.resourceName:"instances/{gce_instance}" AND timestamp>="{start}" AND timestamp<="{end}"' --project {project} --format=json`},
		{Text: "Collect Security Command Center findings, VPC flow logs and the serial console output of the instance for the window.",
			Command: "gcloud compute instances get-serial-port-output {gce_instance} --project {project} --zone {zone}"},
	}
}

func gcpSnapshotEvidence() Action {
	return Action{Text: "Read the snapshot's creation time and source disk: a snapshot from before the intrusion, or from another project, is the revert point.",
		Command: "gcloud compute snapshots describe {gce_snapshot} --project {project} --format='value(creationTimestamp,sourceDisk)'"}
}

func gcpEradicate() []Action {
	return []Action{
		{Text: "Look for persistence the principal left: IAM policy changes, new service-account keys, metadata SSH keys and startup scripts in the window.",
			Command: `gcloud logging read 'protoPayload.methodName:("SetIamPolicy" OR "CreateServiceAccountKey" OR "setMetadata" OR "setCommonInstanceMetadata") AND timestamp>="{start}"' --project {project} --format=json`},
		{Text: "Where reverts are not an operator's job, keep compute.disks.create from snapshots, compute.instances.attachDisk and compute.images.create out of day-to-day roles (custom roles, IAM deny policies)."},
	}
}

func gcpRecover() []Action {
	return []Action{
		{Text: "Rebuild the instance from an image you verify against the intrusion timeline, not from the snapshot the principal chose; keep the forensic snapshot attached to nothing."},
		{Text: "Confirm with the owner that the restored state is wanted; if not, restore from a snapshot taken before the compromise and close the entry point first."},
	}
}

func gcpInstancePlaybook() Playbook {
	return Playbook{Provider: "GCP",
		Containment: cat(gcpRevokeActor(), []Action{gcpIsolateInstance(),
			{Text: "Capture memory and local SSD data now if the instance has them: another stop erases them again."}}),
		Evidence: cat([]Action{
			{Text: "Read the instance's disks, local SSDs and metadata as they are now.",
				Command: "gcloud compute instances describe {gce_instance} --project {project} --zone {zone} --format=json"},
		}, gcpEvidence()),
		Eradication: gcpEradicate(),
		Recovery:    gcpRecover(),
	}
}

func gcpDiskPlaybook() Playbook {
	return Playbook{Provider: "GCP",
		Containment: cat(gcpRevokeActor(), gcpPreserveDisk(), []Action{gcpIsolateInstance()}),
		Evidence: cat([]Action{gcpSnapshotEvidence(),
			{Text: "Read the restored disk's source and which disk the instance boots from now.",
				Command: "gcloud compute disks describe {gce_disk} --project {project} --zone {zone} --format='value(sourceSnapshot,sourceImage,users)'"},
		}, gcpEvidence()),
		Eradication: gcpEradicate(),
		Recovery:    gcpRecover(),
	}
}

func gcpImagePlaybook() Playbook {
	return Playbook{Provider: "GCP",
		Containment: cat(gcpRevokeActor(), []Action{
			{Text: "Keep the image (and the snapshot behind it) while investigating: label it as held, so that no clean-up job deletes it.",
				Command: "gcloud compute images add-labels {gce_image} --project {project} --labels legal-hold=true"},
			gcpIsolateInstance(),
		}),
		Evidence: cat([]Action{
			{Text: "Read the image's source snapshot or disk and its creation time.",
				Command: "gcloud compute images describe {gce_image} --project {project} --format='value(creationTimestamp,sourceSnapshot,sourceDisk)'"},
			gcpSnapshotEvidence(),
		}, gcpEvidence()),
		Eradication: gcpEradicate(),
		Recovery:    gcpRecover(),
	}
}

func gcpBackupPlaybook() Playbook {
	return Playbook{Provider: "GCP",
		Containment: cat(gcpRevokeActor(), []Action{
			{Text: "Read the backup restored: its creation time and data source.",
				Command: "gcloud backup-dr backups describe {gce_backup}"},
			{Text: "Keep the backup vault's enforced retention on, so the backups cannot be removed during the investigation."},
		}),
		Evidence:    gcpEvidence(),
		Eradication: gcpEradicate(),
		Recovery:    gcpRecover(),
	}
}

func init() {
	for id, pb := range map[string]func() Playbook{
		RuleGCPStopStart: gcpInstancePlaybook, RuleGCPSuspendResume: gcpInstancePlaybook,
		RuleGCPDiskSwap: gcpDiskPlaybook, RuleGCPSnapshotDiskSwap: gcpDiskPlaybook, RuleGCPImageDiskSwap: gcpDiskPlaybook,
		RuleGCPInstanceFromSnap: gcpDiskPlaybook, RuleGCPSnapshotInstance: gcpDiskPlaybook, RuleGCPDiskInstance: gcpDiskPlaybook,
		RuleGCPImageLaunch: gcpImagePlaybook, RuleGCPSnapshotImageLaunch: gcpImagePlaybook, RuleGCPMachineImageLaunch: gcpImagePlaybook,
		RuleGCPBackupRestore: gcpBackupPlaybook,
	} {
		playbooks[id] = pb
	}
	for name, what := range map[string]string{
		"project":      "Google Cloud project id",
		"zone":         "Compute Engine zone of the instance or disk",
		"gce_instance": "Compute Engine instance name",
		"gce_disk":     "Compute Engine disk name (restored, or the boot disk to preserve)",
		"gce_snapshot": "Compute Engine snapshot name",
		"gce_image":    "Compute Engine image or machine image name",
		"gce_backup":   "Backup and DR backup resource name",
	} {
		Placeholders[name] = what
	}
}
