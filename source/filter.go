package source

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/revertwatch/revertwatch/event"
)

// DefaultSlack is how long after --until a CloudTrail log file may still be
// delivered and hold events of the window: files named up to Until+Slack
// are read. CloudTrail delivers within about five minutes on average, with
// a tail (sources.md §1).
const DefaultSlack = time.Hour

// Filter is the time, account and region selection of a reading command.
// A zero Filter keeps everything. Since is inclusive, Until exclusive.
type Filter struct {
	Since, Until time.Time
	Accounts     []string // AWS accounts or Azure subscriptions; compared case-insensitively
	Regions      []string // compared case-insensitively
	Slack        time.Duration
}

// Active says whether the filter can refuse anything.
func (f *Filter) Active() bool {
	return f != nil && (!f.Since.IsZero() || !f.Until.IsZero() || len(f.Accounts) > 0 || len(f.Regions) > 0)
}

func (f *Filter) slack() time.Duration {
	if f.Slack > 0 {
		return f.Slack
	}
	return DefaultSlack
}

// Reason names why a filter refused a file, a prefix or a record.
type Reason int

// The reasons, in the order summaries print them.
const (
	Kept Reason = iota
	ByTime
	ByAccount
	ByRegion
	ByDigest // a CloudTrail digest or Insights file: no events
	nReasons
)

var reasonNames = [nReasons]string{"kept", "time", "account", "region", "digest"}

func (r Reason) String() string { return reasonNames[r] }

// Keep says whether a record passes the filter, and if not why.
func (f *Filter) Keep(ev *event.Event) Reason {
	if f == nil {
		return Kept
	}
	if !f.Since.IsZero() && ev.Time.Before(f.Since) {
		return ByTime
	}
	if !f.Until.IsZero() && !ev.Time.Before(f.Until) {
		return ByTime
	}
	if len(f.Accounts) > 0 && !anyFold(f.Accounts, ev.Account) {
		return ByAccount
	}
	if len(f.Regions) > 0 && !anyFold(f.Regions, ev.Region) {
		return ByRegion
	}
	return Kept
}

// KeepAccount says whether an account or subscription folder may hold
// records the filter keeps.
func (f *Filter) KeepAccount(a string) bool {
	return f == nil || len(f.Accounts) == 0 || anyFold(f.Accounts, a)
}

// KeepRegion says whether a region folder may hold records the filter keeps.
func (f *Filter) KeepRegion(r string) bool {
	return f == nil || len(f.Regions) == 0 || anyFold(f.Regions, r)
}

// KeepDelivery says whether a log file stamped with the delivery minute t
// may hold records of the window: nothing is delivered before it happens,
// and files delivered more than the slack after Until are not read.
func (f *Filter) KeepDelivery(t time.Time) bool {
	if f == nil {
		return true
	}
	if !f.Since.IsZero() && !t.Add(time.Minute).After(f.Since) {
		return false
	}
	if !f.Until.IsZero() && t.After(f.Until.Add(f.slack())) {
		return false
	}
	return true
}

// KeepDay says whether a folder of files delivered on day (UTC, 00:00) may
// hold records of the window.
func (f *Filter) KeepDay(day time.Time) bool {
	if f == nil {
		return true
	}
	if !f.Since.IsZero() && !day.Add(24*time.Hour).After(f.Since) {
		return false
	}
	if !f.Until.IsZero() && day.After(f.Until.Add(f.slack())) {
		return false
	}
	return true
}

// KeepHour says whether an hourly folder (Azure's h=HH) starting at t may
// hold records of the window. Azure appends records as received, so the
// same slack as CloudTrail's delivery applies.
func (f *Filter) KeepHour(t time.Time) bool {
	if f == nil {
		return true
	}
	if !f.Since.IsZero() && !t.Add(time.Hour).After(f.Since) {
		return false
	}
	if !f.Until.IsZero() && t.After(f.Until.Add(f.slack())) {
		return false
	}
	return true
}

func anyFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

var relative = regexp.MustCompile(`^(\d+)(w|d|h|m|s)$`)

// ParseTime reads a --since or --until value: RFC 3339, a date
// (YYYY-MM-DD, UTC), or a duration back from now (90m, 12h, 7d, 2w, or a Go
// duration). A date as an upper bound means the end of that day, so
// --until 2026-03-05 includes the whole 5th.
func ParseTime(s string, now time.Time, upper bool) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		if upper {
			t = t.AddDate(0, 0, 1)
		}
		return t, nil
	}
	if m := relative.FindStringSubmatch(s); m != nil {
		n, err := strconv.Atoi(m[1])
		if err == nil && n < 1<<20 {
			unit := map[string]time.Duration{"w": 7 * 24 * time.Hour, "d": 24 * time.Hour, "h": time.Hour, "m": time.Minute, "s": time.Second}[m[2]]
			return now.Add(-time.Duration(n) * unit).UTC(), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a time: want RFC 3339 (2026-03-05T10:00:00Z), a date (2026-03-05) or a duration back from now (7d, 12h)", s)
}

// Counts counts what a filter refused, by reason.
type Counts [nReasons]int

// Add counts one refusal.
func (c *Counts) Add(r Reason) {
	if r != Kept {
		c[r]++
	}
}

// Total is the number refused for any reason.
func (c Counts) Total() int {
	n := 0
	for _, v := range c[1:] {
		n += v
	}
	return n
}

// String lists the non-zero counts as "time=3 account=1".
func (c Counts) String() string {
	var parts []string
	for r := ByTime; r < nReasons; r++ {
		if c[r] > 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", r, c[r]))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, " ")
}
