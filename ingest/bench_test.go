package ingest_test

// Benchmarks of each decoder and of the whole ingest.Read, on records from
// revertwatch emulate (the project's one generator). They report MB/s (of
// decompressed JSON, b.SetBytes) and events/s. For example:
//
//	go test -run='^$' -bench=. -benchmem ./ingest/

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"os"
	"strconv"
	"sync"
	"testing"

	"github.com/valyala/fastjson"

	"github.com/revertwatch/revertwatch/emulate"
	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/ingest"
	"github.com/revertwatch/revertwatch/ingest/azure"
	"github.com/revertwatch/revertwatch/ingest/cloudtrail"
	"github.com/revertwatch/revertwatch/ingest/gcp"
)

// emulated is the emulated corpus with background noise, decoded once:
// each record's bytes by the shape it came in.
var emulated = sync.OnceValue(func() map[event.Format][][]byte {
	c, err := emulate.Generate(emulate.Options{Seed: 1, Noise: 20000})
	if err != nil {
		panic(err)
	}
	files := map[string][]byte{}
	var paths []string
	for _, f := range c.Files {
		files[f.Path] = f.Data
		paths = append(paths, f.Path)
	}
	out := map[event.Format][][]byte{}
	_, err = ingest.Read(context.Background(), paths, ingest.Options{
		Open: func(name string) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(files[name])), nil },
	}, ingest.Handlers{Event: func(ev *event.Event) error {
		out[ev.Format] = append(out[ev.Format], ev.Raw)
		return nil
	}})
	if err != nil {
		panic(err)
	}
	return out
})

// benchRecords returns emulated CloudTrail records, the same on every call.
func benchRecords() [][]byte { return emulated()[event.FormatCloudTrailLines] }

// benchAzure returns n emulated Azure records of one shape, repeated if
// the corpus has fewer.
func benchAzure(shape event.Format, n int) [][]byte {
	recs := emulated()[shape]
	out := make([][]byte, n)
	for i := range out {
		out[i] = recs[i%len(recs)]
	}
	return out
}

// join writes records between open and close, separated by sep.
func join(recs [][]byte, open, sep, close string) []byte {
	var b bytes.Buffer
	b.WriteString(open)
	for i, r := range recs {
		if i > 0 {
			b.WriteString(sep)
		}
		b.Write(r)
	}
	b.WriteString(close)
	return b.Bytes()
}

// benchRead runs ingest.Read over data as standard input and reports
// events/s; every record must become an event.
func benchRead(b *testing.B, data []byte, events int) {
	b.Helper()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	total := 0
	for b.Loop() {
		n := 0
		sum, err := ingest.Read(b.Context(), []string{"-"}, ingest.Options{Stdin: bytes.NewReader(data)}, ingest.Handlers{
			Event: func(*event.Event) error { n++; return nil },
		})
		if err != nil || n != events || sum.Rejected != 0 {
			b.Fatalf("%d events of %d, %d rejected, err %v", n, events, sum.Rejected, err)
		}
		total += n
	}
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkDecodeCloudTrailRecord parses and decodes one record at a time,
// without the file machinery.
func BenchmarkDecodeCloudTrailRecord(b *testing.B) {
	benchDecode(b, benchRecords(), func(v *fastjson.Value) { cloudtrail.Decode(v, &event.Event{}) })
}

// benchDecode parses and decodes recs one at a time with decode,
// reporting MB/s and events/s.
func benchDecode(b *testing.B, recs [][]byte, decode func(*fastjson.Value)) {
	b.Helper()
	var size int
	for _, r := range recs {
		size += len(r)
	}
	b.SetBytes(int64(size / len(recs)))
	b.ReportAllocs()
	var p fastjson.Parser
	i := 0
	for b.Loop() {
		v, err := p.ParseBytes(recs[i%len(recs)])
		if err != nil {
			b.Fatal(err)
		}
		decode(v)
		i++
	}
	b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkDecodeAzureRecord does the same for each Azure shape.
func BenchmarkDecodeAzureRecord(b *testing.B) {
	for _, s := range []struct {
		name  string
		shape event.Format
		as    azure.Shape
	}{{"export", event.FormatAzureStorage, azure.Export}, {"rest", event.FormatAzureREST, azure.REST}, {"loganalytics", event.FormatAzureLogAnalytics, azure.LogAnalytics}} {
		b.Run(s.name, func(b *testing.B) {
			var d azure.Decoder
			benchDecode(b, benchAzure(s.shape, 3000), func(v *fastjson.Value) { d.Decode(v, s.as, &event.Event{}) })
		})
	}
}

func BenchmarkReadCloudTrailRecordsFile(b *testing.B) {
	recs := benchRecords()
	benchRead(b, join(recs, `{"Records":[`, ",", "]}"), len(recs))
}

func BenchmarkReadCloudTrailJSONLines(b *testing.B) {
	recs := benchRecords()
	benchRead(b, join(recs, "", "\n", "\n"), len(recs))
}

func BenchmarkReadCloudTrailEventBridge(b *testing.B) {
	recs := benchRecords()
	env := make([][]byte, len(recs))
	for i, r := range recs {
		env[i] = []byte(`{"version":"0","id":"` + strconv.Itoa(i) + `","detail-type":"AWS API Call via CloudTrail","source":"aws.ec2","account":"111122223333",` +
			`"time":"2026-11-02T08:00:00Z","region":"us-east-1","resources":[],"detail":` + string(r) + `}`)
	}
	benchRead(b, join(env, "", "\n", "\n"), len(recs))
}

func BenchmarkReadCloudTrailCloudWatch(b *testing.B) {
	recs := benchRecords()
	var payloads [][]byte
	for i := 0; i < len(recs); i += 50 {
		var events [][]byte
		for j, r := range recs[i:min(i+50, len(recs))] {
			msg, _ := json.Marshal(string(r))
			events = append(events, []byte(`{"id":"`+strconv.Itoa(i+j)+`","timestamp":1793606400000,"message":`+string(msg)+`}`))
		}
		payloads = append(payloads, join(events, `{"messageType":"DATA_MESSAGE","owner":"111122223333","logGroup":"trail","logStream":"s","subscriptionFilters":["f"],"logEvents":[`, ",", "]}"))
	}
	benchRead(b, join(payloads, "", "\n", "\n"), len(recs))
}

func BenchmarkReadCloudTrailLookupEvents(b *testing.B) {
	recs := benchRecords()
	entries := make([][]byte, len(recs))
	for i, r := range recs {
		msg, _ := json.Marshal(string(r))
		entries[i] = []byte(`{"EventId":"e` + strconv.Itoa(i) + `","EventName":"x","ReadOnly":"true","EventTime":"2026-11-02T08:00:00Z","CloudTrailEvent":` + string(msg) + `}`)
	}
	benchRead(b, join(entries, `{"Events":[`, ",", "]}"), len(recs))
}

func BenchmarkReadAzureExport(b *testing.B) {
	recs := benchAzure(event.FormatAzureStorage, 10000)
	benchRead(b, join(recs, "", "\n", "\n"), len(recs))
}

func BenchmarkReadAzureEventHub(b *testing.B) {
	recs := benchAzure(event.FormatAzureStorage, 10000)
	benchRead(b, join(recs, `{"records":[`, ",", "]}"), len(recs))
}

func BenchmarkReadAzureREST(b *testing.B) {
	recs := benchAzure(event.FormatAzureREST, 10000)
	benchRead(b, join(recs, `{"value":[`, ",", "]}"), len(recs))
}

func BenchmarkReadAzureLogAnalytics(b *testing.B) {
	recs := benchAzure(event.FormatAzureLogAnalytics, 10000)
	benchRead(b, join(recs, "[", ",\n", "]"), len(recs))
}

// BenchmarkReadGeneratedCorpus reads the benchmark corpus of revertwatch
// emulate --scale (gzip S3 delivery files and PT1H.json blobs) from disk,
// with the default number of jobs: the whole of ingest.Read as `revertwatch
// cat` uses it.
func BenchmarkReadGeneratedCorpus(b *testing.B) {
	benchCorpus(b, ingest.Options{})
}

// BenchmarkReadGeneratedCorpusWant is the same read as hunt makes it:
// events of the operations no rule uses are partial (Options.Want).
func BenchmarkReadGeneratedCorpusWant(b *testing.B) {
	benchCorpus(b, ingest.Options{Want: func(provider, op string) bool { return op == "StopInstances" }})
}

// BenchmarkReadGeneratedCorpusQuery is the same read as query makes it
// (Options.QueryFields).
func BenchmarkReadGeneratedCorpusQuery(b *testing.B) {
	benchCorpus(b, ingest.Options{QueryFields: true})
}

func benchCorpus(b *testing.B, opt ingest.Options) {
	dir := b.TempDir()
	st, err := emulate.WriteScale(dir, emulate.ScaleOptions{Options: emulate.Options{Seed: 3, Scenarios: []string{"aws-seed1-*"}},
		Events: 100_000, AzureEvents: 20_000, Files: 8})
	if err != nil {
		b.Fatal(err)
	}
	inputs, err := ingest.Expand([]string{dir})
	if err != nil {
		b.Fatal(err)
	}
	first, err := ingest.Read(b.Context(), inputs, opt, ingest.Handlers{})
	if err != nil || first.Events < st.Events+st.AzureEvents {
		b.Fatalf("%+v, err %v; want at least %d events", first, err, st.Events+st.AzureEvents)
	}
	b.SetBytes(first.Bytes)
	b.ReportAllocs()
	total := 0
	for b.Loop() {
		sum, err := ingest.Read(b.Context(), inputs, opt, ingest.Handlers{Event: func(*event.Event) error { return nil }})
		if err != nil || sum != first {
			b.Fatalf("%+v, err %v; want %+v", sum, err, first)
		}
		total += sum.Events
	}
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "events/s")
}

// benchGCP returns n Cloud Audit Logs entries of the hand-written
// fixtures (LogEntry JSON, or BigQuery rows), repeated.
func benchGCP(b *testing.B, file string, n int) [][]byte {
	b.Helper()
	data, err := os.ReadFile(formatsDir + "/gcp/" + file)
	if err != nil {
		b.Fatal(err)
	}
	var recs [][]byte
	for _, l := range bytes.Split(data, []byte("\n")) {
		if len(l) > 0 && bytes.Contains(l, []byte(`rotoPayload`)) || bytes.Contains(l, []byte("protopayload_auditlog")) {
			recs = append(recs, l)
		}
	}
	out := make([][]byte, n)
	for i := range out {
		out[i] = recs[i%len(recs)]
	}
	return out
}

const gcpSinkFile = "storage-sink/cloudaudit.googleapis.com/activity/2024/05/29/16_00_00_16_59_59_S0.json"

// BenchmarkDecodeGCPRecord parses and decodes one Cloud Audit Logs entry
// at a time, as a LogEntry and as a BigQuery row.
func BenchmarkDecodeGCPRecord(b *testing.B) {
	for _, s := range []struct {
		name, file string
		shape      gcp.Shape
	}{{"logentry", gcpSinkFile, gcp.LogEntry}, {"bigquery", "bigquery-rows.jsonl", gcp.BigQuery}} {
		b.Run(s.name, func(b *testing.B) {
			var d gcp.Decoder
			benchDecode(b, benchGCP(b, s.file, 3000), func(v *fastjson.Value) { d.Decode(v, s.shape, &event.Event{}) })
		})
	}
}

func BenchmarkReadGCPJSONLines(b *testing.B) {
	recs := benchGCP(b, gcpSinkFile, 10000)
	benchRead(b, join(recs, "", "\n", "\n"), len(recs))
}

func BenchmarkReadGCPGcloudArray(b *testing.B) {
	recs := benchGCP(b, gcpSinkFile, 10000)
	benchRead(b, join(recs, "[\n", ",\n", "\n]\n"), len(recs))
}

func BenchmarkReadGCPPubSubPush(b *testing.B) {
	recs := benchGCP(b, gcpSinkFile, 10000)
	bodies := make([][]byte, len(recs))
	for i, r := range recs {
		bodies[i] = []byte(`{"message":{"data":"` + base64.StdEncoding.EncodeToString(r) + `","messageId":"` + strconv.Itoa(i) + `"},"subscription":"projects/p/subscriptions/s"}`)
	}
	benchRead(b, join(bodies, "", "\n", "\n"), len(recs))
}
