package sigma

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/revertwatch/revertwatch/event"
)

// rule1 wraps a detection body into a CloudTrail rule.
func rule1(det string) string {
	return "title: t\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n" + det
}

func TestModifiers(t *testing.T) {
	enc := base64.StdEncoding.EncodeToString([]byte("secret payload"))
	cases := []struct {
		name, det, hit, miss string
		cfg                  *Config
	}{
		{"plain is case-insensitive", "  s: {eventName: stopinstances}\n  condition: s", ct("", "StopInstances"), ct("", "StartInstances"), nil},
		{"wildcards", "  s: {eventName: 'Stop*ces'}\n  condition: s", ct("", "StopInstances"), ct("", "StopInstance"), nil},
		{"? is one character", "  s: {eventName: 'Stop?nstances'}\n  condition: s", ct("", "StopInstances"), ct("", "StopXXnstances"), nil},
		{"escaped wildcard is literal", `  s: {userAgent: 'a\*b'}` + "\n  condition: s", ct("", "X", "userAgent=a*b"), ct("", "X", "userAgent=axxb"), nil},
		{"contains", "  s: {userAgent|contains: terraform}\n  condition: s", ct("", "X", "userAgent=APN/1.0 HashiCorp/1.0 Terraform/1.5"), ct("", "X", "userAgent=aws-cli"), nil},
		{"startswith", "  s: {userAgent|startswith: aws-cli}\n  condition: s", ct("", "X", "userAgent=aws-cli/2"), ct("", "X", "userAgent=x aws-cli"), nil},
		{"endswith", "  s: {userAgent|endswith: '/2'}\n  condition: s", ct("", "X", "userAgent=aws-cli/2"), ct("", "X", "userAgent=aws-cli/3"), nil},
		{"all", "  s: {userAgent|contains|all: [aws, cli]}\n  condition: s", ct("", "X", "userAgent=aws-cli"), ct("", "X", "userAgent=aws-sdk"), nil},
		{"cased", "  s: {eventName|cased: StopInstances}\n  condition: s", ct("", "StopInstances"), ct("", "stopinstances"), nil},
		{"re", "  s: {eventName|re: '^Stop.*s$'}\n  condition: s", ct("", "StopInstances"), ct("", "stopInstances"), nil},
		{"re i", "  s: {eventName|re|i: '^stop.*s$'}\n  condition: s", ct("", "StopInstances"), ct("", "StartInstances"), nil},
		{"re m", "  s: {userAgent|re|m: '^b$'}\n  condition: s", ct("", "X", "userAgent=a\nb"), ct("", "X", "userAgent=a b"), nil},
		{"re s", "  s: {userAgent|re|s: 'a.b'}\n  condition: s", ct("", "X", "userAgent=a\nb"), ct("", "X", "userAgent=ab"), nil},
		{"cidr", "  s: {sourceIPAddress|cidr: 10.0.0.0/8}\n  condition: s", ct("", "X", "sourceIPAddress=10.1.2.3"), ct("", "X", "sourceIPAddress=11.1.2.3"), nil},
		{"cidr v6", "  s: {sourceIPAddress|cidr: '2001:db8::/32'}\n  condition: s", ct("", "X", "sourceIPAddress=2001:db8::1"), ct("", "X", "sourceIPAddress=2001:db9::1"), nil},
		{"base64", "  s: {requestParameters.data|base64: secret payload}\n  condition: s", ct("", "X", "requestParameters.data="+enc), ct("", "X", "requestParameters.data=secret payload"), nil},
		{"base64offset contains", "  s: {requestParameters.data|base64offset|contains: payload}\n  condition: s",
			ct("", "X", "requestParameters.data="+enc), ct("", "X", "requestParameters.data="+base64.StdEncoding.EncodeToString([]byte("secret paylode"))), nil},
		{"windash", "  s: {requestParameters.cmd|windash|contains: ' -force'}\n  condition: s", ct("", "X", "requestParameters.cmd=run /force"), ct("", "X", "requestParameters.cmd=run force"), nil},
		{"exists true", "  s: {errorCode|exists: true}\n  condition: s", ct("", "X", "errorCode=AccessDenied"), ct("", "X"), nil},
		{"exists false", "  s: {errorCode|exists: false}\n  condition: s", ct("", "X"), ct("", "X", "errorCode=AccessDenied"), nil},
		{"null: absent or null", "  s: {errorCode: null}\n  condition: s", ct("", "X", "errorCode=null"), ct("", "X", "errorCode=Denied"), nil},
		{"gt", "  s: {requestParameters.size|gt: 100}\n  condition: s", ct("", "X", "requestParameters.size=101"), ct("", "X", "requestParameters.size=100"), nil},
		{"gte", "  s: {requestParameters.size|gte: 100}\n  condition: s", ct("", "X", "requestParameters.size=100"), ct("", "X", "requestParameters.size=99"), nil},
		{"lt", "  s: {requestParameters.size|lt: 100}\n  condition: s", ct("", "X", "requestParameters.size=99"), ct("", "X", "requestParameters.size=100"), nil},
		{"lte", "  s: {requestParameters.size|lte: 100}\n  condition: s", ct("", "X", "requestParameters.size=100"), ct("", "X", "requestParameters.size=101"), nil},
		{"neq", "  s: {eventName|neq: StopInstances}\n  condition: s", ct("", "StartInstances"), ct("", "StopInstances"), nil},
		{"hour", "  s: {eventTime|hour: 10}\n  condition: s", ct("", "X"), ct("", "X", "eventTime=2026-11-02T11:00:00Z"), nil},
		{"fieldref", "  s: {userIdentity.arn|fieldref|endswith: requestParameters.userName}\n  condition: s",
			ct("", "X", "requestParameters.userName=alice"), ct("", "X", "requestParameters.userName=bob"), nil},
		{"expand", "  s: {userIdentity.arn|expand: '%Admins%'}\n  condition: s", ct("", "X"), ct("", "X", "userIdentity.arn=arn:aws:iam::1:user/bob"),
			&Config{Placeholders: map[string][]string{"Admins": {"arn:aws:iam::*:user/alice", "arn:aws:iam::*:user/root"}}}},
		{"items arrays fan out", "  s: {requestParameters.instancesSet.items.instanceId: i-2}\n  condition: s",
			ct("", "X", `requestParameters.instancesSet={"items":[{"instanceId":"i-1"},{"instanceId":"i-2"}]}`),
			ct("", "X", `requestParameters.instancesSet={"items":[{"instanceId":"i-1"}]}`), nil},
		{"bracket index", "  s: {'requestParameters.instancesSet.items[1].instanceId': i-2}\n  condition: s",
			ct("", "X", `requestParameters.instancesSet={"items":[{"instanceId":"i-1"},{"instanceId":"i-2"}]}`),
			ct("", "X", `requestParameters.instancesSet={"items":[{"instanceId":"i-2"},{"instanceId":"i-1"}]}`), nil},
		{"JSON in a string", "  s: {requestParameters.body.createOption: Copy}\n  condition: s",
			`{"eventName":"X","requestParameters":{"body":"{\"createOption\":\"Copy\"}"}}`, `{"eventName":"X","requestParameters":{"body":"{\"createOption\":\"Empty\"}"}}`, nil},
		{"keywords", "  keywords: [terraform]\n  condition: keywords", ct("", "X", "userAgent=Terraform/1.5"), ct("", "X"), nil},
		{"keywords all", "  keywords:\n    '|all': [terraform, '1.5']\n  condition: keywords", ct("", "X", "userAgent=Terraform/1.5"), ct("", "X", "userAgent=Terraform/1.4"), nil},
		{"1 of pattern", "  sel_a: {eventName: A}\n  sel_b: {eventName: B}\n  condition: 1 of sel_*", ct("", "B"), ct("", "C"), nil},
		{"all of them", "  a: {eventName: A}\n  b: {eventSource: s}\n  _c: {eventName: Z}\n  condition: all of them", ct("s", "A"), ct("t", "A"), nil},
		{"not and parentheses", "  a: {eventName: A}\n  b: {eventSource: s}\n  c: {userAgent: u}\n  condition: a and not (b or c)", ct("t", "A"), ct("s", "A"), nil},
		{"condition list is or-ed", "  a: {eventName: A}\n  b: {eventName: B}\n  condition: [a, b]", ct("", "B"), ct("", "C"), nil},
		{"list of maps", "  s:\n    - {eventName: A}\n    - {eventSource: s}\n  condition: s", ct("s", "X"), ct("t", "X"), nil},
		{"mapping file", "  s: {Actor: 'arn:aws:iam::111122223333:user/alice'}\n  condition: s", ct("", "X"), ct("", "X", "userIdentity.arn=bob"),
			&Config{FieldMappings: map[string][]string{"Actor": {"userIdentity.arn"}}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rs := NewRuleset(c.cfg)
			rs.AddFile("m.yml", []byte(rule1(c.det)))
			rs.Resolve()
			if len(rs.Problems) > 0 {
				t.Fatalf("problems: %v", rs.Problems)
			}
			r := NewRunner(rs, RunOptions{})
			if len(r.Match(corpusEvent(c.hit))) != 1 {
				t.Errorf("no match on %s", c.hit)
			}
			if len(r.Match(corpusEvent(c.miss))) != 0 {
				t.Errorf("match on near-miss %s", c.miss)
			}
		})
	}
}

func TestAzureShapes(t *testing.T) {
	rs := NewRuleset(nil)
	rs.AddFile("az.yml", []byte(`title: disk copy
logsource: {product: azure, service: activitylogs}
detection:
    s:
        operationName: MICROSOFT.COMPUTE/DISKS/WRITE
        resultType: [Start, Started]
        properties.requestbody.properties.creationData.createOption: Copy
    condition: s
`))
	rs.Resolve()
	r := NewRunner(rs, RunOptions{})
	body := `"{\"properties\":{\"creationData\":{\"createOption\":\"Copy\"}}}"`
	shapes := map[event.Format]string{
		event.FormatAzureStorage:      `{"operationName":"MICROSOFT.COMPUTE/DISKS/WRITE","resultType":"Start","properties":{"requestbody":` + body + `}}`,
		event.FormatAzureREST:         `{"operationName":{"value":"Microsoft.Compute/disks/write","localizedValue":"Create or Update Disk"},"status":{"value":"Started"},"properties":{"requestbody":` + body + `}}`,
		event.FormatAzureLogAnalytics: `{"OperationName":"Create or Update Disk","OperationNameValue":"MICROSOFT.COMPUTE/DISKS/WRITE","ActivityStatusValue":"Start","Properties_d":{"requestbody":` + body + `}}`,
		event.FormatAzureSDK:          `{"operation_name":{"value":"Microsoft.Compute/disks/write","localized_value":"Create or Update Disk"},"status":{"value":"Started"},"properties":{"requestbody":` + body + `}}`,
	}
	for f, raw := range shapes {
		ev := &event.Event{Provider: event.Azure, Format: f, Raw: []byte(raw)}
		if len(r.Match(ev)) != 1 {
			t.Errorf("%s: no match on %s", f, raw)
		}
		aws := &event.Event{Provider: event.AWS, Format: event.FormatCloudTrailLines, Raw: []byte(raw)}
		if len(r.Match(aws)) != 0 {
			t.Errorf("%s: an Azure rule matched an AWS event", f)
		}
	}
}

// TestUnsupportedReported: a rule using what revertwatch does not run is
// reported with its file, position and construct; the others still run.
func TestUnsupportedReported(t *testing.T) {
	cases := []struct{ src, construct string }{
		{rule1("  s: {eventName|utf8: x}\n  condition: s"), "modifier |utf8"},
		{rule1("  s: {eventName: x}\n  condition: s | count() > 5"), "condition aggregation '|'"},
		{rule1("  s: {eventName: x}\n  condition: s\n  timeframe: 5m"), "detection.timeframe"},
		{rule1("  s: {eventName|expand: '%Servers%'}\n  condition: s"), "modifier |expand"},
		{"title: w\nlogsource: {product: windows, service: security}\ndetection:\n  s: {EventID: 4624}\n  condition: s", "logsource product: windows, service: security"},
		{"title: c\ncorrelation:\n  type: value_sum\n  rules: [a]\n  group-by: [x]\n  timespan: 1h\n  condition: {field: b, gt: 1}", "correlation type value_sum"},
	}
	for _, c := range cases {
		rs := NewRuleset(nil)
		rs.AddFile("bad.yml", []byte(c.src))
		rs.AddFile("good.yml", []byte(rule1("  s: {eventName: x}\n  condition: s")))
		rs.Resolve()
		if len(rs.Rules) != 1 || rs.Rules[0].File != "good.yml" {
			t.Errorf("%s: the good rule should run alone, got %d rules", c.construct, len(rs.Rules))
		}
		if len(rs.Problems) != 1 || rs.Problems[0].Construct != c.construct || rs.Problems[0].Severity != SevUnsupported ||
			rs.Problems[0].File != "bad.yml" || rs.Problems[0].Line < 1 {
			t.Errorf("want one unsupported %q in bad.yml, got %v", c.construct, rs.Problems)
		}
	}
}

func TestLintPositions(t *testing.T) {
	src := rule1("  sel: {eventName: x}\n  unused: {eventName: y}\n  condition: sel and not filtr") + "\nlevel: hgh\n"
	res, err := Lint("r.yml", []byte(src), LintOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range res.Problems {
		got = append(got, p.String())
	}
	want := []string{
		`r.yml:1:1: warning: rule t: no id: correlations and filters can only refer to this rule by name`,
		`r.yml:6:26: error: rule t: condition: unknown search identifier "filtr"`,
		`r.yml:7:8: error: rule t: level "hgh": want informational, low, medium, high or critical`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// FuzzParse feeds arbitrary YAML to the loader and runs what loads over a
// record: it must never panic.
func FuzzParse(f *testing.F) {
	f.Add([]byte(stopStart))
	f.Add([]byte(rule1("  s: {eventName|re|i: 'a(b'}\n  condition: 1 of s*")))
	f.Add([]byte(rule1("  k: ['*', '\\\\*']\n  condition: not k")))
	f.Add([]byte("title: f\nlogsource: {product: aws}\nfilter:\n  rules: [x]\n  selection: {a: null}\n  condition: selection"))
	f.Add([]byte("a: &x [*x]"))
	ev := corpusEvent(ct("s", "X", `requestParameters.instancesSet={"items":[{"instanceId":"i-1"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		rs := NewRuleset(nil)
		rs.AddFile("f.yml", data)
		rs.Resolve()
		r := NewRunner(rs, RunOptions{})
		r.Process(ev)
		r.Flush()
		_, _ = Lint("f.yml", data, LintOptions{})
	})
}

// TestFieldMemoInnerJSON runs rules over a record whose fields hold JSON
// in strings, two of them parsed by the same inner parser: a field's
// values are resolved once a record (doc.memo), but not values that point
// into an inner parser a later lookup reuses. Each rule must match as it
// does alone.
func TestFieldMemoInnerJSON(t *testing.T) {
	rules := []string{
		"  s: {requestParameters.body.obj: deep}\n  condition: s",
		"  s: {requestParameters.other.k: shallow}\n  condition: s",
		"  s: {requestParameters.body.obj: deep, eventName: X}\n  condition: s",
		"  s: {requestParameters.other.k: shallow, eventName: X}\n  condition: s",
	}
	raw := `{"eventName":"X","requestParameters":{"body":"{\"obj\":{\"k\":\"deep\"}}","other":"{\"k\":\"shallow\"}"}}`
	rs := NewRuleset(nil)
	for i, r := range rules {
		rs.AddFile(fmt.Sprintf("r%d.yml", i), []byte(strings.Replace(rule1(r), "title: t", fmt.Sprintf("title: t%d", i), 1)))
	}
	rs.Resolve()
	if len(rs.Problems) > 0 {
		t.Fatalf("problems: %v", rs.Problems)
	}
	for _, noIndex := range []bool{false, true} {
		r := newRunner(rs, RunOptions{}, noIndex)
		for range 2 {
			if got := r.Match(corpusEvent(raw)); len(got) != len(rules) {
				t.Errorf("noIndex %v: %d of %d rules matched", noIndex, len(got), len(rules))
			}
		}
	}
}
