package platforms

import (
	"fmt"
	"strings"

	"github.com/revertwatch/revertwatch/content/catalog"
	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/sequence"
)

// Google Cloud in the query exports. A Cloud Audit Logs entry is read as
// its LogEntry JSON (the Cloud Storage sink, Pub/Sub and the Logging API
// write it so); the field catalog says where in the entry a key is.
//
// A resource reference is written three ways in the logs: a full URL
// (https://www.googleapis.com/compute/v1/projects/p/zones/z/disks/d), a
// path from projects/ (resourceName) and a partial URL from the zone or
// region (zones/z/disks/d). The sequence engine compares them as paths
// from projects/ (ingest/gcp.Canonical); the query exports compare the
// part from the zone, region or global/ on, within the entry's project,
// which is their scope.

// gcpVersionRE strips the API version Compute Engine puts before a
// methodName (v1., beta., alpha.; ingest/gcp.Method).
const gcpVersionRE = "^" + gcpVersion

const gcpVersion = `(?:v[0-9]+[a-z0-9]*|beta|alpha)\.`

// gcpTailRE finds a reference's path from its zone, region, location or
// global/ collection, in its first group.
const gcpTailRE = `^(?:.*?/)?(?:projects/[^/]+/)?((?:zones|regions|global|locations)/[^?#]*)`

// gcpFailed are the severities of a failed call's entry.
var gcpFailed = []string{"ERROR", "CRITICAL", "ALERT", "EMERGENCY"}

// gcpRef is where a rule field of a Google Cloud operation is in a
// LogEntry, from the field catalog.
type gcpRef struct {
	path string // LogEntry path (protoPayload.resourceName, protoPayload.request.…); [] marks a list
	list bool
	// prefix, when set, is the collection path a bare name is put under
	// to make the key (a snapshot's name in createSnapshot's request).
	prefix string
	// flag is set when the field is present when path is true (the boot
	// disk of attachDisk: its request says boot: true).
	flag bool
}

// gcpPath writes a catalog path as a LogEntry path.
func gcpPath(p catalog.Path) string {
	switch p.Body {
	case catalog.Request:
		return "protoPayload.request." + p.Path
	case catalog.Response:
		return "protoPayload.response." + p.Path
	}
	return p.Path
}

// gcpRefFor returns where an operation keeps a field, or false when the
// catalog has no path for it. A derived key is exported when the query
// languages can make it: a name put under its collection, or a flag.
func gcpRefFor(op string, f sequence.Field) (gcpRef, bool, error) {
	o, _ := catalog.Lookup(event.GCP, op)
	fl, ok := o.Field(catalog.Key(f.String()))
	if !ok || len(fl.Paths) == 0 {
		return gcpRef{}, false, nil
	}
	p := fl.Paths[0]
	r := gcpRef{path: gcpPath(p), list: p.List()}
	switch {
	case fl.Derived == "":
	case strings.HasPrefix(fl.Derived, "projects/{project}/") && strings.Contains(fl.Derived, "{name}"):
		rest := strings.TrimPrefix(fl.Derived, "projects/{project}/")
		r.prefix = rest[:strings.Index(rest, "{name}")]
	case catalog.Key(f.String()) == catalog.RootDevice:
		for _, q := range fl.Paths {
			if strings.HasSuffix(q.Path, "boot") {
				return gcpRef{path: gcpPath(q), flag: true}, true, nil
			}
		}
		return gcpRef{}, false, fmt.Errorf("%s: the catalog's %s has no boot path", op, f)
	default:
		return gcpRef{}, false, fmt.Errorf("%s: derived %s (%s) has no export", op, f, fl.Derived)
	}
	return r, true, nil
}

// gcpGroups groups a step's operations by where they keep a field.
func gcpGroups(ops []string, f sequence.Field) (groups [][]string, refs []gcpRef, err error) {
	idx := map[gcpRef]int{}
	for _, op := range ops {
		r, ok, err := gcpRefFor(op, f)
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			continue
		}
		i, seen := idx[r]
		if !seen {
			i = len(groups)
			idx[r] = i
			groups = append(groups, nil)
			refs = append(refs, r)
		}
		groups[i] = append(groups[i], op)
	}
	return groups, refs, nil
}

// gcpStepFields lists the fields a step's tests and its pair key read.
func gcpUses(st *sequence.Step, f sequence.Field, key string, alone bool) bool {
	return splUses(st, f, key, alone)
}

// gcpLost is what every Google Cloud query export loses against hunt.
var gcpLost = []string{
	"a long-running operation's first entry (the one with the request) stands for the call: a call that failed after it started still matches",
	"references are compared from their zone, region or global/ collection within the entry's project: a reference to another project's resource of the same name joins",
}

// gcpQuery exports a Google Cloud detection to a query format.
func gcpQuery(d *Detection, format string) (Query, error) {
	switch format {
	case FormatSumo:
		return sumoGCPQuery(d)
	case FormatSPL:
		return splGCPQuery(d)
	case FormatKQL:
		return kqlGCPQuery(d)
	}
	return eqlGCPQuery(d)
}

// --- Sumo ---

// sumoGCPValue is a field's value on the records of an operation group.
func sumoGCPValue(r gcpRef) string {
	v := `%"` + strings.ReplaceAll(r.path, "[]", "[0]") + `"`
	if r.prefix != "" {
		v = fmt.Sprintf("if(isEmpty(%s), \"\", concat(%s, %s))", v, sumoQuote(r.prefix), v)
	}
	return v
}

func sumoGCPStepTest(st *sequence.Step) (string, error) {
	tests := []string{fmt.Sprintf("rw_op in (%s)", sumoQuoteList(st.Operations))}
	for _, c := range st.Where {
		groups, refs, err := gcpGroups(st.Operations, c.Field)
		if err != nil {
			return "", err
		}
		if len(groups) == 0 {
			if c.Op == sequence.Absent || c.Op == sequence.NotIn {
				continue
			}
			return "false", nil
		}
		r := refs[0]
		if r.flag {
			t := fmt.Sprintf("toString(%%\"%s\") = \"true\"", r.path)
			if c.Op == sequence.Absent {
				t = "!(" + t + ")"
			}
			tests = append(tests, t)
			continue
		}
		tests = append(tests, sumoCond(sumoGCPValue(r), c))
	}
	return strings.Join(tests, " and "), nil
}

// sumoGCPKey is the raw reference a step binds name from.
func sumoGCPKey(st *sequence.Step, name string) (string, error) {
	f, _ := bindField(st, name)
	groups, refs, err := gcpGroups(st.Operations, f)
	if err != nil {
		return "", err
	}
	if len(groups) == 0 {
		return "", fmt.Errorf("step %s: no path for %s", st.Name, f)
	}
	expr := `""`
	for i := len(groups) - 1; i >= 0; i-- {
		if i == 0 && len(groups) == 1 {
			return sumoGCPValue(refs[0]), nil
		}
		expr = fmt.Sprintf("if(rw_op in (%s), %s, %s)", sumoQuoteList(groups[i]), sumoGCPValue(refs[i]), expr)
	}
	return expr, nil
}

const gcpScope = "_sourceCategory=*gcp*cloudaudit*"

func sumoGCPQuery(d *Detection) (Query, error) {
	p := pairOf(d)
	q := Query{Lost: append(append(append([]string{}, p.lost...), contextLost(d)...), gcpLost...)}
	q.Lost = append(q.Lost, "only the first member of a list in a request (disks[0]) is read")
	var b strings.Builder
	b.WriteString(gcpScope + "\n| json auto\n")
	fmt.Fprintf(&b, "| where !(severity in (%s)) and (isEmpty(%%\"protoPayload.status.code\") or toString(%%\"protoPayload.status.code\") = \"0\")\n", sumoQuoteList(gcpFailed))
	b.WriteString("| where !(toString(%\"operation.last\") = \"true\" and isEmpty(%\"operation.first\"))\n")
	fmt.Fprintf(&b, "| parse regex field=%%\"protoPayload.methodName\" %s nodrop\n", sumoQuote("^(?:"+gcpVersion+")?(?<rw_op>.+)$"))
	b.WriteString("| parse regex field=logName \"^projects/(?<rw_project>[^/]+)/\" nodrop\n")
	var tests []string
	for _, i := range p.steps {
		t, err := sumoGCPStepTest(&d.Steps[i])
		if err != nil {
			return q, err
		}
		tests = append(tests, "("+t+")")
	}
	fmt.Fprintf(&b, "| where %s\n", strings.Join(tests, " or "))
	tail := func(field, name string) {
		fmt.Fprintf(&b, "| parse regex field=%s %s nodrop\n", field, sumoQuote(strings.Replace(gcpTailRE, "((?:", "(?<"+name+">(?:", 1)))
	}
	if len(p.steps) == 1 {
		st := &d.Steps[0]
		var keys []string
		for _, bd := range st.Bind {
			k, err := sumoGCPKey(st, bd.Name)
			if err != nil {
				return q, err
			}
			fmt.Fprintf(&b, "| %s as rw_ref_%s\n", k, bd.Name)
			tail("rw_ref_"+bd.Name, bd.Name)
			keys = append(keys, bd.Name)
		}
		fmt.Fprintf(&b, "| count as calls, min(_messageTime) as first_seen, values(caller) as callers by rw_project")
		if len(keys) > 0 {
			b.WriteString(", " + strings.Join(keys, ", "))
		}
		b.WriteString("\n| sort by first_seen asc")
		q.Text = b.String()
		return q, nil
	}
	first, last := &d.Steps[p.steps[0]], &d.Steps[p.steps[1]]
	ft, _ := sumoGCPStepTest(first)
	lt, _ := sumoGCPStepTest(last)
	fk, err := sumoGCPKey(first, p.key)
	if err != nil {
		return q, err
	}
	lk, err := sumoGCPKey(last, p.key)
	if err != nil {
		return q, err
	}
	fmt.Fprintf(&b, "| if(%s, %s, %s) as rw_ref\n", ft, fk, lk)
	tail("rw_ref", p.key)
	fmt.Fprintf(&b, "| if(%s, _messageTime, 99999999999999) as t_%s\n", ft, first.Name)
	fmt.Fprintf(&b, "| if(%s, _messageTime, 0) as t_%s\n", lt, last.Name)
	fmt.Fprintf(&b, "| min(t_%s) as first_seen, max(t_%s) as last_seen, values(rw_op) as operations, values(caller) as callers by rw_project, %s\n",
		first.Name, last.Name, p.key)
	fmt.Fprintf(&b, "| where first_seen < 99999999999999 and last_seen > 0 and last_seen >= first_seen and last_seen - first_seen <= %d\n", d.Window.Milliseconds())
	b.WriteString("| sort by first_seen asc")
	q.Lost = append(q.Lost, "the step order is checked between the earliest first step and the latest last step per key over the search range, not per occurrence")
	q.Text = b.String()
	return q, nil
}

// --- SPL ---

// splGCPSource is the Splunk Add-on for Google Cloud Platform's Pub/Sub
// input: the LogEntry under data.
const splGCPSource = `sourcetype="google:gcp:pubsub:*"`

func splGCPPath(path string) string { return "data." + splPath(path) }

func splGCPQuery(d *Detection) (Query, error) {
	p := pairOf(d)
	q := Query{Lost: append(append(append([]string{}, p.lost...), contextLost(d)...), gcpLost...)}
	q.Lost = append(q.Lost, "assumes the Splunk Add-on for Google Cloud Platform's Pub/Sub input (the LogEntry under data); only the first member of a request list is read (mvindex 0)")
	var b strings.Builder
	var ops []string
	for _, i := range p.steps {
		ops = append(ops, d.Steps[i].Operations...)
	}
	var terms []string
	for _, op := range dedupe(ops) {
		terms = append(terms, fmt.Sprintf("data.protoPayload.methodName=%s", quote("*"+op)))
	}
	fmt.Fprintf(&b, "%s (%s)\n", splGCPSource, strings.Join(terms, " OR "))
	fmt.Fprintf(&b, "| eval rw_op=replace('data.protoPayload.methodName', %s, \"\")\n", quote(gcpVersionRE))
	fmt.Fprintf(&b, "| where NOT match('data.severity', %s) AND (isnull('data.protoPayload.status.code') OR 'data.protoPayload.status.code'=0)\n",
		quote("^("+strings.Join(gcpFailed, "|")+")$"))
	b.WriteString("| where NOT ('data.operation.last'=\"true\" AND isnull('data.operation.first'))\n")
	b.WriteString("| rex field=data.logName \"^projects/(?<rw_project>[^/]+)/\"\n")
	fields := map[sequence.Field]bool{}
	keyFields := map[sequence.Field]bool{}
	for _, i := range p.steps {
		for _, c := range d.Steps[i].Where {
			fields[c.Field] = true
		}
		for _, bd := range d.Steps[i].Bind {
			if bd.Name == p.key || len(p.steps) == 1 {
				fields[bd.Field] = true
				keyFields[bd.Field] = true
			}
		}
	}
	for _, f := range sortedFields(fields) {
		var cases []string
		for _, i := range p.steps {
			st := &d.Steps[i]
			if !gcpUses(st, f, p.key, len(p.steps) == 1) {
				continue
			}
			groups, refs, err := gcpGroups(st.Operations, f)
			if err != nil {
				return q, err
			}
			for gi, g := range groups {
				r := refs[gi]
				val := fmt.Sprintf("'%s'", splGCPPath(r.path))
				if r.list {
					val = fmt.Sprintf("mvindex('%s', 0)", splGCPPath(r.path))
				}
				if r.flag {
					val = fmt.Sprintf("if(%s=\"true\", \"true\", null())", val)
				}
				if r.prefix != "" {
					val = fmt.Sprintf("if(isnull(%s), null(), %s.%s)", val, quote(r.prefix), val)
				}
				cases = append(cases, fmt.Sprintf("in(rw_op, %s), %s", quoteList(g), val))
			}
		}
		if len(cases) == 0 {
			continue
		}
		fmt.Fprintf(&b, "| eval rw_%s=case(%s)\n", f, strings.Join(dedupe(cases), ", "))
		if keyFields[f] {
			fmt.Fprintf(&b, "| eval rw_%s=replace(rw_%s, %s, \"\\1\")\n", f, f, quote(gcpTailRE+".*$"))
		}
	}
	stepTest := func(st *sequence.Step) string {
		tests := []string{fmt.Sprintf("in(rw_op, %s)", quoteList(st.Operations))}
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
	caller := "'data.protoPayload.authenticationInfo.principalEmail'"
	if len(p.steps) == 1 {
		st := &d.Steps[0]
		fmt.Fprintf(&b, "| where %s\n", stepTest(st))
		by := "rw_project"
		for _, bd := range st.Bind {
			by += ", rw_" + bd.Field.String()
		}
		fmt.Fprintf(&b, "| stats count AS calls, min(_time) AS first_seen, values(%s) AS callers BY %s", caller, by)
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
	fmt.Fprintf(&b, "| stats min(t_first) AS first_seen, max(t_last) AS last_seen, values(rw_step) AS steps, values(%s) AS callers BY rw_project, rw_key\n", caller)
	fmt.Fprintf(&b, "| where isnotnull(first_seen) AND isnotnull(last_seen) AND last_seen >= first_seen AND last_seen - first_seen <= %d\n", int64(d.Window.Seconds()))
	b.WriteString("| rename rw_key AS " + p.key)
	q.Lost = append(q.Lost, "SPL has no sequence operator here: the earliest first step and the latest last step per key are compared")
	q.Text = b.String()
	return q, nil
}

// --- KQL ---

// kqlGCPExpr is a field in Microsoft Sentinel's GCPAuditLogs table:
// Request is the request as a dynamic column, GCPResourceName the
// resourceName.
func kqlGCPExpr(r gcpRef) string {
	p := r.path
	switch {
	case p == "protoPayload.resourceName":
		p = "GCPResourceName"
	case strings.HasPrefix(p, "protoPayload.request."):
		p = "Request." + strings.TrimPrefix(p, "protoPayload.request.")
	case strings.HasPrefix(p, "protoPayload.response."):
		p = "Response." + strings.TrimPrefix(p, "protoPayload.response.")
	}
	e := "tostring(" + strings.ReplaceAll(p, "[]", "[0]") + ")"
	if r.flag {
		return e
	}
	if r.prefix != "" {
		e = fmt.Sprintf("iff(isempty(%s), \"\", strcat(%s, %s))", e, quote(r.prefix), e)
	}
	return e
}

// kqlGCPKey is a reference's path from its zone, region or global/.
func kqlGCPKey(e string) string { return fmt.Sprintf("extract(@%s, 1, %s)", quote(gcpTailRE), e) }

func kqlGCPField(st *sequence.Step, f sequence.Field) (string, bool, error) {
	groups, refs, err := gcpGroups(st.Operations, f)
	if err != nil || len(groups) == 0 {
		return "", false, err
	}
	if len(groups) == 1 {
		return kqlGCPExpr(refs[0]), refs[0].flag, nil
	}
	var cases []string
	for i, g := range groups {
		cases = append(cases, fmt.Sprintf("op in (%s), %s", quoteList(g), kqlGCPExpr(refs[i])))
	}
	return "case(" + strings.Join(cases, ", ") + ", \"\")", false, nil
}

func kqlGCPQuery(d *Detection) (Query, error) {
	q := Query{Lost: append([]string{}, gcpLost...)}
	q.Lost = append(q.Lost, "assumes Microsoft Sentinel's GCPAuditLogs table (Request a dynamic column); only the first member of a request list is read")
	var b strings.Builder
	fmt.Fprintf(&b, "let window = %ds;\n", int64(d.Window.Seconds()))
	fmt.Fprintf(&b, `let gcp = GCPAuditLogs
| where Severity !in (%s)
| summarize arg_min(TimeGenerated, *) by LogName, InsertId
| extend op = replace_regex(MethodName, @%s, ""), project = extract(@"^projects/([^/]+)/", 1, LogName);
`, quoteList(gcpFailed), quote(gcpVersionRE))
	bound := map[string]bool{}
	for i := range d.Steps {
		st := &d.Steps[i]
		fmt.Fprintf(&b, "let s_%s = gcp\n| where op in (%s) and isnotempty(Request)", st.Name, quoteList(st.Operations))
		for _, c := range st.Where {
			expr, flag, err := kqlGCPField(st, c.Field)
			switch {
			case err != nil:
				return q, err
			case expr == "":
				if c.Op != sequence.Absent && c.Op != sequence.NotIn {
					b.WriteString(" and false")
				}
			case flag && c.Op == sequence.Absent:
				fmt.Fprintf(&b, " and %s != \"true\"", expr)
			case flag:
				fmt.Fprintf(&b, " and %s == \"true\"", expr)
			default:
				fmt.Fprintf(&b, " and %s", kqlCond(expr, c))
			}
		}
		b.WriteString("\n")
		var cols []string
		for _, bd := range st.Bind {
			expr, _, err := kqlGCPField(st, bd.Field)
			if err != nil {
				return q, err
			}
			if expr == "" {
				return q, fmt.Errorf("step %s: no path for %s", st.Name, bd.Field)
			}
			cols = append(cols, fmt.Sprintf("%s = %s", bd.Name, kqlGCPKey(expr)))
		}
		fmt.Fprintf(&b, "| project t_%s = TimeGenerated, project, actor_%s = PrincipalEmail", st.Name, st.Name)
		if len(cols) > 0 {
			b.WriteString(", " + strings.Join(cols, ", "))
		}
		b.WriteString(";\n")
	}
	first := d.Steps[0].Name
	fmt.Fprintf(&b, "s_%s\n", first)
	for _, bd := range d.Steps[0].Bind {
		bound[bd.Name] = true
	}
	for i := 1; i < len(d.Steps); i++ {
		st := &d.Steps[i]
		on := []string{"project"}
		var optional []string
		for _, bd := range st.Bind {
			if !bound[bd.Name] {
				continue
			}
			if bd.Optional {
				optional = append(optional, bd.Name)
			} else {
				on = append(on, bd.Name)
			}
		}
		fmt.Fprintf(&b, "| join kind=inner (s_%s) on %s\n", st.Name, strings.Join(on, ", "))
		fmt.Fprintf(&b, "| where t_%s between (t_%s .. (t_%s + window))", st.Name, d.Steps[i-1].Name, first)
		for _, o := range optional {
			fmt.Fprintf(&b, " and (isempty(%s) or isempty(%s1) or %s == %s1)", o, o, o, o)
		}
		b.WriteString("\n")
		for _, bd := range st.Bind {
			bound[bd.Name] = true
		}
	}
	last := d.Steps[len(d.Steps)-1].Name
	keys := strings.Join(d.bindings(), ", ")
	if keys != "" {
		keys = ", " + keys
	}
	fmt.Fprintf(&b, "| summarize first_seen = min(t_%s), last_seen = max(t_%s) by project%s", first, last, keys)
	q.Text = b.String()
	return q, nil
}

// --- EQL ---

func eqlGCPStep(st *sequence.Step) (string, error) {
	var ors []string
	for _, op := range st.Operations {
		ors = append(ors, quote("*"+op))
	}
	tests := []string{fmt.Sprintf("protoPayload.methodName : (%s)", strings.Join(ors, ", ")),
		fmt.Sprintf("not severity : (%s)", quoteList(gcpFailed)), "operation.last != true or operation.first == true"}
	tests[2] = "(" + tests[2] + ")"
	for _, c := range st.Where {
		groups, refs, err := gcpGroups(st.Operations, c.Field)
		if err != nil {
			return "", err
		}
		if len(groups) == 0 {
			if c.Op == sequence.Absent || c.Op == sequence.NotIn {
				continue
			}
			return "false", nil
		}
		r := refs[0]
		field := strings.ReplaceAll(r.path, "[]", "")
		if r.flag {
			if c.Op == sequence.Absent {
				tests = append(tests, field+" != true")
			} else {
				tests = append(tests, field+" == true")
			}
			continue
		}
		tests = append(tests, eqlCond(field, c))
	}
	return "any where " + strings.Join(tests, " and "), nil
}

func eqlGCPQuery(d *Detection) (Query, error) {
	p := pairOf(d)
	q := Query{Lost: append(append(append([]string{}, p.lost...), contextLost(d)...), gcpLost[0])}
	q.Lost = append(q.Lost, "assumes entries indexed with their own field names (timestamp_field timestamp) and references normalized at ingest to one form (a full URL and a projects/ path of one resource do not join otherwise)")
	var b strings.Builder
	if len(p.steps) == 1 {
		s, err := eqlGCPStep(&d.Steps[0])
		if err != nil {
			return q, err
		}
		q.Text = s
		return q, nil
	}
	fmt.Fprintf(&b, "sequence by resource.labels.project_id with maxspan=%dh\n", int(d.Window.Hours()))
	for _, i := range p.steps {
		st := &d.Steps[i]
		f, ok := bindField(st, p.key)
		if !ok {
			return q, fmt.Errorf("step %s does not bind %s", st.Name, p.key)
		}
		groups, refs, err := gcpGroups(st.Operations, f)
		if err != nil {
			return q, err
		}
		if len(groups) == 0 {
			return q, fmt.Errorf("step %s: no path for %s", st.Name, f)
		}
		if refs[0].prefix != "" {
			// A bare name (a snapshot's, in its create call) is no value
			// EQL can join a reference to: the last step alone.
			alone := d.Steps[p.steps[1]]
			lf, _ := bindField(&alone, p.key)
			alone.Where = append(append([]sequence.Cond(nil), alone.Where...), sequence.Cond{Field: lf, Op: sequence.Present})
			s, err := eqlGCPStep(&alone)
			if err != nil {
				return q, err
			}
			q.Lost = append(q.Lost, fmt.Sprintf("the %s step names the %s by a bare name EQL cannot join on a reference: only the %s step with a %s is matched", st.Name, p.key, d.Steps[p.steps[1]].Name, p.key))
			q.Text = s
			return q, nil
		}
		s, err := eqlGCPStep(st)
		if err != nil {
			return q, err
		}
		fmt.Fprintf(&b, "  [%s] by %s\n", s, strings.ReplaceAll(refs[0].path, "[]", ""))
	}
	q.Text = strings.TrimRight(b.String(), "\n")
	return q, nil
}
