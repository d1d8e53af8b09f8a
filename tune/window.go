package tune

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	// The zone database is embedded so that a time window in a named zone
	// works on machines without /usr/share/zoneinfo (distroless images,
	// Windows, scratch containers).
	_ "time/tzdata"
)

// TimeWindow is a recurring period for scheduled jobs: days of the week and
// ranges of hours in a named time zone. A range that ends before it starts
// wraps past midnight and belongs to the day it starts on: with days [fri]
// and hours 22:00-02:00, Friday 23:00 and Saturday 01:00 are inside, Friday
// 01:00 is not.
type TimeWindow struct {
	Zone   *time.Location
	Days   [7]bool     // indexed by time.Weekday; all true when days is omitted
	Ranges []HourRange // empty when hours is omitted: the whole day
}

// HourRange is a half-open range of minutes since local midnight, [Start, End).
// End may be 1440 (24:00). Start > End wraps past midnight.
type HourRange struct{ Start, End int }

// String prints the range as HH:MM-HH:MM.
func (r HourRange) String() string { return clock(r.Start) + "-" + clock(r.End) }

func clock(m int) string { return fmt.Sprintf("%02d:%02d", m/60, m%60) }

// Contains reports whether t falls inside the window.
func (w *TimeWindow) Contains(t time.Time) bool {
	if t.IsZero() {
		return false
	}
	local := t.In(w.Zone)
	day := local.Weekday()
	minute := local.Hour()*60 + local.Minute()
	if len(w.Ranges) == 0 {
		return w.Days[day]
	}
	yesterday := (day + 6) % 7
	for _, r := range w.Ranges {
		if r.Start < r.End {
			if w.Days[day] && minute >= r.Start && minute < r.End {
				return true
			}
			continue
		}
		// Wrapping range: the evening part today, the morning part
		// belongs to yesterday's window.
		if w.Days[day] && minute >= r.Start {
			return true
		}
		if w.Days[yesterday] && minute < r.End {
			return true
		}
	}
	return false
}

// String describes the window, for listings and reasons: days Monday
// first, consecutive days as a range (mon-fri), then the hour ranges and
// the zone.
func (w *TimeWindow) String() string {
	var parts []string
	if w.Days != [7]bool{true, true, true, true, true, true, true} {
		var runs []string
		for i := 0; i < 7; {
			d := time.Weekday((i + 1) % 7) // Monday first
			if !w.Days[d] {
				i++
				continue
			}
			j := i
			for j+1 < 7 && w.Days[time.Weekday((j+2)%7)] {
				j++
			}
			run := dayNames[d]
			if j > i {
				run += "-" + dayNames[(j+1)%7]
			}
			runs = append(runs, run)
			i = j + 1
		}
		parts = append(parts, strings.Join(runs, ","))
	}
	for _, r := range w.Ranges {
		parts = append(parts, r.String())
	}
	if len(parts) == 0 {
		parts = append(parts, "every day")
	}
	return strings.Join(parts, " ") + " " + w.Zone.String()
}

var dayNames = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

var dayByName = map[string]time.Weekday{
	"sun": time.Sunday, "sunday": time.Sunday,
	"mon": time.Monday, "monday": time.Monday,
	"tue": time.Tuesday, "tues": time.Tuesday, "tuesday": time.Tuesday,
	"wed": time.Wednesday, "wednesday": time.Wednesday,
	"thu": time.Thursday, "thur": time.Thursday, "thurs": time.Thursday, "thursday": time.Thursday,
	"fri": time.Friday, "friday": time.Friday,
	"sat": time.Saturday, "saturday": time.Saturday,
}

// parseDays reads one days item: a day name or a range of days such as
// mon-fri (which may wrap: fri-mon is Friday to Monday).
func parseDays(s string, days *[7]bool) error {
	s = strings.ToLower(strings.TrimSpace(s))
	lo, hi, isRange := strings.Cut(s, "-")
	from, ok := dayByName[strings.TrimSpace(lo)]
	if !ok {
		return fmt.Errorf("unknown day %q (want mon, tue, wed, thu, fri, sat, sun or a range like mon-fri)", strings.TrimSpace(lo))
	}
	if !isRange {
		days[from] = true
		return nil
	}
	to, ok := dayByName[strings.TrimSpace(hi)]
	if !ok {
		return fmt.Errorf("unknown day %q (want mon, tue, wed, thu, fri, sat, sun)", strings.TrimSpace(hi))
	}
	for d := from; ; d = (d + 1) % 7 {
		days[d] = true
		if d == to {
			break
		}
	}
	return nil
}

// parseHours reads HH:MM-HH:MM.
func parseHours(s string) (HourRange, error) {
	lo, hi, ok := strings.Cut(strings.TrimSpace(s), "-")
	if !ok {
		return HourRange{}, fmt.Errorf("bad hours %q (want HH:MM-HH:MM, e.g. 18:45-19:30)", s)
	}
	start, err := parseClock(lo, false)
	if err != nil {
		return HourRange{}, fmt.Errorf("bad hours %q: %v", s, err)
	}
	end, err := parseClock(hi, true)
	if err != nil {
		return HourRange{}, fmt.Errorf("bad hours %q: %v", s, err)
	}
	if start == end || (start == 0 && end == 24*60) {
		return HourRange{}, fmt.Errorf("bad hours %q: the range is empty or the whole day; omit hours for the whole day", s)
	}
	return HourRange{Start: start, End: end}, nil
}

func parseClock(s string, allow24 bool) (int, error) {
	s = strings.TrimSpace(s)
	h, m, ok := strings.Cut(s, ":")
	if !ok || len(h) == 0 || len(h) > 2 || len(m) != 2 {
		return 0, fmt.Errorf("%q is not HH:MM", s)
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || mm < 0 || mm > 59 {
		return 0, fmt.Errorf("%q is not HH:MM", s)
	}
	if hh == 24 && mm == 0 && allow24 {
		return 24 * 60, nil
	}
	if hh > 23 {
		return 0, fmt.Errorf("%q is not a time of day", s)
	}
	return hh*60 + mm, nil
}

func loadZone(name string) (*time.Location, error) {
	if name == "" {
		return nil, errors.New("empty time zone")
	}
	// time.LoadLocation treats "Local" as the machine's zone, which would
	// make the same config mean different things on different hosts.
	if strings.EqualFold(name, "local") {
		return nil, errors.New(`"Local" depends on the machine; name the zone, e.g. Europe/Berlin or UTC`)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q (want an IANA name such as Europe/Berlin, America/New_York or UTC)", name)
	}
	return loc, nil
}
