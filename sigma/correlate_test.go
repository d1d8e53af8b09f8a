package sigma

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/revertwatch/revertwatch/event"
)

var t0 = time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)

// rec is a CloudTrail event at t0+min minutes.
func rec(min float64, name string, more ...string) *event.Event {
	at := t0.Add(time.Duration(min * float64(time.Minute)))
	more = append([]string{"eventTime=" + at.Format(time.RFC3339)}, more...)
	raw := ct("ec2.amazonaws.com", name, more...)
	ev := corpusEvent(raw)
	ev.Time, ev.Account, ev.Region = at, "111122223333", "us-east-1"
	ev.UID = fmt.Sprintf("%s-%v-%s", name, min, strings.Join(more, ","))
	for _, m := range more {
		if v, ok := strings.CutPrefix(m, "recipientAccountId="); ok {
			ev.Account = v
		}
	}
	return ev
}

const stopStart = `
title: stop
name: stop
logsource: {product: aws, service: cloudtrail}
detection:
    sel: {eventName: StopInstances}
    condition: sel
---
title: start
name: start
logsource: {product: aws, service: cloudtrail}
detection:
    sel: {eventName: StartInstances}
    condition: sel
---
title: stop then start
name: stopstart
correlation:
    type: temporal_ordered
    rules: [stop, start]
    group-by: [instance]
    timespan: 10m
    aliases:
        instance:
            stop: requestParameters.instancesSet.items.instanceId
            start: responseElements.instancesSet.items.instanceId
`

func load(t *testing.T, src string) *Ruleset {
	t.Helper()
	rs := NewRuleset(nil)
	rs.AddFile("test.yml", []byte(src))
	rs.Resolve()
	for _, p := range rs.Problems {
		t.Fatalf("problem: %s", p)
	}
	return rs
}

// hits runs events through the rules, in the order given, and returns the
// hits as "rule:group" strings.
func hits(t *testing.T, rs *Ruleset, lateness time.Duration, evs ...*event.Event) (out []string, late int) {
	t.Helper()
	r := NewRunner(rs, RunOptions{Lateness: lateness,
		OnHit: func(h *Hit) {
			var g []string
			for _, v := range h.Group {
				g = append(g, v.Value)
			}
			out = append(out, h.Rule.Ref()+":"+strings.Join(g, ","))
		},
		OnLate: func(*event.Event) { late++ }})
	for _, ev := range evs {
		r.Process(ev)
	}
	r.Flush()
	return out, late
}

func inst(path, id string) string { return path + `={"items":[{"instanceId":"` + id + `"}]}` }

func stopEv(min float64, id string) *event.Event {
	return rec(min, "StopInstances", inst("requestParameters.instancesSet", id))
}
func startEv(min float64, id string) *event.Event {
	return rec(min, "StartInstances", inst("responseElements.instancesSet", id))
}

func TestTemporalOrdered(t *testing.T) {
	rs := load(t, stopStart)
	cases := []struct {
		name string
		evs  []*event.Event
		want string
	}{
		{"in order, alias binds request to response", []*event.Event{stopEv(0, "i-1"), startEv(5, "i-1")}, "stopstart:i-1"},
		{"arrival out of order, event time in order", []*event.Event{startEv(5, "i-1"), stopEv(0, "i-1")}, "stopstart:i-1"},
		{"wrong order", []*event.Event{startEv(0, "i-1"), stopEv(5, "i-1")}, ""},
		{"group-by isolation: another instance", []*event.Event{stopEv(0, "i-1"), startEv(5, "i-2")}, ""},
		{"group-by isolation: two instances, each completes", []*event.Event{stopEv(0, "i-1"), stopEv(1, "i-2"), startEv(2, "i-2"), startEv(3, "i-1")}, "stopstart:i-2 stopstart:i-1"},
		{"timespan edge: exactly 10m is inside", []*event.Event{stopEv(0, "i-1"), startEv(10, "i-1")}, "stopstart:i-1"},
		{"timespan edge: 10m and a second is outside", []*event.Event{stopEv(0, "i-1"), startEv(10+1.0/60, "i-1")}, ""},
		{"a later stop restarts the window", []*event.Event{stopEv(0, "i-1"), stopEv(8, "i-1"), startEv(15, "i-1")}, "stopstart:i-1"},
		{"equal times: stop before start whatever the arrival", []*event.Event{startEv(1, "i-1"), stopEv(1, "i-1")}, "stopstart:i-1"},
		{"fires once per sequence", []*event.Event{stopEv(0, "i-1"), startEv(1, "i-1"), startEv(2, "i-1")}, "stopstart:i-1"},
		{"other accounts never join", []*event.Event{stopEv(0, "i-1"), rec(1, "StartInstances", inst("responseElements.instancesSet", "i-1"), "recipientAccountId=444455556666")}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, _ := hits(t, rs, time.Hour, c.evs...)
			if strings.Join(got, " ") != c.want {
				t.Errorf("got %q, want %q", strings.Join(got, " "), c.want)
			}
		})
	}
}

func TestLateEvents(t *testing.T) {
	rs := load(t, stopStart)
	// Lateness 5m: the stop arrives after events 30 minutes newer, past
	// the watermark: it is reported late and replayed in its place.
	got, late := hits(t, rs, 5*time.Minute, startEv(3, "i-1"), rec(30, "DescribeInstances"), stopEv(0, "i-1"))
	if strings.Join(got, " ") != "stopstart:i-1" || late != 1 {
		t.Errorf("late stop: hits %v, late %d; want the sequence and 1", got, late)
	}
	// A re-delivery after that changes nothing.
	got, _ = hits(t, rs, 5*time.Minute, startEv(3, "i-1"), rec(30, "DescribeInstances"), stopEv(0, "i-1"), stopEv(0, "i-1"), startEv(3, "i-1"))
	if strings.Join(got, " ") != "stopstart:i-1" {
		t.Errorf("re-delivered: hits %v", got)
	}
	// Within the lateness it takes its place in order.
	got, late = hits(t, rs, 5*time.Minute, startEv(3, "i-1"), stopEv(0, "i-1"))
	if strings.Join(got, " ") != "stopstart:i-1" || late != 0 {
		t.Errorf("on-time stop: hits %v, late %d", got, late)
	}
}

func TestCountAndTemporal(t *testing.T) {
	rules := stopStart + `
---
title: many stops
name: manystops
correlation:
    type: event_count
    rules: [stop]
    group-by: [userIdentity.arn]
    timespan: 5m
    condition: {gte: 3}
---
title: stops of many instances
name: manyinstances
correlation:
    type: value_count
    rules: [stop]
    group-by: [userIdentity.arn]
    timespan: 5m
    condition: {field: requestParameters.instancesSet.items.instanceId, gte: 2}
---
title: stop and start in any order
name: anyorder
correlation:
    type: temporal
    rules: [stop, start]
    group-by: [userIdentity.arn]
    timespan: 5m
---
title: few stops
name: fewstops
correlation:
    type: event_count
    rules: [stop]
    group-by: [userIdentity.arn]
    timespan: 5m
    condition: {lt: 2}
`
	rs := load(t, rules)
	count := func(got []string, rule string) int {
		n := 0
		for _, g := range got {
			if strings.HasPrefix(g, rule+":") {
				n++
			}
		}
		return n
	}
	got, _ := hits(t, rs, time.Hour, stopEv(0, "i-1"), stopEv(1, "i-1"), stopEv(2, "i-1"))
	if count(got, "manystops") != 1 || count(got, "manyinstances") != 0 || count(got, "fewstops") != 0 {
		t.Errorf("three stops of one instance: %v", got)
	}
	got, _ = hits(t, rs, time.Hour, stopEv(0, "i-1"), stopEv(3, "i-1"), stopEv(6, "i-1"))
	if count(got, "manystops") != 0 {
		t.Errorf("three stops spread over 6m counted in a 5m window: %v", got)
	}
	got, _ = hits(t, rs, time.Hour, stopEv(0, "i-1"), stopEv(1, "i-2"))
	if count(got, "manyinstances") != 1 {
		t.Errorf("two instances: %v", got)
	}
	got, _ = hits(t, rs, time.Hour, startEv(0, "i-1"), stopEv(1, "i-9"))
	if count(got, "anyorder") != 1 || count(got, "stopstart") != 0 {
		t.Errorf("temporal in any order: %v", got)
	}
	got, _ = hits(t, rs, time.Hour, stopEv(0, "i-1"), stopEv(20, "i-1"), stopEv(21, "i-1"))
	if count(got, "fewstops") != 1 {
		t.Errorf("lt 2: one window of one stop, one of two: %v", got)
	}
}

func TestChainedCorrelationAndGenerate(t *testing.T) {
	rules := stopStart + `
---
title: volume attached
name: attach
logsource: {product: aws, service: cloudtrail}
detection:
    sel: {eventName: AttachVolume}
    condition: sel
---
title: stop, start, then attach to the instance
name: chain
correlation:
    type: temporal_ordered
    rules: [stopstart, attach]
    group-by: [instance]
    timespan: 1h
    generate: true
    aliases:
        instance:
            stopstart: instance
            attach: requestParameters.instanceId
`
	rs := load(t, rules)
	got, _ := hits(t, rs, time.Hour, stopEv(0, "i-1"), startEv(1, "i-1"), rec(2, "AttachVolume", "requestParameters.instanceId=i-1"))
	// chain says generate: the rules it refers to (stopstart, attach) are
	// reported on their own too, in event-time order; stop and start,
	// referred to by stopstart only, are not.
	if strings.Join(got, " ") != "stopstart:i-1 attach: chain:i-1" {
		t.Errorf("got %v", got)
	}
}

func TestFilter(t *testing.T) {
	rules := `
title: stop
id: 5b0e3d6e-0a52-4c8e-9a55-1f6b8a1d0c01
logsource: {product: aws, service: cloudtrail}
detection:
    sel: {eventName: StopInstances}
    condition: sel
---
title: scheduler is fine
logsource: {product: aws, service: cloudtrail}
filter:
    rules: [5b0e3d6e-0a52-4c8e-9a55-1f6b8a1d0c01]
    selection:
        userIdentity.arn|endswith: ':role/instance-scheduler'
    condition: selection
`
	rs := load(t, rules)
	got, _ := hits(t, rs, time.Hour,
		rec(0, "StopInstances"),
		rec(1, "StopInstances", "userIdentity.arn=arn:aws:sts::1:role/instance-scheduler"))
	if len(got) != 1 {
		t.Errorf("filter: got %v, want the first stop only", got)
	}
}
