package livetest

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"time"
)

// While `go test ./...` still compiles other packages, the tests of the
// packages already built run beside the compiler and get a fraction of
// the CPU: on a cold build cache a cluster test's 30 s went by before its
// replicas had done their work. WaitFor therefore counts only the time
// the go command was not building: a wait depends on the build being
// done, not on how long it took. Other work on the machine is allowed
// for the same way: time counts at the share of a CPU the test can get.

// buildTools are the programs the go command runs to build a package.
var buildTools = map[string]bool{
	"compile": true, "link": true, "asm": true, "cgo": true, "vet": true, "cover": true,
	"gcc": true, "cc": true, "cc1": true, "clang": true, "as": true, "ld": true, "collect2": true,
}

// goBuilding reports whether the process that started this test (the go
// command) is running a build tool: a process with the same parent whose
// name is one of buildTools. Where /proc cannot tell, it reports false
// and waits count wall-clock time.
var goBuilding = func() bool {
	parent := os.Getppid()
	entries, err := os.ReadDir("/proc")
	if err != nil || parent <= 1 {
		return false
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may hold spaces and parentheses.
		open, close := bytes.IndexByte(stat, '('), bytes.LastIndexByte(stat, ')')
		if open < 0 || close < open {
			continue
		}
		rest := bytes.Fields(stat[close+1:])
		if len(rest) < 2 {
			continue
		}
		if ppid, err := strconv.Atoi(string(rest[1])); err == nil && ppid == parent && buildTools[string(stat[open+1:close])] {
			return true
		}
	}
	return false
}

// cpuShare is the share of a CPU this process can expect now: the number
// of CPUs over the number of tasks the kernel has runnable (the fourth
// field of /proc/loadavg), at most 1. On a machine busy with other work a
// wait's time counts at that share, so that a wait measures the work the
// test could do, not the wall clock. Where /proc cannot tell, 1.
var cpuShare = func() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 1
	}
	f := bytes.Fields(b)
	if len(f) < 4 {
		return 1
	}
	run, _, ok := bytes.Cut(f[3], []byte("/"))
	n, err := strconv.Atoi(string(run))
	if !ok || err != nil || n <= runtime.NumCPU() {
		return 1
	}
	return float64(runtime.NumCPU()) / float64(n)
}

// buildCheckEvery is how often WaitFor asks whether the build is running.
const buildCheckEvery = 200 * time.Millisecond
