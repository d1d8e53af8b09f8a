package tune

import (
	"strings"
	"testing"
	"time"
)

func TestGlob(t *testing.T) {
	cases := []struct {
		pattern, s string
		want       bool
	}{
		{"arn:aws:sts::*:assumed-role/InstanceSchedulerRole/*", "arn:aws:sts::123456789012:assumed-role/InstanceSchedulerRole/i-sched", true},
		{"arn:aws:sts::*:assumed-role/InstanceSchedulerRole/*", "arn:aws:sts::123456789012:assumed-role/InstanceSchedulerRoleX/s", false},
		{"arn:aws:sts::*:assumed-role/InstanceSchedulerRole/*", "xarn:aws:sts::1:assumed-role/InstanceSchedulerRole/s", false},
		{"LAMBDA.amazonaws.com", "lambda.amazonaws.com", true},
		{"lambda.amazonaws.com", "lambdaXamazonaws.com", false}, // . is literal
		{"i-0?b", "i-0ab", true},
		{"i-0?b", "i-0abb", false},
		{"vol-[0-9a-f]*", "vol-0c1", true},
		{"vol-[0-9a-f]*", "vol-zz", false},
		{"vol-[!0-9]*", "vol-a1", true},
		{"vol-[!0-9]*", "vol-1a", false},
		{`a\*b`, "a*b", true},
		{`a\*b`, "axb", false},
		{"[]]x", "]x", true},
		{"[a-]x", "-x", true},
		{"*-asr", "web-ASR", true},
		{"*/Microsoft.Automation/automationAccounts/*", "/subscriptions/s/resourceGroups/r/providers/microsoft.automation/automationaccounts/a", true},
		{"ünïcode*", "ÜNÏCODE-x", true},
		{"a(b)|c+", "a(b)|c+", true},
		{"a(b)|c+*", "a(b)|c++", true},
	}
	for _, tc := range cases {
		g, err := CompileGlob(tc.pattern)
		if err != nil {
			t.Fatalf("%q: %v", tc.pattern, err)
		}
		if got := g.Match(tc.s); got != tc.want {
			t.Errorf("%q ~ %q = %v, want %v", tc.pattern, tc.s, got, tc.want)
		}
		if g.String() != tc.pattern {
			t.Errorf("String %q", g.String())
		}
	}
	for _, bad := range []string{"", "*", "***", "[abc", "a[", `a\`, "[z-a]", "[!]", "x[a-\\z]", "\xff"} {
		if _, err := CompileGlob(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestTimeWindow(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	w := &TimeWindow{Zone: berlin}
	if err := parseDays("fri", &w.Days); err != nil {
		t.Fatal(err)
	}
	r, err := parseHours("22:00-02:00")
	if err != nil {
		t.Fatal(err)
	}
	w.Ranges = []HourRange{r}
	in := func(s string) bool {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, berlin)
		if err != nil {
			t.Fatal(err)
		}
		return w.Contains(v)
	}
	// 2026-11-13 is a Friday.
	for s, want := range map[string]bool{
		"2026-11-13 22:00": true, // start is inside
		"2026-11-13 23:59": true,
		"2026-11-14 01:59": true,  // Saturday morning belongs to Friday's window
		"2026-11-14 02:00": false, // end is outside
		"2026-11-13 01:00": false, // Friday morning belongs to Thursday
		"2026-11-14 22:30": false, // Saturday evening
	} {
		if got := in(s); got != want {
			t.Errorf("%s: %v, want %v", s, got, want)
		}
	}
	if w.Contains(time.Time{}) {
		t.Error("zero time inside a window")
	}
	if got := w.String(); got != "fri 22:00-02:00 Europe/Berlin" {
		t.Errorf("String = %q", got)
	}
	// The zone decides the local hour: 18:30 UTC is 19:30 in Berlin in
	// winter and 20:30 in summer.
	w2 := &TimeWindow{Zone: berlin, Days: [7]bool{true, true, true, true, true, true, true}, Ranges: []HourRange{{Start: 19 * 60, End: 20 * 60}}}
	if !w2.Contains(time.Date(2026, 1, 15, 18, 30, 0, 0, time.UTC)) || w2.Contains(time.Date(2026, 7, 15, 18, 30, 0, 0, time.UTC)) {
		t.Error("daylight saving time not honoured")
	}
	var days [7]bool
	if err := parseDays("fri-mon", &days); err != nil || days != [7]bool{true, true, false, false, false, true, true} {
		t.Errorf("fri-mon = %v %v", days, err)
	}
	for _, bad := range []string{"9-10", "10:00", "10:00-10:00", "00:00-24:00", "24:00-01:00", "10:60-11:00", "1000-1100", "-1:00-02:00"} {
		if _, err := parseHours(bad); err == nil {
			t.Errorf("hours %q accepted", bad)
		}
	}
	if r, err := parseHours("23:00-24:00"); err != nil || r.End != 1440 {
		t.Errorf("23:00-24:00: %v %v", r, err)
	}
	if _, err := loadZone("Local"); err == nil {
		t.Error("Local accepted")
	}
}

func TestTimeWindowString(t *testing.T) {
	for days, want := range map[string]string{
		"mon-fri":     "mon-fri 01:00-02:00 UTC",
		"sat,sun":     "sat-sun 01:00-02:00 UTC",
		"mon,wed-thu": "mon,wed-thu 01:00-02:00 UTC",
		"sun":         "sun 01:00-02:00 UTC",
		"mon-sun":     "01:00-02:00 UTC",
	} {
		w := &TimeWindow{Zone: time.UTC, Ranges: []HourRange{{60, 120}}}
		for _, part := range strings.Split(days, ",") {
			if err := parseDays(part, &w.Days); err != nil {
				t.Fatal(err)
			}
		}
		if got := w.String(); got != want {
			t.Errorf("%s: %q, want %q", days, got, want)
		}
	}
}

// FuzzGlobStars holds the star-only fast path to the regexp it stands in
// for: the same answer for every pattern and value.
func FuzzGlobStars(f *testing.F) {
	for _, s := range [][2]string{
		{"arn:aws:sts::*:assumed-role/AWSServiceRoleForAutoScaling/*", "arn:aws:sts::111122223333:assumed-role/AWSServiceRoleForAutoScaling/AutoScaling"},
		{"*backup*", "AWSBackup"}, {"a*a", "a"}, {"a*a", "aa"}, {"*ab*ab*", "abab"}, {"x*", "X\n"}, {"*K*", "\u212a"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, value string) {
		g, err := CompileGlob(pattern)
		if err != nil || g.stars == nil || !isASCII(value) {
			return
		}
		if got, want := matchStars(g.stars, value), g.re.MatchString(value); got != want {
			t.Fatalf("pattern %q value %q: fast path %v, regexp %v", pattern, value, got, want)
		}
	})
}

// FuzzRequestHas holds requestHas's fast way to the encoding/json
// tokens it stands in for.
func FuzzRequestHas(f *testing.F) {
	for _, s := range [][2]string{
		{`{"description":"Created for policy: x","n":[1,"packer_abc"]}`, "packer_*"},
		{`{"packer_key":"v"}`, "packer_*"},
		{`{"a":"Packer Builder"}`, "packer builder"},
		{`{"a":"x\"y"}`, `x"y`},
		{`{"a":"\u0070acker_1"}`, "packer_*"},
		{`["a",{"b":["c"]}]`, "c"},
		{`{"a":"b"`, "b"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, raw, pattern string) {
		g, err := CompileGlob(pattern)
		if err != nil {
			return
		}
		gs := globs{g}
		if got, want := requestHas([]byte(raw), gs), requestHasTokens([]byte(raw), gs); got != want {
			t.Fatalf("request %s, pattern %q: %v, encoding/json's tokens say %v", raw, pattern, got, want)
		}
	})
}
