package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/valyala/fastjson"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/ingest/azure"
	"github.com/revertwatch/revertwatch/ingest/cloudtrail"
	"github.com/revertwatch/revertwatch/internal/jsonx"
)

// Console exports: the CSV files a responder downloads from a web console.
//
//   - The CloudTrail console's Event history, "Download events" → CSV
//     (docs.aws.amazon.com/awscloudtrail/latest/userguide/view-cloudtrail-events-console.html).
//     Its columns are the ones the Event history table can show: Event
//     name, Event time, User name, Event source, Resource type, Resource
//     name, AWS access key, AWS region, Error code, Source IP address,
//     Event ID, Read-only (and, in some downloads, Resources as the
//     LookupEvents API gives them: a JSON list of {ResourceType,
//     ResourceName}, and CloudTrail event, the whole record). The JSON
//     download is {"Records":[...]} of whole records, read as an S3
//     delivery file.
//   - The Azure portal's Activity log, "Download as CSV"
//     (learn.microsoft.com/azure/azure-monitor/essentials/activity-log):
//     Operation name (the operation's display name, "Create or Update
//     Disk"), Status, Time stamp, Subscription, Event initiated by,
//     Resource group, Resource type, Resource, Event category,
//     Correlation id.
//
// Columns are found by their header, in any order and case; a column
// missing from a download leaves its field empty. Neither format carries
// request or response bodies: the keys of a CloudTrail row come from its
// resources, those of an Azure row from its resource id, and each event
// says so in its notes (event.Format.Bodyless).

// consoleKind is which console CSV a header is.
type consoleKind uint8

const (
	notConsole consoleKind = iota
	consoleCloudTrail
	consoleAzure
)

// Column names, lower-cased with single spaces, and the other spellings
// a download uses for them.
var (
	ctColumns = map[string][]string{
		"name":      {"event name", "eventname"},
		"time":      {"event time", "eventtime"},
		"user":      {"user name", "username"},
		"source":    {"event source", "eventsource"},
		"rtype":     {"resource type", "resource types"},
		"rname":     {"resource name", "resource names"},
		"resources": {"resources"},
		"key":       {"aws access key", "access key", "access key id", "accesskeyid"},
		"region":    {"aws region", "region", "awsregion"},
		"error":     {"error code", "errorcode"},
		"ip":        {"source ip address", "source ip", "sourceipaddress"},
		"id":        {"event id", "eventid"},
		"readonly":  {"read-only", "read only", "readonly"},
		"category":  {"event category", "eventcategory"},
		"record":    {"cloudtrail event", "cloudtrailevent"},
	}
	azColumns = map[string][]string{
		"op":       {"operation name", "operation", "operationname"},
		"status":   {"status"},
		"stamp":    {"time stamp", "timestamp", "event timestamp"},
		"time":     {"time"},
		"sub":      {"subscription", "subscription id", "subscriptionid"},
		"caller":   {"event initiated by", "caller"},
		"rg":       {"resource group", "resourcegroup"},
		"rtype":    {"resource type", "resourcetype"},
		"resource": {"resource", "resource id", "resourceid"},
		"category": {"event category", "category"},
		"corr":     {"correlation id", "correlationid"},
		"opid":     {"operation id", "operationid"},
		"level":    {"level"},
	}
)

// consoleHeader is the column index of each field of a recognised header.
type consoleHeader struct {
	kind  consoleKind
	index map[string]int
	n     int
}

// normColumn lower-cases a header cell and collapses its spaces.
func normColumn(s string) string {
	s = strings.TrimPrefix(s, "\ufeff")
	return strings.Join(strings.Fields(strings.ToLower(s)), " ")
}

// recogniseConsole tells which console export a header row is.
func recogniseConsole(cells []string) consoleHeader {
	at := map[string]int{}
	for i, c := range cells {
		if _, dup := at[normColumn(c)]; !dup {
			at[normColumn(c)] = i
		}
	}
	match := func(cols map[string][]string) map[string]int {
		idx := map[string]int{}
		for f, names := range cols {
			for _, n := range names {
				if i, ok := at[n]; ok {
					idx[f] = i
					break
				}
			}
		}
		return idx
	}
	ct := match(ctColumns)
	if _, n := ct["name"]; n {
		if _, t := ct["time"]; t {
			return consoleHeader{kind: consoleCloudTrail, index: ct, n: len(cells)}
		}
	}
	az := match(azColumns)
	_, op := az["op"]
	_, stamp := az["stamp"]
	_, tm := az["time"]
	_, caller := az["caller"]
	_, res := az["resource"]
	if op && (stamp || tm) && (caller || res) {
		return consoleHeader{kind: consoleAzure, index: az, n: len(cells)}
	}
	return consoleHeader{}
}

// cell returns the row's value of field f, or "".
func (h *consoleHeader) cell(row []string, f string) string {
	if i, ok := h.index[f]; ok && i < len(row) {
		return strings.TrimSpace(row[i])
	}
	return ""
}

// consoleCSV reads a console CSV download whose first line is its header.
// It reports false, having read nothing it cannot give back, when the
// first row is not a header it knows: the caller then says what the file
// is.
func (d *fileDecoder) consoleCSV(r io.Reader) bool {
	rows := newCSVRows(r, d.opt.maxRecord())
	defer func() { d.stats.Bytes += rows.off }()
	var hdr consoleHeader
	for {
		cells, pos, dmg, ok := rows.next()
		if !ok {
			break
		}
		if hdr.kind == notConsole {
			if dmg == nil {
				hdr = recogniseConsole(cells)
			}
			if hdr.kind == notConsole {
				return false
			}
			continue
		}
		index := d.index
		d.index++
		d.stats.Records++
		if dmg != nil {
			d.report(Rejected, pos, index, "damaged CSV row",
				fmt.Sprintf("row %d is damaged: %s; skipped its first line (%d bytes) and read on from line %d", index+1, dmg.msg, dmg.skipped, pos.line+1))
			continue
		}
		if len(cells) != hdr.n {
			d.report(Rejected, pos, index, "CSV row of the wrong width",
				fmt.Sprintf("row %d has %d fields where the header has %d; rejected", index+1, len(cells), hdr.n))
			continue
		}
		switch hdr.kind {
		case consoleCloudTrail:
			d.cloudTrailRow(&hdr, cells, pos, index)
		case consoleAzure:
			d.azureRow(&hdr, cells, pos, index)
		}
	}
	if err := rows.err; err != nil {
		pos := recordPos{rows.off, rows.line}
		switch {
		case errors.Is(err, io.ErrUnexpectedEOF) && d.stats.Gzip:
			d.report(FileErr, pos, -1, "truncated", fmt.Sprintf("gzip stream truncated after %d bytes of CSV; rows before the damage were kept", rows.off))
		case d.stats.Gzip:
			d.report(FileErr, pos, -1, "gzip", fmt.Sprintf("gzip stream damaged after %d bytes of CSV: %v; rows before the damage were kept", rows.off, err))
		default:
			d.report(FileErr, pos, -1, "read", fmt.Sprintf("read error: %v", err))
		}
	}
	if hdr.kind == notConsole {
		return false
	}
	return true
}

// consoleTimeLayouts are the ways a console writes a time: ISO 8601, the
// console table's "January 2, 2006, 15:04:05 (UTC-07:00)", a browser's
// Date.toString "Mon Jan 02 2006 15:04:05 GMT-0700 (zone name)", and a
// locale's "1/2/2006, 3:04:05 PM" (read as UTC).
var consoleTimeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"January 2, 2006, 15:04:05 (UTC-07:00)",
	"January 2, 2006, 15:04:05 (UTC)",
	"Jan 2, 2006, 15:04:05 (UTC-07:00)",
	"Mon Jan 02 2006 15:04:05 GMT-0700",
	"1/2/2006, 3:04:05 PM",
	"1/2/2006 3:04:05 PM",
	"1/2/2006, 15:04:05",
}

// parenZone is a trailing zone name a browser adds: " (Coordinated Universal Time)".
var parenZone = regexp.MustCompile(`\s+\([A-Za-z][A-Za-z .'-]*\)$`)

// parseConsoleTime reads a console's time; local says the text named no
// zone and was read as UTC.
func parseConsoleTime(s string) (t time.Time, local, ok bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, false, false
	}
	if t, ok := jsonx.ParseTime(s); ok {
		return t, !hasZone(s), true
	}
	s2 := parenZone.ReplaceAllString(s, "")
	for _, l := range consoleTimeLayouts {
		if t, err := time.Parse(l, s2); err == nil {
			return t.UTC(), !hasZone(s2), true
		}
	}
	return time.Time{}, false, false
}

// zoneSuffix is a numeric zone at the end of a time.
var zoneSuffix = regexp.MustCompile(`[+-]\d\d:?\d\d\)?$`)

// hasZone reports whether a written time names its zone.
func hasZone(s string) bool {
	if strings.Trim(s, "0123456789.") == "" {
		return true // an epoch time
	}
	u := strings.ToUpper(s)
	return strings.HasSuffix(u, "Z") || strings.Contains(u, "UTC") || strings.Contains(u, "GMT") || zoneSuffix.MatchString(s)
}

// consoleResource is one resource a CloudTrail row names.
type consoleResource struct {
	Type string `json:"type"`
	Name string `json:"name"`
}

// ctResources reads a row's resources: the Resources column as a JSON
// list of {ResourceType, ResourceName} (any case), else the Resource type
// and Resource name columns as comma-separated lists paired in order.
func ctResources(hdr *consoleHeader, row []string) []consoleResource {
	var out []consoleResource
	if s := hdr.cell(row, "resources"); strings.HasPrefix(s, "[") {
		var list []map[string]any
		if json.Unmarshal([]byte(s), &list) == nil {
			for _, m := range list {
				var r consoleResource
				for k, v := range m {
					sv, _ := v.(string)
					switch strings.ToLower(k) {
					case "resourcetype", "type":
						r.Type = sv
					case "resourcename", "name":
						r.Name = sv
					}
				}
				if r.Name != "" {
					out = append(out, r)
				}
			}
			return out
		}
	}
	split := func(s string) []string {
		var parts []string
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				parts = append(parts, p)
			}
		}
		return parts
	}
	types, names := split(hdr.cell(row, "rtype")), split(hdr.cell(row, "rname"))
	for i, n := range names {
		r := consoleResource{Name: n}
		if i < len(types) {
			r.Type = types[i]
		}
		out = append(out, r)
	}
	return out
}

// ctRecord is the CloudTrail record a row stands for, in CloudTrail's own
// member names, holding only what the row has.
type ctRecord struct {
	EventTime     string            `json:"eventTime"`
	EventSource   string            `json:"eventSource,omitempty"`
	EventName     string            `json:"eventName"`
	AWSRegion     string            `json:"awsRegion,omitempty"`
	SourceIP      string            `json:"sourceIPAddress,omitempty"`
	UserIdentity  *ctIdentity       `json:"userIdentity,omitempty"`
	ErrorCode     string            `json:"errorCode,omitempty"`
	EventID       string            `json:"eventID,omitempty"`
	ReadOnly      *bool             `json:"readOnly,omitempty"`
	EventCategory string            `json:"eventCategory,omitempty"`
	Resources     []consoleResource `json:"resources,omitempty"`
}

type ctIdentity struct {
	UserName    string `json:"userName,omitempty"`
	AccessKeyID string `json:"accessKeyId,omitempty"`
}

// cloudTrailRow decodes one row of the CloudTrail console's CSV.
func (d *fileDecoder) cloudTrailRow(hdr *consoleHeader, row []string, pos recordPos, index int) {
	reject := func(reason, msg string) { d.report(Rejected, pos, index, reason, msg) }
	// A download that carries the whole record is read as the record.
	if s := hdr.cell(row, "record"); strings.HasPrefix(s, "{") {
		raw := []byte(s)
		v, err := parseStrict(&d.inner, raw)
		if err != nil || !cloudtrail.IsRecord(v) {
			reject("malformed CloudTrail event", fmt.Sprintf("the CloudTrail event column of row %d is not a CloudTrail record; rejected", index+1))
			return
		}
		ev := d.newEvent(raw, pos, index, 0, event.FormatCloudTrailLookup)
		cloudtrail.Decode(v, ev)
		d.out(ev)
		return
	}
	name := hdr.cell(row, "name")
	if name == "" {
		reject("no operation", fmt.Sprintf("row %d has no Event name; rejected", index+1))
		return
	}
	t, local, ok := parseConsoleTime(hdr.cell(row, "time"))
	if !ok {
		reject("no readable event time", fmt.Sprintf("row %d: Event time %q is not a time; rejected", index+1, hdr.cell(row, "time")))
		return
	}
	rec := ctRecord{
		EventTime: t.Format(time.RFC3339Nano), EventSource: hdr.cell(row, "source"), EventName: name,
		AWSRegion: hdr.cell(row, "region"), SourceIP: hdr.cell(row, "ip"), ErrorCode: hdr.cell(row, "error"),
		EventID: hdr.cell(row, "id"), EventCategory: hdr.cell(row, "category"), Resources: ctResources(hdr, row),
	}
	if u, k := hdr.cell(row, "user"), hdr.cell(row, "key"); u != "" || k != "" {
		rec.UserIdentity = &ctIdentity{UserName: u, AccessKeyID: k}
	}
	switch strings.ToLower(hdr.cell(row, "readonly")) {
	case "true":
		b := true
		rec.ReadOnly = &b
	case "false":
		b := false
		rec.ReadOnly = &b
	}
	raw, _ := json.Marshal(rec)
	v, err := d.inner.ParseBytes(raw)
	if err != nil {
		reject("malformed CSV row", fmt.Sprintf("row %d: %s", index+1, shortErr(err)))
		return
	}
	ev := d.newEvent(raw, pos, index, 0, event.FormatCloudTrailConsoleCSV)
	cloudtrail.Decode(v, ev)
	ev.Notes = nil // what the record lacks is said once, below
	ev.Note(event.FormatCloudTrailConsoleCSV.Bodyless())
	if local {
		ev.Note("Event time has no zone; read as UTC")
	}
	if ev.Caller == "" && rec.UserIdentity != nil {
		// No ARN: the user name (else the access key) is who called.
		ev.Caller = rec.UserIdentity.UserName
		if ev.Caller == "" {
			ev.Caller = rec.UserIdentity.AccessKeyID
		}
	}
	keys := make([]cloudtrail.Resource, len(rec.Resources))
	for i, r := range rec.Resources {
		keys[i] = cloudtrail.Resource{Type: r.Type, Name: r.Name}
	}
	if unplaced := cloudtrail.ResourceKeys(ev, keys); len(unplaced) > 0 {
		ev.Note("resources whose part in the call the row does not say (not used as keys): " + strings.Join(unplaced, ", "))
	}
	d.out(ev)
}

// azRecord is the Activity Log record (REST shape) a portal row stands
// for, holding only what the row has.
type azRecord struct {
	EventTimestamp string   `json:"eventTimestamp"`
	OperationName  azValue  `json:"operationName"`
	Status         *azValue `json:"status,omitempty"`
	Caller         string   `json:"caller,omitempty"`
	ResourceID     string   `json:"resourceId,omitempty"`
	SubscriptionID string   `json:"subscriptionId,omitempty"`
	ResourceGroup  string   `json:"resourceGroupName,omitempty"`
	ResourceType   *azValue `json:"resourceType,omitempty"`
	Category       *azValue `json:"category,omitempty"`
	CorrelationID  string   `json:"correlationId,omitempty"`
	OperationID    string   `json:"operationId,omitempty"`
	Level          string   `json:"level,omitempty"`
}

type azValue struct {
	Value          string `json:"value"`
	LocalizedValue string `json:"localizedValue,omitempty"`
}

// guid matches an Azure subscription id.
var guid = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// azureRow decodes one row of the Azure portal's Activity log CSV.
func (d *fileDecoder) azureRow(hdr *consoleHeader, row []string, pos recordPos, index int) {
	reject := func(reason, msg string) { d.report(Rejected, pos, index, reason, msg) }
	display := hdr.cell(row, "op")
	if display == "" {
		reject("no operation", fmt.Sprintf("row %d has no Operation name; rejected", index+1))
		return
	}
	stamp := hdr.cell(row, "stamp")
	t, local, ok := parseConsoleTime(stamp)
	if !ok {
		stamp = hdr.cell(row, "time")
		t, local, ok = parseConsoleTime(stamp)
	}
	if !ok {
		reject("no readable event time", fmt.Sprintf("row %d: Time stamp %q is not a time; rejected", index+1, hdr.cell(row, "stamp")))
		return
	}
	rtype := hdr.cell(row, "rtype")
	op, mapped := azure.OperationFromDisplay(display, rtype)
	sub, rg := hdr.cell(row, "sub"), hdr.cell(row, "rg")
	rid := hdr.cell(row, "resource")
	var notes []string
	if event.ARMSubscription(rid) == "" {
		if guid.MatchString(sub) && rg != "" && rtype != "" && rid != "" {
			rid = "/subscriptions/" + sub + "/resourceGroups/" + rg + "/providers/" + rtype + "/" + rid
			notes = append(notes, "resource id built from the Subscription, Resource group, Resource type and Resource columns")
		} else if rid != "" {
			notes = append(notes, fmt.Sprintf("Resource %q is not a resource id and the row has not what it takes to build one; no resource keys", rid))
			rid = ""
		}
	}
	rec := azRecord{
		EventTimestamp: t.Format(time.RFC3339Nano),
		OperationName:  azValue{Value: op, LocalizedValue: display},
		Caller:         hdr.cell(row, "caller"), ResourceID: rid, ResourceGroup: rg,
		CorrelationID: hdr.cell(row, "corr"), OperationID: hdr.cell(row, "opid"), Level: hdr.cell(row, "level"),
	}
	if guid.MatchString(sub) {
		rec.SubscriptionID = sub
	} else if sub != "" {
		notes = append(notes, fmt.Sprintf("Subscription %q is a name, not an id: the account is the resource id's subscription", sub))
	}
	if s := hdr.cell(row, "status"); s != "" {
		rec.Status = &azValue{Value: s}
	}
	if rtype != "" {
		rec.ResourceType = &azValue{Value: rtype}
	}
	if c := hdr.cell(row, "category"); c != "" {
		rec.Category = &azValue{Value: c}
	}
	raw, _ := json.Marshal(rec)
	v, err := d.inner.ParseBytes(raw)
	if err != nil || v.Type() != fastjson.TypeObject {
		reject("malformed CSV row", fmt.Sprintf("row %d: %v", index+1, err))
		return
	}
	ev := d.newEvent(raw, pos, index, 0, event.FormatAzurePortalCSV)
	d.az.Decode(v, azure.REST, ev)
	ev.Notes = nil
	ev.Note(event.FormatAzurePortalCSV.Bodyless())
	if !mapped {
		ev.Note(fmt.Sprintf("Operation name %q is a display name with no known operation id; kept as written", display))
	}
	if local {
		ev.Note("Time stamp has no zone; read as UTC")
	}
	for _, n := range notes {
		ev.Note(n)
	}
	d.out(ev)
}

// sniffConsole reports whether the start of a stream is a header line
// naming a console export's columns.
func sniffConsole(head []byte) bool {
	head = bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	line, _, _ := bytes.Cut(head, []byte("\n"))
	rows := newCSVRows(bytes.NewReader(line), len(line)+1)
	cells, _, dmg, ok := rows.next()
	return ok && dmg == nil && recogniseConsole(cells).kind != notConsole
}
