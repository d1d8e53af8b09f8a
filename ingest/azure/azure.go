// Package azure turns Azure Activity Log records into normalized events, in
// each of the shapes telemetry.md §3.1 describes: the REST / portal JSON
// (operationName as an object), the diagnostic-setting export to Event Hub
// or Storage (operationName a string, no caller, properties perhaps a JSON
// string), and Log Analytics AzureActivity rows.
package azure

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	"github.com/valyala/fastjson"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/internal/jsonx"
)

// Shape is the flavour of an Azure Activity Log record.
type Shape int

// The shapes.
const (
	NotAzure Shape = iota
	REST
	Export
	LogAnalytics
	// SDK is the REST shape as the Azure SDKs serialise it: the Python
	// SDK's EventData.as_dict() (azure-mgmt-monitor) writes every member
	// in snake_case (event_timestamp, operation_name {value,
	// localized_value}, resource_id, caller, status, sub_status,
	// http_request {client_ip_address}, event_data_id, ...), times as
	// "2006-01-02 15:04:05.999999+00:00" once dumped with str.
	SDK
)

// Classify tells which shape of Activity Log record v is, or NotAzure.
func Classify(v *fastjson.Value) Shape {
	if v == nil || v.Type() != fastjson.TypeObject {
		return NotAzure
	}
	if v.Get("OperationNameValue") != nil || (v.Get("TimeGenerated") != nil && v.Get("Caller") != nil) {
		return LogAnalytics
	}
	if sop := v.Get("operation_name"); sop != nil && (v.Get("event_timestamp") != nil || v.Get("resource_id") != nil || v.Get("event_data_id") != nil) {
		return SDK
	}
	op := v.Get("operationName")
	if op == nil {
		return NotAzure
	}
	if op.Type() == fastjson.TypeObject || v.Get("eventTimestamp") != nil {
		return REST
	}
	if op.Type() == fastjson.TypeString && (v.Get("time") != nil || v.Get("resourceId") != nil || v.Get("resultType") != nil) {
		return Export
	}
	return NotAzure
}

// Decoder decodes Azure records. It owns a parser for the JSON strings
// nested in records, so one Decoder must not be used concurrently.
type Decoder struct {
	props, req, resp fastjson.Parser
}

// fields names where each concept lives in each shape.
type fields struct {
	time, logged, op, status, subStatus, caller, ip, claims, authz, props,
	rg, sub, resourceID, corr, opID, dataID, category, tenant, provider string
}

var shapeFields = map[Shape]fields{
	REST: {time: "eventTimestamp", logged: "submissionTimestamp", op: "operationName", status: "status",
		subStatus: "subStatus", caller: "caller", ip: "httpRequest", claims: "claims", authz: "authorization",
		props: "properties", rg: "resourceGroupName", sub: "subscriptionId", resourceID: "resourceId",
		corr: "correlationId", opID: "operationId", dataID: "eventDataId", category: "category",
		tenant: "tenantId", provider: "resourceProviderName"},
	Export: {time: "time", op: "operationName", status: "resultType", subStatus: "resultSignature",
		caller: "caller", ip: "callerIpAddress", claims: "identity.claims", authz: "identity.authorization",
		props: "properties", rg: "resourceGroupName", sub: "subscriptionId", resourceID: "resourceId",
		corr: "correlationId", opID: "operationId", dataID: "eventDataId", category: "category",
		tenant: "tenantId", provider: "resourceProviderName"},
	SDK: {time: "event_timestamp", logged: "submission_timestamp", op: "operation_name", status: "status",
		subStatus: "sub_status", caller: "caller", ip: "http_request", claims: "claims", authz: "authorization",
		props: "properties", rg: "resource_group_name", sub: "subscription_id", resourceID: "resource_id",
		corr: "correlation_id", opID: "operation_id", dataID: "event_data_id", category: "category",
		tenant: "tenant_id", provider: "resource_provider_name"},
	LogAnalytics: {time: "TimeGenerated", logged: "EventSubmissionTimestamp", op: "OperationNameValue",
		status: "ActivityStatusValue", subStatus: "ActivitySubstatusValue", caller: "Caller",
		ip: "CallerIpAddress", claims: "Claims_d", authz: "Authorization_d", props: "Properties_d",
		rg: "ResourceGroup", sub: "SubscriptionId", resourceID: "ResourceId", corr: "CorrelationId",
		opID: "OperationId", dataID: "EventDataId", category: "CategoryValue", tenant: "TenantId",
		provider: "ResourceProviderValue"},
}

// The top-level members Decode reads, by their place in a shape's
// NameSet (shapeSets).
const (
	tTime = iota // the shape's own time, then the others it falls back to
	_
	_
	_
	_
	_
	tLogged
	tOp
	tProvider
	tCategory
	tStatus
	tProps
	tSubStatus
	tResourceID
	tSub
	tRG
	tTenant
	tCorr
	tDataID
	tIP
	tCaller
	tClaims // the first name of the claims' path
	tAuthz  // the first name of the authorization's path
	nTop
)

// timeNames are the names of the event time Decode tries, in order: the
// shape's own, then every shape's.
func (f fields) timeNames() [6]string {
	return [...]string{f.time, "time", "eventTimestamp", "event_timestamp", "TimeGenerated", "@timestamp"}
}

// shapeSets are, per shape, the top-level names of its fields in the
// places above, so that Decode finds them all in one walk over the
// record, and the names of the claims' and authorization's paths after
// the first.
var shapeSets = func() map[Shape]*topNames {
	sets := map[Shape]*topNames{}
	for shape, f := range shapeFields {
		t := f.timeNames()
		names := append(t[:], f.logged, f.op, f.provider, f.category, f.status, f.props, f.subStatus,
			f.resourceID, f.sub, f.rg, f.tenant, f.corr, f.dataID, f.ip, f.caller, head(f.claims), head(f.authz))
		if len(names) != nTop {
			panic("azure: the fields and their places disagree")
		}
		sets[shape] = &topNames{set: jsonx.NewNameSet(names...), claims: rest(f.claims), authz: rest(f.authz)}
	}
	return sets
}()

// topNames are what Decode looks up in a record of one shape.
type topNames struct {
	set           *jsonx.NameSet
	claims, authz []string // the paths' names after the first
}

// head is the first name of a dotted path, and rest the names after it.
func head(path string) string {
	h, _, _ := strings.Cut(path, ".")
	return h
}

func rest(path string) []string {
	if _, r, ok := strings.Cut(path, "."); ok {
		return strings.Split(r, ".")
	}
	return nil
}

// value is the value of a member given as {value, localizedValue} (the
// REST shape), else the member.
func value(m *fastjson.Value) *fastjson.Value {
	if m != nil && m.Type() == fastjson.TypeObject {
		if inner := m.Get("value"); inner != nil && inner.Type() == fastjson.TypeString {
			return inner
		}
	}
	return m
}

// Decode fills ev from record v of the given shape. It never fails: what
// is missing stays empty, and guesses are noted on the event.
func (d *Decoder) Decode(v *fastjson.Value, shape Shape, ev *event.Event) {
	f := shapeFields[shape]
	ev.Provider = event.Azure
	if ev.Format == "" {
		switch shape {
		case REST:
			ev.Format = event.FormatAzureREST
		case LogAnalytics:
			ev.Format = event.FormatAzureLogAnalytics
		case SDK:
			ev.Format = event.FormatAzureSDK
		default:
			ev.Format = event.FormatAzureStorage
		}
	}
	if ev.Source.Category == "" {
		ev.Source.Category = event.CategoryAzure
	}

	var top [nTop]*fastjson.Value
	names := shapeSets[shape]
	if names != nil {
		names.set.GetAll(v, top[:])
	} else {
		names = &topNames{}
	}
	for i, tf := range f.timeNames() {
		if t, ok := jsonx.Time(value(top[tTime+i])); ok {
			ev.Time, ev.TimeField = t, tf
			if tf != f.time {
				ev.Note(f.time + " missing; used " + tf)
			}
			break
		}
	}
	if ev.TimeField == "" {
		ev.Note("no event time")
	}
	ev.LoggedTime, _ = jsonx.Time(value(top[tLogged]))

	ev.OperationName = jsonx.Str(value(top[tOp]))
	if ev.OperationName == "" && shape == LogAnalytics {
		ev.OperationName = jsonx.Str(v.Get("OperationName"))
	}
	ev.Operation = strings.ToLower(ev.OperationName)
	ev.ReadOnly = strings.HasSuffix(ev.Operation, "/read")
	if ev.Operation == "" {
		ev.Note("no operationName")
	}
	if p := jsonx.Str(value(top[tProvider])); p != "" {
		ev.Service = p
	} else if i := strings.IndexByte(ev.OperationName, '/'); i > 0 {
		ev.Service = ev.OperationName[:i]
	}
	ev.EventType = jsonx.Str(value(top[tCategory]))

	status := jsonx.Str(value(top[tStatus]))
	if status == "" && shape == LogAnalytics {
		status = jsonx.Str(v.Get("ActivityStatus"))
	}
	ev.Phase, ev.Outcome = phase(status)

	props := jsonx.Embedded(&d.props, value(top[tProps]))
	if props == nil && shape == LogAnalytics {
		props = jsonx.Embedded(&d.props, v.Get("Properties"))
	}
	ev.StatusCode = jsonx.Str(jsonx.Get(props, "statusCode"))
	if ev.StatusCode == "" {
		ev.StatusCode = jsonx.Str(value(top[tSubStatus]))
	}
	if ev.Outcome == event.OutcomeFailure {
		ev.ErrorCode = ev.StatusCode
		ev.ErrorMessage = jsonx.Str(jsonx.Get(props, "statusMessage"))
	}

	ev.ResourceID = jsonx.Str(value(top[tResourceID]))
	if ev.ResourceID == "" {
		ev.ResourceID = jsonx.Str(v.Get("_ResourceId"))
	}
	if ev.ResourceID == "" {
		ev.ResourceID = jsonx.Str(jsonx.Get(props, "entity"))
	}
	// Subscription ids are GUIDs, which Azure compares case-insensitively;
	// exports often upper-case them with the rest of resourceId.
	ev.Account = jsonx.Str(value(top[tSub]))
	if ev.Account == "" {
		ev.Account = event.ARMSubscription(ev.ResourceID)
	}
	ev.Account = strings.ToLower(ev.Account)
	ev.ResourceGroup = jsonx.Str(value(top[tRG]))
	if ev.ResourceGroup == "" {
		ev.ResourceGroup = event.ARMResourceGroup(ev.ResourceID)
	}
	ev.Tenant = jsonx.Str(value(top[tTenant]))
	if ev.Source.Host == "" {
		ev.Source.Host = ev.Account
	}

	ev.CorrelationUID = jsonx.Str(value(top[tCorr]))
	ev.UID = jsonx.Str(value(top[tDataID]))
	ev.OriginalUID = recordUID(ev)
	if ev.UID == "" {
		ev.UID = ev.OriginalUID
	}

	ip := value(top[tIP])
	if ip != nil && ip.Type() == fastjson.TypeObject {
		if c := jsonx.Get(ip, "clientIpAddress"); c != nil {
			ip = c
		} else {
			ip = jsonx.Get(ip, "client_ip_address")
		}
	}
	ev.SrcIP = jsonx.Str(ip)

	d.actor(&top, names, ev)
	d.keys(props, ev)
}

// phase maps the status spellings of all shapes (Started/Start,
// Accepted/Accept, Succeeded/Success, Failed/Failure) onto phase and
// outcome.
func phase(status string) (event.Phase, event.Outcome) {
	switch strings.ToLower(strings.TrimSuffix(status, ".")) {
	case "start", "started", "beginrequest":
		return event.PhaseStart, event.OutcomePending
	case "accept", "accepted":
		return event.PhaseAccept, event.OutcomePending
	case "success", "succeeded", "endrequest", "resolved":
		return event.PhaseEnd, event.OutcomeSuccess
	case "failure", "failed", "canceled", "cancelled":
		return event.PhaseEnd, event.OutcomeFailure
	}
	return event.PhaseNone, event.OutcomeUnknown
}

// recordUID identifies one phase record of one operation by its content:
// correlation id, operation, phase and outcome, time to the second, and
// resource, all in a spelling every shape shares. It stands in for
// eventDataId, which exports do not carry, and it is the same for the same
// record delivered in two shapes (an Event Hub export and Log Analytics),
// so that the record is de-duplicated across them.
func recordUID(ev *event.Event) string {
	var buf [512]byte
	b := event.AppendLower(buf[:0], ev.CorrelationUID)
	b = append(append(b, 0), ev.Operation...)
	b = append(append(b, 0), ev.Phase...)
	b = append(append(b, 0), ev.Outcome.String()...)
	b = append(b, 0)
	b = ev.Time.UTC().Truncate(time.Second).AppendFormat(b, time.RFC3339)
	b = append(b, 0)
	b = append(event.AppendLower(b, ev.ResourceID), 0)
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:16])
}
