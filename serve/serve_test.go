package serve

import (
	"bytes"
	"compress/gzip"
	"strings"
	"testing"
	"time"

	"github.com/revertwatch/revertwatch/emulate"
	"github.com/revertwatch/revertwatch/internal/livetest"
)

var t0 = time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)

// Every emulated scenario in every delivery shape, posted over HTTP: the
// daemon delivers exactly the findings the batch detector makes of the
// same input, each once, and they cover every rule the ground truth
// expects.
func TestIngestEmulatedScenarios(t *testing.T) {
	corpus, err := emulate.Generate(emulate.Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	var bodies [][]byte
	for _, f := range corpus.Files {
		bodies = append(bodies, f.Data)
	}
	const lateness = 48 * time.Hour
	want, err := livetest.Oracle(lateness, nil, bodies...)
	if err != nil {
		t.Fatal(err)
	}
	mem := &livetest.MemSink{}
	r := start(t, Config{StateDir: t.TempDir(), Lateness: lateness, IdleFlush: 500 * time.Millisecond, Sinks: sinks(mem), Token: "s3cret"})
	accepted := 0
	began := time.Now()
	for i, b := range bodies {
		code, a, _ := post(t, r.url, b, "Authorization", "Bearer s3cret")
		if code != 202 {
			t.Fatalf("%s: %d %+v", corpus.Files[i].Path, code, a)
		}
		if a.Rejected > 0 {
			t.Errorf("%s: %d rejected: %+v", corpus.Files[i].Path, a.Rejected, a.Diagnostics)
		}
		accepted += a.Accepted
	}
	t.Logf("posted in %s", time.Since(began))
	livetest.WaitFor(t, 20*time.Second, "all findings", func() bool { return mem.Len() >= len(want) })
	t.Logf("found in %s", time.Since(began))
	r.shutdown(t)
	t.Logf("shut down in %s", time.Since(began))
	if got := mem.IDs(); !equalStrings(got, want) {
		t.Fatalf("findings differ from the batch detector's:\n got %d %v\nwant %d %v", len(got), got, len(want), want)
	}
	fired := map[string]bool{}
	for _, f := range mem.Findings() {
		fired[f.RuleID] = true
	}
	for _, sc := range corpus.Truth.Scenarios {
		if sc.ExpectFinding && !fired[sc.Rules[0]] {
			t.Errorf("scenario %s: rule %s never fired", sc.ID, sc.Rules[0])
		}
	}
	t.Logf("%d bodies, %d events, %d findings", len(bodies), accepted, len(want))
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func TestIngestAnswers(t *testing.T) {
	r := start(t, Config{StateDir: t.TempDir(), Token: "tok", MaxBodyBytes: 4096, MaxDecodedBytes: 8192, Sinks: sinks(&livetest.MemSink{})})
	acct := livetest.Account(1)
	rec := livetest.Record(acct, "us-east-1", "StopInstances", livetest.Instance(acct, "web"), t0)
	auth := []string{"Authorization", "Bearer tok"}
	big := bytes.Repeat(livetest.Lines(rec), 20)
	for _, c := range []struct {
		name    string
		body    []byte
		headers []string
		code    int
		reason  string
	}{
		{"json lines", livetest.Lines(rec), auth, 202, ""},
		{"gzip by magic", gz(livetest.Lines(rec)), auth, 202, ""},
		{"gzip by header", gz(livetest.Lines(rec)), append([]string{"Content-Encoding", "gzip"}, auth...), 202, ""},
		{"Records file", []byte(`{"Records":[` + string(rec) + `]}`), auth, 202, ""},
		{"no token", livetest.Lines(rec), nil, 401, "unauthorized"},
		{"wrong token", livetest.Lines(rec), []string{"Authorization", "Bearer tok2"}, 401, "unauthorized"},
		{"basic auth", livetest.Lines(rec), []string{"Authorization", "Basic dG9rOg=="}, 401, "unauthorized"},
		{"not JSON", []byte("hello, world\n"), auth, 400, "bad body"},
		{"empty", nil, auth, 400, "bad body"},
		{"truncated JSON", rec[:len(rec)/2], auth, 400, "bad body"},
		{"not a cloud record", []byte(`{"a":1}` + "\n"), auth, 400, "bad body"},
		{"bad gzip", []byte{0x1f, 0x8b, 1, 2, 3}, auth, 400, "bad gzip"},
		{"unknown encoding", livetest.Lines(rec), append([]string{"Content-Encoding", "br"}, auth...), 415, "encoding"},
		{"too large", bytes.Repeat([]byte(" "), 5000), auth, 413, "too large"},
		{"too large once gunzipped", gz(big), auth, 413, "too large"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, a, h := post(t, r.url, c.body, c.headers...)
			if code != c.code || a.Reason != c.reason {
				t.Fatalf("got %d %q (%s), want %d %q", code, a.Reason, a.Error, c.code, c.reason)
			}
			if code == 401 && h.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			if code >= 400 && a.Error == "" {
				t.Error("error answer without a message")
			}
		})
	}
	resp, err := httpGet(r.url + "/v1/ingest")
	if err != nil || resp != 405 {
		t.Errorf("GET /v1/ingest: %d %v, want 405", resp, err)
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		if code, err := httpGet(r.url + p); err != nil || code != 200 {
			t.Errorf("%s: %d %v", p, code, err)
		}
	}
	metrics := getBody(t, r.url+"/metrics")
	for _, m := range []string{`revertwatch_rejects_total{reason="unauthorized"} 3`, `revertwatch_events_in_total{format="cloudtrail-lines",source="http"}`,
		"revertwatch_queue_depth", "revertwatch_state_bytes", "revertwatch_ingest_to_finding_seconds_bucket", `revertwatch_rejects_total{reason="record: unrecognized record"} 1`} {
		if !strings.Contains(metrics, m) {
			t.Errorf("metrics lack %s", m)
		}
	}
}

// Sumo HTTP-source headers become the events' metadata: the name is the
// evidence's file (category and host go to _sourceCategory and
// _sourceHost through the same ingest options hunt uses).
func TestSumoHeaders(t *testing.T) {
	mem := &livetest.MemSink{}
	r := start(t, Config{StateDir: t.TempDir(), Lateness: time.Hour, IdleFlush: 100 * time.Millisecond, Sinks: sinks(mem)})
	stop, startRec := stopStart(3)
	code, _, _ := post(t, r.url, livetest.Lines(stop, startRec), "X-Sumo-Category", "prod/aws/cloudtrail", "X-Sumo-Host", "collector-7", "X-Sumo-Name", "org-trail")
	if code != 202 {
		t.Fatal(code)
	}
	livetest.WaitFor(t, 10*time.Second, "the finding", func() bool { return mem.Len() == 1 })
	r.shutdown(t)
	f := mem.Findings()[0]
	if len(f.Evidence) == 0 || f.Evidence[0].File != "org-trail" {
		t.Fatalf("evidence file %+v, want org-trail", f.Evidence)
	}
}
