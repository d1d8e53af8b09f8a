package explain

import (
	"context"
	"reflect"
	"testing"

	"github.com/revertwatch/revertwatch/emulate"
	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/ingest"
)

// A packed call reads back as the entry its event makes, with its
// record's original id and resource, for every call of every shape.
func TestPackRoundTrip(t *testing.T) {
	c := newMemCorpus(t, emulate.Options{Seed: 3, Noise: 300})
	p := newPack()
	var f packedFile
	type call struct {
		e                    *Entry
		original, resourceID string
	}
	var want []call
	if _, err := ingest.Read(context.Background(), c.names, c.opt, ingest.Handlers{Event: func(ev *event.Event) error {
		if !p.add(&f, ev) {
			t.Fatal("the pack is full")
		}
		if !ev.Time.IsZero() {
			want = append(want, call{newEntry(ev), ev.OriginalUID, ev.ResourceID})
		}
		return nil
	}}); err != nil {
		t.Fatal(err)
	}
	p.done(&f)
	i := 0
	err := p.each(&f, func(e *Entry, original, resourceID string) {
		if i >= len(want) {
			t.Fatalf("call %d: more calls than packed", i)
		}
		got := e.kept()
		w := want[i]
		if !reflect.DeepEqual(got, w.e) || original != w.original || resourceID != w.resourceID {
			t.Fatalf("call %d:\n got %+v %q %q\nwant %+v %q %q", i, got, original, resourceID, w.e, w.original, w.resourceID)
		}
		i++
	})
	if err != nil || i != len(want) {
		t.Fatalf("%d of %d calls read back: %v", i, len(want), err)
	}
	if f.events != len(want) || len(want) < 1000 {
		t.Errorf("%d events packed, %d with a time", f.events, len(want))
	}
	t.Logf("%d calls in %d bytes, %d strings", len(want), len(f.buf), len(p.strs))
}

// Past its budget a pack speaks for no file any more: those are read
// again, to the same bundles.
func TestPackBudget(t *testing.T) {
	c := newMemCorpus(t, emulate.Options{Seed: 7, Noise: 800})
	full := func() (string, BuildStats) {
		fs, col := c.collect(t)
		ropt := c.opt
		got, st, err := Build(context.Background(), fs, col.links, col.facts, c.names, ropt, Options{})
		if err != nil {
			t.Fatal(err)
		}
		return render(t, FormatJSON, got), st
	}
	want, st := full()
	if st.Packed == 0 {
		t.Fatal("no file packed")
	}
	defer func(n int) { maxPack = n }(maxPack)
	maxPack = 4 << 10
	got, small := full()
	if got != want {
		t.Error("bundles differ once the pack is full")
	}
	if small.Packed >= st.Packed {
		t.Errorf("%d files packed under a 4 KiB budget, %d without", small.Packed, st.Packed)
	}
	t.Logf("packed %d files, %d under 4 KiB", st.Packed, small.Packed)
}

// FuzzPackEach: a pack's bytes damaged in any way give an error or calls,
// never a panic or a read past them.
func FuzzPackEach(f *testing.F) {
	p := newPack()
	var pf packedFile
	ev := &event.Event{UID: "u", OriginalUID: "o", Provider: event.Azure, Operation: "microsoft.compute/disks/write",
		CorrelationUID: "c", ResourceID: "/subscriptions/s/disks/d", Resources: []event.Resource{{UID: "/subscriptions/s/disks/d", Type: "disk", Role: "created"}}}
	ev.Time = ev.Time.AddDate(2026, 0, 0)
	p.add(&pf, ev)
	p.done(&pf)
	f.Add(pf.buf)
	f.Add(pf.buf[:len(pf.buf)/2])
	f.Add([]byte{0, 2, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		q := packedFile{buf: b}
		_ = p.each(&q, func(e *Entry, original, resourceID string) {
			if e == nil || len(e.Resources) > len(b) {
				t.Fatalf("entry %+v from %d bytes", e, len(b))
			}
		})
	})
}
