package emulate

import (
	"strings"
	"time"
)

// The AWS accounts and regions of the emulated estate (the account ids
// are the documentation examples).
const (
	acctMain   = "111122223333"
	acctOther  = "444455556666"
	regionMain = "us-east-1"
	orgTrail   = "" // set to an o-… id to emulate an organization trail's key layout
)

// awsCtx is what a request/response renderer knows about its call.
type awsCtx struct {
	g       idSource
	c       *Call
	t       time.Time
	account string
	region  string
	reqID   string
}

// id resolves a symbol to an id with the prefix ("" stays "").
func (x *awsCtx) id(prefix, sym string) string {
	if sym == "" {
		return ""
	}
	return x.g.ec2(prefix, sym)
}

func (x *awsCtx) ms() int64    { return x.t.UnixMilli() }
func (x *awsCtx) zone() string { return x.region + "a" }

// awsOp renders one API's request parameters and response elements.
type awsOp struct {
	service  string // ec2, rds, backup
	readOnly bool
	render   func(x *awsCtx) (req, resp any)
}

// ec2 legacy-family helpers: lists as {"items":[…]}, empty lists as {}.
func items(v ...any) obj { return obj{{"items", arr(v)}} }

func instanceState(x *awsCtx, cur int, curName string, prev int, prevName string) obj {
	return obj{{"requestId", x.reqID}, {"instancesSet", items(obj{
		{"instanceId", x.id("i", x.c.Instance)},
		{"currentState", obj{{"code", cur}, {"name", curName}}},
		{"previousState", obj{{"code", prev}, {"name", prevName}}},
	})}}
}

func returnTrue(x *awsCtx) obj { return obj{{"requestId", x.reqID}, {"_return", true}} }

func withDryRun(x *awsCtx, o obj) obj {
	if strings.HasSuffix(x.c.Error, "DryRunOperation") {
		return o.set("dryRun", true)
	}
	return o
}

var awsOps map[string]awsOp

func init() {
	awsOps = map[string]awsOp{
		"StopInstances": {"ec2", false, func(x *awsCtx) (any, any) {
			return withDryRun(x, obj{{"instancesSet", items(obj{{"instanceId", x.id("i", x.c.Instance)}})}, {"force", false}}),
				instanceState(x, 64, "stopping", 16, "running")
		}},
		"StartInstances": {"ec2", false, func(x *awsCtx) (any, any) {
			return withDryRun(x, obj{{"instancesSet", items(obj{{"instanceId", x.id("i", x.c.Instance)}})}}),
				instanceState(x, 0, "pending", 80, "stopped")
		}},
		"TerminateInstances": {"ec2", false, func(x *awsCtx) (any, any) {
			return obj{{"instancesSet", items(obj{{"instanceId", x.id("i", x.c.Instance)}})}},
				instanceState(x, 32, "shutting-down", 16, "running")
		}},
		"RunInstances": {"ec2", false, runInstances},
		"DescribeImages": {"ec2", true, func(x *awsCtx) (any, any) {
			return obj{{"imagesSet", items(obj{{"imageId", x.id("ami", x.c.Image)}})}}, nil
		}},
		"CreateVolume": {"ec2", false, func(x *awsCtx) (any, any) {
			size := x.c.Size
			if size == 0 {
				size = 8
			}
			req := obj{}
			if x.c.Snapshot != "" {
				req = req.set("snapshotId", x.id("snap", x.c.Snapshot))
			} else {
				req = req.set("size", size)
			}
			req = append(req, member{"zone", x.zone()}, member{"volumeType", "gp3"}, member{"encrypted", false})
			req = withDryRun(x, req)
			return req, obj{
				{"requestId", x.reqID},
				{"volumeId", x.id("vol", x.c.Volume)},
				{"size", itoa(size)},
				{"snapshotId", x.id("snap", x.c.Snapshot)},
				{"zone", x.zone()},
				{"status", "creating"},
				{"createTime", x.ms()},
				{"volumeType", "gp3"},
				{"iops", 3000},
				{"encrypted", false},
				{"multiAttachEnabled", false},
				{"throughput", 125},
			}
		}},
		"AttachVolume": {"ec2", false, func(x *awsCtx) (any, any) {
			return withDryRun(x, obj{{"volumeId", x.id("vol", x.c.Volume)}, {"instanceId", x.id("i", x.c.Instance)}, {"device", x.c.Device}, {"deleteOnTermination", false}}),
				obj{{"requestId", x.reqID}, {"volumeId", x.id("vol", x.c.Volume)}, {"instanceId", x.id("i", x.c.Instance)},
					{"device", x.c.Device}, {"status", "attaching"}, {"attachTime", x.ms()}, {"deleteOnTermination", false}}
		}},
		"DetachVolume": {"ec2", false, func(x *awsCtx) (any, any) {
			return obj{{"volumeId", x.id("vol", x.c.Volume)}, {"force", false}},
				obj{{"requestId", x.reqID}, {"volumeId", x.id("vol", x.c.Volume)}, {"instanceId", x.id("i", x.c.Instance)},
					{"device", x.c.Device}, {"status", "detaching"}, {"attachTime", x.t.Add(-41 * 24 * time.Hour).UnixMilli()}, {"deleteOnTermination", true}}
		}},
		"DeleteVolume": {"ec2", false, func(x *awsCtx) (any, any) {
			return obj{{"volumeId", x.id("vol", x.c.Volume)}}, returnTrue(x)
		}},
		"CreateSnapshot": {"ec2", false, func(x *awsCtx) (any, any) {
			desc := "pre-change backup"
			if x.c.Actor == "backup" {
				desc = "This snapshot is created by the AWS Backup service."
			} else if x.c.Actor == "dlm" {
				desc = "Created for policy: policy-0" + x.g.hex(16, "dlm-policy") + " schedule: Default Schedule"
			}
			return obj{{"volumeId", x.id("vol", x.c.Volume)}, {"description", desc}},
				obj{{"requestId", x.reqID}, {"snapshotId", x.id("snap", x.c.Snapshot)}, {"volumeId", x.id("vol", x.c.Volume)},
					{"status", "pending"}, {"startTime", x.ms()}, {"progress", ""}, {"ownerId", x.account}, {"volumeSize", 8},
					{"description", desc}, {"encrypted", false}}
		}},
		"CreateSnapshots": {"ec2", false, func(x *awsCtx) (any, any) {
			desc := "Created for policy: policy-0" + x.g.hex(16, "dlm-policy") + " schedule: Daily"
			return obj{{"CreateSnapshotsRequest", obj{
					{"InstanceSpecification", obj{{"InstanceId", x.id("i", x.c.Instance)}, {"ExcludeBootVolume", false}}},
					{"Description", desc},
					{"CopyTagsFromSource", "volume"},
					{"TagSpecification", obj{{"ResourceType", "snapshot"}, {"Tag", arr{
						obj{{"Value", "Daily"}, {"tag", 1}, {"Key", "dlm:managed-schedule"}},
					}}, {"tag", 1}}},
				}}}, obj{{"CreateSnapshotsResponse", obj{
					{"xmlns", "http://ec2.amazonaws.com/doc/2016-11-15/"},
					{"requestId", x.reqID},
					{"snapshotSet", obj{{"item", arr{obj{
						{"snapshotId", x.id("snap", x.c.Snapshot)},
						{"volumeId", x.id("vol", x.c.Volume)},
						{"startTime", x.t.Format("2006-01-02T15:04:05.000Z")},
						{"progress", ""},
						{"ownerId", x.account},
						{"volumeSize", 8},
						{"description", desc},
						{"state", "pending"},
						{"encrypted", false},
					}}}}},
				}}}
		}},
		"CopySnapshot": {"ec2", false, func(x *awsCtx) (any, any) {
			return obj{{"sourceRegion", x.c.SrcRgn}, {"sourceSnapshotId", x.id("snap", x.c.Snapshot)},
					{"description", "[Copied " + x.id("snap", x.c.Snapshot) + " from " + x.c.SrcRgn + "] migration wave 3"}, {"encrypted", false}},
				obj{{"requestId", x.reqID}, {"snapshotId", x.id("snap", x.c.Copy)}}
		}},
		"CopyImage": {"ec2", false, func(x *awsCtx) (any, any) {
			return obj{{"sourceRegion", x.c.SrcRgn}, {"sourceImageId", x.id("ami", x.c.Image)}, {"name", "app-server-migrated-" + x.t.Format("20060102")}, {"encrypted", false}},
				obj{{"requestId", x.reqID}, {"imageId", x.id("ami", x.c.Copy)}}
		}},
		"DeleteSnapshot": {"ec2", false, func(x *awsCtx) (any, any) {
			return obj{{"snapshotId", x.id("snap", x.c.Snapshot)}}, returnTrue(x)
		}},
		"CreateImage": {"ec2", false, func(x *awsCtx) (any, any) {
			return obj{{"instanceId", x.id("i", x.c.Instance)}, {"name", "golden-" + x.t.Format("2006-01-02T15-04-05Z")},
					{"noReboot", false}, {"blockDeviceMapping", obj{}}},
				obj{{"requestId", x.reqID}, {"imageId", x.id("ami", x.c.Image)}}
		}},
		"RegisterImage": {"ec2", false, func(x *awsCtx) (any, any) {
			dev := x.c.Device
			if dev == "" {
				dev = "/dev/xvda"
			}
			return obj{
					{"name", "restore-" + x.t.Format("20060102-1504")},
					{"architecture", "x86_64"},
					{"rootDeviceName", dev},
					{"blockDeviceMapping", items(obj{{"deviceName", dev}, {"ebs", obj{
						{"snapshotId", x.id("snap", x.c.Snapshot)}, {"volumeSize", 8}, {"deleteOnTermination", true}, {"volumeType", "gp3"}}}})},
					{"virtualizationType", "hvm"},
					{"enaSupport", true},
					{"bootMode", "uefi-preferred"},
					{"imdsSupport", "v2.0"},
				},
				obj{{"requestId", x.reqID}, {"imageId", x.id("ami", x.c.Image)}}
		}},
		"CreateTags": {"ec2", false, func(x *awsCtx) (any, any) {
			return obj{{"resourcesSet", items(obj{{"resourceId", x.id("i", x.c.Instance)}})},
				{"tagSet", items(obj{{"key", "Name"}, {"value", "packer-builder"}})}}, returnTrue(x)
		}},
		"CreateReplaceRootVolumeTask": {"ec2", false, func(x *awsCtx) (any, any) {
			r := obj{{"InstanceId", x.id("i", x.c.Instance)}}
			if x.c.Snapshot != "" {
				r = r.set("SnapshotId", x.id("snap", x.c.Snapshot))
			}
			r = append(r, member{"DeleteReplacedRootVolume", false}, member{"ClientToken", x.g.guid("client-token", x.reqID)})
			return obj{{"CreateReplaceRootVolumeTaskRequest", r}},
				obj{{"CreateReplaceRootVolumeTaskResponse", obj{
					{"xmlns", "http://ec2.amazonaws.com/doc/2016-11-15/"},
					{"replaceRootVolumeTask", obj{
						{"replaceRootVolumeTaskId", x.id("replacevol", x.c.Instance)},
						{"instanceId", x.id("i", x.c.Instance)},
						{"taskState", "pending"},
						{"startTime", x.t.Format("2006-01-02T15:04:05Z")},
						{"tagSet", ""},
						{"deleteReplacedRootVolume", false},
					}},
					{"requestId", x.reqID},
				}}}
		}},
		"StartRestoreJob": {"backup", false, func(x *awsCtx) (any, any) {
			return obj{
					{"recoveryPointArn", "arn:aws:ec2:" + x.region + "::snapshot/" + x.id("snap", x.c.Snapshot)},
					{"metadata", obj{{"availabilityZone", x.zone()}, {"encrypted", "false"}, {"volumeSize", "8"}, {"volumeType", "gp3"}}},
					{"iamRoleArn", "arn:aws:iam::" + x.account + ":role/service-role/AWSBackupDefaultServiceRole"},
					{"idempotencyToken", x.g.guid("idem", x.reqID)},
					{"resourceType", "EBS"},
				},
				obj{{"restoreJobId", strings.ToUpper(x.g.guid("restore-job", x.c.Snapshot))}}
		}},
		"RestoreDBInstanceFromDBSnapshot": {"rds", false, func(x *awsCtx) (any, any) {
			return obj{
				{"dBInstanceIdentifier", x.c.DB},
				{"dBSnapshotIdentifier", x.c.DBSnapshot},
				{"dBInstanceClass", "db.t3.medium"},
				{"dBSubnetGroupName", "prod-db-subnets"},
				{"multiAZ", false},
				{"publiclyAccessible", false},
				{"autoMinorVersionUpgrade", true},
				{"vpcSecurityGroupIds", []string{"sg-0" + x.g.hex(16, "db-sg")}},
				{"deletionProtection", false},
			}, dbInstance(x, x.c.DB)
		}},
		"RestoreDBInstanceToPointInTime": {"rds", false, func(x *awsCtx) (any, any) {
			return obj{
				{"sourceDBInstanceIdentifier", x.c.SourceDB},
				{"targetDBInstanceIdentifier", x.c.DB},
				{"restoreTime", x.t.Add(-26 * time.Hour).Truncate(time.Hour).Format("2006-01-02T15:04:05Z")},
				{"dBInstanceClass", "db.t3.medium"},
				{"dBSubnetGroupName", "prod-db-subnets"},
				{"publiclyAccessible", false},
				{"vpcSecurityGroupIds", []string{"sg-0" + x.g.hex(16, "db-sg")}},
				{"deletionProtection", false},
			}, dbInstance(x, x.c.DB)
		}},
		"RestoreDBClusterFromSnapshot": {"rds", false, func(x *awsCtx) (any, any) {
			return obj{
				{"dBClusterIdentifier", x.c.Cluster},
				{"snapshotIdentifier", x.c.DBSnapshot},
				{"engine", "aurora-mysql"},
				{"engineVersion", "8.0.mysql_aurora.3.05.2"},
				{"dBSubnetGroupName", "prod-db-subnets"},
				{"vpcSecurityGroupIds", []string{"sg-0" + x.g.hex(16, "db-sg")}},
				{"deletionProtection", false},
			}, dbCluster(x, x.c.Cluster)
		}},
		"RestoreDBClusterToPointInTime": {"rds", false, func(x *awsCtx) (any, any) {
			return obj{
				{"dBClusterIdentifier", x.c.Cluster},
				{"sourceDBClusterIdentifier", x.c.SrcCluster},
				{"restoreType", "full-copy"},
				{"restoreToTime", x.t.Add(-3 * time.Hour).Truncate(time.Minute).Format("2006-01-02T15:04:05Z")},
				{"dBSubnetGroupName", "prod-db-subnets"},
				{"vpcSecurityGroupIds", []string{"sg-0" + x.g.hex(16, "db-sg")}},
			}, dbCluster(x, x.c.Cluster)
		}},
	}
}

func runInstances(x *awsCtx) (any, any) {
	inst, img := x.id("i", x.c.Instance), x.id("ami", x.c.Image)
	subnet, vpc, sg := "subnet-0"+x.g.hex(16, "subnet"), "vpc-0"+x.g.hex(16, "vpc"), "sg-0"+x.g.hex(16, "sg")
	ip := "10.0." + itoa(x.g.between(1, 30, "ip3", inst)) + "." + itoa(x.g.between(4, 250, "ip4", inst))
	dns := "ip-" + strings.ReplaceAll(ip, ".", "-") + ".ec2.internal"
	token := x.g.guid("client-token", inst)
	req := obj{
		{"instancesSet", items(obj{{"imageId", img}, {"minCount", 1}, {"maxCount", 1}})},
		{"instanceType", "t3.medium"},
		{"blockDeviceMapping", obj{}},
		{"monitoring", obj{{"enabled", false}}},
		{"disableApiTermination", false},
		{"disableApiStop", false},
		{"clientToken", token},
		{"networkInterfaceSet", items(obj{{"deviceIndex", 0}, {"subnetId", subnet}, {"groupSet", items(obj{{"groupId", sg}})}})},
		{"metadataOptions", obj{{"httpTokens", "required"}, {"httpPutResponseHopLimit", 2}, {"httpEndpoint", "enabled"}}},
	}
	eni := "eni-0" + x.g.hex(16, "eni", inst)
	resp := obj{
		{"requestId", x.reqID},
		{"reservationId", "r-0" + x.g.hex(16, "reservation", inst)},
		{"ownerId", x.account},
		{"groupSet", obj{}},
		{"instancesSet", items(obj{
			{"instanceId", inst},
			{"imageId", img},
			{"currentState", obj{{"code", 0}, {"name", "pending"}}},
			{"privateDnsName", dns},
			{"amiLaunchIndex", 0},
			{"productCodes", obj{}},
			{"instanceType", "t3.medium"},
			{"launchTime", x.ms()},
			{"placement", obj{{"availabilityZone", x.zone()}, {"tenancy", "default"}}},
			{"monitoring", obj{{"state", "disabled"}}},
			{"subnetId", subnet},
			{"vpcId", vpc},
			{"privateIpAddress", ip},
			{"stateReason", obj{{"code", "pending"}, {"message", "pending"}}},
			{"architecture", "x86_64"},
			{"rootDeviceType", "ebs"},
			{"rootDeviceName", "/dev/xvda"},
			{"blockDeviceMapping", obj{}},
			{"virtualizationType", "hvm"},
			{"clientToken", token},
			{"groupSet", items(obj{{"groupId", sg}, {"groupName", "app-server"}})},
			{"sourceDestCheck", true},
			{"hypervisor", "xen"},
			{"networkInterfaceSet", items(obj{
				{"networkInterfaceId", eni},
				{"subnetId", subnet},
				{"vpcId", vpc},
				{"ownerId", x.account},
				{"status", "in-use"},
				{"macAddress", "0e:" + x.g.hex(2, "m1", inst) + ":" + x.g.hex(2, "m2", inst) + ":" + x.g.hex(2, "m3", inst) + ":" + x.g.hex(2, "m4", inst) + ":" + x.g.hex(2, "m5", inst)},
				{"privateIpAddress", ip},
				{"privateDnsName", dns},
				{"sourceDestCheck", true},
				{"interfaceType", "interface"},
				{"groupSet", items(obj{{"groupId", sg}, {"groupName", "app-server"}})},
				{"attachment", obj{{"attachmentId", "eni-attach-0" + x.g.hex(16, "attach", inst)}, {"deviceIndex", 0}, {"networkCardIndex", 0},
					{"status", "attaching"}, {"attachTime", x.ms()}, {"deleteOnTermination", true}}},
				{"privateIpAddressesSet", obj{{"item", arr{obj{{"privateIpAddress", ip}, {"privateDnsName", dns}, {"primary", true}}}}}},
				{"ipv6AddressesSet", obj{}},
				{"tagSet", obj{}},
			})},
			{"ebsOptimized", false},
			{"enaSupport", true},
			{"cpuOptions", obj{{"coreCount", 1}, {"threadsPerCore", 2}}},
			{"capacityReservationSpecification", obj{{"capacityReservationPreference", "open"}}},
			{"enclaveOptions", obj{{"enabled", false}}},
			{"metadataOptions", obj{{"state", "pending"}, {"httpTokens", "required"}, {"httpPutResponseHopLimit", 2},
				{"httpEndpoint", "enabled"}, {"httpProtocolIpv4", "enabled"}, {"httpProtocolIpv6", "disabled"}, {"instanceMetadataTags", "disabled"}}},
			{"maintenanceOptions", obj{{"autoRecovery", "default"}}},
			{"privateDnsNameOptions", obj{{"hostnameType", "ip-name"}, {"enableResourceNameDnsARecord", false}, {"enableResourceNameDnsAAAARecord", false}}},
		})},
	}
	return req, resp
}

func dbInstance(x *awsCtx, id string) obj {
	return obj{
		{"dBInstanceIdentifier", id},
		{"dBInstanceClass", "db.t3.medium"},
		{"engine", "postgres"},
		{"dBInstanceStatus", "creating"},
		{"masterUsername", "dbadmin"},
		{"allocatedStorage", 100},
		{"preferredBackupWindow", "03:00-03:30"},
		{"backupRetentionPeriod", 7},
		{"dBSecurityGroups", arr{}},
		{"vpcSecurityGroups", arr{obj{{"vpcSecurityGroupId", "sg-0" + x.g.hex(16, "db-sg")}, {"status", "active"}}}},
		{"dBParameterGroups", arr{obj{{"dBParameterGroupName", "default.postgres16"}, {"parameterApplyStatus", "in-sync"}}}},
		{"dBSubnetGroup", obj{{"dBSubnetGroupName", "prod-db-subnets"}, {"dBSubnetGroupDescription", "prod database subnets"},
			{"vpcId", "vpc-0" + x.g.hex(16, "vpc")}, {"subnetGroupStatus", "Complete"}}},
		{"preferredMaintenanceWindow", "sun:05:00-sun:05:30"},
		{"pendingModifiedValues", obj{}},
		{"multiAZ", false},
		{"engineVersion", "16.3"},
		{"autoMinorVersionUpgrade", true},
		{"readReplicaDBInstanceIdentifiers", arr{}},
		{"licenseModel", "postgresql-license"},
		{"optionGroupMemberships", arr{obj{{"optionGroupName", "default:postgres-16"}, {"status", "pending-apply"}}}},
		{"publiclyAccessible", false},
		{"storageType", "gp3"},
		{"dbInstancePort", 0},
		{"storageEncrypted", true},
		{"kmsKeyId", "arn:aws:kms:" + x.region + ":" + x.account + ":key/" + x.g.guid("kms")},
		{"dbiResourceId", "db-" + x.g.upper(26, "dbi", id)},
		{"cACertificateIdentifier", "rds-ca-rsa2048-g1"},
		{"domainMemberships", arr{}},
		{"copyTagsToSnapshot", true},
		{"monitoringInterval", 0},
		{"dBInstanceArn", "arn:aws:rds:" + x.region + ":" + x.account + ":db:" + id},
		{"iAMDatabaseAuthenticationEnabled", false},
		{"performanceInsightsEnabled", false},
		{"deletionProtection", false},
		{"associatedRoles", arr{}},
		{"tagList", arr{}},
		{"customerOwnedIpEnabled", false},
		{"backupTarget", "region"},
		{"networkType", "IPV4"},
		{"storageThroughput", 125},
		{"dedicatedLogVolume", false},
		{"engineLifecycleSupport", "open-source-rds-extended-support"},
	}
}

func dbCluster(x *awsCtx, id string) obj {
	return obj{
		{"allocatedStorage", 1},
		{"availabilityZones", []string{x.region + "a", x.region + "b", x.region + "c"}},
		{"backupRetentionPeriod", 7},
		{"dBClusterIdentifier", id},
		{"dBClusterParameterGroup", "default.aurora-mysql8.0"},
		{"dBSubnetGroup", "prod-db-subnets"},
		{"status", "creating"},
		{"endpoint", id + ".cluster-c" + x.g.hex(11, "endpoint") + "." + x.region + ".rds.amazonaws.com"},
		{"readerEndpoint", id + ".cluster-ro-c" + x.g.hex(11, "endpoint") + "." + x.region + ".rds.amazonaws.com"},
		{"multiAZ", false},
		{"engine", "aurora-mysql"},
		{"engineVersion", "8.0.mysql_aurora.3.05.2"},
		{"port", 3306},
		{"masterUsername", "admin"},
		{"preferredBackupWindow", "04:00-04:30"},
		{"preferredMaintenanceWindow", "mon:06:00-mon:06:30"},
		{"readReplicaIdentifiers", arr{}},
		{"dBClusterMembers", arr{}},
		{"vpcSecurityGroups", arr{obj{{"vpcSecurityGroupId", "sg-0" + x.g.hex(16, "db-sg")}, {"status", "active"}}}},
		{"hostedZoneId", "Z2R2ITUGPM61AM"},
		{"storageEncrypted", true},
		{"kmsKeyId", "arn:aws:kms:" + x.region + ":" + x.account + ":key/" + x.g.guid("kms")},
		{"dbClusterResourceId", "cluster-" + x.g.upper(26, "cluster", id)},
		{"dBClusterArn", "arn:aws:rds:" + x.region + ":" + x.account + ":cluster:" + id},
		{"associatedRoles", arr{}},
		{"iAMDatabaseAuthenticationEnabled", false},
		{"clusterCreateTime", x.ms()},
		{"engineMode", "provisioned"},
		{"deletionProtection", false},
		{"httpEndpointEnabled", false},
		{"copyTagsToSnapshot", true},
		{"crossAccountClone", false},
		{"domainMemberships", arr{}},
		{"tagList", arr{}},
		{"autoMinorVersionUpgrade", true},
		{"networkType", "IPV4"},
	}
}

// kebab turns an API name into its CLI command (StopInstances →
// stop-instances).
func kebab(op string) string {
	var b strings.Builder
	for i, r := range op {
		if r >= 'A' && r <= 'Z' {
			if i > 0 && !(i+1 < len(op) && op[i-1] >= 'A' && op[i-1] <= 'Z' && op[i+1] >= 'A' && op[i+1] <= 'Z') {
				b.WriteByte('-')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// errorMessages are the messages EC2 writes with the error codes the
// scenarios use.
var errorMessages = map[string]string{
	"Client.DryRunOperation":            "Request would have succeeded, but DryRun flag is set.",
	"Client.InvalidVolume.ZoneMismatch": "The volume '%v' is not in the same availability zone as instance '%i'",
	"Client.IncorrectState":             "vol '%v' is not 'available'.",
}

// awsRecord renders one call as a CloudTrail record.
func awsRecord(g idSource, c *Call, t time.Time, account, region string) (rec obj, op awsOp) {
	op = awsOps[c.Op]
	a := awsActors[c.Actor]
	reqID := g.guid("request", c.Op, t.String(), c.Instance, c.Volume, c.Snapshot, c.Image, c.DB, c.Cluster)
	x := &awsCtx{g: g, c: c, t: t, account: account, region: region, reqID: reqID}
	req, resp := op.render(x)
	created := t.Add(-time.Duration(g.between(2, 50, "session-age", c.Actor)) * time.Minute).Format("2006-01-02T15:04:05Z")
	ua := a.UserAgent
	if ua == uaCLI {
		ua += op.service + "." + kebab(c.Op)
	}
	rec = obj{
		{"eventVersion", "1.11"},
		{"userIdentity", a.userIdentity(g, account, created)},
		{"eventTime", t.UTC().Format("2006-01-02T15:04:05Z")},
		{"eventSource", op.service + ".amazonaws.com"},
		{"eventName", c.Op},
		{"awsRegion", region},
		{"sourceIPAddress", a.IP},
		{"userAgent", ua},
	}
	if c.Error != "" {
		msg := errorMessages[c.Error]
		msg = strings.ReplaceAll(msg, "%v", x.id("vol", c.Volume))
		msg = strings.ReplaceAll(msg, "%i", x.id("i", c.Instance))
		rec = append(rec, member{"errorCode", c.Error}, member{"errorMessage", msg})
		resp = nil
	}
	rec = append(rec,
		member{"requestParameters", req},
		member{"responseElements", resp},
		member{"requestID", reqID},
		member{"eventID", g.guid("event", reqID)},
		member{"readOnly", op.readOnly},
		member{"eventType", "AwsApiCall"},
		member{"managementEvent", true},
		member{"recipientAccountId", account},
		member{"eventCategory", "Management"},
	)
	if a.InvokedBy == "" && a.IP != "AWS Internal" {
		rec = rec.set("tlsDetails", obj{
			{"tlsVersion", "TLSv1.3"},
			{"cipherSuite", "TLS_AES_128_GCM_SHA256"},
			{"clientProvidedHostHeader", op.service + "." + region + ".amazonaws.com"},
		})
	}
	if a.Console {
		rec = rec.set("sessionCredentialFromConsole", "true")
	}
	return rec, op
}
