package gencorpus

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// AzureShape is the form an Activity Log record is written in
// (telemetry.md §3.1).
type AzureShape int

// The shapes.
const (
	AzureExport       AzureShape = iota // diagnostic-setting export (Storage PT1H.json line, Event Hub records member)
	AzureREST                           // REST / portal JSON
	AzureLogAnalytics                   // AzureActivity table row exported as JSON
)

// Azure is a deterministic source of Activity Log records for one
// subscription. Each operation yields its phases (Start, Accept for the
// asynchronous ones, then Success or Failure) as consecutive records
// sharing a correlation id.
type Azure struct {
	rng          *rand.Rand
	Subscription string
	Tenant       string
	// Now is the time of the next operation.
	Now time.Time

	groups  []string
	vms     []string
	callers []azCaller
	pending []azRecord
}

type azCaller struct {
	oid, upn, appID, mirid, principalType, ip string
}

// azOperation is one kind of ARM call and its share of the traffic.
type azOperation struct {
	weight   int
	op       string // operation name as REST writes it
	resource string // resource type path under the provider, "" for the VM
	async    bool   // has an Accepted phase
	body     func(g *Azure, id string) string
}

// azRecord is one phase record waiting to be written.
type azRecord struct {
	op                       *azOperation
	phase                    int // 0 start, 1 accept, 2 end
	failed                   bool
	corr, id, group          string
	caller                   azCaller
	at                       time.Time
	eventDataID, opID, reqID string
	body                     string // request or response body, JSON
}

// azOperations is the traffic mix: deployments, VM power actions and
// writes, disks and snapshots (some disks created from snapshots, the
// revert shape of telemetry.md §3.3), network, storage keys, role
// assignments. Weights are per thousand.
var azOperations = []azOperation{
	{100, "Microsoft.Resources/deployments/write", "Microsoft.Resources/deployments", true, nil},
	{80, "Microsoft.Compute/virtualMachines/write", "", true, func(g *Azure, id string) string {
		return `{"properties":{"storageProfile":{"osDisk":{"osType":"Linux","name":"` + g.name("osdisk") + `","createOption":"Attach","managedDisk":{"id":"` +
			g.resourceID(g.group(), "Microsoft.Compute/disks", g.name("osdisk")) + `"}}},"provisioningState":"Updating"},"location":"westeurope"}`
	}},
	{60, "Microsoft.Compute/virtualMachines/start/action", "", true, nil},
	{60, "Microsoft.Compute/virtualMachines/deallocate/action", "", true, nil},
	{30, "Microsoft.Compute/virtualMachines/restart/action", "", true, nil},
	{2, "Microsoft.Compute/virtualMachines/reimage/action", "", true, nil},
	{80, "Microsoft.Compute/disks/write", "Microsoft.Compute/disks", true, func(g *Azure, id string) string {
		opt, src := "Empty", ""
		if g.rng.IntN(4) == 0 {
			opt, src = "Copy", `,"sourceResourceId":"`+g.resourceID(g.group(), "Microsoft.Compute/snapshots", g.name("snap"))+`","sourceUniqueId":"`+g.guid()+`"`
		}
		return `{"name":"` + id[strings.LastIndexByte(id, '/')+1:] + `","location":"westeurope","sku":{"name":"Premium_LRS"},"properties":{"creationData":{"createOption":"` +
			opt + `"` + src + `},"diskSizeGB":64,"provisioningState":"Updating","isArmResource":true}}`
	}},
	{40, "Microsoft.Compute/snapshots/write", "Microsoft.Compute/snapshots", true, func(g *Azure, id string) string {
		return `{"properties":{"creationData":{"createOption":"Copy","sourceResourceId":"` + g.resourceID(g.group(), "Microsoft.Compute/disks", g.name("osdisk")) +
			`"},"incremental":true,"provisioningState":"Updating"},"location":"westeurope"}`
	}},
	{20, "Microsoft.Compute/disks/delete", "Microsoft.Compute/disks", true, nil},
	{20, "Microsoft.Compute/snapshots/delete", "Microsoft.Compute/snapshots", true, nil},
	{60, "Microsoft.Network/networkInterfaces/write", "Microsoft.Network/networkInterfaces", false, nil},
	{50, "Microsoft.Network/networkSecurityGroups/write", "Microsoft.Network/networkSecurityGroups", false, nil},
	{30, "Microsoft.Network/publicIPAddresses/write", "Microsoft.Network/publicIPAddresses", false, nil},
	{100, "Microsoft.Storage/storageAccounts/listKeys/action", "Microsoft.Storage/storageAccounts", false, nil},
	{40, "Microsoft.Storage/storageAccounts/write", "Microsoft.Storage/storageAccounts", false, nil},
	{20, "Microsoft.Authorization/roleAssignments/write", "Microsoft.Authorization/roleAssignments", false, func(g *Azure, id string) string {
		return `{"Id":"` + g.guid() + `","Properties":{"PrincipalId":"` + g.guid() + `","RoleDefinitionId":"/providers/Microsoft.Authorization/roleDefinitions/` + g.guid() + `","Scope":"/subscriptions/` + g.Subscription + `"}}`
	}},
	{20, "Microsoft.KeyVault/vaults/write", "Microsoft.KeyVault/vaults", false, nil},
	{10, "Microsoft.Insights/diagnosticSettings/write", "Microsoft.Insights/diagnosticSettings", false, nil},
	{10, "Microsoft.Compute/restorePointCollections/restorePoints/write", "Microsoft.Compute/restorePointCollections", true, nil},
	{10, "Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers/protectedItems/backup/action", "Microsoft.RecoveryServices/vaults", true, nil},
}

var azTotalWeight = func() int {
	n := 0
	for _, o := range azOperations {
		n += o.weight
	}
	return n
}()

// NewAzure returns a generator of records for one subscription, starting
// at start. Equal arguments give equal records.
func NewAzure(seed uint64, subscription string, start time.Time) *Azure {
	g := &Azure{rng: rand.New(rand.NewPCG(seed, 0x617a757265)), Subscription: subscription, Now: start.UTC()}
	g.Tenant = g.guid()
	g.groups = []string{"prod-web", "prod-data", "shared-infra", "dev-sandbox", "AzureBackupRG_westeurope_1"}
	for range 60 {
		g.vms = append(g.vms, g.resourceID(g.group(), "Microsoft.Compute/virtualMachines", g.name("vm")))
	}
	g.callers = []azCaller{
		{oid: g.guid(), upn: "alice@contoso.example", appID: "c44b4083-3bb0-49c1-b47d-974e53cbdf3c", principalType: "User", ip: "203.0.113.10"},
		{oid: g.guid(), upn: "bob@contoso.example", appID: "04b07795-8ddb-461a-bbee-02f9e1bf7b46", principalType: "User", ip: "203.0.113.11"},
		{oid: g.guid(), appID: g.guid(), principalType: "ServicePrincipal", ip: "198.51.100.20"},
		{oid: g.guid(), appID: g.guid(), principalType: "ServicePrincipal", ip: "198.51.100.21",
			mirid: "/subscriptions/" + subscription + "/resourceGroups/shared-infra/providers/Microsoft.Automation/automationAccounts/nightly"},
		{oid: g.guid(), appID: "262044b1-e2ce-469f-a196-69ab7ada62d3", principalType: "ServicePrincipal"},
	}
	return g
}

func (g *Azure) guid() string {
	b := make([]byte, 36)
	for i := range b {
		switch i {
		case 8, 13, 18, 23:
			b[i] = '-'
		default:
			b[i] = hexDigits[g.rng.IntN(16)]
		}
	}
	return string(b)
}

func (g *Azure) group() string { return g.groups[g.rng.IntN(len(g.groups))] }

func (g *Azure) name(prefix string) string { return prefix + "-" + strconv.Itoa(g.rng.IntN(400)) }

func (g *Azure) resourceID(group, typ, name string) string {
	return "/subscriptions/" + g.Subscription + "/resourceGroups/" + group + "/providers/" + typ + "/" + name
}

// next returns the next phase record, starting a new operation when the
// last one's phases are all out.
func (g *Azure) next() azRecord {
	if len(g.pending) == 0 {
		g.Now = g.Now.Add(time.Duration(2+g.rng.IntN(30)) * time.Millisecond)
		w := g.rng.IntN(azTotalWeight)
		op := &azOperations[0]
		for i := range azOperations {
			if w < azOperations[i].weight {
				op = &azOperations[i]
				break
			}
			w -= azOperations[i].weight
		}
		var id, group string
		if op.resource == "" {
			id = g.vms[g.rng.IntN(len(g.vms))]
			group = strings.Split(id, "/")[4]
		} else {
			group = g.group()
			id = g.resourceID(group, op.resource, g.name(strings.ToLower(op.resource[strings.LastIndexByte(op.resource, '/')+1:])))
		}
		c := g.callers[g.rng.IntN(len(g.callers))]
		if strings.Contains(op.op, "RecoveryServices") || strings.Contains(group, "AzureBackupRG") {
			c = g.callers[4]
		}
		failed := g.rng.IntN(50) == 0
		r := azRecord{op: op, failed: failed, corr: g.guid(), id: id, group: group, caller: c, opID: g.guid(), reqID: g.guid()}
		if op.body != nil {
			r.body = op.body(g, id)
		}
		phases := []int{0, 2}
		if op.async {
			phases = []int{0, 1, 2}
		}
		at := g.Now
		for _, p := range phases {
			r.phase, r.at, r.eventDataID = p, at, g.guid()
			g.pending = append(g.pending, r)
			at = at.Add(time.Duration(200+g.rng.IntN(20000)) * time.Millisecond)
		}
	}
	r := g.pending[0]
	g.pending = g.pending[1:]
	return r
}

// phase names per shape: export resultType and signature, REST status.
func (r azRecord) status() (resultType, signature, restStatus, subStatus, httpCode string) {
	switch {
	case r.phase == 0:
		return "Start", "Started.", "Started", "", ""
	case r.phase == 1:
		return "Accept", "Accepted.Created", "Accepted", "Created", "Created"
	case r.failed:
		return "Failure", "Failed.Conflict", "Failed", "Conflict", "Conflict"
	}
	return "Success", "Succeeded.OK", "Succeeded", "OK", "OK"
}

// AppendRecord appends one Activity Log record (a JSON object, no
// newline) in the given shape to b.
func (g *Azure) AppendRecord(b []byte, shape AzureShape) []byte {
	r := g.next()
	switch shape {
	case AzureREST:
		return g.appendREST(b, r)
	case AzureLogAnalytics:
		return g.appendLogAnalytics(b, r)
	}
	return g.appendExport(b, r)
}

func quote(b []byte, s string) []byte { return strconv.AppendQuote(b, s) }

func (g *Azure) claims(b []byte, c azCaller, at time.Time) []byte {
	iat := strconv.FormatInt(at.Add(-30*time.Minute).Unix(), 10)
	b = append(b, `{"aud":"https://management.core.windows.net/","iss":"https://sts.windows.net/`+g.Tenant+`/","iat":"`+iat+`","nbf":"`+iat+
		`","exp":"`+strconv.FormatInt(at.Add(time.Hour).Unix(), 10)+`","appid":"`+c.appID+`","appidacr":"2",`+
		`"http://schemas.microsoft.com/identity/claims/objectidentifier":"`+c.oid+`","http://schemas.microsoft.com/identity/claims/tenantid":"`+g.Tenant+`"`...)
	if c.upn != "" {
		b = append(b, `,"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn":"`+c.upn+`","name":"`+c.upn[:strings.IndexByte(c.upn, '@')]+
			`","http://schemas.microsoft.com/claims/authnmethodsreferences":"pwd,mfa","idtyp":"user"`...)
	} else {
		b = append(b, `,"idtyp":"app"`...)
	}
	if c.mirid != "" {
		b = append(b, `,"xms_mirid":"`+c.mirid+`"`...)
	}
	if c.ip != "" {
		b = append(b, `,"ipaddr":"`+c.ip+`"`...)
	}
	return append(b, `,"ver":"1.0"}`...)
}

func (g *Azure) authorization(b []byte, r azRecord) []byte {
	return append(b, `{"scope":"`+r.id+`","action":"`+r.op.op+`","evidence":{"role":"Contributor","roleAssignmentScope":"/subscriptions/`+g.Subscription+
		`","roleAssignmentId":"`+strings.ReplaceAll(r.opID, "-", "")+`","roleDefinitionId":"b24988ac618042a0ab8820f7382dd24c","principalId":"`+r.caller.oid+
		`","principalType":"`+r.caller.principalType+`"}}`...)
}

// properties writes the details bag; bodies are JSON strings.
func (g *Azure) properties(b []byte, r azRecord, category string) []byte {
	_, _, _, _, code := r.status()
	b = append(b, `{"statusCode":"`+code+`","serviceRequestId":"`+r.reqID+`","eventCategory":"`+category+`","entity":"`+r.id+
		`","message":"`+r.op.op+`","hierarchy":"`+g.Tenant+`/`+g.Subscription+`"`...)
	if r.body != "" {
		switch r.phase {
		case 0:
			b = append(b, `,"requestbody":`...)
			b = quote(b, r.body)
		case 1, 2:
			if !r.failed {
				b = append(b, `,"responseBody":`...)
				b = quote(b, r.body)
			}
		}
	}
	return append(b, '}')
}

func (g *Azure) appendExport(b []byte, r azRecord) []byte {
	rt, sig, _, _, _ := r.status()
	b = append(b, `{"time":"`...)
	b = r.at.AppendFormat(b, "2006-01-02T15:04:05.0000000Z")
	b = append(b, `","resourceId":"`+strings.ToUpper(r.id)+`","operationName":"`+strings.ToUpper(r.op.op)+`","category":"Administrative","resultType":"`+rt+
		`","resultSignature":"`+sig+`","durationMs":"`+strconv.Itoa(g.rng.IntN(3000))+`","callerIpAddress":"`+r.caller.ip+`","correlationId":"`+r.corr+`","identity":{"authorization":`...)
	b = g.authorization(b, r)
	b = append(b, `,"claims":`...)
	b = g.claims(b, r.caller, r.at)
	b = append(b, `},"level":"Information","location":"global","properties":`...)
	b = g.properties(b, r, "Administrative")
	return append(b, `,"tenantId":"`+g.Tenant+`"}`...)
}

func (g *Azure) appendREST(b []byte, r azRecord) []byte {
	_, _, st, sub, _ := r.status()
	caller := r.caller.upn
	if caller == "" {
		caller = r.caller.oid
	}
	provider := r.op.op[:strings.IndexByte(r.op.op, '/')]
	b = append(b, `{"authorization":`...)
	b = g.authorization(b, r)
	b = append(b, `,"caller":"`+caller+`","channels":"Operation","claims":`...)
	b = g.claims(b, r.caller, r.at)
	b = append(b, `,"correlationId":"`+r.corr+`","description":"","eventDataId":"`+r.eventDataID+`","eventName":{"value":"`+
		[]string{"BeginRequest", "EndRequest", "EndRequest"}[r.phase]+`","localizedValue":"`+[]string{"Begin request", "End request", "End request"}[r.phase]+
		`"},"category":{"value":"Administrative","localizedValue":"Administrative"},"eventTimestamp":"`...)
	b = r.at.AppendFormat(b, "2006-01-02T15:04:05.0000000Z")
	b = append(b, `","id":"`+r.id+`/events/`+r.eventDataID+`/ticks/`+strconv.FormatInt(r.at.UnixNano()/100, 10)+`","level":"Informational","operationId":"`+r.opID+
		`","operationName":{"value":"`+r.op.op+`","localizedValue":"`+r.op.op+`"},"resourceGroupName":"`+r.group+`","resourceProviderName":{"value":"`+provider+
		`","localizedValue":"`+provider+`"},"resourceId":"`+r.id+`","status":{"value":"`+st+`","localizedValue":"`+st+`"},"subStatus":{"value":"`+sub+
		`","localizedValue":"`+sub+`"},"submissionTimestamp":"`...)
	b = r.at.Add(80*time.Second).AppendFormat(b, "2006-01-02T15:04:05.0000000Z")
	b = append(b, `","subscriptionId":"`+g.Subscription+`","tenantId":"`+g.Tenant+`","properties":`...)
	b = g.properties(b, r, "Administrative")
	return append(b, `,"relatedEvents":[],"httpRequest":{"clientRequestId":"`+r.reqID+`","clientIpAddress":"`+r.caller.ip+`","method":"PUT"}}`...)
}

func (g *Azure) appendLogAnalytics(b []byte, r azRecord) []byte {
	rt, _, _, sub, _ := r.status()
	caller := r.caller.upn
	if caller == "" {
		caller = r.caller.oid
	}
	provider := r.op.op[:strings.IndexByte(r.op.op, '/')]
	b = append(b, `{"TenantId":"`+g.Tenant+`","SourceSystem":"Azure","CallerIpAddress":"`+r.caller.ip+`","CategoryValue":"Administrative","CorrelationId":"`+r.corr+
		`","Authorization":"","Authorization_d":`...)
	b = g.authorization(b, r)
	b = append(b, `,"Claims":"","Claims_d":`...)
	b = g.claims(b, r.caller, r.at)
	b = append(b, `,"Level":"Informational","OperationNameValue":"`+strings.ToUpper(r.op.op)+`","Properties":"","Properties_d":`...)
	b = g.properties(b, r, "Administrative")
	b = append(b, `,"Caller":"`+caller+`","EventDataId":"`+r.eventDataID+`","EventSubmissionTimestamp":"`...)
	b = r.at.Add(80*time.Second).AppendFormat(b, "2006-01-02T15:04:05.000Z")
	b = append(b, `","HTTPRequest":"","OperationId":"`+r.opID+`","ResourceGroup":"`+strings.ToUpper(r.group)+`","ResourceProviderValue":"`+strings.ToUpper(provider)+
		`","ActivityStatusValue":"`+rt+`","ActivitySubstatusValue":"`+sub+`","Hierarchy":"`+g.Tenant+`/`+g.Subscription+`","TimeGenerated":"`...)
	b = r.at.AppendFormat(b, "2006-01-02T15:04:05.000Z")
	return append(b, `","SubscriptionId":"`+g.Subscription+`","_ResourceId":"`+strings.ToLower(r.id)+`","Type":"AzureActivity"}`...)
}
