package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"image/color"
	"math"
	"net/url"
	"slices"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/sleegation/podd/api"
	"github.com/sleegation/podd/controller"
	"github.com/sleegation/podd/safety"
)

// reportLimits are the safety limits a report draws: those of the last
// configuration event at or before the span's end (the pod reports its
// effective configuration at each start), else safety.DefaultLimits.
type reportLimits struct {
	safety.Limits
	CoreOffsetC float64
	// Source says where they come from, for the page.
	Source string
}

// findLimits takes the limits from the last config event before to: among
// events, else from the whole history.
func findLimits(ctx context.Context, src historySource, events []api.HistoryEvent, to time.Time) (reportLimits, error) {
	var last *api.HistoryEvent
	for i := range events {
		if events[i].Type == "config" {
			last = &events[i]
		}
	}
	if last == nil {
		q := url.Values{"kind": {"config"}, "since": {api.MaxSince.String()}}
		for range maxReportPages {
			r, err := src.events(ctx, q)
			if err != nil {
				return reportLimits{}, err
			}
			for i := range r.Events {
				if r.Events[i].At.Before(to) {
					last = &r.Events[i]
				}
			}
			if !r.More {
				break
			}
			q.Del("since")
			q.Set("after", fmt.Sprint(r.Cursor))
		}
	}
	l := reportLimits{Limits: safety.DefaultLimits(), Source: "podd's defaults: the history holds no configuration event before the span's end"}
	if last == nil {
		return l, nil
	}
	var body struct {
		Settings map[string]any `json:"settings"`
	}
	if err := json.Unmarshal(last.Body, &body); err != nil || body.Settings == nil {
		return l, nil
	}
	set := func(key string, v *float64) {
		if x, ok := body.Settings[key].(float64); ok {
			*v = x
		}
	}
	set("safety.heart_rate_high_bpm", &l.HeartRateHighBPM)
	set("safety.heart_rate_low_bpm", &l.HeartRateLowBPM)
	set("safety.spo2_low_pct", &l.SpO2LowPct)
	set("safety.spo2_critical_pct", &l.SpO2CriticalPct)
	set("safety.temperature_low_c", &l.TemperatureLowC)
	set("safety.temperature_high_c", &l.TemperatureHighC)
	set("safety.stability_min", &l.StabilityMin)
	set("sensors.tmp117.core_offset_c", &l.CoreOffsetC)
	l.Source = "the configuration podd reported at its start at " + last.At.UTC().Format(time.RFC3339)
	return l, nil
}

// figure is one plot of the page, rendered to inline SVG.
type figure struct {
	ID, Title, Note string
	SVG             string
}

// mark is a warning or an abort on the timelines.
type mark struct {
	At    time.Time
	Kind  string // warning or abort
	Label string
}

// limitLine is a limit drawn on a vital's plot.
type limitLine struct {
	Value float64
	Label string
}

// series is one vital over the points: the mean, with the least and
// greatest, of each point that held it.
type series struct {
	name     string
	get      func(controller.HistoryPoint) *controller.Span
	color    color.RGBA
	withBand bool
}

const (
	figWidth  = 26 * vg.Centimeter
	figHeight = 7 * vg.Centimeter
	// gapAfter breaks a line where points are missing (the pod was off):
	// more than three windows between two points.
	gapAfter = 30 * time.Second
)

var (
	colAbort   = color.RGBA{R: 200, A: 255}
	colWarning = color.RGBA{R: 230, G: 140, A: 255}
	colLimit   = color.RGBA{R: 180, G: 30, B: 30, A: 255}
	palette    = []color.RGBA{{R: 30, G: 90, B: 180, A: 255}, {R: 20, G: 140, B: 80, A: 255}, {R: 130, G: 60, B: 160, A: 255}, {R: 200, G: 110, B: 20, A: 255}, {R: 90, G: 90, B: 90, A: 255}, {R: 0, G: 150, B: 170, A: 255}}
)

// marks are the warnings and aborts of the events.
func marks(events []api.HistoryEvent) []mark {
	var out []mark
	for _, e := range events {
		if e.Type != "abort" && e.Type != "warning" {
			continue
		}
		var b struct {
			Rule       string `json:"rule"`
			DetectedAt string `json:"detected_at"`
		}
		_ = json.Unmarshal(e.Body, &b)
		at := e.At
		if t, err := time.Parse(time.RFC3339Nano, b.DetectedAt); err == nil {
			at = t
		}
		out = append(out, mark{At: at, Kind: e.Type, Label: e.Type + " " + b.Rule})
	}
	return out
}

// vitalFigures are the page's plots of the vitals.
func vitalFigures(rep report) ([]figure, error) {
	l := rep.Limits
	ms := marks(rep.Events)
	type vital struct {
		id, title, unit, note string
		series                []series
		limits                []limitLine
	}
	vitals := []vital{
		{"heart_rate", "Heart rate", "bpm", "", []series{{"heart rate", func(p controller.HistoryPoint) *controller.Span { return p.HeartRateBPM }, palette[0], true}},
			[]limitLine{{l.HeartRateHighBPM, "high"}, {l.HeartRateLowBPM, "low"}}},
		{"spo2", "SpO2", "%", "", []series{{"SpO2", func(p controller.HistoryPoint) *controller.Span { return p.SpO2Pct }, palette[0], true}},
			[]limitLine{{l.SpO2LowPct, "low"}, {l.SpO2CriticalPct, "critical"}}},
		{"body_temp", "Body temperature at the sensor", "°C", fmt.Sprintf("The rules judge the reading plus the core offset (%.2g °C): the limits are drawn less it.", l.CoreOffsetC),
			[]series{{"temperature", func(p controller.HistoryPoint) *controller.Span { return p.BodyTempC }, palette[0], true}},
			[]limitLine{{l.TemperatureLowC - l.CoreOffsetC, "low"}, {l.TemperatureHighC - l.CoreOffsetC, "high"}}},
		{"skin_conductance", "Skin conductance", "µS", "No level limit: the stress rule counts skin-conductance responses a minute against the baseline.",
			[]series{{"skin conductance", func(p controller.HistoryPoint) *controller.Span { return p.SkinConductanceUS }, palette[0], true}}, nil},
		{"eeg", "EEG band powers (mean of each point)", "", "No absolute limit: the arousal rule compares the band ratio with the sleeper's baseline.", eegSeries(rep.Points), nil},
		{"stability", "Stability index", "0..1", "", []series{{"stability", func(p controller.HistoryPoint) *controller.Span { return p.Stability }, palette[0], true}},
			[]limitLine{{l.StabilityMin, "minimum (during a merge)"}}},
	}
	var out []figure
	for _, v := range vitals {
		svg, err := plotVital(rep, v.title, v.unit, v.series, v.limits, ms)
		if err != nil {
			return nil, fmt.Errorf("plot %s: %w", v.id, err)
		}
		out = append(out, figure{ID: v.id, Title: v.title, Note: v.note, SVG: svg})
	}
	return out, nil
}

func eegSeries(points []controller.HistoryPoint) []series {
	bands := map[string]bool{}
	for _, p := range points {
		for b := range p.EEG {
			bands[b] = true
		}
	}
	var out []series
	for i, b := range slices.Sorted(func(yield func(string) bool) {
		for b := range bands {
			if !yield(b) {
				return
			}
		}
	}) {
		out = append(out, series{b, func(p controller.HistoryPoint) *controller.Span {
			if s, ok := p.EEG[b]; ok {
				return &s
			}
			return nil
		}, palette[i%len(palette)], false})
	}
	return out
}

// unix is t as the plots' x: Unix seconds.
func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// runs splits points into runs without gaps; x is each point's middle.
func runs(points []controller.HistoryPoint, get func(controller.HistoryPoint) *controller.Span) [][]controller.HistoryPoint {
	var out [][]controller.HistoryPoint
	var cur []controller.HistoryPoint
	var last time.Time
	for _, p := range points {
		if get(p) == nil {
			continue
		}
		if len(cur) > 0 && p.From.Sub(last) > gapAfter {
			out = append(out, cur)
			cur = nil
		}
		cur = append(cur, p)
		last = p.To
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

func mid(p controller.HistoryPoint) float64 { return (unixSeconds(p.From) + unixSeconds(p.To)) / 2 }

func newTimePlot(rep report, title, unit string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = unit
	p.X.Label.Text = "UTC"
	p.X.Min, p.X.Max = unixSeconds(rep.From), unixSeconds(rep.To)
	p.X.Tick.Marker = plot.TimeTicks{Format: "15:04"}
	p.Add(plotter.NewGrid())
	return p
}

func plotVital(rep report, title, unit string, ss []series, limits []limitLine, ms []mark) (string, error) {
	p := newTimePlot(rep, title, unit)
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range ss {
		for _, run := range runs(rep.Points, s.get) {
			mean := make(plotter.XYs, len(run))
			band := make(plotter.XYs, 0, 2*len(run))
			for i, pt := range run {
				sp := s.get(pt)
				mean[i] = plotter.XY{X: mid(pt), Y: sp.Mean}
				lo, hi = min(lo, sp.Min), max(hi, sp.Max)
				band = append(band, plotter.XY{X: mid(pt), Y: sp.Max})
			}
			for i := len(run) - 1; i >= 0; i-- {
				band = append(band, plotter.XY{X: mid(run[i]), Y: s.get(run[i]).Min})
			}
			if s.withBand && len(run) > 1 {
				poly, err := plotter.NewPolygon(band)
				if err != nil {
					return "", err
				}
				poly.Color = color.NRGBA{R: s.color.R, G: s.color.G, B: s.color.B, A: 50}
				poly.LineStyle.Width = 0
				p.Add(poly)
			}
			line, err := plotter.NewLine(mean)
			if err != nil {
				return "", err
			}
			line.Color = s.color
			p.Add(line)
		}
		if len(ss) > 1 {
			p.Legend.Add(s.name, &plotter.Line{LineStyle: draw.LineStyle{Color: s.color, Width: vg.Points(1)}})
		}
	}
	if math.IsInf(lo, 1) {
		p.Title.Text += " (no readings)"
	}
	for _, l := range limits {
		lo, hi = min(lo, l.Value), max(hi, l.Value)
	}
	if math.IsInf(lo, 1) {
		lo, hi = 0, 1
	}
	// A vital that barely moves still gets an axis of a tenth of its
	// size, so its ticks read as distinct numbers.
	if span := 0.1 * max(math.Abs(lo), math.Abs(hi), 0.01); hi-lo < span {
		c := (hi + lo) / 2
		lo, hi = c-span/2, c+span/2
	}
	pad := (hi - lo) * 0.08
	p.Y.Min, p.Y.Max = lo-pad, hi+pad
	ov := &overlay{marks: ms, limits: limits}
	p.Add(ov)
	p.Legend.Top = true
	return renderSVG(p, ov, rep.span)
}

// statesFigure plots the pod's state as steps, one row per state.
func statesFigure(rep report) (figure, error) {
	order := []string{controller.StateStarting, controller.StateIdle, "baseline", "merged", "ending", controller.StateAborted}
	p := newTimePlot(rep, "State", "")
	var ticks []plot.Tick
	for i, s := range order {
		ticks = append(ticks, plot.Tick{Value: float64(i), Label: s})
	}
	p.Y.Tick.Marker = plot.ConstantTicks(ticks)
	p.Y.Min, p.Y.Max = -0.5, float64(len(order))-0.5
	index := func(s string) float64 {
		if i := slices.Index(order, s); i >= 0 {
			return float64(i)
		}
		return 0
	}
	for _, run := range runs(rep.Points, func(controller.HistoryPoint) *controller.Span { return &controller.Span{} }) {
		var xy plotter.XYs
		for _, pt := range run {
			states := pt.States
			if len(states) == 0 {
				states = []string{pt.State}
			}
			y := index(states[len(states)-1])
			xy = append(xy, plotter.XY{X: unixSeconds(pt.From), Y: y}, plotter.XY{X: unixSeconds(pt.To), Y: y})
		}
		line, err := plotter.NewLine(xy)
		if err != nil {
			return figure{}, err
		}
		line.Color, line.Width = palette[2], vg.Points(2)
		p.Add(line)
	}
	ov := &overlay{marks: marks(rep.Events)}
	p.Add(ov)
	svg, err := renderSVG(p, ov, rep.span)
	return figure{ID: "states", Title: "State", SVG: svg}, err
}

// outputsFigure plots the share of each point with the outputs in their
// safe state, whether the show played, and the wake ramp.
func outputsFigure(rep report) (figure, error) {
	p := newTimePlot(rep, "Outputs", "0..1")
	p.Y.Min, p.Y.Max = -0.05, 1.05
	all := func(controller.HistoryPoint) *controller.Span { return &controller.Span{} }
	for i, s := range []struct {
		name string
		y    func(controller.HistoryPoint) float64
	}{
		{"safe state (share of the point)", func(pt controller.HistoryPoint) float64 { return pt.OutputsSafe }},
		{"show playing", func(pt controller.HistoryPoint) float64 {
			if pt.Playing {
				return 1
			}
			return 0
		}},
		{"wake ramp", func(pt controller.HistoryPoint) float64 {
			if pt.Wake != nil {
				return *pt.Wake
			}
			return 0
		}},
	} {
		for _, run := range runs(rep.Points, all) {
			xy := make(plotter.XYs, len(run))
			for j, pt := range run {
				xy[j] = plotter.XY{X: mid(pt), Y: s.y(pt)}
			}
			line, err := plotter.NewLine(xy)
			if err != nil {
				return figure{}, err
			}
			line.Color = palette[i]
			p.Add(line)
		}
		p.Legend.Add(s.name, &plotter.Line{LineStyle: draw.LineStyle{Color: palette[i], Width: vg.Points(1)}})
	}
	p.Legend.Top = true
	ov := &overlay{marks: marks(rep.Events)}
	p.Add(ov)
	svg, err := renderSVG(p, ov, rep.span)
	return figure{ID: "outputs", Title: "Outputs", Note: "The light's level itself is not kept: the history holds whether the outputs were in their safe state, whether the show played, and the wake ramp's progress.", SVG: svg}, err
}

// overlay is a plotter that draws nothing through gonum: it learns where
// the data area lies and where the marks and limits fall in it, and
// renderSVG adds them to the SVG as elements of their own (with a title a
// browser shows on hover, and the time or value as data attributes).
type overlay struct {
	marks  []mark
	limits []limitLine
	// Set by Plot, in the canvas's points (x as in the SVG; y from the
	// bottom).
	x0, x1, y0, y1 float64
	markX          []float64
	limitY         []float64
}

func (o *overlay) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	o.x0, o.x1 = c.Min.X.Points(), c.Max.X.Points()
	o.y0, o.y1 = c.Min.Y.Points(), c.Max.Y.Points()
	o.markX = o.markX[:0]
	for _, m := range o.marks {
		o.markX = append(o.markX, trX(unixSeconds(m.At)).Points())
	}
	o.limitY = o.limitY[:0]
	for _, l := range o.limits {
		o.limitY = append(o.limitY, trY(l.Value).Points())
	}
}

// renderSVG draws p as SVG and adds the overlay's marks and limits.
func renderSVG(p *plot.Plot, ov *overlay, sp span) (string, error) {
	// Points whose window ends after the span widened the axis when
	// added: the axis is the span's.
	p.X.Min, p.X.Max = unixSeconds(sp.From), unixSeconds(sp.To)
	c := vgsvg.New(figWidth, figHeight)
	p.Draw(draw.New(c))
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return "", err
	}
	s := b.String()
	if i := strings.Index(s, "<svg"); i > 0 {
		s = s[i:] // inline: no XML declaration
	}
	h := figHeight.Points()
	var extra strings.Builder
	fmt.Fprintf(&extra, `<g class="overlay" data-x0="%.2f" data-x1="%.2f" data-from="%s" data-to="%s">`+"\n",
		ov.x0, ov.x1, time.Unix(0, int64(p.X.Min*1e9)).UTC().Format(time.RFC3339Nano), time.Unix(0, int64(p.X.Max*1e9)).UTC().Format(time.RFC3339Nano))
	for i, l := range ov.limits {
		y := h - ov.limitY[i]
		fmt.Fprintf(&extra, `<line class="limit" data-value="%g" x1="%.2f" x2="%.2f" y1="%.2f" y2="%.2f" stroke="rgb(%d,%d,%d)" stroke-width="1" stroke-dasharray="6,4"><title>limit %s: %g</title></line>`+"\n",
			l.Value, ov.x0, ov.x1, y, y, colLimit.R, colLimit.G, colLimit.B, html.EscapeString(l.Label), l.Value)
	}
	for i, m := range ov.marks {
		x := ov.markX[i]
		if x < ov.x0 || x > ov.x1 {
			continue
		}
		col := colWarning
		if m.Kind == "abort" {
			col = colAbort
		}
		fmt.Fprintf(&extra, `<line class="mark %s" data-at="%s" x1="%.2f" x2="%.2f" y1="%.2f" y2="%.2f" stroke="rgb(%d,%d,%d)" stroke-width="1.5"><title>%s at %s</title></line>`+"\n",
			m.Kind, m.At.UTC().Format(time.RFC3339Nano), x, x, h-ov.y1, h-ov.y0, col.R, col.G, col.B, html.EscapeString(m.Label), m.At.UTC().Format("15:04:05"))
	}
	extra.WriteString("</g>\n")
	end := strings.LastIndex(s, "</svg>")
	if end < 0 {
		return "", fmt.Errorf("the SVG has no end")
	}
	return s[:end] + extra.String() + s[end:], nil
}
