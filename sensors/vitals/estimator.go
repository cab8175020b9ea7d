package vitals

import (
	"math"
	"slices"
)

// Parameters of the pulse-oximetry estimate.
const (
	// WindowSeconds is how much signal an estimate looks at. Eight seconds
	// hold at least three beats down to MinHeartRateBPM (25 bpm beats every
	// 2.4 s) and about 25 at 180 bpm; a longer window would be slower to
	// follow a change: a new heart rate is reported at most one window
	// after it starts.
	WindowSeconds = 8.0
	// minSeconds is the signal needed after Reset before any estimate, so
	// that the first readings average a few beats (Maxim's reference uses
	// 4 s).
	minSeconds = 4.0

	// MinHeartRateBPM and MaxHeartRateBPM bound a plausible heart rate;
	// outside them a rate is more likely a detection error than a pulse.
	MinHeartRateBPM = 25.0
	MaxHeartRateBPM = 250.0

	// minPeaks is the fewest systolic peaks (two intervals) a heart rate
	// rests on.
	minPeaks = 3
	// maxIntervalDeviation is how far a beat-to-beat interval may stray
	// from the median interval. Sinus arrhythmia during sleep moves it by
	// 5–10 %; a missed or doubled beat moves it by 50 % or more.
	maxIntervalDeviation = 0.25
	// minPeriodicity is the least normalised autocorrelation of the pulse
	// signal at one beat interval; a pulse repeats itself (near 1), noise
	// and motion do not (near 0).
	minPeriodicity = 0.5
	// refractorySeconds is the time after a peak within which another peak
	// belongs to the same beat: a little shorter than a beat at
	// MaxHeartRateBPM (0.24 s), so that a sample of jitter at the top of
	// the range does not merge two beats; faster rates are rejected by the
	// range check.
	refractorySeconds = 0.2
	// peakThreshold is the fraction of the tallest peak a systolic peak
	// must reach; the dicrotic wave stays well below half.
	peakThreshold = 0.5
	// smoothSeconds is the widest moving average that removes sample noise
	// before peak detection. It is narrower than a systolic upstroke: at
	// 25 Hz (the chip already averaged 4 ADC samples into each) it is no
	// filter at all.
	smoothSeconds = 0.07
	// baselineSeconds is the width of the moving average taken as the
	// baseline (DC and breathing-induced drift) and subtracted. It passes
	// 14 % of a 0.25 Hz breathing swing and at least 36 % of the pulse's
	// fundamental from 25 bpm up.
	baselineSeconds = 1.2

	// MinDC is the lowest mean ADC count (of 262 143) that means a finger
	// is on the sensor; without one only a few percent of it comes back.
	MinDC = 20000
	// adcFullScale is the highest count at every resolution: a sample at or
	// above it was clipped, which flattens the pulse.
	adcFullScale = (1<<18 - 1) &^ 7

	// The linear calibration SpO2 = 110 − 25·R is fitted for R 0.4–1.0
	// (SpO2 85–100 %). Below 0.4 the result is clamped to 100 %. Above 1.0
	// it is extrapolated down to 65 % (R 1.8) rather than hidden: a deep
	// desaturation must reach the safety rules as a low value, not as
	// "unknown". Beyond that range R is not physiological.
	minR = 0.25
	maxR = 1.8
)

// Estimator derives heart rate and SpO2 from a pulse oximeter's red and IR
// samples over a sliding window of WindowSeconds.
//
// The samples are the counts of light reaching the photodiode, which fall at
// each systole. The heart rate comes from the IR channel's systolic peaks;
// SpO2 from the ratio of ratios R = (AC_red/DC_red)/(AC_ir/DC_ir) over the
// same whole beats.
//
// An Estimator is not safe for concurrent use; its one owner feeds and
// reads it. Add and Estimate do not allocate.
type Estimator struct {
	fs           float64
	minSamples   int
	refractory   int // samples within which a second peak is the same beat
	smoothHalf   int // half-width of the noise filter, samples
	baselineHalf int // half-width of the baseline filter, samples

	red, ir []float64 // ring buffers
	head    int       // next slot to write
	count   int       // valid samples, up to len(ir)

	// Scratch space for Estimate, sized once.
	rawRed, rawIR, ac, smooth, peaks, intervals []float64
}

// NewEstimator returns an Estimator for samples arriving at sampleRateHz.
// It panics if the rate is not positive and finite: that is a wiring error.
func NewEstimator(sampleRateHz float64) *Estimator {
	if !(sampleRateHz > 0) || math.IsInf(sampleRateHz, 0) {
		panic("vitals: NewEstimator: invalid sample rate")
	}
	n := max(int(math.Round(WindowSeconds*sampleRateHz)), 8)
	return &Estimator{
		fs:           sampleRateHz,
		minSamples:   min(n, int(math.Ceil(minSeconds*sampleRateHz))),
		refractory:   max(int(refractorySeconds*sampleRateHz), 1),
		smoothHalf:   int(smoothSeconds * sampleRateHz / 2),
		baselineHalf: int(math.Round(baselineSeconds * sampleRateHz / 2)),
		red:          make([]float64, n),
		ir:           make([]float64, n),
		rawRed:       make([]float64, n),
		rawIR:        make([]float64, n),
		ac:           make([]float64, n),
		smooth:       make([]float64, n),
		peaks:        make([]float64, n/2+1),
		intervals:    make([]float64, n/2+1),
	}
}

// Add appends one sample, in the order the sensor produced them.
func (e *Estimator) Add(red, ir uint32) {
	e.red[e.head] = float64(red)
	e.ir[e.head] = float64(ir)
	e.head++
	if e.head == len(e.ir) {
		e.head = 0
	}
	if e.count < len(e.ir) {
		e.count++
	}
}

// Reset forgets every sample. The caller resets after any gap in the
// samples (a FIFO overflow, a read error), which would otherwise look like
// a beat.
func (e *Estimator) Reset() {
	e.head, e.count = 0, 0
}

// Estimate returns the vitals over the current window. A value is marked
// invalid when there is too little signal, no finger, a clipped signal, or
// no regular pulse; SpO2 is valid only with a valid heart rate. At is left
// zero for the caller to stamp.
func (e *Estimator) Estimate() Reading {
	var r Reading
	n := e.count
	if n < e.minSamples {
		return r
	}
	red, ir := e.rawRed[:n], e.rawIR[:n]
	start := e.head - n
	if start < 0 {
		start += len(e.ir)
	}
	k := copy(ir, e.ir[start:min(start+n, len(e.ir))])
	copy(ir[k:], e.ir[:n-k])
	copy(red, e.red[start:min(start+n, len(e.red))])
	copy(red[k:], e.red[:n-k])

	if !signalPresent(red) || !signalPresent(ir) {
		return r
	}

	// Invert the IR channel so that systoles are maxima, remove its
	// baseline, smooth it.
	ac, smooth := e.ac[:n], e.smooth[:n]
	for i, v := range ir {
		ac[i] = -v
	}
	highPass(ac, smooth, e.baselineHalf)
	movingAverage(smooth, ac, e.smoothHalf)

	peaks := e.findPeaks(smooth)
	hr, ok := e.heartRate(peaks, smooth)
	if !ok {
		return r
	}
	r.HeartRateBPM, r.HeartRateValid = hr, true

	// Whole beats only, so that the red and IR amplitudes are measured over
	// the same cycles of the pulse.
	first, last := int(math.Ceil(peaks[0])), int(peaks[len(peaks)-1])+1
	acRed, dcRed := e.acdc(red, first, last)
	acIR, dcIR := e.acdc(ir, first, last)
	if acIR == 0 || dcRed == 0 || dcIR == 0 {
		return r
	}
	ratio := (acRed / dcRed) / (acIR / dcIR)
	if ratio < minR || ratio > maxR {
		return r
	}
	r.SpO2Pct, r.SpO2Valid = min(110-25*ratio, 100), true
	return r
}

// signalPresent reports whether a channel has a finger on it and is not
// clipped.
func signalPresent(x []float64) bool {
	sum := 0.0
	for _, v := range x {
		if v >= adcFullScale {
			return false
		}
		sum += v
	}
	return sum/float64(len(x)) >= MinDC
}

// findPeaks returns the positions of the systolic peaks in x, refined to a
// fraction of a sample. A peak is a local maximum of at least peakThreshold
// of the tallest; of two peaks closer than refractorySeconds only the taller
// is kept.
func (e *Estimator) findPeaks(x []float64) []float64 {
	top := slices.Max(x)
	if top <= 0 {
		return nil
	}
	th := peakThreshold * top
	idx := e.intervals[:0] // integer positions, reused as scratch
	for i := 1; i < len(x)-1; i++ {
		if x[i] < th || x[i] <= x[i-1] || x[i] < x[i+1] {
			continue
		}
		if m := len(idx); m > 0 && i-int(idx[m-1]) < e.refractory {
			if x[i] > x[int(idx[m-1])] {
				idx[m-1] = float64(i)
			}
			continue
		}
		idx = append(idx, float64(i))
	}
	peaks := e.peaks[:len(idx)]
	for j, p := range idx {
		i := int(p)
		// Parabolic interpolation through the three samples around the
		// maximum: at 25 Hz a sample is 40 ms, 5 % of a beat at 75 bpm.
		a, b, c := x[i-1], x[i], x[i+1]
		delta := 0.0
		if d := a - 2*b + c; d < 0 {
			delta = 0.5 * (a - c) / d
		}
		peaks[j] = float64(i) + delta
	}
	return peaks
}

// heartRate returns 60·fs over the mean peak interval, if the peaks form a
// regular pulse in the plausible range.
func (e *Estimator) heartRate(peaks, x []float64) (float64, bool) {
	if len(peaks) < minPeaks {
		return 0, false
	}
	iv := e.intervals[:len(peaks)-1]
	for i := range iv {
		iv[i] = peaks[i+1] - peaks[i]
	}
	slices.Sort(iv)
	median := iv[len(iv)/2]
	if len(iv)%2 == 0 {
		median = (median + iv[len(iv)/2-1]) / 2
	}
	if iv[0] < (1-maxIntervalDeviation)*median || iv[len(iv)-1] > (1+maxIntervalDeviation)*median {
		return 0, false
	}
	mean := (peaks[len(peaks)-1] - peaks[0]) / float64(len(iv))
	hr := 60 * e.fs / mean
	if hr < MinHeartRateBPM || hr > MaxHeartRateBPM {
		return 0, false
	}
	if periodicity(x, mean) < minPeriodicity {
		return 0, false
	}
	return hr, true
}

// periodicity is the normalised autocorrelation of x at a lag of period
// samples, interpolated between the two whole lags around it.
func periodicity(x []float64, period float64) float64 {
	lo := int(period)
	if lo+1 >= len(x) {
		return 0
	}
	f := period - float64(lo)
	return (1-f)*autocorrelation(x, lo) + f*autocorrelation(x, lo+1)
}

func autocorrelation(x []float64, lag int) float64 {
	var xy, xx, yy float64
	for i := 0; i+lag < len(x); i++ {
		a, b := x[i], x[i+lag]
		xy += a * b
		xx += a * a
		yy += b * b
	}
	if xx == 0 || yy == 0 {
		return 0
	}
	return xy / math.Sqrt(xx*yy)
}

// highPass removes x's baseline in place: its moving average over
// ±half samples, which follows DC drift and breathing but not the pulse.
// tmp is working space of x's length.
func highPass(x, tmp []float64, half int) {
	movingAverage(tmp, x, half)
	for i := range x {
		x[i] -= tmp[i]
	}
}

// acdc returns the AC amplitude of x[first:last] (the RMS of its
// high-passed signal) and its DC level (the mean). Red and IR pass through
// the same filter, so its attenuation of the pulse cancels in R; over whole
// beats the RMS is as proportional to the pulse amplitude as the
// peak-to-peak value, and less sensitive to noise.
func (e *Estimator) acdc(x []float64, first, last int) (ac, dc float64) {
	hp := e.ac[:len(x)]
	copy(hp, x)
	highPass(hp, e.smooth[:len(x)], e.baselineHalf)
	var ss float64
	for i := first; i < last; i++ {
		dc += x[i]
		ss += hp[i] * hp[i]
	}
	m := float64(last - first)
	return math.Sqrt(ss / m), dc / m
}

// movingAverage writes x averaged over ±half samples into dst; near the ends
// it averages the samples there are.
func movingAverage(dst, x []float64, half int) {
	if half == 0 {
		copy(dst, x)
		return
	}
	var sum float64
	lo, hi := 0, 0 // the window is x[lo:hi]
	for i := range x {
		for hi < len(x) && hi <= i+half {
			sum += x[hi]
			hi++
		}
		for lo < i-half {
			sum -= x[lo]
			lo++
		}
		dst[i] = sum / float64(hi-lo)
	}
}
