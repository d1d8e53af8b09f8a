package ingest_test

// The shared corpus (../shared/corpus, next to the repository) holds public
// samples of CloudTrail and Azure Activity Log records collected by others,
// each folder with a PROVENANCE.md giving its counts. These tests decode
// every sample in place — nothing is copied into the repository — and check
// the counts of PROVENANCE.md, the formats recognised, a few key fields
// against an independent reading of the same bytes (encoding/json), and
// that the deliberately broken or foreign samples are refused with the
// right message. They skip when the corpus is not there, so a fresh clone
// still passes.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/ingest"
)

// corpusEnv names a directory to use as the shared corpus instead of
// looking for ../shared/corpus.
const corpusEnv = "REVERTWATCH_CORPUS"

// corpusSource returns the folder of one source in the shared corpus, or
// skips the test when the corpus or the folder is missing.
func corpusSource(t *testing.T, name string) string {
	t.Helper()
	root := os.Getenv(corpusEnv)
	if root == "" {
		dir, err := os.Getwd()
		if err != nil {
			t.Fatal(err)
		}
		for {
			c := filepath.Join(dir, "..", "shared", "corpus")
			if fi, err := os.Stat(c); err == nil && fi.IsDir() {
				root = c
				break
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				t.Skipf("shared corpus not found: no ../shared/corpus above the working directory (set %s to point at it)", corpusEnv)
			}
			dir = parent
		}
	}
	p := filepath.Join(root, name)
	if fi, err := os.Stat(p); err != nil || !fi.IsDir() {
		t.Skipf("shared corpus source %s not found under %s", name, root)
	}
	return p
}

// str reads a string member of a generic JSON object, "" when absent or
// not a string.
func str(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

// obj reads an object member of a generic JSON object.
func obj(m map[string]any, key string) map[string]any {
	o, _ := m[key].(map[string]any)
	return o
}

// checkCloudTrailFields compares an event with the CloudTrail record it
// came from, as encoding/json reads it: operation, time and caller.
func checkCloudTrailFields(t *testing.T, where string, ev *event.Event, rec map[string]any) {
	t.Helper()
	if ev.Provider != event.AWS {
		t.Errorf("%s: provider %q, want AWS", where, ev.Provider)
	}
	if name := str(rec, "eventName"); ev.Operation != name {
		t.Errorf("%s: operation %q, want eventName %q", where, ev.Operation, name)
	}
	if arn := str(obj(rec, "userIdentity"), "arn"); arn != "" && ev.Caller != arn {
		t.Errorf("%s: caller %q, want userIdentity.arn %q", where, ev.Caller, arn)
	}
	if et := str(rec, "eventTime"); et != "" {
		if want, err := time.Parse(time.RFC3339Nano, et); err == nil {
			if !ev.Time.Equal(want) || ev.TimeField != "eventTime" {
				t.Errorf("%s: time %v from %q, want %v from eventTime", where, ev.Time, ev.TimeField, want)
			}
		}
	}
	if ev.Time.IsZero() && !hasNote(ev, "time") {
		t.Errorf("%s: no time and no note saying so (notes %q)", where, ev.Notes)
	}
}

// cloudTrailTimeMembers are the members the CloudTrail decoder reads a
// time from, in its order.
var cloudTrailTimeMembers = []string{"eventTime", "@timestamp", "EventTime", "time", "p_event_time"}

// hasReadableTime reports whether a CloudTrail record has a time member
// that an independent reading takes as a time: a time.Time (YAML reads
// unquoted times so), a number (epoch), or a string in RFC 3339 or the
// space-separated layout Panther writes. Such a record is never rejected
// for want of a time; one without is.
func hasReadableTime(rec map[string]any) bool {
	for _, k := range cloudTrailTimeMembers {
		switch v := rec[k].(type) {
		case time.Time:
			return true
		case float64, int, int64:
			return true
		case string:
			for _, l := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02T15:04:05.999999999"} {
				if _, err := time.Parse(l, v); err == nil {
					return true
				}
			}
		}
	}
	return false
}

// checkAzureFields compares an event with the Activity Log record it came
// from: operation (lower-cased), time and caller.
func checkAzureFields(t *testing.T, where string, ev *event.Event, rec map[string]any) {
	t.Helper()
	if ev.Provider != event.Azure {
		t.Errorf("%s: provider %q, want Azure", where, ev.Provider)
	}
	op := str(rec, "operationName")
	if op == "" {
		op = str(obj(rec, "operationName"), "value")
	}
	if ev.OperationName != op || ev.Operation != strings.ToLower(op) {
		t.Errorf("%s: operation %q (%q), want %q", where, ev.Operation, ev.OperationName, op)
	}
	if c := str(rec, "caller"); c != "" && ev.Caller != c {
		t.Errorf("%s: caller %q, want %q", where, ev.Caller, c)
	}
	for _, f := range []string{"time", "eventTimestamp"} {
		if s := str(rec, f); s != "" {
			if want, err := time.Parse(time.RFC3339Nano, s); err == nil && !ev.Time.Equal(want) {
				t.Errorf("%s: time %v, want %s %v", where, ev.Time, f, want)
			}
			break
		}
	}
}

// countOps tallies events by a field.
func countOps(events []*event.Event, key func(*event.Event) string) map[string]int {
	m := map[string]int{}
	for _, ev := range events {
		m[key(ev)]++
	}
	return m
}

func checkCounts(t *testing.T, what string, got, want map[string]int) {
	t.Helper()
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s: %d × %q, want %d", what, got[k], k, n)
		}
	}
}

// --- panther-analysis ---------------------------------------------------

// pantherCase is one log of a panther-analysis rule test or test scenario.
type pantherCase struct {
	file, name, logType string
	log                 map[string]any
}

// jsonable turns what the YAML decoder made into something encoding/json
// can write: maps with non-string keys get string keys.
func jsonable(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = jsonable(e)
		}
		return x
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[fmt.Sprint(k)] = jsonable(e)
		}
		return m
	case []any:
		for i, e := range x {
			x[i] = jsonable(e)
		}
		return x
	}
	return v
}

// pantherCases reads the logs of every rule test (Tests[].Log, with the
// test's LogType or else the rule's only LogType) and of every test
// scenario (Logs[] with the file's LogType) under dir, keeping those of
// the wanted log types. Tests without a Log (correlation rules, tests
// driven by mocks) hold no event and are left out.
func pantherCases(t *testing.T, dir string, logTypes ...string) []pantherCase {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "rules", "*", "*.yml"))
	if err != nil {
		t.Fatal(err)
	}
	scenarios, _ := filepath.Glob(filepath.Join(dir, "test_scenarios", "*", "*.yml"))
	files = append(files, scenarios...)
	sort.Strings(files)
	want := map[string]bool{}
	for _, lt := range logTypes {
		want[lt] = true
	}
	var out []pantherCase
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			LogType  string   `yaml:"LogType"`
			LogTypes []string `yaml:"LogTypes"`
			Logs     []any    `yaml:"Logs"`
			Tests    []struct {
				Name    string `yaml:"Name"`
				LogType string `yaml:"LogType"`
				Log     any    `yaml:"Log"`
			} `yaml:"Tests"`
		}
		if err := yaml.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		rel, _ := filepath.Rel(dir, f)
		for i, l := range doc.Logs {
			if m, ok := jsonable(l).(map[string]any); ok && want[doc.LogType] {
				out = append(out, pantherCase{rel, fmt.Sprintf("Logs[%d]", i), doc.LogType, m})
			}
		}
		for _, tc := range doc.Tests {
			lt := tc.LogType
			if lt == "" && len(doc.LogTypes) == 1 {
				lt = doc.LogTypes[0]
			}
			m, ok := jsonable(tc.Log).(map[string]any)
			if !ok || !want[lt] {
				continue
			}
			out = append(out, pantherCase{rel, tc.Name, lt, m})
		}
	}
	return out
}

// pantherLowerCased are panther tests whose CloudTrail logs have every key
// lower-cased ("eventname", "useridentity"), as a data-lake table exports
// them. revertwatch reads CloudTrail as AWS delivers it, with its
// camelCase keys, so these are refused as unrecognized records, one by
// one, with the rest of the stream decoded.
var pantherLowerCased = map[string]bool{
	"rules/aws_cloudtrail_rules/aws_cloudtrail_password_policy_discovery.yml|Non-Discovery Event":        true,
	"rules/aws_cloudtrail_rules/aws_cloudtrail_password_policy_discovery.yml|Password Discovery ARN":     true,
	"rules/aws_cloudtrail_rules/aws_cloudtrail_password_policy_discovery.yml|Password Discovery Service": true,
	"rules/aws_cloudtrail_rules/aws_ec2_startup_script_change.yml|ModifyInstanceAttribute-NoUserData":    true,
	"rules/aws_cloudtrail_rules/aws_ec2_startup_script_change.yml|NoModifyInstanceAttribute":             true,
	"rules/aws_cloudtrail_rules/aws_ipset_modified.yml|CreateIPSet Event":                                true,
	"rules/aws_cloudtrail_rules/aws_ipset_modified.yml|UpdateIPSet":                                      true,
	"rules/aws_cloudtrail_rules/aws_ipset_modified.yml|NotIPSet":                                         true,
}

// decodePanther feeds the cases as one JSON-lines stream (each log
// re-encoded as one line) and returns the run and, for each event or
// diagnostic index, its case.
func decodePanther(t *testing.T, cases []pantherCase) run {
	t.Helper()
	var b strings.Builder
	for _, c := range cases {
		line, err := json.Marshal(c.log)
		if err != nil {
			t.Fatalf("%s %q: %v", c.file, c.name, err)
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	return readBytes(t, []byte(b.String()), ingest.Options{})
}

func TestCorpusPantherCloudTrail(t *testing.T) {
	dir := corpusSource(t, "panther-analysis")
	cases := pantherCases(t, dir, "AWS.CloudTrail")
	var rules, scenarios int
	for _, c := range cases {
		if strings.HasPrefix(c.file, "test_scenarios") {
			scenarios++
		} else {
			rules++
		}
	}
	// PROVENANCE.md: 458 events in rules/aws_cloudtrail_rules, 27 in the
	// CloudTrail test scenarios.
	if rules != 458 || scenarios != 27 {
		t.Fatalf("found %d rule logs and %d scenario logs, want 458 and 27", rules, scenarios)
	}
	// Some of Panther's test logs are abridged to the fields a rule reads:
	// 14 carry no time member at all and 2 a redacted one ("redacted",
	// "..."). They cannot be placed in time, so they are rejected, not
	// processed at 0001-01-01 (issue 18): a responder must hear that they
	// were not looked at. Which ones is read from the logs themselves; the
	// number pins the corpus.
	const pantherTimeless = 16
	timeless := 0
	for _, c := range cases {
		if !pantherLowerCased[c.file+"|"+c.name] && !hasReadableTime(c.log) {
			timeless++
		}
	}
	if timeless != pantherTimeless {
		t.Errorf("%d logs without a time member, want %d", timeless, pantherTimeless)
	}
	r := decodePanther(t, cases)
	if want := len(cases) - len(pantherLowerCased) - timeless; len(r.events) != want {
		t.Fatalf("%d events from %d logs, want %d\n%s", len(r.events), len(cases), want, r.describe())
	}
	if r.sum.FileErrors != 0 || r.sum.Skipped != 0 {
		t.Errorf("unexpected file errors or skips:\n%s", r.describe())
	}
	rejected := map[int]ingest.Diag{}
	for _, d := range r.diagsOf(ingest.Rejected) {
		rejected[d.Index] = d
	}
	for i, c := range cases {
		key := c.file + "|" + c.name
		d, isRejected := rejected[i]
		if pantherLowerCased[key] {
			if c.log["eventname"] == nil || c.log["eventName"] != nil {
				t.Errorf("%s: listed as lower-cased but has keys %v", key, c.log)
			}
			if !isRejected || d.Reason != "unrecognized record" || d.Line != i+1 {
				t.Errorf("%s: want rejected as unrecognized record at line %d, got %+v", key, i+1, d)
			}
			continue
		}
		if !hasReadableTime(c.log) {
			if !isRejected || !strings.Contains(d.Reason, "event time") || d.Line != i+1 {
				t.Errorf("%s: no readable time: want rejected for want of a time at line %d, got %+v", key, i+1, d)
			}
			continue
		}
		if isRejected {
			t.Errorf("%s: rejected: %s", key, d)
		}
	}
	for _, ev := range r.events {
		c := cases[ev.Source.Index]
		where := fmt.Sprintf("%s %q", c.file, c.name)
		if ev.Format != event.FormatCloudTrailLines {
			t.Errorf("%s: format %q", where, ev.Format)
		}
		if ev.Source.Line != ev.Source.Index+1 {
			t.Errorf("%s: line %d for record %d of a JSON-lines stream", where, ev.Source.Line, ev.Source.Index)
		}
		checkCloudTrailFields(t, where, ev, c.log)
	}
	var ruleEvents, scenarioEvents []*event.Event
	for _, ev := range r.events {
		if strings.HasPrefix(cases[ev.Source.Index].file, "test_scenarios") {
			scenarioEvents = append(scenarioEvents, ev)
		} else {
			ruleEvents = append(ruleEvents, ev)
		}
	}
	op := func(ev *event.Event) string { return ev.Operation }
	checkCounts(t, "rules", countOps(ruleEvents, op), map[string]int{
		// ConsoleLogin: 24 logs, of which the 3 of the password-spraying rule
		// have no time and are rejected.
		"ConsoleLogin": 21, "RunInstances": 10, "ModifyImageAttribute": 6, "ModifySnapshotAttribute": 4,
		"CreateDBSnapshot": 6, "RestoreDBInstanceFromDBSnapshot": 2, "TerminateInstances": 2, "CreateImage": 2,
		"ModifyInstanceAttribute": 1, // the other two logs of that rule are the lower-cased ones
	})
	checkCounts(t, "test_scenarios", countOps(scenarioEvents, op), map[string]int{
		"ConsoleLogin": 14, "AttachUserPolicy": 4, "CreateAccessKey": 3, "CreateUser": 2, "RunInstances": 1, "StopLogging": 1,
	})
}

func TestCorpusPantherAzure(t *testing.T) {
	dir := corpusSource(t, "panther-analysis")
	cases := pantherCases(t, dir, "Azure.MonitorActivity")
	// PROVENANCE.md: 214 events in rules/azure_activity_rules. Panther's
	// Azure.MonitorActivity also takes Azure Storage resource logs
	// (GetBlob, PutBlob, DeleteBlob; category StorageRead/Write/Delete):
	// they share the diagnostic-export schema (time, resourceId,
	// operationName, category), so they decode as export records and are
	// told apart by operation, not refused.
	if len(cases) != 214 {
		t.Fatalf("found %d Azure logs, want 214", len(cases))
	}
	r := decodePanther(t, cases)
	if len(r.events) != len(cases) || r.sum.Rejected != 0 || r.sum.Skipped != 0 || r.sum.FileErrors != 0 {
		t.Fatalf("%d events from %d logs, want all, no diagnostics\n%s", len(r.events), len(cases), r.describe())
	}
	for _, ev := range r.events {
		c := cases[ev.Source.Index]
		where := fmt.Sprintf("%s %q", c.file, c.name)
		want := event.FormatAzureStorage
		if obj(c.log, "operationName") != nil {
			want = event.FormatAzureREST // operationName as {value, localizedValue}
		}
		if ev.Format != want {
			t.Errorf("%s: format %q, want %q", where, ev.Format, want)
		}
		checkAzureFields(t, where, ev, c.log)
	}
	name := func(ev *event.Event) string { return ev.OperationName }
	checkCounts(t, "azure rules", countOps(r.events, name), map[string]int{
		"Microsoft.Storage/storageAccounts/write": 9,
		"GetBlob": 5,
		"Microsoft.Compute/disks/beginGetAccess/action":   3,
		"MICROSOFT.COMPUTE/SNAPSHOTS/WRITE":               1,
		"MICROSOFT.COMPUTE/VIRTUALMACHINES/WRITE":         1,
		"Microsoft.Compute/virtualMachines/write":         1,
		"MICROSOFT.COMPUTE/RESTOREPOINTCOLLECTIONS/WRITE": 1,
	})
}

// --- streamalert --------------------------------------------------------

// streamalertFile is what one streamalert fixture file must give: each
// test case's data is fed on its own.
type streamalertFile struct {
	path     string
	events   int
	format   event.Format
	skipped  string // reason every case is skipped with
	rejected string // reason every case is rejected with
	// timeless counts the cases whose record has no readable time (a
	// placeholder such as "...", "foo" or "eventTime" where the time
	// was sanitized away, in the envelope too): they cannot be placed in
	// time, so they are rejected rather than processed at 0001-01-01
	// (issue 18). Which cases is read from the data itself.
	timeless int
}

var streamalertFiles = []streamalertFile{
	{path: "rules/classifier/cloudtrail/cloudtrail_events.json", timeless: 1, format: event.FormatCloudTrailRecords},
	// An Insights event is not an API call.
	{path: "rules/classifier/cloudtrail/cloudtrail_insights.json", skipped: "CloudTrail Insights event"},
	// A DATA_MESSAGE whose one message is a placeholder CloudTrail record.
	{path: "rules/classifier/cloudwatch/cloudwatch_cloudtrail.json", timeless: 1, format: event.FormatCloudTrailCloudWatch},
	{path: "rules/classifier/cloudwatch/cloudwatch_control_message.json", skipped: "CloudWatch CONTROL_MESSAGE"},
	// RDS Aurora audit lines in a CloudWatch payload are not CloudTrail:
	// the negatives of format detection.
	{path: "rules/classifier/cloudwatch/cloudwatch_rds_aurora.json", rejected: "CloudWatch message is not a CloudTrail record"},
	{path: "rules/community/cloudtrail/cloudtrail_aws_config.json", timeless: 3, format: event.FormatCloudTrailRecords},
	{path: "rules/community/cloudwatch_events/cloudtrail_critical_api_calls.json", events: 15, format: event.FormatCloudTrailRecords},
	{path: "rules/community/cloudwatch_events/cloudtrail_ec2_image_creation.json", events: 2, format: event.FormatCloudTrailEventBridge},
	{path: "rules/community/cloudwatch_events/cloudtrail_mfa_policy_abuse_attempt.json", events: 4, format: event.FormatCloudTrailRecords},
	// The next seven hold EventBridge envelopes whose detail-type was
	// sanitized to "..." around a real CloudTrail record.
	{path: "rules/community/cloudwatch_events/cloudtrail_network_acl_ingress_anywhere.json", timeless: 2, format: event.FormatCloudTrailEventBridge},
	{path: "rules/community/cloudwatch_events/cloudtrail_public_resources.json", events: 12, format: event.FormatCloudTrailRecords},
	{path: "rules/community/cloudwatch_events/cloudtrail_put_bucket_acl.json", timeless: 2, format: event.FormatCloudTrailEventBridge},
	{path: "rules/community/cloudwatch_events/cloudtrail_put_object_acl_public.json", timeless: 4, format: event.FormatCloudTrailEventBridge},
	{path: "rules/community/cloudwatch_events/cloudtrail_put_object_acl_public_publisher_example.json", events: 1, format: event.FormatCloudTrailEventBridge},
	{path: "rules/community/cloudwatch_events/cloudtrail_root_account_usage.json", timeless: 2, format: event.FormatCloudTrailEventBridge},
	{path: "rules/community/cloudwatch_events/cloudtrail_security_group_ingress_anywhere.json", events: 2, format: event.FormatCloudTrailEventBridge},
	{path: "rules/community/cloudwatch_events/cloudtrail_snapshot_or_ami_made_public.json", events: 5, format: event.FormatCloudTrailRecords},
}

// innerRecord finds the CloudTrail record a streamalert case wraps: the
// only member of Records, an EventBridge detail, or a CloudWatch message.
func innerRecord(t *testing.T, data map[string]any) map[string]any {
	t.Helper()
	if recs, ok := data["Records"].([]any); ok && len(recs) == 1 {
		m, _ := recs[0].(map[string]any)
		return m
	}
	if d := obj(data, "detail"); d != nil {
		return d
	}
	if les, ok := data["logEvents"].([]any); ok && len(les) == 1 {
		var m map[string]any
		if err := json.Unmarshal([]byte(str(les[0].(map[string]any), "message")), &m); err == nil {
			return m
		}
	}
	return nil
}

func TestCorpusStreamalert(t *testing.T) {
	dir := corpusSource(t, "streamalert-tests")
	found, err := filepath.Glob(filepath.Join(dir, "rules", "*", "*", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != len(streamalertFiles) {
		t.Errorf("%d fixture files in the corpus, %d listed here", len(found), len(streamalertFiles))
	}
	total, totalTimeless := 0, 0
	for _, sf := range streamalertFiles {
		t.Run(filepath.Base(sf.path), func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(dir, sf.path))
			if err != nil {
				t.Fatal(err)
			}
			var cases []map[string]any
			if err := json.Unmarshal(b, &cases); err != nil {
				t.Fatal(err)
			}
			events, timeless := 0, 0
			for i, tc := range cases {
				// A control message's fixture gives the record as
				// override_record, not data.
				data := obj(tc, "data")
				if data == nil {
					data = obj(tc, "override_record")
				}
				if data == nil {
					t.Fatalf("case %d has neither data nor override_record", i)
				}
				raw, err := json.Marshal(data)
				if err != nil {
					t.Fatal(err)
				}
				r := readBytes(t, raw, ingest.Options{})
				where := fmt.Sprintf("case %d (%s)", i, str(tc, "description"))
				events += len(r.events)
				switch {
				case sf.skipped != "":
					if len(r.events) != 0 || r.sum.Skipped != 1 || r.sum.Rejected != 0 || r.diagsOf(ingest.Skipped)[0].Reason != sf.skipped {
						t.Errorf("%s: want skipped as %q\n%s", where, sf.skipped, r.describe())
					}
				case sf.rejected != "":
					if len(r.events) != 0 || r.sum.Rejected != 1 || r.diagsOf(ingest.Rejected)[0].Reason != sf.rejected {
						t.Errorf("%s: want rejected as %q\n%s", where, sf.rejected, r.describe())
					}
				default:
					rec := innerRecord(t, data)
					if rec == nil {
						t.Fatalf("%s: no inner record", where)
					}
					if !hasReadableTime(rec) && !hasReadableTime(data) {
						timeless++
						if len(r.events) != 0 || r.sum.Rejected != 1 || !strings.Contains(r.diagsOf(ingest.Rejected)[0].Reason, "event time") {
							t.Errorf("%s: no readable time: want rejected for want of one\n%s", where, r.describe())
						}
						continue
					}
					if len(r.events) != 1 || r.sum.Rejected != 0 || r.sum.Skipped != 0 || r.sum.FileErrors != 0 {
						t.Errorf("%s: want one event, no diagnostics\n%s", where, r.describe())
						continue
					}
					ev := r.events[0]
					if ev.Format != sf.format {
						t.Errorf("%s: format %q, want %q", where, ev.Format, sf.format)
					}
					checkCloudTrailFields(t, where, ev, rec)
					if ev.Format == event.FormatCloudTrailEventBridge && str(data, "detail-type") == "..." &&
						!hasNote(ev, "detail-type") {
						t.Errorf("%s: unknown detail-type decoded without a note: %q", where, ev.Notes)
					}
					if ev.Format == event.FormatCloudTrailCloudWatch {
						if ev.Source.Header != "CloudTrail/DefaultLogGroup" || ev.LoggedTime.UnixMilli() != 1526951139360 {
							t.Errorf("%s: log group %q, logged time %v", where, ev.Source.Header, ev.LoggedTime)
						}
					}
				}
			}
			if events != sf.events || timeless != sf.timeless {
				t.Errorf("%d events and %d cases without a time, want %d and %d", events, timeless, sf.events, sf.timeless)
			}
			total += events
			totalTimeless += timeless
		})
	}
	// PROVENANCE.md counts 57 CloudTrail records; one is the Insights
	// event, skipped, and 15 have their time sanitized away, rejected.
	if !t.Failed() && (total != 41 || totalTimeless != 15) {
		t.Errorf("%d events and %d records without a time in all, want 41 and 15", total, totalTimeless)
	}
}

// --- aws-cloudtrail-processing-library ----------------------------------

func TestCorpusProcessingLibrary(t *testing.T) {
	dir := filepath.Join(corpusSource(t, "aws-cloudtrail-processing-library-tests"), "src", "test", "resources", "resources")
	// rejected lists the records that are not events (issue 18): a record
	// with no readable time cannot be placed in time, and processed at
	// 0001-01-01 it would be a silent wrong answer; each is rejected with
	// the reason given. A record with a time and an operation but other
	// fields missing, renamed or added is still an event.
	type rejection struct {
		index  int
		reason string
	}
	good := []struct {
		name     string
		records  int
		rejected []rejection
	}{
		{"SerializerTestFile.json", 6, nil},
		{"SerializerTestFileCompact.json", 6, nil},
		{"SerializerTestFileCompact.json.gz", 6, nil},
		{"SerializerTestFileLocation.json", 6, nil},
		// Record 3's eventTime is "ThisIsAWrongEventTime": it has an
		// operation but no time, and no other time member to fall back to.
		{"SerializerTestFileMissField.json", 4, []rejection{{3, "no readable event time"}}},
		{"SerializerTestFileNewFieldAtRandomPlaces.json", 2, nil},
		// Record 0 renames every member (eventTime1, eventName1, ...): no
		// time and no operation, nothing a responder can use.
		{"SerializerTestFileNewFieldName.json", 2, []rejection{{0, "no event time and no operation"}}},
		{"SerializerTestFileNewFieldsInRoot.json", 2, nil},
		{"SerializerTestFileNewFieldsInUserIdentity.json", 2, nil},
		// Record 0 misspells every member (eventTimeWrong, ...): the same.
		{"SerializerTestFileBadFieldName.json", 2, []rejection{{0, "no event time and no operation"}}},
		// Record 0 has every member null: the same.
		{"SerializerAllFieldsNull.json", 2, []rejection{{0, "no event time and no operation"}}},
		{"SerializerVariousUserIdentityTestFile.json", 1, nil},
	}
	total, rejected := 0, 0
	for _, g := range good {
		t.Run(g.name, func(t *testing.T) {
			path := filepath.Join(dir, g.name)
			r := read(t, []string{path}, ingest.Options{})
			want := g.records - len(g.rejected)
			if len(r.events) != want || len(r.diags) != len(g.rejected) || r.sum.Rejected != len(g.rejected) {
				t.Fatalf("%d events, want %d, and %d rejected\n%s", len(r.events), want, len(g.rejected), r.describe())
			}
			if len(g.rejected) == 0 && r.sum.ExitCode() != 0 {
				t.Errorf("exit code %d", r.sum.ExitCode())
			}
			for i, d := range r.diagsOf(ingest.Rejected) {
				if d.Index != g.rejected[i].index || d.Reason != g.rejected[i].reason || d.File != path {
					t.Errorf("rejected %+v, want record %d as %q", d, g.rejected[i].index, g.rejected[i].reason)
				}
			}
			st := r.files[0]
			if st.Gzip != strings.HasSuffix(g.name, ".gz") || len(st.Formats) != 1 || st.Formats[0] != string(event.FormatCloudTrailRecords) {
				t.Errorf("stats %+v", st)
			}
			// The independent reading: the same file through encoding/json.
			jsonName := strings.TrimSuffix(g.name, ".gz")
			b, err := os.ReadFile(filepath.Join(dir, jsonName))
			if err != nil {
				t.Fatal(err)
			}
			var file struct{ Records []map[string]any }
			if err := json.Unmarshal(b, &file); err != nil {
				t.Fatal(err)
			}
			if len(file.Records) != g.records {
				t.Fatalf("%d records in the file, want %d", len(file.Records), g.records)
			}
			for _, rj := range g.rejected {
				if hasReadableTime(file.Records[rj.index]) {
					t.Errorf("record %d, rejected, has a time", rj.index)
				}
			}
			for _, ev := range r.events {
				i := ev.Source.Index
				checkCloudTrailFields(t, fmt.Sprintf("record %d", i), ev, file.Records[i])
			}
			total += len(r.events)
			rejected += len(g.rejected)
		})
	}
	// PROVENANCE.md: 35 records across the JSON files, the .gz repeating
	// the compact file's 6; 4 of them are rejected as not events.
	if !t.Failed() && (total != 35+6-4 || rejected != 4) {
		t.Errorf("%d events and %d rejected records in all, want 37 and 4", total, rejected)
	}

	t.Run("SerializerTestFileNewFieldName.json/renamed eventName", func(t *testing.T) {
		// The record whose eventName (and eventTime) are renamed used to
		// come out as an event without an operation and a note; it is
		// rejected, naming the file and the record, and the other decoded.
		path := filepath.Join(dir, "SerializerTestFileNewFieldName.json")
		r := read(t, []string{path}, ingest.Options{})
		for _, ev := range r.events {
			if ev.Operation == "" || ev.Time.IsZero() {
				t.Errorf("event without an operation or a time: %+v", ev)
			}
		}
		rej := r.diagsOf(ingest.Rejected)
		if len(r.events) != 1 || len(rej) != 1 || rej[0].File != path || rej[0].Index != 0 || rej[0].Line != 3 ||
			!strings.Contains(rej[0].Msg, "record 0 has no event time and no operation") {
			t.Errorf("want the renamed record rejected\n%s", r.describe())
		}
	})

	t.Run("SerializerTestFileBadJsonFormat.json", func(t *testing.T) {
		// userIdentity of the first record is never closed, so the first
		// record runs on to the array's "]" and the file's last "}" is
		// left over: the record is refused (its own line named) and the
		// structure error ends the file.
		path := filepath.Join(dir, "SerializerTestFileBadJsonFormat.json")
		r := read(t, []string{path}, ingest.Options{})
		rej := r.diagsOf(ingest.Rejected)
		ferr := r.diagsOf(ingest.FileErr)
		if len(r.events) != 0 || len(rej) != 1 || len(ferr) != 1 {
			t.Fatalf("want one rejected record and one file error\n%s", r.describe())
		}
		if rej[0].Reason != "malformed JSON" || rej[0].Line != 3 || !strings.Contains(rej[0].Msg, "malformed JSON in record 0") {
			t.Errorf("rejected: %s", rej[0])
		}
		if ferr[0].Line != 77 || !strings.Contains(ferr[0].Msg, "malformed JSON structure") || !strings.HasPrefix(ferr[0].String(), path+":77: error:") {
			t.Errorf("file error: %s", ferr[0])
		}
		if r.sum.ExitCode() != 2 {
			t.Errorf("exit code %d, want 2 (nothing readable)", r.sum.ExitCode())
		}
	})

	t.Run("SQSMessageBody", func(t *testing.T) {
		// An SNS notification announcing log files carries no event.
		r := read(t, []string{filepath.Join(dir, "SQSMessageBody")}, ingest.Options{})
		sk := r.diagsOf(ingest.Skipped)
		if len(r.events) != 0 || len(sk) != 1 || sk[0].Reason != "S3 delivery notification" || r.sum.ExitCode() != 0 {
			t.Errorf("want skipped as a delivery notification\n%s", r.describe())
		}
	})

	t.Run("SQSMessageBodyWrongFormat", func(t *testing.T) {
		// The same notification with "Message" misspelled "Messagess".
		r := read(t, []string{filepath.Join(dir, "SQSMessageBodyWrongFormat")}, ingest.Options{})
		rej := r.diagsOf(ingest.Rejected)
		if len(r.events) != 0 || len(rej) != 1 || rej[0].Reason != "notification without Message" || r.sum.ExitCode() != 3 {
			t.Errorf("want rejected as a notification without Message\n%s", r.describe())
		}
	})
}

// --- Azure: OpenTelemetry and Microsoft docs ----------------------------

func TestCorpusAzureEventHub(t *testing.T) {
	otel := filepath.Join(corpusSource(t, "otel-collector-contrib-azurelogs"), "pkg", "translator", "azurelogs", "testdata", "administrative", "valid_1.json")
	docs := filepath.Join(corpusSource(t, "microsoft-docs-activity-log-schema"), "records_eventhub_storage_example.json")
	r := read(t, []string{otel, docs}, ingest.Options{})
	if len(r.events) != 2 || len(r.diags) != 0 || r.sum.ExitCode() != 0 {
		t.Fatalf("want one event from each file, no diagnostics\n%s", r.describe())
	}
	for i, path := range []string{otel, docs} {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var file struct{ Records []map[string]any }
		if err := json.Unmarshal(b, &file); err != nil {
			t.Fatal(err)
		}
		ev := r.events[i]
		if ev.Source.Name != path || ev.Format != event.FormatAzureEventHub {
			t.Errorf("event %d: from %s as %s", i, ev.Source.Name, ev.Format)
		}
		checkAzureFields(t, filepath.Base(path), ev, file.Records[0])
	}

	o := r.events[0]
	if o.Operation != "microsoft.insights/diagnosticsettings/write" || o.Phase != event.PhaseStart || o.Outcome != event.OutcomePending ||
		!o.Time.Equal(time.Date(2025, 4, 15, 10, 16, 32, 987344100, time.UTC)) {
		t.Errorf("otel: %s %s %s at %v", o.Operation, o.Phase, o.Outcome, o.Time)
	}
	// No top-level caller in an export: the person is in the claims.
	if o.Actor.Name != "user@example.com" || o.Actor.UID != "bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb" || o.Caller != "user@example.com" ||
		o.SrcIP != "203.0.113.10" || o.Account != "11111111-1111-1111-1111-111111111111" {
		t.Errorf("otel actor %+v caller %q ip %q account %q", o.Actor, o.Caller, o.SrcIP, o.Account)
	}

	d := r.events[1]
	if d.Operation != "microsoft.support/supporttickets/write" || d.Outcome != event.OutcomeSuccess || d.EventType != "Write" ||
		!d.Time.Equal(time.Date(2019, 1, 21, 22, 14, 26, 979277600, time.UTC)) {
		t.Errorf("docs: %s %s %q at %v", d.Operation, d.Outcome, d.EventType, d.Time)
	}
	if d.Caller != "admin@contoso.com" || d.ResourceGroup != "MSSupportGroup" || d.SrcIP != "111.111.111.11" {
		t.Errorf("docs: caller %q group %q ip %q", d.Caller, d.ResourceGroup, d.SrcIP)
	}
}

// --- OTRF Security-Datasets ---------------------------------------------

func TestCorpusOTRF(t *testing.T) {
	dir := filepath.Join(corpusSource(t, "otrf-security-datasets-aws"), "datasets", "atomic", "aws")
	lines := filepath.Join(dir, "collection", "ec2_proxy_s3_exfiltration_2020-09-14011940.json")
	csv := filepath.Join(dir, "discovery", "AWS_S3_HoneyBucketLogs.csv")
	// Both at once: the CSV is refused and the JSON lines still read.
	r := read(t, []string{csv, lines}, ingest.Options{})
	if r.sum.ExitCode() != 3 || r.sum.FileErrors != 1 || r.sum.Rejected != 0 {
		t.Errorf("exit code %d, want 3 (one file unreadable, the other read)\n%s", r.sum.ExitCode(), r.describe())
	}

	ferr := r.diagsOf(ingest.FileErr)
	if len(ferr) != 1 || ferr[0].File != csv || ferr[0].Reason != "unknown format" ||
		!strings.HasPrefix(ferr[0].String(), csv+":1: error: unknown format: a CSV file whose header is not that of a console export") {
		t.Errorf("CSV: want one unknown-format error naming the file, got\n%s", r.describe())
	}

	// PROVENANCE.md: 103 events, no eventTime (Logstash moved it to
	// @timestamp), 2020-09-14T00:44:20Z to 01:13:20Z.
	if len(r.events) != 103 {
		t.Fatalf("%d events, want 103", len(r.events))
	}
	b, err := os.ReadFile(lines)
	if err != nil {
		t.Fatal(err)
	}
	var recs []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, m)
	}
	from := time.Date(2020, 9, 14, 0, 44, 20, 0, time.UTC)
	to := time.Date(2020, 9, 14, 1, 13, 20, 0, time.UTC)
	nullRequests := 0
	for i, ev := range r.events {
		rec := recs[i]
		where := fmt.Sprintf("line %d", i+1)
		if _, has := rec["eventTime"]; has {
			t.Fatalf("%s has an eventTime; the test assumes none", where)
		}
		checkCloudTrailFields(t, where, ev, rec)
		want, err := time.Parse(time.RFC3339Nano, str(rec, "@timestamp"))
		if err != nil {
			t.Fatalf("%s: @timestamp: %v", where, err)
		}
		if !ev.Time.Equal(want) || ev.TimeField != "@timestamp" || !hasNote(ev, "used @timestamp") {
			t.Errorf("%s: time %v from %q, notes %q; want %v from @timestamp with a note", where, ev.Time, ev.TimeField, ev.Notes, want)
		}
		if ev.Time.Before(from) || ev.Time.After(to) {
			t.Errorf("%s: time %v outside the dataset's window", where, ev.Time)
		}
		if ev.Format != event.FormatCloudTrailLines || ev.Source.Line != i+1 {
			t.Errorf("%s: format %s line %d", where, ev.Format, ev.Source.Line)
		}
		if ev.Request == nil {
			nullRequests++
		}
	}
	if nullRequests != 5 {
		t.Errorf("%d events without request parameters, want 5", nullRequests)
	}
	checkCounts(t, "OTRF", countOps(r.events, func(ev *event.Event) string { return ev.Operation }), map[string]int{
		"DescribeInstances": 11, "DescribeVolumes": 10, "DescribeVolumeStatus": 9, "ListObjects": 7, "AssumeRole": 5,
		"DescribeSnapshots": 2, "GetObject": 2, "DescribeSecurityGroups": 1,
	})
}
