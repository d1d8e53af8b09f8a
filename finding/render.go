package finding

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
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

// WriteTable writes an aligned table for a terminal, one finding a row and
// its evidence beneath it.
func WriteTable(w io.Writer, fs []Finding) error {
	if len(fs) == 0 {
		_, err := fmt.Fprintln(w, "no findings")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEVERITY\tCONFIDENCE\tRULE\tACCOUNT\tREGION\tACTOR\tRESOURCES\tFIRST SEEN\tSTATUS")
	for i := range fs {
		f := &fs[i]
		status := "open"
		if f.Suppressed {
			status = "suppressed: " + f.SuppressionReason
		}
		region := f.Region
		if region == "" {
			region = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", f.Severity, f.Confidence, f.RuleID, f.Account, region,
			f.Actor.Caller, f.resourceSummary(), f.FirstSeen.UTC().Format(time.RFC3339), status)
		for _, e := range f.Evidence {
			fmt.Fprintf(tw, "\t\t  %s %s\t\t\t\t\t%s\t%s\t\n", "└", e.Operation, e.UID, e.Time.UTC().Format(time.RFC3339))
		}
	}
	return tw.Flush()
}
