package serve

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/revertwatch/revertwatch/content"
	"github.com/revertwatch/revertwatch/detect"
	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/finding"
	"github.com/revertwatch/revertwatch/ingest"
	"github.com/revertwatch/revertwatch/internal/livetest"
	"github.com/revertwatch/revertwatch/platforms"
	"github.com/revertwatch/revertwatch/sigma"
	"github.com/revertwatch/revertwatch/tune"
)

// writeRules exports the built-in content as Sigma rules into dir/rules,
// for a child daemon to load; noBuiltin makes it run them alone.
func writeRules(t *testing.T, dir string, noBuiltin bool) *sigma.Ruleset {
	t.Helper()
	docs, err := platforms.ExportSigma(content.Reverts(), platforms.SigmaOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rd := filepath.Join(dir, "rules")
	if err := os.MkdirAll(rd, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, d := range docs {
		if err := os.WriteFile(filepath.Join(rd, d.Name), d.YAML, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if noBuiltin {
		if err := os.WriteFile(filepath.Join(dir, "no-builtin"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rs, nb, err := childRules(dir)
	if err != nil || rs == nil || nb != noBuiltin {
		t.Fatalf("rules do not load: %v", err)
	}
	return rs
}

// childRules loads the Sigma rules a child daemon runs: dir/rules, when
// it exists, alone when dir/no-builtin exists.
func childRules(dir string) (*sigma.Ruleset, bool, error) {
	rd := filepath.Join(dir, "rules")
	if _, err := os.Stat(rd); err != nil {
		return nil, false, nil
	}
	rs, err := sigma.Load([]string{rd}, nil)
	if err != nil {
		return nil, false, err
	}
	if len(rs.Problems) > 0 {
		return nil, false, fmt.Errorf("rules: %s", rs.Problems[0])
	}
	_, err = os.Stat(filepath.Join(dir, "no-builtin"))
	return rs, err == nil, nil
}

// sigmaOracle is livetest.Oracle with Sigma rules: the ids of the
// findings the streaming detector makes of bodies, sorted, and how many
// of them came from the Sigma rules.
func sigmaOracle(t *testing.T, rs *sigma.Ruleset, noBuiltin bool, bodies ...[]byte) ([]string, int) {
	t.Helper()
	fromSigma := 0
	var ids []string
	det, err := detect.New(detect.Options{Lateness: time.Hour, Rules: rs, NoBuiltin: noBuiltin, Stream: true,
		OnFinding: func(f finding.Finding, d tune.Decision) {
			if !d.Emit() {
				return
			}
			ids = append(ids, f.ID)
			if isSigma(f) {
				fromSigma++
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range bodies {
		_, err := ingest.DecodeStream(context.Background(), fmt.Sprint("body", i), io.NopCloser(bytes.NewReader(b)), ingest.Options{},
			ingest.Handlers{Event: func(ev *event.Event) error { det.Process(ev); return nil }})
		if err != nil {
			t.Fatal(err)
		}
	}
	det.Idle()
	sort.Strings(ids)
	return ids, fromSigma
}

func isSigma(f finding.Finding) bool {
	for _, r := range f.Reasons {
		if strings.HasPrefix(r, "Sigma ") {
			return true
		}
	}
	return false
}

// Sigma rules loaded (the built-in content exported, beside the built-in
// content and alone): killed between the two steps of a sequence, before
// and after the first step was checkpointed (and, idle, released into
// its correlation group), the daemon restarts on the same state and the
// sequence completes with each finding delivered exactly once.
func TestCrashMidSequenceWithSigma(t *testing.T) {
	stop, startRec := stopStart(1)
	for _, noBuiltin := range []bool{false, true} {
		for _, checkpointed := range []bool{false, true} {
			t.Run(fmt.Sprintf("no-builtin=%v/checkpointed=%v", noBuiltin, checkpointed), func(t *testing.T) {
				dir := t.TempDir()
				rs := writeRules(t, dir, noBuiltin)
				want, fromSigma := sigmaOracle(t, rs, noBuiltin, livetest.Lines(stop, startRec))
				if fromSigma != 1 || len(want) != map[bool]int{false: 2, true: 1}[noBuiltin] {
					t.Fatalf("oracle: %v, %d from Sigma", want, fromSigma)
				}
				c := startChild(t, dir)
				if code, a, _ := post(t, c.url, livetest.Lines(stop)); code != 202 || a.Accepted != 1 {
					t.Fatalf("stop: %d %+v", code, a)
				}
				if checkpointed {
					livetest.WaitFor(t, 10*time.Second, "the checkpoint", func() bool {
						return strings.Contains(getBody(t, c.url+"/metrics"), "revertwatch_queue_depth 0")
					})
					time.Sleep(time.Second) // the idle flush and its checkpoint
				}
				c.kill()
				if ids := findingIDs(t, dir); len(ids) != 0 {
					t.Fatalf("findings before the sequence completed: %v", ids)
				}
				c = startChild(t, dir)
				if code, a, _ := post(t, c.url, livetest.Lines(startRec)); code != 202 || a.Accepted != 1 {
					t.Fatalf("start: %d %+v", code, a)
				}
				livetest.WaitFor(t, 20*time.Second, "the findings", func() bool { return len(findingIDs(t, dir)) >= len(want) })
				c.kill()
				c = startChild(t, dir)
				if code, _, _ := post(t, c.url, livetest.Lines(livetest.Record(livetest.Account(2), "us-east-1", "DescribeInstances", "i-0", t0))); code != 202 {
					t.Fatal("post after restart")
				}
				livetest.WaitFor(t, 10*time.Second, "the checkpoint", func() bool {
					return strings.Contains(getBody(t, c.url+"/metrics"), "revertwatch_queue_depth 0")
				})
				c.kill()
				got := findingIDs(t, dir)
				sortStrings(got)
				if !equalStrings(got, want) {
					t.Fatalf("findings %v, want exactly %v", got, want)
				}
			})
		}
	}
}

// Sigma rules beside the built-in content; many sequences posted while
// the daemon is killed again and again; a client re-posts what got no
// 202. Every finding of either kind is in the file exactly once.
func TestCrashRepeatedlyWithSigma(t *testing.T) {
	dir := t.TempDir()
	rs := writeRules(t, dir, false)
	const accounts = 30
	var bodies [][]byte
	for i := range accounts {
		stop, startRec := stopStart(i)
		// The steps in separate bodies, so that kills fall between them.
		bodies = append(bodies, livetest.Lines(stop), livetest.Lines(startRec))
	}
	want, fromSigma := sigmaOracle(t, rs, false, bodies...)
	if len(want) != 2*accounts || fromSigma != accounts {
		t.Fatalf("oracle: %d findings, %d from Sigma", len(want), fromSigma)
	}
	kills := map[int]bool{5: true, 13: true, 14: true, 31: true, 46: true}
	c := startChild(t, dir)
	for i := 0; i < len(bodies); {
		if kills[i] {
			delete(kills, i)
			c.kill()
			c = startChild(t, dir)
		}
		code, _, err := tryPost(c.url, bodies[i])
		if err != nil || code != 202 {
			c.kill()
			c = startChild(t, dir)
			continue
		}
		if i%9 == 4 {
			// Now and then the idle flush releases what was buffered
			// before the next kill.
			time.Sleep(600 * time.Millisecond)
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
