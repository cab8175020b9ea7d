package main

import (
	"bytes"
	"encoding/json"
	"html/template"
	"time"

	"github.com/sleegation/podd/api"
)

// pageEvent is a row of the events table.
type pageEvent struct {
	At, Type, What, Next string
	Session              string
	Alarm                bool
}

type pageFigure struct {
	ID, Title, Note string
	SVG             template.HTML
}

type pageData struct {
	From, To, Generated, Session string
	Privacy                      string
	Limits                       reportLimits
	Figures                      []pageFigure
	Events                       []pageEvent
	Points, Aborts, Warnings     int
	Skipped                      int
}

var pageTemplate = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Pod report {{.From}} to {{.To}}</title>
<style>
body { font-family: sans-serif; margin: 1.5em; color: #222; }
.privacy { border: 1px solid #c60; background: #fff6ea; padding: .6em 1em; }
figure { margin: 1.2em 0; }
figcaption { font-size: .9em; color: #555; }
table { border-collapse: collapse; font-size: .9em; }
td, th { border-bottom: 1px solid #ddd; padding: .25em .6em; text-align: left; vertical-align: top; }
tr.alarm td { background: #fdecec; }
.next { color: #a00; }
</style>
</head>
<body>
<h1>Pod report</h1>
<p class="privacy">{{.Privacy}}</p>
<p>From <b>{{.From}}</b> to <b>{{.To}}</b> (UTC){{if .Session}}, merge session <b>{{.Session}}</b>{{end}}. Generated {{.Generated}}.
Points of 10 s: {{.Points}}; aborts: {{.Aborts}}; warnings: {{.Warnings}}.{{if .Skipped}} {{.Skipped}} stored entries failed their checksum and are left out.{{end}}</p>
<p>Limits drawn: {{.Limits.Source}}. Warnings are marked in orange, aborts in red, at the time the alarm condition was detected; hover a mark for its rule.</p>
{{range .Figures}}<figure id="{{.ID}}">
{{.SVG}}
<figcaption>{{.Title}}{{if .Note}}. {{.Note}}{{end}}</figcaption>
</figure>
{{end}}
<h2>Events</h2>
<table id="events">
<thead><tr><th>Time (UTC)</th><th>Type</th><th>What</th><th>Next step</th></tr></thead>
<tbody>
{{range .Events}}<tr class="{{.Type}}{{if .Alarm}} alarm{{end}}"><td>{{.At}}</td><td>{{.Type}}</td><td>{{.What}}{{if .Session}} [session {{.Session}}]{{end}}</td><td class="next">{{.Next}}</td></tr>
{{end}}</tbody>
</table>
</body>
</html>
`))

// renderReport builds the page.
func renderReport(rep report, now time.Time) ([]byte, error) {
	d := pageData{
		From: rep.From.UTC().Format("2006-01-02 15:04:05"), To: rep.To.UTC().Format("2006-01-02 15:04:05"),
		Generated: now.UTC().Format(time.RFC3339), Session: rep.Session, Privacy: privacyNote,
		Limits: rep.Limits, Points: len(rep.Points), Skipped: rep.Skipped,
	}
	vf, err := vitalFigures(rep)
	if err != nil {
		return nil, err
	}
	sf, err := statesFigure(rep)
	if err != nil {
		return nil, err
	}
	of, err := outputsFigure(rep)
	if err != nil {
		return nil, err
	}
	for _, f := range append(vf, sf, of) {
		// The SVG is gonum's and the overlay's, its text escaped by them.
		d.Figures = append(d.Figures, pageFigure{ID: f.ID, Title: f.Title, Note: f.Note, SVG: template.HTML(f.SVG)})
	}
	for _, e := range rep.Events {
		d.Events = append(d.Events, tableRow(e))
		switch e.Type {
		case "abort":
			d.Aborts++
		case "warning":
			d.Warnings++
		}
	}
	var b bytes.Buffer
	if err := pageTemplate.Execute(&b, d); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func tableRow(e api.HistoryEvent) pageEvent {
	var body map[string]any
	_ = json.Unmarshal(e.Body, &body)
	what, next := describeEvent(e.Type, body)
	return pageEvent{At: e.At.UTC().Format("2006-01-02 15:04:05"), Type: e.Type, What: what, Next: next, Session: e.Session, Alarm: e.Type == "abort" || e.Type == "warning"}
}
