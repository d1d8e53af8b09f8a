package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"golang.org/x/sync/errgroup"
)

// AWSOptions say how to reach AWS: the standard credential chain
// (environment, shared config and profiles, SSO, web identity, container
// and instance roles) narrowed by a profile and a region, and an endpoint
// for S3-compatible stores. The SDK's own AWS_ENDPOINT_URL_S3 and
// AWS_ENDPOINT_URL work too; whenever the endpoint is overridden, S3 is
// addressed path-style.
type AWSOptions struct {
	Profile    string
	Region     string
	S3Endpoint string
	HTTPClient *http.Client // nil: the SDK's
}

// defaultRegion is used when neither a flag, the environment nor the
// profile names one: S3 and SQS clients need a region to sign.
const defaultRegion = "us-east-1"

// LoadAWS resolves the AWS configuration once for every client.
func LoadAWS(ctx context.Context, o AWSOptions) (aws.Config, error) {
	var opts []func(*config.LoadOptions) error
	if o.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(o.Profile))
	}
	if o.Region != "" {
		opts = append(opts, config.WithRegion(o.Region))
	}
	if o.HTTPClient != nil {
		opts = append(opts, config.WithHTTPClient(o.HTTPClient))
	}
	// The SDK's client-wide retry token bucket ends in QuotaExceeded under
	// sustained throttling (sources.md §3); keep its backoff, drop the
	// bucket, and allow a few more attempts for a throttled listing.
	opts = append(opts, config.WithRetryer(func() aws.Retryer {
		return retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = 6
			so.RateLimiter = ratelimit.None
		})
	}))
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = defaultRegion
	}
	return cfg, nil
}

// S3 reads objects from S3 or an S3-compatible store. It counts its list
// and get calls, so that a summary (and a test) can show what pruning
// saved.
type S3 struct {
	client *s3.Client
	jobs   int
	// With no region given, each bucket's is asked once (HeadBucket) and
	// a bucket elsewhere gets a client of its own region.
	cfg      aws.Config
	opts     AWSOptions
	discover bool
	bmu      sync.Mutex
	buckets  map[string]*s3.Client
	// Lists and Gets count ListObjectsV2 and GetObject calls; Keys the
	// keys the listings returned; Heads the HeadBucket calls that found a
	// bucket's region.
	Lists, Gets, Keys, Heads atomic.Int64
	// Pruned counts the folders not listed and the objects not read, by
	// the filter that refused them.
	mu     sync.Mutex
	pruned Counts
}

// NewS3 makes the S3 reader. jobs bounds the listings in flight. Without
// o.Region, each bucket's region is found on its first use (HeadBucket's
// x-amz-bucket-region, which S3 sends even when it refuses the request),
// so that a bucket in another region than the configuration's is read
// without --aws-region.
func NewS3(cfg aws.Config, o AWSOptions, jobs int) *S3 {
	return &S3{client: newS3Client(cfg, o), jobs: max(jobs, 1), cfg: cfg, opts: o, discover: o.Region == ""}
}

func newS3Client(cfg aws.Config, o AWSOptions) *s3.Client {
	return s3.NewFromConfig(cfg, func(so *s3.Options) {
		if o.S3Endpoint != "" {
			so.BaseEndpoint = aws.String(o.S3Endpoint)
		}
		// An overridden endpoint (flag, AWS_ENDPOINT_URL_S3,
		// AWS_ENDPOINT_URL, the shared config) is an S3-compatible
		// store: its buckets are not DNS names.
		if so.BaseEndpoint != nil {
			so.UsePathStyle = true
		}
		// Validate checksums only where S3 requires them: objects
		// written without one would log a warning per GET otherwise; a
		// cut body is still caught by its length.
		so.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	})
}

// clientFor returns the client for bucket: the configured one, or, when
// the bucket's region differs from it, one of the bucket's region.
func (s *S3) clientFor(ctx context.Context, bucket string) *s3.Client {
	if !s.discover {
		return s.client
	}
	s.bmu.Lock()
	defer s.bmu.Unlock()
	if c, ok := s.buckets[bucket]; ok {
		return c
	}
	c := s.client
	if region := s.bucketRegion(ctx, bucket); region != "" && region != s.cfg.Region {
		cfg := s.cfg.Copy()
		cfg.Region = region
		c = newS3Client(cfg, s.opts)
	}
	if s.buckets == nil {
		s.buckets = map[string]*s3.Client{}
	}
	s.buckets[bucket] = c
	return c
}

// bucketRegion asks S3 where bucket is; "" when it does not say (a
// missing bucket, a store without regions): the listing then reports
// the error.
func (s *S3) bucketRegion(ctx context.Context, bucket string) string {
	s.Heads.Add(1)
	out, err := s.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)})
	if err == nil {
		return aws.ToString(out.BucketRegion)
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.Response != nil {
		return re.Response.Header.Get("X-Amz-Bucket-Region")
	}
	return ""
}

// Pruned returns what the filters refused so far.
func (s *S3) Pruned() Counts {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pruned
}

func (s *S3) prune(r Reason) {
	s.mu.Lock()
	s.pruned.Add(r)
	s.mu.Unlock()
}

// ParseS3URL splits s3://bucket/prefix.
func ParseS3URL(u string) (bucket, prefix string, err error) {
	rest, ok := strings.CutPrefix(u, "s3://")
	if !ok {
		return "", "", fmt.Errorf("%q is not an s3:// URL", u)
	}
	bucket, prefix, _ = strings.Cut(rest, "/")
	if bucket == "" {
		return "", "", fmt.Errorf("%q names no bucket (want s3://BUCKET/PREFIX)", u)
	}
	return bucket, prefix, nil
}

// Object is one listed object.
type Object struct {
	Key  string
	Size int64
	// ETag and Created tell one version of a blob from another (Azure
	// Blob Storage only): the ETag changes with every append, the
	// creation time when a blob is deleted and written anew.
	ETag    string
	Created time.Time
}

// List returns the objects under prefix, sorted by key, that may hold
// records the filter keeps. With an active filter it walks the CloudTrail
// layout a folder at a time and lists only the accounts, regions and days
// the filter allows; without one it lists the prefix flat. Digest and
// Insights files are never returned.
func (s *S3) List(ctx context.Context, bucket, prefix string, f *Filter) ([]Object, error) {
	var (
		mu  sync.Mutex
		out []Object
	)
	add := func(o Object) {
		if r := f.Classify(o.Key); r != Kept {
			s.prune(r)
			return
		}
		mu.Lock()
		out = append(out, o)
		mu.Unlock()
	}
	var err error
	if !f.Active() {
		err = s.listFlat(ctx, bucket, prefix, "", nil, add)
	} else {
		g, gctx := errgroup.WithContext(ctx)
		w := &walker{s: s, bucket: bucket, f: f, g: g, sem: make(chan struct{}, s.jobs), add: add}
		w.spawn(gctx, prefix)
		err = g.Wait()
	}
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// listFlat lists every object under prefix after startAfter; stop, when
// set, ends the listing at the first key it refuses (keys come in
// ascending order).
func (s *S3) listFlat(ctx context.Context, bucket, prefix, startAfter string, stop func(key string) bool, add func(Object)) error {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)}
	if startAfter != "" {
		in.StartAfter = aws.String(startAfter)
	}
	p := s3.NewListObjectsV2Paginator(s.clientFor(ctx, bucket), in)
	for p.HasMorePages() {
		s.Lists.Add(1)
		page, err := p.NextPage(ctx)
		if err != nil {
			return s3Error("listing", bucket, prefix, err)
		}
		s.Keys.Add(int64(len(page.Contents)))
		for _, o := range page.Contents {
			key := aws.ToString(o.Key)
			if stop != nil && stop(key) {
				return nil
			}
			add(Object{Key: key, Size: aws.ToInt64(o.Size)})
		}
	}
	return nil
}

// listLevel lists one folder level: the sub-folders and the objects
// directly in it.
func (s *S3) listLevel(ctx context.Context, bucket, prefix string) (dirs []string, objs []Object, err error) {
	p := s3.NewListObjectsV2Paginator(s.clientFor(ctx, bucket), &s3.ListObjectsV2Input{
		Bucket: aws.String(bucket), Prefix: aws.String(prefix), Delimiter: aws.String("/"),
	})
	for p.HasMorePages() {
		s.Lists.Add(1)
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, nil, s3Error("listing", bucket, prefix, err)
		}
		s.Keys.Add(int64(len(page.Contents) + len(page.CommonPrefixes)))
		for _, cp := range page.CommonPrefixes {
			dirs = append(dirs, aws.ToString(cp.Prefix))
		}
		for _, o := range page.Contents {
			objs = append(objs, Object{Key: aws.ToString(o.Key), Size: aws.ToInt64(o.Size)})
		}
	}
	return dirs, objs, nil
}

// walker descends the CloudTrail layout, listing folders in parallel (at
// most jobs at once).
type walker struct {
	s      *S3
	bucket string
	f      *Filter
	g      *errgroup.Group
	sem    chan struct{}
	add    func(Object)
}

func (w *walker) spawn(ctx context.Context, prefix string) {
	w.g.Go(func() error {
		select {
		case w.sem <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		next, err := w.visit(ctx, prefix)
		<-w.sem
		if err != nil {
			return err
		}
		for _, p := range next {
			w.spawn(ctx, p)
		}
		return nil
	})
}

// visit lists one prefix and returns the sub-folders to visit.
func (w *walker) visit(ctx context.Context, prefix string) ([]string, error) {
	l := ParseLayout(prefix)
	if l.Kind == "cloudtrail" && strings.HasSuffix(prefix, "/") {
		switch {
		case l.Account == "":
			// AWSLogs/ or AWSLogs/o-ORG/: list accounts (and orgs).
		case l.Folder == "":
			if !w.f.KeepAccount(l.Account) {
				w.s.prune(ByAccount)
				return nil, nil
			}
			// Only the log folder: not the digests, not Insights.
			return []string{prefix + ctLogs + "/"}, nil
		case l.Folder != ctLogs:
			w.s.prune(ByDigest)
			return nil, nil
		case l.Region == "":
			if len(w.f.Regions) > 0 {
				var next []string
				for _, r := range dedupe(w.f.Regions) {
					next = append(next, prefix+r+"/")
				}
				return next, nil
			}
			if !w.timed() {
				return nil, w.s.listFlat(ctx, w.bucket, prefix, "", nil, w.add)
			}
			// Discover the regions: each is listed from the window's start.
		default:
			return nil, w.region(ctx, prefix, l)
		}
	}
	dirs, objs, err := w.s.listLevel(ctx, w.bucket, prefix)
	if err != nil {
		return nil, err
	}
	for _, o := range objs {
		w.add(o)
	}
	var next []string
	for _, d := range dirs {
		if r := w.f.Classify(d); r != Kept {
			w.s.prune(r)
			continue
		}
		next = append(next, d)
	}
	return next, nil
}

func (w *walker) timed() bool { return !w.f.Since.IsZero() || !w.f.Until.IsZero() }

// region lists a region folder (or a year, month or day under it) in one
// flat listing: keys sort by delivery day and, within a day, by delivery
// time, so the listing starts after the files delivered before the window
// and stops at the first delivered after it.
func (w *walker) region(ctx context.Context, prefix string, l Layout) error {
	if !w.f.KeepRegion(l.Region) {
		w.s.prune(ByRegion)
		return nil
	}
	if !l.Day.IsZero() && !w.f.KeepDay(l.Day) {
		w.s.prune(ByTime)
		return nil
	}
	start := ""
	if !w.f.Since.IsZero() {
		// REGION/YYYY/MM/DD/ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHmmZ_…:
		// every file of the minute of Since and later sorts after this.
		// (Below the prefix it skips nothing; above it, everything.)
		regionPrefix := prefix[:strings.Index(prefix, "/"+ctLogs+"/"+l.Region+"/")] + "/" + ctLogs + "/" + l.Region + "/"
		first := w.f.Since.UTC()
		start = regionPrefix + first.Format("2006/01/02/") + l.Account + "_" + ctLogs + "_" + l.Region + "_" +
			first.Add(-time.Minute).Format(deliveryStamp) + "~"
	}
	var stop func(string) bool
	if !w.f.Until.IsZero() {
		end := w.f.Until.Add(w.f.slack())
		stop = func(key string) bool {
			k := ParseLayout(key)
			if !k.Delivered.IsZero() {
				return k.Delivered.After(end)
			}
			return !k.Day.IsZero() && k.Day.After(end)
		}
	}
	return w.s.listFlat(ctx, w.bucket, prefix, start, stop, w.add)
}

func dedupe(list []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range list {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

// Open starts reading an object; the body streams as it arrives. A read
// that fails midway resumes from the byte it reached, on the same version
// of the object (If-Match on its ETag), a few times before giving up.
func (s *S3) Open(ctx context.Context, bucket, key string) (io.ReadCloser, error) {
	r := &s3Reader{ctx: ctx, s: s, bucket: bucket, key: key}
	if err := r.get(); err != nil {
		return nil, err
	}
	return r, nil
}

// maxResumes bounds the ranged re-reads of one object.
const maxResumes = 3

type s3Reader struct {
	ctx         context.Context
	s           *S3
	bucket, key string
	etag        string
	body        io.ReadCloser
	off         int64
	resumes     int
}

func (r *s3Reader) get() error {
	in := &s3.GetObjectInput{Bucket: aws.String(r.bucket), Key: aws.String(r.key)}
	if r.off > 0 {
		in.Range = aws.String(fmt.Sprintf("bytes=%d-", r.off))
		if r.etag != "" {
			in.IfMatch = aws.String(r.etag)
		}
	}
	r.s.Gets.Add(1)
	out, err := r.s.clientFor(r.ctx, r.bucket).GetObject(r.ctx, in)
	if err != nil {
		return s3Error("reading", r.bucket, r.key, err)
	}
	if r.etag == "" {
		r.etag = aws.ToString(out.ETag)
	}
	r.body = out.Body
	return nil
}

func (r *s3Reader) Read(p []byte) (int, error) {
	for {
		n, err := r.body.Read(p)
		r.off += int64(n)
		if err == nil || err == io.EOF || n > 0 {
			return n, err
		}
		if r.ctx.Err() != nil || r.resumes == maxResumes {
			return n, fmt.Errorf("reading s3://%s/%s at byte %d: %w", r.bucket, r.key, r.off, err)
		}
		r.resumes++
		r.body.Close()
		if gerr := r.get(); gerr != nil {
			r.body = io.NopCloser(strings.NewReader(""))
			return 0, fmt.Errorf("resuming s3://%s/%s at byte %d after %v: %w", r.bucket, r.key, r.off, err, gerr)
		}
	}
}

func (r *s3Reader) Close() error { return r.body.Close() }

// S3Error is a failed S3 call: which call, on which object, and the
// service's error code when there is one (NoSuchBucket, AccessDenied,
// SlowDown…).
type S3Error struct {
	Op, Bucket, Key string
	Code, Msg       string // empty when the call failed before S3 answered
	Err             error
}

func (e *S3Error) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("%s s3://%s/%s: %s: %s", e.Op, e.Bucket, e.Key, e.Code, e.Msg)
	}
	if strings.Contains(e.Err.Error(), "get credentials") {
		return fmt.Sprintf("%s s3://%s/%s: no AWS credentials (set AWS_PROFILE or --aws-profile, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run aws sso login): %v", e.Op, e.Bucket, e.Key, e.Err)
	}
	return fmt.Sprintf("%s s3://%s/%s: %v", e.Op, e.Bucket, e.Key, e.Err)
}

// Unwrap returns the SDK's error.
func (e *S3Error) Unwrap() error { return e.Err }

func s3Error(what, bucket, key string, err error) error {
	e := &S3Error{Op: what, Bucket: bucket, Key: key, Err: err}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		e.Code, e.Msg = ae.ErrorCode(), ae.ErrorMessage()
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.Response != nil && e.Code != "" {
		if r := re.Response.Header.Get("X-Amz-Bucket-Region"); r != "" && re.Response.StatusCode/100 != 2 {
			e.Msg += " (the bucket is in " + r + ": give --aws-region " + r + ")"
		}
	}
	return e
}
