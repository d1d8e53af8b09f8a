package tune

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/revertwatch/revertwatch/level"
)

// The issue's example, verbatim: the schema must accept it.
const issueExample = `lateness: 15m            # engine settings may live here too
allow:
  - name: nightly-instance-scheduler
    reason: stops dev instances at 19:00 and starts them at 07:00
    owner: platform-team
    expires: 2027-06-30
    rules: [aws-stop-start]          # optional: which rules it applies to
    match:
      principal: "arn:aws:sts::*:assumed-role/InstanceSchedulerRole/*"   # glob
      invoked_by: lambda.amazonaws.com
    action: downgrade                 # or drop
`

func TestIssueExampleVerbatim(t *testing.T) {
	c := mustParse(t, issueExample)
	if c.Lateness != 15*time.Minute || !c.IsSet("lateness") || c.IsSet("window") {
		t.Fatalf("lateness = %v set=%v", c.Lateness, c.IsSet("lateness"))
	}
	if c.Window != DefaultWindow || c.RepeatWindow != DefaultRepeatWindow {
		t.Fatalf("defaults: window %v repeat %v", c.Window, c.RepeatWindow)
	}
	if len(c.Entries) != 1 {
		t.Fatalf("entries = %d", len(c.Entries))
	}
	e := c.Entries[0]
	if e.Name != "nightly-instance-scheduler" || e.Owner != "platform-team" || e.Action != Downgrade ||
		e.Severity != level.Low || len(e.Rules) != 1 || e.Rules[0] != "aws-stop-start" || e.Line != 3 || e.Column != 5 {
		t.Fatalf("entry = %+v", e)
	}
	if want := time.Date(2027, 7, 1, 0, 0, 0, 0, time.UTC); !e.Expires.Equal(want) {
		t.Fatalf("expires = %v, want %v (end of 2027-06-30 UTC)", e.Expires, want)
	}
	if got := strings.Join(e.Match.Keys(), ","); got != "principal,invoked_by" {
		t.Fatalf("keys = %s", got)
	}
	if len(c.Warnings) != 0 {
		t.Fatalf("warnings: %v", c.Warnings)
	}
	// The issue's example names a real built-in rule.
	if ds := c.CheckRules([]string{"aws-stop-start", "aws-backup-restore"}); len(ds) != 0 {
		t.Fatalf("CheckRules = %v", ds)
	}
	ds := c.CheckRules([]string{"aws-backup-restore"})
	if len(ds) != 1 || !ds[0].Warning || !strings.HasPrefix(ds[0].String(), `test.yaml:3:5: warning: allow entry "nightly-instance-scheduler": rule "aws-stop-start" matches no rule`) {
		t.Fatalf("CheckRules = %v", ds)
	}
}

func TestEmptyConfigIsDefault(t *testing.T) {
	for _, src := range []string{"", "# only a comment\n", "---\n"} {
		c := mustParse(t, src)
		if len(c.Entries) != 0 || c.Lateness != DefaultLateness {
			t.Fatalf("%q: %+v", src, c)
		}
	}
}

func TestEngineSettings(t *testing.T) {
	c := mustParse(t, "version: 1\nlateness: 30m\nwindow: 2d\nrepeat_window: 1d12h\n")
	if c.Lateness != 30*time.Minute || c.Window != 48*time.Hour || c.RepeatWindow != 36*time.Hour {
		t.Fatalf("%v %v %v", c.Lateness, c.Window, c.RepeatWindow)
	}
	c = mustParse(t, "repeat_window: 0s\n")
	if c.RepeatWindow != 0 || !c.IsSet("repeat_window") {
		t.Fatalf("repeat_window 0: %v", c.RepeatWindow)
	}
}

// Every error names the file, line and column of the offending text.
func TestConfigErrors(t *testing.T) {
	entry := func(match string) string {
		return "allow:\n  - name: e1\n    reason: r\n    match:\n" + match
	}
	cases := []struct {
		name, src string
		want      string // the first diagnostic, whole or as a prefix
	}{
		{"unknown top key", "latenes: 15m\n", `test.yaml:1:1: config: unknown key "latenes" (did you mean "lateness"?)`},
		{"unknown entry key", "allow:\n  - name: e1\n    reason: r\n    acton: drop\n    match: {principal: a, account: b}\n", `test.yaml:4:5: allow entry: unknown key "acton" (did you mean "action"?)`},
		{"unknown match key", entry("      principle: \"arn:*\"\n      account: \"1\"\n"), `test.yaml:5:7: match: unknown key "principle" (did you mean "principal"?)`},
		{"unknown time key", entry("      account: \"1\"\n      time: {zone: UTC, hours: \"01:00-02:00\"}\n"), `test.yaml:6:14: time: unknown key "zone"`},
		{"bad glob", entry("      principal: \"arn:aws:sts::[0-9\"\n      account: \"1\"\n"), `test.yaml:5:18: bad glob "arn:aws:sts::[0-9" for principal: unterminated [ set`},
		{"bad glob in list", entry("      account: \"1\"\n      resource_id: [\"i-*\", 'vol-\\']\n"), `test.yaml:6:28: bad glob "vol-\\" for resource_id: trailing \ escapes nothing`},
		{"match-all glob", entry("      principal: \"*\"\n      account: \"1\"\n"), `test.yaml:5:18: bad glob "*" for principal: matches every value`},
		{"bad CIDR", entry("      account: \"1\"\n      source_ip: 10.0.0.0/33\n"), `test.yaml:6:18: bad source_ip "10.0.0.0/33": not an IP address or CIDR`},
		{"CIDR host bits", entry("      account: \"1\"\n      source_ip: [203.0.113.7, 10.1.2.3/8]\n"), `test.yaml:6:32: bad source_ip "10.1.2.3/8": host bits are set; did you mean 10.0.0.0/8?`},
		{"CIDR everything", entry("      account: \"1\"\n      source_ip: 0.0.0.0/0\n"), `test.yaml:6:18: bad source_ip "0.0.0.0/0": matches every value`},
		{"bad duration", "lateness: 15 minutes\n", `test.yaml:1:11: bad duration for lateness: "15 minutes": want a number with a unit`},
		{"duration without unit", "window: 900\n", `test.yaml:1:9: bad duration for window`},
		{"negative duration", "repeat_window: -1h\n", `test.yaml:1:16: bad duration for repeat_window: "-1h" is negative`},
		{"user agent alone", entry("      user_agent: \"Terraform/*\"\n"), `test.yaml:4:5: allow entry "e1": an entry on the user agent alone is refused`},
		{"user agent alone even opted out", "allow:\n  - name: e1\n    reason: r\n    single_attribute: true\n    match:\n      user_agent: \"Terraform/*\"\n", `test.yaml:5:5: allow entry "e1": an entry on the user agent alone is refused, even with single_attribute`},
		{"caller-set only", entry("      user_agent: \"Terraform/*\"\n      operation: StopInstances\n      time: {hours: \"01:00-02:00\"}\n"), `test.yaml:4:5: allow entry "e1": an entry made only of attributes the caller sets (operation, user_agent, time) is refused`},
		{"packer alone is caller-set", entry("      benign: packer\n      user_agent: \"*Packer*\"\n"), `test.yaml:4:5: allow entry "e1": an entry made only of attributes the caller sets (benign, user_agent) is refused`},
		{"one attribute", entry("      account: \"111122223333\"\n"), `test.yaml:4:5: allow entry "e1": an entry must combine at least two attributes`},
		{"empty match", entry("      {}\n"), `test.yaml:5:7: match names no attribute`},
		{"no match", "allow:\n  - name: e1\n    reason: r\n", `test.yaml:2:5: allow entry "e1" has no match`},
		{"no name", "allow:\n  - reason: r\n    match: {principal: a, account: b}\n", `test.yaml:2:5: allow entry has no name`},
		{"no reason", "allow:\n  - name: e1\n    match: {principal: a, account: b}\n", `test.yaml:2:5: allow entry "e1" has no reason`},
		{"duplicate name", "allow:\n  - {name: a, reason: r, match: {principal: p, account: b}}\n  - {name: a, reason: r, match: {principal: p, account: b}}\n", `test.yaml:3:5: allow entry name "a" is already used at line 2`},
		{"duplicate key", "lateness: 1m\nlateness: 2m\n", `test.yaml:2:1: config: key "lateness" repeats (first at line 1)`},
		{"bad action", "allow:\n  - {name: a, reason: r, action: ignore, match: {principal: p, account: b}}\n", `test.yaml:2:34: action "ignore": want downgrade`},
		{"severity with drop", "allow:\n  - {name: a, reason: r, action: drop, severity: low, match: {principal: p, account: b}}\n", `test.yaml:2:50: severity applies to action downgrade`},
		{"bad expires", "allow:\n  - {name: a, reason: r, expires: 30/06/2027, match: {principal: p, account: b}}\n", `test.yaml:2:35: expires: "30/06/2027" is not a date`},
		{"bad zone", entry("      account: \"1\"\n      time: {timezone: Mars/Olympus, days: mon}\n"), `test.yaml:6:24: timezone: unknown time zone "Mars/Olympus"`},
		{"bad hours", entry("      account: \"1\"\n      time: {hours: \"25:00-26:00\"}\n"), `test.yaml:6:21: hours: bad hours "25:00-26:00"`},
		{"bad day", entry("      account: \"1\"\n      time: {days: [mon, funday]}\n"), `test.yaml:6:26: days: unknown day "funday"`},
		{"unknown benign", entry("      account: \"1\"\n      benign: aws-bakup\n"), `test.yaml:6:15: unknown benign actor "aws-bakup"`},
		{"wrong type", "allow: {name: a}\n", `test.yaml:1:8: allow must be a list, not a mapping`},
		{"list where value", "lateness: [1m]\n", `test.yaml:1:11: lateness must be a single value, not a list`},
		{"bad bool", "allow:\n  - {name: a, reason: r, single_attribute: yes, match: {principal: p}}\n", `test.yaml:2:44: single_attribute must be true or false, not "yes"`},
		{"version", "version: 2\n", `test.yaml:1:10: version "2" is not supported`},
		{"syntax", "allow:\n  - name: a\n   reason: b\n", `test.yaml:3:4: YAML syntax: did not find expected '-' indicator`},
		{"two documents", "lateness: 1m\n---\nlateness: 2m\n", `test.yaml:2:1: a config file holds one YAML document`},
		{"merge key", "base: &b {principal: p}\n", `test.yaml:1:1: config: unknown key "base"`},
		{"merge key in match", "allow:\n  - name: a\n    reason: r\n    match:\n      <<: {principal: p}\n      account: b\n", `test.yaml:5:7: match: merge keys (<<) are not supported`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("test.yaml", []byte(tc.src), WithClock(fixedClock))
			if err == nil {
				t.Fatalf("no error; config %+v", c)
			}
			var ds Diagnostics
			if !errors.As(err, &ds) || ds.Errors() == 0 {
				t.Fatalf("error %T %v is not Diagnostics", err, err)
			}
			first := ""
			for _, d := range ds {
				if !d.Warning {
					first = d.String()
					break
				}
			}
			if !strings.HasPrefix(first, tc.want) {
				t.Fatalf("got  %s\nwant %s…\nall:\n%v", first, tc.want, err)
			}
			for _, d := range ds {
				if d.Line < 1 || d.Column < 1 || d.File != "test.yaml" {
					t.Fatalf("diagnostic without position: %+v", d)
				}
			}
		})
	}
}

// Every problem is reported in one run, in file order.
func TestAllErrorsReported(t *testing.T) {
	src := "latenes: 1m\nwindow: soon\nallow:\n  - name: a\n    reason: r\n    match: {user_agent: x}\n"
	_, err := Parse("f.yaml", []byte(src))
	var ds Diagnostics
	if !errors.As(err, &ds) || len(ds) != 3 {
		t.Fatalf("got %v", err)
	}
	if ds[0].Line != 1 || ds[1].Line != 2 || ds[2].Line != 6 {
		t.Fatalf("order: %v", err)
	}
}

// Aliases are followed, never expanded wholesale: the walk reads only the
// shapes the schema expects, so an exponential alias tree costs nothing.
func TestAliasBombIsCheap(t *testing.T) {
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 8; i++ {
		b.WriteString("a" + string(rune('0'+i)) + ": &a" + string(rune('0'+i)) + " [")
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*a" + string(rune('0'+i-1)))
		}
		b.WriteString("]\n")
	}
	// Put the bomb where a list of values is read.
	src := b.String() + "allow:\n  - name: a\n    reason: r\n    match:\n      account: b\n      principal: *a7\n"
	_, err := Parse("bomb.yaml", []byte(src))
	var ds Diagnostics
	if !errors.As(err, &ds) || len(ds) > 20 || !strings.Contains(err.Error(), "principal item must be a single value, not a list") {
		t.Fatalf("alias bomb: %v", err)
	}
}

func TestAliasesResolve(t *testing.T) {
	src := "allow:\n  - name: a\n    reason: r\n    match: &m\n      principal: \"arn:aws:sts::*:assumed-role/Ops/*\"\n      account: \"1\"\n  - name: b\n    reason: r\n    match: *m\n"
	_, err := Parse("f.yaml", []byte(src))
	// The top level has no "anchors" key, so aliases must be used inline;
	// both entries decode.
	if err != nil {
		t.Fatal(err)
	}
}

func TestExpiryWarnings(t *testing.T) {
	src := `allow:
  - name: old-migration
    reason: finished
    expires: 2026-10-31
    match: {principal: "arn:aws:sts::*:assumed-role/Mig/*", account: "1"}
  - name: ending-soon
    reason: r
    expires: 2026-12-05
    match: {principal: "arn:aws:sts::*:assumed-role/B/*", account: "1"}
  - name: precise
    reason: r
    expires: 2026-11-29T11:00:00Z
    match: {principal: "arn:aws:sts::*:assumed-role/C/*", account: "1"}
`
	c := mustParse(t, src)
	want := []string{
		`test.yaml:4:14: warning: allow entry "old-migration" expired on 2026-10-31; it no longer applies (renew it or remove it)`,
		`test.yaml:8:14: warning: allow entry "ending-soon" expires on 2026-12-05, in 6 day(s)`,
		`test.yaml:12:14: warning: allow entry "precise" expired on 2026-11-29T11:00:00Z; it no longer applies (renew it or remove it)`,
	}
	if len(c.Warnings) != len(want) {
		t.Fatalf("warnings: %v", c.Warnings)
	}
	for i, w := range want {
		if c.Warnings[i].String() != w {
			t.Errorf("warning %d:\n got %s\nwant %s", i, c.Warnings[i], w)
		}
	}
}

func TestParseDuration(t *testing.T) {
	good := map[string]time.Duration{"15m": 15 * time.Minute, "0": 0, "7d": 168 * time.Hour, "1d2h": 26 * time.Hour, "90s": 90 * time.Second}
	for s, want := range good {
		if got, err := parseDuration(s); err != nil || got != want {
			t.Errorf("%q = %v, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "d", "-1d", "1dd", "x", "400d", "9999h", "1.5d"} {
		if _, err := parseDuration(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}

// The YAML library names the line where the enclosing list began; the
// diagnostic names the line to fix.
func TestSyntaxErrorLine(t *testing.T) {
	src := "lateness: 15m\nallow:\n  - name: a\n    reason: r\n    match:\n      principal: p\n      account: \"1\"\n  - name: b\n    reason: 'unterminated\n    match: {}\n"
	_, err := Parse("s.yaml", []byte(src))
	if err == nil || !strings.HasPrefix(err.Error(), "s.yaml:") {
		t.Fatalf("%v", err)
	}
	src = "allow:\n  - name: a\n    reason: r\n    match:\n      principal: p\n      account: \"1\"\n  - name: b\n     reason: r\n"
	_, err = Parse("s.yaml", []byte(src))
	if err == nil || !strings.HasPrefix(err.Error(), "s.yaml:8:6: YAML syntax:") {
		t.Fatalf("%v", err)
	}
}
