package emulate

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
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
	// Cardinality is how many distinct callers and resources the
	// background names: CardinalityNormal ("" too), a few of each as a
	// quiet account has, or CardinalityHigh.
	Cardinality Cardinality
}

// Cardinality is how many distinct callers and resources the background
// of the benchmark corpus names (WriteScale). Memory that grows with the
// number of groups or resources shows on the high one.
type Cardinality string

// The cardinalities.
const (
	// CardinalityNormal is the quiet account of the noise mix: a few
	// dozen callers, 64 instances and volumes per account and region, a
	// handful of Azure resource groups.
	CardinalityNormal Cardinality = "normal"
	// CardinalityHigh gives each role session one of a million names, so
	// that nearly every CloudTrail record of an assumed role has a
	// caller of its own, picks instances and volumes among 65,536 per
	// account and region, and each Azure operation a resource group
	// among 10,000.
	CardinalityHigh Cardinality = "high"
)

// ParseCardinality checks a cardinality name; "" is normal.
func ParseCardinality(s string) (Cardinality, error) {
	switch strings.ToLower(s) {
	case "", string(CardinalityNormal):
		return CardinalityNormal, nil
	case string(CardinalityHigh):
		return CardinalityHigh, nil
	}
	return "", fmt.Errorf("unknown cardinality %q (want normal or high)", s)
}

// Pool sizes of the high cardinality.
const (
	highCallers        = 1 << 12
	highResources      = 1 << 16
	highResourceGroups = 2000
)

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
// The background covers Options.Span (one day by default) in
// Options.Order. Every file is generated and written as a stream, so that
// the size of the corpus is bounded by the disk, not by memory: for
// newest-first each file gets its time slice from its place in walk
// order before a record is written, and for shuffled each record gets a
// random time over the whole span, which spreads the records of every
// hour over all the files at random.
//
// Files are generated and compressed in parallel; each file has its own
// random stream, so the bytes do not depend on the number of workers.
func WriteScale(dir string, opt ScaleOptions) (ScaleStats, error) {
	var st ScaleStats
	if err := opt.check(); err != nil {
		return st, err
	}
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
	order := orderOf(opt.Order)

	type job struct {
		run func() (ShapeTruth, int64, error)
	}
	var jobs []job
	high := opt.Cardinality == CardinalityHigh
	if opt.Events > 0 {
		n := newCTNoise(seed, high)
		for _, sl := range ctSlots(seed, opt.start(), opt.span(), files, opt.Events, order) {
			sl := sl
			jobs = append(jobs, job{func() (ShapeTruth, int64, error) { return scaleCloudTrail(dir, n, seed, sl) }})
		}
	}
	if opt.AzureEvents > 0 && order == OrderOldestFirst {
		hours := int(opt.span() / time.Hour)
		day := opt.start()
		for h := 0; h < hours; h++ {
			count := opt.AzureEvents / hours
			if h < opt.AzureEvents%hours {
				count++
			}
			if count == 0 {
				continue
			}
			h := h
			jobs = append(jobs, job{func() (ShapeTruth, int64, error) { return scaleAzure(dir, seed, day, h, count, high) }})
		}
	} else if opt.AzureEvents > 0 {
		for _, sl := range azSlots(opt.start(), opt.span(), opt.AzureEvents, order) {
			sl := sl
			jobs = append(jobs, job{func() (ShapeTruth, int64, error) { return scaleAzureSlot(dir, seed, sl, high) }})
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
	var shapes []Shape
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
			shapes = append(shapes, r.Shape)
		}
		m.Files = append(m.Files, r.Files...)
		m.Events += r.Events
	}
	for _, s := range shapes {
		if order != OrderOldestFirst {
			// The files in the order a directory walk reads them,
			// which is the order the records were arranged for.
			sort.Strings(merged[s].Files)
		}
		c.Truth.Background = append(c.Truth.Background, *merged[s])
	}
	c.Truth.Noise = st.Events + st.AzureEvents
	return st, c.Write(dir)
}

// ctSlot is one background CloudTrail file of the scale corpus: where it
// goes, whose records it holds, and when they happen.
type ctSlot struct {
	index int // the file's number: its scope and its random stream
	sc    scope
	rel   string
	count int
	from  int64 // first second of the file's time slice
	width int64 // seconds in the slice
	order Order
	// begin and span bound the random times of the shuffled order.
	begin, span int64
}

// ctSlots lays out the CloudTrail files: file i holds the i-th slice of
// the span, in scope i mod 4, named after the end of that slice. For
// newest-first the slices are handed out again, newest first, in the
// lexical order of the names (which a directory walk reads them in).
func ctSlots(seed uint64, start time.Time, span time.Duration, files, events int, order Order) []ctSlot {
	width := int64(span/time.Second) / int64(files)
	g := idSource{seed: seed, scope: "scale"}
	var slots []ctSlot
	for i := 0; i < files; i++ {
		count := events / files
		if i < events%files {
			count++
		}
		if count == 0 {
			continue
		}
		sc := noiseScopes[i%len(noiseScopes)]
		t0 := start.Unix() + int64(i)*width
		written := time.Unix(t0+width, 0).UTC().Add(4 * time.Minute).Truncate(5 * time.Minute)
		slots = append(slots, ctSlot{
			index: i, sc: sc, count: count, from: t0, width: width, order: order,
			begin: start.Unix(), span: int64(span / time.Second),
			rel: string(event.FormatCloudTrailRecords) + "/background/" + s3Key(sc.account, sc.region, written, g.alnum(16, "scale", itoa(i))),
		})
	}
	if order == OrderNewestFirst {
		froms := make([]int64, len(slots))
		for i, sl := range slots {
			froms[i] = sl.from
		}
		sort.Slice(froms, func(i, j int) bool { return froms[i] > froms[j] })
		byName := make([]int, len(slots))
		for i := range byName {
			byName[i] = i
		}
		sort.Slice(byName, func(a, b int) bool { return slots[byName[a]].rel < slots[byName[b]].rel })
		for pos, i := range byName {
			slots[i].from = froms[pos]
		}
	}
	return slots
}

// at is the time of the k-th record of the file.
func (sl *ctSlot) at(st *noiseState, k int) int64 {
	switch sl.order {
	case OrderNewestFirst:
		return sl.from + int64(sl.count-1-k)*sl.width/int64(sl.count)
	case OrderShuffled:
		return sl.begin + st.r.Int64N(sl.span)
	}
	return sl.from + int64(k)*sl.width/int64(sl.count)
}

// scaleCloudTrail writes one background file, streaming.
func scaleCloudTrail(dir string, n *ctNoise, seed uint64, sl ctSlot) (ShapeTruth, int64, error) {
	sh := ShapeTruth{Shape: event.FormatCloudTrailRecords, Files: []string{sl.rel}, Events: sl.count}
	p := filepath.Join(dir, filepath.FromSlash(sl.rel))
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
	st := newNoiseState(seed, 100+uint64(sl.index))
	buf := make([]byte, 0, 1<<20)
	buf = append(buf, `{"Records":[`...)
	var total int64
	for k := 0; k < sl.count; k++ {
		if k > 0 {
			buf = append(buf, ',')
		}
		buf, _ = n.appendRecord(buf, st, sl.sc, sl.at(st, k))
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
func scaleAzure(dir string, seed uint64, day time.Time, h, count int, high bool) (ShapeTruth, int64, error) {
	hour := day.Add(time.Duration(h) * time.Hour)
	at := func(_ *rand.Rand, k int) time.Time { return hour.Add(spread(k, count, 55*time.Minute)) }
	items := azNoiseAt(seed+uint64(h)<<20, count, "", func(s Shape) bool { return s == event.FormatAzureStorage }, at, high)
	plans, events := writeAzure(event.FormatAzureStorage, string(event.FormatAzureStorage)+"/background", items)
	sh := ShapeTruth{Shape: event.FormatAzureStorage, Events: events}
	var total int64
	for _, f := range arrange(plans, OrderOldestFirst, 0, "") {
		sh.Files = append(sh.Files, f.Path)
		total += int64(len(f.Data))
		if err := writeFile(dir, f.Path, f.Data); err != nil {
			return sh, total, err
		}
	}
	return sh, total, nil
}

// azSlot is one Storage blob of the scale corpus in the newest-first or
// shuffled order: a subscription's blob for one hour of the span, which
// holds records of that subscription only (so that the path does not lie
// about it), from the time slice its place in walk order gives it, or
// from anywhere in the span when shuffled.
type azSlot struct {
	index int
	sub   string
	rel   string
	count int
	from  time.Time
	width time.Duration
	order Order
	begin time.Time
	span  time.Duration
}

// azSlots lays out the blobs: both subscriptions, every hour of the span;
// in walk order the slots take the span's slices newest first.
func azSlots(start time.Time, span time.Duration, events int, order Order) []azSlot {
	hours := int(span / time.Hour)
	var slots []azSlot
	for _, sub := range []string{subProd, subOther} {
		for h := 0; h < hours; h++ {
			hour := start.Add(time.Duration(h) * time.Hour)
			slots = append(slots, azSlot{sub: sub, order: order, begin: start, span: span,
				rel: string(event.FormatAzureStorage) + "/background/" + storageBlob(sub, hour)})
		}
	}
	sort.Slice(slots, func(i, j int) bool { return slots[i].rel < slots[j].rel })
	width := span / time.Duration(len(slots))
	var out []azSlot
	for pos := range slots {
		sl := slots[pos]
		sl.index = pos
		sl.count = events / len(slots)
		if pos < events%len(slots) {
			sl.count++
		}
		if sl.count == 0 {
			continue
		}
		sl.width = width
		sl.from = start.Add(time.Duration(len(slots)-1-pos) * width)
		out = append(out, sl)
	}
	return out
}

// scaleAzureSlot writes one blob of azSlots.
func scaleAzureSlot(dir string, seed uint64, sl azSlot, high bool) (ShapeTruth, int64, error) {
	// Operations start early enough in the slice for their last phase
	// (at most 95 s after the first) to fall inside it.
	room := sl.width - 2*time.Minute
	at := func(r *rand.Rand, k int) time.Time {
		if sl.order == OrderShuffled {
			return sl.begin.Add(time.Duration(r.Int64N(int64(sl.span - 2*time.Minute))))
		}
		return sl.from.Add(spread(k, sl.count, room))
	}
	items := azNoiseAt(seed+uint64(sl.index+1)<<32, sl.count, sl.sub, func(s Shape) bool { return s == event.FormatAzureStorage }, at, high)
	p := plan{path: sl.rel, wrap: wrapLines}
	for _, it := range items {
		p.recs = append(p.recs, record{it.storage, it.time})
	}
	if sl.order == OrderNewestFirst {
		sort.SliceStable(p.recs, func(i, j int) bool { return p.recs[i].time.After(p.recs[j].time) })
	} else {
		r := orderRand(int64(seed), sl.rel)
		r.Shuffle(len(p.recs), func(i, j int) { p.recs[i], p.recs[j] = p.recs[j], p.recs[i] })
	}
	f := p.encode()
	sh := ShapeTruth{Shape: event.FormatAzureStorage, Files: []string{f.Path}, Events: len(items)}
	return sh, int64(len(f.Data)), writeFile(dir, f.Path, f.Data)
}
