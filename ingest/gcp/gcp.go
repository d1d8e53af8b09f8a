// Package gcp turns Google Cloud Audit Logs entries (a LogEntry whose
// protoPayload is a google.cloud.audit.AuditLog) into normalized events,
// in the shapes telemetry-gcp.md §4 describes: the LogEntry JSON itself
// (gcloud logging read, the Logs Explorer download, the Cloud Storage
// sink, the Logging API), a Pub/Sub message carrying it base64-encoded,
// and a row of the BigQuery sink (protopayload_auditlog, with the request
// and response as JSON strings).
//
// Field names follow the LogEntry reference
// (cloud.google.com/logging/docs/reference/v2/rest/v2/LogEntry), the
// AuditLog proto (googleapis google/cloud/audit/audit_log.proto) and the
// BigQuery sink schema (cloud.google.com/logging/docs/export/bigquery).
package gcp

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/netip"
	"strings"
	"time"

	"github.com/valyala/fastjson"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/internal/jsonx"
)

// Shape is the flavour of a Cloud Audit Logs record.
type Shape int

// The shapes.
const (
	NotGCP   Shape = iota
	LogEntry       // a LogEntry as the Logging API writes it
	BigQuery       // a BigQuery sink row
)

// AuditLogType is the protoPayload @type of an audit entry.
const AuditLogType = "type.googleapis.com/google.cloud.audit.AuditLog"

// Classify tells which shape of record v is, or NotGCP. A LogEntry is
// recognised by its protoPayload, or by a logName together with a
// timestamp or insertId (a log entry of another kind, which the caller
// skips); a BigQuery row by its protopayload_auditlog column.
func Classify(v *fastjson.Value) Shape {
	if v == nil || v.Type() != fastjson.TypeObject {
		return NotGCP
	}
	if pp := v.Get("protoPayload"); pp != nil && pp.Type() == fastjson.TypeObject {
		return LogEntry
	}
	if pp := jsonx.Get(v, "protopayload_auditlog"); pp != nil && pp.Type() == fastjson.TypeObject {
		return BigQuery
	}
	if ln := v.Get("logName"); ln != nil && ln.Type() == fastjson.TypeString &&
		(v.Get("timestamp") != nil || v.Get("insertId") != nil) && strings.Contains(string(ln.GetStringBytes()), "/logs/") {
		return LogEntry
	}
	return NotGCP
}

// IsAudit reports whether a LogEntry carries an AuditLog payload (a
// Classify LogEntry without one is another kind of log entry).
func IsAudit(v *fastjson.Value, shape Shape) bool {
	if shape == BigQuery {
		return true
	}
	pp := v.Get("protoPayload")
	if pp == nil || pp.Type() != fastjson.TypeObject {
		return false
	}
	t := jsonx.Str(pp.Get("@type"))
	return t == AuditLogType || t == "" && pp.Get("methodName") != nil
}

// Decoder decodes Cloud Audit Logs records. It owns the parsers for the
// JSON strings of the BigQuery shape, so one Decoder must not be used
// concurrently.
type Decoder struct {
	req, resp fastjson.Parser
}

// Decode fills ev from record v of the given shape. It never fails: what
// is missing stays empty, and guesses are noted on the event.
func (d *Decoder) Decode(v *fastjson.Value, shape Shape, ev *event.Event) {
	ev.Provider = event.GCP
	if ev.Format == "" {
		ev.Format = event.FormatGCPLogEntry
		if shape == BigQuery {
			ev.Format = event.FormatGCPBigQuery
		}
	}
	if ev.Source.Category == "" {
		ev.Source.Category = event.CategoryGCP
	}
	var pp, req, resp *fastjson.Value
	if shape == BigQuery {
		pp = jsonx.Get(v, "protopayload_auditlog")
		req = jsonx.Embedded(&d.req, jsonx.Get(pp, "requestJson"))
		resp = jsonx.Embedded(&d.resp, jsonx.Get(pp, "responseJson"))
	} else {
		pp = v.Get("protoPayload")
		req, resp = jsonx.Get(pp, "request"), jsonx.Get(pp, "response")
	}
	if req != nil && req.Type() == fastjson.TypeObject {
		ev.Request = req.MarshalTo(nil)
	} else {
		req = nil
	}
	if resp != nil && resp.Type() == fastjson.TypeObject {
		ev.Response = resp.MarshalTo(nil)
	} else {
		resp = nil
	}

	if t, ok := Time(jsonx.Get(v, "timestamp")); ok {
		ev.Time, ev.TimeField = t, "timestamp"
	} else if t, ok := Time(jsonx.Get(v, "receiveTimestamp")); ok {
		ev.Time, ev.TimeField = t, "receiveTimestamp"
		ev.Note("timestamp missing; used receiveTimestamp")
	} else {
		ev.Note("no event time")
	}
	ev.LoggedTime, _ = Time(jsonx.Get(v, "receiveTimestamp"))

	ev.OperationName = jsonx.Str(jsonx.Get(pp, "methodName"))
	ev.Operation = Method(ev.OperationName)
	if ev.Operation == "" {
		ev.Note("no methodName")
	}
	ev.Service = jsonx.Str(jsonx.Get(pp, "serviceName"))

	logName := jsonx.Str(jsonx.Get(v, "logName"))
	ev.EventType = LogType(logName)
	ev.ReadOnly = ev.EventType == "data_access"

	labels := jsonx.Path(v, "resource", "labels")
	ev.Account = logProject(logName)
	if ev.Account == "" {
		ev.Account = jsonx.Str(jsonx.Get(labels, "project_id"))
	}
	ev.ResourceID = jsonx.Str(jsonx.Get(pp, "resourceName"))
	if ev.Account == "" {
		ev.Account = Segment(ev.ResourceID, "projects")
		if ev.Account != "" {
			ev.Note("project taken from resourceName")
		}
	}
	ev.ResourceID = Canonical(ev.Account, ev.ResourceID)
	// A managed instance group writes the project number in resourceName
	// (telemetry-gcp.md §6); the resource labels carry the id.
	if p := Segment(ev.ResourceID, "projects"); p != "" && allDigits(p) {
		if id := jsonx.Str(jsonx.Get(labels, "project_id")); id != "" && !allDigits(id) {
			ev.ResourceID = "projects/" + id + ev.ResourceID[len("projects/")+len(p):]
		}
	}
	if ev.Source.Host == "" {
		ev.Source.Host = ev.Account
	}
	ev.Region = jsonx.Str(jsonx.Get(labels, "zone"))
	if ev.Region == "" {
		ev.Region = jsonx.Str(jsonx.Get(labels, "region"))
	}
	if ev.Region == "" {
		ev.Region = Segment(ev.ResourceID, "zones")
	}
	if ev.Region == "" {
		ev.Region = Segment(ev.ResourceID, "regions")
	}
	if ev.Region == "" {
		if locs := jsonx.Items(jsonx.Path(pp, "resourceLocation", "currentLocations")); len(locs) > 0 {
			ev.Region = jsonx.Str(locs[0])
		}
	}

	op := jsonx.Get(v, "operation")
	ev.CorrelationUID = jsonx.Str(jsonx.Get(op, "id"))
	outcome(v, pp, op, ev)

	insertID := jsonx.Str(jsonx.Get(v, "insertId"))
	ev.UID = recordUID(logName, insertID, ev)

	d.actor(pp, ev)
	keys(req, ev)
}

// outcome reads status, severity and the operation's first and last
// flags: a long-running operation's first entry is a pending phase, its
// last entry the outcome (folded together as Azure's phases are).
func outcome(v, pp, op *fastjson.Value, ev *event.Event) {
	status := jsonx.Get(pp, "status")
	code := jsonx.Str(jsonx.Get(status, "code"))
	if code == "0" {
		code = ""
	}
	severity := strings.ToUpper(jsonx.Str(jsonx.Get(v, "severity")))
	failed := code != ""
	switch severity {
	case "ERROR", "CRITICAL", "ALERT", "EMERGENCY":
		failed = true
	}
	if failed {
		ev.Outcome, ev.ErrorCode = event.OutcomeFailure, code
		ev.StatusCode = code
		ev.ErrorMessage = jsonx.Str(jsonx.Get(status, "message"))
		if ev.ErrorMessage == "" {
			ev.ErrorMessage = jsonx.PathStr(pp, "response", "error", "message")
		}
		if ev.CorrelationUID != "" {
			ev.Phase = event.PhaseEnd
		}
		return
	}
	first, last := jsonx.Bool(jsonx.Get(op, "first")), jsonx.Bool(jsonx.Get(op, "last"))
	switch {
	case ev.CorrelationUID == "" || first && last:
		ev.Outcome = event.OutcomeSuccess
	case first:
		ev.Phase, ev.Outcome = event.PhaseStart, event.OutcomePending
	case last:
		ev.Phase, ev.Outcome = event.PhaseEnd, event.OutcomeSuccess
	default:
		// A middle entry of an operation: neither its start nor its end.
		ev.Phase, ev.Outcome = event.PhaseAccept, event.OutcomePending
	}
}

// recordUID identifies one entry: Cloud Logging treats entries with the
// same log, timestamp and insertId as duplicates (LogEntry reference,
// insertId). The time is written in one spelling, so the same entry read
// from a LogEntry and from a BigQuery row (where the log name is the
// same string) has the same id. Without an insertId, a hash of what the
// entry says stands in.
func recordUID(logName, insertID string, ev *event.Event) string {
	t := ev.Time.UTC().Format(time.RFC3339Nano)
	if insertID != "" {
		return "gcp:" + logName + "|" + t + "|" + insertID
	}
	h := sha256.New()
	for _, s := range [...]string{logName, t, ev.CorrelationUID, ev.Operation, string(ev.Phase), ev.Outcome.String(), ev.ResourceID} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)[:16])
}

// Method normalizes a methodName: the API version Compute Engine puts in
// front (v1., beta., alpha.) is dropped, so that a call through any
// version is the same operation (telemetry-gcp.md §2).
func Method(m string) string {
	m = strings.TrimSpace(m)
	first, rest, ok := strings.Cut(m, ".")
	if !ok || rest == "" {
		return m
	}
	if first == "beta" || first == "alpha" || version(first) {
		return rest
	}
	return m
}

// version reports whether s is an API version such as v1, v1beta1,
// v2alpha.
func version(s string) bool {
	if len(s) < 2 || s[0] != 'v' || s[1] < '0' || s[1] > '9' {
		return false
	}
	rest := strings.TrimLeft(s[1:], "0123456789")
	for _, suf := range [...]string{"", "alpha", "beta"} {
		if r, ok := strings.CutPrefix(rest, suf); ok && strings.Trim(r, "0123456789") == "" {
			return true
		}
	}
	return false
}

// LogType returns the audit log of a logName: activity, system_event,
// data_access or policy ("" when it is no audit log).
func LogType(logName string) string {
	_, t, ok := strings.Cut(logName, "/logs/")
	if !ok {
		return ""
	}
	t = strings.ReplaceAll(t, "%2F", "/")
	t = strings.ReplaceAll(t, "%2f", "/")
	if rest, ok := strings.CutPrefix(t, "cloudaudit.googleapis.com/"); ok {
		return rest
	}
	return t
}

// logProject returns the project id of a projects/{id}/logs/… logName.
func logProject(logName string) string {
	rest, ok := strings.CutPrefix(logName, "projects/")
	if !ok {
		return ""
	}
	p, _, _ := strings.Cut(rest, "/")
	return p
}

// Segment returns the path segment after name/ in a resource path
// (Segment(p, "zones") is the zone of projects/p/zones/z/disks/d).
func Segment(path, name string) string {
	parts := strings.Split(path, "/")
	for i := 0; i+1 < len(parts); i++ {
		if parts[i] == name {
			return parts[i+1]
		}
	}
	return ""
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Canonical writes a Compute Engine resource reference as the path
// projects/{p}/…: the same resource is named by a full URL
// (https://www.googleapis.com/compute/v1/projects/…,
// https://compute.googleapis.com/compute/beta/…), a path from projects/,
// or a partial URL from zones/, regions/ or global/ (telemetry-gcp.md §3);
// a partial URL is in the project given. Anything else is returned
// trimmed, as written.
func Canonical(project, s string) string {
	s = strings.TrimSpace(s)
	if i := strings.Index(s, "://"); i >= 0 {
		rest := s[i+3:]
		j := strings.IndexByte(rest, '/')
		if j < 0 {
			return "" // a host without a path names no resource
		}
		s = rest[j:]
	}
	s = strings.TrimLeft(s, "/")
	if rest, ok := strings.CutPrefix(s, "compute/"); ok {
		if _, after, ok := strings.Cut(rest, "/"); ok {
			s = after
		}
	}
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		s = s[:i]
	}
	switch {
	case strings.HasPrefix(s, "projects/"):
		return s
	case project != "" && (strings.HasPrefix(s, "zones/") || strings.HasPrefix(s, "regions/") || strings.HasPrefix(s, "global/")):
		return "projects/" + project + "/" + s
	}
	return s
}

// Time reads a LogEntry time: RFC 3339 (the API), or a BigQuery
// TIMESTAMP as its JSON export writes it ("2024-05-29 16:26:40.123 UTC"),
// or what jsonx.Time reads.
func Time(v *fastjson.Value) (time.Time, bool) {
	if v != nil && v.Type() == fastjson.TypeString {
		s := strings.TrimSpace(string(v.GetStringBytes()))
		if r, ok := strings.CutSuffix(s, " UTC"); ok {
			return jsonx.ParseTime(r)
		}
	}
	return jsonx.Time(v)
}

// actor reads authenticationInfo and requestMetadata.
func (d *Decoder) actor(pp *fastjson.Value, ev *event.Event) {
	auth := jsonx.Get(pp, "authenticationInfo")
	email := jsonx.Str(jsonx.Get(auth, "principalEmail"))
	subject := jsonx.Str(jsonx.Get(auth, "principalSubject"))
	a := &ev.Actor
	a.Name = email
	a.UID = subject
	if a.UID == "" && email != "" {
		if strings.HasSuffix(email, ".gserviceaccount.com") {
			a.UID = "serviceAccount:" + email
		} else {
			a.UID = "user:" + email
		}
	}
	if t, _, ok := strings.Cut(a.UID, ":"); ok {
		a.Type = t
	}
	a.AccessKeyID = jsonx.Str(jsonx.Get(auth, "serviceAccountKeyName"))
	for _, di := range jsonx.Items(jsonx.Get(auth, "serviceAccountDelegationInfo")) {
		p := jsonx.PathStr(di, "firstPartyPrincipal", "principalEmail")
		if p == "" {
			p = jsonx.Str(jsonx.Get(di, "principalSubject"))
		}
		if p == "" {
			if tp := jsonx.Get(di, "thirdPartyPrincipal"); tp != nil {
				p = "thirdParty:" + string(tp.MarshalTo(nil))
			}
		}
		if p != "" && a.Delegation != "" {
			a.Delegation += ", " + p
		} else if p != "" {
			a.Delegation = p
		}
	}
	ev.Caller = email
	if ev.Caller == "" {
		ev.Caller = subject
	}
	a.ServiceInitiated = ev.EventType == "system_event" || ServiceAgent(email)
	if ev.Caller == "" && ev.EventType == "system_event" {
		ev.Caller = "system@google.com"
		ev.Note("system event without a principal: caller system@google.com")
	}

	md := jsonx.Get(pp, "requestMetadata")
	ip := jsonx.Str(jsonx.Get(md, "callerIp"))
	if _, err := netip.ParseAddr(ip); err == nil {
		ev.SrcIP = ip
	} else {
		ev.SrcDomain = ip // "private", "gce-internal-ip", or redacted
	}
	ev.UserAgent = jsonx.Str(jsonx.Get(md, "callerSuppliedUserAgent"))
}

// ServiceAgent reports whether an email is one Google manages for a
// service acting on a project's behalf (telemetry-gcp.md §5): the Google
// APIs service agent of managed instance groups
// (N@cloudservices.gserviceaccount.com), a service agent
// (service-N@….iam.gserviceaccount.com), or the platform itself.
func ServiceAgent(email string) bool {
	e := strings.ToLower(email)
	switch {
	case e == "system@google.com":
		return true
	case strings.HasSuffix(e, "@cloudservices.gserviceaccount.com"):
		return true
	case strings.HasPrefix(e, "service-") && strings.HasSuffix(e, ".iam.gserviceaccount.com"):
		local := strings.TrimPrefix(e[:strings.IndexByte(e, '@')], "service-")
		return allDigits(local)
	}
	return false
}

// errNoData is a Pub/Sub message without data.
var errNoData = errors.New("no data member")

// IsPubSub reports whether v is a Pub/Sub message carrying data: a push
// request body {"message":{"data":…},"subscription":…}, a pulled
// {"ackId":…,"message":{…}}, or a bare PubsubMessage with data and one
// of attributes, messageId, message_id, publishTime, publish_time.
func IsPubSub(v *fastjson.Value) bool {
	if v == nil || v.Type() != fastjson.TypeObject {
		return false
	}
	if m := v.Get("message"); m != nil && m.Type() == fastjson.TypeObject && m.Get("data") != nil {
		return true
	}
	if v.Get("data") == nil {
		return false
	}
	for _, k := range [...]string{"attributes", "messageId", "message_id", "publishTime", "publish_time"} {
		if v.Get(k) != nil {
			return true
		}
	}
	return false
}

// Message is what a Pub/Sub wrapper says besides its data.
type Message struct {
	// Data is the message data decoded from base64 (or, as the Splunk
	// add-on writes it, the JSON object given in place of the string).
	Data         []byte
	ID           string
	Subscription string
	Published    time.Time
}

// PubSub unwraps a message IsPubSub recognised.
func PubSub(v *fastjson.Value) (Message, error) {
	var m Message
	msg := v
	if inner := v.Get("message"); inner != nil && inner.Type() == fastjson.TypeObject {
		msg = inner
		m.Subscription = jsonx.Str(v.Get("subscription"))
	}
	m.ID = jsonx.Str(msg.Get("messageId"))
	if m.ID == "" {
		m.ID = jsonx.Str(msg.Get("message_id"))
	}
	for _, k := range [...]string{"publishTime", "publish_time"} {
		if t, ok := Time(msg.Get(k)); ok {
			m.Published = t
			break
		}
	}
	data := msg.Get("data")
	switch {
	case data == nil:
		return m, errNoData
	case data.Type() == fastjson.TypeObject:
		m.Data = data.MarshalTo(nil)
		return m, nil
	case data.Type() != fastjson.TypeString:
		return m, errors.New("data is neither a base64 string nor an object")
	}
	s := data.GetStringBytes()
	var err error
	for _, enc := range [...]*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		out := make([]byte, enc.DecodedLen(len(s)))
		var n int
		if n, err = enc.Decode(out, s); err == nil {
			m.Data = out[:n]
			return m, nil
		}
	}
	return m, errors.New("data is not base64: " + err.Error())
}
