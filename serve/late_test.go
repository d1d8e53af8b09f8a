package serve

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/revertwatch/revertwatch/finding"
	"github.com/revertwatch/revertwatch/internal/livetest"
)

// lateFindings reads the child's findings file.
func lateFindings(t *testing.T, dir string) []finding.Finding {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "findings.ndjson"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []finding.Finding
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if line == "" {
			continue
		}
		var f finding.Finding
		if err := json.Unmarshal([]byte(line), &f); err != nil {
			t.Fatal(err)
		}
		out = append(out, f)
	}
	return out
}

// TestLateThreeHours: the daemon (lateness 1h) gets one step of a
// stop/start, then three hours of its account's activity, then the other
// step, three hours late — the first step late, or the last — and is
// killed with SIGKILL between the two. The late step still completes the
// sequence (the finding says late, and by how much); re-delivering both
// steps after another kill gives no second finding.
func TestLateThreeHours(t *testing.T) {
	for _, lateFirst := range []bool{false, true} {
		t.Run(fmt.Sprintf("late-first-step=%v", lateFirst), func(t *testing.T) {
			dir := t.TempDir()
			acct := livetest.Account(41)
			inst := livetest.Instance(acct, "db")
			stop := livetest.Record(acct, "us-east-1", "StopInstances", inst, t0)
			start := livetest.Record(acct, "us-east-1", "StartInstances", inst, t0.Add(3*time.Minute))
			var noise [][]byte
			for m := 10; m <= 3*60+3; m += 10 {
				noise = append(noise, livetest.Record(acct, "us-east-1", "DescribeInstances", "i-0", t0.Add(time.Duration(m)*time.Minute)))
			}
			want, err := livetest.Oracle(time.Hour, nil, livetest.Lines(stop, start))
			if err != nil || len(want) != 1 {
				t.Fatalf("oracle %v %v", want, err)
			}
			first, late := stop, start
			if lateFirst {
				first, late = start, stop
			}
			settled := func(c *child) {
				livetest.WaitFor(t, 10*time.Second, "the checkpoint", func() bool {
					return strings.Contains(getBody(t, c.url+"/metrics"), "revertwatch_queue_depth 0")
				})
			}
			c := startChild(t, dir)
			if code, _, _ := post(t, c.url, livetest.Lines(append([][]byte{first}, noise...)...)); code != 202 {
				t.Fatal(code)
			}
			settled(c)
			c.kill()
			c = startChild(t, dir)
			if code, _, _ := post(t, c.url, livetest.Lines(late)); code != 202 {
				t.Fatal(code)
			}
			livetest.WaitFor(t, 20*time.Second, "the late finding", func() bool { return len(lateFindings(t, dir)) > 0 })
			settled(c)
			if m := getBody(t, c.url+"/metrics"); !strings.Contains(m, "revertwatch_late_replays_total 1") {
				t.Errorf("/metrics does not count the replay:\n%s", grepLines(m, "revertwatch_late"))
			}
			c.kill()
			c = startChild(t, dir)
			if code, _, _ := post(t, c.url, livetest.Lines(stop, start)); code != 202 {
				t.Fatal(code)
			}
			settled(c)
			c.kill()
			fs := lateFindings(t, dir)
			if len(fs) != 1 || fs[0].ID != want[0] {
				t.Fatalf("findings %+v, want exactly %v", fs, want)
			}
			if !fs[0].Late || fs[0].LateBy == "" {
				t.Errorf("the finding does not say it was late: late=%v by %q", fs[0].Late, fs[0].LateBy)
			}
		})
	}
}

// grepLines returns the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
