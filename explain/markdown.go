package explain

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/revertwatch/revertwatch/content"
)

// Output formats of a bundle.
const (
	FormatMarkdown = "markdown"
	FormatJSON     = "json"
	FormatHTML     = "html"
)

// Formats lists the output formats.
var Formats = []string{FormatMarkdown, FormatJSON, FormatHTML}

// Write renders bundles in a format: Markdown sections one after another,
// JSON as one object per line, HTML as one page holding them all.
func Write(w io.Writer, format string, bs []*Bundle) error {
	switch format {
	case FormatMarkdown, "md":
		bw := bufio.NewWriter(w)
		for i, b := range bs {
			if i > 0 {
				bw.WriteString("\n---\n\n")
			}
			b.WriteMarkdown(bw)
		}
		return bw.Flush()
	case FormatJSON:
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		for _, b := range bs {
			if err := enc.Encode(b); err != nil {
				return err
			}
		}
		return nil
	case FormatHTML:
		return WriteHTML(w, bs)
	}
	return fmt.Errorf("unknown format %q (want %s)", format, strings.Join(Formats, ", "))
}

const tfmt = "2006-01-02 15:04:05Z"

func ts(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format(tfmt)
}

// mdEscape keeps a value from breaking a Markdown table cell.
func mdEscape(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	s = strings.ReplaceAll(s, "\n", " ")
	return s
}

func code(s string) string {
	if s == "" {
		return "—"
	}
	return "`" + strings.ReplaceAll(s, "`", "'") + "`"
}

// WriteMarkdown renders the bundle as a Markdown document for a ticket.
func (b *Bundle) WriteMarkdown(w *bufio.Writer) {
	f := &b.Finding
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	p("# %s\n\n", mdEscape(f.Title))
	p("| | |\n|---|---|\n")
	p("| Finding | %s |\n", code(f.ID))
	p("| Rule | %s |\n", code(f.RuleID))
	p("| ATT&CK | %s %s (%s) |\n", f.Technique, mdEscape(f.TechniqueName), mdEscape(f.Tactic))
	p("| Severity / confidence | %s / %s |\n", f.Severity, f.Confidence)
	scope := f.Account
	if f.Region != "" {
		scope += " / " + f.Region
	}
	p("| Provider / scope | %s %s |\n", f.Provider, code(scope))
	p("| Actor | %s |\n", code(b.ActorLabel()))
	p("| Steps | %s → %s |\n", ts(f.FirstSeen), ts(f.LastSeen))
	p("| Timeline window | %s → %s (%gh either side) |\n\n", ts(b.Window.From), ts(b.Window.To), b.Window.Hours)
	if f.Description != "" {
		p("%s\n\n", f.Description)
	}
	for _, r := range f.Reasons {
		p("- %s\n", r)
	}
	if len(f.Reasons) > 0 {
		p("\n")
	}

	p("## Steps of the finding\n\n")
	p("| Time | Step | Operation | Outcome | Source IP | Record |\n|---|---|---|---|---|---|\n")
	for _, s := range b.Steps {
		p("| %s | %s | %s | %s | %s | %s |\n", ts(s.Time), s.Step, code(s.Operation), s.Outcome, code(s.SrcIP), where(s.File, s.Line))
	}
	p("\n")

	p("## Lineage\n\n")
	if len(b.Lineage) == 0 {
		p("No resources to trace.\n\n")
	}
	for _, l := range b.Lineage {
		p("- **%s** %s — %s\n", l.Kind, code(l.Resource), l.Role)
		if o := l.Origin; o != nil {
			p("  - made by %s at %s by %s (%s)", code(o.Operation), ts(o.Time), actorRef(*o), l.BeforeText)
			if len(l.MadeFrom) > 0 {
				p(" from %s", codes(l.MadeFrom))
			}
			p("\n")
		}
		for _, s := range l.Shared {
			p("  - shared or exported: %s at %s by %s\n", code(s.Operation), ts(s.Time), actorRef(s))
		}
		for _, d := range l.Deleted {
			p("  - **deleted**: %s at %s by %s\n", code(d.Operation), ts(d.Time), actorRef(d))
		}
		for _, n := range l.Notes {
			p("  - %s\n", n)
		}
	}
	p("\n")

	p("## Replaced by the revert\n\n")
	if len(b.Replaced) == 0 {
		p("Nothing the revert replaced is named in the data.\n\n")
	}
	for _, r := range b.Replaced {
		p("- **%s** %s — %s", r.Kind, code(r.Resource), r.How)
		if r.Event != nil {
			p(" (%s at %s by %s)", code(r.Event.Operation), ts(r.Event.Time), actorRef(*r.Event))
		}
		p("\n  - fate: %s\n", r.Fate)
		for _, s := range r.Preserved {
			p("  - snapshotted: %s at %s by %s\n", code(s.Operation), ts(s.Time), actorRef(s))
		}
	}
	if len(b.Replaced) > 0 {
		p("\n")
	}

	p("## Deletions (evidence destruction)\n\n")
	if len(b.Deletions) == 0 {
		p("No deletion of a related resource, and none by the actor in the window.\n\n")
	} else {
		p("| Time | Operation | Resource | By |\n|---|---|---|---|\n")
		for _, d := range b.Deletions {
			p("| %s | %s | %s | %s |\n", ts(d.Time), code(d.Operation), code(d.Resource), actorRef(d))
		}
		p("\n")
	}

	p("## Other principals on these resources\n\n")
	if len(b.Others) == 0 {
		p("None in the data.\n\n")
	} else {
		p("| Principal | Calls | Operations | First | Last |\n|---|---|---|---|---|\n")
		for _, o := range b.Others {
			name := code(o.Principal)
			if o.Service {
				name += " (service)"
			}
			p("| %s | %d | %s | %s | %s |\n", name, o.Calls, mdEscape(strings.Join(o.Operations, ", ")), ts(o.First), ts(o.Last))
		}
		p("\n")
	}

	p("## Source addresses and user agents\n\n")
	if len(b.Origins) == 0 {
		p("None recorded.\n\n")
	} else {
		p("| Kind | Value | Calls in window | In steps | First used | New for the principal |\n|---|---|---|---|---|---|\n")
		for _, o := range b.Origins {
			p("| %s | %s | %d | %s | %s | %s |\n", o.Kind, code(o.Value), o.Calls, yesNo(o.InSteps), ts(o.FirstUsed), newText(o))
		}
		p("\n")
	}

	p("## Timeline of the actor\n\n")
	if len(b.Timeline) == 0 {
		p("No calls of the actor in the window.\n\n")
	}
	for _, g := range b.Timeline {
		p("### %s: %s → %s\n\n", phaseTitle(g.Phase), ts(g.Start), ts(g.End))
		p("| Time | Operation | Resources | Outcome | Marks |\n|---|---|---|---|---|\n")
		for _, e := range g.Entries {
			op := code(e.Operation)
			if e.Step != "" {
				op = "**" + op + "**"
			}
			if e.Count > 1 {
				op += fmt.Sprintf(" ×%d (to %s)", e.Count, ts(e.Last))
			}
			marks := e.Tags
			if e.Step != "" {
				marks = append([]string{"step " + e.Step}, without(marks, "step")...)
			}
			p("| %s | %s | %s | %s | %s |\n", ts(e.Time), op, codes(e.Resources), e.Outcome, strings.Join(marks, ", "))
		}
		p("\n")
	}

	writePlaybookMarkdown(w, b.Playbook)

	if len(b.Notes) > 0 {
		p("## Notes\n\n")
		for _, n := range b.Notes {
			p("- %s\n", n)
		}
		p("\n")
	}
}

func writePlaybookMarkdown(w *bufio.Writer, pb content.Playbook) {
	if pb.RuleID == "" {
		return
	}
	fmt.Fprintf(w, "## Response playbook (%s, %s)\n\n", pb.RuleID, pb.Provider)
	for _, sec := range playbookSections(pb) {
		fmt.Fprintf(w, "### %s\n\n", sec.Title)
		for i, a := range sec.Actions {
			fmt.Fprintf(w, "%d. %s\n", i+1, a.Text)
			if a.Command != "" {
				fmt.Fprintf(w, "   ```sh\n   %s\n   ```\n", a.Command)
			}
		}
		fmt.Fprintln(w)
	}
}

// section is one part of a playbook, for the renderers.
type section struct {
	Title   string
	Actions []content.Action
}

func playbookSections(pb content.Playbook) []section {
	return []section{
		{"Containment", pb.Containment},
		{"Evidence to collect", pb.Evidence},
		{"Eradication", pb.Eradication},
		{"Recovery", pb.Recovery},
	}
}

func phaseTitle(p string) string {
	switch p {
	case PhaseBefore:
		return "Before the revert"
	case PhaseRevert:
		return "The revert"
	case PhaseAfter:
		return "After the revert"
	}
	return p
}

func where(file string, line int) string {
	if file == "" {
		return "—"
	}
	if line > 0 {
		return code(fmt.Sprintf("%s:%d", file, line))
	}
	return code(file)
}

func actorRef(t Touch) string {
	if t.ByActor {
		return "the actor"
	}
	return code(t.Principal)
}

func codes(list []string) string {
	if len(list) == 0 {
		return "—"
	}
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = code(s)
	}
	return strings.Join(out, ", ")
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func newText(o Origin) string {
	switch {
	case o.NewUnknown:
		return "unknown (no earlier activity of the principal in the data)"
	case o.New:
		return "**new**"
	}
	return "seen before"
}

func without(list []string, s string) []string {
	var out []string
	for _, x := range list {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}
