package serve

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/revertwatch/revertwatch/finding"
	"github.com/revertwatch/revertwatch/internal/livetest"
	"github.com/revertwatch/revertwatch/live/sink"
)

// The crash tests run the daemon as a child process — this test binary,
// re-executed with childEnv set — so that it can be killed with SIGKILL.
const childEnv = "REVERTWATCH_SERVE_CHILD"

func TestMain(m *testing.M) {
	if dir := os.Getenv(childEnv); dir != "" {
		os.Exit(runChild(dir))
	}
	os.Exit(m.Run())
}

// runChild serves on 127.0.0.1 with its state and its findings file in
// dir, writing its address to dir/addr once it listens; with the Sigma
// rules in dir/rules when there are (childRules).
func runChild(dir string) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	out, err := sink.NewFile(filepath.Join(dir, "findings.ndjson"), sink.Render{Format: finding.FormatNDJSON}, sink.FileOptions{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	rs, noBuiltin, err := childRules(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	s, err := New(Config{Listener: ln, StateDir: filepath.Join(dir, "state"), Lateness: time.Hour,
		IdleFlush: 300 * time.Millisecond, Sinks: []sink.Sink{&fullDisk{File: out, flag: filepath.Join(dir, "full")}}, Rules: rs, NoBuiltin: noBuiltin,
		SinkBackoff: 20 * time.Millisecond})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	tmp := filepath.Join(dir, "addr.tmp")
	if err := os.WriteFile(tmp, []byte(ln.Addr().String()), 0o600); err != nil || os.Rename(tmp, filepath.Join(dir, "addr")) != nil {
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := s.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// fullDisk is the child's findings file, failing as on a full disk while
// the flag file exists.
type fullDisk struct {
	*sink.File
	flag string
}

func (f *fullDisk) Deliver(ctx context.Context, fs []finding.Finding) error {
	if _, err := os.Stat(f.flag); err == nil {
		return syscall.ENOSPC
	}
	return f.File.Deliver(ctx, fs)
}

// child is a daemon process.
type child struct {
	cmd *exec.Cmd
	url string
}

func startChild(t *testing.T, dir string) *child {
	t.Helper()
	os.Remove(filepath.Join(dir, "addr"))
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+dir)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd}
	t.Cleanup(func() { c.kill() })
	livetest.WaitFor(t, 20*time.Second, "the child's address", func() bool {
		b, err := os.ReadFile(filepath.Join(dir, "addr"))
		if err != nil {
			return false
		}
		c.url = "http://" + string(b)
		return true
	})
	livetest.WaitFor(t, 10*time.Second, "child ready", func() bool {
		code, err := httpGet(c.url + "/readyz")
		return err == nil && code == 200
	})
	return c
}

func (c *child) kill() {
	if c.cmd.ProcessState != nil {
		return
	}
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	_ = c.cmd.Wait()
}

// findingIDs reads the ids in the child's findings file, in file order.
func findingIDs(t *testing.T, dir string) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "findings.ndjson"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ids []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var fd finding.Finding
		if err := json.Unmarshal(sc.Bytes(), &fd); err != nil {
			// A line cut by SIGKILL mid-write would be a lost finding; the
			// sink writes whole deliveries and fsyncs, so none may be cut.
			t.Fatalf("findings file: %v: %q", err, sc.Text())
		}
		ids = append(ids, fd.ID)
	}
	return ids
}

// reverts are the bodies of a stop and start in each of n accounts, and
// the ids of the findings the batch detector makes of them.
func reverts(t *testing.T, n int) (bodies [][]byte, want []string) {
	t.Helper()
	for i := range n {
		stop, startRec := stopStart(i)
		bodies = append(bodies, livetest.Lines(stop, startRec))
	}
	want, err := livetest.Oracle(time.Hour, nil, bodies...)
	if err != nil || len(want) != n {
		t.Fatalf("oracle: %d findings, %v", len(want), err)
	}
	return bodies, want
}

func stopStart(i int) (stop, start []byte) {
	acct := livetest.Account(i)
	inst := livetest.Instance(acct, "web")
	at := t0.Add(time.Duration(i) * time.Minute)
	return livetest.Record(acct, "us-east-1", "StopInstances", inst, at),
		livetest.Record(acct, "us-east-1", "StartInstances", inst, at.Add(3*time.Minute))
}

// Killed between the two steps of a sequence, restarted on the same state
// directory: the sequence completes with exactly one finding.
func TestCrashMidSequence(t *testing.T) {
	dir := t.TempDir()
	stop, startRec := stopStart(1)
	want, err := livetest.Oracle(time.Hour, nil, livetest.Lines(stop, startRec))
	if err != nil || len(want) != 1 {
		t.Fatalf("oracle: %v %v", want, err)
	}
	for _, checkpointed := range []bool{false, true} {
		t.Run(fmt.Sprintf("checkpointed=%v", checkpointed), func(t *testing.T) {
			dir := filepath.Join(dir, fmt.Sprint(checkpointed))
			c := startChild(t, dir)
			if code, a, _ := post(t, c.url, livetest.Lines(stop)); code != 202 || a.Accepted != 1 {
				t.Fatalf("stop: %d %+v", code, a)
			}
			if checkpointed {
				livetest.WaitFor(t, 10*time.Second, "the checkpoint", func() bool {
					return strings.Contains(getBody(t, c.url+"/metrics"), "revertwatch_queue_depth 0")
				})
			}
			c.kill()
			if ids := findingIDs(t, dir); len(ids) != 0 {
				t.Fatalf("findings before the sequence completed: %v", ids)
			}
			c = startChild(t, dir)
			if code, a, _ := post(t, c.url, livetest.Lines(startRec)); code != 202 || a.Accepted != 1 {
				t.Fatalf("start: %d %+v", code, a)
			}
			livetest.WaitFor(t, 20*time.Second, "the finding", func() bool { return len(findingIDs(t, dir)) > 0 })
			// One more restart must not deliver it again.
			c.kill()
			c = startChild(t, dir)
			if code, _, _ := post(t, c.url, livetest.Lines(livetest.Record(livetest.Account(2), "us-east-1", "DescribeInstances", "i-0", t0))); code != 202 {
				t.Fatal("post after restart")
			}
			livetest.WaitFor(t, 10*time.Second, "the checkpoint", func() bool {
				return strings.Contains(getBody(t, c.url+"/metrics"), "revertwatch_queue_depth 0")
			})
			c.kill()
			if got := findingIDs(t, dir); !equalStrings(got, want) {
				t.Fatalf("findings %v, want exactly %v", got, want)
			}
		})
	}
}

// Many sequences posted while the daemon is killed again and again at
// arbitrary points; a client re-posts what got no 202. Every finding the
// batch detector makes of the input is in the file exactly once.
func TestCrashRepeatedly(t *testing.T) {
	dir := t.TempDir()
	const accounts = 40
	bodies, want := reverts(t, accounts)
	kills := map[int]bool{7: true, 15: true, 16: true, 29: true}
	c := startChild(t, dir)
	for i := 0; i < len(bodies); {
		if kills[i] {
			delete(kills, i)
			c.kill()
			c = startChild(t, dir)
		}
		code, _, err := tryPost(c.url, bodies[i])
		if err != nil || code != 202 {
			// No 202: the client sends it again (to the restarted daemon).
			c.kill()
			c = startChild(t, dir)
			continue
		}
		i++
	}
	livetest.WaitFor(t, 30*time.Second, "every finding", func() bool { return len(findingIDs(t, dir)) >= len(want) })
	c.kill()
	c = startChild(t, dir)
	livetest.WaitFor(t, 10*time.Second, "the checkpoint", func() bool {
		return strings.Contains(getBody(t, c.url+"/metrics"), "revertwatch_queue_depth 0")
	})
	c.kill()
	got := findingIDs(t, dir)
	sortStrings(got)
	if !equalStrings(got, want) {
		t.Fatalf("got %d findings, want each of %d exactly once:\n got %v\nwant %v", len(got), len(want), got, want)
	}
}

// The findings file fails (a full disk) while sequences complete; the
// daemon is killed with SIGKILL, the disk is freed, and the restarted
// daemon writes every finding the file owed, once: what a sink owes is in
// the state, not in memory.
func TestCrashWithFailingSinkKeepsDebt(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(dir, 0o700)
	if err := os.WriteFile(filepath.Join(dir, "full"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	const accounts = 23
	bodies, want := reverts(t, accounts)
	c := startChild(t, dir)
	for _, b := range bodies {
		if code, _, _ := post(t, c.url, b); code != 202 {
			t.Fatalf("post: %d", code)
		}
	}
	backlog := fmt.Sprintf(`revertwatch_sink_backlog_findings{sink="file %s"} %d`, filepath.Join(dir, "findings.ndjson"), accounts)
	livetest.WaitFor(t, 20*time.Second, "the file's backlog of every finding", func() bool {
		return strings.Contains(getBody(t, c.url+"/metrics"), backlog)
	})
	c.kill()
	if ids := findingIDs(t, dir); len(ids) != 0 {
		t.Fatalf("written on a full disk: %v", ids)
	}
	os.Remove(filepath.Join(dir, "full"))
	c = startChild(t, dir)
	livetest.WaitFor(t, 20*time.Second, "every finding", func() bool { return len(findingIDs(t, dir)) >= accounts })
	c.kill()
	c = startChild(t, dir)
	livetest.WaitFor(t, 10*time.Second, "an empty backlog", func() bool {
		return strings.Contains(getBody(t, c.url+"/metrics"), "revertwatch_sink_backlog_findings{sink=\"file "+filepath.Join(dir, "findings.ndjson")+"\"} 0")
	})
	c.kill()
	got := findingIDs(t, dir)
	sortStrings(got)
	if !equalStrings(got, want) {
		t.Fatalf("got %d findings, want each of %d exactly once:\n got %v\nwant %v", len(got), len(want), got, want)
	}
}
