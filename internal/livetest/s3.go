package livetest

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// S3Server is an S3-compatible server (gofakes3, in memory) on loopback
// that counts the list and get requests it answers and can be told to
// fail some.
type S3Server struct {
	URL    string
	Client *s3.Client // path-style, for setting up buckets and objects

	lists, gets atomic.Int64
	mu          sync.Mutex
	fail        func(r *http.Request) (status int, code string)
	cuts        int   // GetObject responses still to cut
	cutAfter    int64 // bytes of the body sent before the cut
	stalls      map[string]*stall
	regions     map[string]string // bucket → its region (BucketRegion)
	heads       atomic.Int64
}

// stall holds a GetObject body after some bytes until released.
type stall struct {
	after   int64
	reached chan struct{}
	release chan struct{}
	once    sync.Once
}

// NewS3Server starts the server and points the AWS SDK of the test
// process at nothing else: static keys in the environment, no shared
// config files, no instance metadata.
func NewS3Server(t testing.TB) *S3Server {
	t.Helper()
	IsolateAWS(t)
	fake := gofakes3.New(s3mem.New(), gofakes3.WithLogger(gofakes3.DiscardLog()))
	s := &S3Server{}
	h := fake.Server()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		fail := s.fail
		bucket := strings.SplitN(strings.Trim(r.URL.Path, "/"), "/", 2)[0]
		region := s.regions[bucket]
		s.mu.Unlock()
		if r.Method == http.MethodHead && !strings.Contains(strings.Trim(r.URL.Path, "/"), "/") {
			s.heads.Add(1)
		}
		if region != "" {
			// S3 answers a request signed for another region than the
			// bucket's with 301 PermanentRedirect and the bucket's region
			// in x-amz-bucket-region (HEAD without a body); HeadBucket
			// names the region too when it succeeds.
			w.Header().Set("X-Amz-Bucket-Region", region)
			if m := s3Scope.FindStringSubmatch(r.Header.Get("Authorization")); m == nil || m[1] != region {
				w.Header().Set("Content-Type", "application/xml")
				w.WriteHeader(http.StatusMovedPermanently)
				if r.Method != http.MethodHead {
					fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>PermanentRedirect</Code><Message>The bucket you are attempting to access must be addressed using the specified endpoint. Please send all future requests to this endpoint.</Message></Error>`)
				}
				return
			}
		}
		if fail != nil {
			if status, code := fail(r); status != 0 {
				w.Header().Set("Content-Type", "application/xml")
				w.WriteHeader(status)
				fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>injected by the test</Message></Error>`, code)
				return
			}
		}
		if r.Method == http.MethodGet {
			if r.URL.Query().Get("list-type") == "2" {
				s.lists.Add(1)
			} else if strings.Count(strings.Trim(r.URL.Path, "/"), "/") >= 1 {
				s.gets.Add(1)
				s.mu.Lock()
				cut := s.cuts > 0
				if cut {
					s.cuts--
				}
				after := s.cutAfter
				s.mu.Unlock()
				if cut {
					h.ServeHTTP(&cutWriter{ResponseWriter: w, left: after}, r)
					panic(http.ErrAbortHandler) // the client sees the connection drop midway
				}
				s.mu.Lock()
				st := s.stalls[strings.SplitN(strings.Trim(r.URL.Path, "/"), "/", 2)[1]]
				s.mu.Unlock()
				if st != nil {
					h.ServeHTTP(&stallWriter{ResponseWriter: w, st: st, left: st.after, done: r.Context().Done()}, r)
					return
				}
			}
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	s.Client = s3.New(s3.Options{
		Region:                     "us-east-1",
		BaseEndpoint:               aws.String(srv.URL),
		UsePathStyle:               true,
		Credentials:                credentials.NewStaticCredentialsProvider("test", "test", ""),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
	})
	return s
}

// IsolateAWS sets static test credentials and hides the user's AWS
// configuration and the instance metadata service from the SDK.
func IsolateAWS(t testing.TB) {
	t.Helper()
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID":           "test",
		"AWS_SECRET_ACCESS_KEY":       "test",
		"AWS_SESSION_TOKEN":           "",
		"AWS_PROFILE":                 "",
		"AWS_REGION":                  "us-east-1",
		"AWS_CONFIG_FILE":             filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_ENDPOINT_URL":            "",
		"AWS_ENDPOINT_URL_S3":         "",
		"AWS_ENDPOINT_URL_SQS":        "",
	} {
		t.Setenv(k, v)
		if v == "" {
			os.Unsetenv(k)
		}
	}
}

var s3Scope = regexp.MustCompile(`Credential=[^/]+/\d{8}/([^/]+)/s3/aws4_request`)

// BucketRegion puts bucket in region: requests signed for another region
// are answered 301 PermanentRedirect naming it, as S3 does.
func (s *S3Server) BucketRegion(bucket, region string) {
	s.mu.Lock()
	if s.regions == nil {
		s.regions = map[string]string{}
	}
	s.regions[bucket] = region
	s.mu.Unlock()
}

// Heads returns the HeadBucket requests answered so far.
func (s *S3Server) Heads() int64 { return s.heads.Load() }

// Fail makes the server answer a request with status and an S3 error
// code whenever f says so (status 0: answer normally); nil stops failing.
func (s *S3Server) Fail(f func(r *http.Request) (status int, code string)) {
	s.mu.Lock()
	s.fail = f
	s.mu.Unlock()
}

// CutGets makes the next n GetObject responses drop the connection after
// sending after bytes of the body, as a network failure midway would.
func (s *S3Server) CutGets(n int, after int64) {
	s.mu.Lock()
	s.cuts, s.cutAfter = n, after
	s.mu.Unlock()
}

// Stall makes every GetObject of key send after bytes of the body and
// then wait until release is called (or the client goes away); reached is
// closed when a read first gets there.
func (s *S3Server) Stall(key string, after int64) (reached <-chan struct{}, release func()) {
	st := &stall{after: after, reached: make(chan struct{}), release: make(chan struct{})}
	s.mu.Lock()
	if s.stalls == nil {
		s.stalls = map[string]*stall{}
	}
	s.stalls[key] = st
	s.mu.Unlock()
	var once sync.Once
	return st.reached, func() { once.Do(func() { close(st.release) }) }
}

type stallWriter struct {
	http.ResponseWriter
	st   *stall
	left int64
	done <-chan struct{}
}

func (w *stallWriter) Write(b []byte) (int, error) {
	total := len(b)
	if w.left > 0 {
		n := min(int64(len(b)), w.left)
		if _, err := w.ResponseWriter.Write(b[:n]); err != nil {
			return 0, err
		}
		w.left -= n
		b = b[n:]
		if len(b) == 0 {
			return total, nil
		}
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
	w.st.once.Do(func() { close(w.st.reached) })
	select {
	case <-w.st.release:
	case <-w.done:
		return 0, http.ErrAbortHandler
	}
	if _, err := w.ResponseWriter.Write(b); err != nil {
		return 0, err
	}
	return total, nil
}

// cutWriter passes on the first left bytes of a body and swallows the rest.
type cutWriter struct {
	http.ResponseWriter
	left int64
}

func (c *cutWriter) Write(b []byte) (int, error) {
	if c.left <= 0 {
		return len(b), nil
	}
	n := int64(len(b))
	if n > c.left {
		n = c.left
	}
	c.left -= n
	if _, err := c.ResponseWriter.Write(b[:n]); err != nil {
		return 0, err
	}
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
	return len(b), nil
}

// Lists is the number of ListObjectsV2 requests answered so far.
func (s *S3Server) Lists() int64 { return s.lists.Load() }

// Gets is the number of GetObject requests answered so far.
func (s *S3Server) Gets() int64 { return s.gets.Load() }

// ResetCounts zeroes the counters.
func (s *S3Server) ResetCounts() { s.lists.Store(0); s.gets.Store(0) }

// Bucket creates a bucket.
func (s *S3Server) Bucket(t testing.TB, name string) {
	t.Helper()
	if _, err := s.Client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("create bucket %s: %v", name, err)
	}
}

// Put writes one object.
func (s *S3Server) Put(t testing.TB, bucket, key string, body []byte) {
	t.Helper()
	_, err := s.Client.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body),
		ContentLength: aws.Int64(int64(len(body))),
	})
	if err != nil {
		t.Fatalf("put s3://%s/%s: %v", bucket, key, err)
	}
}

// Upload copies the files under dir into the bucket, under prefix, with
// their paths relative to dir as keys.
func (s *S3Server) Upload(t testing.TB, bucket, prefix, dir string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		s.Put(t, bucket, prefix+filepath.ToSlash(rel), b)
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
