package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/revertwatch/revertwatch/internal/livetest"
)

// startCLI runs the CLI with args in a child process (this test binary
// acting as revertwatch, TestMain), so that a test can SIGKILL it.
func startCLI(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), runAsMain+"=1")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Signal(syscall.SIGKILL)
			cmd.Wait()
		}
	})
	return cmd
}

// ndjsonIDs reads the finding ids of an ndjson file, in file order.
func ndjsonIDs(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, line := range strings.Split(string(b), "\n") {
		var f struct {
			ID string `json:"id"`
		}
		if json.Unmarshal([]byte(line), &f) == nil && f.ID != "" {
			ids = append(ids, f.ID)
		}
	}
	return ids
}

// TestWatchSQSKill9: watch --sqs reads objects put while it runs; killed
// with SIGKILL in the middle of an object, it is restarted and reads that
// object whole; every message is deleted in the end and each finding is
// reported exactly once.
func TestWatchSQSKill9(t *testing.T) { testSQSKill9(t, watchCLI()) }

// TestServeSQSKill9: the same for serve --sqs, whose one loop reads the
// queue beside the HTTP intake: after the restart, an instance stopped in
// a posted body and started in an object on the queue is one finding.
func TestServeSQSKill9(t *testing.T) { testSQSKill9(t, serveCLI(t)) }

// liveCLI is watch or serve, as the streaming tests run them.
type liveCLI struct {
	args  []string
	ready func(t *testing.T)              // waits until it serves (serve)
	post  func(t *testing.T, body []byte) // posts a body (serve); nil for watch
}

func watchCLI() liveCLI {
	return liveCLI{args: []string{"watch"}, ready: func(*testing.T) {}}
}

func serveCLI(t *testing.T) liveCLI {
	addr := freeAddr(t)
	return liveCLI{
		args: []string{"serve", "--listen", addr, "--checkpoint-interval", "1s"},
		ready: func(t *testing.T) {
			livetest.WaitFor(t, 30*time.Second, "serve to listen", func() bool {
				resp, err := http.Get("http://" + addr + "/readyz")
				if err != nil {
					return false
				}
				resp.Body.Close()
				return resp.StatusCode == http.StatusOK
			})
		},
		post: func(t *testing.T, body []byte) {
			resp, err := http.Post("http://"+addr+"/v1/ingest", "application/json", bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode/100 != 2 {
				t.Fatalf("ingest answered %s", resp.Status)
			}
		},
	}
}

func testSQSKill9(t *testing.T, cli liveCLI) {
	s3srv := livetest.NewS3Server(t)
	s3srv.Bucket(t, "trail")
	q := livetest.NewSQSServer(t)
	url := q.Queue("objects", 30*time.Second, 0, "")
	dir := t.TempDir()
	out := filepath.Join(dir, "findings.ndjson")
	args := append(cli.args, "--sqs", url, "--sqs-endpoint", q.URL, "--s3-endpoint", s3srv.URL,
		"--state-dir", filepath.Join(dir, "state"), "-o", out, "--format", "ndjson", "--lateness", "1h", "--idle-flush", "200ms")

	acct := "111122223333"
	at := time.Date(2026, 3, 5, 10, 0, 0, 0, time.UTC)
	var bodies [][]byte
	put := func(i int) string {
		inst := livetest.Instance(acct, fmt.Sprint("i", i))
		t0 := at.Add(time.Duration(i) * 10 * time.Minute)
		body := fmt.Appendf(nil, `{"Records":[%s,%s]}`,
			livetest.Record(acct, "us-east-1", "StopInstances", inst, t0),
			livetest.Record(acct, "us-east-1", "StartInstances", inst, t0.Add(3*time.Minute)))
		bodies = append(bodies, body)
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write(body)
		zw.Close()
		key := fmt.Sprintf("AWSLogs/%s/CloudTrail/us-east-1/2026/03/05/%s_CloudTrail_us-east-1_%s_%016d.json.gz", acct, acct, t0.Add(5*time.Minute).Format("20060102T1504Z"), i)
		s3srv.Put(t, "trail", key, b.Bytes())
		return key
	}
	note := func(key string) string {
		return fmt.Sprintf(`{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"trail"},"object":{"key":%q,"eTag":"e"}}}]}`, key)
	}

	child := startCLI(t, args...)
	for i := 0; i < 2; i++ {
		q.Send("objects", note(put(i)))
	}
	livetest.WaitFor(t, 30*time.Second, "the first two findings", func() bool { return len(ndjsonIDs(t, out)) == 2 })

	key := put(2)
	reached, release := s3srv.Stall(key, 20)
	q.Send("objects", note(key))
	<-reached
	child.Process.Signal(syscall.SIGKILL)
	child.Wait()
	release()
	livetest.WaitFor(t, 30*time.Second, "the killed consumer's last poll to end", func() bool { return !q.Polling() })
	if n := len(ndjsonIDs(t, out)); n != 2 {
		t.Fatalf("%d findings after the kill, want 2", n)
	}

	q.Advance(10 * time.Minute) // the half-read message's visibility ends
	q.Send("objects", note(put(3)))
	startCLI(t, args...)
	wantN := 4
	if cli.post != nil {
		// One instance, stopped in a body posted to serve and started in
		// an object on the queue: one loop sees both.
		cli.ready(t)
		inst := livetest.Instance(acct, "mixed")
		t0 := at.Add(2 * time.Hour)
		stop := fmt.Appendf(nil, `{"Records":[%s]}`, livetest.Record(acct, "us-east-1", "StopInstances", inst, t0))
		start := fmt.Appendf(nil, `{"Records":[%s]}`, livetest.Record(acct, "us-east-1", "StartInstances", inst, t0.Add(3*time.Minute)))
		cli.post(t, stop)
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write(start)
		zw.Close()
		key := fmt.Sprintf("AWSLogs/%s/CloudTrail/us-east-1/2026/03/05/%s_CloudTrail_us-east-1_%s_mixed.json.gz", acct, acct, t0.Add(5*time.Minute).Format("20060102T1504Z"))
		s3srv.Put(t, "trail", key, b.Bytes())
		q.Send("objects", note(key))
		bodies = append(bodies, stop, start)
		wantN = 5
	}
	livetest.WaitFor(t, 30*time.Second, fmt.Sprint(wantN, " findings and an empty queue"), func() bool {
		v, f := q.Counts("objects")
		return len(ndjsonIDs(t, out)) >= wantN && v+f == 0
	})
	got := ndjsonIDs(t, out)
	sort.Strings(got)
	want, err := livetest.Oracle(time.Hour, nil, bodies...)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("findings %v, want each of %v once", got, want)
	}
}

// TestWatchSQSUsage: --sqs and paths exclude each other, and --once has no
// meaning on a queue; serve takes one streaming input, on local state.
func TestWatchSQSUsage(t *testing.T) {
	for _, args := range [][]string{
		{"watch", "--state-dir", t.TempDir()},
		{"watch", "--state-dir", t.TempDir(), "--sqs", "http://127.0.0.1:1/0/q", "logs/"},
		{"watch", "--state-dir", t.TempDir(), "--sqs", "http://127.0.0.1:1/0/q", "--once"},
		{"watch", "--state-dir", t.TempDir(), "--sqs", "http://127.0.0.1:1/0/q", "--kafka", "127.0.0.1:1", "--topic", "t"},
		{"watch", "--state-dir", t.TempDir(), "--kafka", "127.0.0.1:1"},
		{"watch", "--state-dir", t.TempDir(), "--eventhub", "hub"},
		{"serve", "--state-dir", t.TempDir(), "--sqs", "http://127.0.0.1:1/0/q", "--kafka", "127.0.0.1:1", "--topic", "t"},
		{"serve", "--state-dir", t.TempDir(), "--sqs", "http://127.0.0.1:1/0/q", "--nats", "nats://127.0.0.1:1"},
		{"serve", "--state-dir", t.TempDir(), "--kafka", "127.0.0.1:1"},
		{"serve", "--state-dir", t.TempDir(), "--eventhub", "hub"},
	} {
		_, err := run(t, args...)
		if ee, ok := err.(*exitError); !ok || ee.code != exitUsage {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
}
