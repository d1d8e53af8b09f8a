package platforms

import (
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"

	"github.com/revertwatch/revertwatch/content"
	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/sequence"
)

// The export formats.
const (
	FormatSigma = "sigma" // ExportSigma: YAML documents, not queries
	FormatSumo  = "sumo"
	FormatSPL   = "spl"
	FormatKQL   = "kql"
	FormatEQL   = "eql"
	FormatSQL   = "sql"
)

// Formats lists the export formats this package writes.
var Formats = []string{FormatSumo, FormatSPL, FormatKQL, FormatEQL, FormatSQL}

// Query is one exported query.
type Query struct {
	ID       string   // detection id, or the seed query's id
	Title    string   // what it finds
	Platform string   // one of Formats
	Text     string   // the query
	Lost     []string // what the platform cannot express that hunt does
}

// Export returns the detections as queries for one platform (every
// format but sql, which is one script: see WriteSQL).
func Export(format string) ([]Query, error) {
	var out []Query
	if format == FormatSumo {
		if b, ok := content.Query("t1578.004-sumo"); ok {
			out = append(out, Query{ID: b.ID, Title: b.Title, Platform: FormatSumo, Text: strings.TrimRight(b.Text, "\n"),
				Lost: []string{"the seed query counts risky operations per caller and resource group; it does not correlate the steps of a revert"}})
		}
	}
	for _, d := range Detections() {
		d := d
		var q Query
		var err error
		switch format {
		case FormatSumo, FormatSPL, FormatKQL, FormatEQL:
			if d.Provider == event.GCP {
				q, err = gcpQuery(&d, format)
				break
			}
			switch format {
			case FormatSumo:
				q, err = sumoQuery(&d)
			case FormatSPL:
				q, err = splQuery(&d)
			case FormatKQL:
				q, err = kqlQuery(&d)
			case FormatEQL:
				q, err = eqlQuery(&d)
			}
		default:
			return nil, fmt.Errorf("unknown export format %q (want %s)", format, strings.Join(Formats, ", "))
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", d.ID, err)
		}
		q.ID, q.Title, q.Platform = d.ID, d.Title, format
		out = append(out, q)
	}
	return out, nil
}

// Write writes every query of a format, each under a comment header that
// names it and says what it loses. SQL is written as one script.
func Write(w io.Writer, format string, sqlOpt SQLOptions) error {
	if format == FormatSQL {
		return WriteSQL(w, sqlOpt)
	}
	qs, err := Export(format)
	if err != nil {
		return err
	}
	comment := "//"
	if format == FormatSPL {
		comment = "```"
	}
	var b strings.Builder
	for i, q := range qs {
		if i > 0 {
			b.WriteString("\n")
		}
		header := []string{fmt.Sprintf("%s: %s", q.ID, q.Title)}
		for _, l := range q.Lost {
			header = append(header, "loses: "+l)
		}
		for _, h := range header {
			if format == FormatSPL {
				fmt.Fprintf(&b, "%s %s %s\n", comment, h, comment)
			} else {
				fmt.Fprintf(&b, "%s %s\n", comment, h)
			}
		}
		b.WriteString(q.Text)
		b.WriteString("\n")
	}
	_, err = io.WriteString(w, b.String())
	return err
}

// pair is the part of a detection a platform without multi-key sequences
// can correlate: the last two steps, joined on one binding they share.
type pair struct {
	steps []int  // indexes into Detection.Steps, in order
	key   string // binding name the steps join on; "" for one step
	lost  []string
}

func pairOf(d *Detection) pair {
	n := len(d.Steps)
	if n == 1 {
		return pair{steps: []int{0}}
	}
	p := pair{steps: []int{n - 2, n - 1}}
	if n > 2 {
		var names []string
		for _, st := range d.Steps[:n-2] {
			names = append(names, st.Name)
		}
		p.lost = append(p.lost, fmt.Sprintf("the earlier step(s) %s, joined on a different key: only the last two steps are correlated", strings.Join(names, ", ")))
	}
	a, b := d.Steps[n-2], d.Steps[n-1]
	for _, opt := range []bool{false, true} {
		for _, bb := range b.Bind {
			if bb.Optional != opt {
				continue
			}
			for _, ab := range a.Bind {
				if ab.Name == bb.Name && p.key == "" {
					p.key = bb.Name
				}
			}
		}
	}
	for _, ab := range a.Bind {
		for _, bb := range b.Bind {
			if ab.Name == bb.Name && ab.Name != p.key {
				p.lost = append(p.lost, "the second join key "+ab.Name)
			}
		}
	}
	return p
}

// bindField returns the field a step binds a name from.
func bindField(st *sequence.Step, name string) (sequence.Field, bool) {
	for _, b := range st.Bind {
		if b.Name == name {
			return b.Field, true
		}
	}
	return sequence.FieldNone, false
}

func contextLost(d *Detection) []string {
	var out []string
	for _, c := range d.Required {
		out = append(out, fmt.Sprintf("the required %s before the %s step", c.Name, c.Before))
	}
	return out
}

const (
	ctScope = "_sourceCategory=*aws*cloudtrail*"
	azScope = "_sourceCategory=*azure*activitylog*"
)

var reMeta = regexp.MustCompile(`[\\.+*?()|\[\]{}^$]`)

func regexAlt(vals []string) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = reMeta.ReplaceAllString(v, `\$0`)
	}
	return strings.Join(q, "|")
}

// quote writes a string literal for Sumo, SPL, KQL and EQL alike.
func quote(s string) string {
	return `"` + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), `"`, `\"`) + `"`
}

// sumoQuote writes a Sumo string literal: the lexer unescapes only \",
// and regex consumers see the text raw, so backslashes stay single.
func sumoQuote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }

func sumoQuoteList(vals []string) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = sumoQuote(v)
	}
	return strings.Join(q, ", ")
}

func quoteList(vals []string) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = quote(v)
	}
	return strings.Join(q, ", ")
}

// sumoField is how a Sumo query after json auto names a field of a step's
// operation: the first member of a list, Azure body fields parsed out of
// the body string beforehand.
func sumoField(d *Detection, op string, f sequence.Field) (string, bool) {
	r, ok := refFor(d.Provider, op, f)
	if !ok {
		return "", false
	}
	if r.body {
		return "rw_" + f.String(), true
	}
	return `%"` + strings.ReplaceAll(r.path, "[]", "[0]") + `"`, true
}

// sumoCond renders a rule condition for the Sumo where clause.
func sumoCond(field string, c sequence.Cond) string {
	switch c.Op {
	case sequence.Present:
		return "!isEmpty(" + field + ")"
	case sequence.Absent:
		return "isEmpty(" + field + ")"
	case sequence.In:
		return fmt.Sprintf("matches(%s, %s)", field, sumoQuote("(?i)^("+regexAlt(c.Values)+")$"))
	case sequence.NotIn:
		return fmt.Sprintf("!matches(%s, %s)", field, sumoQuote("(?i)^("+regexAlt(c.Values)+")$"))
	case sequence.Prefix:
		return fmt.Sprintf("matches(%s, %s)", field, sumoQuote("(?i)^("+regexAlt(c.Values)+")"))
	case sequence.Contains:
		return fmt.Sprintf("matches(%s, %s)", field, sumoQuote("(?i)("+regexAlt(c.Values)+")"))
	}
	return "false"
}

// sumoStepTest is the test that a record is the step: its operation and
// conditions.
func sumoStepTest(d *Detection, st *sequence.Step) string {
	opField := "eventName"
	ops := st.Operations
	var tests []string
	if d.Provider == event.Azure {
		opField = "operationName"
		tests = append(tests, fmt.Sprintf("matches(%s, %s)", opField, sumoQuote("(?i)^("+regexAlt(ops)+")$")))
	} else {
		tests = append(tests, fmt.Sprintf("%s in (%s)", opField, sumoQuoteList(ops)))
	}
	for _, c := range st.Where {
		field, ok := sumoField(d, ops[0], c.Field)
		if !ok {
			if c.Op == sequence.Absent || c.Op == sequence.NotIn {
				continue
			}
			return "false"
		}
		tests = append(tests, sumoCond(field, c))
	}
	return strings.Join(tests, " and ")
}

// sumoKey is the expression of a binding on a step's records.
func sumoKey(d *Detection, st *sequence.Step, name string) string {
	f, _ := bindField(st, name)
	groups, refs, _ := opsByRef(d.Provider, st.Operations, f)
	if d.Provider == event.Azure {
		fld, _ := sumoField(d, st.Operations[0], f)
		return "toLowerCase(" + fld + ")"
	}
	if len(groups) == 1 {
		return `%"` + strings.ReplaceAll(refs[0].path, "[]", "[0]") + `"`
	}
	expr := `""`
	for i := len(groups) - 1; i >= 0; i-- {
		expr = fmt.Sprintf("if(eventName in (%s), %%\"%s\", %s)", sumoQuoteList(groups[i]), strings.ReplaceAll(refs[i].path, "[]", "[0]"), expr)
	}
	return expr
}

// sumoBodyRegex pulls a body field out of the JSON string of an Azure
// responseBody: Sumo's json auto leaves a string-valued body unparsed.
var sumoBodyRegex = map[sequence.Field]string{
	sequence.FieldCreateOption:   `"createOption":\s*"(?<rw_create_option>[^"]*)"`,
	sequence.FieldSourceResource: `"sourceResourceId":\s*"(?<rw_source_resource>[^"]*)"`,
	sequence.FieldOSDisk:         `"osDisk":\s*\{.*?"managedDisk":\s*\{[^}]*?"id":\s*"(?<rw_os_disk>[^"]*)"`,
}

func sumoQuery(d *Detection) (Query, error) {
	p := pairOf(d)
	q := Query{Lost: append(append([]string{}, p.lost...), contextLost(d)...)}
	var b strings.Builder
	if d.Provider == event.Azure {
		b.WriteString(azScope + "\n| json auto\n")
		// Bodies come on the Accept or Start record, not on the Success
		// one: keep every phase that is not a failure.
		b.WriteString("| where !matches(resultType, \"(?i)^fail\")\n")
		bodies := map[sequence.Field]bool{}
		for _, i := range p.steps {
			st := &d.Steps[i]
			for _, c := range st.Where {
				bodies[c.Field] = true
			}
			for _, bd := range st.Bind {
				bodies[bd.Field] = true
			}
		}
		for _, f := range []sequence.Field{sequence.FieldCreateOption, sequence.FieldSourceResource, sequence.FieldOSDisk} {
			if bodies[f] {
				fmt.Fprintf(&b, "| parse regex field=%%\"properties.responseBody\" %s nodrop\n", sumoQuote(sumoBodyRegex[f]))
			}
		}
		q.Lost = append(q.Lost, "Azure Start/Accept/Success phases are not folded: any phase that is not a failure counts, so a call that failed later still matches")
	} else {
		b.WriteString(ctScope + "\n| json auto\n| where isEmpty(errorCode)\n")
		q.Lost = append(q.Lost, "only the first member of CloudTrail lists (instancesSet.items[0]) is read")
	}
	var tests []string
	for _, i := range p.steps {
		tests = append(tests, "("+sumoStepTest(d, &d.Steps[i])+")")
	}
	fmt.Fprintf(&b, "| where %s\n", strings.Join(tests, " or "))
	scope := "recipientAccountId, awsRegion"
	if d.Provider == event.Azure {
		scope = "_sourceHost"
	}
	if len(p.steps) == 1 {
		st := &d.Steps[0]
		var keys []string
		for _, bd := range st.Bind {
			fmt.Fprintf(&b, "| %s as %s\n", sumoKey(d, st, bd.Name), bd.Name)
			keys = append(keys, bd.Name)
		}
		fmt.Fprintf(&b, "| count as calls, min(_messageTime) as first_seen, values(caller) as callers by %s", scope)
		if len(keys) > 0 {
			b.WriteString(", " + strings.Join(keys, ", "))
		}
		b.WriteString("\n| sort by first_seen asc")
		q.Text = b.String()
		return q, nil
	}
	first, last := &d.Steps[p.steps[0]], &d.Steps[p.steps[1]]
	fmt.Fprintf(&b, "| if(%s, %s, %s) as %s\n", sumoStepTest(d, first), sumoKey(d, first, p.key), sumoKey(d, last, p.key), p.key)
	fmt.Fprintf(&b, "| if(%s, _messageTime, 99999999999999) as t_%s\n", sumoStepTest(d, first), first.Name)
	fmt.Fprintf(&b, "| if(%s, _messageTime, 0) as t_%s\n", sumoStepTest(d, last), last.Name)
	fmt.Fprintf(&b, "| min(t_%s) as first_seen, max(t_%s) as last_seen, values(eventName) as operations, values(caller) as callers by %s, %s\n",
		first.Name, last.Name, scope, p.key)
	if d.Provider == event.Azure {
		text := strings.Replace(b.String(), "values(eventName)", "values(operationName)", 1)
		b.Reset()
		b.WriteString(text)
	}
	fmt.Fprintf(&b, "| where first_seen < 99999999999999 and last_seen > 0 and last_seen >= first_seen and last_seen - first_seen <= %d\n", d.Window.Milliseconds())
	b.WriteString("| sort by first_seen asc")
	q.Lost = append(q.Lost, "the step order is checked between the earliest first step and the latest last step per key over the search range, not per occurrence")
	q.Text = b.String()
	return q, nil
}

// splPath names a CloudTrail field as the Splunk Add-on for AWS extracts
// it (spath naming: lists as {}).
func splPath(path string) string { return strings.ReplaceAll(path, "[]", "{}") }

func splQuery(d *Detection) (Query, error) {
	p := pairOf(d)
	q := Query{Lost: append(append([]string{}, p.lost...), contextLost(d)...)}
	var b strings.Builder
	stepTest := func(st *sequence.Step) string {
		var tests []string
		if d.Provider == event.Azure {
			tests = append(tests, fmt.Sprintf("match(lower(operationName), %s)", quote("^("+regexAlt(lowerAll(st.Operations))+")$")))
		} else {
			tests = append(tests, fmt.Sprintf("in(eventName, %s)", quoteList(st.Operations)))
		}
		for _, c := range st.Where {
			fld := "rw_" + c.Field.String()
			switch c.Op {
			case sequence.Present:
				tests = append(tests, fmt.Sprintf("isnotnull(%s)", fld))
			case sequence.Absent:
				tests = append(tests, fmt.Sprintf("isnull(%s)", fld))
			case sequence.In:
				tests = append(tests, fmt.Sprintf("match(%s, %s)", fld, quote("(?i)^("+regexAlt(c.Values)+")$")))
			case sequence.NotIn:
				tests = append(tests, fmt.Sprintf("NOT match(%s, %s)", fld, quote("(?i)^("+regexAlt(c.Values)+")$")))
			case sequence.Prefix:
				tests = append(tests, fmt.Sprintf("match(%s, %s)", fld, quote("(?i)^("+regexAlt(c.Values)+")")))
			case sequence.Contains:
				tests = append(tests, fmt.Sprintf("match(%s, %s)", fld, quote("(?i)("+regexAlt(c.Values)+")")))
			}
		}
		return strings.Join(tests, " AND ")
	}
	var ops []string
	for _, i := range p.steps {
		ops = append(ops, d.Steps[i].Operations...)
	}
	fields := map[sequence.Field]bool{}
	for _, i := range p.steps {
		for _, c := range d.Steps[i].Where {
			fields[c.Field] = true
		}
		for _, bd := range d.Steps[i].Bind {
			if bd.Name == p.key || len(p.steps) == 1 {
				fields[bd.Field] = true
			}
		}
	}
	if d.Provider == event.Azure {
		fmt.Fprintf(&b, "sourcetype=\"azure:monitor:activity\" (%s)\n", orTerms("operationName", ops))
		b.WriteString("| where NOT match(resultType, \"(?i)^fail\")\n")
		for _, f := range sortedFields(fields) {
			r := pairRef(d, p, f)
			if r.body {
				fmt.Fprintf(&b, "| spath input=properties.responseBody path=%s output=rw_%s\n", r.path, f)
			} else {
				fmt.Fprintf(&b, "| eval rw_%s=lower(%s)\n", f, r.path)
			}
		}
		q.Lost = append(q.Lost, "Azure Start/Accept/Success phases are not folded: any phase that is not a failure counts (bodies come on Accept), so a call that failed later still matches")
	} else {
		fmt.Fprintf(&b, "sourcetype=\"aws:cloudtrail\" (%s)\n| where isnull(errorCode)\n", orTerms("eventName", ops))
		for _, f := range sortedFields(fields) {
			var cases []string
			for _, i := range p.steps {
				st := &d.Steps[i]
				if !splUses(st, f, p.key, len(p.steps) == 1) {
					continue // a path the step's tests never read
				}
				groups, refs, _ := opsByRef(d.Provider, st.Operations, f)
				for gi, g := range groups {
					val := fmt.Sprintf("'%s'", splPath(refs[gi].path))
					if refs[gi].list {
						val = fmt.Sprintf("mvindex('%s', 0)", splPath(refs[gi].path))
					}
					cases = append(cases, fmt.Sprintf("in(eventName, %s), %s", quoteList(g), val))
				}
			}
			if len(cases) == 0 {
				continue
			}
			fmt.Fprintf(&b, "| eval rw_%s=case(%s)\n", f, strings.Join(dedupe(cases), ", "))
		}
		q.Lost = append(q.Lost, "only the first member of multi-valued CloudTrail lists is joined (mvindex 0)")
	}
	scope := "recipientAccountId, awsRegion"
	if d.Provider == event.Azure {
		scope = "subscriptionId"
		b.WriteString("| rex field=resourceId \"(?i)/subscriptions/(?<subscriptionId>[^/]+)\"\n")
	}
	callerField := "'userIdentity.arn'"
	if d.Provider == event.Azure {
		callerField = "caller"
	}
	if len(p.steps) == 1 {
		st := &d.Steps[0]
		fmt.Fprintf(&b, "| where %s\n", stepTest(st))
		var keys []string
		for _, bd := range st.Bind {
			keys = append(keys, "rw_"+bd.Field.String())
		}
		by := scope
		if len(keys) > 0 {
			by += ", " + strings.Join(keys, ", ")
		}
		fmt.Fprintf(&b, "| stats count AS calls, min(_time) AS first_seen, values(%s) AS callers BY %s", callerField, by)
		q.Text = b.String()
		return q, nil
	}
	first, last := &d.Steps[p.steps[0]], &d.Steps[p.steps[1]]
	ff, _ := bindField(first, p.key)
	lf, _ := bindField(last, p.key)
	fmt.Fprintf(&b, "| eval rw_step=case(%s, %s, %s, %s)\n", stepTest(first), quote(first.Name), stepTest(last), quote(last.Name))
	b.WriteString("| where isnotnull(rw_step)\n")
	fmt.Fprintf(&b, "| eval rw_key=if(rw_step=%s, rw_%s, rw_%s)\n", quote(first.Name), ff, lf)
	fmt.Fprintf(&b, "| eval t_first=if(rw_step=%s, _time, null()), t_last=if(rw_step=%s, _time, null())\n", quote(first.Name), quote(last.Name))
	fmt.Fprintf(&b, "| stats min(t_first) AS first_seen, max(t_last) AS last_seen, values(rw_step) AS steps, values(%s) AS callers BY %s, rw_key\n", callerField, scope)
	fmt.Fprintf(&b, "| where isnotnull(first_seen) AND isnotnull(last_seen) AND last_seen >= first_seen AND last_seen - first_seen <= %d\n", int64(d.Window.Seconds()))
	b.WriteString("| rename rw_key AS " + p.key)
	q.Lost = append(q.Lost, "SPL has no sequence operator here: the earliest first step and the latest last step per key are compared (transaction would hold every event in memory)")
	q.Text = b.String()
	return q, nil
}

// splUses reports whether the SPL of a step reads field f: in a
// condition, or as the key it joins on (every key of a lone step).
func splUses(st *sequence.Step, f sequence.Field, key string, alone bool) bool {
	for _, c := range st.Where {
		if c.Field == f {
			return true
		}
	}
	for _, bd := range st.Bind {
		if bd.Field == f && (bd.Name == key || alone) {
			return true
		}
	}
	return false
}

// pairRef is where the first of the pair's steps that has a field keeps
// it.
func pairRef(d *Detection, p pair, f sequence.Field) ref {
	for _, i := range p.steps {
		for _, op := range d.Steps[i].Operations {
			if r, ok := refFor(d.Provider, op, f); ok {
				return r
			}
		}
	}
	return ref{}
}

func orTerms(field string, ops []string) string {
	var terms []string
	for _, op := range dedupe(ops) {
		terms = append(terms, fmt.Sprintf("%s=%s", field, quote(op)))
	}
	return strings.Join(terms, " OR ")
}

func dedupe(list []string) []string {
	var out []string
	for _, s := range list {
		if !contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func sortedFields(m map[sequence.Field]bool) []sequence.Field {
	var out []sequence.Field
	for f := range m {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
