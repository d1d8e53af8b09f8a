package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"time"
)

// startProfiles writes pprof profiles for the benchmark (bench/run.sh):
// a CPU profile of the whole run to $REVERTWATCH_CPUPROFILE, a heap
// profile at the end to $REVERTWATCH_MEMPROFILE, and one taken when the
// live heap was largest to $REVERTWATCH_PEAKPROFILE, when they are set.
// The returned function stops and writes them.
func startProfiles() (stop func()) {
	var cpu *os.File
	if path := os.Getenv("REVERTWATCH_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "revertwatch: cpu profile:", err)
		} else {
			cpu = f
		}
	}
	stopPeak := func() {}
	if path := os.Getenv("REVERTWATCH_PEAKPROFILE"); path != "" {
		stopPeak = watchPeak(path)
	}
	return func() {
		stopPeak()
		if cpu != nil {
			pprof.StopCPUProfile()
			cpu.Close()
		}
		if path := os.Getenv("REVERTWATCH_MEMPROFILE"); path != "" {
			writeHeap(path, true)
		}
	}
}

// watchPeak samples the live heap ten times a second and rewrites the heap
// profile at path whenever it is a tenth larger than at the last write, so
// the file ends up describing the run's largest heap. The profile is the
// one of the last collection, which is what the live heap measures.
func watchPeak(path string) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		var written uint64
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			metrics.Read(sample)
			if live := sample[0].Value.Uint64(); live > written+written/10 {
				written = live
				writeHeap(path, false)
			}
		}
	}()
	return func() { close(done); <-finished }
}

// writeHeap writes the heap profile to path, after a collection when gc.
func writeHeap(path string, gc bool) {
	f, err := os.Create(path)
	if err == nil {
		if gc {
			runtime.GC()
		}
		err = pprof.WriteHeapProfile(f)
		f.Close()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "revertwatch: heap profile:", err)
	}
}
