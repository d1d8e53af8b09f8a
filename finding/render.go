package finding

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Formats findings can be written in.
const (
	FormatTable  = "table"
	FormatNDJSON = "ndjson"
	FormatOCSF   = "ocsf"
	FormatSARIF  = "sarif"
)

// Formats lists the output formats in a stable order.
var Formats = []string{FormatTable, FormatNDJSON, FormatOCSF, FormatSARIF}

// RuleInfo describes a rule for renderers that list rules (SARIF).
type RuleInfo struct {
	ID          string
	Title       string
	Description string
	Severity    string
}

// Write renders findings in the named format. Findings are written in the
// order given; rules (for SARIF) in the order given.
func Write(w io.Writer, format string, fs []Finding, rules []RuleInfo, version string) error {
	switch format {
	case FormatTable:
		return WriteTable(w, fs)
	case FormatNDJSON:
		return WriteNDJSON(w, fs)
	case FormatOCSF:
		return WriteOCSF(w, fs, version)
	case FormatSARIF:
		return WriteSARIF(w, fs, rules, version)
	}
	return fmt.Errorf("unknown format %q (want %s)", format, strings.Join(Formats, ", "))
}

// WriteNDJSON writes one finding per line.
func WriteNDJSON(w io.Writer, fs []Finding) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for i := range fs {
		if err := enc.Encode(&fs[i]); err != nil {
			return err
		}
	}
	return nil
}
