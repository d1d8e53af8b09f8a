package event

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// Provider names of the clouds revertwatch reads.
const (
	AWS   = "AWS"
	Azure = "Azure"
	GCP   = "GCP"
)

// Phased reports whether a provider logs one call as several records (an
// Azure operation's Start, Accept and outcome; a Google Cloud long-running
// operation's first and last entries), which the event-time core folds
// into one call.
func Phased(provider string) bool { return provider == Azure || provider == GCP }

// Default seed metadata per provider (DESIGN.md §4). A reader may override
// them with --source-category and --source-host.
const (
	CategoryAWS   = "aws/cloudtrail"
	CategoryAzure = "azure/activitylog"
	CategoryGCP   = "gcp/cloudaudit"
)

// Format names the delivery shape a record arrived in. The values are stable:
// they appear in `cat` output and in --stats.
type Format string

// The supported formats.
const (
	FormatCloudTrailRecords     Format = "cloudtrail-records"      // S3 delivery file {"Records":[...]}
	FormatCloudTrailLines       Format = "cloudtrail-lines"        // JSON lines, bare array or one record
	FormatCloudTrailEventBridge Format = "cloudtrail-eventbridge"  // EventBridge envelope
	FormatCloudTrailCloudWatch  Format = "cloudtrail-cloudwatch"   // CloudWatch Logs subscription payload
	FormatCloudTrailLookup      Format = "cloudtrail-lookupevents" // LookupEvents output
	FormatCloudTrailConsoleCSV  Format = "cloudtrail-console-csv"  // the CloudTrail console's Event history CSV download
	FormatAzureEventHub         Format = "azure-eventhub"          // diagnostic export {"records":[...]}
	FormatAzureStorage          Format = "azure-storage"           // diagnostic export PT1H.json (JSON lines)
	FormatAzureREST             Format = "azure-rest"              // REST / portal JSON
	FormatAzureLogAnalytics     Format = "azure-loganalytics"      // AzureActivity table rows
	FormatAzurePortalCSV        Format = "azure-portal-csv"        // the Azure portal's Activity log CSV download
	FormatAzureSDK              Format = "azure-sdk"               // an Azure SDK's serialised EventData (Python as_dict(): snake_case)
	FormatGCPLogEntry           Format = "gcp-logentry"            // Cloud Audit Logs LogEntry as JSON lines: the Cloud Storage sink
	FormatGCPArray              Format = "gcp-array"               // a JSON array of LogEntry: gcloud logging read --format=json, the Logs Explorer download
	FormatGCPEntries            Format = "gcp-entries"             // Logging API entries.list response {"entries":[...]}
	FormatGCPPubSub             Format = "gcp-pubsub"              // Pub/Sub push body or pulled message, LogEntry base64 in data
	FormatGCPBigQuery           Format = "gcp-bigquery"            // BigQuery sink export rows (protopayload_auditlog)
)

// Bodyless says what a record of this format lacks when it is a console
// export that carries no request or response bodies, or returns "": the
// rules that need a body cannot match it, the body-less ones match at a
// lower confidence, and the note on each event says so.
func (f Format) Bodyless() string {
	switch f {
	case FormatCloudTrailConsoleCSV:
		return "from the CloudTrail console's Event history CSV: no request or response bodies, no account id, " +
			"the identity is a user name and an access key; keys come from the row's resources, whose part in the call is inferred"
	case FormatAzurePortalCSV:
		return "from the Azure portal's Activity log CSV: no request or response bodies, no claims, " +
			"the operation is its display name mapped to an id; keys come from the resource id only"
	}
	return ""
}

// Outcome is what an API call did: it succeeded, failed, changed nothing on
// purpose (a dry run), or is still in progress (an Azure Start/Accept phase).
type Outcome uint8

// The outcomes.
const (
	OutcomeUnknown Outcome = iota
	OutcomeSuccess
	OutcomeFailure
	OutcomeNoOp
	OutcomePending
)

var outcomeNames = [...]string{"unknown", "success", "failure", "noop", "pending"}

// String returns the lower-case name used in JSON output.
func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return "unknown"
}

// MarshalText encodes the outcome by name.
func (o Outcome) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// UnmarshalText decodes an outcome name.
func (o *Outcome) UnmarshalText(b []byte) error {
	for i, n := range outcomeNames {
		if n == string(b) {
			*o = Outcome(i)
			return nil
		}
	}
	*o = OutcomeUnknown
	return nil
}

// Phase is the stage of a multi-record Azure operation. CloudTrail events
// have no phase.
type Phase string

// The Azure phases: Started/BeginRequest, Accepted (HTTP 202), and the
// terminal record (Succeeded or Failed, see Outcome).
const (
	PhaseNone   Phase = ""
	PhaseStart  Phase = "start"
	PhaseAccept Phase = "accept"
	PhaseEnd    Phase = "end"
)

// Actor is who made the call.
type Actor struct {
	UID              string `json:"uid,omitempty"`          // ARN (AWS) or object id (Azure)
	Name             string `json:"name,omitempty"`         // user name, session name, UPN
	Type             string `json:"type,omitempty"`         // userIdentity.type, or Azure idtyp / principalType
	Account          string `json:"account,omitempty"`      // account owning the principal
	PrincipalID      string `json:"principal_id,omitempty"` // AWS principalId
	AccessKeyID      string `json:"access_key_id,omitempty"`
	Role             string `json:"role,omitempty"`   // session issuer role ARN, or Azure xms_mirid
	AppID            string `json:"app_id,omitempty"` // Azure appid claim
	InvokedBy        string `json:"invoked_by,omitempty"`
	ServiceInitiated bool   `json:"service_initiated"` // a cloud service acting for a principal (telemetry.md §7)
	MFA              bool   `json:"mfa,omitempty"`
	ConsoleSession   bool   `json:"console_session,omitempty"`
	// Delegation is a Google Cloud call's serviceAccountDelegationInfo:
	// the principals that impersonated, outermost first, joined by ", ".
	Delegation string `json:"delegation,omitempty"`
}

// Resource is one resource an event names, with the part it plays.
type Resource struct {
	UID  string `json:"uid"`
	Type string `json:"type,omitempty"`
	Role string `json:"role,omitempty"` // target, source, created, attached_to
}

// Resource roles.
const (
	RoleTarget     = "target"
	RoleSource     = "source"
	RoleCreated    = "created"
	RoleAttachedTo = "attached_to"
)

// Keys are the typed join keys of telemetry.md §2.2 and §3.3. AWS ids are
// kept as written (they are unique per account and region); Azure ARM ids
// are lower-cased so that they compare directly.
type Keys struct {
	Instances        []string `json:"instances,omitempty"`        // instances acted on, attached to, or created
	SourceInstances  []string `json:"source_instances,omitempty"` // instance an image was made from
	Volumes          []string `json:"volumes,omitempty"`          // volumes created, attached, detached, deleted
	SourceVolumes    []string `json:"source_volumes,omitempty"`   // volume a snapshot was taken of
	Snapshots        []string `json:"snapshots,omitempty"`        // snapshots created, copied to, deleted, shared
	SourceSnapshots  []string `json:"source_snapshots,omitempty"` // snapshots a volume, image or root volume is made from
	Images           []string `json:"images,omitempty"`           // images created, registered or launched
	Devices          []string `json:"devices,omitempty"`          // device names of attach/detach
	RootDeviceName   string   `json:"root_device_name,omitempty"` // instance/image root device name
	RestoreTask      string   `json:"restore_task,omitempty"`     // replace-root-volume task or AWS Backup restore job
	DBInstance       string   `json:"db_instance,omitempty"`
	SourceDBInstance string   `json:"source_db_instance,omitempty"`
	DBCluster        string   `json:"db_cluster,omitempty"`
	DBSnapshot       string   `json:"db_snapshot,omitempty"`
	RestoreTime      string   `json:"restore_time,omitempty"` // point in time restored to
	RecoveryPoint    string   `json:"recovery_point,omitempty"`
	Disk             string   `json:"disk,omitempty"`            // Azure managed disk id
	VM               string   `json:"vm,omitempty"`              // Azure virtual machine id
	OSDisk           string   `json:"os_disk,omitempty"`         // Azure VM osDisk.managedDisk.id in a write body
	SourceResource   string   `json:"source_resource,omitempty"` // Azure creationData.sourceResourceId
	CreateOption     string   `json:"create_option,omitempty"`   // Azure creationData.createOption
}

// Source says where a record came from: the seed's metadata fields and the
// position of the record in its file.
type Source struct {
	Category string `json:"category"`         // _sourceCategory
	Host     string `json:"host"`             // _sourceHost
	Name     string `json:"name"`             // _sourceName: the file path, or "-" for stdin
	Offset   int64  `json:"offset"`           // byte offset of the record in the (decompressed) stream
	Line     int    `json:"line"`             // 1-based line of the record's first byte
	Index    int    `json:"index"`            // 0-based record number in the file
	Sub      int    `json:"sub,omitempty"`    // position inside a wrapper that carries several events
	Header   string `json:"header,omitempty"` // envelope metadata, e.g. a CloudWatch log group
}

// Event is one normalized control-plane audit event.
type Event struct {
	Time       time.Time `json:"time"`
	TimeField  string    `json:"time_field"`           // the record field Time came from
	LoggedTime time.Time `json:"logged_time,omitzero"` // when the provider made it available
	Provider   string    `json:"provider"`
	Format     Format    `json:"format"`

	UID            string `json:"uid,omitempty"`             // CloudTrail eventID; Azure eventDataId or a stable hash
	CorrelationUID string `json:"correlation_uid,omitempty"` // CloudTrail requestID; Azure correlationId
	OriginalUID    string `json:"original_uid,omitempty"`    // CloudTrail addendum.originalEventID

	Account       string  `json:"account,omitempty"` // recipientAccountId / subscription id
	Tenant        string  `json:"tenant,omitempty"`
	Region        string  `json:"region,omitempty"`
	Service       string  `json:"service,omitempty"`    // eventSource / resource provider
	Operation     string  `json:"operation"`            // eventName; Azure operation lower-cased
	OperationName string  `json:"operation_name"`       // the operation as written in the record
	EventType     string  `json:"event_type,omitempty"` // eventType / Azure category
	ReadOnly      bool    `json:"read_only"`            // a read call (CloudTrail readOnly, Azure /read)
	Outcome       Outcome `json:"outcome"`
	Phase         Phase   `json:"phase,omitempty"`
	ErrorCode     string  `json:"error_code,omitempty"`
	ErrorMessage  string  `json:"error_message,omitempty"`
	StatusCode    string  `json:"status_code,omitempty"` // Azure HTTP status or sub-status

	Actor     Actor  `json:"actor"`
	Caller    string `json:"caller,omitempty"` // the seed's caller alias (DESIGN.md §4)
	SrcIP     string `json:"src_ip,omitempty"`
	SrcDomain string `json:"src_domain,omitempty"` // a service name or "AWS Internal" instead of an IP
	UserAgent string `json:"user_agent,omitempty"`

	ResourceGroup string     `json:"resource_group,omitempty"`
	ResourceID    string     `json:"resource_id,omitempty"` // Azure resourceId as written
	Resources     []Resource `json:"resources,omitempty"`
	Keys          Keys       `json:"keys"`

	Request  json.RawMessage `json:"request,omitempty"`  // requestParameters / parsed requestbody
	Response json.RawMessage `json:"response,omitempty"` // responseElements / parsed responseBody

	Notes  []string        `json:"notes,omitempty"` // what a decoder had to guess
	Source Source          `json:"source"`
	Raw    json.RawMessage `json:"raw"`
}

// ShareBodies points Request and Response into Raw where Raw holds them
// byte for byte (a compact CloudTrail record does), so that an event the
// rules hold keeps one copy of its bytes instead of two.
func (e *Event) ShareBodies() {
	e.Request = share(e.Raw, e.Request)
	e.Response = share(e.Raw, e.Response)
}

func share(raw, part []byte) []byte {
	if len(part) < 64 {
		return part // not worth a search
	}
	if i := bytes.Index(raw, part); i >= 0 {
		return raw[i : i+len(part) : i+len(part)]
	}
	return part
}

// Succeeded reports whether the call took effect: a success that is neither a
// dry run nor a pending phase.
func (e *Event) Succeeded() bool { return e.Outcome == OutcomeSuccess }

// Note records something the decoder had to guess or fall back on.
func (e *Event) Note(s string) { e.Notes = append(e.Notes, s) }

// Alias resolves the seed's field names and the Sumo metadata fields for
// this event (DESIGN.md §4). Names compare case-insensitively. It reports
// false for names it does not know or values it does not have.
func (e *Event) Alias(name string) (string, bool) {
	switch name {
	case "operationname", "caller", "resourcegroup", "_sourcehost", "_sourcecategory", "_sourcename", "_messagetime":
		// Already lower-case, as the query engine asks: the case of
		// nearly every lookup of every record.
	default:
		name = strings.ToLower(name)
	}
	switch name {
	case "operationname":
		return e.OperationName, e.OperationName != ""
	case "caller":
		return e.Caller, e.Caller != ""
	case "resourcegroup":
		if e.Provider == AWS || e.Provider == GCP {
			return e.Region, e.Region != ""
		}
		return e.ResourceGroup, e.ResourceGroup != ""
	case "_sourcehost":
		return e.Source.Host, e.Source.Host != ""
	case "_sourcecategory":
		return e.Source.Category, e.Source.Category != ""
	case "_sourcename":
		return e.Source.Name, e.Source.Name != ""
	case "_messagetime":
		if e.Time.IsZero() {
			return "", false
		}
		return strconv.FormatInt(e.Time.UnixMilli(), 10), true
	}
	return "", false
}

// AliasSource describes, for --explain, which record field an alias is
// taken from for each provider.
var AliasSource = map[string]string{
	"operationName":   "CloudTrail eventName; Azure operationName, operationName.value or OperationNameValue; GCP protoPayload.methodName as written",
	"caller":          "CloudTrail userIdentity.arn, else invokedBy, else principalId; Azure caller, else claim upn, the UPN-form name claim, appid, objectidentifier; GCP authenticationInfo.principalEmail, else principalSubject",
	"resourceGroup":   "CloudTrail awsRegion; Azure resourceGroupName, ResourceGroup, else parsed from resourceId; GCP the zone or region (resource.labels, else resourceName)",
	"_sourceHost":     "CloudTrail recipientAccountId; Azure subscription id; GCP project id",
	"_sourceCategory": "aws/cloudtrail, azure/activitylog or gcp/cloudaudit (or --source-category)",
	"_sourceName":     "the input file path",
	"_messageTime":    "the event time in epoch milliseconds",
}

// AliasNames lists the alias names in a stable order.
var AliasNames = []string{"operationName", "caller", "resourceGroup", "_sourceHost", "_sourceCategory", "_sourceName", "_messageTime"}

// Kind is the type of a resource named by an event.
type Kind string

// The resource kinds revertwatch tracks.
const (
	KindInstance      Kind = "instance"
	KindVolume        Kind = "volume"
	KindSnapshot      Kind = "snapshot"
	KindImage         Kind = "image"
	KindDBInstance    Kind = "db_instance"
	KindDBCluster     Kind = "db_cluster"
	KindDBSnapshot    Kind = "db_snapshot"
	KindRecoveryPoint Kind = "recovery_point"
	KindRestoreTask   Kind = "restore_task"
	KindDisk          Kind = "disk"
	KindVM            Kind = "vm"
	KindAzure         Kind = "azure_resource" // any other ARM resource
	KindMachineImage  Kind = "machine_image"  // a Google Cloud machine image (its keys are images)
	KindGCP           Kind = "gcp_resource"   // any other Google Cloud resource
)

// AddResource records a resource the event names, both in Resources (with
// its role, id as written) and in the typed Keys. Empty ids and repeats are
// ignored. Azure ids go into Keys lower-cased.
func (e *Event) AddResource(kind Kind, role, id string) {
	if id == "" {
		return
	}
	for _, r := range e.Resources {
		if r.UID == id && r.Type == string(kind) && r.Role == role {
			return
		}
	}
	e.Resources = append(e.Resources, Resource{UID: id, Type: string(kind), Role: role})
	key := id
	if e.Provider == Azure {
		key = strings.ToLower(id)
	}
	k := &e.Keys
	source := role == RoleSource
	switch kind {
	case KindInstance:
		if source {
			k.SourceInstances = appendUnique(k.SourceInstances, key)
		} else {
			k.Instances = appendUnique(k.Instances, key)
		}
	case KindVolume:
		if source {
			k.SourceVolumes = appendUnique(k.SourceVolumes, key)
		} else {
			k.Volumes = appendUnique(k.Volumes, key)
		}
	case KindSnapshot:
		if source {
			k.SourceSnapshots = appendUnique(k.SourceSnapshots, key)
		} else {
			k.Snapshots = appendUnique(k.Snapshots, key)
		}
	case KindImage, KindMachineImage:
		k.Images = appendUnique(k.Images, key)
	case KindDBInstance:
		if source {
			k.SourceDBInstance = setOnce(k.SourceDBInstance, key)
		} else {
			k.DBInstance = setOnce(k.DBInstance, key)
		}
	case KindDBCluster:
		k.DBCluster = setOnce(k.DBCluster, key)
	case KindDBSnapshot:
		k.DBSnapshot = setOnce(k.DBSnapshot, key)
	case KindRecoveryPoint:
		k.RecoveryPoint = setOnce(k.RecoveryPoint, key)
	case KindRestoreTask:
		k.RestoreTask = setOnce(k.RestoreTask, key)
	case KindDisk:
		if role == RoleAttachedTo {
			k.OSDisk = setOnce(k.OSDisk, key)
		} else {
			k.Disk = setOnce(k.Disk, key)
		}
	case KindVM:
		k.VM = setOnce(k.VM, key)
	}
}

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

func setOnce(cur, s string) string {
	if cur != "" {
		return cur
	}
	return s
}
