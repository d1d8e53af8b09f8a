// Command floor is the benchmark's floor: it reads every input file once,
// decompressing gzip with the same library and the same number of
// workers as revertwatch, and does nothing with the bytes. No JSON
// decoder can read the corpus faster than this, so bench/run.sh reports
// every command as a ratio to it.
//
//	go run ./bench/floor -j 2 corpus/
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/revertwatch/revertwatch/ingest"
)

func main() {
	jobs := flag.Int("j", runtime.NumCPU(), "files read at once (revertwatch's --jobs)")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: floor [-j N] PATH...")
		flag.PrintDefaults()
	}
	flag.Parse()
	inputs, err := ingest.Expand(flag.Args())
	if err != nil || len(inputs) == 0 {
		fmt.Fprintln(os.Stderr, "floor:", err)
		flag.Usage()
		os.Exit(2)
	}
	start := time.Now()
	var total atomic.Int64
	var failed atomic.Bool
	next := make(chan string)
	var wg sync.WaitGroup
	for range *jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 256<<10)
			for in := range next {
				n, err := drain(in, buf)
				if err != nil {
					fmt.Fprintf(os.Stderr, "floor: %s: %v\n", in, err)
					failed.Store(true)
				}
				total.Add(n)
			}
		}()
	}
	for _, in := range inputs {
		next <- in
	}
	close(next)
	wg.Wait()
	fmt.Printf("floor: %d files, %d bytes of JSON in %s\n", len(inputs), total.Load(), time.Since(start).Round(time.Millisecond))
	if failed.Load() {
		os.Exit(3)
	}
}

// drain reads one file to its end, through gzip when it starts with the
// gzip magic bytes, and returns the number of decompressed bytes.
func drain(name string, buf []byte) (int64, error) {
	f, err := os.Open(name)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 64<<10)
	var r io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return 0, err
		}
		defer zr.Close()
		r = zr
	}
	var n int64
	for {
		k, err := r.Read(buf)
		n += int64(k)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}
