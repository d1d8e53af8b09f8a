package source

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/revertwatch/revertwatch/ingest"
)

// Resolver turns the PATH arguments of a reading command into inputs
// ingest.Read can open: local files, directories and globs (ingest.Expand)
// and s3:// URLs, each pruned by the filter where its layout allows.
type Resolver struct {
	Filter *Filter
	AWS    AWSOptions
	Jobs   int // listings in flight; 0 means 8

	mu    sync.Mutex
	s3    *S3
	blobs map[string]*Blob // by account
	gcs   *GCS
	sizes map[string]int64
	local Counts // local files refused by the filter, by reason
}

// IsRemote says whether a PATH argument names a remote source.
func IsRemote(arg string) bool {
	return strings.HasPrefix(arg, "s3://") || IsBlobURL(arg) || IsGCSURL(arg)
}

// Expand resolves the arguments in order. Local paths expand as
// ingest.Expand does; with an active filter, files of the CloudTrail or
// Azure export layout that it refuses (and digest files) are left out. An
// s3:// URL lists its prefix, pruned, never returning digest files.
func (r *Resolver) Expand(ctx context.Context, args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		if !IsRemote(a) {
			files, err := ingest.Expand([]string{a})
			if err != nil {
				return nil, err
			}
			for _, f := range files {
				// Without a filter local paths read as they always have:
				// a digest file is read and its records skipped with a note.
				if f != "-" && r.Filter.Active() {
					if why := r.Filter.Classify(filepath.ToSlash(f)); why != Kept {
						r.local.Add(why)
						continue
					}
				}
				out = append(out, f)
			}
			continue
		}
		if IsGCSURL(a) {
			names, err := r.expandGCS(ctx, a)
			if err != nil {
				return nil, err
			}
			out = append(out, names...)
			continue
		}
		if IsBlobURL(a) {
			names, err := r.expandBlob(ctx, a)
			if err != nil {
				return nil, err
			}
			out = append(out, names...)
			continue
		}
		bucket, prefix, err := ParseS3URL(a)
		if err != nil {
			return nil, err
		}
		s, err := r.s3Client(ctx)
		if err != nil {
			return nil, err
		}
		objs, err := s.List(ctx, bucket, prefix, r.Filter)
		if err != nil {
			return nil, err
		}
		if len(objs) == 0 && s.Pruned().Total() == 0 {
			return nil, fmt.Errorf("%s: no objects", a)
		}
		r.mu.Lock()
		if r.sizes == nil {
			r.sizes = map[string]int64{}
		}
		for _, o := range objs {
			name := "s3://" + bucket + "/" + o.Key
			r.sizes[name] = o.Size
			out = append(out, name)
		}
		r.mu.Unlock()
	}
	return out, nil
}

func (r *Resolver) expandBlob(ctx context.Context, a string) ([]string, error) {
	u, err := ParseBlobURL(a)
	if err != nil {
		return nil, err
	}
	b, err := r.blobClient(u)
	if err != nil {
		return nil, err
	}
	objs, err := b.List(ctx, u, r.Filter)
	if err != nil {
		return nil, err
	}
	if len(objs) == 0 && b.Pruned().Total() == 0 {
		return nil, fmt.Errorf("%s: no blobs", u.name(u.Prefix))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sizes == nil {
		r.sizes = map[string]int64{}
	}
	var out []string
	for _, o := range objs {
		name := u.name(o.Key)
		r.sizes[name] = o.Size
		out = append(out, name)
	}
	return out, nil
}

func (r *Resolver) expandGCS(ctx context.Context, a string) ([]string, error) {
	bucket, prefix, err := ParseGCSURL(a)
	if err != nil {
		return nil, err
	}
	g, err := r.gcsClient(ctx)
	if err != nil {
		return nil, err
	}
	objs, err := g.List(ctx, bucket, prefix, r.Filter)
	if err != nil {
		return nil, err
	}
	if len(objs) == 0 && g.Pruned().Total() == 0 {
		return nil, fmt.Errorf("%s: no objects", a)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sizes == nil {
		r.sizes = map[string]int64{}
	}
	var out []string
	for _, o := range objs {
		name := "gs://" + bucket + "/" + o.Key
		r.sizes[name] = o.Size
		out = append(out, name)
	}
	return out, nil
}

// gcsClient returns the Cloud Storage client, made on first use.
func (r *Resolver) gcsClient(ctx context.Context) (*GCS, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.gcs != nil {
		return r.gcs, nil
	}
	jobs := r.Jobs
	if jobs <= 0 {
		jobs = 8
	}
	g, err := NewGCS(ctx, jobs)
	if err != nil {
		return nil, err
	}
	r.gcs = g
	return g, nil
}

// blobClient returns the client of u's account, made on first use (with
// the SAS of the first URL of that account that has one).
func (r *Resolver) blobClient(u BlobURL) (*Blob, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if b := r.blobs[u.Account]; b != nil {
		return b, nil
	}
	jobs := r.Jobs
	if jobs <= 0 {
		jobs = 8
	}
	b, err := NewBlob(u, jobs)
	if err != nil {
		return nil, err
	}
	if r.blobs == nil {
		r.blobs = map[string]*Blob{}
	}
	r.blobs[u.Account] = b
	return b, nil
}

func (r *Resolver) s3Client(ctx context.Context) (*S3, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.s3 != nil {
		return r.s3, nil
	}
	cfg, err := LoadAWS(ctx, r.AWS)
	if err != nil {
		return nil, err
	}
	jobs := r.Jobs
	if jobs <= 0 {
		jobs = 8
	}
	r.s3 = NewS3(cfg, r.AWS, jobs)
	return r.s3, nil
}

// Opener returns the function ingest.Options.Open wants: s3:// names are
// read from S3 as they stream in (never written to disk), the rest are
// opened as files.
func (r *Resolver) Opener(ctx context.Context) func(name string) (io.ReadCloser, error) {
	return func(name string) (io.ReadCloser, error) {
		if !IsRemote(name) {
			return os.Open(name)
		}
		if IsGCSURL(name) {
			bucket, key, err := ParseGCSURL(name)
			if err != nil {
				return nil, err
			}
			g, err := r.gcsClient(ctx)
			if err != nil {
				return nil, err
			}
			return g.Open(ctx, bucket, key)
		}
		if IsBlobURL(name) {
			u, err := ParseBlobURL(name)
			if err != nil {
				return nil, err
			}
			b, err := r.blobClient(u)
			if err != nil {
				return nil, err
			}
			return b.Open(ctx, u, u.Prefix)
		}
		bucket, key, err := ParseS3URL(name)
		if err != nil {
			return nil, err
		}
		s, err := r.s3Client(ctx)
		if err != nil {
			return nil, err
		}
		return s.Open(ctx, bucket, key)
	}
}

// Size returns the listed size of a remote input, for progress.
func (r *Resolver) Size(name string) (int64, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n, ok := r.sizes[name]
	return n, ok
}

// Report is what the resolver's pruning saved, for a summary.
type Report struct {
	LocalSkipped Counts // local files of a known layout refused
	S3Pruned     Counts // S3 folders not listed and objects not read
	S3Lists      int64
	S3Gets       int64
	BlobPruned   Counts // Blob folders not listed and blobs not read
	BlobLists    int64
	BlobGets     int64
	GCSPruned    Counts // Cloud Storage folders not listed and objects not read
	GCSLists     int64
	GCSGets      int64
}

// Report returns the counts so far.
func (r *Resolver) Report() Report {
	r.mu.Lock()
	defer r.mu.Unlock()
	rep := Report{LocalSkipped: r.local}
	if r.s3 != nil {
		rep.S3Pruned = r.s3.Pruned()
		rep.S3Lists = r.s3.Lists.Load()
		rep.S3Gets = r.s3.Gets.Load()
	}
	if r.gcs != nil {
		rep.GCSPruned = r.gcs.Pruned()
		rep.GCSLists = r.gcs.Lists.Load()
		rep.GCSGets = r.gcs.Gets.Load()
	}
	accounts := make([]string, 0, len(r.blobs))
	for a := range r.blobs {
		accounts = append(accounts, a)
	}
	sort.Strings(accounts)
	for _, a := range accounts {
		b := r.blobs[a]
		p := b.Pruned()
		for i := range p {
			rep.BlobPruned[i] += p[i]
		}
		rep.BlobLists += b.Lists.Load()
		rep.BlobGets += b.Gets.Load()
	}
	return rep
}
