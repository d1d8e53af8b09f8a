package ingest

import (
	"bytes"
	"strings"
	"time"
	"unsafe"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/internal/jsonx"
)

// liteScanner holds the top-level members of the record being decoded
// without a tree (Options.Want).
type liteScanner struct {
	members []jsonx.Member // the record's: own, or indexed by the splitter
	own     []jsonx.Member
	idx     [len(liteKeys)]int // the first member of each of liteKeys, or -1
	checked bool               // scan accepted the record: it is JSON as parseStrict checks it
}

// liteKeys are the member names light looks up on every record: one pass
// over the members finds them all.
var liteKeys = [...]string{
	"detail-type", "detail", "messageType", "logEvents", "awslogs", "CloudTrailEvent", "EventId", "EventName",
	"digestStartTime", "digestPublicKeyFingerprint", "eventType", "generator", "eventVersion", "eventSource",
	"eventName", "userIdentity", "awsRegion", "OperationNameValue", "TimeGenerated", "Caller", "operationName",
	"eventTimestamp", "time", "resourceId", "resultType", "eventTime", "recipientAccountId",
}

// liteSlot maps a name of liteKeys to its place (a switch: cheaper than a
// map for names that mostly miss).
func liteSlot(key string) (int, bool) {
	switch key {
	case "detail-type":
		return 0, true
	case "detail":
		return 1, true
	case "messageType":
		return 2, true
	case "logEvents":
		return 3, true
	case "awslogs":
		return 4, true
	case "CloudTrailEvent":
		return 5, true
	case "EventId":
		return 6, true
	case "EventName":
		return 7, true
	case "digestStartTime":
		return 8, true
	case "digestPublicKeyFingerprint":
		return 9, true
	case "eventType":
		return 10, true
	case "generator":
		return 11, true
	case "eventVersion":
		return 12, true
	case "eventSource":
		return 13, true
	case "eventName":
		return 14, true
	case "userIdentity":
		return 15, true
	case "awsRegion":
		return 16, true
	case "OperationNameValue":
		return 17, true
	case "TimeGenerated":
		return 18, true
	case "Caller":
		return 19, true
	case "operationName":
		return 20, true
	case "eventTimestamp":
		return 21, true
	case "time":
		return 22, true
	case "resourceId":
		return 23, true
	case "resultType":
		return 24, true
	case "eventTime":
		return 25, true
	case "recipientAccountId":
		return 26, true
	}
	return 0, false
}

// scan checks buf and indexes its members (see jsonx.Members), unless the
// splitter did (pre).
func (s *liteScanner) scan(buf []byte, pre []jsonx.Member) bool {
	if pre != nil {
		s.members = pre // the chunk's: never appended to here
	} else {
		var ok bool
		if s.own, ok = jsonx.Members(buf, s.own[:0]); !ok {
			return false
		}
		s.members = s.own
	}
	s.checked = true
	for i := range s.idx {
		s.idx[i] = -1
	}
	for i := range s.members {
		if k, found := liteSlot(string(s.members[i].Key)); found && s.idx[k] < 0 {
			s.idx[k] = i
		}
	}
	return true
}

// span is where a member's value is in the record: buf[off:off+n]; n 0
// for none.
type span struct{ off, n int }

// of returns the span's bytes in raw, a copy of the record or the record
// itself, or nil for none.
func (sp span) of(raw []byte) []byte {
	if sp.n == 0 || sp.off+sp.n > len(raw) {
		return nil
	}
	return raw[sp.off : sp.off+sp.n : sp.off+sp.n]
}

// compactBody returns the span in buf, the record the scanner indexed, of
// its member key when that is an object or an array written compactly
// (jsonx.Compact), as fastjson's MarshalTo would write it.
func (s *liteScanner) compactBody(buf []byte, key string) span {
	m := s.get(key)
	if m == nil || m.Kind != '{' && m.Kind != '[' || !jsonx.Compact(m.Val) {
		return span{}
	}
	// m.Val is a slice of buf, or of the chunk buf is a slice of:
	// their capacities end together.
	off := cap(buf) - cap(m.Val)
	if off < 0 || off+len(m.Val) > len(buf) || unsafe.SliceData(buf[off:]) != unsafe.SliceData(m.Val) {
		return span{}
	}
	return span{off: off, n: len(m.Val)}
}

// notCloudTrail reports whether the record has a member that classify
// tests, after the ones light tests itself, before it tests for a
// CloudTrail record: a Pub/Sub message, a Cloud Logging entry, an AWS
// Config item or notification, a Security Hub or GuardDuty finding.
// Without one, a record light takes for CloudTrail is CloudTrail to
// classify too.
func (s *liteScanner) notCloudTrail() bool {
	for i := range s.members {
		switch k := s.members[i].Key; string(k) {
		case "message", "data", "protoPayload", "logName", "messageType", "configRuleName", "configurationItemCaptureTime",
			"configurationItemStatus", "SchemaVersion", "Findings", "service":
			return true
		default:
			// gcp.Classify looks this one up in any letter case.
			if len(k) == len("protopayload_auditlog") && equalFold(k, "protopayload_auditlog") {
				return true
			}
		}
	}
	return false
}

// get returns the first member named key, as fastjson's Get would.
func (s *liteScanner) get(key string) *jsonx.Member {
	if k, found := liteSlot(key); found {
		if i := s.idx[k]; i >= 0 {
			return &s.members[i]
		}
		return nil
	}
	for i := range s.members {
		if string(s.members[i].Key) == key {
			return &s.members[i]
		}
	}
	return nil
}

func (s *liteScanner) has(key string) bool { return s.get(key) != nil }

// getFold returns the member named key, or else one named so in another
// letter case, as jsonx.Get (which the Azure decoder uses) would.
func (s *liteScanner) getFold(key string) *jsonx.Member {
	if m := s.get(key); m != nil {
		return m
	}
	for i := range s.members {
		if equalFold(s.members[i].Key, key) {
			return &s.members[i]
		}
	}
	return nil
}

// plain returns a member's text when it is a string without escapes; ok
// is false when the member is absent, and known is false when it is there
// but not such a string (the full decoder must read it).
func (s *liteScanner) plain(key string) (text []byte, ok, known bool) {
	return plainText(s.get(key))
}

// plainFold is plain with getFold.
func (s *liteScanner) plainFold(key string) (text []byte, ok, known bool) {
	return plainText(s.getFold(key))
}

func plainText(m *jsonx.Member) (text []byte, ok, known bool) {
	if m == nil {
		return nil, false, true
	}
	if m.Kind != '"' || m.Esc {
		return nil, true, false
	}
	return m.Val, true, true
}

// light decodes a record into a partial event when Options.Want refuses
// its operation, and reports whether it did. It takes only the cases it
// can decode exactly as the full decoder would: an auto-detected
// CloudTrail record or Azure export record, valid JSON (the same check as
// parseStrict, so bad input still goes the full way and is reported),
// with its time, operation and account as plain strings. Anything else
// goes to the full decoder.
func (d *fileDecoder) light(buf []byte, pos recordPos, index int, envelope string) bool {
	if d.forced != "" && d.forced != FormatAuto || envelope == "logEvents" || envelope == "Events" {
		return false
	}
	s := &d.lite
	if !s.scan(buf, d.pre) {
		return false
	}
	// The same order of tests as classify: anything that is not plainly
	// a CloudTrail record or an Azure export record is left alone.
	if s.has("detail-type") && s.has("detail") || s.has("messageType") && s.has("logEvents") || s.has("awslogs") ||
		s.has("CloudTrailEvent") || s.has("EventId") && s.has("EventName") ||
		s.has("digestStartTime") || s.has("digestPublicKeyFingerprint") {
		return false
	}
	if t, ok, known := s.plain("eventType"); !known || ok && string(t) == "AwsCloudTrailInsight" {
		return false
	}
	if g, ok, known := s.plain("generator"); !known || ok && bytes.HasPrefix(g, []byte("revertwatch emulate")) {
		return false
	}
	switch {
	case s.has("eventVersion") || s.has("eventSource") || s.has("eventName") && (s.has("userIdentity") || s.has("awsRegion")):
		if d.lightCloudTrail(buf, pos, index, envelope) {
			return true
		}
		if envelope != "receivedMessages" && !s.notCloudTrail() {
			// What classify would say: the full decoder need not ask
			// again, nor write out again the bodies the record holds
			// as it would write them.
			d.kind = FormatCloudTrail
			d.req, d.resp = s.compactBody(buf, "requestParameters"), s.compactBody(buf, "responseElements")
		}
		return false
	case s.has("OperationNameValue") || s.has("TimeGenerated") && s.has("Caller"):
		return false // Log Analytics
	}
	op := s.get("operationName")
	if op == nil || op.Kind != '"' || op.Esc || s.has("eventTimestamp") {
		return false // not Azure, or the REST shape
	}
	if !s.has("time") && !s.has("resourceId") && !s.has("resultType") {
		return false
	}
	return d.lightAzure(buf, pos, index, envelope, d.intern(op.Val))
}

// lightTime reads a time member written as a string, as jsonx.Time does.
func lightTime(t []byte, ok, known bool) (time.Time, bool) {
	if !ok || !known {
		return time.Time{}, false
	}
	return jsonx.ParseTime(string(t))
}

// partialKind is how much of an event a partial decode fills.
type partialKind uint8

const (
	partialNone  partialKind = iota // decode in full
	partialScope                    // Options.Want refused the operation
	partialQuery                    // Options.QueryFields
)

func (d *fileDecoder) partial(provider, op string) partialKind {
	switch {
	case d.opt.Want != nil && !d.opt.Want(provider, op):
		return partialScope
	case d.opt.QueryFields:
		return partialQuery
	}
	return partialNone
}

func (d *fileDecoder) lightCloudTrail(buf []byte, pos recordPos, index int, envelope string) bool {
	s := &d.lite
	name, ok, known := s.plain("eventName")
	if !ok || !known || len(name) == 0 {
		return false
	}
	kind := d.partial(event.AWS, d.intern(name))
	if kind == partialNone {
		return false
	}
	var caller string
	if kind == partialQuery || d.selects() {
		if caller, ok = d.cloudTrailCaller(); !ok {
			return false
		}
	}
	t, tok := lightTime(s.plain("eventTime"))
	account, aok, aknown := s.plain("recipientAccountId")
	region, _, rknown := s.plain("awsRegion")
	if !tok || !aok || !aknown || len(account) == 0 || !rknown {
		return false // the full decoder looks further (another time field, the actor's account)
	}
	ev := d.newPartial(pos, index, cloudTrailFormat(envelope))
	if kind == partialQuery || d.selects() {
		ev.Raw = d.partialRaw(buf)
		ev.Caller = caller
	}
	ev.Provider = event.AWS
	ev.Time, ev.TimeField = t, "eventTime"
	ev.Operation = d.intern(name)
	ev.OperationName = ev.Operation
	ev.Account = d.intern(account)
	ev.Region = d.intern(region)
	if ev.Source.Category == "" {
		ev.Source.Category = event.CategoryAWS
	}
	if ev.Source.Host == "" {
		ev.Source.Host = ev.Account
	}
	return d.outPartial(ev)
}

func (d *fileDecoder) lightAzure(buf []byte, pos recordPos, index int, envelope, opName string) bool {
	s := &d.lite
	op := d.lower(opName)
	if op == "" {
		return false
	}
	kind := d.partial(event.Azure, op)
	if kind == partialNone {
		return false
	}
	t, tok := lightTime(s.plainFold("time"))
	if !tok {
		return false
	}
	sub, sok, sknown := s.plainFold("subscriptionId")
	if !sknown {
		return false
	}
	account := sub
	if !sok || len(account) == 0 {
		id, idok, idknown := s.plainFold("resourceId")
		if !idok || !idknown || len(id) == 0 {
			return false
		}
		account = event.ARMSubscription(id)
	}
	var caller, group string
	if kind == partialQuery {
		var ok bool
		if group, ok = s.resourceGroup(); !ok {
			return false
		}
		if caller, ok = d.azureCaller(); !ok {
			return false
		}
	}
	f := event.FormatAzureStorage
	if envelope == "records" {
		f = event.FormatAzureEventHub
	}
	ev := d.newPartial(pos, index, f)
	switch {
	case kind == partialQuery:
		ev.Raw = d.partialRaw(buf)
		ev.Caller, ev.ResourceGroup = caller, group
	case d.selects():
		ev.Raw = d.partialRaw(buf)
	}
	ev.Provider = event.Azure
	ev.Time, ev.TimeField = t, "time"
	ev.OperationName, ev.Operation = opName, op
	ev.Account = d.lower(d.intern(account))
	if ev.Source.Category == "" {
		ev.Source.Category = event.CategoryAzure
	}
	if ev.Source.Host == "" {
		ev.Source.Host = ev.Account
	}
	return d.outPartial(ev)
}

// maxInterned bounds a decoder's string caches.
const maxInterned = 4096

// intern returns b as a string, the same string for the same bytes:
// operations, accounts and regions repeat on every record.
func (d *fileDecoder) intern(b []byte) string {
	if s, ok := d.strs[string(b)]; ok {
		return s
	}
	if d.strs == nil || len(d.strs) >= maxInterned {
		d.strs = make(map[string]string, 256)
	}
	s := string(b)
	d.strs[s] = s
	return s
}

// lower is strings.ToLower, remembered.
func (d *fileDecoder) lower(s string) string {
	if l, ok := d.lowers[s]; ok {
		return l
	}
	if d.lowers == nil || len(d.lowers) >= maxInterned {
		d.lowers = make(map[string]string, 256)
	}
	l := strings.ToLower(s)
	d.lowers[s] = l
	return l
}

// cloudTrailCaller reads the seed's caller as cloudtrail.Decode does:
// userIdentity.arn, else invokedBy, else principalId.
func (d *fileDecoder) cloudTrailCaller() (string, bool) {
	u := d.lite.get("userIdentity")
	if u == nil || u.Kind == 'n' {
		return "", true
	}
	if u.Kind != '{' {
		return "", false
	}
	// The first member named arn exactly is getFold's: when it is a
	// plain string, what follows it (the session context, most of the
	// identity) need not be read. The record was checked whole.
	if m, ok := jsonx.Lookup(u.Val, "arn"); ok && m.Kind == '"' && !m.Esc && len(m.Val) > 0 {
		return d.intern(m.Val), true
	}
	var ok bool
	if d.inner2, ok = jsonx.Members(u.Val, d.inner2[:0]); !ok {
		return "", false
	}
	for _, k := range [...]string{"arn", "invokedBy", "principalId"} {
		v, ok, known := plainText(getFold(d.inner2, k))
		if !known {
			return "", false
		}
		if ok && len(v) > 0 {
			return d.intern(v), true
		}
	}
	return "", true
}

// azureCaller reads the seed's caller of an export record as the Azure
// decoder does: the caller member, else the first identity claim of upn,
// name, appid and object id, else the authorization's principal.
func (d *fileDecoder) azureCaller() (string, bool) {
	s := &d.lite
	if c, ok, known := s.plainFold("caller"); !known {
		return "", false
	} else if ok && len(c) > 0 {
		return string(c), true
	}
	id := s.getFold("identity")
	if id == nil {
		return "", true
	}
	if id.Kind != '{' {
		return "", false
	}
	// The identity's members and its claims' in one walk.
	var ok bool
	var in int
	if d.inner2, d.inner3, in, ok = jsonx.MembersInner(id.Val, d.inner2[:0], "claims", d.inner3[:0]); !ok {
		return "", false
	}
	claims := getFold(d.inner2, "claims")
	authz := getFold(d.inner2, "authorization")
	if claims != nil && claims.Kind != '{' || authz != nil && authz.Kind != '{' {
		return "", false // a claims string is JSON to parse: the full decoder does it
	}
	var claimMembers []jsonx.Member
	if claims != nil {
		if in < 0 || claims != &d.inner2[in] {
			// Not the member the walk went into (an exact "claims"
			// after a "Claims"): read it on its own.
			if d.inner3, ok = jsonx.Members(claims.Val, d.inner3[:0]); !ok {
				return "", false
			}
		}
		if hasValueString(d.inner3) {
			return "", false // the decoder would read {"value": "..."} as the claims
		}
		claimMembers = d.inner3
	}
	// The claims in the decoder's order, found in one walk; then the
	// authorization's evidence.
	var at [7]int
	azureCallerClaims.FindMembers(claimMembers, at[:])
	for _, j := range at {
		if j < 0 {
			continue
		}
		v, ok, known := plainText(&claimMembers[j])
		if !known {
			return "", false
		}
		if ok && len(v) > 0 {
			return string(v), true
		}
	}
	// Seldom needed: the authorization's evidence.
	var evidence []jsonx.Member
	if authz != nil {
		authzMembers, ok := jsonx.Members(authz.Val, nil)
		if !ok || hasValueString(authzMembers) {
			return "", false
		}
		if e := getFold(authzMembers, "evidence"); e != nil {
			if e.Kind != '{' {
				return "", true // not an object: no principal in it
			}
			if evidence, ok = jsonx.Members(e.Val, nil); !ok {
				return "", false
			}
		}
	}
	v, ok, known := plainText(getFold(evidence, "principalId"))
	if !known {
		return "", false
	}
	if ok {
		return string(v), true
	}
	return "", true
}

// azureCallerClaims are the identity claims the Azure decoder takes the
// caller from, in its order.
var azureCallerClaims = jsonx.NewNameSet(
	"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn", "upn",
	"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name", "unique_name", "appid",
	"http://schemas.microsoft.com/identity/claims/objectidentifier", "oid")

// resourceGroup reads an export record's resource group as the Azure
// decoder does: resourceGroupName, else the segment of resourceId.
func (s *liteScanner) resourceGroup() (string, bool) {
	g, ok, known := s.plainFold("resourceGroupName")
	if !known {
		return "", false
	}
	if ok && len(g) > 0 {
		return string(g), true
	}
	id, ok, known := s.plainFold("resourceId")
	if !ok || !known || len(id) == 0 {
		return "", false
	}
	return string(event.ARMResourceGroup(id)), true
}

// getFold returns the member named key in ms, exactly or else in another
// letter case, as jsonx.Get would.
func getFold(ms []jsonx.Member, key string) *jsonx.Member {
	for i := range ms {
		if string(ms[i].Key) == key {
			return &ms[i]
		}
	}
	for i := range ms {
		if equalFold(ms[i].Key, key) {
			return &ms[i]
		}
	}
	return nil
}

// equalFold is strings.EqualFold for a name held as bytes, without
// converting it when both are ASCII (member names nearly always are).
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		// Only a letter outside ASCII (K, ſ) folds to one of another
		// length.
		if jsonx.IsASCII(b) && jsonx.IsASCII(s) {
			return false
		}
		return strings.EqualFold(string(b), s)
	}
	for i := range len(b) {
		x, y := b[i], s[i]
		if x|y >= 0x80 {
			return strings.EqualFold(string(b), s)
		}
		// Up to here both are ASCII, rune for rune: an ASCII letter
		// folds only to its other ASCII case.
		if x != y && jsonx.LowerASCII(x) != jsonx.LowerASCII(y) {
			return false
		}
	}
	return true
}

// hasValueString reports a member "value" holding a string, which the Azure
// decoder takes in place of the object ({value, localizedValue}).
func hasValueString(ms []jsonx.Member) bool {
	for i := range ms {
		if string(ms[i].Key) == "value" {
			return ms[i].Kind == '"'
		}
	}
	return false
}

// newPartial starts a partial event: from the chunk being decoded when a
// worker of Read decodes it, since the event lives only as long as the
// handler's call.
func (d *fileDecoder) newPartial(pos recordPos, index int, f event.Format) *event.Event {
	if d.arena == nil {
		return d.newEvent(nil, pos, index, 0, f)
	}
	ev := d.arena.partial()
	ev.Format = f
	ev.Source = event.Source{
		Category: d.opt.SourceCategory, Host: d.opt.SourceHost, Name: d.name,
		Offset: pos.offset, Line: pos.line, Index: index,
	}
	return ev
}

// partialRaw is a partial event's Raw: the chunk's own bytes when a worker
// decodes it (they live as long as the event), else a copy.
func (d *fileDecoder) partialRaw(buf []byte) []byte {
	if d.arena != nil {
		return buf[:len(buf):len(buf)]
	}
	return append([]byte(nil), buf...)
}

// selects reports whether partial events are offered to a Select.
func (d *fileDecoder) selects() bool { return d.opt.Select != nil || d.opt.NewSelect != nil }

// outPartial hands on a partial event as Options.Select (or the
// decoder's own of Options.NewSelect) says. It reports false when the
// record is to be decoded whole instead.
func (d *fileDecoder) outPartial(ev *event.Event) bool {
	if d.selects() && !ev.Time.IsZero() && ev.Operation != "" {
		var sel Selection
		if d.opt.NewSelect != nil {
			if d.sel == nil {
				d.sel = d.opt.NewSelect()
			}
			sel = d.sel(ev, d.lite.members)
		} else {
			sel = d.opt.Select(ev)
		}
		if sel != SelectPartial && d.arena != nil {
			d.arena.release(ev) // dropped, or decoded whole into another event
		}
		switch sel {
		case SelectWhole:
			return false
		case SelectDrop:
			d.stats.Events++
			d.stats.dropped++
			d.stats.addFormat(string(ev.Format))
			return true
		}
	}
	d.out(ev)
	return true
}
