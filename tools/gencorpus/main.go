// Command gencorpus writes a synthetic CloudTrail and Azure Activity Log
// corpus for benchmarks: by default 1,000,000 CloudTrail events in 16 gzip
// S3 delivery files and 200,000 Azure records in 8 PT1H.json blobs, laid
// out as AWS and Azure store them. The output depends only on -seed.
//
// Usage:
//
//	go run ./tools/gencorpus -out /tmp/corpus
//	go run ./tools/gencorpus -out /tmp/small -cloudtrail 10000 -files 4 -azure 2000
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/revertwatch/revertwatch/internal/gencorpus"
)

func main() {
	var opt gencorpus.Options
	flag.StringVar(&opt.Dir, "out", "", "output directory (required)")
	flag.Uint64Var(&opt.Seed, "seed", 1, "seed: the same seed writes the same bytes")
	flag.IntVar(&opt.CloudTrailEvents, "cloudtrail", 1_000_000, "CloudTrail events")
	flag.IntVar(&opt.CloudTrailFiles, "files", 16, "CloudTrail S3 delivery files")
	flag.IntVar(&opt.AzureRecords, "azure", 200_000, "Azure Activity Log records (-1 for none)")
	flag.IntVar(&opt.AzureBlobs, "blobs", 8, "Azure PT1H.json blobs")
	flag.IntVar(&opt.Jobs, "jobs", 0, "files written at once (default: number of CPUs)")
	flag.IntVar(&opt.Level, "level", 0, "gzip level (default: gzip's default)")
	flag.Parse()
	if opt.Dir == "" || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	start := time.Now()
	res, err := gencorpus.Generate(opt)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gencorpus:", err)
		os.Exit(1)
	}
	for _, part := range []struct {
		name  string
		files []gencorpus.File
	}{{"cloudtrail", res.CloudTrail}, {"azure", res.Azure}} {
		var n int
		var size int64
		for _, f := range part.files {
			n += f.Records
			size += f.Bytes
		}
		fmt.Printf("%s: %d records in %d files, %.1f MB uncompressed\n", part.name, n, len(part.files), float64(size)/1e6)
	}
	fmt.Printf("written to %s in %v\n", opt.Dir, time.Since(start).Round(time.Millisecond))
}
