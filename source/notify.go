package source

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
)

// ObjectRef names one S3 object a notification announces.
type ObjectRef struct {
	Bucket, Key string
	ETag        string // when the notification carries it
	Size        int64
}

// Name is the object's s3:// URL.
func (o ObjectRef) Name() string { return "s3://" + o.Bucket + "/" + o.Key }

// Notification kinds, as ParseNotification recognises them.
const (
	NoteS3          = "s3"          // an S3 event notification {"Records":[{"eventSource":"aws:s3",...}]}
	NoteEventBridge = "eventbridge" // an EventBridge "Object Created" event from aws.s3
	NoteCloudTrail  = "cloudtrail"  // CloudTrail's own SNS message {"s3Bucket","s3ObjectKey":[...]}
	NoteTest        = "test"        // s3:TestEvent, sent when a notification is configured
)

// ParseNotification reads the body of an SQS message announcing new S3
// objects (sources.md §2, from the S3 User Guide's "Event message
// structure", "EventBridge event message structure" and the SNS
// notification format): an S3 event notification sent directly, or
// wrapped in an SNS envelope (unless raw delivery), an EventBridge event,
// or CloudTrail's own SNS message. It returns the created objects (none
// for a test event or for records that are not ObjectCreated) and the
// kind; an error when the body is none of these.
func ParseNotification(body []byte) ([]ObjectRef, string, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, "", fmt.Errorf("not a JSON object: %w", err)
	}
	// SNS envelope: the notification is the Message string.
	if typ := str(m["Type"]); typ == "Notification" || (typ != "" && m["TopicArn"] != nil) {
		msg := str(m["Message"])
		if msg == "" {
			return nil, "", fmt.Errorf("SNS envelope without a Message")
		}
		return ParseNotification([]byte(msg))
	}
	switch {
	case m["Records"] != nil:
		return parseS3Records(m["Records"])
	case m["detail-type"] != nil:
		return parseEventBridge(m)
	case m["s3Bucket"] != nil:
		var ct struct {
			Bucket string   `json:"s3Bucket"`
			Keys   []string `json:"s3ObjectKey"`
		}
		if err := json.Unmarshal(body, &ct); err != nil || ct.Bucket == "" {
			return nil, "", fmt.Errorf("CloudTrail notification: bucket or keys missing")
		}
		var out []ObjectRef
		for _, k := range ct.Keys {
			if k != "" {
				out = append(out, ObjectRef{Bucket: ct.Bucket, Key: k})
			}
		}
		return out, NoteCloudTrail, nil
	case str(m["Event"]) == "s3:TestEvent":
		return nil, NoteTest, nil
	}
	return nil, "", fmt.Errorf("not an S3, SNS, EventBridge or CloudTrail notification")
}

func str(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

func parseS3Records(raw json.RawMessage) ([]ObjectRef, string, error) {
	var recs []struct {
		EventVersion string `json:"eventVersion"`
		EventSource  string `json:"eventSource"`
		EventName    string `json:"eventName"`
		S3           struct {
			Bucket struct {
				Name string `json:"name"`
			} `json:"bucket"`
			Object struct {
				Key  string `json:"key"`
				Size int64  `json:"size"`
				ETag string `json:"eTag"`
			} `json:"object"`
		} `json:"s3"`
	}
	if err := json.Unmarshal(raw, &recs); err != nil {
		return nil, "", fmt.Errorf("S3 notification: %w", err)
	}
	var out []ObjectRef
	for i, r := range recs {
		if r.EventSource != "aws:s3" {
			return nil, "", fmt.Errorf("S3 notification record %d: eventSource %q, want aws:s3", i, r.EventSource)
		}
		if major, _, _ := strings.Cut(r.EventVersion, "."); major != "2" && major != "" {
			return nil, "", fmt.Errorf("S3 notification record %d: eventVersion %q, want 2.x", i, r.EventVersion)
		}
		if !strings.HasPrefix(r.EventName, "ObjectCreated:") {
			continue
		}
		// Keys are URL-encoded, a space as '+'.
		key, err := url.QueryUnescape(r.S3.Object.Key)
		if err != nil || r.S3.Bucket.Name == "" || key == "" {
			return nil, "", fmt.Errorf("S3 notification record %d: bad bucket or key %q", i, r.S3.Object.Key)
		}
		out = append(out, ObjectRef{Bucket: r.S3.Bucket.Name, Key: key, ETag: r.S3.Object.ETag, Size: r.S3.Object.Size})
	}
	return out, NoteS3, nil
}

func parseEventBridge(m map[string]json.RawMessage) ([]ObjectRef, string, error) {
	if src := str(m["source"]); src != "aws.s3" {
		return nil, "", fmt.Errorf("EventBridge event from %q, want aws.s3", src)
	}
	if dt := str(m["detail-type"]); dt != "Object Created" {
		return nil, NoteEventBridge, nil
	}
	var d struct {
		Bucket struct {
			Name string `json:"name"`
		} `json:"bucket"`
		Object struct {
			Key  string `json:"key"`
			Size int64  `json:"size"`
			ETag string `json:"etag"`
		} `json:"object"`
	}
	if err := json.Unmarshal(m["detail"], &d); err != nil || d.Bucket.Name == "" || d.Object.Key == "" {
		return nil, "", fmt.Errorf("EventBridge Object Created without a bucket and key")
	}
	return []ObjectRef{{Bucket: d.Bucket.Name, Key: d.Object.Key, ETag: d.Object.ETag, Size: d.Object.Size}}, NoteEventBridge, nil
}
