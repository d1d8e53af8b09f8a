package ingest

// Native fuzz targets for the scanner, the file decoder (sniffing, gzip,
// envelopes, the size cap) and every record kind it dispatches to. Run one
// with, for example,
//
//	go test -run='^$' -fuzz=FuzzDecodeFile -fuzztime=45s ./ingest/
//
// The invariants: no panic and no hang, whatever the bytes; what the
// statistics count is what was handed out; every event and diagnostic is
// placed inside the input, every event at the '{' its record starts with
// and on the right line; and every event can be written as JSON.

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/revertwatch/revertwatch/event"
)

// hangLimit is how long decoding one fuzz input may take.
const hangLimit = 3 * time.Second

// fuzzGCP is a Cloud Audit Logs entry used to build the seeds.
const fuzzGCP = `{"insertId":"i","logName":"projects/p/logs/cloudaudit.googleapis.com%2Factivity","operation":{"id":"o","first":true},` +
	`"protoPayload":{"@type":"type.googleapis.com/google.cloud.audit.AuditLog","methodName":"v1.compute.instances.attachDisk",` +
	`"request":{"source":"zones/z/disks/d","boot":true},"resourceName":"projects/p/zones/z/instances/i"},"timestamp":"2024-05-29T16:29:10.789Z"}`

// fuzzRecord is a CloudTrail record used to build the seeds.
const fuzzRecord = `{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLE:ops","arn":"arn:aws:sts::111122223333:assumed-role/Ops/ops",` +
	`"sessionContext":{"sessionIssuer":{"arn":"arn:aws:iam::111122223333:role/Ops"},"attributes":{"mfaAuthenticated":"true"}},"invokedBy":"backup.amazonaws.com"},` +
	`"eventTime":"2024-03-01T10:00:00Z","eventSource":"ec2.amazonaws.com","eventName":"AttachVolume","awsRegion":"eu-west-1","sourceIPAddress":"AWS Internal",` +
	`"requestParameters":{"volumeId":"vol-1","instanceId":"i-1","device":"/dev/xvda","CreateReplaceRootVolumeTaskRequest":{"InstanceId":"i-1","SnapshotId":{"content":"snap-1","tag":1}}},` +
	`"responseElements":{"attachTime":1643590371083,"instancesSet":{"item":[{"instanceId":"i-2"}]},"blockDeviceMapping":{}},` +
	`"errorCode":"Client.DryRunOperation","sessionCredentialFromConsole":"true","eventID":"e-1","recipientAccountId":"111122223333","addendum":{"originalEventID":"e-0"}}`

// fuzzAzure are one Azure record of each shape.
var fuzzAzure = []string{
	// Diagnostic export: upper-case string operationName, properties as a string.
	`{"time":"2024-03-01T10:00:00.1234567Z","resourceId":"/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.COMPUTE/DISKS/D","operationName":"MICROSOFT.COMPUTE/DISKS/WRITE",` +
		`"category":"Administrative","resultType":"Success","level":4,"durationMs":"12","correlationId":"c","identity":{"claims":{"appid":"262044b1-e2ce-469f-a196-69ab7ada62d3","xms_mirid":"/x"}},` +
		`"properties":"{\"statusCode\":\"Created\",\"responseBody\":\"{\\\"properties\\\":{\\\"creationData\\\":{\\\"createOption\\\":\\\"Copy\\\",\\\"sourceResourceId\\\":\\\"/subscriptions/s/snapshots/x\\\"}}}\"}"}`,
	// REST: operationName and status as objects.
	`{"eventTimestamp":"2024-03-01T10:00:00Z","submissionTimestamp":"2024-03-01T10:01:00Z","operationName":{"value":"Microsoft.Compute/virtualMachines/write","localizedValue":"x"},` +
		`"status":{"value":"Accepted"},"caller":"a@example.com","resourceId":"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm",` +
		`"properties":{"responseBody":"{\"properties\":{\"storageProfile\":{\"osDisk\":{\"managedDisk\":{\"id\":\"/subscriptions/s/disks/d\"}}}}}"},"httpRequest":{"clientIpAddress":"192.0.2.1"}}`,
	// Log Analytics AzureActivity row.
	`{"TimeGenerated":"2024-03-01T10:00:00Z","OperationNameValue":"MICROSOFT.COMPUTE/VIRTUALMACHINES/REIMAGE/ACTION","ActivityStatusValue":"Start","Caller":"x","Properties_d":{"requestbody":"{}"},"ResourceId":"/subscriptions/s"}`,
}

// fuzzSeeds are small inputs of every shape the decoder knows, and a few
// it must refuse.
func fuzzSeeds() [][]byte {
	rec := fuzzRecord
	quoted, _ := json.Marshal(rec)
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write([]byte(`{"messageType":"DATA_MESSAGE","logGroup":"g","logEvents":[{"id":"1","timestamp":1,"message":` + string(quoted) + `}]}`))
	zw.Close()
	awslogs := base64.StdEncoding.EncodeToString(z.Bytes())
	seeds := []string{
		`{"Records":[` + rec + `,` + rec + `]}`,
		"{\"Records\":[\n" + rec + ",\n" + rec + "\n]}",
		rec + "\n" + rec + "\n",
		"[" + rec + "," + rec + "]",
		rec,
		`{"version":"0","id":"x","detail-type":"AWS API Call via CloudTrail","source":"aws.ec2","account":"1","time":"2024-03-01T10:00:00Z","region":"eu-west-1","resources":[],"detail":` + rec + `}`,
		`{"version":"0","detail-type":"EC2 Instance State-change Notification","detail":{"state":"stopped"}}`,
		`{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s","subscriptionFilters":["f"],"logEvents":[{"id":"1","timestamp":1700000000000,"message":` + string(quoted) + `}]}`,
		`{"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logEvents":[{"id":"1","timestamp":1,"message":"CWL CONTROL MESSAGE"}]}`,
		`{"logEvents":[{"id":"1","timestamp":1,"message":` + string(quoted) + `}],"messageType":"DATA_MESSAGE"}`,
		`{"awslogs":{"data":"` + awslogs + `"}}`,
		`{"Events":[{"EventId":"e","EventName":"AttachVolume","CloudTrailEvent":` + string(quoted) + `}]}`,
		`{"EventId":"e","EventName":"AttachVolume","CloudTrailEvent":` + string(quoted) + `}`,
		`{"awsAccountId":"1","digestStartTime":"2024-03-01T10:00:00Z","logFiles":[]}`,
		`{"eventVersion":"1.07","eventType":"AwsCloudTrailInsight","eventName":"x"}`,
		`{"Type":"Notification","Message":"{\"s3Bucket\":\"b\"}"}`,
		`{"records":[` + fuzzAzure[0] + `,` + fuzzAzure[1] + `]}`,
		`{"value":[` + fuzzAzure[1] + `]}`,
		fuzzAzure[0] + "\n" + fuzzAzure[0] + "\n",
		"[" + fuzzAzure[2] + "]",
		"\xef\xbb\xbf" + rec,
		`{"Records":[{"a":"\"}]}"},{"b":"\\"}]}`,
		`{"Records":[` + rec + `,{"eventName":tru},` + rec,
		"{}", "[]", "", "   ", "null", "1e999", `"str"`, "[[[[[", "]]]]", "{\"Records\":[1,2,\"x\",null]}",
		"Event Type,Event Name\n", "\x00\x01\x02",
		// Google Cloud Audit Logs: gcloud's array, entries.list, Pub/Sub
		// push and pull, a BigQuery row, bad base64.
		"[" + fuzzGCP + ",\n" + fuzzGCP + "]",
		`{"entries":[` + fuzzGCP + `],"nextPageToken":"t"}`,
		`{"message":{"data":"` + base64.StdEncoding.EncodeToString([]byte(fuzzGCP)) + `","messageId":"1"},"subscription":"s"}`,
		`{"receivedMessages":[{"ackId":"a","message":{"data":"` + base64.StdEncoding.EncodeToString([]byte(fuzzGCP)) + `"}}]}`,
		`{"logName":"projects/p/logs/cloudaudit.googleapis.com%2Factivity","timestamp":"2024-05-29 16:26:40 UTC","protopayload_auditlog":{"methodName":"v1.compute.instances.stop","requestJson":"{\"a\":1}"}}`,
		`{"message":{"data":"%%%"},"subscription":"s"}`,
		`{"logName":"projects/p/logs/syslog","timestamp":"2024-05-29T16:26:40Z","jsonPayload":{}}`,
	}
	out := make([][]byte, len(seeds))
	for i, s := range seeds {
		out[i] = []byte(s)
	}
	return out
}

// fuzzDecode runs the file decoder over data and checks the invariants.
func fuzzDecode(t *testing.T, data []byte, opt Options) {
	// A hang is a failure too: panic from the watchdog so that the fuzzer
	// keeps the input.
	watchdog := time.AfterFunc(hangLimit, func() { panic(fmt.Sprintf("decoding %q does not end", data)) })
	defer watchdog.Stop()
	var events []*event.Event
	var diags []Diag
	stats := &FileStats{File: "fuzz"}
	d := &fileDecoder{
		name: "fuzz", opt: &opt, stats: stats, forced: opt.Format,
		emit: func(ev *event.Event) { events = append(events, ev) },
		diag: func(dg Diag) { diags = append(diags, dg) },
	}
	d.run(bytes.NewReader(data))

	// The decompressed stream, as far as it goes, to check positions in.
	plain := data
	if stats.Gzip {
		plain = nil
		if zr, err := gzip.NewReader(bytes.NewReader(data)); err == nil {
			plain, _ = io.ReadAll(zr)
		}
	}
	if stats.Bytes > int64(len(plain)) {
		t.Fatalf("stats say %d bytes read of a %d-byte stream", stats.Bytes, len(plain))
	}

	var skipped, rejected, fileErrs int
	for _, dg := range diags {
		switch dg.Severity {
		case Skipped:
			skipped++
		case Rejected:
			rejected++
		case FileErr:
			fileErrs++
		}
		if dg.Offset < 0 || dg.Offset > stats.Bytes || dg.Line < 0 || dg.File != "fuzz" {
			t.Fatalf("diagnostic %+v placed outside the %d bytes read", dg, stats.Bytes)
		}
		if bytes.ContainsAny([]byte(dg.String()), "\n\r") {
			t.Fatalf("diagnostic on several lines: %q", dg.String())
		}
	}
	if fileErrs > 1 {
		t.Fatalf("%d file errors, at most one expected: %v", fileErrs, diags)
	}
	if stats.Events != len(events) || stats.NSkipped() != skipped || stats.NRejected() != rejected || (fileErrs == 1) != (stats.Error != "") {
		t.Fatalf("stats %+v disagree with %d events and diagnostics %v", stats, len(events), diags)
	}
	if len(events)+skipped+rejected > 0 && stats.Records == 0 {
		t.Fatalf("events or diagnostics from no records: %+v", stats)
	}
	for _, ev := range events {
		s := ev.Source
		if s.Offset < 0 || s.Offset >= stats.Bytes || s.Index < 0 || s.Index >= stats.Records || s.Name != "fuzz" {
			t.Fatalf("event placed at %+v, outside %d bytes and %d records", s, stats.Bytes, stats.Records)
		}
		if ev.Format.Bodyless() != "" {
			// A console CSV row starts a line.
			if s.Offset > 0 && plain[s.Offset-1] != '\n' {
				t.Fatalf("CSV row event placed at byte %d, not at the start of a line", s.Offset)
			}
		} else if plain[s.Offset] != '{' {
			t.Fatalf("event placed at byte %d, which is %q, not the '{' of its record", s.Offset, plain[s.Offset])
		}
		if want := bytes.Count(plain[:s.Offset], []byte{'\n'}) + 1; s.Line != want {
			t.Fatalf("event at byte %d placed on line %d, want %d", s.Offset, s.Line, want)
		}
		if !json.Valid(ev.Raw) {
			t.Fatalf("raw record is not JSON: %q", ev.Raw)
		}
		if _, err := json.Marshal(ev); err != nil {
			t.Fatalf("event cannot be written as JSON: %v", err)
		}
	}
}

// FuzzScanner feeds arbitrary bytes to the value and line scanners with a
// small cap: each value read must be a prefix-balanced copy of the input
// at the scanner's position, and the offset must only move forward within
// the input.
func FuzzScanner(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s, uint8(16), false)
	}
	f.Fuzz(func(t *testing.T, data []byte, max uint8, lines bool) {
		sc := newScanner(bytes.NewReader(data), scanBuf, int(max)+1)
		last := int64(-1)
		for range len(data) + 2 {
			if _, err := sc.peek(); err != nil {
				break
			}
			start := sc.off
			var v []byte
			var err error
			if lines {
				v, err = sc.readLine()
			} else {
				v, err = sc.value()
			}
			if sc.off <= last || sc.off > int64(len(data)) {
				t.Fatalf("offset went from %d to %d in %d bytes", last, sc.off, len(data))
			}
			last = sc.off
			if want := bytes.Count(data[:sc.off], []byte{'\n'}) + 1; sc.line != want {
				t.Fatalf("line %d at byte %d, want %d", sc.line, sc.off, want)
			}
			switch {
			case errors.Is(err, errTooLarge):
				if sc.off-start <= int64(max)+1 && !lines {
					t.Fatalf("%d bytes refused as over a %d-byte cap", sc.off-start, int(max)+1)
				}
			case err != nil:
				return
			case len(v) > int(max)+1:
				t.Fatalf("value of %d bytes passed a %d-byte cap", len(v), int(max)+1)
			case !lines && !bytes.Equal(v, data[start:sc.off]):
				t.Fatalf("value %q is not the input %q it was read from", v, data[start:sc.off])
			}
			if !lines {
				if _, err := sc.expect(",]}:"); err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
					var se *syntaxError
					if !errors.As(err, &se) {
						t.Fatalf("expect: %v", err)
					}
					sc.consume()
				}
			}
		}
	})
}

// FuzzDecodeFile feeds arbitrary bytes, gzipped or not, to the file
// decoder with a small record cap, recognising formats or forcing one.
func FuzzDecodeFile(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s, false, uint16(0), uint8(0))
		f.Add(s, true, uint16(64), uint8(0))
	}
	for i := range InputFormats {
		f.Add([]byte(fuzzRecord+"\n"+fuzzAzure[i%len(fuzzAzure)]), false, uint16(0), uint8(i))
	}
	f.Fuzz(func(t *testing.T, data []byte, zip bool, max uint16, format uint8) {
		if zip {
			var z bytes.Buffer
			zw := gzip.NewWriter(&z)
			zw.Write(data)
			zw.Close()
			data = z.Bytes()
		}
		opt := Options{Format: InputFormats[int(format)%len(InputFormats)]}
		if max > 0 {
			opt.MaxRecordSize = int(max)
		}
		fuzzDecode(t, data, opt)
	})
}

// FuzzDecodeRecord wraps an arbitrary JSON object in each envelope the
// decoder streams, so that every record-level decoder (CloudTrail,
// EventBridge, CloudWatch, LookupEvents, each Azure shape) sees it.
func FuzzDecodeRecord(f *testing.F) {
	f.Add([]byte(fuzzRecord), uint8(0))
	for i, a := range fuzzAzure {
		f.Add([]byte(a), uint8(i))
	}
	f.Add([]byte(`{"id":"1","timestamp":1,"message":"{\"eventVersion\":\"1\"}"}`), uint8(4))
	f.Add([]byte(`{"EventId":"e","EventName":"n","CloudTrailEvent":"{\"eventName\":1}"}`), uint8(3))
	f.Add([]byte(`{"detail-type":"x","detail":{"eventSource":"s"}}`), uint8(0))
	f.Add([]byte(fuzzGCP), uint8(5))
	f.Add([]byte(`{"ackId":"a","message":{"data":"e30="}}`), uint8(6))
	// CloudTrail bodies as fastjson writes them and not: spaces, an
	// escape, null, a string.
	for _, body := range []string{`{"a":[1,2]}`, `{ "a" : [1, 2] }`, `{"a":"x\u0041"}`, `null`, `"s"`} {
		f.Add([]byte(`{"eventVersion":"1.08","eventTime":"2026-11-02T10:00:00Z","eventName":"StopInstances","awsRegion":"us-east-1",`+
			`"recipientAccountId":"111122223333","requestParameters":`+body+`,"responseElements":`+body+`}`), uint8(0))
	}
	envelopes := []string{"Records", "records", "value", "Events", "logEvents", "entries", "receivedMessages"}
	f.Fuzz(func(t *testing.T, rec []byte, which uint8) {
		if !json.Valid(rec) {
			return
		}
		env := envelopes[int(which)%len(envelopes)]
		header := `{"messageType":"DATA_MESSAGE","logGroup":"g",`
		if which&0x80 != 0 {
			header = `{`
		}
		in := header + `"` + env + `":[` + string(rec) + `,` + string(rec) + `]}`
		fuzzDecode(t, []byte(in), Options{})
		fuzzDecode(t, append(append([]byte(nil), rec...), '\n'), Options{Format: InputFormats[int(which)%len(InputFormats)]})
		// Every operation wanted: light scans each record and hands the
		// full decoder what it found (the format, the bodies as
		// written), which must change nothing.
		for _, data := range [][]byte{[]byte(in), append(append([]byte(nil), rec...), '\n')} {
			full, fullDiags := decodeCopies(t, data, Options{Jobs: 1})
			every, everyDiags := decodeCopies(t, data, Options{Jobs: 1, Want: func(string, string) bool { return true }})
			if !reflect.DeepEqual(full, every) || !reflect.DeepEqual(fullDiags, everyDiags) {
				t.Fatalf("%s: decoded otherwise with Want:\n%+v %v\n%+v %v", data, every, everyDiags, full, fullDiags)
			}
		}
	})
}

// decodeCopies decodes data as one file, returning copies of its events
// and its diagnostics.
func decodeCopies(t *testing.T, data []byte, opt Options) ([]event.Event, []Diag) {
	var evs []event.Event
	var diags []Diag
	_, err := DecodeStream(context.Background(), "fuzz", bytes.NewReader(data), opt, Handlers{
		Event: func(ev *event.Event) error {
			c := *ev
			c.Raw = append([]byte(nil), ev.Raw...)
			evs = append(evs, c)
			return nil
		},
		Diag: func(d Diag) { diags = append(diags, d) },
	})
	if err != nil {
		t.Fatal(err)
	}
	return evs, diags
}

// FuzzResync damages one quote of a record between two good ones in a
// Records file — deleting one, or inserting one before byte at — and
// checks, besides fuzzDecode's invariants, that the record after the
// damaged one is still decoded, from the splitter's fast path and from the
// slow one: the scanner re-synchronises at the next record boundary.
func FuzzResync(f *testing.F) {
	f.Add([]byte(fuzzRecord), uint16(120), false)
	f.Add([]byte(fuzzRecord), uint16(300), true)
	f.Add([]byte(`{"eventVersion":"{{{{","a":[{"b":"}"},{"b":1}]}`), uint16(17), false)
	f.Add([]byte(`{"eventVersion" : ":" , "x" : ",1" }`), uint16(20), false)
	last := strings.Replace(fuzzRecord, `"eventID":"e-1"`, `"eventID":"e-last"`, 1)
	f.Fuzz(func(t *testing.T, rec []byte, at uint16, insert bool) {
		// A record that is one, starts as the others do, and holds no
		// object that would pass for one of them.
		if !json.Valid(rec) || !bytes.HasPrefix(rec, []byte(`{"eventVersion"`)) || bytes.Contains(rec[1:], []byte(`{"eventVersion"`)) {
			return
		}
		var quotes []int
		for i, c := range rec {
			if c == '"' {
				quotes = append(quotes, i)
			}
		}
		var damaged []byte
		if insert {
			i := 1 + int(at)%(len(rec)-1)
			damaged = append(append(append([]byte(nil), rec[:i]...), '"'), rec[i:]...)
		} else {
			i := quotes[int(at)%len(quotes)]
			if i < len(`{"eventVersion"`) {
				return // the first name, which tells records apart, broken: see the fallback in TestResyncEveryQuote
			}
			damaged = append(append([]byte(nil), rec[:i]...), rec[i+1:]...)
		}
		in := []byte("{\"Records\":[" + fuzzRecord + ",\n" + string(damaged) + ",\n" + last + "]}")
		fuzzDecode(t, in, Options{})
		for _, opt := range []Options{{}, {Jobs: 1, Want: func(string, string) bool { return true }}} {
			found := false
			_, err := DecodeStream(context.Background(), "fuzz", bytes.NewReader(in), opt, Handlers{Event: func(ev *event.Event) error {
				found = found || ev.UID == "e-last"
				return nil
			}})
			if err != nil {
				t.Fatal(err)
			}
			if !found {
				t.Fatalf("the record after %q is lost", damaged)
			}
		}
	})
}

// FuzzZipArchive feeds arbitrary bytes, as a zip archive when they start
// like one, through Read: no panic, no hang, and what is handed out adds
// up.
func FuzzZipArchive(f *testing.F) {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, _ := zw.Create("a/b.json")
	w.Write([]byte(`{"Records":[` + fuzzRecord + `]}`))
	w, _ = zw.Create("c.jsonl")
	w.Write([]byte(fuzzRecord + "\n"))
	zw.Close()
	f.Add(b.Bytes())
	f.Add([]byte("PK\x05\x06" + strings.Repeat("\x00", 18)))
	f.Add([]byte("PK\x03\x04\x14\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		watchdog := time.AfterFunc(hangLimit, func() { panic(fmt.Sprintf("reading %q does not end", data)) })
		defer watchdog.Stop()
		events := 0
		var files []FileStats
		sum, err := Read(context.Background(), []string{"-"}, Options{Jobs: 2, Stdin: bytes.NewReader(data)}, Handlers{
			Event: func(*event.Event) error { events++; return nil },
			File:  func(s FileStats) { files = append(files, s) },
		})
		if err != nil {
			t.Fatal(err)
		}
		if sum.Events != events || len(files) != 1 || files[0].Events != events {
			t.Fatalf("summary %+v, files %+v, %d events handed out", sum, files, events)
		}
	})
}
