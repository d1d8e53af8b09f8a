package query

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"io"
	"strings"
	"unicode/utf8"
)

// cellText renders a value for text and CSV output: lists one value per
// line (Sumo's display), Null as empty.
func cellText(v Value) string {
	if v.kind == KindList {
		items := v.Items()
		parts := make([]string, len(items))
		for i, x := range items {
			parts[i] = cellText(x)
		}
		return strings.Join(parts, "\n")
	}
	return v.String()
}

// cell renders column i's value for text and CSV output: a time column's
// epoch milliseconds as an RFC 3339 time.
func (res *Result) cell(i int, v Value) string {
	if res.timeCols[i] {
		if s, ok := timeText(v); ok {
			return s
		}
	}
	return cellText(v)
}

// WriteJSON writes one JSON object per row; keys are the column names in
// column order, lists are arrays and Null is null.
func (res *Result) WriteJSON(w io.Writer) error {
	bw := bufio.NewWriter(w)
	keys := make([][]byte, len(res.Columns))
	for i, c := range res.Columns {
		keys[i], _ = json.Marshal(c)
	}
	for _, row := range res.Rows {
		bw.WriteByte('{')
		for i, v := range row {
			if i > 0 {
				bw.WriteByte(',')
			}
			bw.Write(keys[i])
			bw.WriteByte(':')
			b, err := marshalNoEscape(v.jsonValue())
			if err != nil {
				return err
			}
			bw.Write(b)
		}
		bw.WriteString("}\n")
	}
	return bw.Flush()
}

func marshalNoEscape(v any) ([]byte, error) {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return []byte(strings.TrimSuffix(b.String(), "\n")), nil
}

// WriteCSV writes a header row and one record per row.
func (res *Result) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(res.Columns); err != nil {
		return err
	}
	rec := make([]string, len(res.Columns))
	for _, row := range res.Rows {
		for i, v := range row {
			rec[i] = res.cell(i, v)
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteTable writes an aligned text table for a terminal. A cell holding a
// list takes one line per value. The cells are rendered twice, once to
// measure the columns and once to write them, so that no copy of the
// table is held besides the rows.
func (res *Result) WriteTable(w io.Writer) error {
	if len(res.Columns) == 0 {
		return nil
	}
	bw := bufio.NewWriter(w)
	n := len(res.Columns)
	width := make([]int, n)
	for i, c := range res.Columns {
		width[i] = utf8.RuneCountInString(c)
	}
	cells := make([][]string, n)
	render := func(row []Value) int {
		height := 1
		for i := range cells {
			cells[i] = nil
			if i < len(row) {
				cells[i] = strings.Split(strings.ReplaceAll(res.cell(i, row[i]), "\t", " "), "\n")
			}
			height = max(height, len(cells[i]))
		}
		return height
	}
	for _, row := range res.Rows {
		render(row)
		for i := range cells {
			for _, l := range cells[i] {
				width[i] = max(width[i], utf8.RuneCountInString(l))
			}
		}
	}
	line := func(texts []string) {
		for i, t := range texts {
			if i > 0 {
				bw.WriteString("  ")
			}
			bw.WriteString(t)
			if i < len(texts)-1 {
				bw.WriteString(strings.Repeat(" ", width[i]-utf8.RuneCountInString(t)))
			}
		}
		bw.WriteByte('\n')
	}
	line(res.Columns)
	rule := make([]string, n)
	for i := range rule {
		rule[i] = strings.Repeat("-", width[i])
	}
	line(rule)
	texts := make([]string, n)
	for _, row := range res.Rows {
		height := render(row)
		for h := 0; h < height; h++ {
			for i := range texts {
				texts[i] = ""
				if h < len(cells[i]) {
					texts[i] = cells[i][h]
				}
			}
			line(texts)
		}
	}
	return bw.Flush()
}
