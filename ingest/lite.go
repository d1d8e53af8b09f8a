package ingest

import (
	"bytes"
	"strings"
	"time"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/internal/jsonx"
)

// liteScanner holds the top-level members of the record being decoded
// without a tree (Options.Want).
type liteScanner struct {
	members []jsonx.Member
}

// get returns the first member named key, as fastjson's Get would.
func (s *liteScanner) get(key string) *jsonx.Member {
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
		if strings.EqualFold(string(s.members[i].Key), key) {
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
	var ok bool
	if s.members, ok = jsonx.Members(buf, s.members[:0]); !ok {
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
		return d.lightCloudTrail(pos, index, envelope)
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
	return d.lightAzure(pos, index, envelope, string(op.Val))
}

// lightTime reads a time member written as a string, as jsonx.Time does.
func lightTime(t []byte, ok, known bool) (time.Time, bool) {
	if !ok || !known {
		return time.Time{}, false
	}
	return jsonx.ParseTime(string(t))
}

func (d *fileDecoder) lightCloudTrail(pos recordPos, index int, envelope string) bool {
	s := &d.lite
	name, ok, known := s.plain("eventName")
	if !ok || !known || len(name) == 0 {
		return false
	}
	if d.opt.Want(event.AWS, string(name)) {
		return false
	}
	t, tok := lightTime(s.plain("eventTime"))
	account, aok, aknown := s.plain("recipientAccountId")
	region, _, rknown := s.plain("awsRegion")
	if !tok || !aok || !aknown || len(account) == 0 || !rknown {
		return false // the full decoder looks further (another time field, the actor's account)
	}
	f := event.FormatCloudTrailLines
	if envelope == "Records" {
		f = event.FormatCloudTrailRecords
	}
	ev := d.newEvent(nil, pos, index, 0, f)
	ev.Provider = event.AWS
	ev.Time, ev.TimeField = t, "eventTime"
	ev.Operation = string(name)
	ev.OperationName = ev.Operation
	ev.Account = string(account)
	ev.Region = string(region)
	if ev.Source.Category == "" {
		ev.Source.Category = event.CategoryAWS
	}
	if ev.Source.Host == "" {
		ev.Source.Host = ev.Account
	}
	d.out(ev)
	return true
}

func (d *fileDecoder) lightAzure(pos recordPos, index int, envelope, opName string) bool {
	s := &d.lite
	op := strings.ToLower(opName)
	if op == "" || d.opt.Want(event.Azure, op) {
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
	account := string(sub)
	if !sok || account == "" {
		id, idok, idknown := s.plainFold("resourceId")
		if !idok || !idknown || len(id) == 0 {
			return false
		}
		account = armSegment(string(id), "subscriptions")
	}
	f := event.FormatAzureStorage
	if envelope == "records" {
		f = event.FormatAzureEventHub
	}
	ev := d.newEvent(nil, pos, index, 0, f)
	ev.Provider = event.Azure
	ev.Time, ev.TimeField = t, "time"
	ev.OperationName, ev.Operation = opName, op
	ev.Account = strings.ToLower(account)
	if ev.Source.Category == "" {
		ev.Source.Category = event.CategoryAzure
	}
	if ev.Source.Host == "" {
		ev.Source.Host = ev.Account
	}
	d.out(ev)
	return true
}

// armSegment returns the path segment after name in an ARM id, as the
// Azure decoder reads it.
func armSegment(id, name string) string {
	parts := strings.Split(id, "/")
	for i := 0; i+1 < len(parts); i++ {
		if strings.EqualFold(parts[i], name) {
			return parts[i+1]
		}
	}
	return ""
}
