package source_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/revertwatch/revertwatch/internal/livetest"
	"github.com/revertwatch/revertwatch/source"
)

// The layout of these tests: an organisation trail of 3 accounts and 3
// regions over 90 days, one log file and one digest per account, region
// and day, under a trail prefix.
var (
	trailAccounts = []string{"111111111111", "222222222222", "333333333333"}
	trailRegions  = []string{"eu-west-1", "us-east-1", "us-west-2"}
	trailStart    = time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)
)

const trailDays = 90

func trailRecord(account, region string, at time.Time) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	fmt.Fprintf(zw, `{"Records":[{"eventVersion":"1.08","eventTime":%q,"eventSource":"ec2.amazonaws.com","eventName":"DescribeInstances","awsRegion":%q,"recipientAccountId":%q,"eventID":"%x","readOnly":true}]}`,
		at.Format(time.RFC3339), region, account, sha256.Sum256([]byte(account+region+at.String())))
	zw.Close()
	return b.Bytes()
}

// putTrail uploads the layout and returns every log file's key.
func putTrail(t *testing.T, s *livetest.S3Server) []string {
	t.Helper()
	s.Bucket(t, "org-trail")
	var keys []string
	for d := 0; d < trailDays; d++ {
		day := trailStart.AddDate(0, 0, d)
		for _, a := range trailAccounts {
			for _, r := range trailRegions {
				delivered := day.Add(13*time.Hour + 5*time.Minute)
				dir := fmt.Sprintf("trail/AWSLogs/o-abc123def4/%s/CloudTrail/%s/%s/", a, r, day.Format("2006/01/02"))
				key := dir + fmt.Sprintf("%s_CloudTrail_%s_%s_%016d.json.gz", a, r, delivered.Format("20060102T1504Z"), d)
				s.Put(t, "org-trail", key, trailRecord(a, r, delivered.Add(-3*time.Minute)))
				keys = append(keys, key)
				digest := fmt.Sprintf("trail/AWSLogs/o-abc123def4/%s/CloudTrail-Digest/%s/%s/%s_CloudTrail-Digest_%s_org_%s_%s.json.gz",
					a, r, day.Format("2006/01/02"), a, r, r, delivered.Format("20060102T150405Z"))
				s.Put(t, "org-trail", digest, []byte(`{"awsAccountId":"`+a+`"}`))
			}
		}
	}
	sort.Strings(keys)
	return keys
}

func newS3(t *testing.T, s *livetest.S3Server) *source.S3 {
	t.Helper()
	o := source.AWSOptions{S3Endpoint: s.URL}
	cfg, err := source.LoadAWS(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return source.NewS3(cfg, o, 4)
}

func keysOf(objs []source.Object) []string {
	out := make([]string, len(objs))
	for i, o := range objs {
		out[i] = o.Key
	}
	return out
}

// TestS3Pruning: the filters list only the folders they allow, and what
// the walk returns is exactly what filtering a full listing gives.
func TestS3Pruning(t *testing.T) {
	srv := livetest.NewS3Server(t)
	all := putTrail(t, srv)
	ctx := context.Background()

	s := newS3(t, srv)
	srv.ResetCounts()
	got, err := s.List(ctx, "org-trail", "trail/", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(keysOf(got), all) {
		t.Fatalf("unfiltered listing: %d keys, want the %d log files (digests left out)", len(got), len(all))
	}
	fullLists := srv.Lists()
	if p := s.Pruned(); p[source.ByDigest] != len(all) {
		t.Errorf("digests skipped: %v, want %d", p, len(all))
	}
	t.Logf("no filter: %d list calls for %d objects (and as many digests)", fullLists, len(all))

	since := trailStart.AddDate(0, 0, 80).Add(12 * time.Hour)
	until := trailStart.AddDate(0, 0, 85)
	cases := []struct {
		name     string
		f        source.Filter
		maxLists int64
	}{
		// trail/, AWSLogs/ and o-…/ are listed; then one listing per
		// region folder the filters leave, from the window's start.
		{"one account, one region, five days", source.Filter{Since: since, Until: until, Accounts: trailAccounts[1:2], Regions: trailRegions[2:]}, 4},
		{"one account, every region, since only", source.Filter{Since: since, Accounts: trailAccounts[:1]}, 3 + 1 + 3},
		{"regions only, until only", source.Filter{Until: trailStart.AddDate(0, 0, 20), Regions: []string{"us-east-1"}}, 3 + 3},
		{"one account, whole span", source.Filter{Accounts: []string{"333333333333"}}, 3 + 1},
		{"a window of an hour, no file in it", source.Filter{Since: trailStart.AddDate(0, 0, 3).Add(2 * time.Hour), Until: trailStart.AddDate(0, 0, 3).Add(3 * time.Hour), Slack: time.Minute}, 3 + 3*(1+3)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := c.f
			var want []string
			for _, k := range all {
				if f.Classify(k) == source.Kept {
					want = append(want, k)
				}
			}
			s := newS3(t, srv)
			srv.ResetCounts()
			got, err := s.List(ctx, "org-trail", "trail/", &f)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(keysOf(got), want) {
				t.Fatalf("pruned listing gives %d keys, filtering the full listing %d:\n got %v\nwant %v", len(got), len(want), head(keysOf(got)), head(want))
			}
			if srv.Lists() > c.maxLists {
				t.Errorf("%d list calls, want at most %d", srv.Lists(), c.maxLists)
			}
			t.Logf("%d of %d files, %d list calls returning %d keys (full listing: %d calls, %d keys), pruned %v",
				len(got), len(all), srv.Lists(), s.Keys.Load(), fullLists, 2*len(all), s.Pruned())
		})
	}
}

// TestS3FirstDayStartAfter: on the first day the listing starts after the
// files delivered before --since; a file of the minute of --since is kept.
func TestS3FirstDayStartAfter(t *testing.T) {
	srv := livetest.NewS3Server(t)
	srv.Bucket(t, "trail")
	day := time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC)
	for m := 0; m < 24*60; m += 5 {
		at := day.Add(time.Duration(m) * time.Minute)
		k := fmt.Sprintf("AWSLogs/123456789012/CloudTrail/us-east-1/2026/03/05/123456789012_CloudTrail_us-east-1_%s_abcdefghijklmnop.json.gz", at.Format("20060102T1504Z"))
		srv.Put(t, "trail", k, trailRecord("123456789012", "us-east-1", at))
	}
	f := source.Filter{Since: day.Add(10*time.Hour + 30*time.Second), Until: day.Add(11 * time.Hour), Slack: 10 * time.Minute}
	s := newS3(t, srv)
	got, err := s.List(context.Background(), "trail", "AWSLogs/", &f)
	if err != nil {
		t.Fatal(err)
	}
	k := keysOf(got)
	if len(k) != 15 || !strings.Contains(k[0], "T1000Z") || !strings.Contains(k[len(k)-1], "T1110Z") {
		t.Errorf("got %d files %v, want the 15 from 10:00 to 11:10", len(k), k)
	}
}

// TestS3OpenResumes: a body cut midway is read on from where it stopped,
// and the bytes are the object's.
func TestS3OpenResumes(t *testing.T) {
	srv := livetest.NewS3Server(t)
	srv.Bucket(t, "logs")
	body := make([]byte, 3<<20)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range body {
		body[i] = byte(r.IntN(256))
	}
	srv.Put(t, "logs", "big.bin", body)
	s := newS3(t, srv)
	srv.ResetCounts()
	srv.CutGets(2, 1<<20)
	rc, err := s.Open(context.Background(), "logs", "big.bin")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if !bytes.Equal(got, body) {
		t.Fatalf("read %d bytes, not the object's %d", len(got), len(body))
	}
	if srv.Gets() != 3 {
		t.Errorf("%d GETs, want 3 (two cut, one to the end)", srv.Gets())
	}

	srv.CutGets(10, 1000)
	rc, err = s.Open(context.Background(), "logs", "big.bin")
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(rc)
	rc.Close()
	if err == nil || !strings.Contains(err.Error(), "s3://logs/big.bin") {
		t.Errorf("a body that keeps failing: err %v, want one naming the object", err)
	}
}

// TestS3Errors: a missing bucket, access denied and a throttled listing.
func TestS3Errors(t *testing.T) {
	srv := livetest.NewS3Server(t)
	srv.Bucket(t, "logs")
	srv.Put(t, "logs", "AWSLogs/123456789012/CloudTrail/us-east-1/2026/03/05/a.json", []byte(`{"Records":[]}`))
	s := newS3(t, srv)
	ctx := context.Background()
	if _, err := s.List(ctx, "nope", "", nil); err == nil || !strings.Contains(err.Error(), "s3://nope/") || !strings.Contains(err.Error(), "NoSuchBucket") {
		t.Errorf("missing bucket: %v", err)
	}
	srv.Fail(func(r *http.Request) (int, string) { return http.StatusForbidden, "AccessDenied" })
	if _, err := s.List(ctx, "logs", "AWSLogs/", nil); err == nil || !strings.Contains(err.Error(), "AccessDenied") || !strings.Contains(err.Error(), "s3://logs/AWSLogs/") {
		t.Errorf("access denied: %v", err)
	}
	// Throttled twice, then answered: the SDK's retry gets through.
	n := 0
	srv.Fail(func(r *http.Request) (int, string) {
		if r.URL.Query().Get("list-type") == "2" && n < 2 {
			n++
			return http.StatusServiceUnavailable, "SlowDown"
		}
		return 0, ""
	})
	got, err := s.List(ctx, "logs", "AWSLogs/", &source.Filter{Accounts: []string{"123456789012"}})
	if err != nil || len(got) != 1 {
		t.Errorf("throttled listing: %v, %d objects", err, len(got))
	}
	srv.Fail(nil)
	if _, err := s.Open(ctx, "logs", "missing.json"); err == nil || !strings.Contains(err.Error(), "s3://logs/missing.json") || !strings.Contains(err.Error(), "NoSuchKey") {
		t.Errorf("missing key: %v", err)
	}
}

func head(s []string) []string {
	if len(s) > 5 {
		return s[:5]
	}
	return s
}

// TestS3NoCredentials: without credentials the error says so and names
// the prefix.
func TestS3NoCredentials(t *testing.T) {
	srv := livetest.NewS3Server(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	os.Unsetenv("AWS_ACCESS_KEY_ID")
	os.Unsetenv("AWS_SECRET_ACCESS_KEY")
	s := newS3(t, srv)
	_, err := s.List(context.Background(), "logs", "AWSLogs/", nil)
	if err == nil || !strings.Contains(err.Error(), "no AWS credentials") || !strings.Contains(err.Error(), "s3://logs/AWSLogs/") {
		t.Errorf("no credentials: %v", err)
	}
}

// TestS3BucketRegion: without a region given, a bucket in another region
// than the configuration's is found with one HeadBucket and then listed
// and read; with a region given, S3's PermanentRedirect is reported.
func TestS3BucketRegion(t *testing.T) {
	srv := livetest.NewS3Server(t)
	srv.Bucket(t, "eu-logs")
	key := "AWSLogs/123456789012/CloudTrail/eu-west-1/2026/03/05/a.json"
	srv.Put(t, "eu-logs", key, []byte(`{"Records":[]}`))
	srv.BucketRegion("eu-logs", "eu-west-1") // the configuration says us-east-1
	s := newS3(t, srv)
	ctx := context.Background()
	for range 2 {
		got, err := s.List(ctx, "eu-logs", "AWSLogs/", nil)
		if err != nil || len(got) != 1 {
			t.Fatalf("listing a bucket of another region: %v, %d objects", err, len(got))
		}
		r, err := s.Open(ctx, "eu-logs", key)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(r)
		r.Close()
		if err != nil || string(b) != `{"Records":[]}` {
			t.Fatalf("reading: %q, %v", b, err)
		}
	}
	if srv.Heads() != 1 || s.Heads.Load() != 1 {
		t.Errorf("%d HeadBucket calls (counted %d), want the region asked once", srv.Heads(), s.Heads.Load())
	}

	cfg, err := source.LoadAWS(ctx, source.AWSOptions{S3Endpoint: srv.URL, Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	given := source.NewS3(cfg, source.AWSOptions{S3Endpoint: srv.URL, Region: "us-east-1"}, 1)
	if _, err := given.List(ctx, "eu-logs", "AWSLogs/", nil); err == nil || !strings.Contains(err.Error(), "PermanentRedirect") || !strings.Contains(err.Error(), "s3://eu-logs/AWSLogs/") ||
		!strings.Contains(err.Error(), "give --aws-region eu-west-1") {
		t.Errorf("a wrong --aws-region: %v, want S3's PermanentRedirect naming the prefix", err)
	}
}
