package finding

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/revertwatch/revertwatch/level"
)

// TableOptions shape the table for where it is shown.
type TableOptions struct {
	// Width is the terminal's width in columns: cells are cut and the
	// least useful columns left out until a row fits (never the id).
	// 0 means no limit.
	Width int
	// Color marks severities with ANSI colours.
	Color bool
}

// WriteTable writes the table without a width limit or colour.
func WriteTable(w io.Writer, all []Finding) error { return WriteTableWith(w, all, TableOptions{}) }

// A column of the table. Columns are cut in the order of cut (lowest
// first, 0 never) down to min, then left out in the order of drop (lowest
// first, 0 never).
type column struct {
	head      string
	min, cut  int
	drop      int
	fit       func(s string, n int) string // cuts a cell to n columns
	cells     []string
	width     int
	gone      bool
	colorizer func(s string) string
}

// WriteTableWith writes an aligned table for a terminal: one row a
// finding, and under it the chain of calls that made it. Each row starts
// with the finding's short id, which explain takes. Repeats of one group
// (the same rule and keys: one instance stopped and started every day)
// share a row, with the group's short id, that counts them and lists when
// each began.
func WriteTableWith(w io.Writer, all []Finding, opt TableOptions) error {
	if len(all) == 0 {
		_, err := fmt.Fprintln(w, "no findings")
		return err
	}
	var fs []Finding
	repeats := map[string][]time.Time{}
	for _, f := range all {
		if f.GroupID != "" {
			if _, seen := repeats[f.GroupID]; seen {
				repeats[f.GroupID] = append(repeats[f.GroupID], f.FirstSeen)
				continue
			}
			repeats[f.GroupID] = []time.Time{f.FirstSeen}
		}
		fs = append(fs, f)
	}
	ids := make([]string, len(fs))
	var idList []string
	for i := range fs {
		ids[i] = fs[i].ID
		if len(repeats[fs[i].GroupID]) > 1 {
			ids[i] = fs[i].GroupID
		}
	}
	for _, f := range all {
		idList = append(idList, f.ID, f.GroupID)
	}
	short := ShortIDs(idList)

	id := &column{head: "ID", fit: keep}
	sev := &column{head: "SEVERITY", fit: keep}
	conf := &column{head: "CONF", drop: 2, fit: keep}
	rule := &column{head: "RULE", fit: keep} // an id, never cut
	where := &column{head: "ACCOUNT/REGION", min: 14, cut: 3, drop: 3, fit: cutMiddle}
	actor := &column{head: "ACTOR", min: 16, cut: 2, drop: 6, fit: cutStart}
	// Resources are listed whole while they fit, the rest counted
	// (fitList): an id is never cut.
	res := &column{head: "RESOURCES", min: 24, cut: 1, drop: 5, fit: keep}
	first := &column{head: "FIRST SEEN", drop: 4, fit: keep}
	status := &column{head: "STATUS", min: 10, cut: 4, drop: 1, fit: cutEnd}
	cols := []*column{id, sev, conf, rule, where, actor, res, first, status}
	resIDs := make([][]string, len(fs))
	allOpen := true
	for i := range fs {
		f := &fs[i]
		st := "open"
		if f.Suppressed {
			st = "suppressed by " + f.SuppressionReason
			allOpen = false
		}
		wh := f.Account
		if f.Region != "" {
			wh += "/" + f.Region
		}
		resIDs[i] = f.resourceIDs()
		id.cells = append(id.cells, short[ids[i]])
		sev.cells = append(sev.cells, f.Severity)
		conf.cells = append(conf.cells, f.Confidence)
		rule.cells = append(rule.cells, f.RuleID)
		where.cells = append(where.cells, wh)
		actor.cells = append(actor.cells, shortActor(f.Actor.Caller))
		res.cells = append(res.cells, strings.Join(resIDs[i], ","))
		first.cells = append(first.cells, f.FirstSeen.UTC().Format(time.RFC3339))
		status.cells = append(status.cells, st)
	}
	for _, ids := range resIDs {
		if len(ids) > 0 {
			// Room for the first id whole and a count of the others.
			res.min = max(res.min, runes(ids[0])+len(fmt.Sprintf(",+%d", len(ids)-1)))
		}
	}
	if allOpen && opt.Width > 0 {
		status.drop = -1 // says nothing: the first to go when space is short
	}
	for _, c := range cols {
		c.width = runes(c.head)
		for _, s := range c.cells {
			c.width = max(c.width, runes(s))
		}
		c.min = min(c.min, c.width)
	}
	if opt.Width > 0 {
		fitColumns(cols, opt.Width)
	}
	if opt.Color {
		sev.colorizer = severityColor
	}

	var b strings.Builder
	writeRow := func(cells func(c *column) string) {
		b.Reset()
		first := true
		for _, c := range cols {
			if c.gone {
				continue
			}
			if !first {
				b.WriteString("  ")
			}
			first = false
			s := cells(c)
			if runes(s) > c.width {
				s = c.fit(s, c.width)
			}
			pad := max(0, c.width-runes(s))
			if c.colorizer != nil {
				s = c.colorizer(s)
			}
			b.WriteString(s)
			if c != lastVisible(cols) {
				b.WriteString(strings.Repeat(" ", pad))
			}
		}
	}
	writeRow(func(c *column) string { return c.head })
	if _, err := fmt.Fprintln(w, b.String()); err != nil {
		return err
	}
	for i := range fs {
		writeRow(func(c *column) string {
			if c == res {
				return fitList(resIDs[i], c.width)
			}
			return c.cells[i]
		})
		fmt.Fprintln(w, b.String())
		var steps []string
		for _, e := range fs[i].Evidence {
			steps = append(steps, e.Operation+" "+e.Time.UTC().Format("15:04:05"))
		}
		if h := fs[i].Hits; h > 1 && len(steps) > 0 {
			// A fold: its first and last record, not a sequence.
			steps = []string{fmt.Sprintf("%d records, the first %s, the last %s", h, steps[0], steps[len(steps)-1])}
		}
		for _, l := range wrapJoin(steps, " → ", "    ", opt.Width) {
			fmt.Fprintln(w, l)
		}
		if times := repeats[fs[i].GroupID]; len(times) > 1 {
			var at []string
			for _, t := range times {
				at = append(at, t.UTC().Format(time.RFC3339))
			}
			head := fmt.Sprintf("%d occurrences (group %s):", len(times), fs[i].GroupID)
			for _, l := range wrapJoin(append([]string{head}, at...), " ", "    ", opt.Width) {
				if _, err := fmt.Fprintln(w, l); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// fitColumns cuts and leaves out columns until a row fits width: the
// least useful cut to their minimum first, then left out, then the space
// left given back to the cut ones, the most useful first.
func fitColumns(cols []*column, width int) {
	total := func() int {
		n, visible := 0, 0
		for _, c := range cols {
			if !c.gone {
				n += c.width
				visible++
			}
		}
		return n + 2*(visible-1)
	}
	natural := map[*column]int{}
	for _, c := range cols {
		natural[c] = c.width
	}
	byCut := append([]*column(nil), cols...)
	sort.SliceStable(byCut, func(i, j int) bool { return byCut[i].cut < byCut[j].cut })
	byDrop := append([]*column(nil), cols...)
	sort.SliceStable(byDrop, func(i, j int) bool { return byDrop[i].drop < byDrop[j].drop })
	for _, c := range byDrop {
		if c.drop < 0 && total() > width {
			c.gone = true
		}
	}
	for _, c := range byCut {
		if over := total() - width; c.cut > 0 && over > 0 && c.width > c.min {
			c.width = max(c.min, c.width-over)
		}
	}
	for _, c := range byDrop {
		if c.drop > 0 && total() > width {
			c.gone = true
		}
	}
	for i := len(byCut) - 1; i >= 0; i-- {
		c := byCut[i]
		if spare := width - total(); !c.gone && spare > 0 && c.width < natural[c] {
			c.width = min(natural[c], c.width+spare)
		}
	}
}

func lastVisible(cols []*column) *column {
	for i := len(cols) - 1; i >= 0; i-- {
		if !cols[i].gone {
			return cols[i]
		}
	}
	return nil
}

func runes(s string) int { return utf8.RuneCountInString(s) }

func keep(s string, _ int) string { return s }

// cutEnd cuts s to n columns, marking the cut.
func cutEnd(s string, n int) string {
	r := []rune(s)
	if len(r) <= n || n < 1 {
		return s
	}
	return string(r[:n-1]) + "…"
}

// cutStart keeps the end of s, where a caller's distinguishing part (the
// session or user name) is.
func cutStart(s string, n int) string {
	r := []rune(s)
	if len(r) <= n || n < 1 {
		return s
	}
	return "…" + string(r[len(r)-n+1:])
}

// cutMiddle keeps both ends of s: the start and end of an account or
// subscription id and the region.
func cutMiddle(s string, n int) string {
	r := []rune(s)
	if len(r) <= n || n < 3 {
		return s
	}
	head := (n - 1) / 2
	return string(r[:head]) + "…" + string(r[len(r)-(n-1-head):])
}

// fitList joins whole ids while they fit in n columns and counts the
// rest ("+2"): an id is never cut.
func fitList(ids []string, n int) string {
	out := ""
	for i, id := range ids {
		sep := ""
		if i > 0 {
			sep = ","
		}
		more := ""
		if rest := len(ids) - i - 1; rest > 0 {
			more = fmt.Sprintf(",+%d", rest)
		}
		if runes(out+sep+id+more) > n && i > 0 {
			return out + fmt.Sprintf(",+%d", len(ids)-i)
		}
		out += sep + id
	}
	return out
}

// wrapJoin joins parts with sep into lines of at most width columns (0:
// one line), each starting with indent; a part is never split.
func wrapJoin(parts []string, sep, indent string, width int) []string {
	var lines []string
	cur := indent
	for i, p := range parts {
		add := p
		if i > 0 {
			add = sep + p
		}
		if width > 0 && cur != indent && runes(cur+add) > width {
			lines = append(lines, strings.TrimRight(cur+strings.TrimRight(sep, " "), " "))
			cur = indent + "  " + p
			continue
		}
		cur += add
	}
	return append(lines, cur)
}

// severityColor marks a severity word with its ANSI colour.
func severityColor(s string) string {
	l, _ := level.Parse(strings.TrimRight(s, "…"))
	code := ""
	switch l {
	case level.Critical:
		code = "1;31"
	case level.High:
		code = "31"
	case level.Medium:
		code = "33"
	case level.Low:
		code = "36"
	case level.Info:
		code = "2"
	}
	if code == "" {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

// ShortIDs maps each id to its shortest prefix that no other id of the
// list starts with, at least "rw-" and 12 hexadecimal digits: what the
// table shows and explain takes.
func ShortIDs(ids []string) map[string]string {
	const minLen = len("rw-") + 12
	uniq := map[string]bool{}
	var list []string
	for _, id := range ids {
		if id != "" && !uniq[id] {
			uniq[id] = true
			list = append(list, id)
		}
	}
	sort.Strings(list)
	out := make(map[string]string, len(list))
	for i, id := range list {
		n := min(minLen, len(id))
		for _, other := range []int{i - 1, i + 1} {
			if other < 0 || other >= len(list) {
				continue
			}
			n = max(n, min(len(id), commonPrefix(id, list[other])+1))
		}
		out[id] = id[:n]
	}
	return out
}

func commonPrefix(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

// shortActor drops the "arn:aws:sts::<account>:" part of an ARN, which the
// account column already shows.
func shortActor(caller string) string {
	if strings.HasPrefix(caller, "arn:") {
		if parts := strings.SplitN(caller, ":", 6); len(parts) == 6 {
			return parts[5]
		}
	}
	return caller
}
