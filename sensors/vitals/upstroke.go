package vitals

import (
	"math"
	"slices"
)

// Reading the pulse by its upstrokes, when its systolic peaks are no
// regular pulse.
//
// On a pulse whose beats change strength from one to the next (pulsus
// alternans, and the looser alternation of a103l, where a weak beat may
// rise from a shoulder on the strong one's falling limb with no local
// maximum of its own), the systolic peaks that pass riseThreshold are
// some of the beats and not others, so their intervals disagree and the
// estimate is invalid; on a103l that was 97.6 s without a valid heart
// rate. Every beat, weak or strong, starts with an upstroke: a local
// maximum of the pulse's slope, also where its top is only a shoulder.
// upstrokeRate finds those, each judged against the steepest within
// localSeconds, and reads the pulse from them when they are regular.
//
// It runs only when the systolic peaks failed (Estimate). A regular
// pulse whose peaks pass, with a bump in the middle of every interval,
// stays invalid (midBeats): the bump may be the weak beat of alternans
// or a diastolic wave, and nothing measured told the two apart there.
// The upstrokes read are held to the same: an upstroke in the middle of
// every interval between them (midUpstrokes, halfrate.go) makes the
// reading invalid, as the strong beats of an alternating pulse whose
// weak beats' upstrokes are under upstrokeThreshold would read half its
// rate (at 50 bpm with weak beats at 10-25 %, a valid 25 bpm).
//
// A diastolic wave read as a beat doubles the rate. Three bounds keep
// that from hiding a danger: the doubled series must be regular
// (maxIntervalDeviation), which puts the wave within 0.44–0.56 of the
// interval; the wave comes 0.16–0.35 s after its systole (set by the
// arteries, not the rate; between upstrokes about as between peaks), so
// the heart's own rate is then at least about 76 bpm; and the rate read
// is at most maxUpstrokeBPM. Doubling can then only read a pulse of
// about 76–90 bpm as 152–180 bpm, above every heart_rate_high limit the
// configuration allows (150 bpm at most): never a bradycardia hidden,
// never a tachycardia read lower, at worst a false heart_rate_high. It
// would still be a wrong valid rate. With a large wave (70 % of the
// systole) and noise it was seen: 160-180 bpm read from pulses at
// 80-90 bpm (upstroke_review_test.go). Such a doubled pulse alternates
// strong and weak beats, so above minDoubledBPM a reading whose every
// other beat is weaker (alternatingStrength, halfrate.go) is invalid.
// Smaller waves were invalid without that check: the pulses of
// dicrotic_review2_test.go's generator at 78–100 bpm with waves
// 0.25–0.35 s after systole at 30–70 % of it are invalid (their
// systolic peaks pass and midBeats acts), also when the wave's height
// changes from beat to beat so that the peaks fail and the upstrokes are
// read (TestEstimatorDoesNotDoubleADiastolicWaveOfChangingHeight).
//
// The four ways to tell a weak beat from a diastolic wave, measured on
// a103l (recordings_test.go) and on the synthetic pulses of the tests:
//   - the depth of the notch before the bump, relative to the pulse's
//     amplitude: 0.85–0.90 on the synthetic diastolic waves (they fall
//     nearly to the foot), 0.5–2.2 on a103l's weak beats: they overlap,
//     so it is not used;
//   - the rate: the bound maxUpstrokeBPM, above;
//   - the upstroke's slope, less steep for a diastolic wave than for
//     its systole: it is not what keeps the synthetic diastolic waves
//     out (TestEstimatorDoesNotDoubleADiastolicWaveOfChangingHeight
//     passes with upstrokeThreshold anywhere from 0.1 to 0.4), and
//     upstrokeThreshold is set on the recordings, below;
//   - the regularity of every bump's interval: the neighbour check of
//     the systolic peaks (maxIntervalDeviation), which a wave in the
//     middle passes by construction, so it bounds where a wave can be
//     and does not tell the two apart.
//
// Noise is kept out by the shape of the beats rather than their
// amplitude, which alternates: beatSimilarity of a103l's beats read by
// their upstrokes is −0.4 to 0.7 (an alternating amplitude on the
// baseline filter's swing), so it cannot be required here. Instead, each
// beat's slope waveform against the next one's (shapeSimilarity, each
// about its own mean and scale) must reach minUpstrokeShape, and the
// pulse's own waveform minPulseShape. Measured where the upstrokes
// passed the interval and rate checks: the slope's similarity was
// 0.28–0.98 on a103l (5 % of them under 0.74) and 0.21–0.69 on white
// noise as large as a pulse and on that noise averaged over 2 to 5
// samples (200 runs of 60 s each: 0.6 lets 1 to 9 readings of 60000
// through); the pulse's was 0.10–0.93 on a103l (5 % under 0.26) and at
// most 0.07 on the "regular peaks, waveform not repeating" signal of
// TestEstimatorInvalid, whose one-sample dips make regular, alike
// slopes. TestEstimatorOnNoise holds what noise still gets through.
const (
	// maxUpstrokeBPM is the fastest rate read from upstrokes: the top of
	// the 40–180 bpm range. A faster pulse is read from its
	// systolic peaks or not at all.
	maxUpstrokeBPM = 180.0
	// upstrokeThreshold is the fraction of the steepest upstroke within
	// localSeconds on either side that an upstroke must reach. Measured
	// (recordings_test.go), the longest run on a103l without a valid
	// heart rate where its pleth carries a pulse: 4.4 s from 0.2 to 0.3,
	// 4.8 s at 0.35 and 0.4 (its weakest beats go), 6.0 s at 0.5; the
	// valid share of heartpy_data2: 89.7 % at 0.2, 93.0 % at 0.3, 96.5 %
	// at 0.4, 93.2 % at 0.5. At 0.1 a loose alternating pulse at 60 bpm
	// (TestEstimatorReadsALooseAlternatingPulse) is valid less often.
	upstrokeThreshold = 0.3
	// minUpstrokeShape and minPulseShape are the least shapeSimilarity
	// of the slope and of the pulse over the beats read by their
	// upstrokes (see above).
	minUpstrokeShape = 0.6
	minPulseShape    = 0.2
)

// upstrokeRate reads the heart rate from the upstrokes of x, the filtered
// pulse of a window of n samples whose recent span starts at sample
// recent: the upstrokes of that span (extended back as the systolic peaks
// are, see recentPeaks), if they form a regular pulse (intervalRate) of at
// most maxUpstrokeBPM whose beats are alike in shape (minUpstrokeShape,
// minPulseShape), with no upstroke in the middle of every interval
// (midUpstrokes: the upstrokes read may be the strong beats of an
// alternating pulse, at half its rate) and no more upstrokes per beat
// than maxBumpsPerBeat (bumpsPerBeat). d is the slope of x (slopeOf). It
// returns the upstrokes' positions (samples of x) and
// the rate in bpm.
func (e *Estimator) upstrokeRate(x, d []float64, recent, n int) ([]float64, float64, bool) {
	all := e.findUpstrokes(d)
	up := recentPeaks(all, recent)
	usable := e.markUsable(up, n)
	for countTrue(usable) < minRecentPeaks-1 && len(up) < len(all) {
		up = all[len(all)-len(up)-1:]
		usable = e.markUsable(up, n)
	}
	hr, ok := e.intervalRate(up, usable)
	if !ok || hr > maxUpstrokeBPM || midUpstrokes(up, d, altFrom, altTo) || bumpsPerBeat(up, d) > maxBumpsPerBeat ||
		shapeSimilarity(d, up, usable) < minUpstrokeShape ||
		shapeSimilarity(x, up, usable) < minPulseShape {
		return nil, 0, false
	}
	return up, hr, true
}

// findUpstrokes returns the positions of the upstrokes in d, the slope of
// the filtered pulse, refined to a fraction of a sample: the local maxima
// of d that are rising (d > 0) and reach upstrokeThreshold of the largest
// within localSeconds on either side; of two closer than a beat at
// maxUpstrokeBPM can come after a 25 % shorter one (0.27 s), only the
// steeper is kept.
func (e *Estimator) findUpstrokes(d []float64) []float64 {
	idx, val := e.upIdx[:0], e.upSlope[:0]
	for i := 1; i < len(d)-1; i++ {
		if d[i] > 0 && d[i] > d[i-1] && d[i] >= d[i+1] {
			idx, val = append(idx, float64(i)), append(val, d[i])
		}
	}
	local := int(localSeconds * e.fs)
	gap := 60 / maxUpstrokeBPM / (1 + maxIntervalDeviation) * e.fs
	kept, keptVal := e.ups[:0], e.upsSlope[:0]
	lo, hi := 0, 0
	for c, p := range idx {
		for lo < len(idx) && int(idx[lo]) < int(p)-local {
			lo++
		}
		for hi < len(idx) && int(idx[hi]) <= int(p)+local {
			hi++
		}
		if val[c] < upstrokeThreshold*slices.Max(val[lo:hi]) {
			continue
		}
		if m := len(kept); m > 0 && p-kept[m-1] < gap {
			if val[c] > keptVal[m-1] {
				kept[m-1], keptVal[m-1] = p, val[c]
			}
			continue
		}
		kept, keptVal = append(kept, p), append(keptVal, val[c])
	}
	for j, p := range kept {
		kept[j] = refine(d, int(p))
	}
	return kept
}

// shapeSimilarity is the mean, over the beats whose interval to the next
// is usable, of the Pearson correlation of the samples of x within half
// an interval of the beat with those one interval later (interpolated
// between whole samples): how alike successive beats are in shape,
// whatever their amplitudes and offsets. 0 when no beat is compared.
func shapeSimilarity(x, peaks []float64, usable []bool) float64 {
	var total float64
	pairs := 0
	for j := range len(peaks) - 1 {
		if !usable[j] {
			continue
		}
		lag := peaks[j+1] - peaks[j]
		lo := int(lag)
		f := lag - float64(lo)
		var sa, sb, xy, xx, yy float64
		m := 0
		for i := max(int(math.Ceil(peaks[j]-lag/2)), 0); float64(i) < peaks[j]+lag/2 && i+lo+1 < len(x); i++ {
			a := x[i]
			b := (1-f)*x[i+lo] + f*x[i+lo+1]
			sa += a
			sb += b
			xy += a * b
			xx += a * a
			yy += b * b
			m++
		}
		if m < 2 {
			continue
		}
		fm := float64(m)
		xy -= sa * sb / fm
		xx -= sa * sa / fm
		yy -= sb * sb / fm
		pairs++
		if xx > 0 && yy > 0 {
			total += xy / math.Sqrt(xx*yy)
		}
	}
	if pairs == 0 {
		return 0
	}
	return total / float64(pairs)
}

// slopeOf returns the slope of x, the filtered pulse: x[i] - x[i-1], in
// counts per sample, 0 at the first sample.
func (e *Estimator) slopeOf(x []float64) []float64 {
	d := e.slope[:len(x)]
	d[0] = 0
	for i := 1; i < len(x); i++ {
		d[i] = x[i] - x[i-1]
	}
	return d
}
