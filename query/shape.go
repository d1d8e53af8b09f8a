package query

import (
	"fmt"
	"strings"
	"time"

	"github.com/revertwatch/revertwatch/event"
	qs "github.com/revertwatch/revertwatch/query/syntax"
)

// shape finishes a result for a reader (issue 18): the message columns a
// fields stage did not name are hidden, the time columns are marked for
// text output, and a group-by field that no row has is warned about,
// with the nearest field the query knows.
func (p *Program) shape(res *Result) {
	if len(p.hide) > 0 {
		keep := make([]int, 0, len(res.Columns))
		for i, c := range res.Columns {
			if !p.hide[strings.ToLower(c)] {
				keep = append(keep, i)
			}
		}
		if len(keep) < len(res.Columns) {
			cols := make([]string, len(keep))
			for j, i := range keep {
				cols[j] = res.Columns[i]
			}
			for r, row := range res.Rows {
				out := make([]Value, len(keep))
				for j, i := range keep {
					out[j] = row[i]
				}
				res.Rows[r] = out
			}
			res.Columns = cols
		}
	}
	for i, c := range res.Columns {
		if p.timeCols[strings.ToLower(c)] {
			if res.timeCols == nil {
				res.timeCols = map[int]bool{}
			}
			res.timeCols[i] = true
		}
	}
	if len(res.Rows) == 0 {
		return
	}
	for _, name := range p.groupBy {
		col := -1
		for i, c := range res.Columns {
			if strings.EqualFold(c, name) {
				col = i
			}
		}
		if col < 0 {
			continue
		}
		seen := false
		for _, row := range res.Rows {
			if v := row[col]; v.kind != KindNull && !(v.kind == KindString && v.s == "") {
				seen = true
				break
			}
		}
		if seen {
			continue
		}
		msg := fmt.Sprintf("no event had the field %s: every row groups it as empty", name)
		cands := append(append([]string(nil), event.AliasNames...), "_sourceName", "_receiptTime", "_raw")
		cands = append(cands, p.assigned...)
		if s := qs.DidYouMean(name, cands); s != "" && !strings.EqualFold(s, name) {
			msg += " (did you mean " + s + "?)"
		}
		res.Warnings = append(res.Warnings, msg)
	}
}

// timeText prints a column's epoch milliseconds as an RFC 3339 time.
func timeText(v Value) (string, bool) {
	if v.kind != KindNumber {
		return "", false
	}
	ms := v.int()
	if !v.isInt {
		ms = int64(v.float())
	}
	t := time.UnixMilli(ms).UTC()
	if ms%1000 != 0 {
		return t.Format("2006-01-02T15:04:05.000Z07:00"), true
	}
	return t.Format(time.RFC3339), true
}
