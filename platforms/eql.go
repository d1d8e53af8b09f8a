package platforms

import (
	"fmt"
	"strings"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/sequence"
)

// eqlField names a field of a raw record indexed with its own names:
// lists of objects are flattened by Elasticsearch, so a list path drops
// its [] and holds every member's value. Azure bodies are assumed parsed
// at ingest into properties.responseBody.
func eqlField(d *Detection, op string, f sequence.Field) (string, bool) {
	r, ok := refFor(d.Provider, op, f)
	if !ok {
		return "", false
	}
	p := strings.ReplaceAll(r.path, "[]", "")
	if r.body {
		p = "properties.responseBody." + p
	}
	return p, true
}

func eqlCond(field string, c sequence.Cond) string {
	switch c.Op {
	case sequence.Present:
		return field + " != null"
	case sequence.Absent:
		return field + " == null"
	case sequence.In:
		return fmt.Sprintf("%s : (%s)", field, quoteList(c.Values))
	case sequence.NotIn:
		return fmt.Sprintf("not %s : (%s)", field, quoteList(c.Values))
	}
	var pats []string
	for _, v := range c.Values {
		if c.Op == sequence.Prefix {
			pats = append(pats, quote(v+"*"))
		} else {
			pats = append(pats, quote("*"+v+"*"))
		}
	}
	return fmt.Sprintf("%s : (%s)", field, strings.Join(pats, ", "))
}

func eqlStep(d *Detection, st *sequence.Step) string {
	var tests []string
	if d.Provider == event.Azure {
		tests = append(tests, fmt.Sprintf("operationName : (%s)", quoteList(st.Operations)),
			`resultType : ("Success", "Succeeded")`)
	} else {
		tests = append(tests, fmt.Sprintf("eventName : (%s)", quoteList(st.Operations)), "errorCode == null")
	}
	for _, c := range st.Where {
		f, ok := eqlField(d, st.Operations[0], c.Field)
		if !ok {
			if c.Op == sequence.Absent || c.Op == sequence.NotIn {
				continue
			}
			return "false"
		}
		tests = append(tests, eqlCond(f, c))
	}
	return "any where " + strings.Join(tests, " and ")
}

func eqlQuery(d *Detection) (Query, error) {
	p := pairOf(d)
	q := Query{Lost: append(append([]string{}, p.lost...), contextLost(d)...)}
	q.Lost = append(q.Lost, "assumes records indexed with their own field names (timestamp_field eventTime or time); Azure ARM ids must be lower-cased at ingest to join")
	scope := "recipientAccountId, awsRegion"
	if d.Provider == event.Azure {
		scope = "subscriptionId"
		q.Lost = append(q.Lost, "Azure phases are not folded: a body logged on the Accept record is not seen by the Success record")
	}
	var b strings.Builder
	if len(p.steps) == 1 {
		fmt.Fprintf(&b, "%s", eqlStep(d, &d.Steps[0]))
		q.Text = b.String()
		return q, nil
	}
	fmt.Fprintf(&b, "sequence by %s with maxspan=%dh\n", scope, int(d.Window.Hours()))
	for _, i := range p.steps {
		st := &d.Steps[i]
		f, ok := bindField(st, p.key)
		if !ok {
			return q, fmt.Errorf("step %s does not bind %s", st.Name, p.key)
		}
		field, ok := eqlField(d, st.Operations[0], f)
		if !ok {
			return q, fmt.Errorf("step %s: no path for %s", st.Name, f)
		}
		fmt.Fprintf(&b, "  [%s] by %s\n", eqlStep(d, st), field)
	}
	if d.Provider == event.AWS {
		q.Lost = append(q.Lost, "EQL joins one value per step: a list of several instances joins on no single member")
	}
	q.Text = strings.TrimRight(b.String(), "\n")
	return q, nil
}
