package ingest_test

// Benchmarks of each decoder and of the whole ingest.Read, on records from
// internal/gencorpus. They report MB/s (of decompressed JSON, b.SetBytes)
// and events/s. For example:
//
//	go test -run='^$' -bench=. -benchmem ./ingest/

import (
	"bytes"
	"encoding/json"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fastjson"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/ingest"
	"github.com/revertwatch/revertwatch/ingest/azure"
	"github.com/revertwatch/revertwatch/ingest/cloudtrail"
	"github.com/revertwatch/revertwatch/internal/gencorpus"
)

var benchStart = time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)

// benchRecords returns n generated CloudTrail records, the same on every
// call.
var benchRecords = sync.OnceValue(func() [][]byte {
	g := gencorpus.NewCloudTrail(1, "111122223333", "us-east-1", benchStart)
	recs := make([][]byte, 20000)
	for i := range recs {
		recs[i] = g.AppendRecord(nil)
	}
	return recs
})

// benchAzure returns generated Azure records of one shape.
func benchAzure(shape gencorpus.AzureShape, n int) [][]byte {
	g := gencorpus.NewAzure(2, gencorpus.Subscriptions[0], benchStart)
	recs := make([][]byte, n)
	for i := range recs {
		recs[i] = g.AppendRecord(nil, shape)
	}
	return recs
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
	recs := benchRecords()
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
		cloudtrail.Decode(v, &event.Event{})
		i++
	}
	b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkDecodeAzureRecord does the same for each Azure shape.
func BenchmarkDecodeAzureRecord(b *testing.B) {
	for _, s := range []struct {
		name  string
		shape gencorpus.AzureShape
		as    azure.Shape
	}{{"export", gencorpus.AzureExport, azure.Export}, {"rest", gencorpus.AzureREST, azure.REST}, {"loganalytics", gencorpus.AzureLogAnalytics, azure.LogAnalytics}} {
		b.Run(s.name, func(b *testing.B) {
			recs := benchAzure(s.shape, 3000)
			var size int
			for _, r := range recs {
				size += len(r)
			}
			b.SetBytes(int64(size / len(recs)))
			b.ReportAllocs()
			var p fastjson.Parser
			var d azure.Decoder
			i := 0
			for b.Loop() {
				v, err := p.ParseBytes(recs[i%len(recs)])
				if err != nil {
					b.Fatal(err)
				}
				d.Decode(v, s.as, &event.Event{})
				i++
			}
			b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "events/s")
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
	recs := benchAzure(gencorpus.AzureExport, 10000)
	benchRead(b, join(recs, "", "\n", "\n"), len(recs))
}

func BenchmarkReadAzureEventHub(b *testing.B) {
	recs := benchAzure(gencorpus.AzureExport, 10000)
	benchRead(b, join(recs, `{"records":[`, ",", "]}"), len(recs))
}

func BenchmarkReadAzureREST(b *testing.B) {
	recs := benchAzure(gencorpus.AzureREST, 10000)
	benchRead(b, join(recs, `{"value":[`, ",", "]}"), len(recs))
}

func BenchmarkReadAzureLogAnalytics(b *testing.B) {
	recs := benchAzure(gencorpus.AzureLogAnalytics, 10000)
	benchRead(b, join(recs, "[", ",\n", "]"), len(recs))
}

// BenchmarkReadGeneratedCorpus reads a generated corpus of gzip S3
// delivery files and PT1H.json blobs from disk, with the default number
// of jobs: the whole of ingest.Read as `revertwatch cat` uses it.
func BenchmarkReadGeneratedCorpus(b *testing.B) {
	dir := b.TempDir()
	res, err := gencorpus.Generate(gencorpus.Options{Dir: dir, Seed: 3, CloudTrailEvents: 100_000, CloudTrailFiles: 8, AzureRecords: 20_000, AzureBlobs: 2})
	if err != nil {
		b.Fatal(err)
	}
	var size int64
	var records int
	for _, f := range append(res.CloudTrail, res.Azure...) {
		size += f.Bytes
		records += f.Records
	}
	inputs, err := ingest.Expand([]string{dir})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size)
	b.ReportAllocs()
	total := 0
	for b.Loop() {
		sum, err := ingest.Read(b.Context(), inputs, ingest.Options{}, ingest.Handlers{Event: func(*event.Event) error { return nil }})
		if err != nil || sum.Events != records || sum.Bytes != size {
			b.Fatalf("%+v, err %v; want %d events, %d bytes", sum, err, records, size)
		}
		total += sum.Events
	}
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "events/s")
}
