package cloudtrail

import (
	"strconv"

	"github.com/valyala/fastjson"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/internal/jsonx"
)

// EventBridge detail-types that carry a CloudTrail record in "detail".
var bridgeTypes = map[string]bool{
	"AWS API Call via CloudTrail":        true,
	"AWS Console Action via CloudTrail":  true,
	"AWS Service Event via CloudTrail":   true,
	"AWS Console Sign In via CloudTrail": true,
	"AWS Insight via CloudTrail":         true,
}

// IsEventBridge reports whether v is an EventBridge envelope of any
// detail-type.
func IsEventBridge(v *fastjson.Value) bool {
	return v.Get("detail-type") != nil && v.Get("detail") != nil
}

// EventBridgeDetail returns the CloudTrail record inside an EventBridge
// envelope, or nil and the detail-type when the envelope carries something
// else (a Backup job state change, an EC2 state notification...). A
// detail-type it does not know is accepted when the detail is itself a
// CloudTrail record: sanitized samples blank the detail-type.
func EventBridgeDetail(v *fastjson.Value) (*fastjson.Value, string) {
	dt := jsonx.Str(v.Get("detail-type"))
	d := v.Get("detail")
	if d == nil || d.Type() != fastjson.TypeObject || !(bridgeTypes[dt] || IsRecord(d)) {
		return nil, dt
	}
	return d, dt
}

// DecodeEventBridge decodes the record inside an EventBridge envelope and
// takes from the envelope what the record lacks: the delivery time, and the
// account and region when missing.
func DecodeEventBridge(env, detail *fastjson.Value, ev *event.Event) {
	ev.Format = event.FormatCloudTrailEventBridge
	Decode(detail, ev)
	if dt := jsonx.Str(env.Get("detail-type")); !bridgeTypes[dt] {
		ev.Note("EventBridge detail-type " + strconv.Quote(dt) + " is not a CloudTrail one; decoded because its detail is a CloudTrail record")
	}
	if t, ok := jsonx.Time(env.Get("time")); ok {
		ev.LoggedTime = t
		if ev.Time.IsZero() {
			ev.Time, ev.TimeField = t, "detail-time"
			ev.Note("eventTime missing; used the EventBridge envelope time")
		}
	}
	if ev.Account == "" {
		ev.Account = jsonx.Str(env.Get("account"))
		if ev.Source.Host == "" {
			ev.Source.Host = ev.Account
		}
	}
	if ev.Region == "" {
		ev.Region = jsonx.Str(env.Get("region"))
	}
}

// IsLookupEvent reports whether v is one entry of LookupEvents output.
func IsLookupEvent(v *fastjson.Value) bool {
	return v.Get("CloudTrailEvent") != nil || (v.Get("EventId") != nil && v.Get("EventName") != nil)
}

// IsCloudWatchPayload reports whether v is a CloudWatch Logs subscription
// payload ({"messageType", "logEvents": [...]}).
func IsCloudWatchPayload(v *fastjson.Value) bool {
	return v.Get("messageType") != nil && v.Get("logEvents") != nil
}

// IsCloudWatchLogEvent reports whether v is one member of a payload's
// logEvents.
func IsCloudWatchLogEvent(v *fastjson.Value) bool {
	m := v.Get("message")
	return m != nil && m.Type() == fastjson.TypeString && v.Get("timestamp") != nil
}
