package gencorpus

import (
	"math/rand/v2"
	"strconv"
	"time"
)

// CloudTrail is a deterministic source of CloudTrail records for one
// account and region.
type CloudTrail struct {
	rng     *rand.Rand
	Account string
	Region  string
	// Now is the time of the next record; it advances by a few
	// milliseconds per record, and records are jittered around it by up
	// to a minute, as CloudTrail files are not ordered.
	Now time.Time

	instances, volumes []string
	actors             []actor
}

// actor is one principal of the account.
type actor struct {
	identity  string // the userIdentity object
	userAgent string
	srcIP     string // "" for a random documentation address
	console   bool   // sessionCredentialFromConsole
}

// NewCloudTrail returns a generator of records for account and region,
// starting at start. Equal arguments give equal records.
func NewCloudTrail(seed uint64, account, region string, start time.Time) *CloudTrail {
	g := &CloudTrail{rng: rand.New(rand.NewPCG(seed, 0x636c6f7564747261)), Account: account, Region: region, Now: start.UTC()}
	for range 400 {
		g.instances = append(g.instances, "i-"+g.hex(17))
	}
	for range 900 {
		g.volumes = append(g.volumes, "vol-"+g.hex(17))
	}
	a := account
	user := func(name string) actor {
		return actor{identity: `{"type":"IAMUser","principalId":"AIDA` + g.upper(17) + `","arn":"arn:aws:iam::` + a + `:user/` + name +
			`","accountId":"` + a + `","accessKeyId":"AKIA` + g.upper(16) + `","userName":"` + name + `"}`,
			userAgent: "aws-cli/2.15.30 Python/3.11.8 Linux/6.1.0 exe/x86_64.amzn.2023 prompt/off command/ec2"}
	}
	role := func(roleName, path, session, invokedBy string) actor {
		inv := ""
		if invokedBy != "" {
			inv = `,"invokedBy":"` + invokedBy + `"`
		}
		return actor{identity: `{"type":"AssumedRole","principalId":"AROA` + g.upper(17) + `:` + session + `","arn":"arn:aws:sts::` + a +
			`:assumed-role/` + roleName + `/` + session + `","accountId":"` + a + `","accessKeyId":"ASIA` + g.upper(16) +
			`","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROA` + g.upper(17) + `","arn":"arn:aws:iam::` + a +
			`:role/` + path + roleName + `","accountId":"` + a + `","userName":"` + roleName + `"},"attributes":{"creationDate":"2026-11-02T08:00:00Z","mfaAuthenticated":"false"}}` +
			inv + `}`}
	}
	ops := role("OpsAdmin", "", "mallory.ops", "")
	ops.userAgent = "console.ec2.amazonaws.com"
	ops.console = true
	asg := role("AWSServiceRoleForAutoScaling", "aws-service-role/autoscaling.amazonaws.com/", "AutoScaling", "autoscaling.amazonaws.com")
	asg.userAgent, asg.srcIP = "autoscaling.amazonaws.com", "autoscaling.amazonaws.com"
	backup := role("AWSBackupDefaultServiceRole", "service-role/", "AWSBackup-AWSBackupDefaultServiceRole", "backup.amazonaws.com")
	backup.userAgent, backup.srcIP = "backup.amazonaws.com", "backup.amazonaws.com"
	deploy := role("ci-deployer", "", "gha-"+g.hex(8), "")
	deploy.userAgent = "aws-sdk-go-v2/1.30.3 os/linux lang/go#1.26 md/GOOS#linux md/GOARCH#amd64 api/ec2#1.170.0"
	lambda := role("inventory-lambda", "service-role/", "inventory", "")
	lambda.userAgent = "Boto3/1.34.0 md/Botocore#1.34.0 ua/2.0 os/linux#5.10 md/arch#x86_64 lang/python#3.12.1 exec-env/AWS_Lambda_python3.12"
	g.actors = []actor{user("alice"), user("bob"), ops, asg, backup, deploy, lambda, lambda, deploy, user("alice")}
	return g
}

const hexDigits = "0123456789abcdef"

func (g *CloudTrail) hex(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = hexDigits[g.rng.IntN(16)]
	}
	return string(b)
}

func (g *CloudTrail) upper(n int) string {
	const digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[g.rng.IntN(len(digits))]
	}
	return string(b)
}

func (g *CloudTrail) uuid() string {
	h := g.hex(32)
	return h[:8] + "-" + h[8:12] + "-4" + h[13:16] + "-a" + h[17:20] + "-" + h[20:]
}

func (g *CloudTrail) pick(list []string) string { return list[g.rng.IntN(len(list))] }

// call is one kind of API call and its share of the traffic.
type call struct {
	weight   int
	source   string
	name     string
	readOnly bool
	// params appends requestParameters, and responseElements after a
	// comma, to b (each a JSON value).
	params func(g *CloudTrail, b []byte) []byte
}

// calls is the traffic mix: mostly reads (Describe*, Get*, List*, AssumeRole),
// a share of S3 object traffic, and the EC2/EBS writes of telemetry.md §2.2
// at realistic rarity. Weights are per ten thousand.
var calls = []call{
	{2000, "ec2", "DescribeInstances", true, func(g *CloudTrail, b []byte) []byte {
		return append(b, `{"instancesSet":{},"filterSet":{"items":[{"name":"instance-state-name","valueSet":{"items":[{"value":"running"}]}}]}},null`...)
	}},
	{800, "ec2", "DescribeVolumes", true, func(g *CloudTrail, b []byte) []byte {
		return append(b, `{"volumeSet":{},"filterSet":{},"maxResults":500},null`...)
	}},
	{500, "ec2", "DescribeSnapshots", true, func(g *CloudTrail, b []byte) []byte {
		return append(b, `{"snapshotSet":{},"ownersSet":{"items":[{"owner":"self"}]},"sharedUsersSet":{},"filterSet":{}},null`...)
	}},
	{300, "ec2", "DescribeInstanceStatus", true, func(g *CloudTrail, b []byte) []byte {
		return append(b, `{"instancesSet":{"items":[{"instanceId":"`+g.pick(g.instances)+`"}]},"filterSet":{},"includeAllInstances":false},null`...)
	}},
	{1200, "s3", "GetObject", true, func(g *CloudTrail, b []byte) []byte {
		return append(b, `{"bucketName":"app-artifacts-`+g.Account+`","Host":"app-artifacts-`+g.Account+`.s3.`+g.Region+`.amazonaws.com","key":"builds/`+g.hex(12)+`/app.tar.gz"},null`...)
	}},
	{600, "s3", "PutObject", false, func(g *CloudTrail, b []byte) []byte {
		return append(b, `{"bucketName":"app-logs-`+g.Account+`","Host":"app-logs-`+g.Account+`.s3.`+g.Region+`.amazonaws.com","key":"logs/`+g.hex(16)+`.json","x-amz-server-side-encryption":"aws:kms"},{"x-amz-server-side-encryption":"aws:kms","x-amz-version-id":"`+g.upper(32)+`"}`...)
	}},
	{300, "s3", "ListBuckets", true, func(g *CloudTrail, b []byte) []byte {
		return append(b, `{"Host":"s3.`+g.Region+`.amazonaws.com"},null`...)
	}},
	{800, "sts", "AssumeRole", true, func(g *CloudTrail, b []byte) []byte {
		s := "session-" + g.hex(8)
		return append(b, `{"roleArn":"arn:aws:iam::`+g.Account+`:role/inventory-lambda","roleSessionName":"`+s+`","durationSeconds":3600},`+
			`{"credentials":{"accessKeyId":"ASIA`+g.upper(16)+`","sessionToken":"IQoJb3JpZ2luX2VjE`+g.upper(60)+`","expiration":"Nov 2, 2026, 10:00:00 AM"},`+
			`"assumedRoleUser":{"assumedRoleId":"AROA`+g.upper(17)+`:`+s+`","arn":"arn:aws:sts::`+g.Account+`:assumed-role/inventory-lambda/`+s+`"}}`...)
	}},
	{300, "sts", "GetCallerIdentity", true, func(g *CloudTrail, b []byte) []byte { return append(b, `null,null`...) }},
	{300, "iam", "GetRole", true, func(g *CloudTrail, b []byte) []byte {
		return append(b, `{"roleName":"OpsAdmin"},null`...)
	}},
	{200, "iam", "ListRoles", true, func(g *CloudTrail, b []byte) []byte { return append(b, `{"maxItems":100},null`...) }},
	{200, "iam", "ListUsers", true, func(g *CloudTrail, b []byte) []byte { return append(b, `null,null`...) }},
	{300, "ec2", "CreateTags", false, func(g *CloudTrail, b []byte) []byte {
		return append(b, `{"resourcesSet":{"items":[{"resourceId":"`+g.pick(g.instances)+`"}]},"tagSet":{"items":[{"key":"owner","value":"platform"}]}},{"requestId":"`+g.uuid()+`","_return":true}`...)
	}},
	{200, "ec2", "CreateSnapshot", false, func(g *CloudTrail, b []byte) []byte {
		vol := g.pick(g.volumes)
		return append(b, `{"volumeId":"`+vol+`","description":"nightly"},{"requestId":"`+g.uuid()+`","snapshotId":"snap-`+g.hex(17)+`","volumeId":"`+vol+
			`","status":"pending","startTime":`+g.millis()+`,"progress":"","ownerId":"`+g.Account+`","volumeSize":8,"encrypted":true,"description":"nightly"}`...)
	}},
	{150, "ec2", "StopInstances", false, func(g *CloudTrail, b []byte) []byte { return g.stateChange(b, "stopping", 64, "running", 16) }},
	{150, "ec2", "StartInstances", false, func(g *CloudTrail, b []byte) []byte { return g.stateChange(b, "pending", 0, "stopped", 80) }},
	{50, "ec2", "TerminateInstances", false, func(g *CloudTrail, b []byte) []byte {
		return g.stateChange(b, "shutting-down", 32, "running", 16)
	}},
	{100, "ec2", "CreateVolume", false, func(g *CloudTrail, b []byte) []byte {
		snap := ""
		if g.rng.IntN(3) == 0 {
			snap = `"snapshotId":"snap-` + g.hex(17) + `",`
		}
		return append(b, `{`+snap+`"size":8,"zone":"`+g.Region+`a","volumeType":"gp3","encrypted":true},{"requestId":"`+g.uuid()+`","volumeId":"vol-`+g.hex(17)+
			`","size":"8",`+snap+`"zone":"`+g.Region+`a","status":"creating","createTime":`+g.millis()+`,"volumeType":"gp3","iops":3000,"encrypted":true,"multiAttachEnabled":false,"throughput":125}`...)
	}},
	{100, "ec2", "AttachVolume", false, func(g *CloudTrail, b []byte) []byte {
		vol, inst, dev := g.pick(g.volumes), g.pick(g.instances), g.pick([]string{"/dev/sdf", "/dev/sdg", "/dev/xvda"})
		return append(b, `{"volumeId":"`+vol+`","instanceId":"`+inst+`","device":"`+dev+`","deleteOnTermination":false},{"requestId":"`+g.uuid()+
			`","volumeId":"`+vol+`","instanceId":"`+inst+`","device":"`+dev+`","status":"attaching","attachTime":`+g.millis()+`,"deleteOnTermination":false}`...)
	}},
	{100, "ec2", "DetachVolume", false, func(g *CloudTrail, b []byte) []byte {
		vol, inst := g.pick(g.volumes), g.pick(g.instances)
		return append(b, `{"volumeId":"`+vol+`","force":false},{"requestId":"`+g.uuid()+`","volumeId":"`+vol+`","instanceId":"`+inst+
			`","device":"/dev/sdf","status":"detaching","attachTime":`+g.millis()+`}`...)
	}},
	{50, "ec2", "DeleteVolume", false, func(g *CloudTrail, b []byte) []byte {
		return append(b, `{"volumeId":"`+g.pick(g.volumes)+`"},{"requestId":"`+g.uuid()+`","_return":true}`...)
	}},
	{50, "ec2", "DeleteSnapshot", false, func(g *CloudTrail, b []byte) []byte {
		return append(b, `{"snapshotId":"snap-`+g.hex(17)+`"},{"requestId":"`+g.uuid()+`","_return":true}`...)
	}},
	{200, "ec2", "RunInstances", false, (*CloudTrail).runInstances},
	{30, "ec2", "ModifyInstanceAttribute", false, func(g *CloudTrail, b []byte) []byte {
		return append(b, `{"instanceId":"`+g.pick(g.instances)+`","instanceType":{"value":"t3.large"}},{"requestId":"`+g.uuid()+`","_return":true}`...)
	}},
	{20, "ec2", "CreateImage", false, func(g *CloudTrail, b []byte) []byte {
		return append(b, `{"instanceId":"`+g.pick(g.instances)+`","name":"golden-`+g.hex(6)+`","noReboot":true,"blockDeviceMapping":{}},{"requestId":"`+g.uuid()+`","imageId":"ami-`+g.hex(17)+`"}`...)
	}},
	{5, "ec2", "CreateReplaceRootVolumeTask", false, func(g *CloudTrail, b []byte) []byte {
		inst := g.pick(g.instances)
		return append(b, `{"CreateReplaceRootVolumeTaskRequest":{"InstanceId":"`+inst+`","SnapshotId":"snap-`+g.hex(17)+`","DeleteReplacedRootVolume":false,"ClientToken":"`+g.uuid()+`"}},`+
			`{"CreateReplaceRootVolumeTaskResponse":{"xmlns":"http://ec2.amazonaws.com/doc/2016-11-15/","replaceRootVolumeTask":{"replaceRootVolumeTaskId":"replacevol-`+g.hex(17)+
			`","instanceId":"`+inst+`","taskState":"pending","startTime":"2026-11-02T10:00:00Z","tagSet":""},"requestId":"`+g.uuid()+`"}}`...)
	}},
	{30, "iam", "AttachRolePolicy", false, func(g *CloudTrail, b []byte) []byte {
		return append(b, `{"roleName":"inventory-lambda","policyArn":"arn:aws:iam::aws:policy/ReadOnlyAccess"},null`...)
	}},
	{20, "iam", "CreateUser", false, func(g *CloudTrail, b []byte) []byte {
		n := "svc-" + g.hex(6)
		return append(b, `{"userName":"`+n+`"},{"user":{"path":"/","userName":"`+n+`","userId":"AIDA`+g.upper(17)+`","arn":"arn:aws:iam::`+g.Account+`:user/`+n+`","createDate":"Nov 2, 2026, 10:00:00 AM"}}`...)
	}},
}

// totalWeight is the sum of the call weights.
var totalWeight = func() int {
	n := 0
	for _, c := range calls {
		n += c.weight
	}
	return n
}()

func (g *CloudTrail) millis() string {
	return strconv.FormatInt(g.Now.UnixMilli()+int64(g.rng.IntN(900)), 10)
}

func (g *CloudTrail) stateChange(b []byte, cur string, curCode int, prev string, prevCode int) []byte {
	inst := g.pick(g.instances)
	b = append(b, `{"instancesSet":{"items":[{"instanceId":"`+inst+`"}]},"force":false},{"requestId":"`+g.uuid()+
		`","instancesSet":{"items":[{"instanceId":"`+inst+`","currentState":{"code":`...)
	b = strconv.AppendInt(b, int64(curCode), 10)
	b = append(b, `,"name":"`+cur+`"},"previousState":{"code":`...)
	b = strconv.AppendInt(b, int64(prevCode), 10)
	return append(b, `,"name":"`+prev+`"}}]}}`...)
}

// runInstances is the largest common record: a launch with the response
// carrying the whole instance description.
func (g *CloudTrail) runInstances(b []byte) []byte {
	inst, ami, eni := "i-"+g.hex(17), "ami-"+g.hex(17), "eni-"+g.hex(17)
	ip := "10.0." + strconv.Itoa(g.rng.IntN(256)) + "." + strconv.Itoa(g.rng.IntN(256))
	b = append(b, `{"instancesSet":{"items":[{"imageId":"`+ami+`","minCount":1,"maxCount":1}]},"instanceType":"t3.medium","blockDeviceMapping":{},`+
		`"monitoring":{"enabled":false},"disableApiTermination":false,"disableApiStop":false,"clientToken":"fleet-`+g.uuid()+`",`+
		`"tagSpecificationSet":{"items":[{"resourceType":"instance","tags":[{"key":"aws:autoscaling:groupName","value":"web-asg"}]}]}},`...)
	b = append(b, `{"requestId":"`+g.uuid()+`","reservationId":"r-`+g.hex(17)+`","ownerId":"`+g.Account+`","groupSet":{},"instancesSet":{"items":[{"instanceId":"`+inst+
		`","imageId":"`+ami+`","bootMode":"uefi","currentInstanceBootMode":"uefi","instanceState":{"code":0,"name":"pending"},"privateDnsName":"ip-`+ip+`.ec2.internal",`+
		`"amiLaunchIndex":0,"productCodes":{},"instanceType":"t3.medium","launchTime":`+g.millis()+`,"placement":{"availabilityZone":"`+g.Region+`a","tenancy":"default"},`+
		`"monitoring":{"state":"disabled"},"subnetId":"subnet-`+g.hex(17)+`","vpcId":"vpc-`+g.hex(17)+`","privateIpAddress":"`+ip+`","stateReason":{"code":"pending","message":"pending"},`+
		`"architecture":"x86_64","rootDeviceType":"ebs","rootDeviceName":"/dev/xvda","blockDeviceMapping":{},"virtualizationType":"hvm","hypervisor":"xen",`+
		`"groupSet":{"items":[{"groupId":"sg-`+g.hex(17)+`","groupName":"web"}]},"networkInterfaceSet":{"items":[{"networkInterfaceId":"`+eni+`","subnetId":"subnet-`+g.hex(17)+
		`","vpcId":"vpc-`+g.hex(17)+`","ownerId":"`+g.Account+`","status":"in-use","macAddress":"0e:`+g.hex(2)+`:`+g.hex(2)+`:`+g.hex(2)+`:`+g.hex(2)+`:`+g.hex(2)+
		`","privateIpAddress":"`+ip+`","sourceDestCheck":true,"interfaceType":"interface","groupSet":{"items":[{"groupId":"sg-`+g.hex(17)+`","groupName":"web"}]},`+
		`"attachment":{"attachmentId":"eni-attach-`+g.hex(17)+`","deviceIndex":0,"networkCardIndex":0,"status":"attaching","attachTime":`+g.millis()+`,"deleteOnTermination":true},`+
		`"privateIpAddressesSet":{"item":[{"privateIpAddress":"`+ip+`","primary":true}]},"ipv6AddressesSet":{},"tagSet":{}}]},"ebsOptimized":false,"enaSupport":true,`+
		`"cpuOptions":{"coreCount":1,"threadsPerCore":2},"capacityReservationSpecification":{"capacityReservationPreference":"open"},"enclaveOptions":{"enabled":false},`+
		`"metadataOptions":{"state":"pending","httpTokens":"required","httpPutResponseHopLimit":2,"httpEndpoint":"enabled","httpProtocolIpv4":"enabled","httpProtocolIpv6":"disabled","instanceMetadataTags":"disabled"},`+
		`"maintenanceOptions":{"autoRecovery":"default"},"privateDnsNameOptions":{"hostnameType":"ip-name","enableResourceNameDnsARecord":false,"enableResourceNameDnsAAAARecord":false}}]}}`...)
	return b
}

// AppendRecord appends one CloudTrail record (a JSON object, no newline)
// to b.
func (g *CloudTrail) AppendRecord(b []byte) []byte {
	g.Now = g.Now.Add(time.Duration(1+g.rng.IntN(8)) * time.Millisecond)
	w := g.rng.IntN(totalWeight)
	c := calls[0]
	for _, k := range calls {
		if w < k.weight {
			c = k
			break
		}
		w -= k.weight
	}
	a := g.actors[g.rng.IntN(len(g.actors))]
	if c.source == "ec2" && !c.readOnly && g.rng.IntN(20) == 0 {
		a = g.actors[2] // the console operator makes a share of the EC2 changes
	}
	t := g.Now.Add(time.Duration(g.rng.IntN(60_000)-30_000) * time.Millisecond)
	errCode := ""
	if !c.readOnly {
		switch r := g.rng.IntN(1000); {
		case r < 25:
			errCode = "Client.UnauthorizedOperation"
			if c.source != "ec2" {
				errCode = "AccessDenied"
			}
		case r < 30 && c.source == "ec2":
			errCode = "Client.DryRunOperation"
		}
	}
	src := a.srcIP
	if src == "" {
		src = "198.51.100." + strconv.Itoa(1+g.rng.IntN(254))
	}
	host := c.source + "." + g.Region + ".amazonaws.com"
	if c.source == "iam" {
		host = "iam.amazonaws.com"
	}

	b = append(b, `{"eventVersion":"1.11","userIdentity":`...)
	b = append(b, a.identity...)
	b = append(b, `,"eventTime":"`...)
	b = t.UTC().AppendFormat(b, "2006-01-02T15:04:05Z")
	b = append(b, `","eventSource":"`+c.source+`.amazonaws.com","eventName":"`+c.name+`","awsRegion":"`+g.Region+
		`","sourceIPAddress":"`+src+`","userAgent":"`+a.userAgent+`",`...)
	if errCode != "" {
		b = append(b, `"errorCode":"`+errCode+`","errorMessage":"You are not authorized to perform this operation.",`...)
	}
	b = append(b, `"requestParameters":`...)
	mark := len(b)
	b = c.params(g, b)
	// params wrote "request,response": name the response, which is null
	// when the call failed.
	cut := topComma(b, mark)
	resp := append([]byte(nil), b[cut+1:]...)
	if errCode != "" {
		resp = append(resp[:0], "null"...)
	}
	b = append(append(b[:cut], `,"responseElements":`...), resp...)
	b = append(b, `,"requestID":"`+g.uuid()+`","eventID":"`+g.uuid()+`","readOnly":`+strconv.FormatBool(c.readOnly)+
		`,"eventType":"AwsApiCall","managementEvent":`+strconv.FormatBool(c.source != "s3" || c.name == "ListBuckets")+
		`,"recipientAccountId":"`+g.Account+`","eventCategory":"`...)
	if c.source == "s3" && c.name != "ListBuckets" {
		b = append(b, `Data","resources":[{"type":"AWS::S3::Object","ARN":"arn:aws:s3:::app-`+g.Account+`/obj"},{"accountId":"`+g.Account+`","type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::app-`+g.Account+`"}]`...)
	} else {
		b = append(b, `Management"`...)
	}
	if a.console {
		b = append(b, `,"sessionCredentialFromConsole":"true"`...)
	}
	b = append(b, `,"tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"`+host+`"}}`...)
	return b
}

// topComma returns the index of the first comma after mark that is not
// inside a string, object or array.
func topComma(b []byte, mark int) int {
	depth := 0
	inStr := false
	for i := mark; i < len(b); i++ {
		c := b[i]
		if inStr {
			if c == '\\' {
				i++
			} else if c == '"' {
				inStr = false
			}
			continue
		}
		switch c {
		case '"':
			inStr = true
		case '{', '[':
			depth++
		case '}', ']':
			depth--
		case ',':
			if depth == 0 {
				return i
			}
		}
	}
	panic("gencorpus: call parameters without a response")
}
