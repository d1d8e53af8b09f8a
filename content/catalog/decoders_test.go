package catalog_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/revertwatch/revertwatch/content"
	"github.com/revertwatch/revertwatch/content/catalog"
	"github.com/revertwatch/revertwatch/emulate"
	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/ingest"
	"github.com/revertwatch/revertwatch/ingest/gcp"
	"github.com/revertwatch/revertwatch/sequence"
)

// corpus is the committed fixtures of every format and the emulated
// corpus in every shape, as in-memory files.
func corpus(t *testing.T) (map[string][]byte, []string) {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir("../../testdata/formats", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		files[path] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := emulate.Generate(emulate.Options{Seed: 7, Noise: 300})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range c.Files {
		files["emulated/"+f.Path] = f.Data
	}
	var names []string
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	return files, names
}

// decode reads the files with opt and returns the events by record.
func decode(t *testing.T, files map[string][]byte, names []string, opt ingest.Options) map[string]*event.Event {
	t.Helper()
	opt.Jobs = 1
	opt.Open = func(n string) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(files[n])), nil }
	out := map[string]*event.Event{}
	_, err := ingest.Read(context.Background(), names, opt, ingest.Handlers{Event: func(ev *event.Event) error {
		c := *ev // a partial event lives as long as the call
		c.Keys = cloneKeys(ev.Keys)
		c.Request = append(json.RawMessage(nil), ev.Request...)
		c.Response = append(json.RawMessage(nil), ev.Response...)
		out[fmt.Sprintf("%s#%d.%d.%d", ev.Source.Name, ev.Source.Offset, ev.Source.Index, ev.Source.Sub)] = &c
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func cloneKeys(k event.Keys) event.Keys {
	b, _ := json.Marshal(k)
	var c event.Keys
	_ = json.Unmarshal(b, &c)
	return c
}

// keyValues reads an event's keys by their catalog names, which are
// event.Keys' JSON names.
func keyValues(k event.Keys) map[catalog.Key][]string {
	b, _ := json.Marshal(k)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	out := map[catalog.Key][]string{}
	for name, v := range m {
		switch v := v.(type) {
		case string:
			out[catalog.Key(name)] = []string{v}
		case []any:
			for _, x := range v {
				out[catalog.Key(name)] = append(out[catalog.Key(name)], fmt.Sprint(x))
			}
		}
	}
	return out
}

// at returns the strings at a catalog path inside a JSON value; a "[]"
// segment is a list (or CloudTrail's {"items": [...]}) whose members are
// all read.
func at(v any, path string) []string {
	if v == nil {
		return nil
	}
	if path == "" {
		switch x := v.(type) {
		case string:
			return []string{x}
		case []any:
			var out []string
			for _, m := range x {
				out = append(out, at(m, "")...)
			}
			return out
		}
		return nil
	}
	seg, rest, _ := strings.Cut(path, ".")
	name, list := strings.CutSuffix(seg, "[]")
	obj, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	m := obj[name]
	if !list {
		return at(m, rest)
	}
	items, ok := m.([]any)
	if !ok {
		return nil
	}
	var out []string
	for _, it := range items {
		out = append(out, at(it, rest)...)
	}
	return out
}

// pathValues reads a catalog path on a decoded event: the bodies are the
// event's Request and Response (requestParameters and responseElements,
// or the Azure bodies), the record's resourceId is ResourceID.
func pathValues(ev *event.Event, p catalog.Path) []string {
	var body json.RawMessage
	switch p.Body {
	case catalog.Record:
		if (p.Path == "resourceId" || p.Path == "protoPayload.resourceName") && ev.ResourceID != "" {
			return []string{ev.ResourceID}
		}
		return nil
	case catalog.Request:
		body = ev.Request
	case catalog.Response:
		body = ev.Response
	}
	var v any
	if len(body) == 0 || json.Unmarshal(body, &v) != nil {
		return nil
	}
	return at(v, p.Path)
}

func has(list []string, s string, fold bool) bool {
	for _, x := range list {
		if x == s || fold && strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// The decoders (ingest/cloudtrail, ingest/azure) agree with the catalog
// on the committed fixtures and the emulated corpus: every key a decoder
// extracts for an operation is in the operation's catalog entry; the
// reverse, every value at a catalog path of an operation is a value the
// decoder extracted for that key; and every operation whose keys a rule
// reads has records that give each key at the catalog's own path (the
// one the exports read). What the data does not exercise is logged.
func TestDecodersMatchCatalog(t *testing.T) {
	files, names := corpus(t)
	evs := decode(t, files, names, ingest.Options{})
	type opKey struct {
		provider, op string
		key          catalog.Key
	}
	extracted := map[opKey]int{} // records of the op whose decoder gave the key
	atPath := map[opKey]int{}    // records with a value at the key's Paths
	seen := map[[2]string]int{}
	ids := make([]string, 0, len(evs))
	for id := range evs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	reported := map[string]bool{}
	report := func(format string, args ...any) {
		if msg := fmt.Sprintf(format, args...); !reported[msg] {
			reported[msg] = true
			t.Error(msg)
		}
	}
	for _, id := range ids {
		ev := evs[id]
		if ev.Operation == "" {
			continue
		}
		seen[[2]string{ev.Provider, ev.Operation}]++
		entry, _ := catalog.Lookup(ev.Provider, ev.Operation)
		got := keyValues(ev.Keys)
		for _, k := range catalog.EventKeys {
			vals := got[k]
			fl, listed := entry.Field(k)
			if len(vals) > 0 {
				extracted[opKey{ev.Provider, ev.Operation, k}]++
				if !listed {
					report("%s %s: the decoder extracts %s (%v, %s), which the catalog lacks", ev.Provider, ev.Operation, k, vals, id)
					continue
				}
			}
			if !listed || fl.Derived != "" {
				continue
			}
			for _, p := range append(append([]catalog.Path(nil), fl.Paths...), fl.Also...) {
				for _, v := range pathValues(ev, p) {
					if ev.Provider == event.GCP {
						// A URL or a partial URL names the resource
						// the key holds as a path from projects/.
						v = gcp.Canonical(ev.Account, v)
					}
					if v != "" && !has(vals, v, ev.Provider == event.Azure) {
						report("%s %s: %q at the catalog's %v is not a value of %s (%v, %s)", ev.Provider, ev.Operation, v, p, k, vals, id)
					}
				}
			}
			for _, p := range fl.Paths {
				if len(pathValues(ev, p)) > 0 {
					atPath[opKey{ev.Provider, ev.Operation, k}]++
					break
				}
			}
		}
	}
	// What the data leaves untested: an entry with no record, a key no
	// record carries (the value check above is the reverse check: a value
	// at a catalog path that the decoder did not extract fails there).
	for _, prov := range []string{event.AWS, event.Azure, event.GCP} {
		for _, o := range catalog.Ops(prov) {
			var ops []string
			for po := range seen {
				if po[0] == prov && (po[1] == o.Name || (strings.HasSuffix(o.Name, "/") || strings.HasSuffix(o.Name, ".")) && strings.HasPrefix(po[1], o.Name)) {
					ops = append(ops, po[1])
				}
			}
			if len(ops) == 0 {
				t.Logf("not covered: %s %s has no record in the fixtures or the emulation", prov, o.Name)
				continue
			}
			for _, fl := range o.Fields {
				n := 0
				for _, op := range ops {
					n += extracted[opKey{prov, op, fl.Key}]
				}
				if n == 0 {
					t.Logf("not covered: no record of %s %s carries %s", prov, o.Name, fl.Key)
				}
			}
		}
	}
	// Every operation whose keys a rule reads is in the data, and each
	// such key is found at the catalog's own path (the one the exports
	// read) in some record.
	for _, d := range content.Reverts() {
		for _, st := range d.Rule.Steps {
			var fields []sequence.Field
			optional := map[sequence.Field]bool{}
			for _, b := range st.Bind {
				fields = append(fields, b.Field)
				optional[b.Field] = b.Optional
			}
			for _, c := range st.Where {
				if c.Op != sequence.Absent {
					fields = append(fields, c.Field)
					optional[c.Field] = false
				}
			}
			for _, op := range st.Operations {
				if st.Provider == event.Azure {
					op = strings.ToLower(op)
				}
				for _, f := range fields {
					k := catalog.Key(f.String())
					fl, ok := mustLookup(st.Provider, op, k)
					if !ok || fl.Derived != "" || f == sequence.FieldCaller || f == sequence.FieldResourceID {
						continue
					}
					if seen[[2]string{st.Provider, op}] == 0 {
						report("%s: no record of %s %s in the fixtures or the emulation", d.ID(), st.Provider, op)
						continue
					}
					if optional[f] && extracted[opKey{st.Provider, op, k}] == 0 {
						continue // an optional key the data never carries
					}
					if atPath[opKey{st.Provider, op, k}] == 0 {
						report("%s: no record of %s %s has %s at the catalog's path %v", d.ID(), st.Provider, op, k, fl.Paths)
					}
				}
			}
		}
	}
}

func mustLookup(provider, op string, k catalog.Key) (catalog.Field, bool) {
	o, _ := catalog.Lookup(provider, op)
	return o.Field(k)
}

// The partial decoder (ingest/lite.go), used for the operations no rule
// wants, extracts no key: an operation whose keys a rule reads is always
// decoded in full, with the same keys as without partial decoding.
func TestPartialDecoderMatchesCatalog(t *testing.T) {
	eng, err := sequence.New(content.RevertRules(), sequence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	files, names := corpus(t)
	full := decode(t, files, names, ingest.Options{})
	part := decode(t, files, names, ingest.Options{Want: eng.Uses})
	if len(full) != len(part) {
		t.Fatalf("%d events in full, %d with partial decoding", len(full), len(part))
	}
	partial := 0
	for id, p := range part {
		f := full[id]
		if f == nil {
			t.Errorf("%s: no such event in the full decode", id)
			continue
		}
		same := fmt.Sprint(keyValues(p.Keys)) == fmt.Sprint(keyValues(f.Keys))
		if same {
			continue
		}
		partial++
		if eng.Uses(p.Provider, p.Operation) {
			t.Errorf("%s %s (%s): a rule uses it, yet it was decoded partially, without %v", p.Provider, p.Operation, id, keyValues(f.Keys))
		}
		if len(keyValues(p.Keys)) > 0 {
			t.Errorf("%s %s (%s): the partial decoder extracted %v, the full one %v", p.Provider, p.Operation, id, keyValues(p.Keys), keyValues(f.Keys))
		}
	}
	if partial == 0 {
		t.Error("no event was decoded partially: the test no longer tests the partial decoder")
	}
}
