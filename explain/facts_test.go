package explain

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/finding"
	"github.com/revertwatch/revertwatch/ingest"
	"github.com/revertwatch/revertwatch/internal/jsonx"
)

// TestFactsNeeded checks what a file's facts let Build leave unread: a
// file is read again when it may hold a step, a call of an actor or a
// call naming a resource of the scope in the same account and region,
// whatever escapes spell it, and always when it holds another provider's
// records or records the facts did not see.
func TestFactsNeeded(t *testing.T) {
	const acct, region = "111122223333", "us-east-1"
	record := func(uid, caller, params string) *event.Event {
		raw := fmt.Sprintf(`{"eventVersion":"1.08","userIdentity":{"arn":%q},"eventTime":"2026-11-02T10:00:00Z","eventName":"DescribeVolumes","awsRegion":%q,"requestParameters":%s,"eventID":%q,"recipientAccountId":%q}`,
			caller, region, params, uid, acct)
		return &event.Event{Provider: event.AWS, Account: acct, Region: region, Time: time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC),
			Operation: "DescribeVolumes", Caller: caller, Raw: []byte(raw)}
	}
	scope := &Scope{
		keys:       map[rkey]bool{keyOf(event.AWS, acct, region, "vol-0abc1234def567890"): true},
		principals: map[string]*reach{"arn:aws:iam::111122223333:user/mallory": {}},
		uids:       map[string]bool{"5d2c9f7e-1b3a-4c5d-8e9f-0a1b2c3d4e5f": true},
		times:      map[int64]bool{}, found: map[string]bool{},
	}
	bob := "arn:aws:iam::111122223333:user/bob"
	for _, tc := range []struct {
		name   string
		events []*event.Event
		seen   int // events the read reported, when not len(events)
		want   bool
	}{
		{"nothing of the scope", []*event.Event{record("e1", bob, `{"volumeId":"vol-0fff"}`)}, 0, false},
		{"a resource in the request", []*event.Event{record("e1", bob, `{"volumeSet":{"items":[{"volumeId":"vol-0abc1234def567890"}]}}`)}, 0, true},
		{"a resource as an ARN's last part", []*event.Event{record("e1", bob, `{"resource":"arn:aws:ec2:us-east-1:111122223333:volume/vol-0abc1234def567890"}`)}, 0, true},
		{"a resource behind escapes", []*event.Event{record("e1", bob, `{"resource":"arn:aws:ec2:us-east-1:111122223333:volume\/vol\u002d0abc1234def567890"}`)}, 0, true},
		{"the id as a member's name only", []*event.Event{record("e1", bob, `{"vol-0abc1234def567890":1}`)}, 0, false},
		{"a step", []*event.Event{record("5d2c9f7e-1b3a-4c5d-8e9f-0a1b2c3d4e5f", bob, `{}`)}, 0, true},
		{"a step whose id comes before the request", []*event.Event{func() *event.Event {
			ev := record("e1", bob, `{}`)
			ev.Raw = []byte(`{"eventID":"5d2c9f7e-1b3a-4c5d-8e9f-0a1b2c3d4e5f","eventTime":"2026-11-02T10:00:00Z","requestParameters":{}}`)
			return ev
		}()}, 0, true},
		{"a step in a record without a request", []*event.Event{func() *event.Event {
			ev := record("e1", bob, `{}`)
			ev.Raw = []byte(`{"eventTime":"2026-11-02T10:00:00Z","eventID":"5d2c9f7e-1b3a-4c5d-8e9f-0a1b2c3d4e5f"}`)
			return ev
		}()}, 0, true},
		{"a resource id in the identity only", []*event.Event{record("e1", "arn:aws:sts::111122223333:assumed-role/r/vol-0abc1234def567890", `{}`)}, 0, false},
		{"a resource behind an escaped member name", []*event.Event{func() *event.Event {
			ev := record("e1", bob, `{}`)
			ev.Raw = []byte(`{"eventTime":"2026-11-02T10:00:00Z","eventID":"e1","\u0072esponseElements":{"volumeId":"vol-0abc1234def567890"}}`)
			return ev
		}()}, 0, true},
		{"an actor", []*event.Event{record("e1", "arn:aws:iam::111122223333:user/mallory", `{}`)}, 0, true},
		{"another account", func() []*event.Event {
			ev := record("e1", bob, `{"volumeId":"vol-0abc1234def567890"}`)
			ev.Account = "444455556666"
			return []*event.Event{ev}
		}(), 0, false},
		{"an Azure record", []*event.Event{{Provider: event.Azure, Time: time.Now(), Raw: []byte(`{}`)}}, 0, true},
		{"a record not seen", []*event.Event{record("e1", bob, `{}`)}, 2, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := NewFacts()
			for _, ev := range tc.events {
				ev.Source.Name = "f.json"
				f.observe(ev, ev.Caller)
			}
			seen := tc.seen
			if seen == 0 {
				seen = len(tc.events)
			}
			f.done("f.json", seen)
			if got := f.needed("f.json", scope); got != tc.want {
				t.Errorf("needed = %v, want %v", got, tc.want)
			}
			if !f.needed("other.json", scope) {
				t.Error("a file never seen was left unread")
			}
			// The decoding goroutines' observers (Collector.NewSelect)
			// read the members the partial decoder indexed instead,
			// where it indexes them.
			mf := NewFacts()
			o := &observer{facts: mf, seen: new(seenTokens)}
			for _, ev := range tc.events {
				ms, ok := jsonx.Members(ev.Raw, nil)
				if !ok {
					ms = nil // not a partial decode's: the raw bytes are read
				}
				o.observe(ev, ev.Caller, ms)
			}
			mf.done("f.json", seen)
			if got := mf.needed("f.json", scope); got != tc.want {
				t.Errorf("needed from the members = %v, want %v", got, tc.want)
			}
		})
	}
}

// FuzzEachToken checks eachToken against a plain split of the same bytes.
func FuzzEachToken(f *testing.F) {
	f.Add([]byte(`{"a":"arn:aws:ec2:r:1:volume/vol-1","b":[1,2],"c":"x"}`))
	f.Add([]byte(`"":/`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		var got []string
		eachToken(raw, func(tok []byte) { got = append(got, string(tok)) })
		var want []string
		start := 0
		for i := 0; i <= len(raw); i++ {
			if i < len(raw) && raw[i] != '"' && raw[i] != '/' && raw[i] != ':' {
				continue
			}
			if i > start && !structural[raw[start]] && !structural[raw[i-1]] &&
				!(i+1 < len(raw) && raw[i] == '"' && raw[i+1] == ':') {
				want = append(want, string(raw[start:i]))
			}
			start = i + 1
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("eachToken(%q) = %q, want %q", raw, got, want)
		}
	})
}

// TestFactsSharedCorpus builds the bundles of findings over the shared
// corpus of real exported logs (many small files of several shapes, some
// with escapes) with and without the first read's facts: the same
// bundles, whatever files the facts leave unread. The findings are made
// up, one per resource-bearing call, since the real samples hold few
// reverts.
func TestFactsSharedCorpus(t *testing.T) {
	root := filepath.Join("..", "..", "shared", "corpus")
	if _, err := os.Stat(root); err != nil {
		t.Skip("the shared corpus is not beside the repository (../shared/corpus): skipped")
	}
	inputs, err := ingest.Expand([]string{root})
	if err != nil {
		t.Fatal(err)
	}
	col := &Collector{links: NewLinks(), facts: NewFacts()}
	opt := ingest.Options{Jobs: 2, Want: col.Want(func(string, string) bool { return false }), NewSelect: col.NewSelect()}
	var fs []finding.Finding
	if _, err := ingest.Read(context.Background(), inputs, opt, ingest.Handlers{
		Event: func(ev *event.Event) error {
			col.Add(ev)
			if ev.Provider == event.AWS && len(ev.Resources) > 0 && len(fs) < 40 {
				fs = append(fs, finding.Finding{ID: fmt.Sprintf("rw-test-%d", len(fs)), RuleID: "test", Provider: ev.Provider,
					Account: ev.Account, Region: ev.Region, Actor: finding.Actor{UID: ev.Actor.UID, Caller: ev.Caller},
					FirstSeen: ev.Time, LastSeen: ev.Time, Resources: ev.Resources[:1],
					Evidence: []finding.Evidence{{UID: ev.UID, Time: ev.Time, Operation: ev.Operation}}})
			}
			return nil
		},
		File: col.File,
	}); err != nil {
		t.Fatal(err)
	}
	if len(fs) == 0 {
		t.Fatal("no CloudTrail call with a resource in the shared corpus")
	}
	ropt := ingest.Options{Jobs: 2}
	want, _, err := Build(context.Background(), fs, col.links, nil, inputs, ropt, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, st, err := Build(context.Background(), fs, col.links, col.facts, inputs, ropt, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if a, b := render(t, FormatJSON, want), render(t, FormatJSON, got); a != b {
		t.Fatal("the bundles differ with the facts")
	}
	t.Logf("%d findings over %d files: %d not read again", len(fs), len(inputs), st.Skipped)
}

// sortPrints sorts as slices.Sort does, in place, short lists and long.
func TestSortPrints(t *testing.T) {
	for _, n := range []int{0, 1, 100, 1 << 12, 300_000} {
		r := rand.New(rand.NewPCG(uint64(n), 1))
		a := make([]uint32, n)
		for i := range a {
			a[i] = r.Uint32()
			if i%7 == 0 && i > 0 {
				a[i] = a[i-1] // duplicates
			}
		}
		want := slices.Clone(a)
		slices.Sort(want)
		sortPrints(a)
		if !slices.Equal(a, want) {
			t.Errorf("%d prints: not sorted as slices.Sort sorts them", n)
		}
	}
}

// FuzzTokenHash: an id's last token (a string) hashes as the same token
// of a record (bytes) does, whatever its length.
func FuzzTokenHash(f *testing.F) {
	f.Add(uint64(1), "i-0123456789abcdef0")
	f.Add(uint64(0), "")
	f.Add(uint64(7), "snap-0a1b2c3d")
	f.Fuzz(func(t *testing.T, seed uint64, tok string) {
		if a, b := tokenHash(seed, tok), tokenHash(seed, []byte(tok)); a != b {
			t.Fatalf("%q: string %x, bytes %x", tok, a, b)
		}
	})
}
