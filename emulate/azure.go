package emulate

import (
	"strings"
	"time"
)

// The Azure tenant and subscriptions of the emulated estate.
const (
	tenantID    = "8e2d7c1a-3b4f-4c5d-9e6f-0a1b2c3d4e5f"
	subProd     = "0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d"
	subOther    = "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d"
	azLocation  = "westeurope"
	workspaceID = "6d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6" // Log Analytics workspace (the TenantId column)
)

// azOp describes an Azure operation: its display name, the resource it
// acts on, the ARM method, and the phases it logs.
type azOp struct {
	name      string // canonical operationName
	localized string
	method    string // PUT, POST, DELETE
	// accept is the status of the Accept phase: Created (201, a new
	// resource), OK (200, an update) or Accepted (202, an async action);
	// "" for a synchronous call, logged as Start and Success only.
	accept string
	// resource returns the resource id the records are about.
	resource func(x *azCtx) string
	// bodies returns the request body (Start phase) and the response body
	// (Accept phase); either may be nil.
	bodies func(x *azCtx) (req, resp any)
}

type azCtx struct {
	g   idSource
	c   *Call
	sub string
	t   time.Time
}

func (x *azCtx) rg() string { return x.c.RG }

func (x *azCtx) armID(provider, typ, name string) string {
	return "/subscriptions/" + x.sub + "/resourceGroups/" + x.rg() + "/providers/" + provider + "/" + typ + "/" + name
}

func (x *azCtx) vmID() string   { return x.armID("Microsoft.Compute", "virtualMachines", x.c.VM) }
func (x *azCtx) diskID() string { return x.armID("Microsoft.Compute", "disks", x.c.Disk) }
func (x *azCtx) snapID() string { return x.armID("Microsoft.Compute", "snapshots", x.c.Snapshot) }

func (x *azCtx) restorePointID() string {
	return x.armID("Microsoft.Compute", "restorePointCollections", x.c.Collection) + "/restorePoints/" + x.c.RestorePoint
}

// sourceID is the creationData.sourceResourceId of a disk write.
func (x *azCtx) sourceID() string {
	switch x.c.CreateOption {
	case "Copy":
		if x.c.Snapshot != "" {
			return x.snapID()
		}
		return x.armID("Microsoft.Compute", "disks", x.c.SourceDisk)
	case "Restore":
		return x.restorePointID() + "/diskRestorePoints/" + x.c.SourceDisk + "_" + x.g.hex(32, "drp", x.c.SourceDisk)
	}
	return ""
}

func (x *azCtx) timeCreated() string { return x.t.Format("2006-01-02T15:04:05.0000000+00:00") }

func diskBodies(x *azCtx) (any, any) {
	cd := obj{{"createOption", x.c.CreateOption}}
	if src := x.sourceID(); src != "" {
		cd = cd.set("sourceResourceId", src)
	}
	reqProps := obj{{"creationData", cd}}
	if x.c.CreateOption == "Empty" {
		reqProps = reqProps.set("diskSizeGB", 64)
	}
	req := obj{{"location", azLocation}, {"sku", obj{{"name", "Premium_LRS"}}}, {"properties", reqProps}}
	rcd := cd
	if x.sourceID() != "" {
		rcd = rcd.set("sourceUniqueId", x.g.guid("source-unique", x.sourceID()))
	}
	props := obj{}
	size := 64
	if x.c.CreateOption != "Empty" {
		props = props.set("osType", "Linux")
		props = props.set("hyperVGeneration", "V2")
		size = 30
	}
	props = append(props,
		member{"creationData", rcd},
		member{"diskSizeGB", size},
		member{"diskIOPSReadWrite", 120},
		member{"diskMBpsReadWrite", 25},
		member{"encryption", obj{{"type", "EncryptionAtRestWithPlatformKey"}}},
		member{"networkAccessPolicy", "AllowAll"},
		member{"publicNetworkAccess", "Enabled"},
		member{"timeCreated", x.timeCreated()},
		member{"provisioningState", "Updating"},
		member{"diskState", "Unattached"},
		member{"diskSizeBytes", int64(size) << 30},
		member{"uniqueId", x.g.guid("unique", x.diskID())},
		member{"tier", "P4"},
	)
	resp := obj{
		{"name", x.c.Disk},
		{"id", x.diskID()},
		{"type", "Microsoft.Compute/disks"},
		{"location", azLocation},
		{"sku", obj{{"name", "Premium_LRS"}, {"tier", "Premium"}}},
		{"properties", props},
	}
	return req, resp
}

func snapshotBodies(x *azCtx) (any, any) {
	src := x.armID("Microsoft.Compute", "disks", x.c.SourceDisk)
	req := obj{{"location", azLocation}, {"sku", obj{{"name", "Standard_ZRS"}}},
		{"properties", obj{{"creationData", obj{{"createOption", "Copy"}, {"sourceResourceId", src}}}, {"incremental", true}}}}
	resp := obj{
		{"name", x.c.Snapshot},
		{"id", x.snapID()},
		{"type", "Microsoft.Compute/snapshots"},
		{"location", azLocation},
		{"sku", obj{{"name", "Standard_ZRS"}, {"tier", "Standard"}}},
		{"properties", obj{
			{"osType", "Linux"},
			{"hyperVGeneration", "V2"},
			{"creationData", obj{{"createOption", "Copy"}, {"sourceResourceId", src}, {"sourceUniqueId", x.g.guid("unique", src)}}},
			{"diskSizeGB", 30},
			{"encryption", obj{{"type", "EncryptionAtRestWithPlatformKey"}}},
			{"incremental", true},
			{"networkAccessPolicy", "AllowAll"},
			{"publicNetworkAccess", "Enabled"},
			{"timeCreated", x.timeCreated()},
			{"provisioningState", "Updating"},
			{"diskState", "Unattached"},
			{"diskSizeBytes", int64(30) << 30},
			{"uniqueId", x.g.guid("unique", x.snapID())},
		}},
	}
	return req, resp
}

func vmBodies(x *azCtx) (any, any) {
	nic := x.armID("Microsoft.Network", "networkInterfaces", x.c.VM+"-nic")
	osName := x.c.Disk
	if osName == "" {
		osName = x.c.VM + "_OsDisk_1_" + x.g.hex(32, "osdisk", x.c.VM)
	}
	osID := x.armID("Microsoft.Compute", "disks", osName)
	dataReq, dataResp := arr{}, arr{}
	if x.c.DataDisk != "" {
		id := x.armID("Microsoft.Compute", "disks", x.c.DataDisk)
		dataReq = arr{obj{{"lun", 0}, {"name", x.c.DataDisk}, {"createOption", "Attach"}, {"managedDisk", obj{{"id", id}}}}}
		dataResp = arr{obj{{"lun", 0}, {"name", x.c.DataDisk}, {"createOption", "Attach"}, {"caching", "None"},
			{"managedDisk", obj{{"storageAccountType", "Premium_LRS"}, {"id", id}}}, {"deleteOption", "Detach"}, {"diskSizeGB", 64}, {"toBeDetached", false}}}
	}
	req := obj{
		{"location", azLocation},
		{"properties", obj{
			{"hardwareProfile", obj{{"vmSize", "Standard_D2s_v5"}}},
			{"storageProfile", obj{
				{"osDisk", obj{{"osType", "Linux"}, {"name", osName}, {"createOption", "Attach"}, {"managedDisk", obj{{"id", osID}}}}},
				{"dataDisks", dataReq},
			}},
			{"networkProfile", obj{{"networkInterfaces", arr{obj{{"id", nic}}}}}},
		}},
	}
	resp := obj{
		{"name", x.c.VM},
		{"id", x.vmID()},
		{"type", "Microsoft.Compute/virtualMachines"},
		{"location", azLocation},
		{"properties", obj{
			{"vmId", x.g.guid("vmid", x.c.VM)},
			{"hardwareProfile", obj{{"vmSize", "Standard_D2s_v5"}}},
			{"storageProfile", obj{
				{"osDisk", obj{{"osType", "Linux"}, {"name", osName}, {"createOption", "Attach"}, {"caching", "ReadWrite"},
					{"managedDisk", obj{{"storageAccountType", "Premium_LRS"}, {"id", osID}}}, {"deleteOption", "Detach"}, {"diskSizeGB", 30}}},
				{"dataDisks", dataResp},
				{"diskControllerType", "SCSI"},
			}},
			{"networkProfile", obj{{"networkInterfaces", arr{obj{{"id", nic}}}}}},
			{"diagnosticsProfile", obj{{"bootDiagnostics", obj{{"enabled", true}}}}},
			{"provisioningState", "Updating"},
			{"timeCreated", x.t.Add(-93 * 24 * time.Hour).Format("2006-01-02T15:04:05.0000000+00:00")},
		}},
	}
	return req, resp
}

func noBodies(*azCtx) (any, any) { return nil, nil }

var azOps map[string]azOp

func init() {
	vm := func(x *azCtx) string { return x.vmID() }
	vmss := func(x *azCtx) string { return x.armID("Microsoft.Compute", "virtualMachineScaleSets", x.c.VM) }
	list := []azOp{
		{"Microsoft.Compute/disks/write", "Create or Update Disk", "PUT", "Created", func(x *azCtx) string { return x.diskID() }, diskBodies},
		{"Microsoft.Compute/snapshots/write", "Create or Update Snapshot", "PUT", "Created", func(x *azCtx) string { return x.snapID() }, snapshotBodies},
		{"Microsoft.Compute/virtualMachines/write", "Create or Update Virtual Machine", "PUT", "OK", vm, vmBodies},
		{"Microsoft.Compute/virtualMachines/deallocate/action", "Deallocate Virtual Machine", "POST", "Accepted", vm, noBodies},
		{"Microsoft.Compute/virtualMachines/start/action", "Start Virtual Machine", "POST", "Accepted", vm, noBodies},
		{"Microsoft.Compute/virtualMachines/powerOff/action", "Power Off Virtual Machine", "POST", "Accepted", vm, noBodies},
		{"Microsoft.Compute/virtualMachines/reimage/action", "Reimage Virtual Machine", "POST", "Accepted", vm, func(x *azCtx) (any, any) {
			return obj{{"tempDisk", false}, {"exactVersion", "latest"}}, nil
		}},
		{"Microsoft.Compute/virtualMachineScaleSets/reimageall/action", "Reimage all disks in Virtual Machine Scale Set", "POST", "Accepted", vmss, func(x *azCtx) (any, any) {
			return obj{{"instanceIds", []string{"0", "1", "2"}}}, nil
		}},
		{"Microsoft.Compute/restorePointCollections/restorePoints/write", "Create or Update Restore Point", "PUT", "Created",
			func(x *azCtx) string { return x.restorePointID() },
			func(x *azCtx) (any, any) {
				return obj{{"properties", obj{{"consistencyMode", "CrashConsistent"}}}}, obj{
					{"name", x.c.RestorePoint},
					{"id", x.restorePointID()},
					{"properties", obj{
						{"consistencyMode", "CrashConsistent"},
						{"sourceMetadata", obj{{"vmId", x.g.guid("vmid", x.c.VM)}, {"location", azLocation},
							{"storageProfile", obj{{"osDisk", obj{{"osType", "Linux"}, {"name", x.c.SourceDisk},
								{"managedDisk", obj{{"id", x.armID("Microsoft.Compute", "disks", x.c.SourceDisk)}}}}}}}}},
						{"provisioningState", "Creating"},
						{"timeCreated", x.timeCreated()},
					}},
				}
			}},
		{"Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers/protectedItems/recoveryPoints/restore/action", "Restore Recovery Points", "POST", "Accepted",
			func(x *azCtx) string {
				item := "iaasvmcontainerv2;" + strings.ToLower(x.rg()) + ";" + strings.ToLower(x.c.VM)
				return x.armID("Microsoft.RecoveryServices", "vaults", x.c.Vault) + "/backupFabrics/Azure/protectionContainers/IaasVMContainer;" + item +
					"/protectedItems/VM;" + item + "/recoveryPoints/" + x.c.RestorePoint
			},
			func(x *azCtx) (any, any) {
				return obj{{"properties", obj{
					{"objectType", "IaasVMRestoreRequest"},
					{"recoveryPointId", x.c.RestorePoint},
					{"recoveryType", "OriginalLocation"},
					{"sourceResourceId", x.vmID()},
					{"originalStorageAccountOption", false},
					{"encryptionDetails", obj{{"encryptionEnabled", false}}},
				}}}, nil
			}},
		{"Microsoft.Resources/deployments/write", "Create Deployment", "PUT", "Created",
			func(x *azCtx) string { return x.armID("Microsoft.Resources", "deployments", x.c.VM) }, noBodies},
		{"Microsoft.Compute/virtualMachines/extensions/write", "Create or Update Virtual Machine Extension", "PUT", "OK",
			func(x *azCtx) string { return x.vmID() + "/extensions/AzureMonitorLinuxAgent" }, noBodies},
		{"Microsoft.Network/networkSecurityGroups/write", "Create or Update Network Security Group", "PUT", "OK",
			func(x *azCtx) string { return x.armID("Microsoft.Network", "networkSecurityGroups", x.c.VM) }, noBodies},
		{"Microsoft.Storage/storageAccounts/listKeys/action", "List Storage Account Keys", "POST", "",
			func(x *azCtx) string { return x.armID("Microsoft.Storage", "storageAccounts", x.c.VM) }, noBodies},
	}
	azOps = map[string]azOp{}
	for _, o := range list {
		azOps[strings.ToLower(o.name)] = o
	}
}

// azPhase is one record of an Azure operation, before it is shaped.
type azPhase struct {
	op         azOp
	actor      azActor
	sub        string
	rg         string
	resourceID string
	status     string // Started, Accepted, Succeeded
	subStatus  string // "", Created, OK, Accepted
	statusCode string // properties.statusCode ("" on Start)
	time       time.Time
	submitted  time.Time
	start      time.Time // the Start phase's time, for durationMs
	corr       string
	opID       string
	dataID     string
	serviceReq string
	clientReq  string
	issued     int64 // token iat
	reqBody    any
	respBody   any
	statusMsg  any // properties.statusMessage of a Failed record
	g          idSource
}

// azErrors are the messages Azure Resource Manager writes with the error
// codes the scenarios use.
var azErrors = map[string]string{
	"InternalExecutionError": "An internal execution error occurred. Please retry later.",
}

// azPhases renders one call as its Start, Accept and Success records (a
// Failure record instead of Success when the call has an Error; neither
// when it has NoEnd).
func azPhases(g idSource, c *Call, t time.Time, sub string) []azPhase {
	op := azOps[strings.ToLower(c.Op)]
	// Activity Log times carry 100 ns ticks.
	t = t.Add(time.Duration(g.intn(10_000_000, "ticks", c.Op, t.String())) * 100)
	x := &azCtx{g: g, c: c, sub: sub, t: t}
	rid := op.resource(x)
	req, resp := op.bodies(x)
	if c.NoBody {
		req, resp = nil, nil
	}
	corr := g.guid("correlation", c.Op, rid, t.String())
	base := azPhase{
		op: op, actor: azActors[c.Actor], sub: sub, rg: c.RG, resourceID: rid, corr: corr,
		opID: g.guid("operation", corr), clientReq: g.guid("client-request", corr),
		issued: t.Add(-time.Duration(g.between(5, 55, "token-age", c.Actor)) * time.Minute).Unix(), start: t, g: g,
	}
	lag := func(name string) time.Duration {
		return time.Duration(g.between(15000, 95000, "submission", name, corr)) * time.Millisecond
	}
	start := base
	start.status, start.time, start.reqBody = "Started", t, req
	start.submitted = t.Add(lag("start"))
	start.dataID = g.guid("event-data", corr, "start")

	accept := base
	accept.status, accept.subStatus, accept.statusCode = "Accepted", op.accept, op.accept
	accept.time = t.Add(time.Duration(g.between(4_000_000, 26_000_000, "accept", corr)) * 100)
	accept.submitted = accept.time.Add(lag("accept"))
	accept.respBody = resp
	accept.dataID = g.guid("event-data", corr, "accept")
	accept.serviceReq = g.guid("service-request", corr, "accept")

	done := base
	done.status, done.statusCode = "Succeeded", "OK"
	done.time = t.Add(time.Duration(g.between(120_000_000, 950_000_000, "duration", corr)) * 100)
	done.submitted = done.time.Add(lag("done"))
	done.dataID = g.guid("event-data", corr, "done")
	done.serviceReq = g.guid("service-request", corr, "done")
	if c.Error != "" {
		// An asynchronous operation that ARM accepted and the resource
		// provider then failed: the Accept record still carries the
		// response body, the Failure record says what went wrong.
		done.status, done.subStatus, done.statusCode = "Failed", "InternalServerError", "InternalServerError"
		done.statusMsg = jsonString{obj{{"status", "Failed"}, {"error", obj{{"code", c.Error}, {"message", azErrors[c.Error]}}}}}
	}
	phases := []azPhase{start, accept, done}
	if op.accept == "" {
		phases = []azPhase{start, done}
	}
	if c.NoEnd {
		// The terminal record was not kept: only Start (and Accept).
		phases = phases[:len(phases)-1]
	}
	return phases
}

// azPhaseCount is the number of records azPhases writes for a call.
func azPhaseCount(c *Call) int {
	n := 3
	if azOps[strings.ToLower(c.Op)].accept == "" {
		n = 2
	}
	if c.NoEnd {
		n--
	}
	return n
}

// azTime formats an Activity Log time with seven fractional digits.
func azTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.0000000Z") }

func (p *azPhase) entityProps(withStatus bool) obj {
	props := obj{}
	if withStatus && p.statusCode != "" {
		props = append(props, member{"statusCode", p.statusCode})
		if p.serviceReq != "" {
			props = append(props, member{"serviceRequestId", p.serviceReq})
		}
		if p.statusMsg != nil {
			props = append(props, member{"statusMessage", p.statusMsg})
		}
	}
	props = append(props,
		member{"eventCategory", "Administrative"},
		member{"entity", p.resourceID},
		member{"message", p.op.name},
		member{"hierarchy", tenantID + "/" + p.sub},
	)
	if p.reqBody != nil {
		props = props.set("requestbody", jsonString{p.reqBody})
	}
	if p.respBody != nil {
		props = props.set("responseBody", jsonString{p.respBody})
	}
	return props
}

func (p *azPhase) eventName() string {
	if p.status == "Started" {
		return "BeginRequest"
	}
	return "EndRequest"
}

func (p *azPhase) resultType() string {
	switch p.status {
	case "Started":
		return "Start"
	case "Accepted":
		return "Accept"
	case "Failed":
		return "Failure"
	}
	return "Success"
}

func (p *azPhase) durationMs() int {
	if p.status == "Started" {
		return 0
	}
	return int(p.time.Sub(p.start) / time.Millisecond)
}

func (p *azPhase) provider() string { return p.op.name[:strings.IndexByte(p.op.name, '/')] }

func (p *azPhase) resourceType() string {
	parts := strings.Split(p.op.name, "/")
	return parts[0] + "/" + parts[1]
}

// rest renders the phase as the REST API (and portal) return it.
func (p *azPhase) rest() obj {
	v := func(s string) obj { return obj{{"value", s}, {"localizedValue", s}} }
	r := obj{
		{"authorization", obj{{"action", p.op.name}, {"scope", p.resourceID}}},
		{"caller", p.actor.caller()},
		{"channels", "Operation"},
		{"claims", p.actor.claims(p.g, p.issued)},
		{"correlationId", p.corr},
		{"description", ""},
		{"eventDataId", p.dataID},
		{"eventName", obj{{"value", p.eventName()}, {"localizedValue", map[string]string{"BeginRequest": "Begin request", "EndRequest": "End request"}[p.eventName()]}}},
		{"category", v("Administrative")},
		{"eventTimestamp", azTime(p.time)},
		{"id", p.resourceID + "/events/" + p.dataID + "/ticks/" + itoa64(p.time.UnixNano()/100+621355968000000000)},
		{"level", "Informational"},
		{"operationId", p.opID},
		{"operationName", obj{{"value", p.op.name}, {"localizedValue", p.op.localized}}},
		{"resourceGroupName", p.rg},
		{"resourceProviderName", obj{{"value", p.provider()}, {"localizedValue", p.provider()}}},
		{"resourceType", obj{{"value", p.resourceType()}, {"localizedValue", p.resourceType()}}},
		{"resourceId", p.resourceID},
		{"status", v(p.status)},
		{"subStatus", v(p.subStatus)},
		{"submissionTimestamp", azTime(p.submitted)},
		{"subscriptionId", p.sub},
		{"tenantId", tenantID},
		{"properties", p.entityProps(true)},
		{"relatedEvents", arr{}},
	}
	if p.actor.IP != "" {
		r = r.set("httpRequest", obj{{"clientRequestId", p.clientReq}, {"clientIpAddress", p.actor.IP}, {"method", p.op.method}})
	}
	return r
}

// export renders the phase as a diagnostic setting exports it: to Event
// Hub (properties as a JSON string, level a number) or to Storage.
func (p *azPhase) export(eventHub bool) obj {
	sig := p.status + "."
	if p.subStatus != "" {
		sig += p.subStatus
	}
	var props any = p.entityProps(true)
	var level any = "Information"
	var duration any = p.durationMs()
	if eventHub {
		props, level = jsonString{props}, 4
	}
	if p.status == "Started" {
		duration = "0"
	}
	r := obj{
		{"time", azTime(p.time)},
		{"resourceId", strings.ToUpper(p.resourceID)},
		{"operationName", strings.ToUpper(p.op.name)},
		{"category", "Administrative"},
		{"resultType", p.resultType()},
		{"resultSignature", sig},
		{"durationMs", duration},
		{"callerIpAddress", p.actor.IP},
		{"correlationId", p.corr},
		{"identity", obj{
			{"authorization", p.actor.authorization(p.g, p.op.name, p.resourceID)},
			{"claims", p.actor.claims(p.g, p.issued)},
		}},
		{"level", level},
		{"location", "global"},
		{"properties", props},
	}
	return r
}

// logAnalytics renders the phase as an AzureActivity table row.
func (p *azPhase) logAnalytics() obj {
	props := p.entityProps(true)
	claims := p.actor.claims(p.g, p.issued)
	authz := p.actor.authorization(p.g, p.op.name, p.resourceID)
	http := obj{}
	if p.actor.IP != "" {
		http = obj{{"clientRequestId", p.clientReq}, {"clientIpAddress", p.actor.IP}, {"method", p.op.method}}
	}
	upper := strings.ToUpper(p.resourceID)
	name := p.resourceID[strings.LastIndexByte(p.resourceID, '/')+1:]
	return obj{
		{"TenantId", workspaceID},
		{"SourceSystem", "Azure"},
		{"TimeGenerated", p.time.UTC().Format("2006-01-02T15:04:05.000Z")},
		{"OperationName", p.op.localized},
		{"OperationNameValue", strings.ToUpper(p.op.name)},
		{"Level", "Informational"},
		{"ActivityStatus", p.status},
		{"ActivitySubstatus", p.subStatus},
		{"Category", "Administrative"},
		{"ResourceGroup", strings.ToUpper(p.rg)},
		{"ResourceProvider", p.provider()},
		{"Resource", strings.ToUpper(name)},
		{"ActivityStatusValue", p.resultType()},
		{"ActivitySubstatusValue", p.subStatus},
		{"SubscriptionId", p.sub},
		{"CorrelationId", p.corr},
		{"Caller", p.actor.caller()},
		{"CallerIpAddress", p.actor.IP},
		{"CategoryValue", "Administrative"},
		{"HTTPRequest", jsonString{http}},
		{"Properties", jsonString{props}},
		{"EventSubmissionTimestamp", p.submitted.UTC().Format("2006-01-02T15:04:05.000Z")},
		{"Authorization", jsonString{authz}},
		{"ResourceId", upper},
		{"OperationId", p.opID},
		{"ResourceProviderValue", strings.ToUpper(p.provider())},
		{"EventDataId", p.dataID},
		{"Claims", jsonString{claims}},
		{"Claims_d", claims},
		{"Properties_d", props},
		{"Authorization_d", authz},
		{"Hierarchy", tenantID + "/" + p.sub},
		{"Type", "AzureActivity"},
		{"_ResourceId", strings.ToLower(p.resourceID)},
	}
}

func itoa64(i int64) string { return strconvFormat(i) }
