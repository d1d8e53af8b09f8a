package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/revertwatch/revertwatch/detect"
	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/explain"
	"github.com/revertwatch/revertwatch/finding"
	"github.com/revertwatch/revertwatch/ingest"
)

func newExplainCmd() *cobra.Command {
	var in inputFlags
	var inputs []string
	var format, output string
	var window time.Duration
	cmd := &cobra.Command{
		Use:   "explain [flags] FINDING_ID... | -",
		Short: "Build the investigation bundle of a finding: timeline, lineage, playbook",
		Long: `explain re-reads the logs a finding came from and builds what a responder
needs first: the actor's calls from --window before the first step to
--window after the last, grouped and with the steps marked; where every
snapshot, image, volume and disk came from, when and by whom, and what was
deleted afterwards; the volume, disk or instance the revert replaced; other
principals on the same resources; source addresses and user agents and
whether they are new for the principal; and the rule's response playbook
with the finding's ids filled in.

Name findings by id (a unique prefix will do): explain hunts the --input logs
to find them. Or give - and pipe findings in as ndjson from hunt.`,
		Example: `  revertwatch explain rw-22e5ec4ba387 --input logs/
  revertwatch hunt --format ndjson logs/ | revertwatch explain --input logs/ -
  revertwatch explain --format html -o finding.html rw-22e5ec4ba387 --input logs/`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !validExplainFormat(format) {
				return &exitError{code: exitUsage, err: fmt.Errorf("unknown --format %q (want %s)", format, strings.Join(explain.Formats, ", "))}
			}
			fromStdin := len(args) == 1 && args[0] == "-"
			if len(inputs) == 0 {
				return &exitError{code: exitUsage, err: fmt.Errorf("no logs: give the files the findings came from with --input")}
			}
			for _, p := range inputs {
				if p == "-" && fromStdin {
					return &exitError{code: exitUsage, err: fmt.Errorf("standard input carries the findings; --input must name files")}
				}
			}
			var given []finding.Finding
			if fromStdin {
				fs, err := readFindings(cmd.InOrStdin())
				if err != nil {
					return &exitError{code: exitUsage, err: err}
				}
				if len(fs) == 0 {
					return &exitError{code: exitUsage, err: fmt.Errorf("no findings on standard input")}
				}
				given = fs
			}
			opt, files, err := in.options(cmd.Context(), inputs)
			if err != nil {
				return err
			}
			idx, fs, sum, err := indexAndHunt(cmd, files, opt, in, !fromStdin)
			if err != nil {
				return err
			}
			if !fromStdin {
				given, err = pickFindings(fs, args)
				if err != nil {
					return &exitError{code: exitUsage, err: err}
				}
			}
			if err := writeExplained(cmd, output, format, given, idx, files, opt, window, in.keeps()); err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			return finish(sum, false)
		},
	}
	in.register(cmd.Flags())
	cmd.Flags().StringSliceVarP(&inputs, "input", "i", nil, "logs the findings came from: files, directories or globs (repeatable)")
	cmd.Flags().StringVarP(&format, "format", "f", explain.FormatMarkdown, "output: markdown, json or html")
	cmd.Flags().StringVarP(&output, "output", "o", "", "write to this file instead of standard output")
	cmd.Flags().DurationVar(&window, "window", explain.DefaultWindow, "timeline reach before the first step and after the last")
	return cmd
}

func validExplainFormat(f string) bool {
	for _, x := range explain.Formats {
		if x == f {
			return true
		}
	}
	return f == "md"
}

// indexAndHunt reads the logs once, through the detector when asked (to
// find findings named by id), gathering what explain needs to read them
// again for the bundles' calls (explain.Collector). Only the operations
// the detector and the links need are decoded whole.
func indexAndHunt(cmd *cobra.Command, files []string, opt ingest.Options, in inputFlags, hunt bool) (*explain.Collector, []finding.Finding, ingest.Summary, error) {
	idx := explain.NewCollector(files)
	var det *detect.Detector
	opt.Want = idx.Want(func(string, string) bool { return false })
	if hunt {
		var err error
		det, err = detect.New(detect.Options{AtRest: true})
		if err != nil {
			return nil, nil, ingest.Summary{}, &exitError{code: exitUsage, err: err}
		}
		defer det.Close()
		opt.Want = idx.Want(det.Wants)
	}
	opt.NewSelect = idx.NewSelect()
	h := in.handlers()
	h.File = chainFile(h.File, idx.File)
	h.Event = in.keep(func(ev *event.Event) error {
		idx.Add(ev) // before the detector, which may take the record's bytes to a file
		if det != nil {
			det.Process(ev)
		}
		return nil
	})
	stop := startProgress(opt.Progress, in.quiet)
	sum, err := ingest.Read(cmd.Context(), files, opt, h)
	stop()
	if err != nil {
		return nil, nil, sum, &exitError{code: exitUsage, err: err}
	}
	var fs []finding.Finding
	if det != nil {
		det.Flush()
		fs = det.Findings()
	}
	return idx, fs, sum, nil
}

// readFindings decodes findings written by 'hunt --format ndjson'.
func readFindings(r io.Reader) ([]finding.Finding, error) {
	var out []finding.Finding
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		var f finding.Finding
		if err := json.Unmarshal([]byte(text), &f); err != nil {
			return nil, fmt.Errorf("stdin:%d: not a finding (want 'hunt --format ndjson' output): %w", line, err)
		}
		if f.ID == "" || f.RuleID == "" {
			return nil, fmt.Errorf("stdin:%d: not a finding: no id or rule_id", line)
		}
		out = append(out, f)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("stdin: %w", err)
	}
	return out, nil
}

// pickFindings returns the findings named by id, by group_id (every
// occurrence of the group, in output order) or by a unique prefix of
// either, in the order named.
func pickFindings(fs []finding.Finding, ids []string) ([]finding.Finding, error) {
	var out []finding.Finding
	for _, id := range ids {
		var hits, group []finding.Finding
		groups := map[string]bool{}
		for _, f := range fs {
			if f.ID == id {
				hits = []finding.Finding{f}
				break
			}
			if strings.HasPrefix(f.ID, id) {
				hits = append(hits, f)
			}
			if f.GroupID != "" && strings.HasPrefix(f.GroupID, id) {
				group = append(group, f)
				groups[f.GroupID] = true
			}
		}
		if len(hits) == 0 && len(groups) == 1 {
			hits = group
		}
		switch {
		case len(hits) == 0:
			return nil, fmt.Errorf("no finding %s in the input (%d findings there; list them with 'revertwatch hunt')", id, len(fs))
		case len(hits) == 1 || len(groups) == 1 && len(hits) == len(group):
			out = append(out, hits...)
		default:
			return nil, fmt.Errorf("%s names %d findings; give more of the id", id, len(hits))
		}
	}
	return out, nil
}

// writeExplained builds the bundles, reading the logs again (read first
// with opt) for their calls, and writes them to stdout or a file.
func writeExplained(cmd *cobra.Command, output, format string, fs []finding.Finding, idx *explain.Collector, files []string, opt ingest.Options, window time.Duration, keep func(*event.Event) bool) error {
	bs, err := idx.Bundles(cmd.Context(), fs, files, opt, explain.Options{Window: window, Keep: keep})
	if err != nil {
		return err
	}
	w := cmd.OutOrStdout()
	var file *os.File
	if output != "" && output != "-" {
		var err error
		if file, err = os.Create(output); err != nil {
			return err
		}
		w = file
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	err = explain.Write(bw, format, bs)
	if err == nil {
		err = bw.Flush()
	}
	if file != nil {
		if cerr := file.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// huntExplainIndex returns what 'hunt --explain' gathers while it reads
// the inputs, or nil without --explain.
func huntExplainIndex(format string, inputs []string) (*explain.Collector, error) {
	if format == "" {
		return nil, nil
	}
	if !validExplainFormat(format) {
		return nil, &exitError{code: exitUsage, err: fmt.Errorf("unknown --explain format %q (want %s)", format, strings.Join(explain.Formats, ", "))}
	}
	return explain.NewCollector(inputs), nil
}

// explainHunt writes the bundles of hunt's findings, reading the inputs
// again (read first with opt) for the bundles' calls; suppressed
// findings only with --show-suppressed.
func explainHunt(ctx context.Context, w io.Writer, format string, fs []finding.Finding, showSuppressed bool, idx *explain.Collector, inputs []string, opt ingest.Options, keep func(*event.Event) bool) error {
	var shown []finding.Finding
	for _, f := range fs {
		if showSuppressed || !f.Suppressed {
			shown = append(shown, f)
		}
	}
	bs, err := idx.Bundles(ctx, shown, inputs, opt, explain.Options{Keep: keep})
	if err != nil {
		return err
	}
	return explain.Write(w, format, bs)
}
