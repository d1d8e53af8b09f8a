package emulate

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"time"

	"github.com/revertwatch/revertwatch/event"
)

// Background noise.
//
// The mix below is what a quiet production account's management events
// look like: dominated by STS and KMS calls of services and Lambda
// functions, the SSM agent's heartbeat, console and SDK describes, and a
// few writes (log streams, tags, Auto Scaling terminations, DLM
// snapshots). None of it completes a revert sequence: no instance is both
// stopped and started, no volume is created, no image registered.
//
//	operation                  service  read  weight  actor
//	AssumeRole                 sts      yes   18      AWS service (ec2, lambda)
//	Decrypt                    kms      yes   14      Lambda execution role
//	DescribeInstances          ec2      yes   14      console user
//	UpdateInstanceInformation  ssm      no    10      SSM agent (instance role)
//	DescribeVolumes            ec2      yes    6      console user
//	CreateLogStream            logs     no     6      Lambda execution role
//	DescribeInstanceStatus     ec2      yes    5      console user
//	GetCallerIdentity          sts      yes    5      Terraform in CI
//	DescribeSecurityGroups     ec2      yes    5      Terraform in CI
//	DescribeSnapshots          ec2      yes    4      DLM
//	CreateTags                 ec2      no     3      Terraform in CI
//	TerminateInstances         ec2      no     2      Auto Scaling
//	CreateSnapshot             ec2      no     2      DLM
//
// Azure noise (the Activity Log has no reads): deployments, VM extension
// and NSG writes by automation and people, storage key listings, and
// snapshot writes by the Backup service, each with its Start, Accept and
// Success records.

// Holes of the CloudTrail noise templates.
const (
	hTime     = 'T' // eventTime
	hCreated  = 'C' // session creation time
	hEventID  = 'E'
	hReqID    = 'R' // requestID and responseElements.requestId
	hInstance = 'I'
	hVolume   = 'V'
	hSnapshot = 'S'
	hKey      = 'A' // 16 characters of a temporary access key id
	hToken    = 'Z' // a session token
	hHex      = 'X' // 32 random hex digits
	hMillis   = 'M' // epoch milliseconds of the event time
	hSession  = 'P' // a role session's number (CardinalityHigh)
)

type noiseOp struct {
	name     string
	service  string
	readOnly bool
	weight   int
	actor    string
	// render returns the request and response with holes, and extra
	// top-level members.
	render func(account, region string) (req, resp any, extra obj)
}

func hs(c byte) string { return holeString(c) }

var noiseOps = []noiseOp{
	{"AssumeRole", "sts", true, 18, "aws-service-ec2", func(account, region string) (any, any, obj) {
		role := "arn:aws:iam::" + account + ":role/app-instance-role"
		return obj{{"roleArn", role}, {"roleSessionName", hs(hInstance)}},
			obj{
				{"credentials", obj{{"accessKeyId", "ASIA" + hs(hKey)}, {"sessionToken", hs(hToken)}, {"expiration", hs('x')}}},
				{"assumedRoleUser", obj{{"assumedRoleId", "AROA" + "Q3JXPL2ZKTN6WBYDM" + ":" + hs(hInstance)}, {"arn", "arn:aws:sts::" + account + ":assumed-role/app-instance-role/" + hs(hInstance)}}},
			},
			obj{{"resources", arr{obj{{"accountId", account}, {"type", "AWS::IAM::Role"}, {"ARN", role}}}}, {"sharedEventID", hs(hHex)}}
	}},
	{"Decrypt", "kms", true, 14, "lambda-role", func(account, region string) (any, any, obj) {
		key := "arn:aws:kms:" + region + ":" + account + ":key/5c1e7a2b-9d3f-4e6a-8b0c-1d2e3f4a5b6c"
		return obj{{"encryptionContext", obj{{"aws:lambda:FunctionArn", "arn:aws:lambda:" + region + ":" + account + ":function:orders-api"}}},
				{"encryptionAlgorithm", "SYMMETRIC_DEFAULT"}}, nil,
			obj{{"resources", arr{obj{{"accountId", account}, {"type", "AWS::KMS::Key"}, {"ARN", key}}}}}
	}},
	{"DescribeInstances", "ec2", true, 14, "browser-user", func(account, region string) (any, any, obj) {
		return obj{{"maxResults", 1000}, {"instancesSet", obj{}}, {"filterSet", obj{}}}, nil, nil
	}},
	{"UpdateInstanceInformation", "ssm", false, 10, "ssm-agent", func(account, region string) (any, any, obj) {
		return obj{{"instanceId", hs(hInstance)}, {"agentVersion", "3.3.1142.0"}, {"agentStatus", "Active"}, {"platformType", "Linux"},
			{"platformName", "Amazon Linux"}, {"platformVersion", "2023"}, {"iPAddress", "10.0.12.34"}, {"computerName", "ip-10-0-12-34.ec2.internal"},
			{"agentName", "amazon-ssm-agent"}, {"availabilityZone", region + "a"}, {"sSMConnectionChannel", "ssmmessages"}}, nil, nil
	}},
	{"DescribeVolumes", "ec2", true, 6, "browser-user", func(account, region string) (any, any, obj) {
		return obj{{"volumeSet", obj{}}, {"filterSet", items(obj{{"name", "attachment.instance-id"}, {"valueSet", items(obj{{"value", hs(hInstance)}})}})}}, nil, nil
	}},
	{"CreateLogStream", "logs", false, 6, "lambda-role", func(account, region string) (any, any, obj) {
		return obj{{"logGroupName", "/aws/lambda/orders-api"}, {"logStreamName", "2026/11/02/[$LATEST]" + hs(hHex)}}, nil, nil
	}},
	{"DescribeInstanceStatus", "ec2", true, 5, "browser-user", func(account, region string) (any, any, obj) {
		return obj{{"instancesSet", items(obj{{"instanceId", hs(hInstance)}})}, {"filterSet", obj{}}, {"includeAllInstances", false}}, nil, nil
	}},
	{"GetCallerIdentity", "sts", true, 5, "terraform-ci", func(account, region string) (any, any, obj) { return nil, nil, nil }},
	{"DescribeSecurityGroups", "ec2", true, 5, "terraform-ci", func(account, region string) (any, any, obj) {
		return obj{{"securityGroupSet", obj{}}, {"securityGroupIdSet", items(obj{{"groupId", "sg-07d1e2a3b4c5d6e7f8"}})}, {"filterSet", obj{}}}, nil, nil
	}},
	{"DescribeSnapshots", "ec2", true, 4, "dlm", func(account, region string) (any, any, obj) {
		return obj{{"snapshotSet", obj{}}, {"ownersSet", items(obj{{"owner", account}})}, {"sharedUsersSet", obj{}},
			{"filterSet", items(obj{{"name", "tag:dlm:managed"}, {"valueSet", items(obj{{"value", "true"}})}})}}, nil, nil
	}},
	{"CreateTags", "ec2", false, 3, "terraform-ci", func(account, region string) (any, any, obj) {
		return obj{{"resourcesSet", items(obj{{"resourceId", hs(hInstance)}})}, {"tagSet", items(obj{{"key", "CostCenter"}, {"value", "4410"}})}},
			obj{{"requestId", hs(hReqID)}, {"_return", true}}, nil
	}},
	{"TerminateInstances", "ec2", false, 2, "autoscaling", func(account, region string) (any, any, obj) {
		return obj{{"instancesSet", items(obj{{"instanceId", hs(hInstance)}})}},
			obj{{"requestId", hs(hReqID)}, {"instancesSet", items(obj{{"instanceId", hs(hInstance)},
				{"currentState", obj{{"code", 32}, {"name", "shutting-down"}}}, {"previousState", obj{{"code", 16}, {"name", "running"}}}})}}, nil
	}},
	{"CreateSnapshot", "ec2", false, 2, "dlm", func(account, region string) (any, any, obj) {
		desc := "Created for policy: policy-0a4b1c2d3e4f50617 schedule: Default Schedule"
		return obj{{"volumeId", hs(hVolume)}, {"description", desc}},
			obj{{"requestId", hs(hReqID)}, {"snapshotId", hs(hSnapshot)}, {"volumeId", hs(hVolume)}, {"status", "pending"},
				{"startTime", hole(hMillis)}, {"progress", ""}, {"ownerId", account}, {"volumeSize", 8}, {"description", desc}, {"encrypted", false}}, nil
	}},
}

// Actors only the noise uses.
func init() {
	awsActors["aws-service-ec2"] = awsActor{Type: "AWSService", InvokedBy: "ec2.amazonaws.com", IP: "ec2.amazonaws.com", UserAgent: "ec2.amazonaws.com"}
	awsActors["lambda-role"] = awsActor{Type: "AssumedRole", Name: "orders-api-role-x1y2z3", RolePath: "service-role/", Session: "orders-api",
		IP: "192.0.2.51", UserAgent: uaLambda}
}

// template is a record split at its holes.
type template struct {
	lits  [][]byte // len(holes)+1 literal pieces
	holes []byte
}

func compile(b []byte) template {
	var t template
	for {
		i := bytes.IndexByte(b, holeMark)
		if i < 0 || i+1 >= len(b) {
			t.lits = append(t.lits, b)
			return t
		}
		t.lits = append(t.lits, b[:i])
		t.holes = append(t.holes, b[i+1])
		b = b[i+2:]
	}
}

// noiseRecord renders a noise operation as a CloudTrail record template.
func noiseRecord(op *noiseOp, account, region string, high bool) template {
	a := awsActors[op.actor]
	if high && a.Type == "AssumedRole" {
		a.Session += "-" + hs(hSession) // one caller per session
	}
	g := idSource{scope: "noise"}
	req, resp, extra := op.render(account, region)
	rec := obj{
		{"eventVersion", "1.11"},
		{"userIdentity", a.userIdentity(g, account, hs(hCreated))},
		{"eventTime", hs(hTime)},
		{"eventSource", op.service + ".amazonaws.com"},
		{"eventName", op.name},
		{"awsRegion", region},
		{"sourceIPAddress", a.IP},
		{"userAgent", a.UserAgent},
		{"requestParameters", req},
		{"responseElements", resp},
		{"requestID", hs(hReqID)},
		{"eventID", hs(hEventID)},
		{"readOnly", op.readOnly},
	}
	rec = append(rec, extra...)
	rec = append(rec,
		member{"eventType", "AwsApiCall"},
		member{"managementEvent", true},
		member{"recipientAccountId", account},
		member{"eventCategory", "Management"},
	)
	if a.InvokedBy == "" && a.Type != "AWSService" {
		rec = rec.set("tlsDetails", obj{{"tlsVersion", "TLSv1.3"}, {"cipherSuite", "TLS_AES_128_GCM_SHA256"},
			{"clientProvidedHostHeader", op.service + "." + region + ".amazonaws.com"}})
	}
	if a.Console {
		rec = rec.set("sessionCredentialFromConsole", "true")
	}
	return compile(appendJSON(nil, rec))
}

// scope is an account and region: the unit of a CloudTrail log file.
type scope struct{ account, region string }

// noiseScopes are where background events happen, most in the main
// account's main region.
var noiseScopes = []scope{
	{acctMain, regionMain}, {acctMain, regionMain}, {acctMain, "us-west-2"}, {acctOther, regionMain},
}

// ctNoise generates CloudTrail noise records fast: the templates are
// rendered once, and each record is its template with the holes filled.
type ctNoise struct {
	tmpl      map[scope][]template
	cum       []int // cumulative weights
	total     int
	instances map[scope][]string
	volumes   map[scope][]string
	callers   int // role sessions to number (hSession), 0 for the named ones
}

func newCTNoise(seed uint64, high bool) *ctNoise {
	n := &ctNoise{tmpl: map[scope][]template{}, instances: map[scope][]string{}, volumes: map[scope][]string{}}
	pool := 64
	if high {
		n.callers, pool = highCallers, highResources
	}
	for _, op := range noiseOps {
		n.total += op.weight
		n.cum = append(n.cum, n.total)
	}
	g := idSource{seed: seed, scope: "noise"}
	for _, sc := range noiseScopes {
		if _, ok := n.tmpl[sc]; ok {
			continue
		}
		ts := make([]template, len(noiseOps))
		for i := range noiseOps {
			ts[i] = noiseRecord(&noiseOps[i], sc.account, sc.region, high)
		}
		n.tmpl[sc] = ts
		for k := 0; k < pool; k++ {
			n.instances[sc] = append(n.instances[sc], g.ec2("i", sc.account+sc.region+itoa(k)))
			n.volumes[sc] = append(n.volumes[sc], g.ec2("vol", sc.account+sc.region+itoa(k)))
		}
	}
	return n
}

// noiseState is one generator's random source and scratch.
type noiseState struct {
	r       *rand.Rand
	lastSec int64
	lastFmt []byte
}

func newNoiseState(seed, stream uint64) *noiseState {
	return &noiseState{r: rand.New(rand.NewPCG(seed, stream)), lastSec: -1}
}

// pick chooses an operation by weight.
func (n *ctNoise) pick(st *noiseState) int {
	x := st.r.IntN(n.total)
	for i, c := range n.cum {
		if x < c {
			return i
		}
	}
	return len(n.cum) - 1
}

// appendRecord appends one record at time t (Unix seconds) in scope sc,
// and reports its operation.
func (n *ctNoise) appendRecord(b []byte, st *noiseState, sc scope, t int64) ([]byte, *noiseOp) {
	i := n.pick(st)
	tp := &n.tmpl[sc][i]
	var reqID [36]byte
	guidFrom(reqID[:0], st.r)
	inst := n.instances[sc][st.r.IntN(len(n.instances[sc]))]
	vol := n.volumes[sc][st.r.IntN(len(n.volumes[sc]))]
	session := -1
	if n.callers > 0 {
		session = st.r.IntN(n.callers)
	}
	b = append(b, tp.lits[0]...)
	for k, h := range tp.holes {
		switch h {
		case hTime:
			if t != st.lastSec {
				st.lastSec = t
				st.lastFmt = time.Unix(t, 0).UTC().AppendFormat(st.lastFmt[:0], "2006-01-02T15:04:05Z")
			}
			b = append(b, st.lastFmt...)
		case hCreated:
			b = time.Unix(t-int64(120+st.r.IntN(3000)), 0).UTC().AppendFormat(b, "2006-01-02T15:04:05Z")
		case 'x':
			b = time.Unix(t+3600, 0).UTC().AppendFormat(b, "Jan 2, 2006, 3:04:05 PM")
		case hEventID:
			b = guidFrom(b, st.r)
		case hReqID:
			b = append(b, reqID[:]...)
		case hInstance:
			b = append(b, inst...)
		case hVolume:
			b = append(b, vol...)
		case hSnapshot:
			b = append(b, "snap-0"...)
			b = appendHex(b, st.r.Uint64())
		case hKey:
			x := st.r.Uint64()
			for j := 0; j < 16; j++ {
				b = append(b, base32Upper[x&31])
				x >>= 4
			}
		case hToken:
			b = append(b, "IQoJb3JpZ2luX2VjE"...)
			for j := 0; j < 24; j++ {
				x := st.r.Uint64()
				for k := 0; k < 10; k++ {
					b = append(b, base64Chars[x&63])
					x >>= 6
				}
			}
		case hHex:
			b = appendHex(b, st.r.Uint64())
			b = appendHex(b, st.r.Uint64())
		case hMillis:
			b = appendInt(b, t*1000)
		case hSession:
			b = appendInt(b, int64(session))
		}
		b = append(b, tp.lits[k+1]...)
	}
	return b, &noiseOps[i]
}

const base64Chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

func appendHex(b []byte, x uint64) []byte {
	var buf [16]byte
	for i := 15; i >= 0; i-- {
		buf[i] = hexDigits[x&0xf]
		x >>= 4
	}
	return append(b, buf[:]...)
}

func appendInt(b []byte, x int64) []byte {
	var buf [20]byte
	i := len(buf)
	for {
		i--
		buf[i] = byte('0' + x%10)
		x /= 10
		if x == 0 {
			break
		}
	}
	return append(b, buf[i:]...)
}

// guidFrom appends a random version-4 GUID.
func guidFrom(b []byte, r *rand.Rand) []byte {
	var u [16]byte
	binary.LittleEndian.PutUint64(u[:8], r.Uint64())
	binary.LittleEndian.PutUint64(u[8:], r.Uint64())
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	for i, x := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b = append(b, '-')
		}
		b = append(b, hexDigits[x>>4], hexDigits[x&0xf])
	}
	return b
}

// noise renders opt.Noise CloudTrail events, opt.Noise Azure records and
// opt.Noise Google Cloud entries
// evenly over the span of the scenarios, into every wanted shape under
// <shape>/background.
func (c *Corpus) noise(opt *Options) {
	seed := uint64(opt.Seed)
	day := opt.start().Unix()
	span := int64(opt.span() / time.Second)
	if opt.wantsAny(AWSShapes) {
		n := newCTNoise(seed, false)
		st := newNoiseState(seed, 1)
		items := make([]ctItem, 0, opt.Noise)
		for k := 0; k < opt.Noise; k++ {
			t := day + int64(k)*span/int64(opt.Noise)
			sc := noiseScopes[st.r.IntN(len(noiseScopes))]
			rec, op := n.appendRecord(nil, st, sc, t)
			tt := time.Unix(t, 0).UTC()
			items = append(items, ctItem{rec: rec, account: sc.account, region: sc.region, source: "aws." + op.service,
				time: tt, delivery: tt.Add(time.Duration(60+st.r.IntN(240)) * time.Second), readOnly: op.readOnly, seq: k})
		}
		g := idSource{seed: seed, scope: "background"}
		for _, shape := range AWSShapes {
			if opt.wants(shape) {
				unit := string(shape) + "/background"
				plans, events := writeCloudTrail(shape, unit, items, g)
				c.addBackground(shape, arrange(plans, opt.Order, opt.Seed, unit), events)
			}
		}
	}
	if opt.wantsAny(AzureShapes) {
		items := azNoise(seed, opt.Noise, opt.start(), opt.span(), opt.wants)
		for _, shape := range AzureShapes {
			if opt.wants(shape) {
				unit := string(shape) + "/background"
				plans, events := writeAzure(shape, unit, items)
				c.addBackground(shape, arrange(plans, opt.Order, opt.Seed, unit), events)
			}
		}
	}
	if opt.wantsAny(GCPShapes) {
		items := gcpNoise(seed, opt.Noise, opt.start(), opt.span())
		for _, shape := range GCPShapes {
			if opt.wants(shape) {
				unit := string(shape) + "/background"
				plans, events := writeGCP(shape, unit, items)
				c.addBackground(shape, arrange(plans, opt.Order, opt.Seed, unit), events)
			}
		}
	}
}

func (o *Options) wantsAny(shapes []Shape) bool {
	for _, s := range shapes {
		if o.wants(s) {
			return true
		}
	}
	return false
}

func (c *Corpus) addBackground(shape Shape, files []File, events int) {
	sh := ShapeTruth{Shape: shape, Events: events}
	for _, f := range files {
		sh.Files = append(sh.Files, f.Path)
	}
	c.Files = append(c.Files, files...)
	c.Truth.Background = append(c.Truth.Background, sh)
}

// azNoiseCalls are the Azure background operations, rendered through the
// scenario path (Azure exports are smaller than CloudTrail by orders of
// magnitude, so speed matters less than fidelity).
var azNoiseCalls = []Call{
	{Op: "Microsoft.Resources/deployments/write", Actor: "deploy-sp", Args: Args{RG: "platform-rg", VM: "release"}},
	{Op: "Microsoft.Compute/virtualMachines/extensions/write", Actor: "deploy-sp", Args: Args{RG: "prod-web-rg", VM: "web-2"}},
	{Op: "Microsoft.Network/networkSecurityGroups/write", Actor: "cli-admin", Args: Args{RG: "net-rg", VM: "app-nsg"}},
	{Op: "Microsoft.Storage/storageAccounts/listKeys/action", Actor: "portal-user", Args: Args{RG: "data-rg", VM: "stlogs"}},
	{Op: "Microsoft.Compute/snapshots/write", Actor: "backup-service", NoBody: true, Args: Args{RG: "AzureBackupRG_westeurope_1", Snapshot: "erp-2-snap", SourceDisk: "erp-2_OsDisk_1"}},
}

// azNoise renders n Azure records, in the shapes wanted: operations of
// the mix, each with its phases, spread over span from start, one in four
// in the second subscription.
func azNoise(seed uint64, n int, start time.Time, span time.Duration, wants func(Shape) bool) []azItem {
	return azNoiseAt(seed, n, "", wants, func(_ *rand.Rand, k int) time.Time { return start.Add(spread(k, n, span)) }, false)
}

// azNoiseAt renders n Azure records of the mix: the operation starting
// when k records are made so far starts at at(k), in subscription sub
// ("" picks one, one in four the second). high puts each operation in
// one of highResourceGroups resource groups (CardinalityHigh).
func azNoiseAt(seed uint64, n int, sub string, wants func(Shape) bool, at func(r *rand.Rand, k int) time.Time, high bool) []azItem {
	r := rand.New(rand.NewPCG(seed, 2))
	var items []azItem
	for k := 0; len(items) < n; k++ {
		base := azNoiseCalls[r.IntN(len(azNoiseCalls))]
		call := base
		suffix := itoa(r.IntN(90) + 10)
		call.VM += suffix
		call.Snapshot += suffix
		if high {
			call.RG += "-" + itoa(r.IntN(highResourceGroups))
		}
		t := at(r, len(items))
		g := idSource{seed: seed, scope: "background/" + itoa(k)}
		sub := sub
		if sub == "" {
			sub = subProd
			if r.IntN(4) == 0 {
				sub = subOther
			}
		}
		for _, p := range azPhases(g, &call, t, sub) {
			if len(items) == n {
				break
			}
			it := azItem{sub: sub, time: p.time, submitted: p.submitted, seq: len(items)}
			if wants(event.FormatAzureREST) {
				it.rest = appendJSON(nil, p.rest())
			}
			if wants(event.FormatAzureStorage) {
				it.storage = appendJSON(nil, p.export(false))
			}
			if wants(event.FormatAzureEventHub) {
				it.eventHub = appendJSON(nil, p.export(true))
			}
			if wants(event.FormatAzureLogAnalytics) {
				it.la = appendJSON(nil, p.logAnalytics())
			}
			items = append(items, it)
		}
	}
	return items
}

// spread is the k-th of n even steps over span: k*span/n, computed so that
// it does not overflow over 90 days of nanoseconds.
func spread(k, n int, span time.Duration) time.Duration {
	q, r := span/time.Duration(n), span%time.Duration(n)
	return time.Duration(k)*q + time.Duration(k)*r/time.Duration(n)
}
