package main

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/revertwatch/revertwatch/internal/livetest"
)

// BenchmarkHuntS3 runs hunt over one corpus read from local files and
// from the in-process S3 server (gofakes3, over loopback HTTP): what
// reading through S3 costs over reading the disk. REVERTWATCH_BENCH_CORPUS
// names a corpus directory (revertwatch emulate --scale N --shapes
// cloudtrail-records); without it, 50,000 emulated events.
func BenchmarkHuntS3(b *testing.B) {
	dir := os.Getenv("REVERTWATCH_BENCH_CORPUS")
	if dir == "" {
		dir = b.TempDir()
		if err := execCLI(io.Discard, "emulate", "-o", dir, "--scale", "50000", "--shapes", "cloudtrail-records"); err != nil {
			b.Fatal(err)
		}
	}
	var size int64
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				size += info.Size()
			}
		}
		return nil
	})
	srv := livetest.NewS3Server(b)
	srv.Bucket(b, "bench")
	srv.Upload(b, "bench", "corpus/", dir)
	for _, c := range []struct {
		name string
		args []string
	}{
		{"local", []string{dir}},
		{"s3", []string{"--s3-endpoint", srv.URL, "s3://bench/corpus/"}},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(size) // compressed bytes read
			for range b.N {
				if err := execCLI(io.Discard, append([]string{"hunt", "--quiet", "--format", "ndjson"}, c.args...)...); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// execCLI runs the CLI in process, its output to out.
func execCLI(out io.Writer, args ...string) error {
	root := newRootCmd()
	root.SetOut(out)
	root.SetArgs(args)
	return root.Execute()
}
