package safety

import (
	"math"
	"testing"

	"pgregory.net/rapid"
)

func TestStabilityTable(t *testing.T) {
	tests := []struct {
		name string
		d    Deviations
		want float64
	}{
		{"at the baseline", Deviations{}, 1},
		{"ratios at the baseline", Deviations{SkinConductanceRatio: 1, BetaAlphaRatio: 1}, 1},
		{"heart rate one scale up", Deviations{HeartRateBPM: 40}, 0.5},
		{"heart rate one scale down", Deviations{HeartRateBPM: -40}, 0.5},
		{"SpO2 one scale down", Deviations{SpO2Pct: -5}, 0.5},
		{"SpO2 up is no deviation", Deviations{SpO2Pct: 3}, 1},
		{"temperature one scale", Deviations{BodyTempC: -2}, 0.5},
		{"skin conductance doubled", Deviations{SkinConductanceRatio: 2}, 0.5},
		{"skin conductance halved", Deviations{SkinConductanceRatio: 0.5}, 0.5},
		{"beta/alpha tripled", Deviations{BetaAlphaRatio: 3}, 0.5},
		{"two at one scale", Deviations{HeartRateBPM: 40, BodyTempC: 2}, 1.0 / 3},
		{"five at one scale", Deviations{HeartRateBPM: 40, SpO2Pct: -5, BodyTempC: 2, SkinConductanceRatio: 2, BetaAlphaRatio: 1.0 / 3}, 1.0 / 6},
		{"heart rate 2 scales", Deviations{HeartRateBPM: 80}, 0.2},
		{"unknown ratios (0) count as none", Deviations{SkinConductanceRatio: 0, BetaAlphaRatio: -1}, 1},
		{"NaN counts as none", Deviations{HeartRateBPM: math.NaN(), BodyTempC: math.NaN()}, 1},
		{"an infinite deviation", Deviations{HeartRateBPM: math.Inf(1)}, 0},
		{"an infinite ratio", Deviations{BetaAlphaRatio: math.Inf(1)}, 0},
	}
	for _, tt := range tests {
		if got := Stability(tt.d); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("%s: Stability(%+v) = %g, want %g", tt.name, tt.d, got, tt.want)
		}
	}
}

// The index lies in [0, 1], is 1 at the baseline, and does not rise when
// any one deviation grows in size (a ratio: moves away from 1 on a log
// scale; SpO2: falls further).
func TestStabilityProperties(t *testing.T) {
	finite := rapid.Float64Range(-1e6, 1e6)
	ratio := rapid.Float64Range(1e-3, 1e3) // raised to k below: no underflow to 0 (unknown)
	devs := rapid.Custom(func(t *rapid.T) Deviations {
		return Deviations{
			HeartRateBPM: finite.Draw(t, "hr"), SpO2Pct: finite.Draw(t, "spo2"), BodyTempC: finite.Draw(t, "temp"),
			SkinConductanceRatio: ratio.Draw(t, "skin"), BetaAlphaRatio: ratio.Draw(t, "eeg"),
		}
	})
	rapid.Check(t, func(t *rapid.T) {
		d := devs.Draw(t, "d")
		s := Stability(d)
		if !(s >= 0 && s <= 1) {
			t.Fatalf("Stability(%+v) = %g, outside [0, 1]", d, s)
		}
		if Stability(Deviations{SkinConductanceRatio: 1, BetaAlphaRatio: 1}) != 1 {
			t.Fatal("not 1 at the baseline")
		}
		k := rapid.Float64Range(1, 10).Draw(t, "k") // how much further
		e := d
		switch rapid.IntRange(0, 4).Draw(t, "which") {
		case 0:
			e.HeartRateBPM *= k
		case 1:
			e.SpO2Pct *= k
		case 2:
			e.BodyTempC *= k
		case 3:
			e.SkinConductanceRatio = math.Pow(e.SkinConductanceRatio, k)
		case 4:
			e.BetaAlphaRatio = math.Pow(e.BetaAlphaRatio, k)
		}
		if got := Stability(e); got > s {
			t.Fatalf("Stability rose from %g to %g as a deviation grew: %+v -> %+v", s, got, d, e)
		}
	})
}
