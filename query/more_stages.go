package query

import (
	"strings"
)

// timesliceStage is timeslice D [as name] (spec §5.9).
type timesliceStage struct {
	width int64
	name  string
}

func (s *timesliceStage) process(r *record) bool {
	setSlice(r, s.name, s.width)
	return true
}

func setSlice(r *record, name string, width int64) {
	if r.ev == nil && r.time == 0 {
		r.set(name, Null)
		return
	}
	t := r.time
	start := t - mod(t, width)
	r.set(name, Int(start))
	r.set("__timeslice_end", Int(start+width))
}

func mod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}

// bucketWidths are the clock-aligned widths N buckets chooses from.
var bucketWidths = []int64{
	1e3, 5e3, 10e3, 15e3, 30e3, 60e3, 5 * 60e3, 10 * 60e3, 15 * 60e3, 30 * 60e3,
	3600e3, 2 * 3600e3, 3 * 3600e3, 6 * 3600e3, 12 * 3600e3, 86400e3, 7 * 86400e3,
}

// bucketStage is timeslice N buckets: it needs the time range first.
type bucketStage struct {
	n    int64
	name string
	rows []*record
}

func (s *bucketStage) add(r *record) { s.rows = append(s.rows, r.keep(!r.mat)) }

func (s *bucketStage) flush(emit func(*record)) {
	var lo, hi int64
	for i, r := range s.rows {
		if i == 0 || r.time < lo {
			lo = r.time
		}
		if i == 0 || r.time > hi {
			hi = r.time
		}
	}
	want := (hi - lo + 1 + s.n - 1) / s.n
	width := bucketWidths[len(bucketWidths)-1]
	for _, w := range bucketWidths {
		if w >= want {
			width = w
			break
		}
	}
	for _, r := range s.rows {
		setSlice(r, s.name, width)
		emit(r)
	}
	s.rows = nil
}

// lookupStage is lookup … from table on f=col (spec §5.10).
type lookupStage struct {
	on    []*accessor
	index map[string]int
	rows  [][]string
	cols  []int
	names []string
	buf   []byte
}

func (s *lookupStage) process(r *record) bool {
	s.buf = s.buf[:0]
	ok := true
	for _, a := range s.on {
		v := r.get(a)
		if v.kind == KindNull {
			ok = false
			break
		}
		s.buf = append(s.buf, strings.ToLower(render(v))...)
		s.buf = append(s.buf, 0)
	}
	ri, found := -1, false
	if ok {
		ri, found = s.index[string(s.buf)]
	}
	for i, ci := range s.cols {
		if !found || ci >= len(s.rows[ri]) {
			r.set(s.names[i], Null)
			continue
		}
		r.set(s.names[i], Str(s.rows[ri][ci]))
	}
	return true
}
