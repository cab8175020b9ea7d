package controller

import (
	"reflect"
	"testing"
	"time"

	"github.com/sleegation/podd/uplink"
)

// The window folds telemetry exactly: spans of the samples that held a
// vital, the states in order, the worst safety level, the share of
// samples with the outputs safe, the wake's greatest; a sample in a later
// window (or before the open one: the clock stepped back) closes it.
func TestTheHistoryWindowFoldsTelemetryIntoAPoint(t *testing.T) {
	w := historyWindow{every: 10 * time.Second}
	t0 := time.Date(2026, 11, 30, 22, 0, 3, 0, time.UTC)
	m := "m-5"
	samples := []struct {
		state, safety string
		hr            *float64
		safe          bool
		wake          *float64
	}{
		{"merged", "ok", ptr(60.0), false, nil},
		{"merged", "warn", ptr(70.0), false, nil},
		{"aborted", "abort", nil, true, ptr(0.1)},
		{"aborted", "abort", ptr(80.0), true, ptr(0.3)},
	}
	for i, s := range samples {
		tel := uplink.Telemetry{State: s.state, Safety: s.safety, Session: &m, Vitals: uplink.Vitals{HeartRateBPM: s.hr, EEG: map[string]float64{"alpha": float64(i)}}}
		if _, closed := w.add(t0.Add(time.Duration(i)*time.Second), historySample{t: tel, safe: s.safe, wake: s.wake, playing: i == 0}); closed {
			t.Fatalf("sample %d closed the window", i)
		}
	}
	pt, closed := w.add(t0.Add(7*time.Second), historySample{t: uplink.Telemetry{State: "aborted", Safety: "abort"}})
	if !closed {
		t.Fatal("a sample at 22:00:10 did not close the window of 22:00:00")
	}
	want := HistoryPoint{
		From: time.Date(2026, 11, 30, 22, 0, 0, 0, time.UTC), To: t0.Add(3 * time.Second), Samples: 4,
		State: "aborted", States: []string{"merged", "aborted"}, Safety: "abort", Session: "m-5",
		HeartRateBPM: &Span{Min: 60, Mean: 70, Max: 80, N: 3},
		EEG:          map[string]Span{"alpha": {Min: 0, Mean: 1.5, Max: 3, N: 4}},
		OutputsSafe:  0.5, Playing: true, Wake: ptr(0.3),
	}
	if !reflect.DeepEqual(pt, want) {
		t.Fatalf("point\n%+v\nwant\n%+v", pt, want)
	}
	// The clock steps back: the open window (22:00:10) closes.
	pt, closed = w.add(t0.Add(-time.Minute), historySample{t: uplink.Telemetry{State: "idle", Safety: "ok"}})
	if !closed || !pt.From.Equal(want.From.Add(10*time.Second)) || pt.Samples != 1 || pt.OutputsSafe != 0 {
		t.Fatalf("after a step back: %+v, %v", pt, closed)
	}
	if pt, ok := w.close(); !ok || !pt.From.Equal(time.Date(2026, 11, 30, 21, 59, 0, 0, time.UTC)) || pt.State != "idle" {
		t.Fatalf("close: %+v, %v", pt, ok)
	}
	if _, ok := w.close(); ok {
		t.Fatal("a second close returned a point")
	}
}
