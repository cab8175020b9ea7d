package vitals

import (
	"math"
	"slices"
	"time"
)

// Parameters of the pulse-oximetry estimate.
//
// There are two windows: the signal kept (WindowSeconds) and the beats an
// estimate rests on (those in the newest RecentSeconds of it). The split is
// set by the safety watchdog, which aborts the pod when no valid reading has
// arrived for 5 s (safety.DefaultLimits' StaleAfter, rule vitals_stale). An
// estimate must therefore be valid again well within 5 s of any change of
// rhythm, and a fast rise of the heart rate (an arousal, a nightmare: 10 bpm
// a second) must reach the watchdog as a high heart rate, not as stale
// vitals. When every beat of the whole 8 s window had to agree with the
// median, a jump of the rate left the estimate invalid until the old beats
// had left the window, about 7 s, and a 10 bpm/s ramp from 60 to 150 bpm
// left it invalid for 11 s: a vitals_stale abort instead of
// heart_rate_high. Checking and measuring only the recent beats, and
// comparing each interval with its neighbour rather than with the median,
// keeps a reading valid throughout such a ramp and valid again within
// RecentSeconds of a jump, while the reported rate lags the true one by
// about 2.5 s (see RecentSeconds).
const (
	// WindowSeconds is how much signal the estimator keeps. The filters
	// run over all of it, so that the recent beats have context before
	// them, and a slow pulse reaches back into it for its beats: eight
	// seconds hold at least three beats down to MinHeartRateBPM (25 bpm
	// beats every 2.4 s).
	WindowSeconds = 8.0
	// RecentSeconds is the span of the beats the heart rate and SpO2 are
	// measured over and checked on: the peaks in the newest RecentSeconds,
	// extended back to minRecentPeaks of them when the pulse is too slow
	// to have as many there (below about 50 bpm).
	//
	// The heart rate is the mean rate over these beats, which on a steady
	// ramp is the true rate at their midpoint: it lags by RecentSeconds/2
	// plus the time since the last detected beat, about 2.5 s, and on a
	// 10 bpm/s ramp stays within 8 bpm of the rate 1.4 s earlier. After a
	// jump the beats before it leave the span, and stop invalidating the
	// estimate, within RecentSeconds; with the daemon's polling the
	// estimate is valid again within about 3.5 s, leaving 1.5 s of the
	// watchdog's 5 s. A shorter span follows faster but averages fewer
	// beats and gives noise more chances to look like a pulse; 3.5 s still
	// averages 3–4 intervals at 60 bpm and about 10 at 180 bpm, keeping the
	// steady-state reading within 1 bpm.
	RecentSeconds = 3.5
	// FirstEstimateSeconds is the signal needed after Reset before any estimate, so
	// that the first readings average a few beats (Maxim's reference uses
	// 4 s).
	FirstEstimateSeconds = 4.0

	// MinHeartRateBPM and MaxHeartRateBPM bound a plausible heart rate;
	// outside them a rate is more likely a detection error than a pulse.
	MinHeartRateBPM = 25.0
	MaxHeartRateBPM = 250.0

	// minPeaks is the fewest systolic peaks (two intervals) a heart rate
	// rests on; minRecentPeaks is how many the recent beats reach back for
	// when RecentSeconds holds fewer, so that the interval check compares
	// at least two pairs of neighbours wherever the window allows.
	minPeaks       = 3
	minRecentPeaks = 4
	// maxIntervalDeviation is how far a beat-to-beat interval may stray
	// from its neighbour: the longer of two successive intervals may
	// exceed the shorter by at most this fraction. Sinus arrhythmia during
	// sleep moves the interval by 5–10 % over a breath; a heart rate rising
	// at 10 bpm/s shortens it by 600/HR² per beat, 17 % at 60 bpm and less
	// above; a missed or doubled beat changes it by 50 % or more. Comparing
	// neighbours rather than each interval with the median lets a steady
	// trend through and still rejects an irregular or misdetected pulse.
	// A jump of more than 56 % (1.25², e.g. 60 → 100 bpm) cannot pass with
	// the one intermediate interval it produces, so the estimate is
	// invalid until the old beats leave RecentSeconds; a smaller jump may
	// pass, and is then reported as a rate between the old and the new.
	maxIntervalDeviation = 0.25
	// minBeatSimilarity is the least normalised correlation of each
	// recent beat with the next (beatSimilarity). A pulse repeats itself:
	// above 0.9 on the synthetic and simulated pulses at every rate, during
	// 10 bpm/s ramps, across jumps and with noise. Noise and motion do not.
	// It is higher than the 0.5 the whole window's autocorrelation needed,
	// because a few seconds of band-limited noise line up a few peaks by
	// chance far more often than eight seconds do.
	minBeatSimilarity = 0.75
	// refractorySeconds is the time after a peak within which another peak
	// belongs to the same beat: a little shorter than a beat at
	// MaxHeartRateBPM (0.24 s), so that a sample of jitter at the top of
	// the range does not merge two beats; faster rates are rejected by the
	// range check.
	refractorySeconds = 0.2
	// riseThreshold is the fraction of the largest rise within
	// localSeconds on either side that a systolic peak's own rise must
	// reach (findPeaks). A peak's rise is its height above its foot, the
	// lowest point since the last higher sample, so a dicrotic wave rises
	// only from its notch, and a sample of noise on an upstroke only from
	// the dip before it. On the real recordings in testdata a threshold
	// of half the recent span's tallest peak compared each beat with an
	// artefact up to 3.5 s away, and a movement of an empty sensor passed
	// as a 176 bpm pulse; relative to the neighbouring beats neither
	// happens. 0.5 keeps the dicrotic waves of the HeartPy recordings out
	// (their rises are 0.3–0.45 of the systolic ones; at 0.4 some pass and
	// heartpy_data's valid readings fall from 100 % to 26 %). On a103l's
	// alternating pulse the weak beats rise 0.35–0.45 of the strong ones,
	// as much as its dicrotic waves: no threshold on the rise alone tells
	// them apart there. Where they stay under it on every beat, midBeats
	// finds them by their place in the rhythm, and the pulse is no valid
	// reading; where they pass it on some beats and not on others, the
	// systolic peaks are irregular and the pulse is read by its
	// upstrokes (upstroke.go).
	riseThreshold = 0.5
	// altFrom, altTo and altRise find what may be the weak beats of an
	// alternating pulse (midBeats): a candidate peak in the middle of an
	// interval between two peaks, from altFrom to altTo of it, whose rise
	// reaches altRise of the smaller of theirs. A weak beat of pulsus
	// alternans comes half way, as the rhythm is regular and only the
	// strength alternates; but a diastolic wave comes a fixed 0.16–0.35 s
	// after its systole (the arteries' stiffness sets it, not the rate),
	// in the middle of the interval at 100–120 bpm, and no shape or
	// timing told the two apart on the pulses tried (the measures are in
	// upstroke.go's comment). The strong beats
	// alone would read half the heart's rate if the bumps are beats; all
	// of them, twice the heart's if they are diastolic waves (a normal
	// 100 bpm read as a valid 200 bpm). So a pulse with such a bump in
	// every interval is no valid reading: vitals_stale acts on it, never a
	// rate that may be half or twice the heart's. altFrom and altTo are
	// where a weak beat makes intervals within maxIntervalDeviation of
	// each other; altRise is under the 30 % weak beats that a failing
	// ventricle gives (at 30 % a 140 bpm tachycardia read as a valid
	// 70 bpm) and over a sample's noise on a flat diastole. Weaker beats
	// are not seen: at 10 % of the strong ones, under noise of 100 counts
	// on a pulse of 1800 (alternans_test.go's generator with more noise),
	// a 120 or 140 bpm pulse reads a valid 60 or 70 bpm.
	altFrom = 1 / (2 + maxIntervalDeviation)
	altTo   = 1 - altFrom
	altRise = 0.15
	// altSlope is how steep, relative to the upstrokes read, the
	// upstroke in the middle of an interval must be for midUpstrokes
	// (halfrate.go). At 50 bpm with weak beats at 10 % of the strong
	// ones (upstroke_review_test.go), 0.1 misses some of them and the
	// strong beats read a valid 25 bpm on 28 of 160 polls; at 0.05 none
	// does. Under noise of 8 counts on a pulse of 1800 at 25 Hz, the
	// steepest upstroke rises about 1000 counts a sample and the slope's
	// noise is about 11: 0.05 of it is 4.5 standard deviations of noise.
	// The real recordings' figures are the same with and without it.
	altSlope = 0.05
	// maxBumpsPerBeat is the most upstrokes (bumpsPerBeat) a pulse read
	// at its own rate shows per beat: each beat's own, a notch's and a
	// diastolic wave's. Measured on the real recordings, also played
	// 1.75 and 2 times as fast: at most 2.5 where the reading was right;
	// 5.0 where a103l at 1.75x (220 bpm) read a valid 55 bpm, a quarter.
	maxBumpsPerBeat = 3.0
	// altUpFrom and altUpTo are where, between the upstrokes of two
	// systolic peaks, the upstroke of a weak beat makes the peaks' rate
	// half the heart's (midUpstrokes on the systolic peaks): a weak
	// beat of alternans comes half way, and its upstroke at 0.49-0.53 of
	// the interval on upstroke_review_test.go's pulses at 140 bpm with
	// weak beats at 20-30 % and a diastolic wave of 0-40 % 0.3 s after
	// systole (whose weak beats rise under altRise from the wave's
	// falling limb, so midBeats misses them). Narrower than [altFrom,
	// altTo]: a diastolic wave 0.35 s after systole at 75 bpm has its
	// upstroke at 0.44-0.455 of the interval, and such a pulse is read
	// at its rate (TestEstimatorDoesNotDoubleADiastolicWaveOfChangingHeight).
	altUpFrom = 0.46
	altUpTo   = 1 - altUpFrom
	// maxWaveSeconds is the latest a diastolic wave comes after its
	// systole (see altFrom: 0.16-0.35 s, set by the arteries' stiffness).
	// minDoubledBPM follows: read as beats, the waves double the rate
	// only when the doubled intervals pass maxIntervalDeviation, which
	// puts each wave at altFrom of the interval or later, so the heart
	// beats at least 60·altFrom/maxWaveSeconds (76 bpm) and the doubled
	// rate is above minDoubledBPM (152 bpm).
	maxWaveSeconds = 0.35
	minDoubledBPM  = 2 * 60 * altFrom / maxWaveSeconds
	// altStrength is how much weaker than both its neighbours every
	// other beat must be, by the steepness of its upstroke, for
	// alternatingStrength. On upstroke_review_test.go's pulses at
	// 80-90 bpm with a 70 % diastolic wave 0.30-0.35 s after systole,
	// read as 160-180 bpm on 13-101 of 160 polls without this check,
	// every doubled reading is caught with altStrength from 0.1 to 0.3;
	// at 0.4 some pass. A regular pulse's noise would have to make every
	// other beat of the span weaker than both neighbours to pass it.
	altStrength = 0.15
	// detectSeconds is how long after its top a beat may still be
	// unfound (overdue): a local maximum needs a lower sample after it,
	// and the baseline filter, which averages fewer samples at the
	// window's edge, bends the newest ones; two samples at 25 Hz. From 0
	// to 0.12 s the tests pass alike and a103l (recordings_test.go)
	// loses 3-4 of its 1192 valid polls, where its intervals lengthen
	// by more than a quarter.
	detectSeconds = 0.08
	// localSeconds is how far either side of a peak the rises it is
	// compared with lie: at least two beats down to 40 bpm, so that a beat
	// is judged against its neighbours rather than against the whole span.
	localSeconds = 1.5
	// maxFootSeconds bounds how far back findPeaks looks for a peak's
	// foot: a beat at MinHeartRateBPM.
	maxFootSeconds = 2.4
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

	// darkRunSeconds is the shortest run of IR samples below MinDC that is
	// no finger rather than a glitch: half of ContactSeconds, over which
	// Contact judges a finger present.
	darkRunSeconds = 0.5

	// MinDC is the lowest mean ADC count (of 262 143) that means a finger
	// is on the sensor; without one only a few percent of it comes back.
	MinDC = 20000
	// ContactSeconds is the span of IR signal Contact is judged on: long
	// enough to average over a beat, short enough that a finger leaving
	// the sensor is seen within about a second.
	ContactSeconds = 1.0
	// adcFullScale is the highest count at every resolution: a sample at or
	// above it was clipped, which flattens the pulse.
	adcFullScale = (1<<18 - 1) &^ 7

	// minR and maxR bound the ratio of ratios SpO2FromRatio is trusted
	// with. Below minR the curve passes 104 % (it is clamped to 100 %
	// below R 0.37); above maxR it falls below 55.5 %: neither is a ratio a finger
	// gives, so the reading is invalid. Between 1.31 (70 %) and maxR the
	// curve is extrapolated beyond the range oximeters are calibrated over
	// (ISO 80601-2-61 asks for accuracy over 70–100 %): such a reading is
	// reported as the low value it is, so that a deep desaturation reaches
	// the safety rules as one rather than as "unknown".
	minR = 0.25
	maxR = 1.8

	// MaxBridgeSeconds is the longest gap in the samples Bridge fills; a
	// longer one is a Reset. It covers what a MAX30102 can count: its
	// overflow counter saturates at 31 samples, 1.24 s at 25 Hz.
	MaxBridgeSeconds = 1.5
	// maxBridges is how many bridged gaps the window remembers; older
	// ones have left it (or the samples came in too broken to measure).
	maxBridges = 4
)

// Estimator derives heart rate and SpO2 from a pulse oximeter's red and IR
// samples over a sliding window of WindowSeconds.
//
// The samples are the counts of light reaching the photodiode, which fall at
// each systole. The heart rate comes from the IR channel's systolic peaks in
// the newest RecentSeconds; SpO2 from the ratio of ratios
// R = (AC_red/DC_red)/(AC_ir/DC_ir) over the same whole beats. Every check
// (finger, clipping, regular pulse) applies to the signal those beats span,
// so an old artefact stops mattering once it is older than the beats
// measured, and a reading never rests on signal that was not checked. SpO2
// uses the same beats as the heart rate rather than the whole window: it is
// then valid exactly when the pulse is, and as steady (within 1.5 % at rest).
//
// An Estimator is not safe for concurrent use; its one owner feeds and
// reads it. Add and Estimate do not allocate.
type Estimator struct {
	fs           float64
	minSamples   int
	recent       int // samples of RecentSeconds
	refractory   int // samples within which a second peak is the same beat
	smoothHalf   int // half-width of the noise filter, samples
	baselineHalf int // half-width of the baseline filter, samples
	darkRun      int // samples of darkRunSeconds

	red, ir []float64 // ring buffers
	head    int       // next slot to write
	count   int       // valid samples, up to len(ir)

	// Bridged gaps (see Bridge): added counts the samples since Reset,
	// bridged ones included; bridges holds the newest gaps as [from, to)
	// in that count; pending is a gap waiting for the next Add.
	added   int
	bridges []span
	pending int

	// Scratch space for Estimate, sized once.
	rawRed, rawIR, ac, smooth, peaks, peakIdx []float64
	rise, keptRise                            []float64
	usable                                    []bool // per interval between peaks: not across a bridged gap
	// candidates holds findPeaks' local maxima (positions, rises) until
	// the next findPeaks; midBeats reads them.
	candidates, candidateRise []float64
	// The pulse's slope, its upstrokes' candidates and the kept ones
	// (positions, slopes): upstrokeRate.
	slope, upIdx, upSlope, ups, upsSlope []float64
}

// span is a run of samples [from, to).
type span struct{ from, to int }

// NewEstimator returns an Estimator for samples arriving at sampleRateHz.
// It panics if the rate is not positive and finite: that is a wiring error.
func NewEstimator(sampleRateHz float64) *Estimator {
	if !(sampleRateHz > 0) || math.IsInf(sampleRateHz, 0) {
		panic("vitals: NewEstimator: invalid sample rate")
	}
	n := max(int(math.Round(WindowSeconds*sampleRateHz)), 8)
	return &Estimator{
		fs:           sampleRateHz,
		minSamples:   min(n, int(math.Ceil(FirstEstimateSeconds*sampleRateHz))),
		recent:       min(n, max(int(math.Round(RecentSeconds*sampleRateHz)), 4)),
		refractory:   max(int(refractorySeconds*sampleRateHz), 1),
		smoothHalf:   int(smoothSeconds * sampleRateHz / 2),
		baselineHalf: int(math.Round(baselineSeconds * sampleRateHz / 2)),
		darkRun:      max(int(math.Round(darkRunSeconds*sampleRateHz)), 2),
		red:          make([]float64, n),
		ir:           make([]float64, n),
		rawRed:       make([]float64, n),
		rawIR:        make([]float64, n),
		ac:           make([]float64, n),
		smooth:       make([]float64, n),
		peaks:        make([]float64, n/2+1),
		peakIdx:      make([]float64, n/2+1),
		rise:         make([]float64, n/2+1),
		keptRise:     make([]float64, n/2+1),
		usable:       make([]bool, n+1),
		slope:        make([]float64, n),
		upIdx:        make([]float64, n/2+1),
		upSlope:      make([]float64, n/2+1),
		ups:          make([]float64, n/2+1),
		upsSlope:     make([]float64, n/2+1),
		bridges:      make([]span, 0, maxBridges),
	}
}

// Add appends one sample, in the order the sensor produced them. After a
// Bridge it first fills the gap.
func (e *Estimator) Add(red, ir uint32) {
	r, i := float64(red), float64(ir)
	if k := e.pending; k > 0 {
		e.pending = 0
		last := e.head - 1
		if last < 0 {
			last = len(e.ir) - 1
		}
		r0, i0 := e.red[last], e.ir[last]
		if len(e.bridges) == maxBridges {
			e.bridges = append(e.bridges[:0], e.bridges[1:]...)
		}
		e.bridges = append(e.bridges, span{e.added, e.added + k})
		for j := 1; j <= k; j++ {
			f := float64(j) / float64(k+1)
			e.add(r0+f*(r-r0), i0+f*(i-i0))
		}
	}
	e.add(r, i)
}

func (e *Estimator) add(red, ir float64) {
	e.red[e.head] = red
	e.ir[e.head] = ir
	e.head++
	if e.head == len(e.ir) {
		e.head = 0
	}
	if e.count < len(e.ir) {
		e.count++
	}
	e.added++
}

// Reset forgets every sample. The caller resets after a gap in the samples
// it cannot measure (a read that may have lost samples uncounted), which
// would otherwise look like a beat, and after one longer than
// MaxBridgeSeconds.
func (e *Estimator) Reset() {
	e.head, e.count, e.added, e.pending = 0, 0, 0, 0
	e.bridges = e.bridges[:0]
}

// Bridge says that n samples were lost between the last Add and the next
// (a FIFO overflow: the chip counted them), so that the window keeps its
// time base: the next Add first fills the gap with n samples on the
// straight line from the last sample to its own. A beat may have been lost
// in the gap, so the interval between the peaks on either side of it never
// counts, neither in the heart rate nor in the regularity checks; the beats
// on each side still do. A gap longer than MaxBridgeSeconds, or with no
// sample before it, is a Reset (none before: nothing to bridge). Gaps
// reported before the next Add add up.
func (e *Estimator) Bridge(n int) {
	if n <= 0 {
		return
	}
	if e.count == 0 {
		return
	}
	if e.pending += n; float64(e.pending) > MaxBridgeSeconds*e.fs || e.pending >= len(e.ir) {
		e.Reset()
	}
}

// Estimate returns the vitals over the most recent beats. A value is marked
// invalid when there is too little signal, no finger, a clipped signal, or
// no regular pulse; SpO2 is valid only with a valid heart rate. At is left
// zero for the caller to stamp (Reading.Stamp), which also dates the
// values: Describes, the midpoint of the beats they were measured over.
func (e *Estimator) Estimate() Reading {
	var r Reading
	n := e.count
	r.Contact = e.contact()
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

	// Runs of IR samples below MinDC. One of darkRunSeconds or more is no
	// finger: the window starts after the last such run, because the step
	// from it to a finger's level rings through the baseline filter into a
	// rise larger than any beat's, which would hide the beats near it
	// (riseThreshold). A finger that arrives is a fresh start, as after
	// Reset: FirstEstimateSeconds of it before any estimate. A shorter run
	// is a glitch (a slip of the fingertip, a corrupted read), not a
	// finger that left: it is bridged in this copy of the window, on the
	// straight line between its neighbours, so that one dark sample does
	// not restart the estimate for FirstEstimateSeconds (two of them 2 s
	// apart would leave it invalid for longer than the watchdog's 5 s).
	from := 0
	for i := 0; i < n; {
		if ir[i] >= MinDC {
			i++
			continue
		}
		j := i
		for j < n && ir[j] < MinDC {
			j++
		}
		if j-i >= e.darkRun || i == 0 || j == n {
			// No finger, or a dark edge of the window that has no
			// neighbour on one side to bridge from.
			from = j
		} else {
			bridgeRun(red, i, j)
			bridgeRun(ir, i, j)
		}
		i = j
	}
	recent := max(n-e.recent, 0)
	if from > 0 {
		red, ir, n, recent = red[from:], ir[from:], n-from, max(recent-from, 0)
		if n < e.minSamples {
			return r
		}
	}
	// Cheap first: no finger or a clipped signal in the recent span.
	if !signalPresent(red[recent:]) || !signalPresent(ir[recent:]) {
		return r
	}

	// Invert the IR channel so that systoles are maxima, remove its
	// baseline, smooth it. The filters run over the whole window so that
	// the recent beats have context on both sides.
	ac, smooth := e.ac[:n], e.smooth[:n]
	for i, v := range ir {
		ac[i] = -v
	}
	highPass(ac, smooth, e.baselineHalf)
	movingAverage(smooth, ac, e.smoothHalf)

	// The peaks of the recent span, and before it as many as a slow pulse
	// needs for minRecentPeaks. Each peak is judged against its
	// neighbours' rises (riseThreshold), so that neither an older
	// artefact nor a strong beat a few seconds away hides the current
	// pulse.
	all := e.findPeaks(smooth)
	peaks := recentPeaks(all, recent)
	// Intervals across a bridged gap do not count: reach back for as many
	// that do as the recent span would have had.
	usable := e.markUsable(peaks, n)
	for countTrue(usable) < minRecentPeaks-1 && len(peaks) < len(all) {
		peaks = all[len(all)-len(peaks)-1:]
		usable = e.markUsable(peaks, n)
	}
	if len(peaks) < minPeaks {
		return r
	}
	// A slow pulse reached back before the recent span: check the signal
	// it reached into too.
	back := min(recent, int(peaks[0]))
	if back < recent && (!signalPresent(red[back:]) || !signalPresent(ir[back:])) {
		return r
	}
	hr, ok := e.heartRate(peaks, smooth, usable)
	rises := e.keptRise[len(all)-len(peaks) : len(all)]
	d := e.slopeOf(smooth)
	byUpstroke := false // peaks are upstrokes (upstrokeRate), not systolic peaks
	switch {
	case ok && (e.midBeats(peaks, rises, smooth) ||
		midUpstrokes(e.peakUpstrokes(peaks, d), d, altUpFrom, altUpTo) ||
		bumpsPerBeat(peaks, d) > maxBumpsPerBeat):
		// A bump in the middle of every interval: the weak beats of
		// pulsus alternans or diastolic waves, the rate half or twice
		// the heart's (see altFrom); or a weak beat's upstroke there,
		// its rise lowered by a diastolic wave before it (altUpFrom).
		// Or more upstrokes between the peaks than a beat has: the
		// peaks are every third or fourth beat of a fast pulse
		// (halfrate.go).
		ok = false
	case !ok:
		// The systolic peaks are no regular pulse: some beats too weak
		// for riseThreshold (an alternating pulse), or a beat's top only
		// a shoulder. Read it by its upstrokes (upstroke.go).
		var up []float64
		if up, hr, ok = e.upstrokeRate(smooth, d, recent, n); ok {
			peaks, byUpstroke = up, true
			back := min(recent, int(peaks[0]))
			ok = back >= recent || signalPresent(red[back:]) && signalPresent(ir[back:])
		}
	}
	if ok && hr > minDoubledBPM && e.alternatingStrength(peaks, d, byUpstroke) {
		// Every other beat weaker: the weak ones may be diastolic
		// waves, the rate twice the heart's (halfrate.go).
		ok = false
	}
	if !ok || e.overdue(peaks, hr, n) {
		return r
	}
	r.HeartRateBPM, r.HeartRateValid = hr, true
	r.age = e.age(peaks, n)

	// Whole beats only, so that the red and IR amplitudes are measured over
	// the same cycles of the pulse.
	first, last := int(math.Ceil(peaks[0])), int(peaks[len(peaks)-1])+1
	acRed, dcRed := e.acdc(red, first, last)
	acIR, dcIR := e.acdc(ir, first, last)
	if acIR == 0 || dcRed == 0 || dcIR == 0 {
		return r
	}
	ratio := (acRed / dcRed) / (acIR / dcIR)
	r.Ratio = ratio
	if ratio < minR || ratio > maxR {
		return r
	}
	r.SpO2Pct, r.SpO2Valid = SpO2FromRatio(ratio), true
	return r
}

// age is how long before the newest of n samples the values measured over
// peaks (sample positions, oldest first) describe: the time from the
// midpoint of the first and last beat to the newest sample. The rate is
// the mean of the intervals between them and the SpO2 is measured over the
// same whole beats, so on a steady ramp both are the value at that
// midpoint. The filters the peaks are found on are centred, so a peak's
// position is its beat's time.
func (e *Estimator) age(peaks []float64, n int) time.Duration {
	mid := (peaks[0] + peaks[len(peaks)-1]) / 2
	return time.Duration((float64(n-1) - mid) / e.fs * float64(time.Second))
}

// bridgeRun replaces x[i:j] with the straight line from x[i-1] to x[j];
// 0 < i <= j < len(x).
func bridgeRun(x []float64, i, j int) {
	a, b := x[i-1], x[j]
	for k := i; k < j; k++ {
		f := float64(k-i+1) / float64(j-i+1)
		x[k] = a + f*(b-a)
	}
}

// contact judges the newest ContactSeconds of IR signal against MinDC;
// red at a finger's level under a dark IR is a failed channel (unknown),
// not no one.
func (e *Estimator) contact() Contact {
	k := max(int(math.Round(ContactSeconds*e.fs)), 1)
	if e.count < k {
		return ContactUnknown
	}
	sum, redSum, first, constant := 0.0, 0.0, -1.0, true
	for i, j := 0, e.head; i < k; i++ {
		if j--; j < 0 {
			j = len(e.ir) - 1
		}
		sum += e.ir[j]
		redSum += e.red[j]
		if first < 0 {
			first = e.ir[j]
		}
		constant = constant && e.ir[j] == first
	}
	if sum/float64(k) < MinDC {
		if redSum/float64(k) >= MinDC {
			// The red channel sees a finger while IR is dark: an IR LED
			// (or its channel) that failed, not an empty pod.
			return ContactUnknown
		}
		if constant && k > 1 {
			// Little light is never exactly constant: the ADC and the
			// photodiode add noise. A second of identical dark counts is
			// a sensor repeating itself (a stuck bus), which says
			// nothing of the sleeper: never "no one".
			return ContactUnknown
		}
		return ContactNone
	}
	return ContactSkin
}

// recentPeaks returns the tail of peaks that lies at or after sample from,
// extended back to minRecentPeaks peaks, or as many as there are.
func recentPeaks(peaks []float64, from int) []float64 {
	i := len(peaks)
	for i > 0 && peaks[i-1] >= float64(from) {
		i--
	}
	return peaks[min(i, max(len(peaks)-minRecentPeaks, 0)):]
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
// fraction of a sample.
//
// A peak is a local maximum whose rise (its height above its foot: the
// lowest sample between it and the nearest sample before it that is
// higher, at most maxFootSeconds back) is at least riseThreshold of the
// largest rise within localSeconds on either side; of two peaks closer than
// refractorySeconds only the one with the larger rise is kept.
func (e *Estimator) findPeaks(x []float64) []float64 {
	idx, rise := e.peakIdx[:0], e.rise[:0] // candidates: integer positions, rises
	back := max(int(maxFootSeconds*e.fs), 1)
	for i := 1; i < len(x)-1; i++ {
		if x[i] <= x[i-1] || x[i] < x[i+1] {
			continue
		}
		foot := x[i]
		for j := i - 1; j >= max(i-back, 0) && x[j] <= x[i]; j-- {
			foot = min(foot, x[j])
		}
		if r := x[i] - foot; r > 0 {
			idx, rise = append(idx, float64(i)), append(rise, r)
		}
	}
	local := int(localSeconds * e.fs)
	kept, keptRise := e.peaks[:0], e.keptRise[:0]
	lo, hi := 0, 0
	for c, p := range idx {
		for lo < len(idx) && int(idx[lo]) < int(p)-local {
			lo++
		}
		for hi < len(idx) && int(idx[hi]) <= int(p)+local {
			hi++
		}
		if rise[c] < riseThreshold*slices.Max(rise[lo:hi]) {
			continue
		}
		if m := len(kept); m > 0 && int(p)-int(kept[m-1]) < e.refractory {
			if rise[c] > keptRise[m-1] {
				kept[m-1], keptRise[m-1] = p, rise[c]
			}
			continue
		}
		kept, keptRise = append(kept, p), append(keptRise, rise[c])
	}
	e.candidates, e.candidateRise = idx, rise
	for j, p := range kept {
		kept[j] = refine(x, int(p))
	}
	return kept
}

// refine returns the position of the maximum at sample i of x, 0 < i <
// len(x)-1, to a fraction of a sample: parabolic interpolation through the
// three samples around it. At 25 Hz a sample is 40 ms, 5 % of a beat at
// 75 bpm.
func refine(x []float64, i int) float64 {
	a, b, c := x[i-1], x[i], x[i+1]
	delta := 0.0
	if d := a - 2*b + c; d < 0 {
		delta = 0.5 * (a - c) / d
	}
	return float64(i) + delta
}

// markUsable marks, for each interval between successive peaks of a window
// of n samples, whether it is clear of every bridged gap (by a sample on
// each side, since the gap's straight line bends the filtered pulse there).
func (e *Estimator) markUsable(peaks []float64, n int) []bool {
	usable := e.usable[:max(len(peaks)-1, 0)]
	first := e.added - n // the window's first sample, in e.added's count
	for i := range usable {
		usable[i] = true
		for _, b := range e.bridges {
			from, to := float64(b.from-first), float64(b.to-first)
			if from-1 <= peaks[i+1] && to >= peaks[i] {
				usable[i] = false
			}
		}
	}
	return usable
}

func countTrue(b []bool) int {
	n := 0
	for _, v := range b {
		if v {
			n++
		}
	}
	return n
}

// heartRate returns 60·fs over the mean of the usable intervals between
// peaks (the recent beats), if they form a regular pulse in the plausible
// range: each usable interval within maxIntervalDeviation of its usable
// neighbours, at least minPeaks-1 of them, and each beat of x (the filtered
// pulse the peaks index) like the next. usable[i] is false for the
// interval from peaks[i] to peaks[i+1] when it spans a bridged gap.
func (e *Estimator) heartRate(peaks, x []float64, usable []bool) (float64, bool) {
	hr, ok := e.intervalRate(peaks, usable)
	if !ok || beatSimilarity(x, peaks, usable) < minBeatSimilarity {
		return 0, false
	}
	return hr, true
}

// intervalRate returns 60·fs over the mean of the usable intervals
// between peaks, if they form a regular pulse in the plausible range:
// each usable interval within maxIntervalDeviation of its usable
// neighbours, at least minPeaks-1 of them, the rate within
// [MinHeartRateBPM, MaxHeartRateBPM].
func (e *Estimator) intervalRate(peaks []float64, usable []bool) (float64, bool) {
	if len(peaks) < minPeaks {
		return 0, false
	}
	for i := 2; i < len(peaks); i++ {
		if !usable[i-2] || !usable[i-1] {
			continue
		}
		a, b := peaks[i-1]-peaks[i-2], peaks[i]-peaks[i-1]
		if max(a, b) > (1+maxIntervalDeviation)*min(a, b) {
			return 0, false
		}
	}
	var sum float64
	m := 0 // usable intervals
	for i, ok := range usable {
		if ok {
			sum += peaks[i+1] - peaks[i]
			m++
		}
	}
	if m < minPeaks-1 {
		return 0, false
	}
	hr := 60 * e.fs / (sum / float64(m))
	if hr < MinHeartRateBPM || hr > MaxHeartRateBPM {
		return 0, false
	}
	return hr, true
}

// overdue reports whether the next beat after peaks (the beats a heart
// rate of hr bpm was read from, in samples of a window of n) is later than
// a regular pulse allows: the time since the newest beat exceeds
// (1+maxIntervalDeviation) of the mean interval, the longest the next
// interval may be, plus the delay before a beat is detected (detectSeconds
// and the noise filter's half-width). A pulse that stops with the finger
// still on the sensor then turns invalid within about 1.25 intervals of
// the last beat, instead of reading the old rate until the old beats
// leave RecentSeconds (about 2 s): vitals_stale counts its 5 s from the
// last valid reading. A bridged gap (see Bridge) after the newest beat
// may have swallowed a beat, at its very end for all the window shows:
// the time is then counted from the gap's end, so a glitch is never read
// as a pulse that stopped, and a stop is seen at most MaxBridgeSeconds
// later.
func (e *Estimator) overdue(peaks []float64, hr float64, n int) bool {
	interval := 60 * e.fs / hr
	last := peaks[len(peaks)-1]
	first := e.added - n // the window's first sample, in e.added's count
	for _, b := range e.bridges {
		last = max(last, float64(b.to-first))
	}
	since := float64(n-1) - last
	return since > (1+maxIntervalDeviation)*interval+detectSeconds*e.fs+float64(e.smoothHalf)
}

// midBeats reports whether every interval between successive peaks has a
// candidate local maximum of findPeaks (the last one it ran) within the
// middle of the interval ([altFrom, altTo] of it) that rises at least
// altRise of the smaller of the two peaks' rises. rises are the peaks'
// own.
func (e *Estimator) midBeats(peaks, rises, x []float64) bool {
	if len(peaks) < 2 {
		return false
	}
	c := 0
	for i := range len(peaks) - 1 {
		l := peaks[i+1] - peaks[i]
		from, to := peaks[i]+altFrom*l, peaks[i]+altTo*l
		floor := altRise * min(rises[i], rises[i+1])
		found := false
		for ; c < len(e.candidates) && e.candidates[c] <= to+1; c++ {
			if e.candidateRise[c] < floor {
				continue
			}
			if p := refine(x, int(e.candidates[c])); p >= from && p <= to {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// beatSimilarity is the normalised correlation of each beat with the next:
// the samples of x within half an interval of each peak but the last,
// against those one interval later, the interval being the one to the next
// peak (interpolated between whole samples). On a steady pulse it is the
// autocorrelation at one beat interval; unlike an autocorrelation at the
// mean interval, it stays near 1 while the rate changes, because each beat
// is compared at its own lag. Noise does not repeat itself: only the
// samples at its peaks line up, and it stays well below a pulse. A beat
// whose interval to the next is not usable (it spans a bridged gap) is not
// compared.
func beatSimilarity(x, peaks []float64, usable []bool) float64 {
	var xy, xx, yy float64
	for j := range len(peaks) - 1 {
		if !usable[j] {
			continue
		}
		lag := peaks[j+1] - peaks[j]
		lo := int(lag)
		f := lag - float64(lo)
		for i := max(int(math.Ceil(peaks[j]-lag/2)), 0); float64(i) < peaks[j]+lag/2 && i+lo+1 < len(x); i++ {
			a := x[i]
			b := (1-f)*x[i+lo] + f*x[i+lo+1]
			xy += a * b
			xx += a * a
			yy += b * b
		}
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

// SpO2 calibration: SpO2 (%) = spo2A·R² + spo2B·R + spo2C, the default
// coefficients for Maxim Integrated's MAX3010x optical front ends that
// implementations cite to its application note 6845
// (maximintegrated.com/en/design/technical-documents/app-notes/6/6845.html);
// checked against those implementations, not against the note's own text.
//
// Chosen on the measurements in the real recordings' README: on red/IR
// recordings of a similar Maxim chip against a reference oximeter, the
// linear 110 − 25·R read high by +2.4 points at 90–98 %, +5.2 at 80–89 %
// and +8.4 at 70–79 %, which hides a desaturation. Taking the R that the
// linear curve maps to each band's midpoint plus its error (R 0.54, 0.81,
// 1.08 for 94, 84.5, 74.5 %), this curve reads 94.3, 85.6 and 77.0 %:
// +0.3, +1.1 and +2.5 points. Maxim's older reference curve
// −45.060·R² + 30.354·R + 94.845 (their RD117 firmware, as ported by
// SparkFun's spo2_algorithm.cpp) reads 98.0, 89.8 and 74.8 %: +4.0, +5.3
// and +0.3, higher than the linear one where the 90 % alarm limit lies.
// Neither is a calibration of this pod's optics: this curve still reads
// up to 2.5 points high below 80 %, so the pod's own calibration against
// a reference oximeter remains to be done.
const (
	spo2A = 1.5958422
	spo2B = -34.6596622
	spo2C = 112.6898759
)

// SpO2FromRatio returns the SpO2 (%) of a ratio of ratios
// R = (AC_red/DC_red)/(AC_ir/DC_ir) by the calibration curve above,
// clamped to at most 100 %. It does not check R's range: Estimate accepts
// only R in [0.25, 1.8], which map to 100 % down to 55.5 %.
func SpO2FromRatio(r float64) float64 {
	return min(spo2A*r*r+spo2B*r+spo2C, 100)
}

// RatioFromSpO2 is the inverse of SpO2FromRatio below 100 %: the ratio of
// ratios R in [0.25, 1.8] that the calibration curve maps to spo2 (%), the
// smaller root of the quadratic (the curve falls over that range). It is
// what a finger that follows the calibration gives, for simulators and
// tests; spo2 at or above the curve's 100 % gives the R where the curve
// reaches 100 %.
func RatioFromSpO2(spo2 float64) float64 {
	c := spo2C - min(spo2, 100)
	return (-spo2B - math.Sqrt(spo2B*spo2B-4*spo2A*c)) / (2 * spo2A)
}
