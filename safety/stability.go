package safety

import "math"

// Deviations are the current vitals' deviations from the session's
// baseline, the input of Stability. A vital not valid now or not in the
// baseline is left zero (a ratio: 0), and counts as no deviation.
type Deviations struct {
	// HeartRateBPM is the heart rate less the baseline's, bpm; only a
	// rise counts.
	HeartRateBPM float64
	// SpO2Pct is the SpO2 less the baseline's, %; only a fall counts.
	SpO2Pct float64
	// BodyTempC is the thermometer's reading less the baseline's, °C;
	// only beyond 2 °C either way does it count.
	BodyTempC float64
	// SkinConductanceRatio is the tonic skin conductance over the
	// baseline's (1 at the baseline; 0: unknown); only a rise counts.
	SkinConductanceRatio float64
	// BetaAlphaRatio is the EEG's beta/alpha ratio over the baseline's
	// (1 at the baseline; 0: unknown); only a rise counts, and only as
	// much as the heart rate has risen too.
	BetaAlphaRatio float64
}

// The deviation of each vital towards danger that counts as one unit in
// Stability: the deviation at which that vital alone brings the index to
// 0.5. See the package doc, "Stability index".
const (
	stabilityHeartRateBPM = 40  // heart_rate_rise's default rise
	stabilitySpO2Pct      = 5   // an asleep 95 % to spo2_low's 90 %
	stabilityBodyTempC    = 1   // beyond stabilityTempBandC
	stabilitySkinRatio    = 2   // the tonic level doubled
	stabilityBetaAlpha    = 3.0 // eeg_arousal's default factor
)

// stabilityTempBandC is how far the thermometer's site may move from the
// baseline, either way, before it counts, °C: the distal skin warms by 1
// to 2 °C as sleep begins and swings as much through the night (Kräuchi
// et al., Nature 1999; Sarabia et al., Physiol Behav 2008, at the wrist).
const stabilityTempBandC = 2

// Stability is the stability index, in [0, 1]: 1 / (1 + D²), where D² is
// the sum over the vitals of the square of each one's deviation towards
// danger from the baseline in units of its scale: a heart rate above the
// baseline's (40 bpm), an SpO2 below it (5 %), the thermometer's site more
// than 2 °C either way (1 °C beyond those 2), a tonic skin conductance
// above it (a factor 2) and an EEG beta/alpha ratio above it (a factor 3,
// weighed by the heart's rise up to ArousalHeartRateBPM: REM raises the
// ratio with a calm heart), the ratios on a log scale. A deviation away
// from danger (a slower heart, a drier skin, less beta: a sleeper calming
// down) counts as none. It is 1 at the baseline, and non-increasing in
// each deviation towards danger; NaN deviations count as none. See the
// package doc, "Stability index".
func Stability(d Deviations) float64 {
	// units is a deviation towards danger, x > 0, in units of its scale;
	// anything else (none, away from danger, NaN) is 0.
	units := func(x, scale float64) float64 {
		if !(x > 0) {
			return 0
		}
		return x / scale
	}
	ratio := func(r, scale float64) float64 {
		if !(r > 1) {
			return 0
		}
		return math.Log(r) / math.Log(scale)
	}
	hr := units(d.HeartRateBPM, stabilityHeartRateBPM)
	eeg := 0.0
	if weight := min(units(d.HeartRateBPM, ArousalHeartRateBPM), 1); weight > 0 {
		eeg = ratio(d.BetaAlphaRatio, stabilityBetaAlpha) * weight
	}
	d2 := hr*hr +
		sq(units(-d.SpO2Pct, stabilitySpO2Pct)) +
		sq(units(math.Abs(d.BodyTempC)-stabilityTempBandC, stabilityBodyTempC)) +
		sq(ratio(d.SkinConductanceRatio, stabilitySkinRatio)) +
		eeg*eeg
	if math.IsInf(d2, 1) {
		return 0
	}
	return 1 / (1 + d2)
}

func sq(x float64) float64 { return x * x }
