package emulate

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/revertwatch/revertwatch/event"
)

// Shape is a delivery shape, named as the event format ingest reports for
// it, so that what was written can be checked against what was read.
type Shape = event.Format

// The shapes each provider's scenarios are written in.
var (
	AWSShapes   = []Shape{event.FormatCloudTrailRecords, event.FormatCloudTrailEventBridge, event.FormatCloudTrailLines}
	AzureShapes = []Shape{event.FormatAzureStorage, event.FormatAzureEventHub, event.FormatAzureREST, event.FormatAzureLogAnalytics}
	GCPShapes   = []Shape{event.FormatGCPArray, event.FormatGCPLogEntry, event.FormatGCPEntries, event.FormatGCPPubSub, event.FormatGCPBigQuery}
)

// AllShapes lists every shape, AWS first, then Azure, then Google Cloud.
func AllShapes() []Shape {
	return append(append(append([]Shape(nil), AWSShapes...), AzureShapes...), GCPShapes...)
}

// ParseShapes checks shape names.
func ParseShapes(names []string) ([]Shape, error) {
	var out []Shape
	for _, n := range names {
		ok := false
		for _, s := range AllShapes() {
			if strings.EqualFold(n, string(s)) {
				out = append(out, s)
				ok = true
			}
		}
		if !ok {
			all := make([]string, 0, 7)
			for _, s := range AllShapes() {
				all = append(all, string(s))
			}
			return nil, fmt.Errorf("unknown shape %q (want one of %s)", n, strings.Join(all, ", "))
		}
	}
	return out, nil
}

// DefaultStart is the day the emulated activity happens on, unless
// Options.Start says otherwise.
var DefaultStart = time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)

// Options control generation.
type Options struct {
	Seed      int64
	Noise     int      // background events per provider (CloudTrail events; Azure records)
	Scenarios []string // ids or globs; none selects all
	Shapes    []Shape  // none selects all
	Start     time.Time
	// Order is the order of records in and across files; "" is
	// OrderOldestFirst.
	Order Order
	// Span is how long the activity lasts from Start: the background
	// noise is spread over it and the scenarios placed on its days, the
	// first and the last included. 0 means one day; at most MaxSpan,
	// in whole days (CheckSpan).
	Span time.Duration
}

func (o *Options) start() time.Time {
	if o.Start.IsZero() {
		return DefaultStart
	}
	return o.Start.UTC().Truncate(time.Hour)
}

// span is the span in effect: one day unless Options.Span says otherwise.
func (o *Options) span() time.Duration {
	if o.Span <= 0 {
		return Day
	}
	return o.Span
}

// check refuses options that cannot be honoured.
func (o *Options) check() error {
	if err := CheckSpan(o.Span); err != nil {
		return fmt.Errorf("emulate: span: %w", err)
	}
	if _, err := ParseOrder(string(o.Order)); err != nil {
		return fmt.Errorf("emulate: %w", err)
	}
	return nil
}

func (o *Options) wants(s Shape) bool {
	if len(o.Shapes) == 0 {
		return true
	}
	for _, x := range o.Shapes {
		if x == s {
			return true
		}
	}
	return false
}

// File is one output file, its path relative to the output directory
// (slash-separated).
type File struct {
	Path string
	Data []byte
}

// Corpus is what Generate makes: the files and their ground truth.
type Corpus struct {
	Files []File
	Truth Truth
}

// ctItem is one CloudTrail record on its way to the shapes.
type ctItem struct {
	rec      []byte
	account  string
	region   string
	source   string // EventBridge source, aws.<service>
	time     time.Time
	delivery time.Time
	readOnly bool
	dup      bool // delivered a second time
	seq      int
}

// azItem is one Azure record in each of its shapes.
type azItem struct {
	sub       string
	time      time.Time
	submitted time.Time
	rest      []byte
	storage   []byte
	eventHub  []byte
	la        []byte
	seq       int
}

// Generate renders the selected scenarios and the background noise.
func Generate(opt Options) (*Corpus, error) {
	if err := opt.check(); err != nil {
		return nil, err
	}
	all := catalog()
	if err := check(all); err != nil {
		return nil, err
	}
	sel, err := Select(all, opt.Scenarios)
	if err != nil {
		return nil, err
	}
	c := &Corpus{Truth: Truth{Generator: "revertwatch emulate", Seed: opt.Seed, Noise: opt.Noise, Rules: Rules}}
	if o := orderOf(opt.Order); o != OrderOldestFirst {
		c.Truth.Order = o
	}
	if opt.Span > 0 {
		c.Truth.Span = formatSpan(opt.Span)
	}
	for _, s := range AllShapes() {
		if opt.wants(s) {
			c.Truth.Shapes = append(c.Truth.Shapes, s)
		}
	}
	days := placeDays(all, &opt)
	for _, s := range sel {
		st := c.scenario(s, &opt, days[s.ID])
		c.Truth.Scenarios = append(c.Truth.Scenarios, st)
	}
	if opt.Noise > 0 {
		c.noise(&opt)
	}
	sort.Slice(c.Files, func(i, j int) bool { return c.Files[i].Path < c.Files[j].Path })
	return c, nil
}

// scenario renders one scenario into every wanted shape, starting on the
// given day of the span.
func (c *Corpus) scenario(s *Scenario, opt *Options, day int) ScenarioTruth {
	g := idSource{seed: uint64(opt.Seed), scope: "scenario/" + s.ID}
	t := opt.start().Add(time.Duration(day)*Day + time.Hour + time.Duration(g.intn(14*3600, "start"))*time.Second)
	st := ScenarioTruth{
		ID: s.ID, Kind: s.Kind, Title: s.Title, Provider: s.Provider, SeedTest: s.SeedTest,
		ExpectFinding: len(s.Expect) > 0, Rules: append([]string{}, s.Expect...), Why: s.Why, Start: t,
	}
	if s.Count > 0 && len(s.Expect) > 0 {
		st.Counts = []RuleCount{{Rule: s.Expect[0], Count: s.Count}}
	}
	res := &resourceList{}
	var cts []ctItem
	var azs []azItem
	var gcs []gcpItem
	for i := range s.Calls {
		call := &s.Calls[i]
		t = t.Add(call.After)
		switch s.Provider {
		case event.AWS:
			account := acctMain
			if call.Account == "other" {
				account = acctOther
			}
			region := call.Region
			if region == "" {
				region = regionMain
			}
			if st.Account == "" {
				st.Account, st.Region = account, region
			}
			rec, op := awsRecord(g, call, t, account, region)
			cts = append(cts, ctItem{
				rec: appendJSON(nil, rec), account: account, region: region, source: "aws." + op.service,
				time: t, readOnly: op.readOnly, dup: call.Dup, seq: i,
				delivery: t.Add(time.Duration(g.between(60, 240, "delivery", itoa(i))) * time.Second),
			})
			res.aws(g, call)
		case event.Azure:
			sub := subProd
			if call.Account == "other" {
				sub = subOther
			}
			if st.Account == "" {
				st.Account, st.ResourceGroup = sub, call.RG
			}
			for _, p := range azPhases(g, call, t, sub) {
				azs = append(azs, azItem{
					sub: sub, time: p.time, submitted: p.submitted, seq: len(azs),
					rest: appendJSON(nil, p.rest()), storage: appendJSON(nil, p.export(false)),
					eventHub: appendJSON(nil, p.export(true)), la: appendJSON(nil, p.logAnalytics()),
				})
				if p.status == "Accepted" {
					res.azure(p)
				}
			}
		case event.GCP:
			project := gcpProject
			if call.Account == "other" {
				project = gcpProjectOther
			}
			if st.Account == "" {
				st.Account, st.Region = project, gcpZone
			}
			for _, e := range gcpEntries(g, call, t, project) {
				entry := appendJSON(nil, e.entry)
				gcs = append(gcs, gcpItem{project: project, time: e.time, received: e.received, entry: entry,
					push: pushBody(g, e, entry, len(gcs)), bq: bqRow(e.entry), dup: call.Dup, seq: len(gcs)})
				res.add(gcpResource(e.entry))
			}
		}
	}
	// A late call is delivered 5–15 minutes after the call that follows
	// it, so its file is named after the next call's: the later step
	// sits in the earlier-named file.
	for i := range cts {
		if s.Calls[i].Late && i+1 < len(cts) {
			next := cts[i+1].delivery
			if next.Before(cts[i].delivery) {
				next = cts[i].delivery
			}
			cts[i].delivery = next.Add(time.Duration(g.between(300, 900, "late", itoa(i))) * time.Second)
		}
	}
	st.Resources = res.ids
	st.Calls = len(s.Calls)
	prefix := func(shape Shape) string { return string(shape) + "/" + s.ID }
	switch s.Provider {
	case event.AWS:
		for _, shape := range AWSShapes {
			if opt.wants(shape) {
				plans, n := writeCloudTrail(shape, prefix(shape), cts, g)
				c.add(&st, shape, arrange(plans, opt.Order, opt.Seed, prefix(shape)), n)
			}
		}
	case event.Azure:
		for _, shape := range AzureShapes {
			if opt.wants(shape) {
				plans, n := writeAzure(shape, prefix(shape), azs)
				c.add(&st, shape, arrange(plans, opt.Order, opt.Seed, prefix(shape)), n)
			}
		}
	case event.GCP:
		for _, shape := range GCPShapes {
			if opt.wants(shape) {
				plans, n := writeGCP(shape, prefix(shape), gcs)
				c.add(&st, shape, arrange(plans, opt.Order, opt.Seed, prefix(shape)), n)
			}
		}
	}
	return st
}

// placeDays puts each scenario of the catalog on a day of the span. The
// reverts are spread evenly from the first day to the last, and so are
// the other scenarios, so that a detector meets a revert on the first
// and on the last day of a 90-day export, where the edges of a newest-
// first read or of a time-sorted spill are. Placement follows the catalog,
// not the selection, so that a scenario's times (and the ids derived from
// them) do not depend on which others are written. A scenario lasting
// several days starts early enough to end inside the span.
func placeDays(all []*Scenario, opt *Options) map[string]int {
	days := int(opt.span() / Day)
	out := make(map[string]int, len(all))
	var reverts, others []*Scenario
	for _, s := range all {
		if s.Kind == KindRevert {
			reverts = append(reverts, s)
		} else {
			others = append(others, s)
		}
	}
	for _, group := range [][]*Scenario{reverts, others} {
		for i, s := range group {
			d := 0
			if len(group) > 1 {
				d = i * (days - 1) / (len(group) - 1)
			}
			// The latest start leaves room for the scenario's calls
			// after the latest time of day a scenario starts at.
			var length time.Duration
			for _, c := range s.Calls {
				length += c.After
			}
			last := days - 1 - int((15*time.Hour+length)/Day)
			out[s.ID] = max(0, min(d, last))
		}
	}
	return out
}

func (c *Corpus) add(st *ScenarioTruth, shape Shape, files []File, events int) {
	sh := ShapeTruth{Shape: shape, Events: events}
	for _, f := range files {
		sh.Files = append(sh.Files, f.Path)
	}
	c.Files = append(c.Files, files...)
	st.Shapes = append(st.Shapes, sh)
}

// resourceList collects a scenario's resource ids in order of appearance.
type resourceList struct{ ids []string }

func (r *resourceList) add(id string) {
	if id == "" {
		return
	}
	for _, x := range r.ids {
		if x == id {
			return
		}
	}
	r.ids = append(r.ids, id)
}

func (r *resourceList) aws(g idSource, c *Call) {
	sym := func(prefix, s string) {
		if s != "" {
			r.add(g.ec2(prefix, s))
		}
	}
	sym("i", c.Instance)
	sym("vol", c.Volume)
	sym("snap", c.Snapshot)
	sym("ami", c.Image)
	switch c.Op {
	case "CopySnapshot":
		sym("snap", c.Copy)
	case "CopyImage":
		sym("ami", c.Copy)
	case "CreateReplaceRootVolumeTask":
		sym("replacevol", c.Instance)
	}
	r.add(c.SourceDB)
	r.add(c.DB)
	r.add(c.DBSnapshot)
	r.add(c.SrcCluster)
	r.add(c.Cluster)
}

func (r *resourceList) azure(p azPhase) {
	r.add(p.resourceID)
	if p.respBody == nil {
		return
	}
	// The ids inside the bodies: a disk's source, a VM's OS disk.
	body := string(appendJSON(nil, p.respBody))
	for _, key := range []string{`"sourceResourceId":"`, `"osDisk":{`} {
		if i := strings.Index(body, key); i >= 0 {
			rest := body[i+len(key):]
			if key == `"osDisk":{` {
				j := strings.Index(rest, `"managedDisk":{`)
				if j < 0 {
					continue
				}
				rest = rest[j:]
				k := strings.Index(rest, `"id":"`)
				if k < 0 {
					continue
				}
				rest = rest[k+len(`"id":"`):]
			}
			if end := strings.IndexByte(rest, '"'); end > 0 {
				r.add(rest[:end])
			}
		}
	}
}

// writeCloudTrail renders CloudTrail items in one shape under prefix, in
// the order its source delivers them. It returns the file plans and the
// number of events in them.
func writeCloudTrail(shape Shape, prefix string, items []ctItem, g idSource) ([]plan, int) {
	byDelivery := append([]ctItem(nil), items...)
	sort.SliceStable(byDelivery, func(i, j int) bool {
		if !byDelivery[i].delivery.Equal(byDelivery[j].delivery) {
			return byDelivery[i].delivery.Before(byDelivery[j].delivery)
		}
		return byDelivery[i].seq < byDelivery[j].seq
	})
	switch shape {
	case event.FormatCloudTrailRecords:
		return s3Files(prefix, items, g)
	case event.FormatCloudTrailEventBridge:
		p := plan{path: prefix + "/eventbridge.jsonl", wrap: wrapLines}
		for _, it := range byDelivery {
			// Rules in the ENABLED state do not receive read-only
			// management events.
			if it.readOnly {
				continue
			}
			b := eventBridge(nil, it, g.guid("eventbridge", string(it.rec[:min(len(it.rec), 4096)]), itoa(it.seq)))
			p.recs = append(p.recs, record{b, it.time})
		}
		if len(p.recs) == 0 {
			return nil, 0
		}
		return []plan{p}, len(p.recs)
	default:
		p := plan{path: prefix + "/cloudtrail.jsonl", wrap: wrapLines}
		for _, it := range byDelivery {
			p.recs = append(p.recs, record{it.rec, it.time})
		}
		return []plan{p}, len(p.recs)
	}
}

func eventBridge(b []byte, it ctItem, id string) []byte {
	b = append(b, `{"version":"0","id":"`...)
	b = append(b, id...)
	b = append(b, `","detail-type":"AWS API Call via CloudTrail","source":"`...)
	b = append(b, it.source...)
	b = append(b, `","account":"`...)
	b = append(b, it.account...)
	b = append(b, `","time":"`...)
	b = it.time.UTC().AppendFormat(b, "2006-01-02T15:04:05Z")
	b = append(b, `","region":"`...)
	b = append(b, it.region...)
	b = append(b, `","resources":[],"detail":`...)
	b = append(b, it.rec...)
	return append(b, '}')
}

// s3Files groups records into delivery files: one per account, region and
// five-minute delivery window, named with the delivery time under the
// CloudTrail key layout. A duplicated record comes again in the next
// window's file.
func s3Files(prefix string, items []ctItem, g idSource) ([]plan, int) {
	type key struct {
		account, region string
		window          time.Time
	}
	groups := map[key][]ctItem{}
	var keys []key
	put := func(k key, it ctItem) {
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], it)
	}
	n := 0
	for _, it := range items {
		w := it.delivery.Truncate(5 * time.Minute)
		put(key{it.account, it.region, w}, it)
		n++
		if it.dup {
			put(key{it.account, it.region, w.Add(5 * time.Minute)}, it)
			n++
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.account != b.account {
			return a.account < b.account
		}
		if a.region != b.region {
			return a.region < b.region
		}
		return a.window.Before(b.window)
	})
	plans := make([]plan, 0, len(keys))
	for _, k := range keys {
		recs := groups[k]
		sort.SliceStable(recs, func(i, j int) bool { return recs[i].time.Before(recs[j].time) })
		written := k.window.Add(5 * time.Minute)
		name := s3Key(k.account, k.region, written, g.alnum(16, "s3key", k.account, k.region, written.String()))
		p := plan{path: prefix + "/" + name, wrap: wrapS3}
		for _, it := range recs {
			p.recs = append(p.recs, record{it.rec, it.time})
		}
		plans = append(plans, p)
	}
	return plans, n
}

// s3Key is the CloudTrail object key of a log file.
func s3Key(account, region string, written time.Time, unique string) string {
	org := ""
	if orgTrail != "" {
		org = orgTrail + "/"
	}
	return "AWSLogs/" + org + account + "/CloudTrail/" + region + "/" + written.Format("2006/01/02") + "/" +
		account + "_CloudTrail_" + region + "_" + written.Format("20060102T1504Z") + "_" + unique + ".json.gz"
}

// gzipBytes compresses with a fixed header (no name, zero time), so that
// the same records always give the same bytes.
func gzipBytes(b []byte) []byte {
	var out bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&out, gzip.DefaultCompression)
	zw.Write(b)
	zw.Close()
	return out.Bytes()
}

// writeAzure renders Azure items in one shape under prefix, in the order
// its source delivers them.
func writeAzure(shape Shape, prefix string, items []azItem) ([]plan, int) {
	if len(items) == 0 {
		return nil, 0
	}
	bySubmit := append([]azItem(nil), items...)
	sort.SliceStable(bySubmit, func(i, j int) bool { return bySubmit[i].submitted.Before(bySubmit[j].submitted) })
	switch shape {
	case event.FormatAzureStorage:
		// One append blob per subscription and hour of event time, JSON
		// lines in the order records arrived.
		type key struct {
			sub  string
			hour time.Time
		}
		groups := map[key][]record{}
		var keys []key
		for _, it := range bySubmit {
			k := key{it.sub, it.time.Truncate(time.Hour)}
			if _, ok := groups[k]; !ok {
				keys = append(keys, k)
			}
			groups[k] = append(groups[k], record{it.storage, it.time})
		}
		sort.Slice(keys, func(i, j int) bool {
			if keys[i].sub != keys[j].sub {
				return keys[i].sub < keys[j].sub
			}
			return keys[i].hour.Before(keys[j].hour)
		})
		var plans []plan
		for _, k := range keys {
			plans = append(plans, plan{path: prefix + "/" + storageBlob(k.sub, k.hour), wrap: wrapLines, recs: groups[k]})
		}
		return plans, len(items)
	case event.FormatAzureEventHub:
		// One message per minute of arrival, {"records":[...]}.
		var plans []plan
		for _, it := range bySubmit {
			m := it.submitted.Truncate(time.Minute)
			path := fmt.Sprintf("%s/insights-activity-logs/%s.json", prefix, m.Format("2006-01-02T15-04"))
			if len(plans) == 0 || plans[len(plans)-1].path != path {
				plans = append(plans, plan{path: path, wrap: wrapEventHub})
			}
			p := &plans[len(plans)-1]
			p.recs = append(p.recs, record{it.eventHub, it.time})
		}
		return plans, len(items)
	case event.FormatAzureREST:
		// The list API returns the newest first.
		byTime := append([]azItem(nil), items...)
		sort.SliceStable(byTime, func(i, j int) bool { return byTime[i].time.After(byTime[j].time) })
		p := plan{path: prefix + "/activity-log.json", wrap: wrapREST}
		for _, it := range byTime {
			p.recs = append(p.recs, record{it.rest, it.time})
		}
		return []plan{p}, len(items)
	default:
		byTime := append([]azItem(nil), items...)
		sort.SliceStable(byTime, func(i, j int) bool { return byTime[i].time.Before(byTime[j].time) })
		p := plan{path: prefix + "/azureactivity.json", wrap: wrapLA}
		for _, it := range byTime {
			p.recs = append(p.recs, record{it.la, it.time})
		}
		return []plan{p}, len(items)
	}
}

// storageBlob is the blob path a diagnostic setting writes the Activity
// Log of a subscription to, per hour.
func storageBlob(sub string, hour time.Time) string {
	return "insights-activity-logs/resourceId=/SUBSCRIPTIONS/" + strings.ToUpper(sub) +
		hour.Format("/y=2006/m=01/d=02/h=15/m=00/") + "PT1H.json"
}
