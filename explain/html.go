package explain

import (
	"fmt"
	"html/template"
	"io"
	"sort"
	"strings"
	"time"
)

// The page is one file: CSS, the SVG timelines and a little script are
// inline, so it opens from a ticket attachment or a file share with no
// network at all.
var pageTemplate = template.Must(template.New("page").Funcs(template.FuncMap{
	"ts":    func(t time.Time) string { return ts(t) },
	"phase": phaseTitle,
	"join":  strings.Join,
	"short": shortID,
	"who":   func(t Touch) string { return who(t) },
	"newText": func(o Origin) string {
		switch {
		case o.NewUnknown:
			return "unknown"
		case o.New:
			return "new"
		}
		return "seen before"
	},
	"sections": playbookSections,
}).Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>revertwatch: {{len .Bundles}} finding(s) explained</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d2330;background:#f5f6f8}
header.top{background:#1d2330;color:#fff;padding:12px 24px}
header.top h1{font-size:18px;margin:0}
main{padding:16px 24px;max-width:1280px}
section.bundle{background:#fff;border:1px solid #d9dde5;border-radius:6px;padding:16px 20px;margin-bottom:24px}
h2{font-size:20px;margin:0 0 8px}
h3{font-size:15px;margin:18px 0 6px;border-bottom:1px solid #e4e7ee;padding-bottom:3px}
table{border-collapse:collapse;width:100%;margin:4px 0 8px}
th,td{text-align:left;padding:3px 8px;border-bottom:1px solid #eef0f4;vertical-align:top;font-size:13px}
th{background:#f0f2f6}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace;background:#f3f4f7;padding:0 3px;border-radius:3px;word-break:break-all}
pre{background:#1d2330;color:#e8ebf2;padding:8px 10px;border-radius:4px;overflow-x:auto;font-size:12px;white-space:pre-wrap;word-break:break-all}
.sev-critical,.sev-high{color:#b00020;font-weight:600}.sev-medium{color:#b35c00}
.tag{display:inline-block;font-size:11px;padding:0 6px;border-radius:8px;background:#e7eaf0;margin-right:3px}
.tag.step{background:#ffd9dc;color:#8a0010}.tag.deletion{background:#1d2330;color:#fff}.tag.related{background:#dde9ff}
.tag.failure,.tag.noop{background:#eee;color:#777}
tr.step td{background:#fff4f5}
tr.hl td{outline:2px solid #3b6fd8}
.meta td:first-child{width:190px;color:#555}
svg.tl{width:100%;height:auto;background:#fbfcfd;border:1px solid #e4e7ee;border-radius:4px}
svg.tl text{font:11px system-ui,sans-serif;fill:#444}
svg.tl .mark{cursor:pointer}
.new{color:#b00020;font-weight:600}
.notes li{color:#6a4b00}
</style>
</head>
<body>
<header class="top"><h1>revertwatch — T1578.004 Revert Cloud Instance: investigation</h1></header>
<main>
{{range $i, $b := .Bundles}}{{$f := $b.Finding}}
<section class="bundle" id="b{{$i}}">
<h2>{{$f.Title}}</h2>
<table class="meta">
<tr><td>Finding</td><td><code>{{$f.ID}}</code> · rule <code>{{$f.RuleID}}</code></td></tr>
<tr><td>Severity / confidence</td><td><span class="sev-{{$f.Severity}}">{{$f.Severity}}</span> / {{$f.Confidence}}</td></tr>
<tr><td>Provider / scope</td><td>{{$f.Provider}} <code>{{$f.Account}}{{if $f.Region}} / {{$f.Region}}{{end}}</code></td></tr>
<tr><td>Actor</td><td><code>{{$b.ActorLabel}}</code></td></tr>
<tr><td>Steps</td><td>{{ts $f.FirstSeen}} → {{ts $f.LastSeen}}</td></tr>
<tr><td>Timeline window</td><td>{{ts $b.Window.From}} → {{ts $b.Window.To}}</td></tr>
</table>
{{if $f.Reasons}}<ul>{{range $f.Reasons}}<li>{{.}}</li>{{end}}</ul>{{end}}

<h3>Timeline</h3>
{{index $.SVG $i}}

<h3>Lineage</h3>
<table><tr><th>Resource</th><th>Role</th><th>Made by</th><th>When</th><th>From</th><th>Afterwards</th></tr>
{{range $b.Lineage}}<tr><td>{{.Kind}} <code>{{short .Resource}}</code></td><td>{{.Role}}</td>
<td>{{with .Origin}}<code>{{.Operation}}</code> by {{who .}}{{else}}—{{end}}{{range .Notes}}<div>{{.}}</div>{{end}}</td>
<td>{{with .Origin}}{{ts .Time}}{{end}}{{if .BeforeText}}<div>{{.BeforeText}}</div>{{end}}</td>
<td>{{range .MadeFrom}}<code>{{short .}}</code> {{end}}</td>
<td>{{range .Shared}}<span class="tag">shared</span> <code>{{.Operation}}</code> {{ts .Time}} {{end}}{{range .Deleted}}<span class="tag deletion">deleted</span> <code>{{.Operation}}</code> {{ts .Time}} by {{who .}} {{end}}</td></tr>
{{end}}</table>

<h3>Replaced by the revert</h3>
{{if $b.Replaced}}<table><tr><th>Resource</th><th>How</th><th>Fate</th></tr>
{{range $b.Replaced}}<tr><td>{{.Kind}} <code>{{short .Resource}}</code></td><td>{{.How}}{{with .Event}} — <code>{{.Operation}}</code> {{ts .Time}}{{end}}</td><td>{{.Fate}}</td></tr>{{end}}
</table>{{else}}<p>Nothing the revert replaced is named in the data.</p>{{end}}

<h3>Deletions (evidence destruction)</h3>
{{if $b.Deletions}}<table><tr><th>Time</th><th>Operation</th><th>Resource</th><th>By</th></tr>
{{range $b.Deletions}}<tr><td>{{ts .Time}}</td><td><code>{{.Operation}}</code></td><td><code>{{short .Resource}}</code></td><td>{{who .}}</td></tr>{{end}}
</table>{{else}}<p>None.</p>{{end}}

<h3>Other principals on these resources</h3>
{{if $b.Others}}<table><tr><th>Principal</th><th>Calls</th><th>Operations</th><th>First</th><th>Last</th></tr>
{{range $b.Others}}<tr><td><code>{{.Principal}}</code>{{if .Service}} <span class="tag">service</span>{{end}}</td><td>{{.Calls}}</td><td>{{join .Operations ", "}}</td><td>{{ts .First}}</td><td>{{ts .Last}}</td></tr>{{end}}
</table>{{else}}<p>None in the data.</p>{{end}}

<h3>Source addresses and user agents</h3>
<table><tr><th>Kind</th><th>Value</th><th>Calls</th><th>In steps</th><th>First used</th><th>For the principal</th></tr>
{{range $b.Origins}}<tr><td>{{.Kind}}</td><td><code>{{.Value}}</code></td><td>{{.Calls}}</td><td>{{if .InSteps}}yes{{else}}no{{end}}</td><td>{{ts .FirstUsed}}</td><td{{if .New}} class="new"{{end}}>{{newText .}}</td></tr>{{end}}
</table>

<h3>Calls of the actor</h3>
{{range $g := $b.Timeline}}<h4>{{phase $g.Phase}}: {{ts $g.Start}} → {{ts $g.End}}</h4>
<table><tr><th>Time</th><th>Operation</th><th>Resources</th><th>Outcome</th><th>Marks</th></tr>
{{range $g.Entries}}<tr id="{{.UID}}-{{$i}}" class="{{if .Step}}step{{end}}"><td>{{ts .Time}}</td><td><code>{{.Operation}}</code>{{if gt .Count 1}} ×{{.Count}}{{end}}</td>
<td>{{range .Resources}}<code>{{short .}}</code> {{end}}</td><td>{{.Outcome}}</td>
<td>{{if .Step}}<span class="tag step">step {{.Step}}</span>{{end}}{{range .Tags}}{{if ne . "step"}}<span class="tag {{.}}">{{.}}</span>{{end}}{{end}}</td></tr>
{{end}}</table>{{end}}

{{with $b.Playbook}}{{if .RuleID}}<h3>Response playbook ({{.Provider}})</h3>
{{range sections .}}<h4>{{.Title}}</h4><ol>{{range .Actions}}<li>{{.Text}}{{if .Command}}<pre>{{.Command}}</pre>{{end}}</li>{{end}}</ol>{{end}}{{end}}{{end}}

{{if $b.Notes}}<h3>Notes</h3><ul class="notes">{{range $b.Notes}}<li>{{.}}</li>{{end}}</ul>{{end}}
</section>
{{end}}
</main>
<script>
(function () {
  "use strict";
  // Clicking a mark on a timeline highlights its row in the calls table.
  document.querySelectorAll("svg.tl .mark").forEach(function (m) {
    m.addEventListener("click", function () {
      document.querySelectorAll("tr.hl").forEach(function (r) { r.classList.remove("hl"); });
      var row = document.getElementById(m.getAttribute("data-row"));
      if (row) { row.classList.add("hl"); row.scrollIntoView({block: "center"}); }
    });
  });
  document.body.setAttribute("data-rendered", String(document.querySelectorAll("svg.tl").length));
})();
</script>
</body>
</html>
`))

// pageData feeds the template: the bundles, their drawn timelines.
type pageData struct {
	Bundles []*Bundle
	SVG     []template.HTML
}

// WriteHTML writes one self-contained page for the bundles: the sections
// of the Markdown, and each timeline drawn as an SVG.
func WriteHTML(w io.Writer, bs []*Bundle) error {
	d := pageData{Bundles: bs}
	for i, b := range bs {
		d.SVG = append(d.SVG, template.HTML(timelineSVG(b, i))) // built from escaped parts below
	}
	// The template ranges over the bundles; index $.SVG needs the data.
	return pageTemplate.Execute(w, &d)
}

// lane is a row of the drawn timeline.
type lane struct {
	name  string
	marks []mark
}

type mark struct {
	t     time.Time
	label string
	row   string // id of the calls-table row
	kind  string // step, deletion, call, lineage, other
}

// timelineSVG draws the actor's calls, the steps, the lineage origins and
// the deletions on one time axis.
func timelineSVG(b *Bundle, idx int) string {
	lanes := []lane{{name: "steps"}, {name: "actor's calls"}, {name: "lineage"}, {name: "deletions"}}
	for _, g := range b.Timeline {
		for _, e := range g.Entries {
			m := mark{t: e.Time, label: e.Operation, row: fmt.Sprintf("%s-%d", e.UID, idx), kind: "call"}
			if e.Step != "" {
				m.kind = "step"
				m.label = e.Step + ": " + e.Operation
				lanes[0].marks = append(lanes[0].marks, m)
				continue
			}
			lanes[1].marks = append(lanes[1].marks, m)
		}
	}
	for _, l := range b.Lineage {
		if l.Origin != nil {
			lanes[2].marks = append(lanes[2].marks, mark{t: l.Origin.Time, label: l.Kind + " " + shortID(l.Resource) + " made", kind: "lineage"})
		}
	}
	for _, d := range b.Deletions {
		lanes[3].marks = append(lanes[3].marks, mark{t: d.Time, label: d.Operation + " " + shortID(d.Resource), kind: "deletion"})
	}
	var lo, hi time.Time
	for _, l := range lanes {
		for _, m := range l.marks {
			if lo.IsZero() || m.t.Before(lo) {
				lo = m.t
			}
			if m.t.After(hi) {
				hi = m.t
			}
		}
	}
	const width, left, right, laneH, top = 1200.0, 110.0, 30.0, 34.0, 26.0
	height := top + laneH*float64(len(lanes)) + 30
	var s strings.Builder
	fmt.Fprintf(&s, `<svg class="tl" viewBox="0 0 %g %g" role="img" aria-label="timeline of finding %s">`, width, height, template.HTMLEscapeString(b.Finding.ID))
	if lo.IsZero() {
		fmt.Fprintf(&s, `<text x="%g" y="%g">no calls in the window</text></svg>`, left, top+20)
		return s.String()
	}
	span := hi.Sub(lo)
	if span < time.Minute {
		span = time.Minute
	}
	pad := span / 20
	lo, hi = lo.Add(-pad), hi.Add(pad)
	span = hi.Sub(lo)
	x := func(t time.Time) float64 { return left + (width-left-right)*float64(t.Sub(lo))/float64(span) }
	// The revert itself, shaded.
	f := b.Finding
	if !f.FirstSeen.IsZero() && !f.LastSeen.IsZero() {
		x0, x1 := x(f.FirstSeen), x(f.LastSeen)
		if x1-x0 < 2 {
			x1 = x0 + 2
		}
		fmt.Fprintf(&s, `<rect x="%.1f" y="%g" width="%.1f" height="%g" fill="#ffe3e6"/>`, x0, top-6, x1-x0, laneH*float64(len(lanes))+6)
		fmt.Fprintf(&s, `<text x="%.1f" y="%g" fill="#8a0010">revert</text>`, x0, top-10)
	}
	for i, l := range lanes {
		y := top + laneH*float64(i) + laneH/2
		fmt.Fprintf(&s, `<line x1="%g" y1="%.1f" x2="%g" y2="%.1f" stroke="#d9dde5"/>`, left, y, width-right, y)
		fmt.Fprintf(&s, `<text x="6" y="%.1f">%s</text>`, y+4, template.HTMLEscapeString(l.name))
		sort.SliceStable(l.marks, func(a, b int) bool { return l.marks[a].t.Before(l.marks[b].t) })
		for _, m := range l.marks {
			cx := x(m.t)
			title := template.HTMLEscapeString(ts(m.t) + " " + m.label)
			row := template.HTMLEscapeString(m.row)
			switch m.kind {
			case "step":
				fmt.Fprintf(&s, `<g class="mark" data-row="%s"><path d="M%.1f %.1f l7 7 l-7 7 l-7 -7z" fill="#c8102e"/><title>%s</title></g>`, row, cx, y-7, title)
			case "deletion":
				fmt.Fprintf(&s, `<g class="mark"><path d="M%.1f %.1f l10 10 m0 -10 l-10 10" stroke="#1d2330" stroke-width="3"/><title>%s</title></g>`, cx-5, y-5, title)
			case "lineage":
				fmt.Fprintf(&s, `<g class="mark"><rect x="%.1f" y="%.1f" width="10" height="10" fill="#3b6fd8"/><title>%s</title></g>`, cx-5, y-5, title)
			default:
				fmt.Fprintf(&s, `<g class="mark" data-row="%s"><circle cx="%.1f" cy="%.1f" r="4" fill="#6b7385"/><title>%s</title></g>`, row, cx, y, title)
			}
		}
	}
	// Five ticks along the axis.
	axisY := top + laneH*float64(len(lanes)) + 4
	for i := 0; i <= 4; i++ {
		t := lo.Add(span * time.Duration(i) / 4)
		tx := x(t)
		anchor := "middle"
		switch i {
		case 0:
			anchor = "start"
		case 4:
			anchor = "end"
		}
		fmt.Fprintf(&s, `<line x1="%.1f" y1="%g" x2="%.1f" y2="%g" stroke="#999"/><text x="%.1f" y="%g" text-anchor="%s">%s</text>`,
			tx, axisY-4, tx, axisY+2, tx, axisY+16, anchor, ts(t))
	}
	s.WriteString(`</svg>`)
	return s.String()
}
