package platforms

import (
	"fmt"
	"strings"

	"github.com/revertwatch/revertwatch/content/catalog"
	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/sequence"
)

// kqlAWSExpr is a CloudTrail field in the Sentinel AWSCloudTrail table:
// RequestParameters and ResponseElements are JSON strings parsed into rq
// and rs. A list path yields its first member unless expanded.
func kqlAWSExpr(path string) string {
	p := path
	switch {
	case strings.HasPrefix(p, "requestParameters."):
		p = "rq." + strings.TrimPrefix(p, "requestParameters.")
	case strings.HasPrefix(p, "responseElements."):
		p = "rs." + strings.TrimPrefix(p, "responseElements.")
	}
	return "tostring(" + strings.ReplaceAll(p, "[]", "[0]") + ")"
}

// kqlAzureColumn is a rule field in the folded AzureActivity view.
var kqlAzureColumn = map[sequence.Field]string{
	sequence.FieldDisk: "disk", sequence.FieldVM: "vm", sequence.FieldResourceID: "rid", sequence.FieldCaller: "caller",
	sequence.FieldCreateOption: "create_option", sequence.FieldSourceResource: "source_resource", sequence.FieldOSDisk: "os_disk",
}

func kqlCond(expr string, c sequence.Cond) string {
	switch c.Op {
	case sequence.Present:
		return "isnotempty(" + expr + ")"
	case sequence.Absent:
		return "isempty(" + expr + ")"
	case sequence.In:
		return fmt.Sprintf("%s in~ (%s)", expr, quoteList(c.Values))
	case sequence.NotIn:
		return fmt.Sprintf("%s !in~ (%s)", expr, quoteList(c.Values))
	}
	var ors []string
	for _, v := range c.Values {
		if c.Op == sequence.Prefix {
			ors = append(ors, fmt.Sprintf("%s startswith %s", expr, quote(v)))
		} else {
			ors = append(ors, fmt.Sprintf("%s contains %s", expr, quote(v)))
		}
	}
	return "(" + strings.Join(ors, " or ") + ")"
}

// kqlFieldExpr is a field of a step's records, and whether it is a list
// to expand (the step's only operation group reads a list).
func kqlFieldExpr(d *Detection, st *sequence.Step, f sequence.Field) (expr, expand string, ok bool) {
	if d.Provider == event.Azure {
		c, ok := kqlAzureColumn[f]
		return c, "", ok
	}
	groups, refs, _ := opsByRef(d.Provider, st.Operations, f)
	switch len(groups) {
	case 0:
		return "", "", false
	case 1:
		if refs[0].list {
			i := strings.Index(refs[0].path, "[]")
			return "", refs[0].path[:i] + "|" + refs[0].path[i+3:], true
		}
		return kqlAWSExpr(refs[0].path), "", true
	}
	var cases []string
	for i, g := range groups {
		cases = append(cases, fmt.Sprintf("EventName in (%s), %s", quoteList(g), kqlAWSExpr(refs[i].path)))
	}
	return "case(" + strings.Join(cases, ", ") + ", \"\")", "", true
}

func kqlQuery(d *Detection) (Query, error) {
	var q Query
	var b strings.Builder
	secs := int64(d.Window.Seconds())
	fmt.Fprintf(&b, "let window = %ds;\n", secs)
	scope := "RecipientAccountId, AWSRegion"
	if d.Provider == event.Azure {
		scope = "SubscriptionId"
		// The body columns are the catalog's response-body paths.
		fmt.Fprintf(&b, `let az = AzureActivity
| extend body = parse_json(tostring(Properties_d.responseBody))
| summarize t = maxif(TimeGenerated, ActivityStatusValue in~ ("Success", "Succeeded")),
            ok = countif(ActivityStatusValue in~ ("Success", "Succeeded")),
            create_option = take_anyif(tostring(body.%[1]s), isnotempty(body.%[1]s)),
            source_resource = tolower(take_anyif(tostring(body.%[2]s), isnotempty(body.%[2]s))),
            os_disk = tolower(take_anyif(tostring(body.%[3]s), isnotempty(body.%[3]s))),
            caller = tolower(take_any(Caller))
    by CorrelationId, op = tolower(OperationNameValue), rid = tolower(_ResourceId), SubscriptionId = tolower(SubscriptionId)
| where ok > 0
| extend disk = iff(rid contains "/providers/microsoft.compute/disks/", rid, ""),
         vm = extract(@"^(.*/providers/microsoft\.compute/virtualmachines/[^/]+)", 1, rid);
`,
			azureBody(catalog.CreateOption), azureBody(catalog.SourceResource), azureBody(catalog.OSDisk))
	} else {
		b.WriteString(`let ct = AWSCloudTrail
| where isempty(ErrorCode)
| summarize arg_min(TimeGenerated, *) by AwsEventId
| extend rq = parse_json(RequestParameters), rs = parse_json(ResponseElements);
`)
	}
	bound := map[string]bool{}
	for i := range d.Steps {
		st := &d.Steps[i]
		table := "ct"
		opTest := fmt.Sprintf("EventName in (%s)", quoteList(st.Operations))
		if d.Provider == event.Azure {
			table = "az"
			opTest = fmt.Sprintf("op in (%s)", quoteList(lowerAll(st.Operations)))
		}
		fmt.Fprintf(&b, "let s_%s = %s\n| where %s", st.Name, table, opTest)
		for _, c := range st.Where {
			expr, expand, ok := kqlFieldExpr(d, st, c.Field)
			switch {
			case !ok:
				if c.Op != sequence.Absent && c.Op != sequence.NotIn {
					b.WriteString(" and false")
				}
			case expand != "":
				parts := strings.SplitN(expand, "|", 2)
				fmt.Fprintf(&b, " and %s", kqlCond(kqlAWSExpr(parts[0]+"[]."+parts[1]), c))
			default:
				fmt.Fprintf(&b, " and %s", kqlCond(expr, c))
			}
		}
		b.WriteString("\n")
		var cols []string
		for _, bd := range st.Bind {
			expr, expand, ok := kqlFieldExpr(d, st, bd.Field)
			if !ok {
				return q, fmt.Errorf("step %s: no path for %s", st.Name, bd.Field)
			}
			if expand != "" {
				parts := strings.SplitN(expand, "|", 2)
				list := strings.TrimSuffix(strings.TrimPrefix(kqlAWSExpr(parts[0]), "tostring("), ")")
				fmt.Fprintf(&b, "| mv-expand m_%s = %s\n", bd.Name, list)
				expr = fmt.Sprintf("tostring(m_%s.%s)", bd.Name, strings.ReplaceAll(parts[1], "[]", "[0]"))
			}
			cols = append(cols, fmt.Sprintf("%s = %s", bd.Name, expr))
		}
		t := "TimeGenerated"
		if d.Provider == event.Azure {
			t = "t"
		}
		fmt.Fprintf(&b, "| project t_%s = %s, %s", st.Name, t, scope)
		if d.Provider == event.AWS {
			b.WriteString(", actor_" + st.Name + " = UserIdentityArn")
		}
		if len(cols) > 0 {
			b.WriteString(", " + strings.Join(cols, ", "))
		}
		b.WriteString(";\n")
	}
	for _, c := range d.Required {
		fmt.Fprintf(&b, "let c_%s = az | where op in (%s) | project t_%s = t, %s, %s = %s;\n",
			c.Name, quoteList(lowerAll(c.Operations)), c.Name, scope, c.Binding, kqlAzureColumn[c.Field])
	}
	first := d.Steps[0].Name
	fmt.Fprintf(&b, "s_%s\n", first)
	for _, bd := range d.Steps[0].Bind {
		bound[bd.Name] = true
	}
	for i := 1; i < len(d.Steps); i++ {
		st := &d.Steps[i]
		on := []string{scope}
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
	for _, c := range d.Required {
		before := c.Before
		fmt.Fprintf(&b, "| join kind=inner (c_%s) on %s, %s\n| where t_%s between ((t_%s - window) .. t_%s)\n",
			c.Name, scope, c.Binding, c.Name, before, before)
	}
	last := d.Steps[len(d.Steps)-1].Name
	keys := strings.Join(uniqueBindings(d), ", ")
	if keys != "" {
		keys = ", " + keys
	}
	fmt.Fprintf(&b, "| summarize first_seen = min(t_%s), last_seen = max(t_%s) by %s%s", first, last, scope, keys)
	if d.Provider == event.AWS {
		q.Lost = append(q.Lost, "steps whose operations read a key from different list paths use the list's first member")
	} else {
		q.Lost = append(q.Lost, "needs the AzureActivity Properties_d.responseBody column (bodies are not logged for every operation)")
	}
	q.Text = b.String()
	return q, nil
}

func uniqueBindings(d *Detection) []string { return d.bindings() }
