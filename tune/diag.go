package tune

import (
	"fmt"
	"sort"
	"strings"
)

// Diagnostic is one problem found in a config file, at a line and column.
type Diagnostic struct {
	File    string `json:"file"`
	Line    int    `json:"line"`   // 1-based
	Column  int    `json:"column"` // 1-based
	Message string `json:"message"`
	Warning bool   `json:"warning,omitempty"` // the config still loads
}

// String formats the diagnostic as FILE:LINE:COL: message, with "warning: "
// before the message of a warning.
func (d Diagnostic) String() string {
	kind := ""
	if d.Warning {
		kind = "warning: "
	}
	return fmt.Sprintf("%s:%d:%d: %s%s", d.File, d.Line, d.Column, kind, d.Message)
}

// Diagnostics is the error Parse and Load return when a config is invalid.
// It lists every error found (not only the first) and any warnings, in file
// order.
type Diagnostics []Diagnostic

// Error prints one diagnostic per line.
func (ds Diagnostics) Error() string {
	lines := make([]string, len(ds))
	for i, d := range ds {
		lines[i] = d.String()
	}
	return strings.Join(lines, "\n")
}

// Errors counts the diagnostics that are errors, not warnings.
func (ds Diagnostics) Errors() int {
	n := 0
	for _, d := range ds {
		if !d.Warning {
			n++
		}
	}
	return n
}

func (ds Diagnostics) sort() {
	sort.SliceStable(ds, func(i, j int) bool {
		a, b := ds[i], ds[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
}
