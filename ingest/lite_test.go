package ingest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/valyala/fastjson"

	"github.com/revertwatch/revertwatch/emulate"
	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/ingest"
)

// TestWantPartialEvents checks Options.Want against the full decoder: on
// the emulated corpus in every shape, the repository's format samples and
// the shared real-world corpus, a run that wants nothing hands out the
// same records, diagnostics and stats as a run without Want, and each
// partial event carries exactly the full event's time, provider, account,
// region, operation, format and source.
func TestWantPartialEvents(t *testing.T) {
	// The partial decoder reads CloudTrail and Azure records; Google
	// Cloud entries are always decoded in full, so their shapes are left
	// out of the share of partial events this test expects.
	inputs := sampleInputs(t, emulate.Options{Seed: 5, Noise: 400,
		Shapes: append(append([]emulate.Shape(nil), emulate.AWSShapes...), emulate.AzureShapes...)})
	full := read(t, inputs, ingest.Options{Jobs: 2})
	var asked atomic.Int64
	lite := readCopies(t, inputs, ingest.Options{Jobs: 2, Want: func(provider, op string) bool {
		asked.Add(1)
		return op == "StopInstances" // one wanted operation: the rest may be partial
	}})
	if asked.Load() == 0 {
		t.Fatal("Want never asked")
	}
	if len(full.events) != len(lite.events) {
		t.Fatalf("%d events with Want, %d without", len(lite.events), len(full.events))
	}
	if !reflect.DeepEqual(full.diags, lite.diags) || !reflect.DeepEqual(full.files, lite.files) || full.sum != lite.sum {
		t.Fatalf("Want changed the diagnostics or stats:\n%+v\n%+v", lite.sum, full.sum)
	}
	partial := 0
	for i, f := range full.events {
		l := lite.events[i]
		if l.Raw != nil {
			if !reflect.DeepEqual(f, l) {
				t.Fatalf("%s:%d: a whole event differs with Want", f.Source.Name, f.Source.Line)
			}
			continue
		}
		partial++
		if l.Operation == "StopInstances" {
			t.Errorf("%s:%d: a wanted operation came partial", l.Source.Name, l.Source.Line)
		}
		want := event.Event{Provider: f.Provider, Format: f.Format, Time: f.Time, TimeField: f.TimeField, Account: f.Account,
			Region: f.Region, Operation: f.Operation, OperationName: f.OperationName, Source: f.Source}
		if !reflect.DeepEqual(*l, want) {
			t.Errorf("%s:%d: partial event\n%+v\nwant\n%+v", f.Source.Name, f.Source.Line, *l, want)
		}
	}
	if partial < len(full.events)/2 {
		t.Errorf("only %d of %d events partial", partial, len(full.events))
	}
	t.Logf("Want: %d events, %d partial", len(full.events), partial)

	// QueryFields: what the query engine reads is the same.
	q := readCopies(t, inputs, ingest.Options{Jobs: 2, QueryFields: true})
	if !reflect.DeepEqual(full.diags, q.diags) || !reflect.DeepEqual(full.files, q.files) || full.sum != q.sum {
		t.Fatalf("QueryFields changed the diagnostics or stats:\n%+v\n%+v", q.sum, full.sum)
	}
	partial = 0
	for i, f := range full.events {
		l := q.events[i]
		if l.Actor != (event.Actor{}) || l.UID != "" || f.UID == "" {
			continue // a whole event
		}
		partial++
		want := event.Event{Provider: f.Provider, Format: f.Format, Time: f.Time, TimeField: f.TimeField, Account: f.Account,
			Region: f.Region, Operation: f.Operation, OperationName: f.OperationName, Source: f.Source,
			Caller: f.Caller, Raw: f.Raw}
		if f.Provider == event.Azure {
			want.ResourceGroup = f.ResourceGroup
		}
		if !reflect.DeepEqual(*l, want) {
			t.Errorf("%s:%d: query event\n%+v\nwant\n%+v", f.Source.Name, f.Source.Line, *l, want)
		}
		for _, name := range event.AliasNames {
			a, aok := f.Alias(name)
			b, bok := l.Alias(name)
			if a != b || aok != bok {
				t.Errorf("%s:%d: alias %s = %q, want %q", f.Source.Name, f.Source.Line, name, b, a)
			}
		}
	}
	if partial < len(full.events)/2 {
		t.Errorf("QueryFields: only %d of %d events partial", partial, len(full.events))
	}
	t.Logf("QueryFields: %d events, %d partial", len(full.events), partial)
}

// sharedCorpus is the real-world sample corpus beside the repository, if
// there is one.
func sharedCorpus() string {
	if root := os.Getenv("REVERTWATCH_CORPUS"); root != "" {
		return root
	}
	c := filepath.Join("..", "..", "shared", "corpus")
	if fi, err := os.Stat(c); err == nil && fi.IsDir() {
		return c
	}
	return ""
}

// readCopies is read for partial events, which live only during the
// handler's call: it keeps copies.
func readCopies(t *testing.T, inputs []string, opt ingest.Options) run {
	t.Helper()
	var r run
	sum, err := ingest.Read(t.Context(), inputs, opt, ingest.Handlers{
		Event: func(ev *event.Event) error {
			cp := *ev
			if ev.Raw != nil {
				cp.Raw = append([]byte(nil), ev.Raw...)
			}
			r.events = append(r.events, &cp)
			return nil
		},
		Diag: func(d ingest.Diag) { r.diags = append(r.diags, d) },
		File: func(s ingest.FileStats) { r.files = append(r.files, s) },
	})
	if err != nil {
		t.Fatal(err)
	}
	r.sum = sum
	checkAccounting(t, r)
	return r
}

// TestWantBadInput checks that partial decoding reports bad input exactly
// as the full decoder does: emulated files, cut short, with bytes changed
// or inserted here and there, give the same diagnostics, stats and events
// (partial ones carrying the full ones' fields) with Want and QueryFields
// as without.
func TestWantBadInput(t *testing.T) {
	c, err := emulate.Generate(emulate.Options{Seed: 9, Noise: 150, Scenarios: []string{"aws-seed1-*", "azure-seed3-*"}})
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	var inputs []string
	for i, f := range c.Files {
		data := f.Data
		if bytes.HasSuffix([]byte(f.Path), []byte(".gz")) {
			zr, err := gzip.NewReader(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			if data, err = io.ReadAll(zr); err != nil {
				t.Fatal(err)
			}
		}
		for k, damage := range []func([]byte) []byte{
			func(b []byte) []byte { return b[:len(b)*2/3] },                           // cut short
			func(b []byte) []byte { return flip(b, len(b)/3, '}') },                   // a brace
			func(b []byte) []byte { return flip(b, len(b)/2, '"') },                   // a quote
			func(b []byte) []byte { return flip(b, len(b)/4, 0x01) },                  // a control character
			func(b []byte) []byte { return insert(b, len(b)/5, `,"x":01`) },           // a bad number
			func(b []byte) []byte { return insert(b, len(b)*3/5, "\n{\"a\":tru}\n") }, // a bad line
		} {
			name := fmt.Sprintf("%s#%d.%d", f.Path, i, k)
			files[name] = damage(append([]byte(nil), data...))
			if len(data) != len(f.Data) && k%2 == 0 {
				files[name] = gzipped(files[name]) // through the gzip read-ahead
			}
			inputs = append(inputs, name)
		}
		if len(data) != len(f.Data) {
			name := fmt.Sprintf("%s#%d.cut", f.Path, i)
			files[name] = f.Data[:len(f.Data)*3/5] // a gzip stream cut short
			inputs = append(inputs, name)
		}
	}
	open := func(name string) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(files[name])), nil }
	full := readCopies(t, inputs, ingest.Options{Jobs: 2, Open: open})
	for _, opt := range []ingest.Options{
		{Jobs: 2, Open: open, Want: func(provider, op string) bool { return op == "StopInstances" }},
		{Jobs: 2, Open: open, QueryFields: true},
	} {
		got := readCopies(t, inputs, opt)
		if !reflect.DeepEqual(full.diags, got.diags) {
			for i := range min(len(full.diags), len(got.diags)) {
				if full.diags[i] != got.diags[i] {
					t.Fatalf("diagnostic %d:\n%v\nwant\n%v", i, got.diags[i], full.diags[i])
				}
			}
			t.Fatalf("%d diagnostics, want %d", len(got.diags), len(full.diags))
		}
		if !reflect.DeepEqual(full.files, got.files) || full.sum != got.sum {
			t.Fatalf("stats differ:\n%+v\nwant\n%+v", got.sum, full.sum)
		}
		for i, f := range full.events {
			g := got.events[i]
			if g.Time != f.Time || g.Operation != f.Operation || g.Account != f.Account || g.Source != f.Source {
				t.Fatalf("%s:%d: event differs", f.Source.Name, f.Source.Line)
			}
		}
	}
	if full.sum.Rejected == 0 || full.sum.FileErrors == 0 {
		t.Fatalf("the damage went unnoticed: %+v", full.sum)
	}
	t.Logf("%+v", full.sum)
}

func flip(b []byte, at int, c byte) []byte {
	if at < len(b) {
		b[at] = c
	}
	return b
}

func insert(b []byte, at int, s string) []byte {
	at = min(at, len(b))
	return append(b[:at:at], append([]byte(s), b[at:]...)...)
}

func gzipped(b []byte) []byte {
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	zw.Write(b)
	zw.Close()
	return out.Bytes()
}

// TestSelect checks Options.Select against the full decoder on the same
// inputs: events it drops are counted and not handed on, events it wants
// whole are exactly the full decoder's, and the partial ones it lets
// through carry their Raw and, from CloudTrail, their Caller, whatever
// Want says. Diagnostics and stats do not change.
func TestSelect(t *testing.T) {
	inputs := selectInputs(t)
	full := read(t, inputs, ingest.Options{Jobs: 2})
	var asked atomic.Int64
	sel := func(ev *event.Event) ingest.Selection {
		asked.Add(1)
		if len(ev.Raw) == 0 {
			t.Errorf("%s:%d: Select asked about an event without Raw", ev.Source.Name, ev.Source.Line)
		}
		switch {
		case ev.Source.Index%3 == 0:
			return ingest.SelectDrop
		case ev.Source.Index%3 == 1:
			return ingest.SelectWhole
		}
		return ingest.SelectPartial
	}
	var r run
	sum, err := ingest.Read(t.Context(), inputs, ingest.Options{Jobs: 2, Want: func(string, string) bool { return false }, Select: sel},
		ingest.Handlers{
			Event: func(ev *event.Event) error {
				cp := *ev
				cp.Raw = append([]byte(nil), ev.Raw...)
				r.events = append(r.events, &cp)
				return nil
			},
			Diag: func(d ingest.Diag) { r.diags = append(r.diags, d) },
			File: func(s ingest.FileStats) { r.files = append(r.files, s) },
		})
	if err != nil {
		t.Fatal(err)
	}
	if asked.Load() == 0 {
		t.Fatal("Select never asked")
	}
	if !reflect.DeepEqual(full.diags, r.diags) || !reflect.DeepEqual(full.files, r.files) || full.sum != sum {
		t.Fatalf("Select changed the diagnostics or stats:\n%+v\n%+v", sum, full.sum)
	}
	type at struct {
		name       string
		index, sub int
	}
	byPos := map[at]*event.Event{}
	for _, f := range full.events {
		byPos[at{f.Source.Name, f.Source.Index, f.Source.Sub}] = f
	}
	var whole, partial int
	for _, l := range r.events {
		f := byPos[at{l.Source.Name, l.Source.Index, l.Source.Sub}]
		if f == nil {
			t.Fatalf("%s:%d: an event the full decoder does not have", l.Source.Name, l.Source.Line)
		}
		if l.UID != "" || l.Actor != (event.Actor{}) {
			whole++
			if !reflect.DeepEqual(f, l) {
				t.Errorf("%s:%d: a whole event differs with Select", f.Source.Name, f.Source.Line)
			}
			continue
		}
		partial++
		if l.Source.Index%3 != 2 {
			t.Errorf("%s:%d: record %d came partial, Select said otherwise", l.Source.Name, l.Source.Line, l.Source.Index)
		}
		if !bytes.Equal(l.Raw, f.Raw) || f.Provider == event.AWS && l.Caller != f.Caller {
			t.Errorf("%s:%d: partial event without the full event's Raw or Caller", l.Source.Name, l.Source.Line)
		}
	}
	if whole == 0 || partial == 0 || len(r.events) >= len(full.events) {
		t.Fatalf("whole %d, partial %d, handed on %d of %d: Select did not decide", whole, partial, len(r.events), len(full.events))
	}
	t.Logf("Select: %d events, %d handed on (%d whole, %d partial)", len(full.events), len(r.events), whole, partial)
}

// With BorrowEvents a whole event is a slot of its chunk and its Raw (and
// the Request and Response cut from it) the chunk's bytes, valid only
// until the handler returns: copies then are what the full decoder gives,
// and nothing else of the event shares the chunk's memory (the events are
// compared once the read ended, every chunk reused).
func TestBorrowEvents(t *testing.T) {
	inputs := selectInputs(t)
	full := read(t, inputs, ingest.Options{Jobs: 2})
	var got []*event.Event
	sel := func(ev *event.Event) ingest.Selection { return ingest.SelectWhole }
	for _, opt := range []ingest.Options{
		{Jobs: 2, BorrowEvents: true},
		{Jobs: 2, BorrowEvents: true, Want: func(string, string) bool { return false }, Select: sel},
	} {
		got = got[:0]
		if _, err := ingest.Read(t.Context(), inputs, opt, ingest.Handlers{Event: func(ev *event.Event) error {
			cp := *ev
			cp.Raw = append([]byte(nil), ev.Raw...)
			cp.Request = clone(ev.Request)
			cp.Response = clone(ev.Response)
			got = append(got, &cp)
			return nil
		}}); err != nil {
			t.Fatal(err)
		}
		if len(got) != len(full.events) {
			t.Fatalf("%d events, want %d", len(got), len(full.events))
		}
		for i, ev := range got {
			if !reflect.DeepEqual(ev, full.events[i]) {
				t.Fatalf("%s:%d: the event differs with BorrowEvents:\n%+v\n%+v", ev.Source.Name, ev.Source.Line, *ev, *full.events[i])
			}
		}
	}
}

func clone(b json.RawMessage) json.RawMessage {
	if b == nil {
		return nil
	}
	return append(json.RawMessage{}, b...)
}

// TestFilter checks Options.NewFilter against a read without it: every
// event is asked about once, in a decoding goroutine, with its record
// parsed when Raw is the record itself (and that parse is Raw's); the
// events it drops are counted and not handed on, the others are handed
// on unchanged; diagnostics and stats do not change. Console CSV rows,
// which the splitter decodes, are asked about too.
func TestFilter(t *testing.T) {
	inputs := selectInputs(t)
	full := read(t, inputs, ingest.Options{Jobs: 2})
	var asked, parsed, made atomic.Int64
	newFilter := func() func(*event.Event, *fastjson.Value) bool {
		made.Add(1)
		return func(ev *event.Event, v *fastjson.Value) bool {
			asked.Add(1)
			if v != nil {
				parsed.Add(1)
				if !bytes.Equal(v.MarshalTo(nil), mustCompact(t, ev.Raw)) {
					t.Errorf("%s:%d: the parse given is not Raw's", ev.Source.Name, ev.Source.Line)
				}
			}
			return ev.Source.Index%2 == 0
		}
	}
	var got run
	sum, err := ingest.Read(t.Context(), inputs, ingest.Options{Jobs: 2, NewFilter: newFilter}, ingest.Handlers{
		Event: func(ev *event.Event) error { got.events = append(got.events, ev); return nil },
		Diag:  func(d ingest.Diag) { got.diags = append(got.diags, d) },
		File:  func(s ingest.FileStats) { got.files = append(got.files, s) },
	})
	if err != nil {
		t.Fatal(err)
	}
	got.sum = sum
	if n := asked.Load(); n != int64(len(full.events)) || parsed.Load() == 0 || made.Load() == 0 {
		t.Fatalf("asked about %d events (%d parsed, %d filters) of %d", n, parsed.Load(), made.Load(), len(full.events))
	}
	if !reflect.DeepEqual(full.diags, got.diags) || !reflect.DeepEqual(full.files, got.files) || full.sum != got.sum {
		t.Fatalf("the filter changed the diagnostics or stats:\n%+v\n%+v", got.sum, full.sum)
	}
	var want []*event.Event
	for _, ev := range full.events {
		if ev.Source.Index%2 == 0 {
			want = append(want, ev)
		}
	}
	if !reflect.DeepEqual(want, got.events) {
		t.Fatalf("handed on %d events, want the %d kept, unchanged", len(got.events), len(want))
	}
}

// mustCompact is b without the whitespace between its tokens.
func mustCompact(t *testing.T, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// selectInputs writes an emulated corpus with a background and returns
// its files and those of testdata/formats.
func selectInputs(t *testing.T) []string {
	t.Helper()
	dir := t.TempDir()
	c, err := emulate.Generate(emulate.Options{Seed: 9, Noise: 300})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Write(dir); err != nil {
		t.Fatal(err)
	}
	inputs, err := ingest.Expand([]string{dir, filepath.Join("..", "testdata", "formats")})
	if err != nil {
		t.Fatal(err)
	}
	return inputs
}

// TestLightClassifiesAsFull checks the format light hands the full
// decoder (so that it need not classify a record again) against classify:
// a CloudTrail record with each member added that classify tests before
// it calls a record CloudTrail decodes alike with Want (every operation
// wanted: light scans each record, then the full decoder reads it) and
// without it.
func TestLightClassifiesAsFull(t *testing.T) {
	base := `"eventVersion":"1.08","eventTime":"2026-11-02T10:00:00Z","eventSource":"ec2.amazonaws.com","eventName":"StopInstances",` +
		`"awsRegion":"us-east-1","recipientAccountId":"111122223333","eventID":"e-%d","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/a"}`
	extras := []string{
		``,
		`"message":{"data":"e30="}`,
		`"data":"e30=","attributes":{}`,
		`"protoPayload":{"methodName":"v1.compute.instances.stop"}`,
		`"ProtoPayload_AuditLog":{"methodName":"x"}`,
		`"logName":"projects/p/logs/cloudaudit.googleapis.com%%2Factivity","timestamp":"2026-11-02T10:00:00Z"`,
		`"configRuleName":"r","invokingEvent":"{}"`,
		`"configurationItemCaptureTime":"2026-11-02T10:00:00Z"`,
		`"configurationItemStatus":"OK"`,
		`"SchemaVersion":"2018-10-08","ProductArn":"arn:aws:securityhub:::product/x"`,
		`-"Findings":[]`, // a leading - drops eventName, as these records lack it
		`-"service":{"serviceName":"guardduty"}`,
		`"messageType":"ConfigurationItemChangeNotification"`,
		`"eventType":"AwsCloudTrailInsight"`,
		`"generator":"revertwatch emulate 1"`,
	}
	var b bytes.Buffer
	for i, x := range extras {
		rec := base
		if strings.HasPrefix(x, "-") {
			x, rec = x[1:], strings.Replace(base, `"eventName":"StopInstances",`, "", 1)
		}
		if x != "" {
			x = "," + x
		}
		fmt.Fprintf(&b, "{"+rec+x+"}\n", i)
	}
	path := filepath.Join(t.TempDir(), "records.json")
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	full := read(t, []string{path}, ingest.Options{Jobs: 1})
	lit := readCopies(t, []string{path}, ingest.Options{Jobs: 1, Want: func(string, string) bool { return true }})
	if !reflect.DeepEqual(full.diags, lit.diags) || full.sum != lit.sum {
		t.Fatalf("diagnostics or stats differ:\n%+v\n%+v\n%+v\n%+v", full.diags, lit.diags, full.sum, lit.sum)
	}
	if len(full.events) != len(lit.events) {
		t.Fatalf("%d events with Want, %d without", len(lit.events), len(full.events))
	}
	for i, f := range full.events {
		if !reflect.DeepEqual(f, lit.events[i]) {
			t.Errorf("record %d decodes otherwise with Want:\n%+v\n%+v", f.Source.Index, lit.events[i], f)
		}
	}
	// Only the base record is CloudTrail to classify.
	if len(full.events) != 1 || len(full.diags) != len(extras)-1 {
		t.Errorf("%d events and %d diagnostics, want 1 and %d: the records are not what the test means", len(full.events), len(full.diags), len(extras)-1)
	}
}

// sampleInputs writes the emulated corpus opt describes to a temporary
// directory and returns its files, the repository's format samples and
// the shared real-world corpus when it is there.
func sampleInputs(t *testing.T, opt emulate.Options) []string {
	t.Helper()
	dir := t.TempDir()
	c, err := emulate.Generate(opt)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Write(dir); err != nil {
		t.Fatal(err)
	}
	paths := []string{dir, filepath.Join("..", "testdata", "formats")}
	if real := sharedCorpus(); real != "" {
		paths = append(paths, real)
	}
	inputs, err := ingest.Expand(paths)
	if err != nil {
		t.Fatal(err)
	}
	return inputs
}

// TestWantEverySameAsFull reads the emulated corpus in every shape, the
// repository's format samples and the shared real-world corpus with Want
// wanting every operation (each record scanned by light, then decoded in
// full with what light found: its format, its bodies as written) and
// without Want: the same events, byte for byte, the same diagnostics and
// stats.
func TestWantEverySameAsFull(t *testing.T) {
	inputs := sampleInputs(t, emulate.Options{Seed: 9, Noise: 300})
	full := readCopies(t, inputs, ingest.Options{Jobs: 2})
	every := readCopies(t, inputs, ingest.Options{Jobs: 2, Want: func(string, string) bool { return true }})
	if !reflect.DeepEqual(full.diags, every.diags) || !reflect.DeepEqual(full.files, every.files) || full.sum != every.sum {
		t.Fatalf("Want changed the diagnostics or stats:\n%+v\n%+v", every.sum, full.sum)
	}
	if len(full.events) != len(every.events) {
		t.Fatalf("%d events with Want, %d without", len(every.events), len(full.events))
	}
	bodies := 0
	for i, f := range full.events {
		if !reflect.DeepEqual(f, every.events[i]) {
			t.Fatalf("%s:%d: the event differs with Want:\n%+v\n%+v", f.Source.Name, f.Source.Line, every.events[i], f)
		}
		if f.Provider == event.AWS && len(f.Request) > 0 {
			bodies++
		}
	}
	if bodies < 100 {
		t.Errorf("only %d CloudTrail events with a request: the test reads too little", bodies)
	}
	t.Logf("%d events, %d CloudTrail requests", len(full.events), bodies)
}
