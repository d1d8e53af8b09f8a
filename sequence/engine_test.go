package sequence

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/revertwatch/revertwatch/event"
)

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func ev(uid string, min float64, op string, instances ...string) *event.Event {
	e := &event.Event{Time: t0.Add(time.Duration(min * float64(time.Minute))), Provider: event.AWS, UID: uid,
		Account: "111122223333", Region: "us-east-1", Operation: op, OperationName: op, Outcome: event.OutcomeSuccess}
	for _, i := range instances {
		e.AddResource(event.KindInstance, event.RoleTarget, i)
	}
	return e
}

func step(name, op string, binds ...Bind) Step {
	return Step{Name: name, Provider: event.AWS, Operations: []string{op}, Bind: binds}
}

var inst = Bind{Name: "instance", Field: FieldInstances}

// abc is A → B → C on the same instance.
var abc = Rule{ID: "abc", Window: time.Hour, Steps: []Step{step("a", "A", inst), step("b", "B", inst), step("c", "C", inst)}}

// single fires on every D.
var single = Rule{ID: "single", Steps: []Step{step("d", "D", Bind{Name: "instance", Field: FieldInstances, Optional: true})}}

type run struct {
	t       *testing.T
	e       *Engine
	matches []*Match
	late    []string
}

func newRun(t *testing.T, opt Options, rules ...Rule) *run {
	t.Helper()
	r := &run{t: t}
	opt.OnMatch = func(m *Match) { r.matches = append(r.matches, m) }
	opt.OnLate = func(e *event.Event) { r.late = append(r.late, e.UID) }
	e, err := New(rules, opt)
	if err != nil {
		t.Fatal(err)
	}
	r.e = e
	return r
}

func (r *run) feed(evs ...*event.Event) *run {
	for _, e := range evs {
		r.e.Process(e)
	}
	return r
}

func (r *run) flush() *run { r.e.Flush(); return r }

func (r *run) got() []string {
	var out []string
	for _, m := range r.matches {
		var uids []string
		for _, x := range m.Evidence {
			uids = append(uids, x.Event.UID)
		}
		var keys []string
		for _, b := range m.Bindings {
			keys = append(keys, b.Value)
		}
		out = append(out, m.Rule+"("+strings.Join(keys, ",")+"): "+strings.Join(uids, " "))
	}
	return out
}

func (r *run) expect(want ...string) {
	r.t.Helper()
	if got := r.got(); !reflect.DeepEqual(got, want) && (len(got) != 0 || len(want) != 0) {
		r.t.Errorf("matches\n got  %q\n want %q", got, want)
	}
}

func TestOrder(t *testing.T) {
	newRun(t, Options{}, abc).feed(ev("a", 0, "A", "i-1"), ev("b", 1, "B", "i-1"), ev("c", 2, "C", "i-1")).flush().
		expect("abc(i-1): a b c")
	// A→C→B must not satisfy A→B→C (Hayabusa #1810).
	newRun(t, Options{}, abc).feed(ev("a", 0, "A", "i-1"), ev("c", 1, "C", "i-1"), ev("b", 2, "B", "i-1")).flush().expect()
	// Arrival order B, C, A within the lateness is event order A, B, C.
	newRun(t, Options{}, abc).feed(ev("b", 1, "B", "i-1"), ev("c", 2, "C", "i-1"), ev("a", 0, "A", "i-1")).flush().
		expect("abc(i-1): a b c")
	// Operation names compare case-insensitively.
	newRun(t, Options{}, abc).feed(ev("a", 0, "a", "i-1"), ev("b", 1, "b", "i-1"), ev("c", 2, "c", "i-1")).flush().
		expect("abc(i-1): a b c")
}

func TestNoLeakAcrossKeys(t *testing.T) {
	// Hayabusa #1809: steps of different group keys joined into one match.
	newRun(t, Options{}, abc).feed(ev("a", 0, "A", "i-1"), ev("b", 1, "B", "i-2"), ev("c", 2, "C", "i-1")).flush().expect()
	newRun(t, Options{}, abc).feed(
		ev("a1", 0, "A", "i-1"), ev("a2", 0.5, "A", "i-2"),
		ev("b2", 1, "B", "i-2"), ev("b1", 1.5, "B", "i-1"),
		ev("c1", 2, "C", "i-1"), ev("c2", 2.5, "C", "i-2"),
	).flush().expect("abc(i-1): a1 b1 c1", "abc(i-2): a2 b2 c2")
	// One event naming two instances starts one sequence per instance.
	newRun(t, Options{}, abc).feed(ev("a", 0, "A", "i-1", "i-2"), ev("b", 1, "B", "i-2"), ev("c", 2, "C", "i-2")).flush().
		expect("abc(i-2): a b c")
	// Scope: another account or region never joins.
	other := ev("b", 1, "B", "i-1")
	other.Account = "999999999999"
	newRun(t, Options{}, abc).feed(ev("a", 0, "A", "i-1"), other, ev("c", 2, "C", "i-1")).flush().expect()
}

func TestWindow(t *testing.T) {
	newRun(t, Options{}, abc).feed(ev("a", 0, "A", "i-1"), ev("b", 30, "B", "i-1"), ev("c", 61, "C", "i-1")).flush().expect()
	newRun(t, Options{}, abc).feed(ev("a", 0, "A", "i-1"), ev("b", 30, "B", "i-1"), ev("c", 60, "C", "i-1")).flush().
		expect("abc(i-1): a b c")
	// A fresh first step replaces the stale one, so its window counts.
	newRun(t, Options{}, abc).feed(ev("a1", 0, "A", "i-1"), ev("a2", 50, "A", "i-1"), ev("b", 70, "B", "i-1"), ev("c", 80, "C", "i-1")).flush().
		expect("abc(i-1): a2 b c")
	r := newRun(t, Options{}, abc).feed(ev("a", 0, "A", "i-1"), ev("x", 200, "Z")).flush()
	if s := r.e.Stats(); s.Expired != 1 || s.Partials != 0 {
		t.Errorf("expiry: %+v", s)
	}
}

func TestLateness(t *testing.T) {
	// b arrives 14 minutes behind the latest event: within 15m, in order.
	r := newRun(t, Options{}, abc).feed(ev("a", 0, "A", "i-1"), ev("c", 20, "C", "i-1"), ev("b", 6, "B", "i-1")).flush()
	r.expect("abc(i-1): a b c")
	if r.matches[0].Late {
		t.Error("an event within the lateness made the match late")
	}
	// 16 minutes behind: late, reported, and still sequenced in its place.
	r = newRun(t, Options{}, abc, single).feed(ev("a", 0, "A", "i-1"), ev("c", 22, "C", "i-1"), ev("b", 5, "B", "i-1")).flush()
	r.expect("abc(i-1): a b c")
	if s := r.e.Stats(); s.Late != 1 || s.Replays != 1 || !reflect.DeepEqual(r.late, []string{"b"}) {
		t.Errorf("late: %+v %v", s, r.late)
	}
	if m := r.matches[0]; !m.Late || m.LateBy != 17*time.Minute {
		t.Errorf("late match: late=%v by %s", m.Late, m.LateBy)
	}
	// Single-event rules fire on a late event once.
	r = newRun(t, Options{}, abc, single).feed(ev("x", 60, "Z"), ev("d", 1, "D", "i-9")).flush()
	r.expect("single(i-9): d")
	if len(r.late) != 1 {
		t.Errorf("late %v", r.late)
	}
	// No lateness: every out-of-order event is late, and still found.
	newRun(t, Options{Lateness: -1}, abc).feed(ev("a", 0, "A", "i-1"), ev("c", 2, "C", "i-1"), ev("b", 1, "B", "i-1")).flush().
		expect("abc(i-1): a b c")
	// Beyond the horizon: single-event rules only.
	r = newRun(t, Options{Horizon: time.Hour}, abc, single).feed(ev("a", 0, "A", "i-1"), ev("b", 1, "B", "i-1"),
		ev("x", 200, "Z"), ev("c", 2, "C", "i-1"), ev("d", 3, "D", "i-9")).flush()
	r.expect("single(i-9): d")
	if s := r.e.Stats(); s.TooLate != 2 {
		t.Errorf("too late: %+v", s)
	}
	// No event time: counted, never sequenced.
	nt := ev("a", 0, "A", "i-1")
	nt.Time = time.Time{}
	r = newRun(t, Options{}, abc).feed(nt).flush()
	if s := r.e.Stats(); s.NoTime != 1 {
		t.Errorf("no time: %+v", s)
	}
}

// TestLateHours: an event three hours late completes its sequence, as the
// first step or the last, and a re-delivery of it afterwards changes
// nothing.
func TestLateHours(t *testing.T) {
	stop := Rule{ID: "ss", Window: 24 * time.Hour, Steps: []Step{step("stop", "Stop", inst), step("start", "Start", inst)}}
	noise := func(from, to float64) []*event.Event {
		var out []*event.Event
		for m := from; m <= to; m += 7 {
			out = append(out, ev(fmt.Sprintf("n%v", m), m, "Z"))
		}
		return out
	}
	// Late last step.
	r := newRun(t, Options{}, stop).feed(ev("stop", 0, "Stop", "i-1")).feed(noise(1, 240)...).feed(ev("start", 5, "Start", "i-1"))
	r.expect()
	r.flush().expect("ss(i-1): stop start")
	// Late first step: the start was released long ago.
	r = newRun(t, Options{}, stop).feed(ev("start", 5, "Start", "i-1")).feed(noise(1, 240)...).feed(ev("stop", 0, "Stop", "i-1")).flush()
	r.expect("ss(i-1): stop start")
	if !r.matches[0].Late {
		t.Error("not marked late")
	}
	// Re-delivered after the finding: nothing new.
	r.feed(ev("stop", 0, "Stop", "i-1"), ev("start", 5, "Start", "i-1")).flush()
	r.expect("ss(i-1): stop start")
	// Late events are replayed once their scope has moved on by the
	// lateness, without a Flush.
	r = newRun(t, Options{}, stop).feed(ev("start", 5, "Start", "i-1")).feed(noise(1, 240)...).feed(ev("stop", 0, "Stop", "i-1"))
	r.feed(noise(241, 260)...).expect("ss(i-1): stop start")
	// Snapshot with a late event waiting, restore, flush: found once.
	r = newRun(t, Options{}, stop).feed(ev("start", 5, "Start", "i-1")).feed(noise(1, 240)...).feed(ev("stop", 0, "Stop", "i-1"))
	snap, err := r.e.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	r2 := newRun(t, Options{}, stop)
	if err := r2.e.Restore(snap); err != nil {
		t.Fatal(err)
	}
	snap2, _ := r2.e.Snapshot()
	if !bytes.Equal(snap, snap2) {
		t.Error("snapshot of a restored engine differs")
	}
	r2.flush().expect("ss(i-1): stop start")
}

// TestLateKeepsLaterSteps: a late first step must also join events that
// come after it, on time.
func TestLateKeepsLaterSteps(t *testing.T) {
	ab := Rule{ID: "ab", Window: time.Hour, Steps: []Step{step("a", "A", inst), step("b", "B", inst)}}
	r := newRun(t, Options{}, ab).feed(ev("x", 100, "Z"), ev("a", 50, "A", "i-1"), ev("y", 130, "Z")).
		feed(ev("b", 95, "B", "i-1"))
	r.flush().expect("ab(i-1): a b")
	// a (late) and b (on time, a replay later) then c on time.
	r = newRun(t, Options{Lateness: time.Minute}, abc).feed(ev("x", 100, "Z"), ev("a", 80, "A", "i-1")).flush().
		feed(ev("b", 101, "B", "i-1"), ev("c", 102, "C", "i-1")).flush()
	r.expect("abc(i-1): a b c")
}

func TestHistoryCap(t *testing.T) {
	r := newRun(t, Options{MaxHistory: 3}, abc).feed(ev("a", 0, "A", "i-1"), ev("b", 1, "B", "i-1"), ev("a2", 2, "A", "i-2"),
		ev("b2", 3, "B", "i-2"), ev("x", 100, "Z")).flush()
	if s := r.e.Stats(); s.History != 3 || s.EvictedHistory != 1 {
		t.Errorf("history: %+v", s)
	}
}

func azure(uid string, min float64, op string, o event.Outcome, ph event.Phase, corr string) *event.Event {
	e := &event.Event{Time: t0.Add(time.Duration(min * float64(time.Minute))), Provider: event.Azure, UID: uid,
		Account: "sub", Operation: op, OperationName: op, Outcome: o, Phase: ph, CorrelationUID: corr,
		ResourceID: "/subscriptions/sub/x/" + corr}
	e.AddResource(event.KindInstance, event.RoleTarget, "vm-1")
	return e
}

// TestUnlogged: an Azure operation with only Start/Accept records counts
// as done at the end of the input, in its place, unless a Failure record
// for it comes in time.
func TestUnlogged(t *testing.T) {
	az := Rule{ID: "az", Window: time.Hour, Steps: []Step{
		{Name: "a", Provider: event.Azure, Operations: []string{"A"}, Bind: []Bind{inst}},
		{Name: "b", Provider: event.Azure, Operations: []string{"B"}, Bind: []Bind{inst}}}}
	aStart := azure("a1", 0, "A", event.OutcomePending, event.PhaseStart, "c1")
	aAccept := azure("a2", 0.1, "A", event.OutcomePending, event.PhaseAccept, "c1")
	b := azure("b1", 5, "B", event.OutcomeSuccess, event.PhaseEnd, "c2")

	// At the end of the input (End), counted done.
	r := newRun(t, Options{}, az).feed(aStart, aAccept, b)
	r.e.End()
	r.expect("az(vm-1): a2 b1")
	if m := r.matches[0]; !m.Evidence[0].Unlogged || len(m.Evidence[0].Phases) != 1 || r.e.Stats().Unlogged != 1 {
		t.Errorf("unlogged: %+v stats %+v", m.Evidence[0], r.e.Stats())
	}
	// Known up front (logs at rest), in its place and in order.
	r = newRun(t, Options{Lateness: time.Nanosecond, Horizon: -1}, az)
	r.e.ExpectUnlogged(PhaseKey(aAccept), "a2")
	r.feed(aStart, aAccept, b).flush().expect("az(vm-1): a2 b1")
	// Live, once the lateness has passed.
	r = newRun(t, Options{}, az).feed(aStart, aAccept, b)
	r.e.Process(azure("z2", 20, "Z", event.OutcomeSuccess, event.PhaseEnd, "c3"))
	r.expect()
	r.e.Process(azure("z3", 40, "Z", event.OutcomeSuccess, event.PhaseEnd, "c4"))
	r.expect("az(vm-1): a2 b1")
	// A Failure record in time cancels it.
	fail := azure("a3", 1, "A", event.OutcomeFailure, event.PhaseEnd, "c1")
	r = newRun(t, Options{}, az).feed(aStart, aAccept, fail, b)
	r.e.End()
	r.expect()
}

func TestDuplicatesAndOutcomes(t *testing.T) {
	a := ev("a", 0, "A", "i-1")
	re := ev("a-re", 0, "A", "i-1")
	re.OriginalUID = "a"
	r := newRun(t, Options{}, abc).feed(a, a, re, ev("b", 1, "B", "i-1"), ev("b", 1, "B", "i-1"), ev("c", 2, "C", "i-1")).flush()
	r.expect("abc(i-1): a b c")
	if s := r.e.Stats(); s.Duplicates != 3 {
		t.Errorf("duplicates %d", s.Duplicates)
	}
	for _, o := range []event.Outcome{event.OutcomeFailure, event.OutcomeNoOp, event.OutcomePending, event.OutcomeUnknown} {
		b := ev("b", 1, "B", "i-1")
		b.Outcome = o
		newRun(t, Options{}, abc).feed(ev("a", 0, "A", "i-1"), b, ev("c", 2, "C", "i-1")).flush().expect()
	}
}

func azEv(uid string, min float64, op, res string, ph event.Phase, out event.Outcome) *event.Event {
	e := &event.Event{Time: t0.Add(time.Duration(min * float64(time.Minute))), Provider: event.Azure, UID: uid,
		CorrelationUID: "c-" + res, Account: "SUB-1", Operation: op, ResourceID: res, Phase: ph, Outcome: out}
	e.AddResource(event.KindVM, event.RoleTarget, res)
	e.Keys.VM = strings.ToLower(res)
	return e
}

func TestAzurePhases(t *testing.T) {
	vm := Bind{Name: "vm", Field: FieldVM}
	rule := Rule{ID: "az", Steps: []Step{
		{Name: "stop", Provider: event.Azure, Operations: []string{"x/deallocate/action"}, Bind: []Bind{vm}},
		{Name: "start", Provider: event.Azure, Operations: []string{"x/start/action"}, Bind: []Bind{vm}},
	}}
	r := newRun(t, Options{}, rule).feed(
		azEv("s1", 0, "x/deallocate/action", "/VM/1", event.PhaseStart, event.OutcomePending),
		azEv("s2", 0.1, "x/deallocate/action", "/VM/1", event.PhaseAccept, event.OutcomePending),
		azEv("s3", 1, "x/deallocate/action", "/VM/1", event.PhaseEnd, event.OutcomeSuccess),
		azEv("t1", 2, "x/start/action", "/vm/1", event.PhaseStart, event.OutcomePending),
		azEv("t3", 3, "x/start/action", "/vm/1", event.PhaseEnd, event.OutcomeSuccess),
	).flush()
	r.expect("az(/vm/1): s3 t3")
	if s := r.e.Stats(); s.Phases != 3 || s.Pending != 0 {
		t.Errorf("phases: %+v", s)
	}
	if len(r.matches) == 1 && len(r.matches[0].Evidence[0].Phases) != 2 {
		t.Errorf("phases kept: %+v", r.matches[0].Evidence[0])
	}
	// Started, accepted, then failed: no advance.
	newRun(t, Options{}, rule).feed(
		azEv("s3", 1, "x/deallocate/action", "/vm/1", event.PhaseEnd, event.OutcomeSuccess),
		azEv("t1", 2, "x/start/action", "/vm/1", event.PhaseStart, event.OutcomePending),
		azEv("t2", 2.1, "x/start/action", "/vm/1", event.PhaseAccept, event.OutcomePending),
		azEv("t3", 3, "x/start/action", "/vm/1", event.PhaseEnd, event.OutcomeFailure),
	).flush().expect()
}

func TestSameOperationTwiceInARule(t *testing.T) {
	// An event never serves as two steps of one sequence.
	aa := Rule{ID: "aa", Steps: []Step{step("first", "A", inst), step("second", "A", inst)}}
	newRun(t, Options{}, aa).feed(ev("a1", 0, "A", "i-1")).flush().expect()
	newRun(t, Options{}, aa).feed(ev("a1", 0, "A", "i-1"), ev("a2", 1, "A", "i-1")).flush().expect("aa(i-1): a1 a2")
}

func TestCaps(t *testing.T) {
	ab := Rule{ID: "ab", Steps: []Step{
		step("a", "A", inst, Bind{Name: "tag", Field: FieldImages}),
		step("b", "B", inst),
	}}
	withImage := func(uid string, min float64, img string) *event.Event {
		e := ev(uid, min, "A", "i-1")
		e.AddResource(event.KindImage, event.RoleSource, img)
		return e
	}
	r := newRun(t, Options{MaxPerKey: 2}, ab).feed(withImage("a1", 0, "x"), withImage("a2", 1, "y"), withImage("a3", 2, "z"), ev("b", 3, "B", "i-1")).flush()
	r.expect("ab(i-1,y): a2 b", "ab(i-1,z): a3 b")
	if s := r.e.Stats(); s.EvictedPerKey != 1 {
		t.Errorf("per-key cap: %+v", s)
	}
	r = newRun(t, Options{MaxPartials: 2}, abc)
	for i := 0; i < 5; i++ {
		r.feed(ev(fmt.Sprint("a", i), float64(i), "A", fmt.Sprint("i-", i)))
	}
	r.flush()
	if s := r.e.Stats(); s.EvictedTotal != 3 || s.Partials != 2 || s.PeakPartials != 3 {
		t.Errorf("total cap: %+v", s)
	}
	r = newRun(t, Options{MaxBuffered: 2}, abc).feed(ev("a", 0, "A", "i-1"), ev("b", 1, "B", "i-1"), ev("c", 2, "C", "i-1")).flush()
	r.expect("abc(i-1): a b c")
	if s := r.e.Stats(); s.ForcedReleases != 1 || s.PeakBuffered != 3 {
		t.Errorf("buffer cap: %+v", s)
	}
	r = newRun(t, Options{MaxSeen: 10}, abc)
	for i := 0; i < 50; i++ {
		r.feed(ev(fmt.Sprint("z", i), float64(i)/10, "A", "i-1"))
	}
	if s := r.e.Stats(); s.Seen > 11 || s.EvictedSeen == 0 {
		t.Errorf("seen cap: %+v", s)
	}
}

func TestRuleErrors(t *testing.T) {
	bad := map[string]Rule{
		"no id":           {Steps: []Step{step("a", "A", inst)}},
		"no steps":        {ID: "x"},
		"no join":         {ID: "x", Steps: []Step{step("a", "A", inst), step("b", "B", Bind{Name: "other", Field: FieldVolumes})}},
		"optional join":   {ID: "x", Steps: []Step{step("a", "A", inst), step("b", "B", Bind{Name: "instance", Field: FieldInstances, Optional: true})}},
		"optional index":  {ID: "x", Steps: []Step{step("a", "A", Bind{Name: "instance", Field: FieldInstances, Optional: true}), step("b", "B", inst)}},
		"no provider":     {ID: "x", Steps: []Step{{Name: "a", Operations: []string{"A"}}}},
		"repeated step":   {ID: "x", Steps: []Step{step("a", "A", inst), step("a", "B", inst)}},
		"bad field":       {ID: "x", Steps: []Step{step("a", "A", Bind{Name: "i", Field: Field(200)})}},
		"empty condition": {ID: "x", Steps: []Step{{Name: "a", Provider: event.AWS, Operations: []string{"A"}, Where: []Cond{{Field: FieldDevices, Op: In}}}}},
		"bad context":     {ID: "x", Steps: []Step{step("a", "A", inst)}, Context: []Context{{Name: "c", Provider: event.AWS, Operations: []string{"C"}, Field: FieldInstances, Binding: "nope", Before: "a"}}},
		"bad adjust":      {ID: "x", Steps: []Step{step("a", "A", inst)}, Adjust: []Adjust{{Reason: "r", ServiceActor: true, Context: "c"}}},
		"negative window": {ID: "x", Window: -time.Second, Steps: []Step{step("a", "A", inst)}},
	}
	for name, r := range bad {
		if _, err := New([]Rule{r}, Options{}); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := New([]Rule{abc, abc}, Options{}); err == nil {
		t.Error("duplicate id accepted")
	}
	if _, err := New([]Rule{{ID: "s", Steps: []Step{step("a", "A", inst)}, Supersedes: []string{"nope"}}}, Options{}); err == nil {
		t.Error("unknown superseded rule accepted")
	}
}

// stream is a deterministic pseudo-random mix of relevant and irrelevant
// events, with duplicates, late arrivals, failures and Azure phases.
func stream(n int, seed int64) []*event.Event {
	rng := rand.New(rand.NewSource(seed))
	ops := []string{"A", "B", "C", "D", "Describe", "List"}
	var out []*event.Event
	for i := 0; i < n; i++ {
		min := float64(i)/4 - rng.Float64()*20
		e := ev(fmt.Sprint("e", i), min, ops[rng.Intn(len(ops))], fmt.Sprint("i-", rng.Intn(8)))
		switch rng.Intn(20) {
		case 0:
			e.Outcome = event.OutcomeFailure
		case 1:
			e.UID = fmt.Sprint("e", rng.Intn(i+1))
		case 2:
			e.Region = "eu-west-1"
		case 3:
			e = azEv(fmt.Sprint("z", i), min, "x/deallocate/action", fmt.Sprint("/vm/", rng.Intn(3)), event.PhaseStart, event.OutcomePending)
		case 4:
			e = azEv(fmt.Sprint("z", i), min, "x/deallocate/action", fmt.Sprint("/vm/", rng.Intn(3)), event.PhaseEnd, event.OutcomeSuccess)
		}
		out = append(out, e)
	}
	return out
}

var azRule = Rule{ID: "az", Steps: []Step{
	{Name: "d", Provider: event.Azure, Operations: []string{"x/deallocate/action"}, Bind: []Bind{{Name: "vm", Field: FieldVM}}},
	{Name: "a", Provider: event.AWS, Operations: []string{"A"}, Bind: []Bind{{Name: "vm", Field: FieldVM}}},
}, Context: []Context{{Name: "ctx", Provider: event.Azure, Operations: []string{"x/deallocate/action"}, Field: FieldVM, Binding: "vm", Before: "a"}}}

var ctxRule = Rule{ID: "bc", Steps: []Step{step("b", "B", inst), step("c", "C", inst)},
	Context: []Context{{Name: "a", Provider: event.AWS, Operations: []string{"A"}, Field: FieldInstances, Binding: "instance", Before: "c"}},
	Adjust:  []Adjust{{Reason: "after an A", Confidence: 1, Context: "a"}}}

func matchJSON(t *testing.T, ms []*Match) string {
	b, err := json.Marshal(ms)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSnapshotRestore(t *testing.T) {
	rules := []Rule{abc, single, ctxRule, azRule}
	evs := stream(4000, 1)
	whole := newRun(t, Options{}, rules...).feed(evs...).flush()
	if len(whole.matches) == 0 {
		t.Fatal("the stream should produce matches")
	}
	for _, cut := range []int{0, 1, 777, 2000, 3999} {
		first := newRun(t, Options{}, rules...).feed(evs[:cut]...)
		snap, err := first.e.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		second := newRun(t, Options{}, rules...)
		if err := second.e.Restore(snap); err != nil {
			t.Fatal(err)
		}
		again, err := second.e.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(snap, again) {
			t.Fatalf("cut %d: snapshot of the restored engine differs (%d vs %d bytes)", cut, len(snap), len(again))
		}
		second.matches = append(first.matches, second.matches...)
		second.feed(evs[cut:]...).flush()
		if a, b := matchJSON(t, whole.matches), matchJSON(t, second.matches); a != b {
			t.Fatalf("cut %d: matches after restore differ:\n%s\n%s", cut, a, b)
		}
		if a, b := whole.e.Stats(), second.e.Stats(); a != b {
			t.Fatalf("cut %d: stats differ:\n%+v\n%+v", cut, a, b)
		}
	}
	// A state of rules the engine does not have is dropped, not an error.
	first := newRun(t, Options{}, rules...).feed(evs[:2000]...)
	snap, _ := first.e.Snapshot()
	other := newRun(t, Options{}, single)
	if err := other.e.Restore(snap); err != nil {
		t.Fatal(err)
	}
	if other.e.Stats().Partials != 0 {
		t.Error("partials of unknown rules kept")
	}
	for _, bad := range []string{"", "{", `{"version":9}`, `{"version":1,"scopes":[{"provider":"AWS","buffer":[{"event":3}]}]}`, `{"version":1,"scopes":[{"provider":"Azure","account":"ABC"}]}`, `{"version":1,"events":[null]}`} {
		if err := other.e.Restore([]byte(bad)); err == nil {
			t.Errorf("Restore(%q) accepted", bad)
		}
	}
}

func TestDeterministic(t *testing.T) {
	rules := []Rule{abc, single, ctxRule, azRule}
	evs := stream(3000, 7)
	a := newRun(t, Options{}, rules...).feed(evs...).flush()
	b := newRun(t, Options{}, rules...).feed(evs...).flush()
	if matchJSON(t, a.matches) != matchJSON(t, b.matches) {
		t.Error("two runs over the same input differ")
	}
	sa, _ := a.e.Snapshot()
	sb, _ := b.e.Snapshot()
	if !bytes.Equal(sa, sb) {
		t.Error("two runs leave different states")
	}
}

func TestContextAndAdjust(t *testing.T) {
	r := newRun(t, Options{}, ctxRule).feed(ev("a", 0, "A", "i-1"), ev("b", 1, "B", "i-1"), ev("c", 2, "C", "i-1")).flush()
	r.expect("bc(i-1): a b c")
	if len(r.matches) == 1 && (r.matches[0].Confidence() != 1 || !r.matches[0].Evidence[0].Context) {
		t.Errorf("context: %+v", r.matches[0])
	}
	// A context after its step does not count; nor one of another key.
	r = newRun(t, Options{}, ctxRule).feed(ev("a0", 0, "A", "i-2"), ev("b", 1, "B", "i-1"), ev("c", 2, "C", "i-1"), ev("a", 3, "A", "i-1")).flush()
	r.expect("bc(i-1): b c")
}

// FuzzProcess feeds arbitrary events and state; the engine must never
// panic.
func FuzzProcess(f *testing.F) {
	f.Add([]byte("ABC\x00\x01\x02"), []byte(`{"version":1}`))
	f.Fuzz(func(t *testing.T, data, state []byte) {
		e, err := New([]Rule{abc, single, ctxRule, azRule}, Options{MaxPerKey: 2, MaxPartials: 5, MaxBuffered: 4, MaxContext: 3, MaxSeen: 5, MaxPending: 2, MaxHistory: 4})
		if err != nil {
			t.Fatal(err)
		}
		_ = e.Restore(state)
		ops := []string{"A", "B", "C", "D", "x/deallocate/action", ""}
		for i := 0; i+3 <= len(data); i += 3 {
			x := ev(fmt.Sprint(data[i]%16), float64(int8(data[i+1])), ops[int(data[i+2])%len(ops)], fmt.Sprint("i-", data[i]%3))
			switch data[i+2] % 7 {
			case 1:
				x.Provider = event.Azure
				x.Keys.VM = x.Keys.Instances[0]
			case 2:
				x.Outcome = event.Outcome(data[i] % 6)
				x.Phase = event.PhaseStart
				x.Provider = event.Azure
			case 3:
				x.Time = time.Time{}
			case 4:
				x.Keys = event.Keys{}
			}
			e.Process(x)
			if data[i]%11 == 0 {
				s, err := e.Snapshot()
				if err != nil {
					t.Fatal(err)
				}
				if err := e.Restore(s); err != nil {
					t.Fatal(err)
				}
			}
		}
		e.Flush()
		e.Process(nil)
	})
}

// TestWatermarkPerScope: a walk of AWSLogs/<account>/CloudTrail/<region>/
// reads one account's days before the next account's; the second account's
// events are not late for it.
func TestWatermarkPerScope(t *testing.T) {
	inOther := func(e *event.Event) *event.Event { e.Account = "999999999999"; return e }
	r := newRun(t, Options{}, abc).feed(
		ev("a1", 0, "A", "i-1"), ev("b1", 1, "B", "i-1"), ev("c1", 2, "C", "i-1"), ev("x", 3*24*60, "Z"),
		inOther(ev("a2", 0, "A", "i-1")), inOther(ev("b2", 1, "B", "i-1")), inOther(ev("c2", 2, "C", "i-1")),
	).flush()
	r.expect("abc(i-1): a1 b1 c1", "abc(i-1): a2 b2 c2")
	if s := r.e.Stats(); s.Late != 0 {
		t.Errorf("late %d", s.Late)
	}
	if w := r.e.Watermark(event.AWS, "999999999999", "us-east-1"); !w.Equal(t0.Add(2 * time.Minute)) {
		t.Errorf("watermark %v", w)
	}
}

// TestSameSecond: CloudTrail times have one-second precision; steps that
// share a second are taken in rule order whatever their arrival order.
func TestSameSecond(t *testing.T) {
	newRun(t, Options{}, abc).feed(ev("c", 1, "C", "i-1"), ev("b", 1, "B", "i-1"), ev("a", 1, "A", "i-1")).flush().
		expect("abc(i-1): a b c")
	newRun(t, Options{}, abc).feed(ev("b", 1, "B", "i-1"), ev("a", 1, "A", "i-1"), ev("c", 2, "C", "i-1")).flush().
		expect("abc(i-1): a b c")
}

// TestQuietPeriodThenOlder: the daemon's idle flush moves the watermark to
// the newest event; a revert of another instance logged earlier and
// delivered after the quiet period is still found (it was lost before the
// replay of late events).
func TestQuietPeriodThenOlder(t *testing.T) {
	stop := Rule{ID: "ss", Window: 24 * time.Hour, Steps: []Step{step("stop", "Stop", inst), step("start", "Start", inst)}}
	r := newRun(t, Options{Lateness: 24 * time.Hour}, stop).feed(ev("s1", 120, "Stop", "i-1")).flush()
	r.feed(ev("s2", 0, "Stop", "i-2"), ev("e2", 5, "Start", "i-2")).flush()
	r.expect("ss(i-2): s2 e2")
}

// TestRedeliveryDaysLate: a record re-delivered days after its scope moved
// on, beyond the horizon, fires its single-event rule no second time: ids
// are remembered for a week.
func TestRedeliveryDaysLate(t *testing.T) {
	r := newRun(t, Options{}, single).feed(ev("d", 0, "D", "i-1"), ev("x", 5*24*60, "Z"), ev("d", 0, "D", "i-1")).flush()
	r.expect("single(i-1): d")
	if s := r.e.Stats(); s.Duplicates != 1 {
		t.Errorf("duplicates %d", s.Duplicates)
	}
	// Past the week, a copy is a new record as far as anyone can tell.
	r = newRun(t, Options{}, single).feed(ev("d", 0, "D", "i-1"), ev("x", 8*24*60, "Z"), ev("d", 0, "D", "i-1")).flush()
	r.expect("single(i-1): d", "single(i-1): d")
}
