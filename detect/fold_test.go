package detect

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/revertwatch/revertwatch/emulate"
	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/eventtime"
	"github.com/revertwatch/revertwatch/finding"
	"github.com/revertwatch/revertwatch/ingest"
	"github.com/revertwatch/revertwatch/sigma"
	"github.com/revertwatch/revertwatch/tune"
)

// TestFoldSameForEveryOrder: the folded findings of single-record Sigma
// rules, and what the tuning counted, are the same for any order of the
// records and with the findings spilled, copies across shapes and the
// phases of Azure operations included; and they are far fewer than the
// hits.
func TestFoldSameForEveryOrder(t *testing.T) {
	evs := emulatedEvents(t)
	rs := directRules(t)
	want, wantTuning := huntWith(t, evs, Options{Rules: rs})
	each, _ := huntWith(t, evs, Options{Rules: rs, EachHit: true})
	if !bytes.Contains(want, []byte(`"hits":`)) {
		t.Fatal("nothing folded: the test would not test it")
	}
	if n, m := len(singleRecordFindings(t, want)), len(singleRecordFindings(t, each)); n*3 > m*2 {
		t.Fatalf("%d folds of %d hits: the noisy rules hardly folded", n, m)
	}
	rng := rand.New(rand.NewSource(12))
	for i, budget := range []int64{64 << 10, 0, 8 << 10} {
		perm := append([]*event.Event(nil), evs...)
		switch i {
		case 0:
			slices.Reverse(perm)
		default:
			rng.Shuffle(len(perm), func(a, b int) { perm[a], perm[b] = perm[b], perm[a] })
		}
		got, tuning := huntWith(t, perm, Options{Rules: rs, MemoryBudget: budget})
		if !bytes.Equal(got, want) {
			t.Fatalf("order %d, budget %d: the folded findings changed:\n%s", i, budget, firstDiff(got, want))
		}
		if !reflect.DeepEqual(tuning, wantTuning) {
			t.Fatalf("order %d, budget %d: the tuning counted\n%+v, want\n%+v", i, budget, tuning, wantTuning)
		}
	}
}

// foldRef is what folding the findings of every hit gives one fold.
type foldRef struct {
	hits        int
	first, last time.Time
	// The evidence uids at the first and the last time: the fold may
	// show any of them.
	firstUIDs, lastUIDs []string
}

// TestFoldMatchesEachHit: a fold is what folding the findings of every
// hit (hunt --each-hit) by rule, scope, caller, tuning and UTC day
// gives: the count, the first and the last time and their records, the
// records' copies in another file counted once. One shape per cloud, so
// that the copies name one caller (across shapes, an Azure service
// principal can be named by two ids: each fold then counts the record).
func TestFoldMatchesEachHit(t *testing.T) {
	evs := corpusEvents(t, emulate.Options{Seed: 3, Shapes: []emulate.Shape{event.FormatCloudTrailRecords, event.FormatAzureEventHub, event.FormatGCPLogEntry}})
	for _, ev := range evs[:len(evs)/2] {
		c := *ev
		c.Source.Name = "copy/" + c.Source.Name
		evs = append(evs, &c)
	}
	rs := directRules(t)
	each, _ := huntWith(t, evs, Options{Rules: rs, EachHit: true})
	folded, _ := huntWith(t, evs, Options{Rules: rs})
	want := map[string]*foldRef{}
	for _, f := range singleRecordFindings(t, each) {
		if f.Hits != 0 || len(f.Evidence) != 1 {
			t.Fatalf("--each-hit folded %s: %d hits, %d records", f.ID, f.Hits, len(f.Evidence))
		}
		k := foldRefKey(&f)
		r := want[k]
		if r == nil {
			r = &foldRef{first: f.FirstSeen, last: f.FirstSeen}
			want[k] = r
		}
		r.hits++
		uid := f.Evidence[0].UID
		switch {
		case f.FirstSeen.Before(r.first):
			r.first, r.firstUIDs = f.FirstSeen, []string{uid}
		case f.FirstSeen.Equal(r.first):
			r.firstUIDs = append(r.firstUIDs, uid)
		}
		switch {
		case f.FirstSeen.After(r.last):
			r.last, r.lastUIDs = f.FirstSeen, []string{uid}
		case f.FirstSeen.Equal(r.last):
			r.lastUIDs = append(r.lastUIDs, uid)
		}
	}
	folds := 0
	got := map[string]bool{}
	for _, f := range singleRecordFindings(t, folded) {
		k := foldRefKey(&f)
		r := want[k]
		if r == nil || got[k] {
			t.Fatalf("fold %s (%s) is not one of the hits' folds", f.ID, k)
		}
		got[k] = true
		hits := max(f.Hits, 1)
		if hits != r.hits || !f.FirstSeen.Equal(r.first) || !f.LastSeen.Equal(r.last) {
			t.Fatalf("fold %s: %d hits from %s to %s, want %d from %s to %s", k, hits, f.FirstSeen, f.LastSeen, r.hits, r.first, r.last)
		}
		if !slices.Contains(r.firstUIDs, f.Evidence[0].UID) || !slices.Contains(r.lastUIDs, f.Evidence[len(f.Evidence)-1].UID) {
			t.Fatalf("fold %s: evidence %s … %s, want one of %v … one of %v", k, f.Evidence[0].UID, f.Evidence[len(f.Evidence)-1].UID, r.firstUIDs, r.lastUIDs)
		}
		if hits > 1 {
			folds++
			if len(f.Evidence) != 2 && !r.first.Equal(r.last) {
				t.Fatalf("fold %s: %d records of evidence, want the first and the last", k, len(f.Evidence))
			}
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%d folds, want %d", len(got), len(want))
	}
	if folds == 0 {
		t.Fatal("nothing folded: the test would not test it")
	}
}

// singleRecordFindings reads the findings of single-record Sigma rules
// from NDJSON.
func singleRecordFindings(t *testing.T, b []byte) []finding.Finding {
	t.Helper()
	var out []finding.Finding
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var f finding.Finding
		if err := json.Unmarshal(sc.Bytes(), &f); err != nil {
			t.Fatal(err)
		}
		if len(f.Reasons) > 0 && strings.HasPrefix(f.Reasons[0], "Sigma detection rule ") {
			out = append(out, f)
		}
	}
	return out
}

// foldRefKey is what the hits of one fold share, as a finding shows it.
func foldRefKey(f *finding.Finding) string {
	s := eventtime.Canonical(eventtime.Scope{Provider: f.Provider, Account: f.Account, Region: f.Region})
	day := f.FirstSeen.UTC().Truncate(24 * time.Hour).Format(time.DateOnly)
	return strings.Join([]string{f.RuleID, s.Provider, s.Account, s.Region, f.Actor.Caller, day, f.Severity, f.Confidence, f.SuppressionReason}, "|")
}

// TestDecoderFilterSameFindings: the single-record rules fired in the
// decoding goroutines (DecoderFilter) give the findings, and count the
// tuning, as fired by Process, folded or each hit reported.
func TestDecoderFilterSameFindings(t *testing.T) {
	c, err := emulate.Generate(emulate.Options{Seed: 5, Noise: 200})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := c.Write(dir); err != nil {
		t.Fatal(err)
	}
	inputs, err := ingest.Expand([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	rs := directRules(t)
	hunt := func(eachHit, inDecoders bool) ([]byte, tune.Summary) {
		conf, err := tune.Parse("tuning.yml", []byte(directTuning))
		if err != nil {
			t.Fatal(err)
		}
		d, err := New(Options{AtRest: true, Rules: rs, Config: conf, EachHit: eachHit, SpillDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		opt := ingest.Options{Jobs: 2, Want: d.Wants}
		if inDecoders {
			opt.NewFilter = d.DecoderFilter()
		}
		_, err = ingest.Read(t.Context(), inputs, opt, ingest.Handlers{Event: func(ev *event.Event) error { d.Process(ev); return nil }})
		if err != nil {
			t.Fatal(err)
		}
		if err := d.FlushContext(t.Context()); err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := d.WriteNDJSON(&b); err != nil {
			t.Fatal(err)
		}
		return b.Bytes(), conf.Summary()
	}
	for _, eachHit := range []bool{false, true} {
		want, wantTuning := hunt(eachHit, false)
		got, tuning := hunt(eachHit, true)
		if len(singleRecordFindings(t, want)) == 0 {
			t.Fatal("no single-record findings: the test would not test it")
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("each hit %v: the findings fired in the decoders differ:\n%s", eachHit, firstDiff(got, want))
		}
		if !reflect.DeepEqual(tuning, wantTuning) {
			t.Fatalf("each hit %v: the tuning counted\n%+v, want\n%+v", eachHit, tuning, wantTuning)
		}
	}
}

// FuzzReadFold: a damaged spilled fold is an error, never a panic, and
// a fold appendFold wrote reads back.
func FuzzReadFold(f *testing.F) {
	rule := directRules(f).Rules[0]
	fs := newFolds(24*time.Hour, 1<<20, f.TempDir())
	fs.rules[rule], fs.order = 0, []*sigma.Rule{rule}
	ev := &event.Event{UID: "e-1", Provider: event.AWS, Format: event.FormatCloudTrailRecords, Time: time.Unix(1700000000, 0).UTC(), Raw: []byte(`{"a":1}`)}
	s := foldSample{ev: ev, identity: "e-1", own: true}
	k := foldKey{rule: rule, scope: eventtime.Scope{Provider: event.AWS, Account: "1"}, caller: "c", bucket: 19675}
	good := fs.appendFold(nil, k, &fold{records: []uint64{1, 2}, first: s, last: s})
	if gk, gf, err := fs.readFold(good); err != nil || gk != k || len(gf.records) != 2 || gf.last.ev.UID != "e-1" {
		f.Fatalf("read back %+v %+v %v", gk, gf, err)
	}
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Fuzz(func(t *testing.T, b []byte) {
		fs.readFold(b)
	})
}

// TestFoldsStayInBudget: hits of as many callers as records (a crafted
// log, or a rule that names every caller) keep the folds held within the
// budget, spilling the rest, and every fold comes back once.
func TestFoldsStayInBudget(t *testing.T) {
	rule := directRules(t).Rules[0]
	const budget = 64 << 10
	fs := newFolds(24*time.Hour, budget, t.TempDir())
	raw := []byte(`{"pad":"` + strings.Repeat("x", 1000) + `"}`)
	const n = 3000
	for i := range n / 100 {
		batch := make([]foldHit, 0, 100)
		for j := range 100 {
			ev := &event.Event{UID: fmt.Sprintf("e-%d-%d", i, j), Provider: event.AWS, Account: "1", Format: event.FormatCloudTrailRecords,
				Time: time.Unix(1700000000+int64(j), 0).UTC(), Caller: fmt.Sprintf("arn:aws:iam::1:user/u%d-%d", i, j), Raw: raw}
			batch = append(batch, foldHit{key: foldKey{rule: rule, scope: eventtime.ScopeOf(ev), caller: ev.Caller, bucket: 19675},
				sample: foldSample{ev: ev, identity: ev.UID}})
		}
		fs.add(batch)
		if fs.size > budget {
			t.Fatalf("after %d hits the folds hold %d bytes, over the budget of %d", (i+1)*100, fs.size, budget)
		}
	}
	if len(fs.runs) < 2 {
		t.Fatalf("%d runs: the folds did not spill", len(fs.runs))
	}
	seen := map[string]bool{}
	err := fs.each(nil, func(f *finding.Finding, _ tune.Decision, _ *event.Event) {
		if seen[f.Actor.Caller] || f.Hits > 1 {
			t.Errorf("caller %s: a second fold, or %d hits", f.Actor.Caller, f.Hits)
		}
		seen[f.Actor.Caller] = true
	})
	if err != nil || len(seen) != n {
		t.Fatalf("%d folds back (%v), want %d", len(seen), err, n)
	}
}
