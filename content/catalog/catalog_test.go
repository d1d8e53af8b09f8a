package catalog_test

import (
	"strings"
	"testing"

	"github.com/revertwatch/revertwatch/content"
	"github.com/revertwatch/revertwatch/content/catalog"
	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/sequence"
)

// Every key is a field the rules can name, by the same name.
func TestKeysAreRuleFields(t *testing.T) {
	keys := append(append([]catalog.Key(nil), catalog.EventKeys...), catalog.Caller, catalog.ResourceID)
	for _, k := range keys {
		if f, err := sequence.ParseField(string(k)); err != nil || f.String() != string(k) {
			t.Errorf("key %q is not a sequence field: %v", k, err)
		}
	}
}

// Every path is well formed: non-empty segments, a list marked only at
// the end of a segment, a record path only for Azure.
func TestPathsWellFormed(t *testing.T) {
	for _, prov := range []string{event.AWS, event.Azure, event.GCP} {
		for _, o := range catalog.Ops(prov) {
			if prov == event.AWS && o.Source == "" {
				t.Errorf("%s has no eventSource", o.Name)
			}
			for _, fl := range o.Fields {
				if len(fl.Paths) == 0 {
					t.Errorf("%s %s: no path", o.Name, fl.Key)
				}
				for _, p := range append(append([]catalog.Path(nil), fl.Paths...), fl.Also...) {
					for _, seg := range strings.Split(p.Path, ".") {
						if s := strings.TrimSuffix(seg, "[]"); s == "" || strings.ContainsAny(s, "[]") {
							t.Errorf("%s %s: bad path %q", o.Name, fl.Key, p.Path)
						}
					}
					if prov == event.AWS && p.Body == catalog.Record {
						t.Errorf("%s %s: a CloudTrail key lives in the request or the response, not at the top", o.Name, fl.Key)
					}
				}
			}
		}
	}
}

// Every operation of a revert rule has its own entry in the catalog, with
// every key the rule requires of it and, for an optional key or a
// condition, the key on at least one of the step's operations: the
// exports read their paths from it.
func TestRulesCovered(t *testing.T) {
	check := func(rule, provider string, ops []string, f sequence.Field, all bool) {
		have := 0
		for _, op := range ops {
			o, listed := catalog.Lookup(provider, op)
			if !listed {
				t.Errorf("%s: %s %s has no catalog entry", rule, provider, op)
				continue
			}
			if _, ok := o.Field(catalog.Key(f.String())); ok {
				have++
			} else if all {
				t.Errorf("%s: the catalog has no %s for %s", rule, f, op)
			}
		}
		if have == 0 {
			t.Errorf("%s: no operation of %v has %s in the catalog", rule, ops, f)
		}
	}
	for _, d := range content.Reverts() {
		for _, st := range d.Rule.Steps {
			for _, c := range st.Where {
				check(d.ID(), st.Provider, st.Operations, c.Field, false)
			}
			for _, b := range st.Bind {
				check(d.ID(), st.Provider, st.Operations, b.Field, !b.Optional)
			}
		}
		for _, c := range d.Rule.Context {
			check(d.ID(), c.Provider, c.Operations, c.Field, true)
		}
		for _, a := range d.Rule.Adjust {
			for _, st := range d.Rule.Steps {
				if st.Name != a.Step {
					continue
				}
				for _, c := range a.Where {
					check(d.ID(), st.Provider, st.Operations, c.Field, false)
				}
			}
		}
	}
}

func TestDeletesAndShares(t *testing.T) {
	for _, c := range []struct {
		provider, op    string
		deletes, shares bool
	}{
		{event.AWS, "DeleteVolume", true, false},
		{event.AWS, "DeleteDBClusterSnapshot", true, false},
		{event.AWS, "CreateVolume", false, false},
		{event.AWS, "ModifySnapshotAttribute", false, true},
		{event.Azure, "Microsoft.Compute/disks/delete", true, false},
		{event.Azure, "microsoft.compute/snapshots/beginGetAccess/action", false, true},
		{event.Azure, "microsoft.compute/disks/write", false, false},
	} {
		if got := catalog.Deletes(c.provider, c.op); got != c.deletes {
			t.Errorf("Deletes(%s, %s) = %v", c.provider, c.op, got)
		}
		if got := catalog.Shares(c.provider, c.op); got != c.shares {
			t.Errorf("Shares(%s, %s) = %v", c.provider, c.op, got)
		}
	}
}

// An Azure operation deletes or shares whatever the case it is spelt in,
// as its lower-cased spelling says.
func TestAzureDeletesSharesAnyCase(t *testing.T) {
	for _, op := range []string{"", "/delete", "Microsoft.Compute/disks/DELETE", "microsoft.compute/disks/delete",
		"x/delet", "DELETE", "a/Delete\u212a", "\u0130/delete", "x/begingetaccess/action", "X/BeginGetAccess/Action"} {
		lower := strings.ToLower(op)
		if got, want := catalog.Deletes(event.Azure, op), strings.HasSuffix(lower, "/delete"); got != want {
			t.Errorf("Deletes(%q) = %v, want %v", op, got, want)
		}
		if got, want := catalog.Shares(event.Azure, op), strings.HasSuffix(lower, "/begingetaccess/action"); got != want {
			t.Errorf("Shares(%q) = %v, want %v", op, got, want)
		}
	}
}
