package emulate

import (
	"encoding/base64"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"github.com/revertwatch/revertwatch/event"
)

// Google Cloud projects and the zone scenarios run in. Names are the
// project ids (the logName and resource labels carry ids, never numbers).
const (
	gcpProject      = "acme-prod"
	gcpProjectOther = "acme-dev"
	gcpProjectNum   = "48151623420"
	gcpZone         = "us-central1-a"
)

// gcpActor is a principal as authenticationInfo records it, with the
// network origin and client it calls from.
type gcpActor struct {
	Email    string
	Key      string // serviceAccountKeyName id, for a service-account key
	Delegate string // the principal that impersonated it (serviceAccountDelegationInfo)
	IP       string // callerIp: an address, or "private" / "gce-internal-ip"
	UA       string // callerSuppliedUserAgent
	Version  string // the API version its client calls ("v1", "beta", "" for none)
}

// Client user agents, as Compute Engine audit logs write them (gcloud adds
// its command; the front end appends ",gzip(gfe)").
const (
	uaGcloud     = "google-cloud-sdk gcloud/480.0.0 command/gcloud.compute.%s invocation-id/0c9f1e2d3b4a5968 environment/None environment-version/None client-os/LINUX client-os-ver/6.5.0 client-pltf-arch/x86_64 interactive/True from-script/False python/3.11.8 term/xterm-256color (Linux 6.5.0-1017-gcp),gzip(gfe)"
	uaGCPConsole = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Safari/537.36,gzip(gfe)"
	uaTfGoogle   = "Terraform/1.9.5 (+https://www.terraform.io) Terraform-Plugin-SDK/2.33.0 terraform-provider-google/5.44.0,gzip(gfe)"
	uaPython     = "gcloud-python/3.21.0 google-api-python-client/2.131.0 (gzip),gzip(gfe)"
	uaMIG        = "GCE Managed Instance Group"
	uaPackerGC   = "packer/1.11.2 (+https://www.packer.io) google-api-go-client/0.5,gzip(gfe)"
)

// gcpActors are the principals Google Cloud scenarios act as. Addresses
// are from the documentation ranges (RFC 5737, RFC 3849).
var gcpActors = map[string]gcpActor{
	"gcloud-admin": {Email: "ops.admin@acme.example", IP: "203.0.113.41", UA: uaGcloud, Version: "v1"},
	"console-user": {Email: "carol@acme.example", IP: "2001:db8:41::7", UA: uaGCPConsole, Version: "beta"},
	"stolen-sa-key": {Email: "billing-app@" + gcpProject + ".iam.gserviceaccount.com", Key: "3f0e2d1c4b5a69788796a5b4c3d2e1f0a9b8c7d6",
		IP: "198.51.100.66", UA: uaPython, Version: "v1"},
	"impersonated-sa": {Email: "deployer@" + gcpProject + ".iam.gserviceaccount.com", Delegate: "mallory@acme.example",
		IP: "198.51.100.67", UA: uaGcloud, Version: "v1"},
	"terraform-sa": {Email: "terraform@" + gcpProject + ".iam.gserviceaccount.com", IP: "192.0.2.80", UA: uaTfGoogle, Version: "v1"},
	"packer-sa":    {Email: "packer@" + gcpProject + ".iam.gserviceaccount.com", IP: "192.0.2.81", UA: uaPackerGC, Version: "v1"},
	"mig":          {Email: gcpProjectNum + "@cloudservices.gserviceaccount.com", IP: "private", UA: uaMIG},
	"compute-agent": {Email: "service-" + gcpProjectNum + "@compute-system.iam.gserviceaccount.com", IP: "private",
		UA: "Compute Engine instance schedule", Version: "v1"},
	"backupdr-agent": {Email: "service-" + gcpProjectNum + "@gcp-sa-backupdr.iam.gserviceaccount.com", IP: "private",
		UA: "BackupDR", Version: "v1"},
}

// gcpOp renders one Compute Engine (or Backup and DR) method.
type gcpOp struct {
	service  string
	resource func(x *gcpCtx) string // resourceName
	request  func(x *gcpCtx) obj    // request members after @type
	label    func(x *gcpCtx) obj    // resource {type, labels}
}

// gcpCtx is what renders a call: the call, its project and a name source.
type gcpCtx struct {
	c       *Call
	project string
}

func (x *gcpCtx) zonal(kind, name string) string {
	return "projects/" + x.project + "/zones/" + gcpZone + "/" + kind + "/" + name
}
func (x *gcpCtx) global(kind, name string) string {
	return "projects/" + x.project + "/global/" + kind + "/" + name
}
func (x *gcpCtx) instance() string { return x.zonal("instances", x.c.Instance) }
func (x *gcpCtx) disk() string     { return x.zonal("disks", x.c.Disk) }

// url writes a reference the way clients send it: a full URL for gcloud
// and the console, a partial one for the others.
func (x *gcpCtx) url(path string) string {
	switch gcpActors[x.c.Actor].UA {
	case uaGcloud, uaGCPConsole:
		return "https://www.googleapis.com/compute/v1/" + path
	}
	return strings.TrimPrefix(path, "projects/"+x.project+"/")
}

func instanceLabel(x *gcpCtx) obj {
	return obj{{"type", "gce_instance"}, {"labels", obj{{"instance_id", idNum(x.c.Instance)}, {"project_id", x.project}, {"zone", gcpZone}}}}
}
func diskLabel(x *gcpCtx) obj {
	return obj{{"type", "gce_disk"}, {"labels", obj{{"disk_id", idNum(x.c.Disk)}, {"project_id", x.project}, {"zone", gcpZone}}}}
}
func globalLabel(typ, idKey, name string) func(x *gcpCtx) obj {
	return func(x *gcpCtx) obj {
		return obj{{"type", typ}, {"labels", obj{{idKey, idNum(name)}, {"project_id", x.project}}}}
	}
}

// idNum is a stable uint64-looking decimal id for a name, as Compute
// Engine writes resource ids.
func idNum(name string) string {
	g := idSource{scope: "gcp-id"}
	return "4" + strconvFormat(int64(g.intn(1_000_000_000, name))) + strconvFormat(int64(g.intn(1_000_000_000, name, "2")))
}

func noRequest(*gcpCtx) obj { return nil }

var gcpOps map[string]gcpOp

func init() {
	inst := func() gcpOp {
		return gcpOp{service: "compute.googleapis.com", resource: (*gcpCtx).instance, request: noRequest, label: instanceLabel}
	}
	gcpOps = map[string]gcpOp{
		"compute.instances.stop":    inst(),
		"compute.instances.start":   inst(),
		"compute.instances.suspend": inst(),
		"compute.instances.resume":  inst(),
		"compute.instances.delete":  inst(),
		"compute.instances.reset":   inst(),
		"compute.instances.setMetadata": {service: "compute.googleapis.com", resource: (*gcpCtx).instance, label: instanceLabel,
			request: func(*gcpCtx) obj {
				return obj{{"fingerprint", "x6Qz3sZ0Ffk="}, {"items", arr{obj{{"key", "startup-script"}, {"value", "REDACTED"}}}}}
			}},
		"compute.instances.attachDisk": {service: "compute.googleapis.com", resource: (*gcpCtx).instance, label: instanceLabel,
			request: func(x *gcpCtx) obj {
				o := obj{{"source", x.url(x.disk())}, {"deviceName", x.c.Device}}
				if x.c.Boot {
					o = o.set("boot", true)
				}
				return o
			}},
		"compute.instances.detachDisk": inst(),
		"compute.instances.insert": {service: "compute.googleapis.com", resource: (*gcpCtx).instance, label: instanceLabel,
			request: func(x *gcpCtx) obj {
				o := obj{{"name", x.c.Instance}, {"machineType", "zones/" + gcpZone + "/machineTypes/e2-standard-2"}}
				if x.c.MachineImage != "" {
					return o.set("sourceMachineImage", x.url(x.global("machineImages", x.c.MachineImage)))
				}
				boot := obj{{"boot", true}, {"autoDelete", true}}
				switch {
				case x.c.Disk != "":
					boot = boot.set("source", x.url(x.disk()))
				case x.c.Snapshot != "":
					boot = boot.set("initializeParams", obj{{"sourceSnapshot", x.url(x.global("snapshots", x.c.Snapshot))}})
				default:
					img := x.global("images", x.c.Image)
					if strings.Contains(x.c.Image, "/") {
						img = x.c.Image // a public image: projects/debian-cloud/global/images/…
					}
					boot = boot.set("initializeParams", obj{{"sourceImage", x.url(img)}})
				}
				return o.set("disks", arr{boot})
			}},
		"compute.disks.insert": {service: "compute.googleapis.com", resource: (*gcpCtx).disk, label: diskLabel,
			request: func(x *gcpCtx) obj {
				o := obj{{"name", x.c.Disk}}
				switch {
				case x.c.Snapshot != "":
					o = o.set("sourceSnapshot", x.url(x.global("snapshots", x.c.Snapshot)))
				case x.c.Image != "":
					o = o.set("sourceImage", x.url(x.global("images", x.c.Image)))
				default:
					o = o.set("sizeGb", "100")
				}
				return o
			}},
		"compute.disks.delete": {service: "compute.googleapis.com", resource: (*gcpCtx).disk, request: noRequest, label: diskLabel},
		"compute.disks.createSnapshot": {service: "compute.googleapis.com", resource: func(x *gcpCtx) string { return x.zonal("disks", x.c.SourceDisk) },
			label: func(x *gcpCtx) obj {
				return obj{{"type", "gce_disk"}, {"labels", obj{{"disk_id", idNum(x.c.SourceDisk)}, {"project_id", x.project}, {"zone", gcpZone}}}}
			},
			request: func(x *gcpCtx) obj { return obj{{"name", x.c.Snapshot}, {"storageLocations", arr{"us-central1"}}} }},
		"compute.snapshots.insert": {service: "compute.googleapis.com", resource: func(x *gcpCtx) string { return x.global("snapshots", x.c.Snapshot) },
			label: func(x *gcpCtx) obj { return globalLabel("gce_snapshot", "snapshot_id", x.c.Snapshot)(x) },
			request: func(x *gcpCtx) obj {
				return obj{{"name", x.c.Snapshot}, {"sourceDisk", x.url(x.zonal("disks", x.c.SourceDisk))}}
			}},
		"compute.snapshots.delete": {service: "compute.googleapis.com", resource: func(x *gcpCtx) string { return x.global("snapshots", x.c.Snapshot) },
			label: func(x *gcpCtx) obj { return globalLabel("gce_snapshot", "snapshot_id", x.c.Snapshot)(x) }, request: noRequest},
		"compute.images.insert": {service: "compute.googleapis.com", resource: func(x *gcpCtx) string { return x.global("images", x.c.Image) },
			label: func(x *gcpCtx) obj { return globalLabel("gce_image", "image_id", x.c.Image)(x) },
			request: func(x *gcpCtx) obj {
				o := obj{{"name", x.c.Image}}
				if x.c.Snapshot != "" {
					return o.set("sourceSnapshot", x.url(x.global("snapshots", x.c.Snapshot)))
				}
				return o.set("sourceDisk", x.url(x.zonal("disks", x.c.SourceDisk)))
			}},
		"compute.machineImages.insert": {service: "compute.googleapis.com", resource: func(x *gcpCtx) string { return x.global("machineImages", x.c.MachineImage) },
			label: func(x *gcpCtx) obj {
				return obj{{"type", "gce_machine_image"}, {"labels", obj{{"project_id", x.project}}}}
			},
			request: func(x *gcpCtx) obj {
				return obj{{"name", x.c.MachineImage}, {"sourceInstance", x.url(x.instance())}}
			}},
		"google.cloud.backupdr.v1.BackupDR.RestoreBackup": {service: "backupdr.googleapis.com",
			resource: func(x *gcpCtx) string {
				return "projects/" + x.project + "/locations/us-central1/backupVaults/vault-1/dataSources/ds-" + x.c.Instance + "/backups/" + x.c.RestorePoint
			},
			label: func(x *gcpCtx) obj {
				return obj{{"type", "audited_resource"}, {"labels", obj{{"method", "google.cloud.backupdr.v1.BackupDR.RestoreBackup"}, {"project_id", x.project}, {"service", "backupdr.googleapis.com"}}}}
			},
			request: func(x *gcpCtx) obj {
				return obj{{"computeInstanceTargetEnvironment", obj{{"project", x.project}, {"zone", gcpZone}}}}
			}},
	}
}

// gcpEntry is one Cloud Audit Logs entry of a call.
type gcpEntry struct {
	entry    obj
	time     time.Time
	received time.Time
	project  string
}

// gcpTime writes a LogEntry time with nine fractional digits, as the
// Logging API does.
func gcpTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000000Z") }

// gcpEntries renders a call as Compute Engine logs it: a long-running
// operation's first entry (with the request) and its last; a failed call
// as one ERROR entry without an operation; NoEnd keeps the first only.
func gcpEntries(g idSource, c *Call, t time.Time, project string) []gcpEntry {
	op := gcpOps[c.Op]
	a := gcpActors[c.Actor]
	x := &gcpCtx{c: c, project: project}
	t = t.Add(time.Duration(g.intn(1_000_000, "micros", c.Op, t.String())) * time.Microsecond)
	rname := op.resource(x)
	method := c.Op
	if a.Version != "" && strings.HasPrefix(c.Op, "compute.") {
		method = a.Version + "." + c.Op
	}
	opID := "operation-" + strconvFormat(t.UnixMilli()) + "-" + g.hex(13, "op", rname, t.String()) + "-" + g.hex(8, "op2", rname) + "-" + g.hex(8, "op3", rname)
	if op.service != "compute.googleapis.com" {
		opID = "projects/" + project + "/locations/us-central1/operations/" + opID
	}
	logName := "projects/" + project + "/logs/cloudaudit.googleapis.com%2Factivity"
	auth := obj{{"principalEmail", a.Email}}
	if strings.HasSuffix(a.Email, ".gserviceaccount.com") {
		auth = auth.set("principalSubject", "serviceAccount:"+a.Email)
	} else {
		auth = auth.set("principalSubject", "user:"+a.Email)
	}
	if a.Key != "" {
		auth = auth.set("serviceAccountKeyName", "//iam.googleapis.com/projects/"+project+"/serviceAccounts/"+a.Email+"/keys/"+a.Key)
	}
	if a.Delegate != "" {
		auth = auth.set("serviceAccountDelegationInfo", arr{obj{{"firstPartyPrincipal", obj{{"principalEmail", a.Delegate}}}}})
	}
	ua := a.UA
	if ua == uaGcloud {
		verb := c.Op[strings.Index(c.Op, ".")+1:]
		ua = strings.Replace(uaGcloud, "%s", verb, 1)
	}
	meta := obj{{"callerIp", a.IP}, {"callerSuppliedUserAgent", ua}}
	perm := strings.Replace(strings.Replace(c.Op, ".insert", ".create", 1), "google.cloud.backupdr.v1.BackupDR.RestoreBackup", "backupdr.backups.restore", 1)
	reqType := "type.googleapis.com/" + c.Op
	if op.service != "compute.googleapis.com" {
		reqType = "type.googleapis.com/google.cloud.backupdr.v1.RestoreBackupRequest"
	}
	request := append(obj{{"@type", reqType}}, op.request(x)...)
	if op.service != "compute.googleapis.com" {
		request = append(obj{{"@type", reqType}, {"name", rname}}, op.request(x)...)
	}
	payload := func(first bool) obj {
		p := obj{{"@type", "type.googleapis.com/google.cloud.audit.AuditLog"}, {"authenticationInfo", auth}}
		if first {
			p = p.set("authorizationInfo", arr{obj{{"granted", true}, {"permission", perm}, {"permissionType", "ADMIN_WRITE"}, {"resource", rname}}})
		}
		p = p.set("methodName", method)
		if first {
			p = p.set("request", request)
		} else {
			p = p.set("request", obj{{"@type", reqType}})
		}
		p = p.set("requestMetadata", meta).set("resourceName", rname)
		return p
	}
	recv := func(t time.Time, name string) time.Time {
		return t.Add(time.Duration(g.between(200, 2500, "receive", name, opID)) * time.Millisecond)
	}
	labels := op.label(x)
	if c.Error != "" {
		p := payload(true)
		p = p.set("response", obj{{"@type", "type.googleapis.com/error"}, {"error", obj{{"code", 403}, {"message", "Required '" + perm + "' permission for '" + rname + "'"},
			{"errors", arr{obj{{"domain", "global"}, {"reason", c.Error}}}}}}})
		p = p.set("serviceName", op.service).set("status", obj{{"code", 7}, {"message", "Required '" + perm + "' permission for '" + rname + "'"}})
		e := obj{{"insertId", g.alnum(12, "insert", opID, "error")}, {"logName", logName}, {"protoPayload", p},
			{"receiveTimestamp", gcpTime(recv(t, "error"))}, {"resource", labels}, {"severity", "ERROR"}, {"timestamp", gcpTime(t)}}
		return []gcpEntry{{entry: e, time: t, received: recv(t, "error"), project: project}}
	}
	first := payload(true).set("response", obj{{"@type", "type.googleapis.com/operation"}, {"id", idNum(opID)}, {"name", opID},
		{"operationType", c.Op[strings.LastIndexByte(c.Op, '.')+1:]}, {"progress", "0"}, {"status", "RUNNING"},
		{"targetLink", "https://www.googleapis.com/compute/v1/" + rname}, {"user", a.Email}}).set("serviceName", op.service)
	e1 := obj{{"insertId", g.alnum(12, "insert", opID, "first")}, {"labels", obj{{"compute.googleapis.com/root_trigger_id", g.guid("trigger", opID)}}},
		{"logName", logName}, {"operation", obj{{"first", true}, {"id", opID}, {"producer", op.service}}}, {"protoPayload", first},
		{"receiveTimestamp", gcpTime(recv(t, "first"))}, {"resource", labels}, {"severity", "NOTICE"}, {"timestamp", gcpTime(t)}}
	out := []gcpEntry{{entry: e1, time: t, received: recv(t, "first"), project: project}}
	if c.NoEnd {
		return out
	}
	end := t.Add(time.Duration(g.between(8_000, 95_000, "duration", opID)) * time.Millisecond)
	last := payload(false).set("serviceName", op.service)
	e2 := obj{{"insertId", g.alnum(12, "insert", opID, "last")}, {"logName", logName},
		{"operation", obj{{"id", opID}, {"last", true}, {"producer", op.service}}}, {"protoPayload", last},
		{"receiveTimestamp", gcpTime(recv(end, "last"))}, {"resource", labels}, {"severity", "NOTICE"}, {"timestamp", gcpTime(end)}}
	return append(out, gcpEntry{entry: e2, time: end, received: recv(end, "last"), project: project})
}

// gcpItem is one entry in each of its shapes.
type gcpItem struct {
	project  string
	time     time.Time
	received time.Time
	entry    []byte // the LogEntry
	push     []byte // a Pub/Sub push request body carrying it
	bq       []byte // its BigQuery sink row
	dup      bool   // Pub/Sub delivered it twice (at least once)
	seq      int
}

// pushBody wraps an entry as a Pub/Sub push subscription posts it: the
// LogEntry base64-encoded in message.data.
func pushBody(g idSource, e gcpEntry, entry []byte, seq int) []byte {
	id := strconvFormat(int64(10_000_000_000_000 + g.intn(1_000_000_000, "message", string(entry[:min(len(entry), 512)]), itoa(seq))))
	pub := gcpTime(e.received.Add(120 * time.Millisecond))
	return appendJSON(nil, obj{{"message", obj{{"attributes", obj{{"logging.googleapis.com/timestamp", gcpTime(e.time)}}},
		{"data", base64.StdEncoding.EncodeToString(entry)}, {"messageId", id}, {"message_id", id}, {"publishTime", pub}, {"publish_time", pub}}},
		{"subscription", "projects/" + e.project + "/subscriptions/revertwatch-audit-push"}})
}

// bqRow is the entry as a BigQuery sink writes it: protoPayload becomes
// protopayload_auditlog, request and response JSON strings, TIMESTAMP
// columns in the export's "YYYY-MM-DD hh:mm:ss.ffffff UTC".
func bqRow(e obj) []byte {
	bqTime := func(s string) string {
		t, _ := time.Parse(time.RFC3339Nano, s)
		return t.UTC().Format("2006-01-02 15:04:05.000000") + " UTC"
	}
	var row obj
	for _, m := range e {
		switch m.k {
		case "timestamp", "receiveTimestamp":
			row = row.set(m.k, bqTime(m.v.(string)))
		case "protoPayload":
			var p obj
			for _, pm := range m.v.(obj) {
				switch pm.k {
				case "@type", "authorizationInfo":
				case "request":
					p = p.set("requestJson", string(appendJSON(nil, pm.v)))
				case "response":
					p = p.set("responseJson", string(appendJSON(nil, pm.v)))
				default:
					p = p.set(pm.k, pm.v)
				}
			}
			row = row.set("protopayload_auditlog", p)
		default:
			row = row.set(m.k, m.v)
		}
	}
	return appendJSON(nil, row)
}

// writeGCP renders Google Cloud items in one shape under prefix.
func writeGCP(shape Shape, prefix string, items []gcpItem) ([]plan, int) {
	if len(items) == 0 {
		return nil, 0
	}
	byTime := append([]gcpItem(nil), items...)
	sort.SliceStable(byTime, func(i, j int) bool { return byTime[i].time.Before(byTime[j].time) })
	byReceipt := append([]gcpItem(nil), items...)
	sort.SliceStable(byReceipt, func(i, j int) bool { return byReceipt[i].received.Before(byReceipt[j].received) })
	switch shape {
	case event.FormatGCPArray:
		// gcloud logging read --format=json: newest first.
		p := plan{path: prefix + "/gcloud-logging-read.json", wrap: wrapArray}
		for i := len(byTime) - 1; i >= 0; i-- {
			p.recs = append(p.recs, record{byTime[i].entry, byTime[i].time})
		}
		return []plan{p}, len(items)
	case event.FormatGCPEntries:
		// entries.list orders by timestamp ascending by default.
		p := plan{path: prefix + "/entries-list.json", wrap: wrapEntries}
		for _, it := range byTime {
			p.recs = append(p.recs, record{it.entry, it.time})
		}
		return []plan{p}, len(items)
	case event.FormatGCPPubSub:
		p := plan{path: prefix + "/pubsub-push.jsonl", wrap: wrapLines}
		n := 0
		for _, it := range byReceipt {
			p.recs = append(p.recs, record{it.push, it.time})
			n++
			if it.dup {
				p.recs = append(p.recs, record{it.push, it.time})
				n++
			}
		}
		return []plan{p}, n
	case event.FormatGCPBigQuery:
		type key struct {
			project string
			day     time.Time
		}
		groups := map[key][]record{}
		var keys []key
		for _, it := range byTime {
			k := key{it.project, it.time.Truncate(24 * time.Hour)}
			if _, ok := groups[k]; !ok {
				keys = append(keys, k)
			}
			groups[k] = append(groups[k], record{it.bq, it.time})
		}
		var plans []plan
		for _, k := range keys {
			plans = append(plans, plan{path: prefix + "/" + k.project + "/cloudaudit_googleapis_com_activity_" + k.day.Format("20060102") + ".jsonl",
				wrap: wrapLines, recs: groups[k]})
		}
		return plans, len(items)
	default:
		// The Cloud Storage sink: one file per project and hour of the
		// entries' time, one entry a line, in order of receipt.
		type key struct {
			project string
			hour    time.Time
		}
		groups := map[key][]record{}
		var keys []key
		for _, it := range byReceipt {
			k := key{it.project, it.time.Truncate(time.Hour)}
			if _, ok := groups[k]; !ok {
				keys = append(keys, k)
			}
			groups[k] = append(groups[k], record{it.entry, it.time})
		}
		sort.Slice(keys, func(i, j int) bool {
			if keys[i].project != keys[j].project {
				return keys[i].project < keys[j].project
			}
			return keys[i].hour.Before(keys[j].hour)
		})
		var plans []plan
		for _, k := range keys {
			plans = append(plans, plan{path: prefix + "/" + k.project + "/" + storageObject(k.hour), wrap: wrapLines, recs: groups[k]})
		}
		return plans, len(items)
	}
}

// storageObject is the object a Cloud Storage sink writes an hour of
// Admin Activity entries to (cloud.google.com/logging/docs/export/storage).
func storageObject(hour time.Time) string {
	return "cloudaudit.googleapis.com/activity/" + hour.Format("2006/01/02/15:04:05") + "_" + hour.Add(time.Hour-time.Second).Format("15:04:05") + "_S0.json"
}

// gcpResource is the resourceName of an entry, for the scenario's truth.
func gcpResource(e obj) string {
	for _, m := range e {
		if m.k == "protoPayload" {
			for _, pm := range m.v.(obj) {
				if pm.k == "resourceName" {
					return pm.v.(string)
				}
			}
		}
	}
	return ""
}

// gcpNoiseCalls are the Google Cloud background operations: metadata
// changes, resets, a managed instance group's churn, expired snapshots
// deleted, blank disks.
var gcpNoiseCalls = []Call{
	{Op: "compute.instances.setMetadata", Actor: "terraform-sa", Args: Args{Instance: "web-"}},
	{Op: "compute.instances.reset", Actor: "gcloud-admin", Args: Args{Instance: "worker-"}},
	{Op: "compute.instances.delete", Actor: "mig", Args: Args{Instance: "fe-mig-"}},
	{Op: "compute.snapshots.delete", Actor: "compute-agent", Args: Args{Snapshot: "daily-"}},
	{Op: "compute.disks.insert", Actor: "terraform-sa", Args: Args{Disk: "scratch-"}},
}

// gcpNoise renders n Google Cloud entries of the mix, spread over span
// from start, one operation in four in the second project.
func gcpNoise(seed uint64, n int, start time.Time, span time.Duration) []gcpItem {
	r := rand.New(rand.NewPCG(seed, 3))
	var items []gcpItem
	for k := 0; len(items) < n; k++ {
		call := gcpNoiseCalls[r.IntN(len(gcpNoiseCalls))]
		suffix := itoa(r.IntN(90) + 10)
		call.Instance += suffix
		call.Snapshot += suffix
		call.Disk += suffix
		project := gcpProject
		if r.IntN(4) == 0 {
			project = gcpProjectOther
		}
		g := idSource{seed: seed, scope: "gcp-background/" + itoa(k)}
		for _, e := range gcpEntries(g, &call, start.Add(spread(len(items), n, span)), project) {
			if len(items) == n {
				break
			}
			entry := appendJSON(nil, e.entry)
			items = append(items, gcpItem{project: project, time: e.time, received: e.received, entry: entry,
				push: pushBody(g, e, entry, len(items)), bq: bqRow(e.entry), seq: len(items)})
		}
	}
	return items
}
