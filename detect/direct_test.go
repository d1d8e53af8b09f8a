package detect

import (
	"bytes"
	"context"
	"math/rand"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/revertwatch/revertwatch/content"
	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/finding"
	"github.com/revertwatch/revertwatch/platforms"
	"github.com/revertwatch/revertwatch/sigma"
	"github.com/revertwatch/revertwatch/tune"
)

// noisyRules are single-event rules of the kinds that fire on most
// records (SigmaHQ's AssumeRole misuse and Azure keyword rules), a
// correlation over one of them, and a filter.
const noisyRules = `title: Assumed role call
id: 6b3a4f2e-0000-4000-8000-000000000001
name: assumed_role
logsource: {product: aws, service: cloudtrail}
detection:
    selection:
        userIdentity.type: AssumedRole
    condition: selection
level: low
---
title: Azure compute write keyword
id: 6b3a4f2e-0000-4000-8000-000000000002
logsource: {product: azure, service: activitylogs}
detection:
    keywords:
        - Microsoft.Compute/disks/write
        - Microsoft.Compute/virtualMachines/write
    condition: keywords
level: medium
---
title: Google Cloud compute call
id: 6b3a4f2e-0000-4000-8000-000000000003
logsource: {product: gcp, service: gcp.audit}
detection:
    selection:
        protoPayload.serviceName: compute.googleapis.com
    condition: selection
level: low
---
title: Many assumed role calls
id: 6b3a4f2e-0000-4000-8000-000000000004
correlation:
    type: event_count
    rules: [assumed_role]
    group-by: [userIdentity.arn]
    timespan: 1h
    condition: {gte: 3}
    generate: true
level: medium
---
title: Not the backup service
id: 6b3a4f2e-0000-4000-8000-000000000005
filter:
    rules: [6b3a4f2e-0000-4000-8000-000000000001]
    selection:
        userIdentity.invokedBy: backup.amazonaws.com
    condition: selection
`

// directTuning drops the GCP rule's findings of one project and
// downgrades the Azure keyword rule's everywhere: the direct firing must
// count what the tuning did once per finding kept, as before.
const directTuning = `allow:
  - name: gcp-drop
    reason: test
    action: drop
    rules: ["6b3a4f2e-0000-4000-8000-000000000003"]
    single_attribute: true
    match: {account: "*-*"}
  - name: azure-down
    reason: test
    rules: ["6b3a4f2e-0000-4000-8000-000000000002"]
    single_attribute: true
    match: {account: "*-*"}
`

// directRules loads the built-in content exported as Sigma and
// noisyRules.
func directRules(t testing.TB) *sigma.Ruleset {
	t.Helper()
	docs, err := platforms.ExportSigma(content.Reverts(), platforms.SigmaOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rs := sigma.NewRuleset(nil)
	for _, d := range docs {
		rs.AddFile(d.Name, d.YAML)
	}
	rs.AddFile("noisy.yml", []byte(noisyRules))
	rs.Resolve()
	for _, p := range rs.Problems {
		t.Fatalf("rule does not load: %s", p)
	}
	return rs
}

// huntWith runs the at-rest detector with opt over a copy of evs and
// returns its NDJSON as WriteNDJSON writes it, checked against Findings,
// and the tuning's summary.
func huntWith(t *testing.T, evs []*event.Event, opt Options) ([]byte, tune.Summary) {
	t.Helper()
	conf, err := tune.Parse("tuning.yml", []byte(directTuning))
	if err != nil {
		t.Fatal(err)
	}
	opt.AtRest, opt.SpillDir, opt.Config = true, t.TempDir(), conf
	d, err := New(opt)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		c := *ev
		d.Process(&c)
	}
	if err := d.FlushContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	var streamed bytes.Buffer
	if err := d.WriteNDJSON(&streamed); err != nil {
		t.Fatal(err)
	}
	var held bytes.Buffer
	if err := finding.WriteNDJSON(&held, d.Findings()); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(streamed.Bytes(), held.Bytes()) {
		t.Fatalf("WriteNDJSON and Findings differ:\n%s", firstDiff(streamed.Bytes(), held.Bytes()))
	}
	if s := d.Summary(); s.Findings != bytes.Count(held.Bytes(), []byte("\n")) {
		t.Fatalf("the summary counts %d findings, the output has %d", s.Findings, bytes.Count(held.Bytes(), []byte("\n")))
	}
	return streamed.Bytes(), conf.Summary()
}

var lateBy = regexp.MustCompile(`"late_by":"[^"]*",?`)

// TestDirectSigmaSameAsReleased: single-event Sigma rules fired as
// their events are read, each hit reported (Options.EachHit), give the findings that releasing every event in
// event-time order gave, copies of records across shapes and the phases
// of Azure operations included, for any order of the records and with
// the findings spilled to disk; and they leave the built-in content's
// findings as they are without Sigma rules. Held only for the
// correlations, the events the noisy rules match no longer move the
// at-rest watermark the built-in rules measure an unlogged Azure
// outcome's lateness against, so late_by is compared apart.
func TestDirectSigmaSameAsReleased(t *testing.T) {
	evs := emulatedEvents(t)
	rs := directRules(t)
	want, wantTuning := huntWith(t, evs, Options{Rules: rs, noDirect: true})
	if wantTuning.Dropped == 0 || wantTuning.Downgraded == 0 || len(wantTuning.Benign) == 0 {
		t.Fatalf("the tuning did not drop, downgrade and recognise: %+v", wantTuning)
	}
	if n := bytes.Count(want, []byte("\n")); n < 150 {
		t.Fatalf("only %d findings: the noisy rules should fire on most records", n)
	}
	for _, id := range []string{"assumed_role", "6b3a4f2e-0000-4000-8000-000000000002", "6b3a4f2e-0000-4000-8000-000000000004"} {
		if !bytes.Contains(want, []byte(`"rule_id":"`+id+`"`)) {
			t.Fatalf("rule %s never fired: the test would not test it", id)
		}
	}
	base, _ := huntWith(t, evs, Options{})
	rng := rand.New(rand.NewSource(11))
	for i, budget := range []int64{0, 64 << 10, 0, 8 << 10} {
		perm := append([]*event.Event(nil), evs...)
		switch i {
		case 1:
			for a, b := 0, len(perm)-1; a < b; a, b = a+1, b-1 {
				perm[a], perm[b] = perm[b], perm[a]
			}
		case 2, 3:
			rng.Shuffle(len(perm), func(a, b int) { perm[a], perm[b] = perm[b], perm[a] })
		}
		got, tuning := huntWith(t, perm, Options{Rules: rs, MemoryBudget: budget, EachHit: true})
		if !bytes.Equal(lateBy.ReplaceAll(got, nil), lateBy.ReplaceAll(want, nil)) {
			t.Fatalf("order %d, budget %d: direct firing changed the findings:\n%s", i, budget, firstDiff(got, want))
		}
		if !reflect.DeepEqual(tuning, wantTuning) {
			t.Fatalf("order %d, budget %d: the tuning counted\n%+v, want\n%+v", i, budget, tuning, wantTuning)
		}
		// The built-in findings are those of a hunt without rules,
		// late_by included.
		var builtin bytes.Buffer
		for _, line := range bytes.SplitAfter(got, []byte("\n")) {
			if bytes.Contains(line, []byte(`"reasons":["Sigma `)) || len(line) == 0 {
				continue
			}
			builtin.Write(line)
		}
		if !bytes.Equal(builtin.Bytes(), base) {
			t.Fatalf("order %d: the built-in findings differ from a hunt without Sigma rules:\n%s", i, firstDiff(builtin.Bytes(), base))
		}
	}
}

// TestSpoolSpillFails: findings, or folds, that cannot spill make the
// output fail with the reason, not come out short.
func TestSpoolSpillFails(t *testing.T) {
	for _, eachHit := range []bool{true, false} {
		d, err := New(Options{AtRest: true, Rules: directRules(t), MemoryBudget: 1, SpillDir: t.TempDir() + "/gone", EachHit: eachHit})
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range emulatedEvents(t) {
			d.Process(ev)
		}
		if err := d.FlushContext(context.Background()); err != nil {
			t.Fatal(err)
		}
		want := map[bool]string{true: "spilling findings", false: "spilling folds"}[eachHit]
		var b bytes.Buffer
		if err := d.WriteNDJSON(&b); err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("each hit %v: WriteNDJSON = %v, want the spill's error", eachHit, err)
		}
		if err := d.Close(); err == nil {
			t.Fatalf("each hit %v: Close reported no error: the findings would look complete", eachHit)
		}
	}
}
