package finding

import (
	"bytes"
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

// WriteTable writes an aligned table for a terminal: one row a finding,
// and under it the chain of calls that made it. Repeats of one group (the
// same rule and keys: one instance stopped and started every day) share a
// row that counts them and lists when each began.
func WriteTable(w io.Writer, all []Finding) error {
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
	var rows bytes.Buffer
	tw := tabwriter.NewWriter(&rows, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEVERITY\tCONFIDENCE\tRULE\tACCOUNT/REGION\tACTOR\tRESOURCES\tFIRST SEEN\tSTATUS")
	for i := range fs {
		f := &fs[i]
		status := "open"
		if f.Suppressed {
			status = "suppressed by " + f.SuppressionReason
		}
		where := f.Account
		if f.Region != "" {
			where += "/" + f.Region
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", f.Severity, f.Confidence, f.RuleID, where,
			shorten(shortActor(f.Actor.Caller), 48), shorten(f.resourceSummary(), 56), f.FirstSeen.UTC().Format(time.RFC3339), status)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	lines := strings.Split(strings.TrimSuffix(rows.String(), "\n"), "\n")
	fmt.Fprintln(w, lines[0])
	for i, line := range lines[1:] {
		fmt.Fprintln(w, line)
		var steps []string
		for _, e := range fs[i].Evidence {
			steps = append(steps, e.Operation+" "+e.Time.UTC().Format("15:04:05"))
		}
		if _, err := fmt.Fprintf(w, "    %s\n", strings.Join(steps, " → ")); err != nil {
			return err
		}
		if times := repeats[fs[i].GroupID]; len(times) > 1 {
			var at []string
			for _, t := range times {
				at = append(at, t.UTC().Format(time.RFC3339))
			}
			if _, err := fmt.Fprintf(w, "    %d occurrences (group %s): %s\n", len(times), fs[i].GroupID, strings.Join(at, ", ")); err != nil {
				return err
			}
		}
	}
	return nil
}

// shorten cuts s to n runes, marking the cut.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
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
