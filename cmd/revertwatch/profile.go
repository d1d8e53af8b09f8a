package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
)

// startProfiles writes pprof profiles for the benchmark (bench/run.sh):
// a CPU profile of the whole run to $REVERTWATCH_CPUPROFILE and a heap
// profile at the end to $REVERTWATCH_MEMPROFILE, when they are set. The
// returned function stops and writes them.
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
	return func() {
		if cpu != nil {
			pprof.StopCPUProfile()
			cpu.Close()
		}
		if path := os.Getenv("REVERTWATCH_MEMPROFILE"); path != "" {
			f, err := os.Create(path)
			if err == nil {
				runtime.GC()
				err = pprof.WriteHeapProfile(f)
				f.Close()
			}
			if err != nil {
				fmt.Fprintln(os.Stderr, "revertwatch: heap profile:", err)
			}
		}
	}
}
