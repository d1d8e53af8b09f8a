package content

import (
	"regexp"
	"strings"
)

// Action is one step of a response playbook: what to do, and where a
// command line does it, the command. Commands name the values of a finding
// as {placeholders} (see Placeholders); Fill puts the known ones in.
type Action struct {
	Text    string `json:"text"`
	Command string `json:"command,omitempty"`
	// When, if set, is the kind of actor the action is for (WhenIAMUser,
	// WhenRoleSession): ForActor keeps it only for that actor.
	When string `json:"when,omitempty"`
}

// The actors an action may be for.
const (
	// WhenIAMUser is an IAM user signing with its long-term access key
	// (AKIA…): the key can be deactivated.
	WhenIAMUser = "iam-user"
	// WhenRoleSession is a role session signing with temporary
	// credentials (ASIA…): the sessions are revoked on the role.
	WhenRoleSession = "role-session"
)

// Playbook is the response to one detection, in the order a responder
// works: contain, collect evidence, eradicate, recover.
type Playbook struct {
	RuleID      string   `json:"rule_id"`
	Provider    string   `json:"provider"`
	Containment []Action `json:"containment"`
	Evidence    []Action `json:"evidence"`
	Eradication []Action `json:"eradication"`
	Recovery    []Action `json:"recovery"`
}

// Placeholders lists the names a playbook command may use, with what each
// stands for. explain fills them from the finding and its lineage.
var Placeholders = map[string]string{
	"account":         "AWS account id of the finding",
	"region":          "AWS region of the finding",
	"instance":        "EC2 instance reverted or launched",
	"volume":          "EBS volume restored and attached",
	"replaced_volume": "EBS volume detached or replaced by the revert",
	"snapshot":        "EBS snapshot restored",
	"image":           "AMI registered or launched",
	"db":              "RDS instance or cluster restored",
	"restore_job":     "AWS Backup restore job or replace-root-volume task",
	"user":            "IAM user name of the actor",
	"role":            "IAM role name of the actor's session",
	"access_key":      "access key id the actor signed with",
	"principal":       "the actor: ARN, UPN or object id",
	"subscription":    "Azure subscription id",
	"resource_group":  "Azure resource group",
	"vm":              "Azure virtual machine (or scale set) resource id",
	"disk":            "Azure managed disk swapped in",
	"replaced_disk":   "Azure OS disk the swap replaced",
	"source":          "Azure snapshot or restore point the disk was made from",
	"vault":           "Azure Recovery Services vault",
	"start":           "start of the investigation window (RFC 3339)",
	"end":             "end of the investigation window (RFC 3339)",
	"finding":         "the finding id",
	"now":             "the time of the response (when the playbook is made): sessions issued before it are revoked",
}

var placeholderRE = regexp.MustCompile(`\{([a-z_]+)\}`)

// Fill replaces the {placeholders} of a command with the given values; a
// placeholder without a value becomes <name>, so that the command reads as
// a template instead of silently pointing at the wrong resource.
func Fill(command string, values map[string]string) string {
	return placeholderRE.ReplaceAllStringFunc(command, func(m string) string {
		name := m[1 : len(m)-1]
		if v := values[name]; v != "" {
			return v
		}
		return "<" + strings.ReplaceAll(name, "_", "-") + ">"
	})
}

// Filled returns a copy of the playbook with every command filled.
func (p Playbook) Filled(values map[string]string) Playbook {
	fill := func(as []Action) []Action {
		out := make([]Action, len(as))
		for i, a := range as {
			out[i] = Action{Text: a.Text, Command: Fill(a.Command, values), When: a.When}
		}
		return out
	}
	p.Containment, p.Evidence = fill(p.Containment), fill(p.Evidence)
	p.Eradication, p.Recovery = fill(p.Eradication), fill(p.Recovery)
	return p
}

// ForActor returns a copy of the playbook with only the actions for the
// actor who signed with accessKey: an IAM user's long-term key (AKIA…)
// gets the key's deactivation, not the role-session revocation; a
// temporary key (ASIA…) the role-session steps, not a key deactivation
// that would fail. Without a key both are kept, each saying whom it is
// for.
func (p Playbook) ForActor(accessKey string) Playbook {
	drop := ""
	switch {
	case strings.HasPrefix(accessKey, "AKIA"):
		drop = WhenRoleSession
	case strings.HasPrefix(accessKey, "ASIA"):
		drop = WhenIAMUser
	}
	if drop == "" {
		return p
	}
	keep := func(as []Action) []Action {
		out := make([]Action, 0, len(as))
		for _, a := range as {
			if a.When != drop {
				out = append(out, a)
			}
		}
		return out
	}
	p.Containment, p.Evidence = keep(p.Containment), keep(p.Evidence)
	p.Eradication, p.Recovery = keep(p.Eradication), keep(p.Recovery)
	return p
}

// PlaybookFor returns the response playbook of a detection.
func PlaybookFor(ruleID string) (Playbook, bool) {
	build, ok := playbooks[ruleID]
	if !ok {
		return Playbook{}, false
	}
	p := build()
	p.RuleID = ruleID
	return p, true
}

// Playbooks returns every playbook, in the order of Reverts.
func Playbooks() []Playbook {
	var out []Playbook
	for _, d := range Reverts() {
		if p, ok := PlaybookFor(d.ID()); ok {
			out = append(out, p)
		}
	}
	return out
}

// The actions below are shared by several playbooks; each playbook is
// built per call so that no two share a slice.

func awsRevokeActor() []Action {
	return []Action{
		{Text: "If the actor is an IAM user, deactivate the access key it signed with (do not delete it: the key id ties the logs together).",
			Command: "aws iam update-access-key --user-name {user} --access-key-id {access_key} --status Inactive", When: WhenIAMUser},
		{Text: "If the actor is a role session, revoke every session issued before now: attach a deny-all inline policy conditioned on aws:TokenIssueTime (the console's \"Revoke active sessions\").",
			Command: `aws iam put-role-policy --role-name {role} --policy-name AWSRevokeOlderSessions --policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:TokenIssueTime":"{now}"}}}]}'`,
			When:    WhenRoleSession},
	}
}

func awsPreserveVolume() []Action {
	return []Action{
		{Text: "Snapshot the replaced volume now, before anyone deletes it; it holds the disk as the intruder left it.",
			Command: `aws ec2 create-snapshot --region {region} --volume-id {replaced_volume} --description "IR {finding}: volume replaced by revert" --tag-specifications 'ResourceType=snapshot,Tags=[{Key=legal-hold,Value={finding}}]'`},
		{Text: "Lock the forensic snapshot (and the restored-from snapshot) against deletion for the investigation.",
			Command: "aws ebs lock-snapshot --region {region} --snapshot-id <forensic-snapshot-id> --lock-mode governance --lock-duration 30"},
		{Text: "Stop the instance from being terminated and its volumes from being deleted with it.",
			Command: "aws ec2 modify-instance-attribute --region {region} --instance-id {instance} --disable-api-termination"},
	}
}

func awsIsolateInstance() Action {
	return Action{Text: "Isolate the instance's network: move it to a security group with no inbound and no outbound rules (keep it running if memory is to be captured).",
		Command: "aws ec2 modify-instance-attribute --region {region} --instance-id {instance} --groups <isolation-sg-id>"}
}

func awsCloudTrailEvidence() []Action {
	return []Action{
		{Text: "Pull every management event of the actor in all regions for the window, not only this region (CloudTrail event history is per region and 90 days; use the trail's S3 copy or Lake for more).",
			Command: "aws cloudtrail lookup-events --region {region} --lookup-attributes AttributeKey=AccessKeyId,AttributeValue={access_key} --start-time {start} --end-time {end}"},
		{Text: "Pull the events on the resource itself, by anyone.",
			Command: "aws cloudtrail lookup-events --region {region} --lookup-attributes AttributeKey=ResourceName,AttributeValue={instance} --start-time {start} --end-time {end}"},
		{Text: "Collect GuardDuty findings for the instance and the principal, VPC Flow Logs of the instance's interfaces, and Systems Manager Session Manager logs for the window."},
	}
}

func awsSnapshotEvidence() Action {
	return Action{Text: "Read the snapshot's start time, source volume and owner: a snapshot from before the intrusion, or owned by another account, is the revert point.",
		Command: "aws ec2 describe-snapshots --region {region} --snapshot-ids {snapshot} --query 'Snapshots[].{start:StartTime,volume:VolumeId,owner:OwnerId,description:Description}'"}
}

func awsEradicate() []Action {
	return []Action{
		{Text: "Look for persistence the actor left in IAM: new users, access keys, login profiles, roles and trust-policy changes in the window.",
			Command: "aws cloudtrail lookup-events --region us-east-1 --lookup-attributes AttributeKey=EventSource,AttributeValue=iam.amazonaws.com --start-time {start} --end-time {end}"},
		{Text: "Rotate the credentials of the actor for good (new key, new role trust), and any secret the instance could read (instance profile role, Secrets Manager, SSM parameters)."},
		{Text: "Where reverts are not an operator's job, deny them by policy: an SCP or permissions boundary without ec2:CreateReplaceRootVolumeTask, ec2:AttachVolume on root devices, ec2:RegisterImage and backup:StartRestoreJob for day-to-day roles.",
			Command: "aws organizations list-policies-for-target --target-id {account} --filter SERVICE_CONTROL_POLICY"},
	}
}

func awsRecover() []Action {
	return []Action{
		{Text: "Rebuild the instance from an image you verify against the intrusion timeline, not from the snapshot the actor chose; keep the forensic snapshot attached to nothing."},
		{Text: "Confirm with the owner that the restored state is wanted; if not, restore from a backup taken before the compromise and patch the entry point first."},
	}
}

func azureRevokeActor() []Action {
	return []Action{
		{Text: "If the caller is a user, revoke its refresh tokens and sessions (Microsoft Graph), and block sign-in until the investigation ends.",
			Command: "az rest --method POST --url https://graph.microsoft.com/v1.0/users/{principal}/revokeSignInSessions"},
		{Text: "If the caller is a service principal or managed identity, remove its role assignments on the subscription (keep the list for the report) and reset its credentials.",
			Command: "az role assignment list --all --assignee {principal} --output table"},
	}
}

func azurePreserveDisk() []Action {
	return []Action{
		{Text: "Snapshot the OS disk the swap replaced before anyone deletes it; it holds the system as the intruder left it.",
			Command: "az snapshot create --resource-group {resource_group} --name ir-{finding} --source {replaced_disk} --tags legal-hold={finding}"},
		{Text: "Put a delete lock on the replaced disk and on the snapshot or restore point it was reverted to.",
			Command: "az lock create --name ir-hold --lock-type CanNotDelete --resource {replaced_disk}"},
	}
}

func azureIsolateVM() Action {
	return Action{Text: "Isolate the VM: a network security group on its NIC that denies all inbound and outbound traffic (keep it running if memory is to be captured).",
		Command: "az network nic update --ids <nic-id> --network-security-group <isolation-nsg-id>"}
}

func azureEvidence() []Action {
	return []Action{
		{Text: "Export the Activity Log of the resource group for the window, every caller.",
			Command: "az monitor activity-log list --subscription {subscription} --resource-group {resource_group} --start-time {start} --end-time {end} --output json"},
		{Text: "Collect Microsoft Entra sign-in and audit logs of the caller, Defender for Cloud alerts, and NSG or VNet flow logs of the VM for the window."},
		{Text: "Read the change history of the VM (Resource Graph resourcechanges) to see its previous OS disk when the Activity Log carried no body.",
			Command: `az graph query -q "resourcechanges | where properties.targetResourceId =~ '{vm}' | order by todatetime(properties.changeAttributes.timestamp) desc"`},
	}
}

func azureEradicate() []Action {
	return []Action{
		{Text: "Look for persistence the caller left: new role assignments, app registrations and credentials, VM extensions and run commands in the window.",
			Command: "az monitor activity-log list --caller {principal} --start-time {start} --end-time {end} --query \"[?contains(operationName.value, 'roleAssignments') || contains(operationName.value, 'extensions') || contains(operationName.value, 'runCommand')]\""},
		{Text: "Where reverts are not an operator's job, take Microsoft.Compute/disks/write with a source, Microsoft.Compute/virtualMachines/write and reimage out of day-to-day roles (custom role or deny assignment)."},
	}
}

func azureRecover() []Action {
	return []Action{
		{Text: "Rebuild the VM from an image or backup you verify against the intrusion timeline, not from the snapshot the caller chose; keep the forensic snapshot detached."},
		{Text: "Confirm with the owner that the restored state is wanted; if not, restore from a recovery point taken before the compromise and close the entry point first."},
	}
}

func cat(parts ...[]Action) []Action {
	var out []Action
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

var playbooks = map[string]func() Playbook{
	RuleStopStart: func() Playbook {
		return Playbook{Provider: "AWS",
			Containment: cat(awsRevokeActor(), []Action{awsIsolateInstance(),
				{Text: "Capture memory and the instance-store volumes now if the instance has them: another stop erases them again."}}),
			Evidence: cat([]Action{
				{Text: "List the instance's block devices: instance-store volumes are what the stop erased; EBS volumes survived and can be snapshotted.",
					Command: "aws ec2 describe-instances --region {region} --instance-ids {instance} --query 'Reservations[].Instances[].{root:RootDeviceName,devices:BlockDeviceMappings,type:InstanceType}'"},
				{Text: "Snapshot every EBS volume of the instance before it changes again.",
					Command: `aws ec2 create-snapshots --region {region} --instance-specification InstanceId={instance} --description "IR {finding}"`},
				{Text: "Read the console output for what the reboot showed.",
					Command: "aws ec2 get-console-output --region {region} --instance-id {instance} --latest"},
			}, awsCloudTrailEvidence()),
			Eradication: awsEradicate(),
			Recovery:    awsRecover(),
		}
	},
	RuleVolumeFromSnapshot:   awsVolumePlaybook,
	RuleSnapshotVolumeAttach: awsVolumePlaybook,
	RuleImageFromSnapshot:    awsImagePlaybook,
	RuleSnapshotImageLaunch:  awsImagePlaybook,
	RuleReplaceRootVolume: func() Playbook {
		return Playbook{Provider: "AWS",
			Containment: cat(awsRevokeActor(), []Action{
				{Text: "Find the replaced root volume: the task keeps it (detached) unless DeleteReplacedRootVolume was set; snapshot it at once.",
					Command: "aws ec2 describe-replace-root-volume-tasks --region {region} --filters Name=instance-id,Values={instance}"},
			}, awsPreserveVolume()),
			Evidence:    cat([]Action{awsSnapshotEvidence()}, awsCloudTrailEvidence()),
			Eradication: awsEradicate(),
			Recovery:    awsRecover(),
		}
	},
	RuleBackupRestore: func() Playbook {
		return Playbook{Provider: "AWS",
			Containment: cat(awsRevokeActor(), []Action{
				{Text: "Read the restore job for the resource it created and the recovery point it used.",
					Command: "aws backup describe-restore-job --region {region} --restore-job-id {restore_job}"},
				{Text: "Preserve what the restore replaced: snapshot the volume or instance the restored resource took the place of.",
					Command: `aws ec2 create-snapshot --region {region} --volume-id {replaced_volume} --description "IR {finding}"`},
				{Text: "Stop further restores from the vault while investigating: a vault access policy denying backup:StartRestoreJob to everyone but the response role."},
			}),
			Evidence: cat([]Action{
				{Text: "Follow the backup service's own calls after the job (invokedBy backup.amazonaws.com) to the volume or instance it created and where it was attached.",
					Command: "aws cloudtrail lookup-events --region {region} --lookup-attributes AttributeKey=Username,AttributeValue=AWSBackup-AWSBackupDefaultServiceRole --start-time {start} --end-time {end}"},
				{Text: "Read the recovery point's creation date: a point from before the compromise is the revert point.",
					Command: "aws backup list-recovery-points-by-resource --region {region} --resource-arn <protected-resource-arn>"},
			}, awsCloudTrailEvidence()),
			Eradication: awsEradicate(),
			Recovery:    awsRecover(),
		}
	},
	RuleRDSRestore: func() Playbook {
		return Playbook{Provider: "AWS",
			Containment: cat(awsRevokeActor(), []Action{
				{Text: "Snapshot the original database now, before it is renamed away or deleted.",
					Command: "aws rds create-db-snapshot --region {region} --db-instance-identifier <original-db> --db-snapshot-identifier ir-{finding}"},
				{Text: "Turn on deletion protection on the original and the restored database.",
					Command: "aws rds modify-db-instance --region {region} --db-instance-identifier {db} --deletion-protection --apply-immediately"},
			}),
			Evidence: cat([]Action{
				{Text: "Read the restored database's source snapshot or restore time and compare it with the intrusion timeline.",
					Command: "aws rds describe-db-instances --region {region} --db-instance-identifier {db}"},
				{Text: "Look for endpoint swaps after the restore (ModifyDBInstance or ModifyDBCluster with a new identifier) and deletions of the original.",
					Command: "aws cloudtrail lookup-events --region {region} --lookup-attributes AttributeKey=EventSource,AttributeValue=rds.amazonaws.com --start-time {start} --end-time {end}"},
				{Text: "Collect the database's own audit and error logs (RDS log files, Database Activity Streams) for the window."},
			}, awsCloudTrailEvidence()),
			Eradication: awsEradicate(),
			Recovery: []Action{
				{Text: "Restore the data from a snapshot you verify against the intrusion timeline, and reconcile the writes lost between that point and the revert."},
			},
		}
	},
	RuleAzureDiskSwap:         azureDiskPlaybook,
	RuleAzureDiskSwapBodyless: azureDiskPlaybook,
	RuleAzureReimage: func() Playbook {
		return Playbook{Provider: "Azure",
			Containment: cat(azureRevokeActor(), []Action{azureIsolateVM(),
				{Text: "If the OS disk was not ephemeral, the old disk may have been kept (deleteOption): snapshot and lock it.",
					Command: "az vm show --ids {vm} --query 'storageProfile.osDisk.{name:name,ephemeral:diffDiskSettings,deleteOption:deleteOption}'"},
			}),
			Evidence:    cat([]Action{{Text: "Collect what survives outside the disk: boot diagnostics, the VM's Log Analytics agent data, Defender for Endpoint timeline."}}, azureEvidence()),
			Eradication: azureEradicate(),
			Recovery:    azureRecover(),
		}
	},
	RuleAzureBackupRestore: func() Playbook {
		return Playbook{Provider: "Azure",
			Containment: cat(azureRevokeActor(), []Action{
				{Text: "Read the restore job in the vault: its type (replace existing, new VM, disks) and the recovery point's time.",
					Command: "az backup job list --resource-group {resource_group} --vault-name {vault} --operation Restore --output table"},
				{Text: "Preserve what the restore replaced: with \"replace existing\" the vault keeps the old disks as a snapshot or in the staging location; snapshot and lock them."},
				{Text: "Turn on soft delete and immutability on the vault if they are off, so the recovery points cannot be purged."},
			}),
			Evidence:    azureEvidence(),
			Eradication: azureEradicate(),
			Recovery:    azureRecover(),
		}
	},
}

func awsVolumePlaybook() Playbook {
	return Playbook{Provider: "AWS",
		Containment: cat(awsRevokeActor(), awsPreserveVolume(), []Action{awsIsolateInstance()}),
		Evidence: cat([]Action{awsSnapshotEvidence(),
			{Text: "Snapshot the restored volume too: it is what the instance runs now, and the actor may change it again.",
				Command: `aws ec2 create-snapshot --region {region} --volume-id {volume} --description "IR {finding}: restored volume"`},
			{Text: "Confirm which volume the instance now boots from and what was detached.",
				Command: "aws ec2 describe-volumes --region {region} --filters Name=attachment.instance-id,Values={instance}"},
			{Text: "Check whether the snapshot was shared to or from another account (a revert to an attacker's image).",
				Command: "aws ec2 describe-snapshot-attribute --region {region} --snapshot-id {snapshot} --attribute createVolumePermission"},
		}, awsCloudTrailEvidence()),
		Eradication: awsEradicate(),
		Recovery:    awsRecover(),
	}
}

func awsImagePlaybook() Playbook {
	return Playbook{Provider: "AWS",
		Containment: cat(awsRevokeActor(), []Action{
			{Text: "Find the instance the new one replaced (terminated, or its Elastic IP or target-group slot taken) and snapshot its volumes if they still exist.",
				Command: `aws ec2 create-snapshot --region {region} --volume-id {replaced_volume} --description "IR {finding}"`},
			{Text: "Keep the AMI and its snapshot from being deregistered or deleted while investigating.",
				Command: "aws ec2 enable-image-deregistration-protection --region {region} --image-id {image}"},
			awsIsolateInstance(),
		}),
		Evidence: cat([]Action{awsSnapshotEvidence(),
			{Text: "Read the image's block device mapping and creation date.",
				Command: "aws ec2 describe-images --region {region} --image-ids {image}"},
		}, awsCloudTrailEvidence()),
		Eradication: awsEradicate(),
		Recovery:    awsRecover(),
	}
}

func azureDiskPlaybook() Playbook {
	return Playbook{Provider: "Azure",
		Containment: cat(azureRevokeActor(), azurePreserveDisk(), []Action{azureIsolateVM()}),
		Evidence: cat([]Action{
			{Text: "Read when the snapshot or restore point was taken: one from before the compromise is the revert point.",
				Command: "az snapshot show --ids {source} --query '{created:timeCreated,source:creationData.sourceResourceId}'"},
			{Text: "Read the new disk's creationData and the VM's current OS disk.",
				Command: "az disk show --ids {disk} --query creationData"},
		}, azureEvidence()),
		Eradication: azureEradicate(),
		Recovery:    azureRecover(),
	}
}
