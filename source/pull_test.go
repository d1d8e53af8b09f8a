package source_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/ingest"
	"github.com/revertwatch/revertwatch/internal/livetest"
	"github.com/revertwatch/revertwatch/source"
)

var pullStart = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// ctRecord is a CloudTrail record of a call in account/region at.
func ctRecord(region string, i int, at time.Time) []byte {
	return fmt.Appendf(nil, `{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/ops","accountId":"111122223333","accessKeyId":"AKIAEXAMPLE","userName":"ops"},"eventTime":%q,"eventSource":"ec2.amazonaws.com","eventName":"DescribeInstances","awsRegion":%q,"sourceIPAddress":"192.0.2.1","userAgent":"test","requestParameters":null,"responseElements":null,"eventID":"%s-%04d","readOnly":true,"eventType":"AwsApiCall","recipientAccountId":"111122223333"}`,
		at.Format(time.RFC3339), region, region, i)
}

// quickAWS is an AWS configuration for the fake: static credentials, the
// SDK's standard retries (3 attempts) without waiting between them.
func quickAWS() aws.Config {
	return aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 3
				o.RateLimiter = ratelimit.None
				o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
			})
		},
	}
}

var noWait = source.Pacing{Backoff: func(int) time.Duration { return 0 }}

// readPulled reads a pulled file as hunt does and returns the events' ids
// (sorted), and the formats recognised.
func readPulled(t *testing.T, data []byte) (ids []string, formats map[event.Format]int) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "pulled.json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	formats = map[event.Format]int{}
	sum, err := ingest.Read(context.Background(), []string{path}, ingest.Options{Jobs: 1}, ingest.Handlers{
		Event: func(ev *event.Event) error {
			ids = append(ids, ev.UID)
			formats[ev.Format]++
			return nil
		},
		Diag: func(d ingest.Diag) { t.Errorf("reading the pulled file: %s", d.String()) },
	})
	if err != nil || sum.ExitCode() != 0 {
		t.Fatalf("reading the pulled file: %v, summary %+v", err, sum)
	}
	slices.Sort(ids)
	return ids, formats
}

// TestPullAWS: every region asked is read page by page to its end, only
// the window's events, each once, written as a CloudTrail file ingest
// reads natively; throttled calls are retried (by the SDK, then after our
// backoff), a region the account has not enabled is skipped with a note,
// an entry without a record is reported by its event id.
func TestPullAWS(t *testing.T) {
	srv := livetest.NewLookupEvents(t)
	since, until := pullStart, pullStart.Add(72*time.Hour)
	var want []string
	counts := map[string]int{"us-east-1": 123, "eu-west-1": 51, "us-west-2": 0}
	for region, n := range counts {
		for i := range n + 10 {
			// 10 of each region's events fall outside the window, on both sides.
			at := since.Add(time.Duration(i-5) * 30 * time.Minute)
			srv.Add(t, ctRecord(region, i, at))
			if !at.Before(since) && !at.After(until) {
				want = append(want, fmt.Sprintf("%s-%04d", region, i))
			}
		}
	}
	slices.Sort(want)
	srv.AddBroken("eu-west-1", "broken-0001", since.Add(time.Hour), "")
	srv.AddBroken("eu-west-1", "broken-0002", since.Add(2*time.Hour), `{"eventVersion":`)
	srv.Throttle("us-east-1", 2) // the SDK's retries get past this
	srv.Throttle("eu-west-1", 7) // this needs our backoff too (3 attempts a call)
	srv.Deny("ap-south-1", "UnrecognizedClientException")

	var out bytes.Buffer
	w := source.NewRecordWriter(&out, "Records", false)
	var notes []string
	progress := map[string]source.PullStats{}
	res, err := source.PullAWS(context.Background(), quickAWS(), source.PullAWSOptions{
		Since: since, Until: until, Regions: []string{"us-east-1", "eu-west-1", "us-west-2", "ap-south-1"},
		Endpoint: srv.URL, Jobs: 2, Pacing: noWait,
		Note: func(s string) { notes = append(notes, s) },
		Progress: func(scope string, s source.PullStats, done bool) {
			if done {
				progress[scope] = s
			}
		},
	}, w)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, formats := readPulled(t, out.Bytes())
	if !slices.Equal(got, want) {
		t.Fatalf("pulled %d events, want %d:\n got %.300v\nwant %.300v", len(got), len(want), got, want)
	}
	if formats[event.FormatCloudTrailRecords] != len(want) {
		t.Errorf("formats %v: want every event read as %s", formats, event.FormatCloudTrailRecords)
	}
	// 128 in-window events in us-east-1: 3 pages; eu-west-1 56 and 2 broken: 2.
	calls := srv.Calls()
	if calls["us-east-1"] != 3+2 || calls["eu-west-1"] != 2+7 || calls["us-west-2"] != 1 {
		t.Errorf("calls by region %v: want us-east-1 5 (3 pages, 2 throttled), eu-west-1 9 (2 pages, 7 throttled), us-west-2 1", calls)
	}
	if res.Total.Throttled != 2 || res.Total.Rejected != 2 || res.Total.Records != len(want) {
		t.Errorf("stats %+v: want 2 calls retried after our backoff, 2 entries rejected, %d records", res.Total, len(want))
	}
	if !slices.Equal(res.Skipped, []string{"ap-south-1"}) || len(res.Failed) != 0 {
		t.Errorf("skipped %v, failed %v: want ap-south-1 skipped, none failed", res.Skipped, res.Failed)
	}
	joined := strings.Join(notes, "\n")
	for _, s := range []string{"broken-0001", "no CloudTrailEvent", "broken-0002", "not a JSON object", "region ap-south-1: not enabled"} {
		if !strings.Contains(joined, s) {
			t.Errorf("the notes do not say %q:\n%s", s, joined)
		}
	}
	if progress["us-east-1"].Records != 128 || progress["us-east-1"].Calls != 3 {
		t.Errorf("us-east-1's last progress %+v: want 128 records in 3 calls", progress["us-east-1"])
	}
}

// TestPullAWSNewestFirst: LookupEvents answers newest first; the pull
// keeps the service's order within a region (the file reads the same in
// any order) and a token resent with other parameters is refused by the
// server, so the pull must resend them identically.
func TestPullAWSNewestFirst(t *testing.T) {
	srv := livetest.NewLookupEvents(t)
	for i := range 120 {
		srv.Add(t, ctRecord("us-east-1", i, pullStart.Add(time.Duration(i)*time.Minute)))
	}
	var out bytes.Buffer
	w := source.NewRecordWriter(&out, "Records", true)
	if _, err := source.PullAWS(context.Background(), quickAWS(), source.PullAWSOptions{
		Since: pullStart, Until: pullStart.Add(24 * time.Hour), Regions: []string{"us-east-1"}, Endpoint: srv.URL, Pacing: noWait,
	}, w); err != nil {
		t.Fatal(err)
	}
	w.Close()
	// Gzip-compressed, as -o x.json.gz writes it: ingest sees through it.
	got, _ := readPulled(t, out.Bytes())
	if len(got) != 120 {
		t.Fatalf("%d events, want 120", len(got))
	}
	plain := gunzip(t, out.Bytes())
	first, last := strings.Index(plain, "us-east-1-0119"), strings.Index(plain, "us-east-1-0000")
	if first < 0 || last < 0 || first > last {
		t.Errorf("the newest event (0119) is not written before the oldest (0000)")
	}
}

// TestPullAWSErrors: a failure every region shares is said once, naming
// the regions, in words a user acts on.
func TestPullAWSErrors(t *testing.T) {
	srv := livetest.NewLookupEvents(t)
	srv.Deny("us-east-1", "AccessDeniedException")
	srv.Deny("eu-west-1", "AccessDeniedException")
	srv.Add(t, ctRecord("us-west-2", 1, pullStart))
	var out bytes.Buffer
	w := source.NewRecordWriter(&out, "Records", false)
	res, err := source.PullAWS(context.Background(), quickAWS(), source.PullAWSOptions{
		Since: pullStart, Until: pullStart.Add(time.Hour), Regions: []string{"us-east-1", "eu-west-1", "us-west-2"}, Endpoint: srv.URL, Pacing: noWait,
	}, w)
	if err == nil || strings.Count(err.Error(), "access denied") != 1 || !strings.Contains(err.Error(), "regions eu-west-1, us-east-1") ||
		!strings.Contains(err.Error(), "cloudtrail:LookupEvents") {
		t.Fatalf("error %v: want one access-denied line naming both regions and the permission", err)
	}
	if res.Total.Records != 1 || !slices.Equal(res.Failed, []string{"eu-west-1", "us-east-1"}) {
		t.Errorf("result %+v: the region that answered is still written", res)
	}

	// No credentials at all: one line, saying so.
	livetest.IsolateAWS(t)
	os.Unsetenv("AWS_ACCESS_KEY_ID")
	os.Unsetenv("AWS_SECRET_ACCESS_KEY")
	cfg, err := source.LoadAWS(context.Background(), source.AWSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = source.PullAWS(context.Background(), cfg, source.PullAWSOptions{
		Since: pullStart, Regions: []string{"us-east-1", "eu-west-1"}, Endpoint: srv.URL, Pacing: noWait,
	}, source.NewRecordWriter(&out, "Records", false))
	if err == nil || strings.Count(err.Error(), "no AWS credentials") != 1 || !strings.Contains(err.Error(), "regions eu-west-1, us-east-1") {
		t.Fatalf("error %v: want one no-credentials line naming the regions", err)
	}
}

// azRecord is an Activity Log EventData (REST shape) of subscription sub.
func azRecord(sub string, i int, at time.Time) []byte {
	return fmt.Appendf(nil, `{"caller":"ops@contoso.example","channels":"Operation","correlationId":"c-%[2]d","eventDataId":"%[1]s-%04[2]d","eventName":{"value":"EndRequest","localizedValue":"End request"},"category":{"value":"Administrative","localizedValue":"Administrative"},"eventTimestamp":%[3]q,"level":"Informational","operationId":"op-%[2]d","operationName":{"value":"Microsoft.Compute/virtualMachines/start/action","localizedValue":"Start Virtual Machine"},"resourceGroupName":"rg","resourceProviderName":{"value":"Microsoft.Compute","localizedValue":"Microsoft.Compute"},"resourceId":"/subscriptions/%[1]s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm%[2]d","status":{"value":"Succeeded","localizedValue":"Succeeded"},"subStatus":{"value":"","localizedValue":""},"submissionTimestamp":%[3]q,"subscriptionId":"%[1]s","tenantId":"72f988bf-0000-4000-8000-2d7cd011db47","properties":{"statusCode":"OK"}}`,
		sub, i, at.Format(time.RFC3339Nano))
}

const (
	subA = "0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d"
	subB = "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d"
)

// TestPullAzure: each subscription's list is followed through its
// nextLinks over TLS with a bearer token, only the window's events, each
// once although the service repeats one across pages, written in the REST
// shape the Azure decoder reads; 429s are retried.
func TestPullAzure(t *testing.T) {
	srv := livetest.NewActivityLog(t, true)
	srv.PageSize = 7
	srv.RepeatAcrossPages = true
	since, until := pullStart, pullStart.Add(48*time.Hour)
	var want []string
	for _, sub := range []string{subA, subB} {
		for i := range 40 {
			at := since.Add(time.Duration(i-4) * 97 * time.Minute)
			srv.Add(t, azRecord(sub, i, at))
			if !at.Before(since) && !at.After(until) {
				want = append(want, fmt.Sprintf("%s-%04d", sub, i))
			}
		}
	}
	slices.Sort(want)
	srv.Throttle(3) // azcore retries once here; then our backoff
	var out bytes.Buffer
	w := source.NewRecordWriter(&out, "value", false)
	res, err := source.PullAzure(context.Background(), livetest.AzureToken{}, source.PullAzureOptions{
		Since: since, Until: until, Subscriptions: []string{subA, subB}, Endpoint: srv.URL, Pacing: noWait,
		Client: &arm.ClientOptions{ClientOptions: policy.ClientOptions{
			Transport: srv.Client(),
			Retry:     policy.RetryOptions{MaxRetries: 1, RetryDelay: time.Millisecond, MaxRetryDelay: time.Millisecond},
		}},
	}, w)
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	got, formats := readPulled(t, out.Bytes())
	if !slices.Equal(got, want) {
		t.Fatalf("pulled %d events, want %d:\n got %.300v\nwant %.300v", len(got), len(want), got, want)
	}
	if formats[event.FormatAzureREST] != len(want) {
		t.Errorf("formats %v: want every event read as %s", formats, event.FormatAzureREST)
	}
	pages := (len(want)/2 + 6) / 7
	if res.Total.Calls != 2*pages || res.Total.Duplicates != 2*(pages-1) || res.Total.Throttled < 1 {
		t.Errorf("stats %+v: want %d pages, %d repeats dropped, a throttled call retried after our backoff", res.Total, 2*pages, 2*(pages-1))
	}
}

// TestPullAzureErrors: access denied names the permission; plain http is
// refused except to a loopback emulator; a nextLink to another host is
// not followed with the token.
func TestPullAzureErrors(t *testing.T) {
	srv := livetest.NewActivityLog(t, false)
	srv.Deny(http.StatusForbidden)
	var out bytes.Buffer
	_, err := source.PullAzure(context.Background(), livetest.AzureToken{}, source.PullAzureOptions{
		Since: pullStart, Subscriptions: []string{subA, subB}, Endpoint: srv.URL, Pacing: noWait,
	}, source.NewRecordWriter(&out, "value", false))
	if err == nil || strings.Count(err.Error(), "access denied") != 1 || !strings.Contains(err.Error(), "subscriptions "+subA+", "+subB) ||
		!strings.Contains(err.Error(), "Microsoft.Insights/eventtypes/values/read") {
		t.Fatalf("error %v: want one access-denied line naming both subscriptions and the permission", err)
	}
	_, err = source.PullAzure(context.Background(), livetest.AzureToken{}, source.PullAzureOptions{
		Subscriptions: []string{subA}, Endpoint: "http://management.example.com",
	}, source.NewRecordWriter(&out, "value", false))
	if err == nil || !strings.Contains(err.Error(), "plain http") {
		t.Fatalf("error %v: want plain http to a remote host refused", err)
	}
}

func gunzip(t *testing.T, b []byte) string {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return string(plain)
}
