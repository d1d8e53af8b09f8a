package source_test

import (
	"strings"
	"testing"

	"github.com/revertwatch/revertwatch/source"
)

func TestParseNotification(t *testing.T) {
	direct := `{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"AWSLogs/my+file%3D1.json.gz","size":7,"eTag":"e"}}},` +
		`{"eventVersion":"2.1","eventSource":"aws:s3","eventName":"ObjectRemoved:Delete","s3":{"bucket":{"name":"b"},"object":{"key":"gone"}}}]}`
	cases := []struct {
		name, body string
		kind       string
		want       []string
	}{
		{"direct", direct, source.NoteS3, []string{"s3://b/AWSLogs/my file=1.json.gz"}},
		{"sns", `{"Type":"Notification","MessageId":"m","TopicArn":"arn:aws:sns:us-east-1:1:t","Message":` + quote(direct) + `}`, source.NoteS3, []string{"s3://b/AWSLogs/my file=1.json.gz"}},
		{"eventbridge", `{"version":"0","detail-type":"Object Created","source":"aws.s3","detail":{"bucket":{"name":"b"},"object":{"key":"k 1","size":3,"etag":"e"}}}`, source.NoteEventBridge, []string{"s3://b/k 1"}},
		{"eventbridge other", `{"version":"0","detail-type":"Object Deleted","source":"aws.s3","detail":{}}`, source.NoteEventBridge, nil},
		{"cloudtrail sns", `{"Type":"Notification","TopicArn":"t","Message":"{\"s3Bucket\":\"b\",\"s3ObjectKey\":[\"a.json.gz\",\"c.json.gz\"]}"}`, source.NoteCloudTrail, []string{"s3://b/a.json.gz", "s3://b/c.json.gz"}},
		{"test event", `{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"t","Bucket":"b"}`, source.NoteTest, nil},
	}
	for _, c := range cases {
		refs, kind, err := source.ParseNotification([]byte(c.body))
		if err != nil || kind != c.kind {
			t.Errorf("%s: kind %q err %v", c.name, kind, err)
			continue
		}
		var got []string
		for _, r := range refs {
			got = append(got, r.Name())
		}
		if strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	for _, bad := range []string{``, `[]`, `{"hello":1}`, `{"Records":[{"eventSource":"aws:sqs"}]}`,
		`{"Records":[{"eventVersion":"3.0","eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"k"}}}]}`,
		`{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"%zz"}}}]}`,
		`{"Type":"Notification","TopicArn":"t"}`, `{"detail-type":"Object Created","source":"aws.ec2"}`, `{"s3Bucket":""}`} {
		if _, _, err := source.ParseNotification([]byte(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// FuzzParseNotification: any message body parses or errs, never panics;
// what it returns names a bucket and a key.
func FuzzParseNotification(f *testing.F) {
	f.Add([]byte(`{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"k+1"}}}]}`))
	f.Add([]byte(`{"Type":"Notification","TopicArn":"t","Message":"{\"s3Bucket\":\"b\",\"s3ObjectKey\":[\"a\"]}"}`))
	f.Add([]byte(`{"detail-type":"Object Created","source":"aws.s3","detail":{"bucket":{"name":"b"},"object":{"key":"k"}}}`))
	f.Add([]byte(`{"Event":"s3:TestEvent"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		refs, _, err := source.ParseNotification(body)
		if err != nil {
			return
		}
		for _, r := range refs {
			if r.Bucket == "" || r.Key == "" {
				t.Fatalf("a reference without bucket or key: %+v", r)
			}
		}
	})
}
