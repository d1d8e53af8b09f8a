package gencorpus

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"
)

// Options say what Generate writes. Zero values take the defaults.
type Options struct {
	Dir              string    // output directory (required)
	Seed             uint64    // same seed, same bytes
	CloudTrailEvents int       // default 1,000,000
	CloudTrailFiles  int       // default 16
	AzureRecords     int       // default 200,000; negative for none
	AzureBlobs       int       // default 8 (one per subscription and hour)
	Start            time.Time // default 2026-11-02T08:00:00Z
	Jobs             int       // files written at once; default the number of CPUs
	Level            int       // gzip level; default gzip.DefaultCompression
}

// File is one file Generate wrote.
type File struct {
	Path    string
	Records int
	Bytes   int64 // uncompressed
}

// Result lists what Generate wrote.
type Result struct {
	CloudTrail []File
	Azure      []File
}

// Accounts and regions of the CloudTrail corpus; subscriptions of the
// Azure one.
var (
	Accounts      = []string{"111122223333", "444455556666"}
	Regions       = []string{"us-east-1", "eu-west-1"}
	Subscriptions = []string{"6f1c2d3e-0000-4000-8000-00000000a001", "6f1c2d3e-0000-4000-8000-00000000a002"}
)

func (o *Options) defaults() {
	if o.CloudTrailEvents == 0 {
		o.CloudTrailEvents = 1_000_000
	}
	if o.CloudTrailFiles <= 0 {
		o.CloudTrailFiles = 16
	}
	if o.AzureRecords == 0 {
		o.AzureRecords = 200_000
	}
	if o.AzureBlobs <= 0 {
		o.AzureBlobs = 8
	}
	if o.Start.IsZero() {
		o.Start = time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	}
	if o.Jobs <= 0 {
		o.Jobs = runtime.GOMAXPROCS(0)
	}
	if o.Level == 0 {
		o.Level = gzip.DefaultCompression
	}
}

// job writes one file.
type job struct {
	path  string
	n     int
	write func(w *bufio.Writer, n int) (int64, error)
	gzip  bool
}

// Generate writes the CloudTrail corpus as gzip S3 delivery files under
// Dir/AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/, spread over the
// accounts, regions and delivery times, and the Azure corpus as PT1H.json
// blobs under Dir/insights-activity-logs/resourceId=/SUBSCRIPTIONS/<sub>/
// y=YYYY/m=MM/d=DD/h=HH/m=00/. Files are written in parallel; each file's
// bytes depend only on the seed and its place in the corpus.
func Generate(opt Options) (Result, error) {
	if opt.Dir == "" {
		return Result{}, errors.New("gencorpus: no output directory")
	}
	opt.defaults()
	var jobs []job
	var res Result
	for i := range opt.CloudTrailFiles {
		n := share(opt.CloudTrailEvents, opt.CloudTrailFiles, i)
		acct, region := Accounts[i%len(Accounts)], Regions[(i/len(Accounts))%len(Regions)]
		// Each account and region delivers a file every 5 minutes; the
		// records in it are from the 5 minutes before.
		slot := i / (len(Accounts) * len(Regions))
		delivered := opt.Start.Add(time.Duration(slot+1) * 5 * time.Minute)
		g := NewCloudTrail(opt.Seed*1000+uint64(i), acct, region, delivered.Add(-5*time.Minute))
		name := fmt.Sprintf("%s_CloudTrail_%s_%sZ_%s.json.gz", acct, region, delivered.Format("20060102T1504"), fileID(opt.Seed, i))
		path := filepath.Join(opt.Dir, "AWSLogs", acct, "CloudTrail", region, delivered.Format("2006/01/02"), name)
		span := 5 * time.Minute
		jobs = append(jobs, job{path: path, n: n, gzip: true, write: func(w *bufio.Writer, n int) (int64, error) {
			return writeRecords(w, g, n, span)
		}})
		res.CloudTrail = append(res.CloudTrail, File{Path: path, Records: n})
	}
	if opt.AzureRecords > 0 {
		for i := range opt.AzureBlobs {
			n := share(opt.AzureRecords, opt.AzureBlobs, i)
			sub := Subscriptions[i%len(Subscriptions)]
			hour := opt.Start.Add(time.Duration(i/len(Subscriptions)) * time.Hour)
			g := NewAzure(opt.Seed*1000+500+uint64(i), sub, hour)
			path := filepath.Join(opt.Dir, "insights-activity-logs", "resourceId=", "SUBSCRIPTIONS", sub,
				hour.Format("y=2006"), hour.Format("m=01"), hour.Format("d=02"), hour.Format("h=15"), "m=00", "PT1H.json")
			jobs = append(jobs, job{path: path, n: n, write: func(w *bufio.Writer, n int) (int64, error) {
				return writeLines(w, g, n, time.Hour)
			}})
			res.Azure = append(res.Azure, File{Path: path, Records: n})
		}
	}

	sizes := make([]int64, len(jobs))
	errs := make([]error, len(jobs))
	sem := make(chan struct{}, opt.Jobs)
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			sizes[i], errs[i] = writeFile(j, opt.Level)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return Result{}, err
	}
	for i := range res.CloudTrail {
		res.CloudTrail[i].Bytes = sizes[i]
	}
	for i := range res.Azure {
		res.Azure[i].Bytes = sizes[len(res.CloudTrail)+i]
	}
	return res, nil
}

// share is file i's part of n records spread over files.
func share(n, files, i int) int {
	s := n / files
	if i < n%files {
		s++
	}
	return s
}

// fileID is the 16-character unique part of an S3 delivery file name.
func fileID(seed uint64, i int) string {
	const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	x := seed*0x9e3779b97f4a7c15 + uint64(i+1)*0xbf58476d1ce4e5b9
	b := make([]byte, 16)
	for k := range b {
		x ^= x >> 31
		x *= 0x94d049bb133111eb
		b[k] = alnum[x%uint64(len(alnum))]
	}
	return string(b)
}

func writeFile(j job, level int) (int64, error) {
	if err := os.MkdirAll(filepath.Dir(j.path), 0o755); err != nil {
		return 0, err
	}
	f, err := os.Create(j.path)
	if err != nil {
		return 0, err
	}
	var zw *gzip.Writer
	w := bufio.NewWriterSize(f, 1<<20)
	if j.gzip {
		if zw, err = gzip.NewWriterLevel(f, level); err != nil {
			f.Close()
			return 0, err
		}
		w = bufio.NewWriterSize(zw, 1<<20)
	}
	n, err := j.write(w, j.n)
	if err == nil {
		err = w.Flush()
	}
	if zw != nil && err == nil {
		err = zw.Close()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("gencorpus: %s: %w", j.path, err)
	}
	return n, nil
}

// writeRecords writes an S3 delivery file body of n records spread over
// span, and returns its size.
func writeRecords(w *bufio.Writer, g *CloudTrail, n int, span time.Duration) (int64, error) {
	step := span / time.Duration(max(n, 1))
	start := g.Now
	buf := make([]byte, 0, 16<<10)
	buf = append(buf, `{"Records":[`...)
	var size int64
	for i := range n {
		if i > 0 {
			buf = append(buf, ',')
		}
		g.Now = start.Add(time.Duration(i) * step)
		buf = g.AppendRecord(buf)
		if len(buf) > 8<<10 {
			size += int64(len(buf))
			if _, err := w.Write(buf); err != nil {
				return size, err
			}
			buf = buf[:0]
		}
	}
	buf = append(buf, "]}\n"...)
	size += int64(len(buf))
	_, err := w.Write(buf)
	return size, err
}

// writeLines writes n export records as JSON lines spread over span.
func writeLines(w *bufio.Writer, g *Azure, n int, span time.Duration) (int64, error) {
	step := span / time.Duration(max(n, 1))
	start := g.Now
	buf := make([]byte, 0, 16<<10)
	var size int64
	for i := range n {
		if len(g.pending) == 0 {
			g.Now = start.Add(time.Duration(i) * step)
		}
		buf = g.AppendRecord(buf, AzureExport)
		buf = append(buf, '\n')
		if len(buf) > 8<<10 || i == n-1 {
			size += int64(len(buf))
			if _, err := w.Write(buf); err != nil {
				return size, err
			}
			buf = buf[:0]
		}
	}
	return size, nil
}
