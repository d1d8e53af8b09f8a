package sigma

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/revertwatch/revertwatch/emulate"
	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/ingest"
)

// planOf renders a rule's index plan: "always", or its keys sorted, each
// field=value, with "!" before a cased one.
func planOf(pl indexPlan) string {
	if !pl.ok {
		return "always"
	}
	var out []string
	for _, k := range pl.keys {
		c := ""
		if k.cased {
			c = "!"
		}
		out = append(out, c+k.field+"="+k.val)
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

// TestIndexPlan plans crafted rules: what each must carry, or that it is
// evaluated on every record; and that the index hands each record every
// rule that matches it (Sigma's case-insensitive equality included).
func TestIndexPlan(t *testing.T) {
	cases := []struct {
		name, det, plan string
		hit, miss       string // records the rule matches and does not
	}{
		{"equality is folded", "  s: {eventName: StopInstances}\n  condition: s", "eventName=stopinstances",
			ct("ec2.amazonaws.com", "STOPINSTANCES"), ct("ec2.amazonaws.com", "StopInstance")},
		{"a list is any of its values", "  s: {eventName: [StopInstances, StartInstances]}\n  condition: s",
			"eventName=startinstances eventName=stopinstances", ct("", "startinstances"), ct("", "RunInstances")},
		{"the operation is preferred among ANDed fields", "  s: {eventSource: ec2.amazonaws.com, eventName: StopInstances}\n  condition: s",
			"eventName=stopinstances", ct("ec2.amazonaws.com", "StopInstances"), ct("iam.amazonaws.com", "StopInstances")},
		{"another equality field when no operation", "  s: {eventSource: ec2.amazonaws.com, userAgent|contains: cli}\n  condition: s",
			"eventSource=ec2.amazonaws.com", ct("EC2.amazonaws.com", "X", "userAgent=aws-cli/2"), ct("ec2.amazonaws.com", "X", "userAgent=console")},
		{"cased stays cased", "  s: {eventName|cased: StopInstances}\n  condition: s", "!eventName=StopInstances",
			ct("", "StopInstances"), ct("", "stopinstances")},
		{"wildcards are not indexed", "  s: {eventName: 'Stop*'}\n  condition: s", "always", ct("", "StopInstances"), ct("", "RunInstances")},
		{"an escaped star is a literal", `  s: {eventName: 'Stop\*'}` + "\n  condition: s", "eventName=stop*", ct("", "Stop*"), ct("", "StopX")},
		{"contains is not indexed", "  s: {eventName|contains: Stop}\n  condition: s", "always", ct("", "StopInstances"), ct("", "RunInstances")},
		{"startswith is not indexed", "  s: {eventName|startswith: Stop}\n  condition: s", "always", ct("", "StopInstances"), ct("", "RunInstances")},
		{"re is not indexed", "  s: {eventName|re: '^Stop'}\n  condition: s", "always", ct("", "StopInstances"), ct("", "stopInstances")},
		{"neq is not indexed", "  s: {eventName|neq: StopInstances}\n  condition: s", "always", ct("", "RunInstances"), ct("", "stopinstances")},
		{"not at the top", "  s: {eventName: StopInstances}\n  condition: not s", "always", ct("", "RunInstances"), ct("", "StopInstances")},
		{"and not: the positive part", "  s: {eventName: StopInstances}\n  f: {userAgent: console}\n  condition: s and not f",
			"eventName=stopinstances", ct("", "StopInstances", "userAgent=cli"), ct("", "StopInstances", "userAgent=CONSOLE")},
		{"or of indexable parts", "  a: {eventName: StopInstances}\n  b: {operationName: X/DELETE}\n  condition: a or b",
			"eventName=stopinstances operationName=x/delete", ct("", "StopInstances"), ct("", "DeleteX")},
		{"or with an unindexable part", "  a: {eventName: StopInstances}\n  b: {userAgent|contains: cli}\n  condition: a or b",
			"always", ct("", "RunInstances", "userAgent=aws-cli"), ct("", "RunInstances")},
		{"1 of selection_*", "  selection_a: {eventName: A}\n  selection_b: {eventName: B}\n  condition: 1 of selection_*",
			"eventName=a eventName=b", ct("", "b"), ct("", "C")},
		{"1 of with an unindexable branch", "  selection_a: {eventName: A}\n  selection_b: {eventName|endswith: B}\n  condition: 1 of selection_*",
			"always", ct("", "xB"), ct("", "C")},
		{"all of: any part", "  selection_a: {eventName: A}\n  selection_b: {userAgent|contains: cli}\n  condition: all of selection_*",
			"eventName=a", ct("", "a", "userAgent=aws-cli"), ct("", "a")},
		{"a list of maps: every map must be indexable", "  s:\n    - {eventName: A}\n    - {eventSource: b.amazonaws.com}\n  condition: s",
			"eventName=a eventSource=b.amazonaws.com", ct("b.amazonaws.com", "X"), ct("c.amazonaws.com", "X")},
		{"a list of maps with an unindexable map", "  s:\n    - {eventName: A}\n    - {eventSource|startswith: b}\n  condition: s",
			"always", ct("b.amazonaws.com", "X"), ct("c.amazonaws.com", "X")},
		{"keywords are not indexed", "  k: [StopInstances]\n  condition: k", "always", ct("", "StopInstances"), ct("", "RunInstances")},
		{"all modifier: any of the values", "  s: {tags|all: [A, B]}\n  condition: s", "tags=a tags=b",
			ct("", "X", `tags=["b","A"]`), ct("", "X", `tags=["a"]`)},
		{"exists is not indexed", "  s: {errorCode|exists: true}\n  condition: s", "always", ct("", "X", "errorCode=Denied"), ct("", "X")},
		{"null is not indexed", "  s: {errorCode: null}\n  condition: s", "always", ct("", "X"), ct("", "X", "errorCode=Denied")},
		{"numbers by their text", "  s: {eventName: A, apiVersion: 5}\n  condition: s", "eventName=a", ct("", "a", "apiVersion=5"), ct("", "a", "apiVersion=6")},
		{"a number alone", "  s: {apiVersion: 5}\n  condition: s", "apiVersion=5", ct("", "a", "apiVersion=5"), ct("", "a", "apiVersion=6")},
		{"an object value matches by a string inside", "  s: {requestParameters: i-1}\n  condition: s", "requestParameters=i-1",
			ct("", "a", `requestParameters={"instanceId":"I-1"}`), ct("", "a", `requestParameters={"instanceId":"i-2"}`)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rs := NewRuleset(nil)
			rs.AddFile("p.yml", []byte(rule1(c.det)))
			rs.Resolve()
			for _, p := range rs.Problems {
				t.Fatalf("rule does not load: %s", p)
			}
			r := NewRunner(rs, RunOptions{})
			if got := planOf(r.plans[0]); got != c.plan {
				t.Errorf("plan %q, want %q", got, c.plan)
			}
			ref := newRunner(rs, RunOptions{}, true)
			for _, x := range []struct {
				raw  string
				want int
			}{{c.hit, 1}, {c.miss, 0}} {
				ev := corpusEvent(x.raw)
				if n := len(r.Match(ev)); n != x.want {
					t.Errorf("indexed: %d rules match %s, want %d", n, x.raw, x.want)
				}
				if n := len(ref.Match(ev)); n != x.want {
					t.Errorf("unindexed: %d rules match %s, want %d", n, x.raw, x.want)
				}
			}
		})
	}
}

// TestIndexPrunes checks that the index leaves out the rules a record
// cannot match: an AWS record of one operation is tested against the
// rules naming that operation and the unindexable ones, not against the
// Azure rules or other operations.
func TestIndexPrunes(t *testing.T) {
	rs := diffRules(t)
	r := NewRunner(rs, RunOptions{})
	always := 0
	for _, pl := range r.plans {
		if !pl.ok {
			always++
		}
	}
	ec := r.evalQuiet(corpusEvent(ct("ec2.amazonaws.com", "StopInstances")), nil)
	cand := r.candidates(ec, event.AWS, nil)
	if len(cand) == 0 || len(cand) >= len(r.p.detections)/2 {
		t.Errorf("%d candidates of %d rules (%d unindexable) for StopInstances", len(cand), len(r.p.detections), always)
	}
	for _, c := range cand {
		if c.provider != "" && c.provider != event.AWS {
			t.Errorf("candidate %s is for %s", c.Ref(), c.provider)
		}
	}
	t.Logf("%d rules, %d unindexable, %d candidates for StopInstances", len(r.p.detections), always, len(cand))
}

// diffRules are the exported content with the correlations of
// countRules and, when the shared corpus is there, the SigmaHQ cloud
// rules.
func diffRules(t testing.TB) *Ruleset {
	t.Helper()
	exported, err := os.ReadFile("testdata/exported.yml")
	if err != nil {
		t.Fatal(err)
	}
	rs := NewRuleset(nil)
	if _, err := os.Stat(corpusDir); err == nil {
		if err := rs.AddPath(corpusDir); err != nil {
			t.Fatal(err)
		}
	} else {
		t.Logf("shared corpus not found at %s: the SigmaHQ rules are left out", corpusDir)
	}
	rs.AddFile("exported.yml", exported)
	rs.AddFile("counts.yml", []byte(countRules))
	rs.Resolve()
	for _, p := range rs.Problems {
		t.Fatalf("rule does not load: %s", p)
	}
	return rs
}

// sharedEvents decodes the CloudTrail and Activity Log samples of the
// shared corpus, nil when it is absent. Files that do not decode are
// skipped: the decoders' own tests cover them.
func sharedEvents(t testing.TB) []*event.Event {
	t.Helper()
	root := "../../shared/corpus"
	var names []string
	for _, dir := range []string{"otrf-security-datasets-aws", "aws-cloudtrail-processing-library-tests", "microsoft-docs-activity-log-schema"} {
		filepath.WalkDir(filepath.Join(root, dir), func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".json") || strings.HasSuffix(p, ".json.gz")) {
				names = append(names, p)
			}
			return nil
		})
	}
	var evs []*event.Event
	for _, n := range names {
		ingest.Read(context.Background(), []string{n}, ingest.Options{Jobs: 1},
			ingest.Handlers{Event: func(ev *event.Event) error { evs = append(evs, ev); return nil }})
	}
	return evs
}

// TestIndexDifferential runs the same rules over the same records with
// the index and without it: every record matches the same rules, and the
// hits (single-event and correlations), in order, and the counters are
// the same. Records: the emulated corpus in two orders, the SigmaHQ
// rules' own cases and near-misses, and the shared corpus's samples.
func TestIndexDifferential(t *testing.T) {
	rs := diffRules(t)
	sets := map[string][]*event.Event{
		"emulated":          emulated(t, emulate.Options{Seed: 1}, 0),
		"emulated-jittered": emulated(t, emulate.Options{Seed: 2}, 20*time.Minute),
	}
	var cases []*event.Event
	for _, k := range sortedCaseKeys() {
		for _, raw := range corpusCases[k] {
			cases = append(cases, corpusEvent(raw))
		}
	}
	sets["sigmahq-cases"] = cases
	if evs := sharedEvents(t); len(evs) > 0 {
		sets["shared-corpus"] = evs
	} else {
		t.Log("shared corpus samples not found: that set is left out")
	}
	for _, name := range []string{"emulated", "emulated-jittered", "sigmahq-cases", "shared-corpus"} {
		evs := sets[name]
		if evs == nil {
			continue
		}
		t.Run(name, func(t *testing.T) {
			ix, ref := NewRunner(rs, RunOptions{}), newRunner(rs, RunOptions{}, true)
			matched := 0
			for i, ev := range evs {
				a, b := refs(ix.Match(ev)), refs(ref.Match(ev))
				if a != b {
					t.Fatalf("record %d (%s): indexed matches [%s], unindexed [%s]", i, ev.Raw, a, b)
				}
				if a != "" {
					matched++
				}
			}
			if ix.Stats() != ref.Stats() {
				t.Errorf("Match counters: indexed %+v, unindexed %+v", ix.Stats(), ref.Stats())
			}
			var la, lb hitLog
			ia := NewRunner(rs, RunOptions{Lateness: time.Hour, OnHit: la.add})
			ib := newRunner(rs, RunOptions{Lateness: time.Hour, OnHit: lb.add}, true)
			for _, ev := range evs {
				ia.Process(ev)
				ib.Process(ev)
			}
			ia.Flush()
			ib.Flush()
			sameLines(t, "hits", la.lines, lb.lines)
			if ia.Stats() != ib.Stats() {
				t.Errorf("Process counters: indexed %+v, unindexed %+v", ia.Stats(), ib.Stats())
			}
			if matched == 0 || len(la.lines) == 0 {
				t.Errorf("%d records matched, %d hits: the comparison proves nothing", matched, len(la.lines))
			}
			t.Logf("%d records, %d matched, %d hits", len(evs), matched, len(la.lines))
		})
	}
}

func refs(rs []*Rule) string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Ref())
	}
	return strings.Join(out, ",")
}

func sortedCaseKeys() []string {
	var ks []string
	for k := range corpusCases {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// BenchmarkRunnerIndex runs the SigmaHQ cloud rules, the exported
// content and its correlations over the emulated corpus, with the index
// and without it, through Process and Flush (the core, the correlations)
// and through Match alone; it reports events/s.
func BenchmarkRunnerIndex(b *testing.B) {
	rs := diffRules(b)
	evs := emulated(b, emulate.Options{Seed: 1, Noise: 2000}, 0)
	for _, mode := range []struct {
		name    string
		noIndex bool
	}{{"indexed", false}, {"unindexed", true}} {
		b.Run(mode.name, func(b *testing.B) {
			n := 0
			for i := 0; i < b.N; i++ {
				r := newRunner(rs, RunOptions{Lateness: time.Hour}, mode.noIndex)
				for _, ev := range evs {
					r.Process(ev)
				}
				r.Flush()
				n += len(evs)
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
		})
		// Match alone: the detections without the event-time core and
		// the correlations.
		b.Run("match-"+mode.name, func(b *testing.B) {
			r := newRunner(rs, RunOptions{}, mode.noIndex)
			n := 0
			for i := 0; i < b.N; i++ {
				for _, ev := range evs {
					r.Match(ev)
				}
				n += len(evs)
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
