package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/sleegation/podd/api"
	"github.com/sleegation/podd/configs"
	"github.com/sleegation/podd/controller"
	"github.com/sleegation/podd/journal"
	"github.com/sleegation/podd/safety"
)

var (
	// 22:00 UTC of the day before the test runs: always past, and within
	// the history's retention (entries dated after the store's clock are
	// pruned as expired).
	nightStart   = time.Now().UTC().Truncate(24 * time.Hour).Add(-2 * time.Hour)
	nightAbortAt = nightStart.Add(41*time.Minute + 30*time.Second + 300*time.Millisecond)
)

// simulateNight stores an hour of a night in a real store file as podd
// would: the configuration at start, a merge, a heart rate that climbs
// past its limit, a warning, the abort, the safe state and the wake ramp,
// the acknowledgement.
func simulateNight(t *testing.T, path string) {
	t.Helper()
	c, err := configs.Load("../../configs/sim.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := journal.Open(path, &journal.Options{CommitInterval: time.Hour, HistoryRetention: journal.MaxHistoryRetention})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	event := func(at time.Time, session string, body map[string]any) {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		if !s.AppendHistory(journal.HistoryEvents, journal.HistoryEntry{At: at, Type: body["type"].(string), Session: session, Data: b}) {
			t.Fatal("event not queued")
		}
	}
	event(nightStart, "", map[string]any{"type": "config", "version": "test", "settings": c.Settings()})
	event(nightStart.Add(5*time.Minute), "", map[string]any{"type": "state", "from": "idle", "to": "baseline", "reason": "merge/start"})
	event(nightStart.Add(6*time.Minute), "m-42", map[string]any{"type": "state", "from": "baseline", "to": "merged", "reason": "baseline captured"})
	event(nightAbortAt.Add(-10*time.Second), "m-42", map[string]any{"type": "warning", "rule": "heart_rate_high", "values": map[string]any{"heart_rate_bpm": 131}, "limit": 130, "delay_s": 10})
	event(nightAbortAt.Add(2*time.Millisecond), "", map[string]any{"type": "abort", "rule": "heart_rate_high", "detail": "heart rate 134 bpm above 130 for 10 s", "detected_at": nightAbortAt.Format(time.RFC3339Nano), "priority": "high"})
	event(nightAbortAt.Add(3*time.Millisecond), "", map[string]any{"type": "state", "from": "merged", "to": "aborted", "reason": "heart_rate_high"})
	event(nightStart.Add(55*time.Minute), "", map[string]any{"type": "ack", "rule": "heart_rate_high", "source": "api", "user": "tech"})
	for i := range 360 {
		from := nightStart.Add(time.Duration(i) * 10 * time.Second)
		hr := 62.0
		if m := from.Sub(nightStart).Minutes(); m > 30 && m < 45 {
			hr = 62 + (m-30)*6
		}
		state, session, safe := "idle", "", 0.0
		switch {
		case from.After(nightAbortAt.Add(-10 * time.Second)):
			state, safe = "aborted", 1
		case from.After(nightStart.Add(6 * time.Minute)):
			state, session = "merged", "m-42"
		case from.After(nightStart.Add(5 * time.Minute)):
			state, session = "baseline", "m-42"
		}
		pt := controller.HistoryPoint{
			From: from, To: from.Add(9 * time.Second), Samples: 10, State: state, Session: session, Safety: "ok",
			HeartRateBPM:      &controller.Span{Min: hr - 1, Mean: hr, Max: hr + 1, N: 10},
			SpO2Pct:           &controller.Span{Min: 96, Mean: 97, Max: 98, N: 10},
			BodyTempC:         &controller.Span{Min: 36.5, Mean: 36.6, Max: 36.7, N: 10},
			SkinConductanceUS: &controller.Span{Min: 1.9, Mean: 2, Max: 2.1, N: 10},
			Stability:         &controller.Span{Min: 0.8, Mean: 0.85, Max: 0.9, N: 10},
			EEG:               map[string]controller.Span{"alpha": {Min: 1, Mean: 1.2, Max: 1.4, N: 10}, "theta": {Min: 2, Mean: 2.2, Max: 2.4, N: 10}},
			OutputsSafe:       safe, Playing: safe == 0,
		}
		if safe == 1 {
			pt.Safety = "abort"
			w := math.Min(1, from.Sub(nightAbortAt).Minutes()/20)
			pt.Wake = &w
		}
		b, _ := json.Marshal(pt)
		if !s.AppendHistory(journal.HistoryVitals, journal.HistoryEntry{At: from, Type: controller.HistoryPointType, Session: session, Data: b}) {
			t.Fatal("point not queued")
		}
		if i%100 == 99 {
			if err := s.Commit(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
}

// attr is an element's attribute.
func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func walk(n *html.Node, f func(*html.Node)) {
	f(n)
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, f)
	}
}

func findAll(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	walk(n, func(x *html.Node) {
		if x.Type == html.ElementNode && match(x) {
			out = append(out, x)
		}
	})
	return out
}

func hasClass(n *html.Node, c string) bool {
	return strings.Contains(" "+attr(n, "class")+" ", " "+c+" ")
}

func number(t *testing.T, n *html.Node, key string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(attr(n, key), 64)
	if err != nil {
		t.Fatalf("<%s %s=%q>: %v", n.Data, key, attr(n, key), err)
	}
	return v
}

// checkReport parses the page and checks it shows the night.
func checkReport(t *testing.T, page []byte) {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		t.Fatalf("the page does not parse: %v", err)
	}
	if !bytes.Contains(page, []byte("written on the pod only")) {
		t.Fatal("the page does not say it stays on the pod")
	}
	for _, ref := range []string{"src=", "href=", "<link", "<script", "@import", "url("} {
		if bytes.Contains(page, []byte(ref)) {
			t.Fatalf("the page refers to something outside itself (%s)", ref)
		}
	}
	figures := map[string]*html.Node{}
	for _, f := range findAll(doc, func(n *html.Node) bool { return n.Data == "figure" }) {
		svgs := findAll(f, func(n *html.Node) bool { return n.Data == "svg" })
		if len(svgs) != 1 {
			t.Fatalf("figure %s holds %d SVGs, want 1", attr(f, "id"), len(svgs))
		}
		figures[attr(f, "id")] = svgs[0]
	}
	limits := map[string][]float64{
		"heart_rate": {130, 40}, "spo2": {90, 85}, "body_temp": {35, 38.5},
		"skin_conductance": nil, "eeg": nil, "stability": {0.5},
		"states": nil, "outputs": nil,
	}
	d := safety.DefaultLimits()
	limits["heart_rate"] = []float64{d.HeartRateHighBPM, d.HeartRateLowBPM}
	limits["spo2"] = []float64{d.SpO2LowPct, d.SpO2CriticalPct}
	limits["stability"] = []float64{d.StabilityMin}
	if len(figures) != len(limits) {
		t.Fatalf("figures %v, want one per vital, the states and the outputs", len(figures))
	}
	for id, want := range limits {
		svg := figures[id]
		if svg == nil {
			t.Fatalf("no figure %s", id)
		}
		ov := findAll(svg, func(n *html.Node) bool { return hasClass(n, "overlay") })
		if len(ov) != 1 {
			t.Fatalf("%s: %d overlays", id, len(ov))
		}
		x0, x1 := number(t, ov[0], "data-x0"), number(t, ov[0], "data-x1")
		if attr(ov[0], "data-from") != nightAt(0, time.RFC3339) || attr(ov[0], "data-to") != nightAt(time.Hour, time.RFC3339) || x1 <= x0 {
			t.Fatalf("%s: axis %s..%s at x %g..%g", id, attr(ov[0], "data-from"), attr(ov[0], "data-to"), x0, x1)
		}
		aborts := findAll(svg, func(n *html.Node) bool { return n.Data == "line" && hasClass(n, "abort") })
		if len(aborts) != 1 || attr(aborts[0], "data-at") != nightAbortAt.Format(time.RFC3339Nano) {
			t.Fatalf("%s: abort marks %d, at %q; want one at %s", id, len(aborts), attr(aborts[0], "data-at"), nightAbortAt.Format(time.RFC3339Nano))
		}
		wantX := x0 + (x1-x0)*nightAbortAt.Sub(nightStart).Seconds()/3600
		if x := number(t, aborts[0], "x1"); math.Abs(x-wantX) > 0.01 || number(t, aborts[0], "x2") != x {
			t.Fatalf("%s: abort marked at x %g, want %g (41:30.3 of the hour)", id, x, wantX)
		}
		if w := findAll(svg, func(n *html.Node) bool { return n.Data == "line" && hasClass(n, "warning") }); len(w) != 1 {
			t.Fatalf("%s: %d warning marks, want 1", id, len(w))
		}
		var got []float64
		for _, l := range findAll(svg, func(n *html.Node) bool { return n.Data == "line" && hasClass(n, "limit") }) {
			got = append(got, number(t, l, "data-value"))
			if y := number(t, l, "y1"); y <= 0 || y >= figHeight.Points() {
				t.Fatalf("%s: limit %v drawn at y %g, outside the figure", id, got, y)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%s: limits %v, want %v", id, got, want)
		}
	}
	rows := findAll(doc, func(n *html.Node) bool { return n.Data == "tr" && hasClass(n, "abort") })
	if len(rows) != 1 {
		t.Fatalf("%d abort rows in the events table", len(rows))
	}
	var text strings.Builder
	walk(rows[0], func(n *html.Node) {
		if n.Type == html.TextNode {
			text.WriteString(n.Data + "|")
		}
	})
	if want := nightAt(41*time.Minute+30*time.Second, time.DateTime) + "|abort|heart_rate_high: heart rate 134 bpm above 130 for 10 s (high priority)|the pod is latched"; !strings.HasPrefix(text.String(), want) {
		t.Fatalf("abort row %q, want it to begin %q", text.String(), want)
	}
}

// The report of a simulated night with an abort, from the store file
// with podd stopped and over podd's API: the page parses, holds an SVG per
// vital with the abort marked at its time and the limits of the
// configuration drawn, and a table of the events.
func TestTheReportOfANightWithAnAbort(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "podd.db")
	simulateNight(t, path)
	run := func(args ...string) (string, error) {
		var out bytes.Buffer
		root := newRoot(&out)
		root.SetArgs(args)
		err := root.Execute()
		return out.String(), err
	}
	span := []string{"--from", nightAt(0, time.RFC3339), "--to", nightAt(time.Hour, time.RFC3339)}
	fromFile := filepath.Join(dir, "from-store.html")
	msg, err := run(append([]string{"report", "--store", path, "--out", fromFile}, span...)...)
	if err != nil {
		t.Fatal(err)
	}
	if want := "report of " + nightAt(0, time.RFC3339) + " to " + nightAt(time.Hour, time.RFC3339) + " written to " + fromFile + " (360 points, 7 events)\n"; msg != want {
		t.Fatalf("%q, want %q", msg, want)
	}
	page, err := os.ReadFile(fromFile)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(fromFile); fi.Mode().Perm() != 0o600 {
		t.Fatalf("the page's mode %v, want 0600", fi.Mode().Perm())
	}
	checkReport(t, page)

	// Over the API, with podd holding the store: the same night.
	s, err := journal.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sock := serveAPI(t, historyAPIPod{store: s})
	fromAPI := filepath.Join(dir, "from-api.html")
	if _, err := run(append([]string{"--socket", sock, "report", "--out", fromAPI}, span...)...); err != nil {
		t.Fatal(err)
	}
	page, err = os.ReadFile(fromAPI)
	if err != nil {
		t.Fatal(err)
	}
	checkReport(t, page)
	if msg, err := run("--socket", sock, "report"); err != nil || msg != "sessions in the history (podctl report --session ID --out FILE):\n  m-42                     "+nightAt(5*time.Minute, "2006-01-02 15:04")+" .. "+nightAt(41*time.Minute, "2006-01-02 15:04")+" (218 points)\n" {
		t.Fatalf("the sessions: %q, %v", msg, err)
	}
	bySession := filepath.Join(dir, "session.html")
	if msg, err := run("--socket", sock, "report", "--session", "m-42", "--out", bySession); err != nil || !strings.HasPrefix(msg, "report of "+nightAt(10*time.Second, time.RFC3339)+" to "+nightAt(71*time.Minute+20*time.Second, time.RFC3339)+" written") {
		t.Fatalf("--session m-42: %q, %v", msg, err)
	}

	// --store while podd holds the file.
	if _, err := run("report", "--store", path, "--out", filepath.Join(dir, "x.html")); err == nil || !strings.Contains(err.Error(), "is held by a running podd") || !strings.Contains(err.Error(), "without --store") {
		t.Fatalf("--store of a held file: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "x.html")); !os.IsNotExist(err) {
		t.Fatal("a page written from a store that could not be read")
	}
	for _, bad := range [][]string{
		{"report", "--socket", sock, "--session", "nope", "--out", "y.html"},
		{"report", "--socket", sock, "--from", "yesterday", "--out", "y.html"},
		{"report", "--socket", sock, "--from", nightAt(time.Hour, time.RFC3339), "--to", nightAt(0, time.RFC3339), "--out", "y.html"},
		{"report", "--socket", sock, "--session", "m-42", "--from", nightAt(time.Hour, time.RFC3339), "--out", "y.html"},
	} {
		if _, err := run(bad...); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}

// nightAt is nightStart plus d, in UTC, in layout.
func nightAt(d time.Duration, layout string) string {
	return nightStart.Add(d).UTC().Format(layout)
}

// A report given neither --session nor --from starts a minute before its
// first point or event, not twelve hours before its end; with no data, or
// data older than the span, it keeps the span.
func TestAReportWithoutFromStartsAtItsData(t *testing.T) {
	to := nightStart.Add(3 * time.Hour)
	sp := span{From: to.Add(-defaultReportSpan), To: to}
	rep := report{span: sp,
		Points: []controller.HistoryPoint{{From: nightStart.Add(30*time.Second + 5*time.Millisecond)}, {From: nightStart.Add(40 * time.Second)}},
		Events: []api.HistoryEvent{{At: nightStart.Add(20 * time.Second)}}}
	if got := clipToData(rep); !got.From.Equal(nightStart.Add(-time.Minute)) || !got.To.Equal(to) {
		t.Errorf("clipToData = %v .. %v, want %v .. %v", got.From, got.To, nightStart.Add(-time.Minute), to)
	}
	if got := clipToData(report{span: sp}); got != sp {
		t.Errorf("clipToData without data = %+v, want %+v", got, sp)
	}
	old := report{span: sp, Points: []controller.HistoryPoint{{From: sp.From.Add(-time.Hour)}}}
	if got := clipToData(old); got != sp {
		t.Errorf("clipToData of data before the span = %+v, want %+v", got, sp)
	}
}
