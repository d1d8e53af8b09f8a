package ingest_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/ingest"
)

// run is everything one ingest.Read call handed out, in order.
type run struct {
	events []*event.Event
	diags  []ingest.Diag
	files  []ingest.FileStats
	sum    ingest.Summary
}

// read runs ingest.Read over inputs and collects its output. It fails the
// test when Read returns an error or when the run does not add up (see
// checkAccounting).
func read(t testing.TB, inputs []string, opt ingest.Options) run {
	t.Helper()
	var r run
	sum, err := ingest.Read(context.Background(), inputs, opt, ingest.Handlers{
		Event: func(ev *event.Event) error { r.events = append(r.events, ev); return nil },
		Diag:  func(d ingest.Diag) { r.diags = append(r.diags, d) },
		File:  func(s ingest.FileStats) { r.files = append(r.files, s) },
	})
	if err != nil {
		t.Fatalf("Read(%v): %v", inputs, err)
	}
	r.sum = sum
	checkAccounting(t, r)
	return r
}

// readBytes decodes data as standard input ("-").
func readBytes(t testing.TB, data []byte, opt ingest.Options) run {
	t.Helper()
	opt.Stdin = bytes.NewReader(data)
	return read(t, []string{"-"}, opt)
}

// checkAccounting checks that the summary, the per-file statistics, the
// diagnostics and the events handed out agree with one another.
func checkAccounting(t testing.TB, r run) {
	t.Helper()
	var events, skipped, rejected, fileErrs, records int
	var bytesRead int64
	perFile := map[string]int{}
	files := map[string]bool{}
	for _, f := range r.files {
		files[f.File] = true
	}
	for _, ev := range r.events {
		name := ev.Source.Name
		// A zip archive's members are named ARCHIVE!MEMBER.
		if i := strings.Index(name, "!"); !files[name] && i > 0 && files[name[:i]] {
			name = name[:i]
		}
		perFile[name]++
	}
	for _, d := range r.diags {
		switch d.Severity {
		case ingest.Skipped:
			skipped++
		case ingest.Rejected:
			rejected++
		}
		if strings.ContainsAny(d.String(), "\n\r") {
			t.Errorf("diagnostic is not one line: %q", d.String())
		}
	}
	for _, f := range r.files {
		events += f.Events
		records += f.Records
		bytesRead += f.Bytes
		if f.Error != "" {
			fileErrs++
		}
		if perFile[f.File] != f.Events {
			t.Errorf("%s: stats say %d events, %d were handed out", f.File, f.Events, perFile[f.File])
		}
	}
	s := r.sum
	if s.Events != len(r.events) || events != len(r.events) {
		t.Errorf("events: summary %d, file stats %d, handed out %d", s.Events, events, len(r.events))
	}
	if s.Skipped != skipped || s.Rejected != rejected {
		t.Errorf("summary skipped=%d rejected=%d, diagnostics skipped=%d rejected=%d", s.Skipped, s.Rejected, skipped, rejected)
	}
	if s.FileErrors != fileErrs || s.Files != len(r.files) || s.Records != records || s.Bytes != bytesRead {
		t.Errorf("summary %+v disagrees with the file stats (files=%d errors=%d records=%d bytes=%d)",
			s, len(r.files), fileErrs, records, bytesRead)
	}
}

// diagsOf returns the diagnostics of one severity.
func (r run) diagsOf(sev ingest.Severity) []ingest.Diag {
	var out []ingest.Diag
	for _, d := range r.diags {
		if d.Severity == sev {
			out = append(out, d)
		}
	}
	return out
}

// describe is a short account of a run for failure messages.
func (r run) describe() string {
	var b strings.Builder
	for _, f := range r.files {
		b.WriteString(f.String())
		b.WriteByte('\n')
	}
	for i, d := range r.diags {
		if i == 10 {
			fmt.Fprintf(&b, "... %d more diagnostics\n", len(r.diags)-i)
			break
		}
		b.WriteString(d.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// hasNote reports whether ev carries a note containing s.
func hasNote(ev *event.Event, s string) bool {
	for _, n := range ev.Notes {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}
