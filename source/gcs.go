package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"net/http"

	"golang.org/x/sync/errgroup"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"
	storage "google.golang.org/api/storage/v1"
)

// EmulatorHostEnv names a Cloud Storage emulator (fake-gcs-server) the
// client talks to instead of storage.googleapis.com, without credentials,
// as the Cloud Storage client libraries read it: a host:port, or a URL.
const EmulatorHostEnv = "STORAGE_EMULATOR_HOST"

// IsGCSURL says whether a PATH argument names Cloud Storage.
func IsGCSURL(s string) bool { return strings.HasPrefix(s, "gs://") }

// ParseGCSURL splits gs://bucket/prefix.
func ParseGCSURL(s string) (bucket, prefix string, err error) {
	rest, ok := strings.CutPrefix(s, "gs://")
	if !ok {
		return "", "", fmt.Errorf("%q is not a gs:// URL", s)
	}
	bucket, prefix, _ = strings.Cut(rest, "/")
	if bucket == "" {
		return "", "", fmt.Errorf("%q names no bucket (want gs://BUCKET/PREFIX)", s)
	}
	return bucket, prefix, nil
}

// GCS reads Cloud Storage objects, counting its list and get calls. It
// speaks the JSON API through its generated REST client: the Cloud Storage
// client library would bring gRPC's xDS and Envoy's protocol buffers into
// every run of revertwatch (a third of the binary, and some 10 MB of
// resident memory at start), for calls that are two GETs.
type GCS struct {
	svc  *storage.Service
	jobs int
	// Lists and Gets count list pages and object reads.
	Lists, Gets atomic.Int64
	mu          sync.Mutex
	pruned      Counts
}

// NewGCS makes a client with Application Default Credentials
// (GOOGLE_APPLICATION_CREDENTIALS, gcloud auth application-default
// login, the metadata server), or for the emulator STORAGE_EMULATOR_HOST
// names.
func NewGCS(ctx context.Context, jobs int) (*GCS, error) {
	host := os.Getenv(EmulatorHostEnv)
	var opts []option.ClientOption
	if host != "" {
		opts = append(opts, option.WithEndpoint(EmulatorEndpoint(host)), option.WithoutAuthentication())
	} else {
		opts = append(opts, option.WithScopes(storage.DevstorageReadOnlyScope))
	}
	svc, err := storage.NewService(ctx, opts...)
	if err != nil {
		if host == "" {
			return nil, fmt.Errorf("gs://: no Google Cloud credentials (gcloud auth application-default login, GOOGLE_APPLICATION_CREDENTIALS, or the metadata server of a VM): %w", err)
		}
		return nil, fmt.Errorf("gs:// (%s=%s): %w", EmulatorHostEnv, host, err)
	}
	return NewGCSClient(svc, jobs), nil
}

// EmulatorEndpoint is the JSON API's base URL at an emulator's host
// (STORAGE_EMULATOR_HOST): host:port means plain HTTP.
func EmulatorEndpoint(host string) string {
	if !strings.Contains(host, "://") {
		host = "http://" + host
	}
	return strings.TrimSuffix(host, "/") + "/storage/v1/"
}

// NewGCSClient reads through a service the caller made.
func NewGCSClient(svc *storage.Service, jobs int) *GCS {
	return &GCS{svc: svc, jobs: max(jobs, 1)}
}

// Pruned returns what the filters refused so far.
func (g *GCS) Pruned() Counts {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.pruned
}

func (g *GCS) prune(r Reason) {
	g.mu.Lock()
	g.pruned.Add(r)
	g.mu.Unlock()
}

// GCSError is a failed Cloud Storage call, naming the object or prefix.
type GCSError struct {
	Op, Name string
	Err      error
}

func (e *GCSError) Error() string {
	msg := e.Err.Error()
	var ae *googleapi.Error
	if errors.As(e.Err, &ae) && ae.Code == http.StatusNotFound {
		// A listing names a bucket; a read an object (in a bucket that
		// may not exist either).
		msg = "no such object"
		if e.Op == "listing" {
			msg = "no such bucket"
		}
	}
	return fmt.Sprintf("%s %s: %s", e.Op, e.Name, msg)
}

// Unwrap returns the client's error.
func (e *GCSError) Unwrap() error { return e.Err }

// List returns the objects under gs://bucket/prefix, sorted by name, that
// may hold records the filter keeps. With a time window it walks the
// Cloud Storage sink's layout (cloudaudit.googleapis.com/LOG/YYYY/MM/DD/
// HH:00:00_HH:59:59_Sn.json): only the years, months and days the window
// reaches are listed, each day in one listing, and only the hourly files
// whose hour it overlaps are read. Without one it lists the prefix flat.
func (g *GCS) List(ctx context.Context, bucket, prefix string, f *Filter) ([]Object, error) {
	name := func(p string) string { return "gs://" + bucket + "/" + p }
	var (
		mu  sync.Mutex
		out []Object
	)
	add := func(o Object) {
		if r := f.Classify(o.Key); r != Kept {
			g.prune(r)
			return
		}
		mu.Lock()
		out = append(out, o)
		mu.Unlock()
	}
	list := func(ctx context.Context, prefix, delim string, dir func(string)) error {
		call := g.svc.Objects.List(bucket).Context(ctx).Prefix(prefix).MaxResults(1000).
			Fields("items(name,size)", "prefixes", "nextPageToken")
		if delim != "" {
			call = call.Delimiter(delim)
		}
		for token := ""; ; {
			g.Lists.Add(1)
			page, err := call.PageToken(token).Do()
			if err != nil {
				return &GCSError{Op: "listing", Name: name(prefix), Err: err}
			}
			if dir != nil {
				for _, p := range page.Prefixes {
					dir(p)
				}
			}
			for _, o := range page.Items {
				if strings.HasSuffix(o.Name, "/") {
					continue // a folder placeholder
				}
				add(Object{Key: o.Name, Size: int64(o.Size)})
			}
			if page.NextPageToken == "" {
				return nil
			}
			token = page.NextPageToken
		}
	}
	timed := f != nil && (!f.Since.IsZero() || !f.Until.IsZero())
	if !timed {
		if err := list(ctx, prefix, "", nil); err != nil {
			return nil, err
		}
	} else {
		eg, gctx := errgroup.WithContext(ctx)
		sem := make(chan struct{}, g.jobs)
		var visit func(prefix string)
		visit = func(prefix string) {
			eg.Go(func() error {
				select {
				case sem <- struct{}{}:
				case <-gctx.Done():
					return gctx.Err()
				}
				defer func() { <-sem }()
				if l := ParseLayout(prefix); l.Kind == "gcp" && !l.Day.IsZero() {
					return list(gctx, prefix, "", nil)
				}
				return list(gctx, prefix, "/", func(dir string) {
					if r := f.Classify(dir); r != Kept {
						g.prune(r)
						return
					}
					visit(dir)
				})
			})
		}
		visit(prefix)
		if err := eg.Wait(); err != nil {
			return nil, err
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// Open starts reading an object; the body streams as it arrives (an
// object stored with Content-Encoding gzip arrives decompressed by the
// HTTP client; a gzip file stored as such is recognised by ingest).
func (g *GCS) Open(ctx context.Context, bucket, key string) (io.ReadCloser, error) {
	g.Gets.Add(1)
	res, err := g.svc.Objects.Get(bucket, key).Context(ctx).Download()
	if err != nil {
		return nil, &GCSError{Op: "reading", Name: "gs://" + bucket + "/" + key, Err: err}
	}
	return res.Body, nil
}

// gcsSpan is the time a folder or file of the Cloud Storage sink's layout
// covers: a year, a month, a day, or the hour of an hourly file. The sink
// names files by the hour of the entries' timestamps (UTC), not by when
// they were written (Cloud Logging, "View logs routed to Cloud Storage").
func gcsSpan(l Layout) (from, to time.Time, ok bool) {
	switch {
	case !l.Hour.IsZero():
		return l.Hour, l.Hour.Add(time.Hour), true
	case !l.Day.IsZero():
		return l.Day, l.Day.AddDate(0, 0, 1), true
	case l.Month > 0:
		from = time.Date(l.Year, time.Month(l.Month), 1, 0, 0, 0, 0, time.UTC)
		return from, from.AddDate(0, 1, 0), true
	case l.Year > 0:
		from = time.Date(l.Year, 1, 1, 0, 0, 0, 0, time.UTC)
		return from, from.AddDate(1, 0, 0), true
	}
	return time.Time{}, time.Time{}, false
}

// KeepSpan says whether entries timed in [from, to) may be in the
// window.
func (f *Filter) KeepSpan(from, to time.Time) bool {
	if f == nil {
		return true
	}
	if !f.Since.IsZero() && !to.After(f.Since) {
		return false
	}
	if !f.Until.IsZero() && !from.Before(f.Until) {
		return false
	}
	return true
}
