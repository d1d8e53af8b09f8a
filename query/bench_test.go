package query_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/revertwatch/revertwatch/content"
	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/ingest"
	"github.com/revertwatch/revertwatch/query"
)

// benchEvents decodes the inputs of the seed goldens (CloudTrail and every
// Azure shape) once.
func benchEvents(b *testing.B) ([]*event.Event, int64) {
	b.Helper()
	dir := b.TempDir()
	var inputs []string
	files, _ := filepath.Glob("testdata/seed-*.txtar")
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		for i, af := range parseArchive(string(data)).files {
			if strings.HasPrefix(af.name, "input") {
				p := filepath.Join(dir, fmt.Sprintf("%s-%d", filepath.Base(f), i))
				if err := os.WriteFile(p, []byte(af.data), 0o644); err != nil {
					b.Fatal(err)
				}
				inputs = append(inputs, p)
			}
		}
	}
	evs := readEvents(b, dir, inputs, ingest.Options{})
	var n int64
	for _, ev := range evs {
		n += int64(len(ev.Raw))
	}
	return evs, n
}

// BenchmarkSeedPipeline runs the seed query, verbatim, over events that
// are already decoded: the query engine alone. rows/s is per core.
func BenchmarkSeedPipeline(b *testing.B) {
	seed, _ := content.Query("t1578.004-sumo")
	benchQuery(b, seed.Text)
}

// BenchmarkFilterOnly is the scope and the first where: the path every
// record takes.
func BenchmarkFilterOnly(b *testing.B) {
	benchQuery(b, `_sourceCategory=*azure*activitylog* OR _sourceCategory=*aws*cloudtrail*
| json auto | where matches(operationName, "(?i)(snapshot|virtualMachine|instance|compute|create|delete|modify)") | count`)
}

// benchQuery runs text over the decoded benchmark events and reports rows
// per second of wall and of CPU time.
func benchQuery(b *testing.B, text string) {
	evs, size := benchEvents(b)
	p, err := query.Compile(text, query.DefaultOptions())
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuSeconds()
	r := p.NewRunner()
	for i := 0; i < b.N; i++ {
		for _, ev := range evs {
			r.Push(ev)
		}
	}
	b.StopTimer()
	cpu := cpuSeconds() - cpu0
	r.Finish()
	rows := float64(b.N) * float64(len(evs))
	b.ReportMetric(rows/b.Elapsed().Seconds(), "rows/s")
	if cpu > 0 {
		b.ReportMetric(rows/cpu, "rows/cpu-s")
		b.ReportMetric(float64(b.N)*float64(size)/cpu/1e6, "MB/cpu-s")
	}
}

// BenchmarkEndToEnd decodes a generated file of CloudTrail records with
// ingest and runs the seed over it: the whole path a user runs.
func BenchmarkEndToEnd(b *testing.B) {
	dir := b.TempDir()
	path := filepath.Join(dir, "trail.json")
	var sb strings.Builder
	ops := []string{"CreateSnapshot", "DescribeInstances", "TerminateInstances", "AssumeRole", "DeleteVolume", "RunInstances"}
	for i := 0; i < 20000; i++ {
		fmt.Fprintf(&sb, `{"eventVersion":"1.08","eventTime":"2024-06-01T08:%02d:%02dZ","eventSource":"ec2.amazonaws.com","eventName":%q,"awsRegion":"us-east-1","recipientAccountId":"111122223333","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/u%d","accountId":"111122223333"},"requestParameters":{"instancesSet":{"items":[{"instanceId":"i-%d"}]}},"sourceIPAddress":"203.0.113.%d","userAgent":"aws-cli/2","eventID":"e%d","readOnly":false}`+"\n",
			i/60%60, i%60, ops[i%len(ops)], i%50, i, i%250, i)
	}
	if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	seed, _ := content.Query("t1578.004-sumo")
	p, err := query.Compile(seed.Text, query.DefaultOptions())
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(sb.Len()))
	b.ResetTimer()
	events := 0
	for i := 0; i < b.N; i++ {
		r := p.NewRunner()
		sum, err := ingest.Read(context.Background(), []string{path}, ingest.Options{}, ingest.Handlers{
			Event: func(ev *event.Event) error { r.Push(ev); return nil },
		})
		if err != nil {
			b.Fatal(err)
		}
		events += sum.Events
		r.Finish()
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}

// cpuSeconds is the process's user+system CPU time. The benchmarks report
// rows per CPU-second as well as per wall-second, because a shared machine
// makes wall time say little about one core.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}

// BenchmarkAggregateGroups is the aggregation of many groups, the shape of
// query-hc (bench/run.sh): 50,000 callers, each with one to three of a few
// operations and levels, as count and two values() by caller and resource
// group. It reports the live heap each group costs once every record is
// in (the aggregation) and once the result is made (its rows).
func BenchmarkAggregateGroups(b *testing.B) {
	const groups = 50000
	ops := []string{"Microsoft.Compute/disks/write", "Microsoft.Compute/snapshots/write", "Microsoft.Compute/virtualMachines/write"}
	var evs []*event.Event
	for i := range 3 * groups {
		g := i % groups
		raw := fmt.Sprintf(`{"caller":"user-%d@example.com","group":"rg-%d","op":%q,"level":"Informational"}`, g, g%2000, ops[(i/groups+g)%len(ops)])
		evs = append(evs, &event.Event{Raw: []byte(raw)})
	}
	p, err := query.Compile(`* | json auto | count as n, values(op) as ops, values(level) as levels by caller, group`, query.DefaultOptions())
	if err != nil {
		b.Fatal(err)
	}
	var aggBytes, rowBytes float64
	for b.Loop() {
		before := liveHeap()
		r := p.NewRunner()
		for _, ev := range evs {
			r.Push(ev)
		}
		agg := liveHeap()
		res := r.Finish()
		rows := liveHeap()
		if len(res.Rows) != groups {
			b.Fatalf("%d rows, want %d", len(res.Rows), groups)
		}
		aggBytes += float64(agg - before)
		rowBytes += float64(rows - before)
		runtime.KeepAlive(r)
		runtime.KeepAlive(res)
	}
	b.ReportMetric(aggBytes/float64(b.N)/groups, "agg-B/group")
	b.ReportMetric(rowBytes/float64(b.N)/groups, "result-B/group")
}

// liveHeap is the heap in use after a collection.
func liveHeap() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
