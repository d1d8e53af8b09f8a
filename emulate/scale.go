package emulate

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/revertwatch/revertwatch/event"
)

// ScaleOptions control the benchmark corpus.
type ScaleOptions struct {
	Options
	Events      int // background CloudTrail events
	AzureEvents int // background Azure records (Storage export)
	Files       int // CloudTrail files; 0 means 16
	Workers     int // files written at once; 0 means the number of CPUs
}

// ScaleStats reports what WriteScale wrote.
type ScaleStats struct {
	Events      int           // background CloudTrail events
	AzureEvents int           // background Azure records
	Bytes       int64         // JSON bytes before compression
	Elapsed     time.Duration // time spent on the background
	Corpus      *Corpus       // the scenarios written beside it
}

// EventsPerSecond is the generation rate of the background.
func (s ScaleStats) EventsPerSecond() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Events+s.AzureEvents) / s.Elapsed.Seconds()
}

// WriteScale writes the benchmark corpus under dir: Events background
// CloudTrail events in Files gzip delivery files under the S3 key layout
// (cloudtrail-records/background/AWSLogs/...), AzureEvents background
// records as Storage PT1H.json blobs (azure-storage/background/...), the
// selected scenarios in the selected shapes, and truth.json.
//
// Files are generated and compressed in parallel; each file has its own
// random stream, so the bytes do not depend on the number of workers.
func WriteScale(dir string, opt ScaleOptions) (ScaleStats, error) {
	var st ScaleStats
	inner := opt.Options
	inner.Noise = 0
	c, err := Generate(inner)
	if err != nil {
		return st, err
	}
	st.Corpus = c
	files := opt.Files
	if files <= 0 {
		files = 16
	}
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	begin := time.Now()
	seed := uint64(opt.Seed)
	day := opt.start()

	type job struct {
		run func() (ShapeTruth, int64, error)
	}
	var jobs []job
	if opt.Events > 0 {
		n := newCTNoise(seed)
		for i := 0; i < files; i++ {
			count := opt.Events / files
			if i < opt.Events%files {
				count++
			}
			if count == 0 {
				continue
			}
			i := i
			jobs = append(jobs, job{func() (ShapeTruth, int64, error) { return scaleCloudTrail(dir, n, seed, day, i, files, count) }})
		}
	}
	if opt.AzureEvents > 0 {
		hours := 24
		for h := 0; h < hours; h++ {
			count := opt.AzureEvents / hours
			if h < opt.AzureEvents%hours {
				count++
			}
			if count == 0 {
				continue
			}
			h := h
			jobs = append(jobs, job{func() (ShapeTruth, int64, error) { return scaleAzure(dir, seed, day, h, count) }})
		}
	}
	results := make([]ShapeTruth, len(jobs))
	sizes := make([]int64, len(jobs))
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				results[i], sizes[i], errs[i] = jobs[i].run()
			}
		}()
	}
	for i := range jobs {
		next <- i
	}
	close(next)
	wg.Wait()
	st.Elapsed = time.Since(begin)
	merged := map[Shape]*ShapeTruth{}
	var order []Shape
	for i, r := range results {
		if errs[i] != nil {
			return st, errs[i]
		}
		st.Bytes += sizes[i]
		if r.Shape == event.FormatCloudTrailRecords {
			st.Events += r.Events
		} else {
			st.AzureEvents += r.Events
		}
		m, ok := merged[r.Shape]
		if !ok {
			m = &ShapeTruth{Shape: r.Shape}
			merged[r.Shape] = m
			order = append(order, r.Shape)
		}
		m.Files = append(m.Files, r.Files...)
		m.Events += r.Events
	}
	for _, s := range order {
		c.Truth.Background = append(c.Truth.Background, *merged[s])
	}
	c.Truth.Noise = st.Events + st.AzureEvents
	return st, c.Write(dir)
}

// scaleCloudTrail writes the i-th of n background files: count events
// over the i-th slice of the day, in one account and region.
func scaleCloudTrail(dir string, n *ctNoise, seed uint64, day time.Time, i, files, count int) (ShapeTruth, int64, error) {
	sc := noiseScopes[i%len(noiseScopes)]
	span := int64(86400 / files)
	t0 := day.Unix() + int64(i)*span
	written := time.Unix(t0+span, 0).UTC().Add(4 * time.Minute).Truncate(5 * time.Minute)
	g := idSource{seed: seed, scope: "scale"}
	rel := string(event.FormatCloudTrailRecords) + "/background/" + s3Key(sc.account, sc.region, written, g.alnum(16, "scale", itoa(i)))
	sh := ShapeTruth{Shape: event.FormatCloudTrailRecords, Files: []string{rel}, Events: count}
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return sh, 0, fmt.Errorf("emulate: %w", err)
	}
	f, err := os.Create(p)
	if err != nil {
		return sh, 0, fmt.Errorf("emulate: %w", err)
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	zw, _ := gzip.NewWriterLevel(bw, gzip.BestSpeed)
	st := newNoiseState(seed, 100+uint64(i))
	buf := make([]byte, 0, 1<<20)
	buf = append(buf, `{"Records":[`...)
	var total int64
	for k := 0; k < count; k++ {
		if k > 0 {
			buf = append(buf, ',')
		}
		buf, _ = n.appendRecord(buf, st, sc, t0+int64(k)*span/int64(count))
		if len(buf) >= 1<<20-8<<10 {
			total += int64(len(buf))
			if _, err := zw.Write(buf); err != nil {
				return sh, total, fmt.Errorf("emulate: %s: %w", p, err)
			}
			buf = buf[:0]
		}
	}
	buf = append(buf, "]}"...)
	total += int64(len(buf))
	if _, err := zw.Write(buf); err != nil {
		return sh, total, fmt.Errorf("emulate: %s: %w", p, err)
	}
	if err := zw.Close(); err != nil {
		return sh, total, fmt.Errorf("emulate: %s: %w", p, err)
	}
	if err := bw.Flush(); err != nil {
		return sh, total, fmt.Errorf("emulate: %s: %w", p, err)
	}
	return sh, total, f.Close()
}

// scaleAzure writes hour h of the Azure background as Storage blobs.
func scaleAzure(dir string, seed uint64, day time.Time, h, count int) (ShapeTruth, int64, error) {
	hour := day.Add(time.Duration(h) * time.Hour)
	items := azNoise(seed+uint64(h)<<20, count, hour, 55*time.Minute, func(s Shape) bool { return s == event.FormatAzureStorage })
	files, events := writeAzure(event.FormatAzureStorage, string(event.FormatAzureStorage)+"/background", items)
	sh := ShapeTruth{Shape: event.FormatAzureStorage, Events: events}
	var total int64
	for _, f := range files {
		sh.Files = append(sh.Files, f.Path)
		total += int64(len(f.Data))
		if err := writeFile(dir, f.Path, f.Data); err != nil {
			return sh, total, err
		}
	}
	return sh, total, nil
}
