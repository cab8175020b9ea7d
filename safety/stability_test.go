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
		{"heart rate down is no deviation", Deviations{HeartRateBPM: -40}, 1},
		{"SpO2 one scale down", Deviations{SpO2Pct: -5}, 0.5},
		{"SpO2 up is no deviation", Deviations{SpO2Pct: 3}, 1},
		{"temperature up within the band", Deviations{BodyTempC: 2}, 1},
		{"temperature down within the band", Deviations{BodyTempC: -2}, 1},
		{"temperature one scale past the band, up", Deviations{BodyTempC: 3}, 0.5},
		{"temperature one scale past the band, down", Deviations{BodyTempC: -3}, 0.5},
		{"skin conductance doubled", Deviations{SkinConductanceRatio: 2}, 0.5},
		{"skin conductance halved is no deviation", Deviations{SkinConductanceRatio: 0.5}, 1},
		{"beta/alpha tripled with a calm heart (REM)", Deviations{BetaAlphaRatio: 3}, 1},
		{"beta/alpha tripled, heart half its arousal rise", Deviations{HeartRateBPM: 5, BetaAlphaRatio: 3}, 1 / (1 + 1.0/64 + 0.25)},
		{"beta/alpha tripled, heart at its arousal rise", Deviations{HeartRateBPM: 10, BetaAlphaRatio: 3}, 1 / (1 + 1.0/16 + 1)},
		{"beta/alpha a third is no deviation", Deviations{HeartRateBPM: 10, BetaAlphaRatio: 1.0 / 3}, 1 / (1 + 1.0/16)},
		{"two at one scale", Deviations{HeartRateBPM: 40, BodyTempC: 3}, 1.0 / 3},
		{"five at one scale", Deviations{HeartRateBPM: 40, SpO2Pct: -5, BodyTempC: -3, SkinConductanceRatio: 2, BetaAlphaRatio: 3}, 1.0 / 6},
		{"heart rate 2 scales", Deviations{HeartRateBPM: 80}, 0.2},
		// Falling asleep from relaxed wakefulness: a slower heart, the
		// wrist warmer, a drier skin, less beta.
		{"a sleeper calming down", Deviations{HeartRateBPM: -14, BodyTempC: 1.5, SkinConductanceRatio: 0.4, BetaAlphaRatio: 0.55}, 1},
		{"unknown ratios (0) count as none", Deviations{SkinConductanceRatio: 0, BetaAlphaRatio: -1}, 1},
		{"NaN counts as none", Deviations{HeartRateBPM: math.NaN(), BodyTempC: math.NaN(), BetaAlphaRatio: math.NaN()}, 1},
		{"an infinite deviation", Deviations{HeartRateBPM: math.Inf(1)}, 0},
		{"an infinite temperature", Deviations{BodyTempC: math.Inf(-1)}, 0},
		{"an infinite ratio with a risen heart", Deviations{HeartRateBPM: 10, BetaAlphaRatio: math.Inf(1)}, 0},
		{"an infinite ratio with a calm heart", Deviations{BetaAlphaRatio: math.Inf(1)}, 1},
	}
	for _, tt := range tests {
		if got := Stability(tt.d); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("%s: Stability(%+v) = %g, want %g", tt.name, tt.d, got, tt.want)
		}
	}
}

// The index lies in [0, 1], is 1 at the baseline, does not rise when any
// one deviation moves further towards danger (the heart rate up, SpO2
// down, the temperature further from the baseline, a ratio up), and does
// not change when a deviation is replaced by one away from danger (a
// slower heart, a higher SpO2, a temperature within its band, a ratio
// below 1): that is the same as no deviation at all.
func TestStabilityProperties(t *testing.T) {
	finite := rapid.Float64Range(-1e6, 1e6)
	ratio := rapid.Float64Range(1e-3, 1e3)
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
		which := rapid.IntRange(0, 4).Draw(t, "which")

		x := rapid.Float64Range(0, 1e3).Draw(t, "further") // how much further towards danger
		m := rapid.Float64Range(1, 1e3).Draw(t, "factor")
		e := d
		switch which {
		case 0:
			e.HeartRateBPM = max(d.HeartRateBPM, 0) + x
		case 1:
			e.SpO2Pct = min(d.SpO2Pct, 0) - x
		case 2:
			e.BodyTempC = math.Copysign(math.Abs(d.BodyTempC)+x, d.BodyTempC)
		case 3:
			e.SkinConductanceRatio = max(d.SkinConductanceRatio, 1) * m
		case 4:
			e.BetaAlphaRatio = max(d.BetaAlphaRatio, 1) * m
		}
		if got := Stability(e); got > s {
			t.Fatalf("Stability rose from %g to %g as a deviation moved towards danger: %+v -> %+v", s, got, d, e)
		}

		// The same vital away from danger, and at the baseline.
		away, none := d, d
		switch which {
		case 0:
			away.HeartRateBPM, none.HeartRateBPM = -x, 0
		case 1:
			away.SpO2Pct, none.SpO2Pct = x, 0
		case 2:
			away.BodyTempC, none.BodyTempC = rapid.Float64Range(-stabilityTempBandC, stabilityTempBandC).Draw(t, "in band"), 0
		case 3:
			away.SkinConductanceRatio, none.SkinConductanceRatio = 1/m, 1
		case 4:
			away.BetaAlphaRatio, none.BetaAlphaRatio = 1/m, 1
		}
		if a, n := Stability(away), Stability(none); a != n {
			t.Fatalf("Stability(%+v) = %g, away from danger, but %g at the baseline (%+v)", away, a, n, none)
		}
	})
}
