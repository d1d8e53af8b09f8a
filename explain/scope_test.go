package explain

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/revertwatch/revertwatch/content"
	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/finding"
	"github.com/revertwatch/revertwatch/ingest"
)

func TestMatcher(t *testing.T) {
	m := newMatcher()
	for _, s := range []string{"vol-0abc1234def567890", "/subscriptions/s1/resourcegroups/rg/providers/microsoft.compute/disks/web-01-os", "3f2a1b0c-1d2e-4f30-8a4b-5c6d7e8f9a0b"} {
		m.add(s)
	}
	for _, tc := range []struct {
		raw     string
		unicode bool
		want    bool
	}{
		{`{"volumeId":"vol-0abc1234def567890"}`, false, true},
		{`{"volumeId":"VOL-0ABC1234DEF567890"}`, false, true}, // a superset: AWS ids compare exactly after decoding
		{`{"arn":"arn:aws:backup:us-east-1:1:recovery-point:x/vol-0abc1234def567890"}`, false, true},
		{`{"volumeId":"vol-0abc1234def5678901"}`, false, false}, // a longer id
		{`{"volumeId":"vol-0abc1234def56789"}`, false, false},   // a shorter one
		{`{"volumeId":"xvol-0abc1234def567890"}`, false, false},
		{`{"resourceId":"/SUBSCRIPTIONS/S1/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.COMPUTE/DISKS/WEB-01-OS"}`, true, true},
		{`{"resourceId":"/subscriptions/s1/resourcegroups/rg/providers/microsoft.compute/disks/web-01-os-2"}`, true, true}, // a superset: the '-' ends a run
		{`{"resourceId":"/subscriptions/s2/resourcegroups/rg/providers/microsoft.compute/disks/web-01-os"}`, true, false},
		{`{"claims":"{\"oid\":\"3F2A1B0C-1D2E-4F30-8A4B-5C6D7E8F9A0B\"}"}`, true, true},
		{`{"resourceId":"\/subscriptions\/s1\/resourcegroups\/rg"}`, true, true}, // escaped: may be
		{`{"volumeId":"vol-\u0030abc"}`, false, true},
		{`{"name":"café"}`, true, true}, // Azure ids lower-case as Unicode: may be
		{`{"name":"café"}`, false, false},
		{`{"eventName":"DescribeInstances","requestParameters":{"instanceId":"i-1"}}`, false, false},
	} {
		if got := m.find([]byte(tc.raw), tc.unicode); got != tc.want {
			t.Errorf("find(%s, unicode=%v) = %v, want %v", tc.raw, tc.unicode, got, tc.want)
		}
	}
	if m := newMatcher(); m.find([]byte(`{"a":"b"}`), true) {
		t.Error("an empty matcher found something")
	}
	q := newMatcher()
	q.add(`odd"id`) // JSON escapes the quote: every record may hold it
	if !q.find([]byte(`{}`), false) {
		t.Error("a needle JSON escapes is not a maybe everywhere")
	}
}

func TestRequestStart(t *testing.T) {
	s := &Scope{keys: map[rkey]bool{{event.AWS, "1/r", "vol-0abc1234def567890"}: true}, principals: map[string]*reach{}, found: map[string]bool{}, times: map[int64]bool{}}
	s.compile()
	for _, tc := range []struct {
		raw  string
		want bool
	}{
		{`{"userIdentity":{"arn":"vol-0abc1234def567890"},"requestParameters":{"x":1}}`, false}, // before the parameters: not a resource
		{`{"requestParameters":{"volumeId":"vol-0abc1234def567890"},"responseElements":null}`, true},
		{`{"responseElements":{"volumeId":"vol-0abc1234def567890"},"userAgent":"x","requestParameters":{}}`, true},
		{`{"request\u0050arameters":{"volumeId":"vol-0abc1234def567890"}}`, true},
		{`{"userAgent":"requestParameters","requestParameters":{"volumeId":"vol-0abc1234def567890"}}`, true},
	} {
		ev := &event.Event{Provider: event.AWS, Raw: []byte(tc.raw)}
		if got := s.maybe(ev); got != tc.want {
			t.Errorf("maybe(%s) = %v, want %v", tc.raw, got, tc.want)
		}
	}
}

func TestReach(t *testing.T) {
	at := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	r := &reach{}
	r.add(span{at, at.Add(2 * time.Hour)})
	r.add(span{at.Add(10 * time.Hour), at.Add(12 * time.Hour)})
	r.add(span{at.Add(time.Hour), at.Add(3 * time.Hour)}) // overlaps the first
	if len(r.spans) != 2 || !r.spans[0].to.Equal(at.Add(3*time.Hour)) {
		t.Fatalf("spans %+v", r.spans)
	}
	for _, tc := range []struct {
		from, to time.Duration
		want     bool
	}{
		{0, 3 * time.Hour, true}, {time.Hour, 2 * time.Hour, true}, {2 * time.Hour, 11 * time.Hour, false},
		{10 * time.Hour, 12 * time.Hour, true}, {-time.Minute, time.Hour, false}, {5 * time.Hour, 4 * time.Hour, true},
	} {
		if got := r.covers(at.Add(tc.from), at.Add(tc.to)); got != tc.want {
			t.Errorf("covers(%v, %v) = %v", tc.from, tc.to, got)
		}
	}
	if !r.full(at.Add(-30*time.Minute)) || r.full(at.Add(-2*time.Hour)) || !r.shown(at) || r.shown(at.Add(-time.Minute)) {
		t.Error("reach padding")
	}
	if (*reach)(nil).covers(at, at) {
		t.Error("nil reach covers")
	}
}

// records is a corpus written by hand, one file per shape.
type records struct {
	files map[string][]string
}

func (r *records) add(file string, rec any) {
	b, err := json.Marshal(rec)
	if err != nil {
		panic(err)
	}
	if r.files == nil {
		r.files = map[string][]string{}
	}
	r.files[file] = append(r.files[file], string(b))
}

func (r *records) corpus() *memCorpus {
	c := &memCorpus{}
	data := map[string][]byte{}
	for name, lines := range r.files {
		c.names = append(c.names, name)
		data[name] = []byte(strings.Join(lines, "\n") + "\n")
	}
	sortStrings(c.names)
	c.opt = ingest.Options{Jobs: 1, Open: func(name string) (io.ReadCloser, error) {
		b, ok := data[name]
		if !ok {
			return nil, fmt.Errorf("%s: %w", name, os.ErrNotExist)
		}
		return io.NopCloser(bytes.NewReader(b)), nil
	}}
	return c
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

const (
	actorARN = "arn:aws:iam::111122223333:user/alice"
	otherARN = "arn:aws:iam::111122223333:user/bob"
)

func ctRecord(id, name, arn string, at time.Time, req map[string]any, extra map[string]any) map[string]any {
	r := map[string]any{
		"eventVersion": "1.11", "eventID": id, "eventName": name, "eventSource": "ec2.amazonaws.com",
		"eventTime": at.UTC().Format(time.RFC3339), "awsRegion": "us-east-1", "recipientAccountId": "111122223333",
		"sourceIPAddress": "198.51.100.7", "userAgent": "aws-cli/2",
		"userIdentity":      map[string]any{"type": "IAMUser", "arn": arn, "accountId": "111122223333", "userName": arn[strings.LastIndexByte(arn, '/')+1:]},
		"requestParameters": req, "responseElements": nil,
	}
	for k, v := range extra {
		r[k] = v
	}
	return r
}

func azRecord(corr, op, status, oid, resource string, at time.Time, body map[string]any) map[string]any {
	props := map[string]any{}
	if body != nil {
		b, _ := json.Marshal(body)
		props["requestbody"] = string(b)
	}
	return map[string]any{
		"time": at.UTC().Format("2006-01-02T15:04:05.0000000Z"), "resourceId": resource, "operationName": op,
		"category": "Administrative", "resultType": status, "callerIpAddress": "203.0.113.9", "correlationId": corr,
		"identity":   map[string]any{"claims": map[string]any{"http://schemas.microsoft.com/identity/claims/objectidentifier": oid}},
		"properties": props,
	}
}

// The cases Build cannot foresee read the logs again and still give the
// bundles of a full index: a re-delivery whose original is outside the
// scope, and an Azure operation whose records straddle the actor's reach.
func TestBuildRereads(t *testing.T) {
	at := time.Date(2026, 11, 2, 12, 0, 0, 0, time.UTC)
	const vol, oldVol, inst = "vol-0aaaaaaaaaaaaaaa1", "vol-0bbbbbbbbbbbbbbb2", "i-0ccccccccccccccc3"
	var r records
	// The finding: the actor stops the instance, detaches the old root,
	// attaches a restored volume, starts it.
	steps := []map[string]any{
		ctRecord("s1", "StopInstances", actorARN, at, map[string]any{"instancesSet": map[string]any{"items": []any{map[string]any{"instanceId": inst}}}}, nil),
		ctRecord("s2", "DetachVolume", actorARN, at.Add(time.Minute), map[string]any{"volumeId": oldVol, "instanceId": inst, "device": "/dev/xvda"}, nil),
		ctRecord("s3", "AttachVolume", actorARN, at.Add(2*time.Minute), map[string]any{"volumeId": vol, "instanceId": inst, "device": "/dev/xvda"}, nil),
		ctRecord("s4", "StartInstances", actorARN, at.Add(3*time.Minute), map[string]any{"instancesSet": map[string]any{"items": []any{map[string]any{"instanceId": inst}}}}, nil),
	}
	for _, s := range steps {
		r.add("ct/1.json", s)
	}
	// Bob's call, first without the volume, then re-delivered with it.
	r.add("ct/2.json", ctRecord("a1", "CreateTags", otherARN, at.Add(time.Hour), map[string]any{"resourcesSet": "x"}, nil))
	r.add("ct/3.json", ctRecord("b1", "CreateTags", otherARN, at.Add(time.Hour), map[string]any{"volumeId": vol},
		map[string]any{"addendum": map[string]any{"reason": "UPDATED_DATA", "originalEventID": "a1"}}))
	// Noise.
	for i := range 50 {
		r.add("ct/4.json", ctRecord(fmt.Sprintf("n%d", i), "DescribeInstances", otherARN, at.Add(time.Duration(i)*time.Minute), map[string]any{}, nil))
	}

	f := finding.Finding{ID: "rw-test-aws", RuleID: content.RuleVolumeFromSnapshot, Provider: event.AWS, Account: "111122223333", Region: "us-east-1",
		Actor: finding.Actor{UID: actorARN}, FirstSeen: at, LastSeen: at.Add(3 * time.Minute),
		Resources: []event.Resource{{UID: inst, Type: string(event.KindInstance), Role: event.RoleAttachedTo}, {UID: vol, Type: string(event.KindVolume), Role: event.RoleTarget}}}
	for i, s := range steps {
		f.Evidence = append(f.Evidence, finding.Evidence{Step: fmt.Sprint("step", i), UID: s["eventID"].(string), Time: at.Add(time.Duration(i) * time.Minute)})
	}

	// An Azure disk write of another actor: its request (with the source
	// snapshot) two hours before the window, its outcome in it.
	const oid = "3f2a1b0c-1d2e-4f30-8a4b-5c6d7e8f9a0b"
	disk := "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/disks/restored"
	snap := "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/snapshots/snap1"
	vm := "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1"
	w := time.Hour // the bundle's window
	r.add("az/1.json", azRecord("c1", "MICROSOFT.COMPUTE/DISKS/WRITE", "Start", oid, disk, at.Add(-w-2*time.Hour),
		map[string]any{"properties": map[string]any{"creationData": map[string]any{"createOption": "Copy", "sourceResourceId": snap}}}))
	r.add("az/1.json", azRecord("c1", "MICROSOFT.COMPUTE/DISKS/WRITE", "Success", oid, disk, at.Add(-w+10*time.Minute), nil))
	r.add("az/1.json", azRecord("c2", "MICROSOFT.COMPUTE/VIRTUALMACHINES/DEALLOCATE/ACTION", "Success", oid, vm, at, nil))
	g := finding.Finding{ID: "rw-test-azure", RuleID: content.RuleAzureReimage, Provider: event.Azure, Account: "s1",
		Actor: finding.Actor{UID: oid}, FirstSeen: at, LastSeen: at,
		Resources: []event.Resource{{UID: vm, Type: string(event.KindVM), Role: event.RoleTarget}}}

	c := r.corpus()
	fs := []finding.Finding{f, g}
	opt := Options{Window: w}
	x := c.full(t)
	want := make([]*Bundle, 0, len(fs))
	for _, f := range fs {
		want = append(want, x.Explain(f, opt))
	}
	_, col := c.collect(t)
	got, st, err := Build(context.Background(), fs, col.links, col.facts, c.names, c.opt, opt)
	if err != nil {
		t.Fatal(err)
	}
	for i := range fs {
		if a, b := render(t, FormatJSON, want[i:i+1]), render(t, FormatJSON, got[i:i+1]); a != b {
			t.Errorf("%s: bundles differ\nfull index: %s\nbuild:      %s", fs[i].ID, a, b)
		}
	}
	if st.Reads != 2 {
		t.Errorf("%d reads, want 2 (the original and the straddling operation found in the first)", st.Reads)
	}
	// The cases are there: bob is no other principal (his call folds
	// into the original), the disk write is on the Azure timeline with
	// the snapshot its request named.
	if len(want[0].Others) != 0 {
		t.Errorf("others %+v: the re-delivery did not fold", want[0].Others)
	}
	if !strings.Contains(render(t, FormatJSON, want[1:]), "snapshots/snap1") {
		t.Error("the straddling disk write is not on the timeline with its request's snapshot")
	}
}

// find, eight bytes at a time, against the plain definition: a needle
// bounded by no letter or digit anywhere, ASCII case aside, or a byte
// that could hide one.
func TestMatcherAgainstDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "b", "c", "A", "B", "0", "1", "-", "/", ":", `"`, `\`, "u", "_", "é", "{", "}", ",", " "}
	word := func(n int) string {
		var b strings.Builder
		for range n {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		return b.String()
	}
	alnum := func(c byte) bool { return fold[c] != 0 }
	for round := range 3000 {
		var needles []string
		for range 1 + rng.IntN(3) {
			// Needles as ids are: ASCII, no quote or backslash.
			n := strings.NewReplacer(`"`, "", `\`, "", "é", "e").Replace(word(2 + rng.IntN(6)))
			if strings.IndexFunc(n, func(r rune) bool { return r < 0x80 && fold[byte(r)] != 0 }) >= 0 {
				needles = append(needles, n)
			}
		}
		raw := word(rng.IntN(40))
		if len(needles) > 0 && rng.IntN(2) == 0 {
			at := rng.IntN(len(raw) + 1)
			raw = raw[:at] + strings.ToUpper(needles[0]) + raw[at:]
		}
		unicode := rng.IntN(2) == 0
		m := newMatcher()
		for _, n := range needles {
			m.add(n)
		}
		want := len(needles) > 0 && (strings.Contains(raw, `\/`) || strings.Contains(raw, `\u`) || unicode && strings.IndexFunc(raw, func(r rune) bool { return r >= 0x80 }) >= 0)
		for _, n := range needles {
			for p := 0; !want && p+len(n) <= len(raw); p++ {
				want = strings.EqualFold(raw[p:p+len(n)], n) && (p == 0 || !alnum(raw[p-1])) && (p+len(n) == len(raw) || !alnum(raw[p+len(n)]))
			}
		}
		if got := m.find([]byte(raw), unicode); got != want {
			t.Fatalf("round %d: find(%q, unicode=%v) over %q = %v, want %v", round, raw, unicode, needles, got, want)
		}
	}
}
