package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"golang.org/x/sync/errgroup"
)

// ConnectionStringEnv is the variable a storage connection string is read
// from (azblob itself never reads it).
const ConnectionStringEnv = "AZURE_STORAGE_CONNECTION_STRING"

// BlobURL is a parsed azblob://account/container/prefix or
// https://ACCOUNT.blob.core.windows.net/container/prefix[?SAS].
type BlobURL struct {
	Account, Container, Prefix string
	SAS                        string // the query of a SAS URL, without '?'
}

// IsBlobURL says whether a PATH argument names Azure Blob Storage.
func IsBlobURL(s string) bool {
	if strings.HasPrefix(s, "azblob://") {
		return true
	}
	u, err := url.Parse(s)
	return err == nil && u.Scheme == "https" && strings.HasSuffix(strings.ToLower(u.Host), ".blob.core.windows.net")
}

// ParseBlobURL reads an azblob:// or a blob.core.windows.net URL.
func ParseBlobURL(s string) (BlobURL, error) {
	var b BlobURL
	if rest, ok := strings.CutPrefix(s, "azblob://"); ok {
		parts := strings.SplitN(rest, "/", 3)
		b.Account = parts[0]
		if len(parts) > 1 {
			b.Container = parts[1]
		}
		if len(parts) > 2 {
			b.Prefix = parts[2]
		}
	} else {
		u, err := url.Parse(s)
		if err != nil || u.Scheme != "https" || !strings.HasSuffix(strings.ToLower(u.Host), ".blob.core.windows.net") {
			return b, fmt.Errorf("%q is not an azblob:// or https://ACCOUNT.blob.core.windows.net/ URL", s)
		}
		b.Account = strings.Split(u.Host, ".")[0]
		parts := strings.SplitN(strings.TrimPrefix(u.Path, "/"), "/", 2)
		b.Container = parts[0]
		if len(parts) > 1 {
			b.Prefix = parts[1]
		}
		b.SAS = u.RawQuery
	}
	if b.Account == "" || b.Container == "" {
		return b, fmt.Errorf("%q names no account and container (want azblob://ACCOUNT/CONTAINER/PREFIX)", s)
	}
	return b, nil
}

// name is the input name of a blob: never the SAS, which is a secret.
func (b BlobURL) name(blob string) string {
	return "azblob://" + b.Account + "/" + b.Container + "/" + blob
}

// Blob reads one storage account's blobs, counting its list and get calls.
type Blob struct {
	client *azblob.Client
	jobs   int
	// Lists and Gets count list and download calls.
	Lists, Gets atomic.Int64
	mu          sync.Mutex
	pruned      Counts
}

// NewBlob makes a client for the account of u: with the SAS of the URL
// when it has one; else from the connection string in
// AZURE_STORAGE_CONNECTION_STRING when that names the account; else with
// azidentity's default credential chain (environment, workload identity,
// managed identity, Azure CLI, ...).
func NewBlob(u BlobURL, jobs int) (*Blob, error) {
	service := "https://" + u.Account + ".blob.core.windows.net/"
	var (
		c   *azblob.Client
		err error
	)
	switch cs := os.Getenv(ConnectionStringEnv); {
	case u.SAS != "":
		c, err = azblob.NewClientWithNoCredential(service+"?"+u.SAS, nil)
	case cs != "":
		if a := connStringField(cs, "AccountName"); !strings.EqualFold(a, u.Account) {
			return nil, fmt.Errorf("%s names account %q, not %q", ConnectionStringEnv, a, u.Account)
		}
		c, err = azblob.NewClientFromConnectionString(cs, nil)
	default:
		var cred azcore.TokenCredential
		cred, err = azidentity.NewDefaultAzureCredential(nil)
		if err != nil {
			return nil, fmt.Errorf("no Azure credentials (a SAS URL, %s, or az login / a managed identity): %w", ConnectionStringEnv, err)
		}
		c, err = azblob.NewClient(service, cred, nil)
	}
	if err != nil {
		return nil, fmt.Errorf("azblob://%s: %w", u.Account, err)
	}
	return &Blob{client: c, jobs: max(jobs, 1)}, nil
}

func connStringField(cs, key string) string {
	for _, kv := range strings.Split(cs, ";") {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.EqualFold(strings.TrimSpace(k), key) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// Pruned returns what the filters refused so far.
func (b *Blob) Pruned() Counts {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.pruned
}

func (b *Blob) prune(r Reason) {
	b.mu.Lock()
	b.pruned.Add(r)
	b.mu.Unlock()
}

// BlobError is a failed Blob Storage call, naming the blob or prefix and
// the service's error code (ContainerNotFound, AuthorizationFailure...).
type BlobError struct {
	Op, Name, Code string
	Err            error
}

func (e *BlobError) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("%s %s: %s", e.Op, e.Name, e.Code)
	}
	return fmt.Sprintf("%s %s: %v", e.Op, e.Name, e.Err)
}

// Unwrap returns the SDK's error.
func (e *BlobError) Unwrap() error { return e.Err }

func blobError(op, name string, err error) error {
	e := &BlobError{Op: op, Name: name, Err: err}
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		e.Code = re.ErrorCode
		if e.Code == "" {
			e.Code = strconv.Itoa(re.StatusCode)
		}
	}
	return e
}

// List returns the blobs under u's prefix, sorted by name, that may hold
// records the filter keeps. With an active filter it walks the Activity
// Log export layout (resourceId=/SUBSCRIPTIONS/<sub>/y=/m=/d=/h=/m=00/):
// only the subscriptions --account names, only the years, months and days
// the window reaches, each day listed in one call; without one it lists
// the prefix flat.
func (b *Blob) List(ctx context.Context, u BlobURL, f *Filter) ([]Object, error) {
	cc := b.client.ServiceClient().NewContainerClient(u.Container)
	var (
		mu  sync.Mutex
		out []Object
	)
	add := func(o Object) {
		if r := f.Classify(o.Key); r != Kept {
			b.prune(r)
			return
		}
		mu.Lock()
		out = append(out, o)
		mu.Unlock()
	}
	flat := func(ctx context.Context, prefix string) error {
		p := cc.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Prefix: &prefix})
		for p.More() {
			b.Lists.Add(1)
			page, err := p.NextPage(ctx)
			if err != nil {
				return blobError("listing", u.name(prefix), err)
			}
			for _, it := range page.Segment.BlobItems {
				add(blobObject(it.Name, it.Properties))
			}
		}
		return nil
	}
	if !f.Active() {
		if err := flat(ctx, u.Prefix); err != nil {
			return nil, err
		}
	} else {
		g, gctx := errgroup.WithContext(ctx)
		sem := make(chan struct{}, b.jobs)
		var visit func(prefix string)
		visit = func(prefix string) {
			g.Go(func() error {
				select {
				case sem <- struct{}{}:
				case <-gctx.Done():
					return gctx.Err()
				}
				defer func() { <-sem }()
				l := ParseLayout(prefix)
				timed := !f.Since.IsZero() || !f.Until.IsZero()
				if l.Kind == "azure" && l.Account != "" && strings.HasSuffix(prefix, "/") && (!timed || !l.Day.IsZero()) {
					return flat(gctx, prefix)
				}
				p := cc.NewListBlobsHierarchyPager("/", &container.ListBlobsHierarchyOptions{Prefix: &prefix})
				for p.More() {
					b.Lists.Add(1)
					page, err := p.NextPage(gctx)
					if err != nil {
						return blobError("listing", u.name(prefix), err)
					}
					for _, it := range page.Segment.BlobItems {
						add(blobObject(it.Name, it.Properties))
					}
					for _, bp := range page.Segment.BlobPrefixes {
						dir := *bp.Name
						if r := refuseAzure(f, dir); r != Kept {
							b.prune(r)
							continue
						}
						visit(dir)
					}
				}
				return nil
			})
		}
		visit(u.Prefix)
		if err := g.Wait(); err != nil {
			return nil, err
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

func blobObject(name *string, p *container.BlobProperties) Object {
	o := Object{Key: *name}
	if p == nil {
		return o
	}
	if p.ContentLength != nil {
		o.Size = *p.ContentLength
	}
	if p.ETag != nil {
		o.ETag = etag(*p.ETag)
	}
	if p.CreationTime != nil {
		o.Created = p.CreationTime.UTC()
	}
	return o
}

// refuseAzure says whether a folder of the export layout can be left out:
// by subscription, or by the span of its year, month or day.
func refuseAzure(f *Filter, dir string) Reason {
	if r := f.Classify(dir); r != Kept {
		return r
	}
	l := ParseLayout(dir)
	if l.Kind != "azure" || !l.Day.IsZero() {
		return Kept
	}
	y, m := -1, -1
	for _, s := range strings.Split(strings.TrimSuffix(dir, "/"), "/") {
		k, v, ok := strings.Cut(s, "=")
		n, err := strconv.Atoi(v)
		if !ok || err != nil {
			continue
		}
		switch k {
		case "y":
			y = n
		case "m":
			m = n
		}
	}
	var from, to time.Time
	switch {
	case y > 0 && m > 0:
		from = time.Date(y, time.Month(m), 1, 0, 0, 0, 0, time.UTC)
		to = from.AddDate(0, 1, 0)
	case y > 0:
		from = time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC)
		to = from.AddDate(1, 0, 0)
	default:
		return Kept
	}
	if !f.Since.IsZero() && !to.After(f.Since) {
		return ByTime
	}
	if !f.Until.IsZero() && from.After(f.Until.Add(f.slack())) {
		return ByTime
	}
	return Kept
}

// Open starts reading a blob; the body streams as it arrives.
func (b *Blob) Open(ctx context.Context, u BlobURL, name string) (io.ReadCloser, error) {
	b.Gets.Add(1)
	resp, err := b.client.DownloadStream(ctx, u.Container, name, nil)
	if err != nil {
		return nil, blobError("reading", u.name(name), err)
	}
	return resp.Body, nil
}

// BlobRange is the body of a ranged read and what the service said of the
// blob it read: its version (ETag, unquoted as Object's, and creation
// time) at the time of the read.
type BlobRange struct {
	Body    io.ReadCloser
	ETag    string
	Created time.Time
}

// OpenRange starts reading count bytes of a blob from offset (count 0:
// to the end). A range that starts at or past the end reads nothing:
// Azure answers 416 InvalidRange there, Azurite an empty 200
// (sources.md §5); both give an empty body.
func (b *Blob) OpenRange(ctx context.Context, u BlobURL, name string, offset, count int64) (*BlobRange, error) {
	b.Gets.Add(1)
	resp, err := b.client.DownloadStream(ctx, u.Container, name, &blob.DownloadStreamOptions{
		Range: blob.HTTPRange{Offset: offset, Count: count},
	})
	if err != nil {
		var re *azcore.ResponseError
		if errors.As(err, &re) && re.StatusCode == 416 {
			return &BlobRange{Body: io.NopCloser(strings.NewReader(""))}, nil
		}
		return nil, blobError("reading", u.name(name), err)
	}
	r := &BlobRange{Body: resp.Body}
	if resp.ETag != nil {
		r.ETag = etag(*resp.ETag)
	}
	if resp.CreationTime != nil {
		r.Created = resp.CreationTime.UTC()
	}
	return r, nil
}

// etag is an ETag without the quotes the ETag header has and a listing's
// Etag has not, so that the two compare.
func etag(e azcore.ETag) string { return strings.Trim(string(e), `"`) }

// Name is the input name of a blob of u, as hunt names it: never with
// the SAS, which is a secret.
func (u BlobURL) Name(blob string) string { return u.name(blob) }
