// Package cloudtrail turns AWS CloudTrail records into normalized events:
// the record itself (as found in S3 delivery files, JSON lines and arrays)
// and the wrappers it travels in (EventBridge, CloudWatch Logs subscription
// payloads, LookupEvents output).
//
// Extraction is tolerant in the ways telemetry.md §2.1 and §8 list: lists
// as items or item, {} for empty lists, <Action>Request wrappers with
// PascalCase keys, {content, tag} members, string-or-bool fields and epoch
// millisecond times.
package cloudtrail

import (
	"net/netip"
	"strings"

	"github.com/valyala/fastjson"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/internal/jsonx"
)

// IsRecord reports whether v looks like a CloudTrail record.
func IsRecord(v *fastjson.Value) bool {
	if v == nil || v.Type() != fastjson.TypeObject {
		return false
	}
	if v.Get("eventVersion") != nil || v.Get("eventSource") != nil {
		return true
	}
	return v.Get("eventName") != nil && (v.Get("userIdentity") != nil || v.Get("awsRegion") != nil)
}

// Decode fills ev from the CloudTrail record v. ev.Raw and ev.Source are the
// caller's; everything else is set here. Decode never fails: what is missing
// stays empty, and what had to be guessed is noted on the event.
func Decode(v *fastjson.Value, ev *event.Event) { DecodeBodies(v, ev, nil, nil) }

// DecodeBodies is Decode for a caller that holds requestParameters or
// responseElements as ev.Raw writes them, where that is what fastjson's
// MarshalTo would write (an object or array, jsonx.Compact): Decode then
// takes those bytes instead of writing the value out again. nil stands
// for a body the caller does not hold so.
func DecodeBodies(v *fastjson.Value, ev *event.Event, rawReq, rawResp []byte) {
	ev.Provider = event.AWS
	if ev.Format == "" {
		ev.Format = event.FormatCloudTrailLines
	}
	if ev.Source.Category == "" {
		ev.Source.Category = event.CategoryAWS
	}

	decodeTime(v, ev)
	ev.UID = jsonx.Str(v.Get("eventID"))
	ev.CorrelationUID = jsonx.Str(v.Get("requestID"))
	ev.OriginalUID = jsonx.PathStr(v, "addendum", "originalEventID")
	ev.Account = jsonx.Str(v.Get("recipientAccountId"))
	ev.Region = jsonx.Str(v.Get("awsRegion"))
	ev.Service = jsonx.Str(v.Get("eventSource"))
	ev.Operation = jsonx.Str(v.Get("eventName"))
	ev.OperationName = ev.Operation
	ev.EventType = jsonx.Str(v.Get("eventType"))
	ev.ReadOnly = jsonx.Bool(v.Get("readOnly"))
	ev.ErrorCode = jsonx.Str(v.Get("errorCode"))
	ev.ErrorMessage = jsonx.Str(v.Get("errorMessage"))
	switch {
	case ev.ErrorCode == "":
		ev.Outcome = event.OutcomeSuccess
	case strings.HasSuffix(ev.ErrorCode, "DryRunOperation"):
		ev.Outcome = event.OutcomeNoOp
	default:
		ev.Outcome = event.OutcomeFailure
	}
	if ev.Operation == "" {
		ev.Note("no eventName")
	}

	decodeActor(v, ev)
	if ev.Account == "" {
		ev.Account = ev.Actor.Account
	}
	if ev.Source.Host == "" {
		ev.Source.Host = ev.Account
	}
	ev.UserAgent = jsonx.Str(v.Get("userAgent"))
	src := jsonx.Str(v.Get("sourceIPAddress"))
	if _, err := netip.ParseAddr(src); err == nil {
		ev.SrcIP = src
	} else {
		ev.SrcDomain = src
	}

	req, resp := v.Get("requestParameters"), v.Get("responseElements")
	written := false // a body was written out: it may be shared with Raw
	switch {
	case rawReq != nil:
		ev.Request = rawReq
	case req != nil && req.Type() != fastjson.TypeNull:
		ev.Request, written = req.MarshalTo(nil), true
	}
	switch {
	case rawResp != nil:
		ev.Response = rawResp
	case resp != nil && resp.Type() != fastjson.TypeNull:
		ev.Response, written = resp.MarshalTo(nil), true
	}
	extractKeys(ev, req, resp)
	if written {
		ev.ShareBodies()
	}
}

func decodeTime(v *fastjson.Value, ev *event.Event) {
	for _, f := range [...]string{"eventTime", "@timestamp", "EventTime", "time", "p_event_time"} {
		if t, ok := jsonx.Time(v.Get(f)); ok {
			ev.Time, ev.TimeField = t, f
			if f != "eventTime" {
				ev.Note("eventTime missing or unreadable; used " + f)
			}
			return
		}
	}
	ev.Note("no event time")
}

// serviceHuman are invokedBy values that stand for a person, not a service.
var serviceHuman = map[string]bool{"signin.amazonaws.com": true, "AWS Internal": true}

func decodeActor(v *fastjson.Value, ev *event.Event) {
	u := v.Get("userIdentity")
	a := &ev.Actor
	a.Type = jsonx.Str(jsonx.Get(u, "type"))
	a.UID = jsonx.Str(jsonx.Get(u, "arn"))
	a.PrincipalID = jsonx.Str(jsonx.Get(u, "principalId"))
	a.Account = jsonx.Str(jsonx.Get(u, "accountId"))
	a.AccessKeyID = jsonx.Str(jsonx.Get(u, "accessKeyId"))
	a.InvokedBy = jsonx.Str(jsonx.Get(u, "invokedBy"))
	a.Name = jsonx.Str(jsonx.Get(u, "userName"))
	sc := jsonx.Get(u, "sessionContext")
	a.Role = jsonx.PathStr(sc, "sessionIssuer", "arn")
	a.MFA = jsonx.Bool(jsonx.Path(sc, "attributes", "mfaAuthenticated"))
	a.ConsoleSession = jsonx.Bool(v.Get("sessionCredentialFromConsole"))
	if a.Name == "" {
		// For an assumed role the session name is the only link to the
		// person or automation behind it.
		if i := strings.LastIndexByte(a.PrincipalID, ':'); i >= 0 {
			a.Name = a.PrincipalID[i+1:]
		} else if a.Type == "AWSService" {
			a.Name = a.InvokedBy
		}
	}
	a.ServiceInitiated = a.Type == "AWSService" ||
		strings.Contains(a.Role, ":role/aws-service-role/") ||
		(strings.HasSuffix(a.InvokedBy, ".amazonaws.com") && !serviceHuman[a.InvokedBy])

	switch {
	case a.UID != "":
		ev.Caller = a.UID
	case a.InvokedBy != "":
		ev.Caller = a.InvokedBy
	default:
		ev.Caller = a.PrincipalID
	}
}
