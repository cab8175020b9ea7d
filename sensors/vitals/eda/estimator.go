package eda

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Parameters of the estimate; see the package doc for their sources.
const (
	// TonicCutoffHz is the low-pass cutoff of the tonic level.
	TonicCutoffHz = 0.05
	// MinSCRMicrosiemens is the smallest trough-to-peak amplitude that
	// counts as a response.
	MinSCRMicrosiemens = 0.02
	// MaxRiseSeconds is the longest onset-to-peak time of a response.
	MaxRiseSeconds = 5.0
	// WindowSeconds is the span SCRs are counted over, and the good
	// signal a valid reading needs.
	WindowSeconds = 60.0
	// MinContactMicrosiemens and MaxMicrosiemens bound a sample of skin.
	MinContactMicrosiemens = 0.05
	MaxMicrosiemens        = 60.0
	// MaxSlopeMicrosiemensPerSecond bounds the change between samples.
	MaxSlopeMicrosiemensPerSecond = 10.0
	// FlatSeconds of identical samples are a stuck converter. A level at
	// a turning point of its drift, measured by a coarse converter, can
	// repeat itself for a few seconds (8 samples, 2 s, on the E4
	// recording in testdata); half a minute it does not.
	FlatSeconds = 30.0
	// MaxGapSeconds is the longest run of missing (NaN) samples that is
	// bridged rather than starting the estimate over: the safety
	// watchdog's stale limit, so that a glitch shorter than it never
	// leaves a reading invalid for longer than itself.
	MaxGapSeconds = 5.0
	// MinSampleRateHz and MaxSampleRateHz bound the rate.
	MinSampleRateHz = 1.0
	MaxSampleRateHz = 1000.0

	// smoothSeconds is the moving average the SCR detector runs on: it
	// takes a converter step of noise off the peaks and troughs and is
	// short against a response's rise (1-3 s).
	smoothSeconds = 0.5
	// hysteresisFraction of MinSCRMicrosiemens is how far the signal
	// falls from a maximum before it is taken as a peak: four steps of an
	// E4's converter (0.0013 µS).
	hysteresisFraction = 0.25
	// onsetFraction of a response's amplitude above its trough marks its
	// onset: the start of the 10-90 % rise time.
	onsetFraction = 0.1
	// maxSCRs bounds the responses remembered over WindowSeconds: one
	// per second is beyond any sleeper's.
	maxSCRs = 64
)

// TonicDelay is the tonic low-pass's group delay at DC, √2/(2π·
// TonicCutoffHz) for a second-order Butterworth (4.5 s): on a steady ramp
// the tonic level is the skin's level TonicDelay before the newest sample.
var TonicDelay = time.Duration(math.Round(math.Sqrt2 / (2 * math.Pi * TonicCutoffHz) * 1e9))

// Reason says why a Reading is invalid.
type Reason uint8

const (
	// ReasonNone: valid.
	ReasonNone Reason = iota
	// ReasonFilling: fewer than WindowSeconds of good samples since the
	// start, a Reset or the last bad sample.
	ReasonFilling
	// ReasonNoContact: a sample below MinContactMicrosiemens.
	ReasonNoContact
	// ReasonOutOfRange: a sample above MaxMicrosiemens.
	ReasonOutOfRange
	// ReasonJump: a change faster than MaxSlopeMicrosiemensPerSecond.
	ReasonJump
	// ReasonFlat: the same value for FlatSeconds.
	ReasonFlat
	// ReasonNonFinite: a NaN or infinite sample: while a gap of them is
	// being bridged, or after one longer than MaxGapSeconds.
	ReasonNonFinite
)

// String returns the reason as used in telemetry: "", "filling",
// "no_contact", "out_of_range", "jump", "flat" or "non_finite".
func (r Reason) String() string {
	switch r {
	case ReasonNone:
		return ""
	case ReasonFilling:
		return "filling"
	case ReasonNoContact:
		return "no_contact"
	case ReasonOutOfRange:
		return "out_of_range"
	case ReasonJump:
		return "jump"
	case ReasonFlat:
		return "flat"
	case ReasonNonFinite:
		return "non_finite"
	}
	return "unknown"
}

// Reading is one estimate of the skin conductance. Its values are
// meaningful only when Valid is set; they are zero otherwise.
type Reading struct {
	// At is when the reading was made (monotonic clock of the caller);
	// Estimate leaves it zero.
	At time.Time
	// TonicMicrosiemens is the skin conductance level, µS.
	TonicMicrosiemens float64
	// PhasicMicrosiemens is the newest smoothed sample less the tonic
	// level, µS (negative while a response recovers below the lagging
	// tonic).
	PhasicMicrosiemens float64
	// SCRPerMinute is the number of responses whose peak lies in the last
	// WindowSeconds (a minute).
	SCRPerMinute int
	// SCRAmplitudeMicrosiemens is their mean trough-to-peak amplitude, µS;
	// 0 when there is none.
	SCRAmplitudeMicrosiemens float64
	// SCROnsetAge is how long before the newest sample the newest of
	// those responses began: its onset on the smoothed signal, which
	// lags the skin by half of smoothSeconds (not counted, so the age
	// never reaches back beyond the response). 0 when none is counted.
	SCROnsetAge time.Duration
	Valid       bool
	// Reason says why the reading is invalid; ReasonNone when valid.
	Reason Reason
}

// SCR is one skin conductance response.
type SCR struct {
	// Onset and Peak are sample numbers counted from the first Add after
	// New or Reset (the first sample is 0). Onset is where the rise
	// began: the last sample before the peak within 10 % of the
	// amplitude above the trough.
	Onset, Peak int64
	// AmplitudeMicrosiemens is peak minus trough of the smoothed signal.
	AmplitudeMicrosiemens float64
}

// ErrRate is returned by New for a sample rate out of range.
var ErrRate = errors.New("eda: invalid sample rate")

// Estimator splits a skin-conductance stream into tonic and phasic parts
// and counts responses. It is not safe for concurrent use; its one owner
// feeds and reads it. Add and Estimate do not allocate.
type Estimator struct {
	fs      float64
	window  int // samples of WindowSeconds
	maxRise int // samples of MaxRiseSeconds
	flatRun int // samples of FlatSeconds
	maxStep float64

	n     int64   // samples since Reset, bad ones included
	good  int     // good samples since the last bad one, up to window
	fault Reason  // the newest bad sample's fault
	prev  float64 // the previous sample, when n > 0
	same  int     // samples equal to their predecessor, in a row
	gap   int     // NaN samples since the last good one, to bridge
	// maxGap is the most NaN samples in a row that are bridged.
	maxGap int

	// The tonic low-pass: a biquad in transposed direct form II.
	b0, b1, b2, a1, a2 float64
	z1, z2, tonic      float64

	// The moving average: the last len(box) good samples.
	box    []float64
	boxN   int // samples in box, up to len(box)
	boxSum float64

	// The smoothed signal's recent history, for onsets: hist[i%len] is
	// smoothed sample i (sample numbers since Reset).
	hist []float64

	// The TTP detector: since the last peak, the lowest smoothed value
	// (falling) or, once it rose by the hysteresis, the highest (rising).
	rising   bool
	lo, hi   float64
	hiAt     int64
	lastPeak int64 // sample number of the last peak, or of the first good sample
	smoothed float64

	scrs    [maxSCRs]SCR // ring of the newest responses
	scrHead int
	scrN    int
}

// New returns an Estimator for samples arriving at sampleRateHz, or
// ErrRate outside MinSampleRateHz..MaxSampleRateHz.
func New(sampleRateHz float64) (*Estimator, error) {
	if !(sampleRateHz >= MinSampleRateHz && sampleRateHz <= MaxSampleRateHz) {
		return nil, fmt.Errorf("%w: %g Hz, want %g..%g", ErrRate, sampleRateHz, MinSampleRateHz, MaxSampleRateHz)
	}
	e := &Estimator{
		fs:      sampleRateHz,
		window:  int(math.Round(WindowSeconds * sampleRateHz)),
		maxRise: max(int(math.Round(MaxRiseSeconds*sampleRateHz)), 1),
		flatRun: int(math.Round(FlatSeconds * sampleRateHz)),
		maxStep: MaxSlopeMicrosiemensPerSecond / sampleRateHz,
		maxGap:  int(MaxGapSeconds * sampleRateHz),
		box:     make([]float64, max(int(math.Round(smoothSeconds*sampleRateHz)), 1)),
	}
	// The onset search reaches MaxRiseSeconds back from a peak confirmed
	// up to WindowSeconds after it.
	e.hist = make([]float64, e.maxRise+e.window+1)
	// Butterworth, second order, by the bilinear transform with the
	// cutoff prewarped.
	k := math.Tan(math.Pi * TonicCutoffHz / sampleRateHz)
	norm := 1 / (1 + math.Sqrt2*k + k*k)
	e.b0 = k * k * norm
	e.b1 = 2 * e.b0
	e.b2 = e.b0
	e.a1 = 2 * (k*k - 1) * norm
	e.a2 = (1 - math.Sqrt2*k + k*k) * norm
	e.Reset()
	return e, nil
}

// Reset forgets every sample: after a gap in the samples.
func (e *Estimator) Reset() {
	e.n, e.fault, e.same = 0, ReasonFilling, 0
	e.restart()
}

// restart empties the filters and the detector, to start on the next good
// sample.
func (e *Estimator) restart() {
	e.good, e.gap = 0, 0
	e.scrN, e.scrHead = 0, 0
	e.rising = false
}

// Add appends one sample in µS, in the order the sensor produced them. A
// sample the sensor failed to deliver is added as NaN: up to MaxGapSeconds
// of them in a row are bridged on the straight line to the next good
// sample, so that a short glitch costs no more than its own length.
func (e *Estimator) Add(us float64) {
	i := e.n
	e.n++
	if math.IsNaN(us) || math.IsInf(us, 0) {
		e.same = 0
		if e.good == 0 || e.gap >= e.maxGap {
			e.fail(ReasonNonFinite)
			return
		}
		e.gap++
		return
	}
	gap := e.gap
	e.gap = 0
	r := e.judge(us, gap)
	prev := e.prev
	e.prev = us
	if r != ReasonNone {
		e.fail(r)
		return
	}
	if e.good == 0 {
		e.start(us, i)
	}
	for j := 1; j <= gap; j++ {
		e.accept(prev+(us-prev)*float64(j)/float64(gap+1), i-int64(gap-j+1))
	}
	e.accept(us, i)
}

// fail records a bad sample: the estimate starts over.
func (e *Estimator) fail(r Reason) {
	e.fault = r
	e.restart()
}

// accept runs good sample us, number i, through the filters and the
// detector.
func (e *Estimator) accept(us float64, i int64) {
	e.good = min(e.good+1, e.window)
	y := e.b0*us + e.z1
	e.z1 = e.b1*us - e.a1*y + e.z2
	e.z2 = e.b2*us - e.a2*y
	e.tonic = y

	j := int(i % int64(len(e.box)))
	e.boxSum += us - e.box[j]
	e.box[j] = us
	e.boxN = min(e.boxN+1, len(e.box))
	s := e.boxSum / float64(e.boxN)
	e.smoothed = s
	e.hist[i%int64(len(e.hist))] = s
	e.detect(s, i)
}

// judge returns the fault of finite sample us, which follows gap bridged
// samples; ReasonNone for a good one.
func (e *Estimator) judge(us float64, gap int) Reason {
	switch {
	case us < MinContactMicrosiemens:
		e.same = 0
		return ReasonNoContact
	case us > MaxMicrosiemens:
		e.same = 0
		return ReasonOutOfRange
	}
	// A stuck converter stays flat: the run is counted across the
	// restarts it causes.
	if us == e.prev && gap == 0 && e.n > 1 {
		e.same++
		if e.same+1 >= e.flatRun {
			return ReasonFlat
		}
		return ReasonNone
	}
	e.same = 0
	// A jump is judged against a good previous sample only: the first one
	// after contact comes back is compared with nothing.
	if e.good > 0 && math.Abs(us-e.prev) > e.maxStep*float64(gap+1) {
		return ReasonJump
	}
	return ReasonNone
}

// start sets the filters to the steady state of a signal at us, sample i
// being the first good one.
func (e *Estimator) start(us float64, i int64) {
	e.z1 = us * (1 - e.b0)
	e.z2 = us * (e.b2 - e.a2)
	e.tonic = us
	for k := range e.box {
		e.box[k] = 0
	}
	e.boxSum, e.boxN = 0, 0
	e.lo, e.hi, e.hiAt = math.Inf(1), 0, i
	e.lastPeak = i
}

// detect runs the trough-to-peak detector on smoothed sample s, number i.
func (e *Estimator) detect(s float64, i int64) {
	hyst := hysteresisFraction * MinSCRMicrosiemens
	if !e.rising {
		e.lo = min(e.lo, s)
		if s >= e.lo+hyst {
			e.rising, e.hi, e.hiAt = true, s, i
		}
		return
	}
	if s > e.hi {
		e.hi, e.hiAt = s, i
		return
	}
	if s > e.hi-hyst {
		return
	}
	// A peak at hiAt: its trough is the lowest point within
	// MaxRiseSeconds before it, after the previous peak, and still in the
	// history; the amplitude is trough to peak. Its onset is the last
	// point before the peak still within onsetFraction of the amplitude
	// above the trough: where the rise began, which a level drifting up
	// before the response (the trough then lies at the window's start)
	// does not move earlier.
	peak := e.hiAt
	from := max(peak-int64(e.maxRise), e.lastPeak, i-int64(len(e.hist))+1)
	low := e.hi
	for k := peak - 1; k >= from; k-- {
		low = min(low, e.hist[k%int64(len(e.hist))])
	}
	amp := e.hi - low
	onset := peak
	for k := peak - 1; k >= from; k-- {
		if e.hist[k%int64(len(e.hist))] <= low+onsetFraction*amp {
			onset = k
			break
		}
	}
	if amp >= MinSCRMicrosiemens {
		e.scrs[e.scrHead] = SCR{Onset: onset, Peak: peak, AmplitudeMicrosiemens: amp}
		e.scrHead = (e.scrHead + 1) % maxSCRs
		e.scrN = min(e.scrN+1, maxSCRs)
	}
	e.lastPeak = peak
	e.rising, e.lo = false, s
}

// SCRs appends to dst the responses whose peak lies within the last
// WindowSeconds, oldest first, and returns it. It allocates only when dst
// is too small.
func (e *Estimator) SCRs(dst []SCR) []SCR {
	for k := e.scrN; k > 0; k-- {
		s := e.scrs[(e.scrHead-k+maxSCRs)%maxSCRs]
		if s.Peak > e.n-1-int64(e.window) {
			dst = append(dst, s)
		}
	}
	return dst
}

// Estimate returns the tonic level, the phasic component and the responses
// of the last WindowSeconds. At is left zero for the caller to stamp.
func (e *Estimator) Estimate() Reading {
	if e.good == 0 {
		return Reading{Reason: e.fault}
	}
	if e.gap > 0 {
		return Reading{Reason: ReasonNonFinite}
	}
	if e.good < e.window {
		return Reading{Reason: ReasonFilling}
	}
	// The low-pass's step response overshoots (about 4 %): after a fast
	// fall the filtered level can pass below every sample that went into
	// it, even below 0. A valid reading's samples are all at least
	// MinContactMicrosiemens, and the tonic level is never reported below
	// that.
	tonic := max(e.tonic, MinContactMicrosiemens)
	r := Reading{
		TonicMicrosiemens:  tonic,
		PhasicMicrosiemens: e.smoothed - tonic,
		Valid:              true,
	}
	sum := 0.0
	for k := e.scrN; k > 0; k-- {
		// Oldest first: the last counted is the newest.
		s := e.scrs[(e.scrHead-k+maxSCRs)%maxSCRs]
		if s.Peak > e.n-1-int64(e.window) {
			r.SCRPerMinute++
			sum += s.AmplitudeMicrosiemens
			r.SCROnsetAge = time.Duration(float64(e.n-1-s.Onset) / e.fs * float64(time.Second))
		}
	}
	if r.SCRPerMinute > 0 {
		r.SCRAmplitudeMicrosiemens = sum / float64(r.SCRPerMinute)
	}
	return r
}
