package source_test

import (
	"testing"
	"time"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/source"
)

func TestParseTime(t *testing.T) {
	now := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
	cases := []struct {
		in    string
		upper bool
		want  time.Time
	}{
		{"2026-03-05T10:00:00Z", false, time.Date(2026, 3, 5, 10, 0, 0, 0, time.UTC)},
		{"2026-03-05T10:00:00+02:00", false, time.Date(2026, 3, 5, 8, 0, 0, 0, time.UTC)},
		{"2026-03-05", false, time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC)},
		{"2026-03-05", true, time.Date(2026, 3, 6, 0, 0, 0, 0, time.UTC)},
		{"7d", false, now.AddDate(0, 0, -7)},
		{"2w", false, now.AddDate(0, 0, -14)},
		{"90m", false, now.Add(-90 * time.Minute)},
		{"1h30m", false, now.Add(-90 * time.Minute)},
		{"", false, time.Time{}},
	}
	for _, c := range cases {
		got, err := source.ParseTime(c.in, now, c.upper)
		if err != nil || !got.Equal(c.want) {
			t.Errorf("ParseTime(%q, upper=%v) = %v, %v; want %v", c.in, c.upper, got, err, c.want)
		}
	}
	for _, bad := range []string{"yesterday", "7x", "-3d", "2026-13-01", "99999999999d"} {
		if _, err := source.ParseTime(bad, now, false); err == nil {
			t.Errorf("ParseTime(%q) accepted", bad)
		}
	}
}

func TestFilterKeep(t *testing.T) {
	f := source.Filter{
		Since: time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC), Until: time.Date(2026, 3, 6, 0, 0, 0, 0, time.UTC),
		Accounts: []string{"123456789012", "AAAA-sub"}, Regions: []string{"us-east-1"},
	}
	ev := func(at string, account, region string) *event.Event {
		tm, _ := time.Parse(time.RFC3339, at)
		return &event.Event{Time: tm, Account: account, Region: region}
	}
	cases := []struct {
		ev   *event.Event
		want source.Reason
	}{
		{ev("2026-03-05T00:00:00Z", "123456789012", "us-east-1"), source.Kept},
		{ev("2026-03-05T23:59:59Z", "123456789012", "US-EAST-1"), source.Kept},
		{ev("2026-03-04T23:59:59Z", "123456789012", "us-east-1"), source.ByTime},
		{ev("2026-03-06T00:00:00Z", "123456789012", "us-east-1"), source.ByTime},
		{ev("2026-03-05T10:00:00Z", "999999999999", "us-east-1"), source.ByAccount},
		{ev("2026-03-05T10:00:00Z", "aaaa-SUB", "us-east-1"), source.Kept},
		{ev("2026-03-05T10:00:00Z", "123456789012", "eu-west-1"), source.ByRegion},
	}
	for i, c := range cases {
		if got := f.Keep(c.ev); got != c.want {
			t.Errorf("%d: Keep = %v, want %v", i, got, c.want)
		}
	}
	var none *source.Filter
	if none.Active() || none.Keep(cases[2].ev) != source.Kept {
		t.Error("a nil filter refuses")
	}
}

func TestClassify(t *testing.T) {
	f := source.Filter{
		Since: time.Date(2026, 3, 5, 10, 0, 0, 0, time.UTC), Until: time.Date(2026, 3, 5, 12, 0, 0, 0, time.UTC), Slack: 30 * time.Minute,
		Accounts: []string{"123456789012", "0000aaaa-1111-2222-3333-444455556666"}, Regions: []string{"us-east-1"},
	}
	ct := "logs/AWSLogs/o-abc123/123456789012/CloudTrail/us-east-1/2026/03/05/123456789012_CloudTrail_us-east-1_"
	cases := []struct {
		path string
		want source.Reason
	}{
		{ct + "20260305T1000Z_abcdefghijklmnop.json.gz", source.Kept},
		{ct + "20260305T0959Z_abcdefghijklmnop.json.gz", source.ByTime}, // delivered before the window
		{ct + "20260305T1230Z_abcdefghijklmnop.json.gz", source.Kept},   // within the slack
		{ct + "20260305T1231Z_abcdefghijklmnop.json.gz", source.ByTime},
		{"logs/AWSLogs/o-abc123/123456789012/CloudTrail/us-east-1/2026/03/04/", source.ByTime},
		{"logs/AWSLogs/o-abc123/123456789012/CloudTrail/us-east-1/2026/03/05/", source.Kept},
		{"logs/AWSLogs/o-abc123/123456789012/CloudTrail/eu-west-1/", source.ByRegion},
		{"logs/AWSLogs/999999999999/CloudTrail/us-east-1/2026/03/05/x.json.gz", source.ByAccount},
		{"logs/AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2026/03/05/x.json.gz", source.ByDigest},
		{"logs/AWSLogs/123456789012/CloudTrail-Insight/us-east-1/2026/03/05/x.json.gz", source.ByDigest},
		{"exports/anything.json", source.Kept},
		{"insights-activity-logs/resourceId=/SUBSCRIPTIONS/0000AAAA-1111-2222-3333-444455556666/y=2026/m=03/d=05/h=10/m=00/PT1H.json", source.Kept},
		{"insights-activity-logs/resourceId=/SUBSCRIPTIONS/0000AAAA-1111-2222-3333-444455556666/y=2026/m=03/d=05/h=08/m=00/PT1H.json", source.ByTime},
		{"insights-activity-logs/resourceId=/SUBSCRIPTIONS/0000AAAA-1111-2222-3333-444455556666/y=2026/m=03/d=05/h=12/m=00/PT1H.json", source.Kept},
		{"insights-activity-logs/resourceId=/SUBSCRIPTIONS/0000AAAA-1111-2222-3333-444455556666/y=2026/m=03/d=05/h=13/m=00/PT1H.json", source.ByTime},
		{"insights-activity-logs/resourceId=/SUBSCRIPTIONS/FFFF0000-1111-2222-3333-444455556666/y=2026/m=03/d=05/h=10/m=00/PT1H.json", source.ByAccount},
	}
	for _, c := range cases {
		if got := f.Classify(c.path); got != c.want {
			t.Errorf("Classify(%s) = %v, want %v", c.path, got, c.want)
		}
	}
}

// FuzzParseLayout: any path parses without panicking, and a path refused
// by a filter is refused for a reason.
func FuzzParseLayout(f *testing.F) {
	f.Add("AWSLogs/o-abc/123456789012/CloudTrail/us-east-1/2026/03/05/123456789012_CloudTrail_us-east-1_20260305T1000Z_x.json.gz")
	f.Add("insights-activity-logs/resourceId=/SUBSCRIPTIONS/S/y=2026/m=03/d=05/h=10/m=00/PT1H.json")
	f.Add("AWSLogs//CloudTrail///")
	f.Add("resourceId=/y=/m=/d=-1/h=99")
	flt := source.Filter{Since: time.Date(2026, 3, 5, 10, 0, 0, 0, time.UTC), Accounts: []string{"123456789012"}, Regions: []string{"us-east-1"}}
	f.Fuzz(func(t *testing.T, p string) {
		source.ParseLayout(p)
		if r := flt.Classify(p); r < source.Kept || r > source.ByDigest {
			t.Fatalf("reason %d", r)
		}
	})
}

// FuzzParseTime: any value parses or errs without panicking.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"7d", "2026-03-05", "2026-03-05T10:00:00Z", "1h30m", "99999999999999999999d"} {
		f.Add(s)
	}
	now := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		source.ParseTime(s, now, true)
	})
}
