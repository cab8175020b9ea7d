package safety

import "math"

// Deviations are the current vitals' deviations from the session's
// baseline, the input of Stability. A vital not valid now or not in the
// baseline is left zero (a ratio: 0), and counts as no deviation.
type Deviations struct {
	// HeartRateBPM is the heart rate less the baseline's, bpm.
	HeartRateBPM float64
	// SpO2Pct is the SpO2 less the baseline's, %; only a fall counts.
	SpO2Pct float64
	// BodyTempC is the thermometer's reading less the baseline's, °C.
	BodyTempC float64
	// SkinConductanceRatio is the tonic skin conductance over the
	// baseline's (1 at the baseline; 0: unknown).
	SkinConductanceRatio float64
	// BetaAlphaRatio is the EEG's beta/alpha ratio over the baseline's
	// (1 at the baseline; 0: unknown).
	BetaAlphaRatio float64
}

// The deviation of each vital that counts as one unit in Stability: the
// deviation at which that vital alone brings the index to 0.5. See the
// package doc, "Stability index".
const (
	stabilityHeartRateBPM = 40  // heart_rate_rise's default rise
	stabilitySpO2Pct      = 5   // an asleep 95 % to spo2_low's 90 %
	stabilityBodyTempC    = 2   // a skin site's overnight swing is about as much
	stabilitySkinRatio    = 2   // the tonic level doubled, or halved
	stabilityBetaAlpha    = 3.0 // eeg_arousal's default factor, up or down
)

// Stability is the stability index, in [0, 1]: 1 / (1 + D²), where D² is
// the sum over the vitals of the square of each one's deviation from the
// baseline in units of its scale (40 bpm of heart rate, 5 % of SpO2 fall,
// 2 °C at the thermometer, a factor 2 of tonic skin conductance and 3 of
// the EEG's beta/alpha ratio, the ratios taken on a log scale). It is 1 at
// the baseline and falls as any deviation grows; NaN deviations count as
// none. See the package doc, "Stability index".
func Stability(d Deviations) float64 {
	sq := func(x float64) float64 {
		if math.IsNaN(x) {
			return 0
		}
		return x * x
	}
	ratio := func(r, scale float64) float64 {
		if !(r > 0) {
			return 0
		}
		return math.Log(r) / math.Log(scale)
	}
	d2 := sq(d.HeartRateBPM/stabilityHeartRateBPM) +
		sq(min(d.SpO2Pct, 0)/stabilitySpO2Pct) +
		sq(d.BodyTempC/stabilityBodyTempC) +
		sq(ratio(d.SkinConductanceRatio, stabilitySkinRatio)) +
		sq(ratio(d.BetaAlphaRatio, stabilityBetaAlpha))
	if math.IsInf(d2, 1) {
		return 0
	}
	return 1 / (1 + d2)
}
