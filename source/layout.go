package source

import (
	"strconv"
	"strings"
	"time"

	"github.com/revertwatch/revertwatch/event"
)

// The CloudTrail layout (sources.md §1, from the CloudTrail User Guide's
// "Finding your CloudTrail log files"):
//
//	[PREFIX/]AWSLogs/[o-ORGID/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHmmZ_UNIQUE.json.gz
//
// beside CloudTrail-Digest/ (hourly hashes) and CloudTrail-Insight/. The
// folder date and the time in the name are the delivery time, in UTC.

// Folder names of the CloudTrail layout.
const (
	awsLogs       = "AWSLogs"
	ctLogs        = "CloudTrail"
	ctDigest      = "CloudTrail-Digest"
	ctInsight     = "CloudTrail-Insight"
	azureExport   = "resourceId="
	deliveryStamp = "20060102T1504Z"
)

// Layout is what a path of a known log layout says about the files under
// it. Fields a path does not reach are empty.
type Layout struct {
	Kind      string    // "cloudtrail", "azure" or "gcp"; "" when the path is of no known layout
	Org       string    // o-… of an organisation trail
	Account   string    // AWS account, or Azure subscription (as written)
	Folder    string    // CloudTrail, CloudTrail-Digest, CloudTrail-Insight…
	Region    string    // CloudTrail region
	Day       time.Time // delivery day (UTC) when the path reaches it
	Hour      time.Time // Azure: the hour folder when the path reaches it
	Delivered time.Time // CloudTrail: the delivery time in the file name
	// Google Cloud: the year and month folders a path reaches (Day and
	// Hour are set as far as it reaches them).
	Year, Month int
}

// ParseLayout reads a slash-separated path (an S3 key or a local path)
// for the CloudTrail or the Azure Activity Log export layout. A path that
// ends in "/" is a folder; otherwise its last segment is a file name.
func ParseLayout(p string) Layout {
	segs := strings.Split(p, "/")
	file := ""
	if n := len(segs); n > 0 {
		file = segs[n-1]
		segs = segs[:n-1]
	}
	for i, s := range segs {
		if s == awsLogs {
			return parseCloudTrail(segs[i+1:], file)
		}
		if strings.HasPrefix(s, azureExport) {
			return parseAzure(segs[i:], file)
		}
		if s == gcpAudit {
			return parseGCS(segs[i+1:], file)
		}
	}
	return Layout{}
}

func parseCloudTrail(segs []string, file string) Layout {
	l := Layout{Kind: "cloudtrail"}
	if len(segs) > 0 && strings.HasPrefix(segs[0], "o-") {
		l.Org, segs = segs[0], segs[1:]
	}
	if len(segs) == 0 {
		return l
	}
	l.Account, segs = segs[0], segs[1:]
	if len(segs) == 0 {
		return l
	}
	l.Folder, segs = segs[0], segs[1:]
	if len(segs) == 0 {
		return l
	}
	l.Region, segs = segs[0], segs[1:]
	if len(segs) >= 3 {
		if d, err := time.Parse("2006/01/02", strings.Join(segs[:3], "/")); err == nil {
			l.Day = d
		}
	}
	if !l.Day.IsZero() && len(segs) == 3 && file != "" {
		// ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHmmZ_UNIQUE.json.gz
		parts := strings.Split(file, "_")
		if len(parts) >= 4 {
			if t, err := time.Parse(deliveryStamp, parts[3]); err == nil {
				l.Delivered = t
			}
		}
	}
	return l
}

// parseAzure reads resourceId=/SUBSCRIPTIONS/<sub>/…/y=YYYY/m=MM/d=DD/h=HH/m=00/PT1H.json
// (sources.md §5). The segments after the subscription name the resource
// (group, provider) for resource logs; the activity log stops at the
// subscription.
func parseAzure(segs []string, file string) Layout {
	l := Layout{Kind: "azure", Account: event.ARMSubscription(strings.Join(segs, "/") + "/")}
	var y, mo, d, h = -1, -1, -1, -1
	seenHour := false
	for _, s := range segs {
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			continue
		}
		switch k {
		case "y":
			y = n
		case "m":
			if !seenHour {
				mo = n
			}
		case "d":
			d = n
		case "h":
			h, seenHour = n, true
		}
	}
	if y > 0 && mo > 0 && d > 0 {
		l.Day = time.Date(y, time.Month(mo), d, 0, 0, 0, 0, time.UTC)
		if h >= 0 {
			l.Hour = l.Day.Add(time.Duration(h) * time.Hour)
		}
	}
	return l
}

// The Cloud Storage sink's layout (Cloud Logging, "View logs routed to
// Cloud Storage"; telemetry-gcp.md §4):
//
//	[PREFIX/]cloudaudit.googleapis.com/LOG/YYYY/MM/DD/HH:00:00_HH:59:59_Sn.json
//
// LOG is activity, system_event, data_access or policy; the hour is that
// of the entries' timestamps, in UTC (An shards too).
const gcpAudit = "cloudaudit.googleapis.com"

func parseGCS(segs []string, file string) Layout {
	l := Layout{Kind: "gcp"}
	if len(segs) == 0 {
		return l
	}
	l.Folder, segs = segs[0], segs[1:]
	num := func(s string, digits int) int {
		if len(s) != digits {
			return 0
		}
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			return 0
		}
		return n
	}
	if len(segs) > 0 {
		l.Year = num(segs[0], 4)
	}
	if len(segs) > 1 && l.Year > 0 {
		if m := num(segs[1], 2); m <= 12 {
			l.Month = m
		}
	}
	if len(segs) > 2 && l.Month > 0 {
		if d, err := time.Parse("2006/01/02", strings.Join(segs[:3], "/")); err == nil {
			l.Day = d
		}
	}
	if !l.Day.IsZero() && len(segs) == 3 && len(file) > 19 && file[2] == ':' && file[8] == '_' {
		if t, err := time.Parse("15:04:05", file[:8]); err == nil && t.Minute() == 0 && t.Second() == 0 {
			l.Hour = l.Day.Add(time.Duration(t.Hour()) * time.Hour)
		}
	}
	return l
}

// Classify says whether the files under a path of a known layout may hold
// records the filter keeps, and if not why. Paths of no known layout are
// kept: their records are filtered one by one. Digest and Insights files
// are refused whatever the filter: they hold no audit events.
func (f *Filter) Classify(p string) Reason {
	l := ParseLayout(p)
	switch l.Kind {
	case "cloudtrail":
		if l.Folder == ctDigest || l.Folder == ctInsight {
			return ByDigest
		}
		if l.Account != "" && !f.KeepAccount(l.Account) {
			return ByAccount
		}
		if l.Region != "" && !f.KeepRegion(l.Region) {
			return ByRegion
		}
		if !l.Day.IsZero() && !f.KeepDay(l.Day) {
			return ByTime
		}
		if !l.Delivered.IsZero() && !f.KeepDelivery(l.Delivered) {
			return ByTime
		}
	case "azure":
		if l.Account != "" && !f.KeepAccount(l.Account) {
			return ByAccount
		}
		if !l.Hour.IsZero() {
			if !f.KeepHour(l.Hour) {
				return ByTime
			}
		} else if !l.Day.IsZero() && !f.KeepDay(l.Day) {
			return ByTime
		}
	case "gcp":
		if from, to, ok := gcsSpan(l); ok && !f.KeepSpan(from, to) {
			return ByTime
		}
	}
	return Kept
}
