package ingest

import (
	"fmt"
	"sort"
	"strings"
)

// Severity says what happened to the input a diagnostic is about.
type Severity string

// The severities. A rejected record or a file error makes the run's exit
// code 3; skipped records and notes do not.
const (
	Rejected Severity = "rejected" // a record that could not be decoded
	Skipped  Severity = "skipped"  // a record that is not an audit event (digest, control message, other detail-type)
	FileErr  Severity = "error"    // a file that could not be read, or damage that ends it
	Notice   Severity = "note"     // something worth knowing, nothing lost
)

// Diag is one diagnostic about the input, with its position.
type Diag struct {
	File     string   `json:"file"`
	Line     int      `json:"line,omitempty"` // 1-based line of the record (0: not known)
	Offset   int64    `json:"offset"`         // byte offset in the decompressed stream
	Index    int      `json:"index"`          // record number in the file, -1 for file-level
	Severity Severity `json:"severity"`
	Reason   string   `json:"reason"` // short, stable, for counting
	Msg      string   `json:"message"`
}

// String formats the diagnostic as "file:line: severity: message (byte N)".
func (d Diag) String() string {
	pos := d.File
	if d.Line > 0 {
		pos = fmt.Sprintf("%s:%d", d.File, d.Line)
	}
	if d.Index >= 0 || d.Offset > 0 {
		return fmt.Sprintf("%s: %s: %s (byte %d)", pos, d.Severity, d.Msg, d.Offset)
	}
	return fmt.Sprintf("%s: %s: %s", pos, d.Severity, d.Msg)
}

// FileStats is what reading one input did.
type FileStats struct {
	File     string         `json:"file"`
	Formats  []string       `json:"formats"` // formats detected, in order of first appearance
	Gzip     bool           `json:"gzip"`
	Bytes    int64          `json:"bytes"` // decompressed JSON bytes read
	Records  int            `json:"records"`
	Events   int            `json:"events"`
	Skipped  map[string]int `json:"skipped,omitempty"`  // by reason
	Rejected map[string]int `json:"rejected,omitempty"` // by reason
	Error    string         `json:"error,omitempty"`    // file-level error or damage

	dropped int // events counted and not handed on (Options.Select)
}

func (s *FileStats) count(d Diag) {
	switch d.Severity {
	case Skipped:
		if s.Skipped == nil {
			s.Skipped = map[string]int{}
		}
		s.Skipped[d.Reason]++
	case Rejected:
		if s.Rejected == nil {
			s.Rejected = map[string]int{}
		}
		s.Rejected[d.Reason]++
	case FileErr:
		if s.Error == "" {
			s.Error = d.Msg
		}
	}
}

func (s *FileStats) addFormat(f string) {
	for _, x := range s.Formats {
		if x == f {
			return
		}
	}
	s.Formats = append(s.Formats, f)
}

// NRejected is the number of rejected records.
func (s *FileStats) NRejected() int { return sum(s.Rejected) }

// NSkipped is the number of skipped records.
func (s *FileStats) NSkipped() int { return sum(s.Skipped) }

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// String is the one-line --stats report of the file.
func (s *FileStats) String() string {
	var b strings.Builder
	format := strings.Join(s.Formats, ",")
	if format == "" {
		format = "-"
	}
	if s.Gzip {
		format += " (gzip)"
	}
	fmt.Fprintf(&b, "%s: format=%s records=%d events=%d skipped=%d rejected=%d bytes=%d",
		s.File, format, s.Records, s.Events, s.NSkipped(), s.NRejected(), s.Bytes)
	for _, part := range []struct {
		name string
		m    map[string]int
	}{{"skipped", s.Skipped}, {"rejected", s.Rejected}} {
		if len(part.m) == 0 {
			continue
		}
		keys := make([]string, 0, len(part.m))
		for k := range part.m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "\n  %s %d: %s", part.name, part.m[k], k)
		}
	}
	if s.Error != "" {
		fmt.Fprintf(&b, "\n  error: %s", s.Error)
	}
	return b.String()
}
