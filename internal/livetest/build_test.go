package livetest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// fatalTB records a Fatalf instead of ending the test.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Helper()                        {}
func (f *fatalTB) Fatalf(format string, a ...any) { f.msg = fmt.Sprintf(format, a...) }

// A wait does not run out while the go command builds: the build taking
// longer than the wait is allowed no longer fails it.
func TestWaitForPausesDuringTheBuild(t *testing.T) {
	saved, savedShare := goBuilding, cpuShare
	defer func() { goBuilding, cpuShare = saved, savedShare }()
	cpuShare = func() float64 { return 1 }
	start := time.Now()
	goBuilding = func() bool { return time.Since(start) < 600*time.Millisecond }
	tb := &fatalTB{TB: t}
	WaitFor(tb, 300*time.Millisecond, "the condition", func() bool { return time.Since(start) > 700*time.Millisecond })
	if tb.msg != "" {
		t.Fatalf("the wait ran out while the build ran: %s", tb.msg)
	}

	// Without a build, the wait runs out as before, and says so.
	goBuilding = func() bool { return false }
	WaitFor(tb, 50*time.Millisecond, "nothing", func() bool { return false })
	if !strings.Contains(tb.msg, "timed out after 50ms waiting for nothing") {
		t.Fatalf("got %q", tb.msg)
	}
}

// On a busy machine a wait's time counts at the CPU share the test gets.
func TestWaitForCountsCPUShare(t *testing.T) {
	saved, savedShare := goBuilding, cpuShare
	defer func() { goBuilding, cpuShare = saved, savedShare }()
	goBuilding = func() bool { return false }
	cpuShare = func() float64 { return 0.25 }
	start := time.Now()
	tb := &fatalTB{TB: t}
	WaitFor(tb, 100*time.Millisecond, "nothing", func() bool { return false })
	if el := time.Since(start); el < 400*time.Millisecond || !strings.Contains(tb.msg, "machine was busy") {
		t.Fatalf("a 100ms wait at a quarter of a CPU ended after %s: %q", el, tb.msg)
	}
	if s := savedShare(); s <= 0 || s > 1 {
		t.Errorf("cpuShare %v", s)
	}
}

// goBuilding sees a build tool started by this process's parent. Here the
// test runs the detection in a child whose parent (this test) has a
// "compile" child of its own.
func TestGoBuildingSeesSiblingCompile(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc is Linux's")
	}
	if os.Getenv("LIVETEST_CHILD") == "1" {
		if !goBuilding() {
			os.Exit(3)
		}
		os.Exit(0)
	}
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep program")
	}
	dir := t.TempDir()
	compile := filepath.Join(dir, "compile")
	if err := os.Symlink(sleep, compile); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	child := func() error {
		cmd := exec.Command(self, "-test.run", "^TestGoBuildingSeesSiblingCompile$")
		cmd.Env = append(os.Environ(), "LIVETEST_CHILD=1")
		return cmd.Run()
	}
	if err := child(); err == nil {
		t.Fatal("a build is seen where none runs")
	}
	c := exec.Command(compile, "30")
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { c.Process.Kill(); c.Wait() }()
	WaitFor(t, 5*time.Second, "the fake compiler to start", func() bool {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", c.Process.Pid))
		return strings.Contains(string(b), "(compile)")
	})
	if err := child(); err != nil {
		t.Fatalf("a running compile beside the test is not seen: %v", err)
	}
}
