package temp

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Parameters of the estimate; see the package doc for their sources.
const (
	// SmoothSeconds is the span the temperature is averaged over.
	SmoothSeconds = 10.0
	// RateSeconds is the span the rate of change is fitted over, and the
	// good signal a valid reading needs.
	RateSeconds = 30.0
	// MinCelsius and MaxCelsius bound a sample of skin.
	MinCelsius = 30.0
	MaxCelsius = 40.0
	// MaxRateCelsiusPerMinute bounds the rate of change of skin
	// temperature, either way.
	MaxRateCelsiusPerMinute = 1.0
	// MaxGapSeconds is the longest run of missing (NaN) samples that is
	// bridged rather than starting the estimate over: the safety
	// watchdog's stale limit.
	MaxGapSeconds = 5.0
	// MaxRecent bounds Reading.Recent: SmoothSeconds at 6.4 Hz.
	MaxRecent = 64
	// MinSampleRateHz and MaxSampleRateHz bound the rate.
	MinSampleRateHz = 0.2
	MaxSampleRateHz = 100.0
)

// Reason says why a Reading is invalid.
type Reason uint8

const (
	// ReasonNone: valid.
	ReasonNone Reason = iota
	// ReasonFilling: fewer than RateSeconds of good samples since the
	// start, a Reset or the last bad sample.
	ReasonFilling
	// ReasonBelowRange: a sample below MinCelsius (a sensor off the body).
	ReasonBelowRange
	// ReasonAboveRange: a sample above MaxCelsius.
	ReasonAboveRange
	// ReasonNonFinite: a NaN or infinite sample: while a gap of them is
	// being bridged, or after one longer than MaxGapSeconds.
	ReasonNonFinite
	// ReasonChangingFast: the temperature changes faster than
	// MaxRateCelsiusPerMinute (a sensor falling off or just put on).
	ReasonChangingFast
)

// String returns the reason as used in telemetry: "", "filling",
// "below_range", "above_range", "non_finite" or "changing_fast".
func (r Reason) String() string {
	switch r {
	case ReasonNone:
		return ""
	case ReasonFilling:
		return "filling"
	case ReasonBelowRange:
		return "below_range"
	case ReasonAboveRange:
		return "above_range"
	case ReasonNonFinite:
		return "non_finite"
	case ReasonChangingFast:
		return "changing_fast"
	}
	return "unknown"
}

// Reading is one estimate of the skin temperature. Its values are
// meaningful only when Valid is set; they are zero otherwise.
type Reading struct {
	// At is when the reading was made (monotonic clock of the caller);
	// Estimate leaves it zero.
	At time.Time
	// Celsius is the mean of the last SmoothSeconds of samples, °C.
	Celsius float64
	// Age is how long before the newest sample the time lies that Celsius
	// describes: the midpoint of the samples averaged ((SmoothSeconds·fs
	// − 1)/2 sample periods, 4.5 s at 1 Hz), where the mean over a steady
	// ramp equals the temperature. Zero when invalid.
	Age time.Duration
	// Recent holds the samples averaged, newest first: Recent[k] is the
	// sample k·RecentStep before the newest. At most MaxRecent of them;
	// at a rate with more samples in SmoothSeconds, every so many (the
	// stride RecentStep shows). NumRecent is how many; zero when invalid.
	// With them a caller can tell how long the samples have been past a
	// level, which a mean cannot: a step fills a mean's window from one
	// end.
	Recent     [MaxRecent]float64
	NumRecent  int
	RecentStep time.Duration
	// RateCelsiusPerMinute is the least-squares slope over the last
	// RateSeconds, °C/min.
	RateCelsiusPerMinute float64
	Valid                bool
	// Reason says why the reading is invalid; ReasonNone when valid.
	Reason Reason
}

// ErrRate is returned by New for a sample rate out of range.
var ErrRate = errors.New("temp: invalid sample rate")

// Estimator smooths a temperature stream and judges it. It is not safe for
// concurrent use; its one owner feeds and reads it. Add and Estimate do not
// allocate.
type Estimator struct {
	fs     float64
	smooth int       // samples of SmoothSeconds
	ring   []float64 // the last RateSeconds of good samples
	head   int       // next slot to write
	good   int       // good samples since the last bad one, up to len(ring)
	fault  Reason    // the newest bad sample's fault
	gap    int       // NaN samples since the last good one, to bridge
	maxGap int       // the most NaN samples in a row that are bridged
}

// New returns an Estimator for samples arriving at sampleRateHz, or ErrRate
// outside MinSampleRateHz..MaxSampleRateHz.
func New(sampleRateHz float64) (*Estimator, error) {
	if !(sampleRateHz >= MinSampleRateHz && sampleRateHz <= MaxSampleRateHz) {
		return nil, fmt.Errorf("%w: %g Hz, want %g..%g", ErrRate, sampleRateHz, MinSampleRateHz, MaxSampleRateHz)
	}
	n := max(int(math.Round(RateSeconds*sampleRateHz)), 3)
	return &Estimator{
		fs:     sampleRateHz,
		smooth: min(max(int(math.Round(SmoothSeconds*sampleRateHz)), 1), n),
		ring:   make([]float64, n),
		fault:  ReasonFilling,
		maxGap: int(MaxGapSeconds * sampleRateHz),
	}, nil
}

// Reset forgets every sample: after a gap in the samples.
func (e *Estimator) Reset() {
	e.head, e.good, e.gap, e.fault = 0, 0, 0, ReasonFilling
}

// Add appends one sample in °C, in the order the sensor produced them. A
// sample the sensor failed to deliver is added as NaN: up to MaxGapSeconds
// of them in a row are bridged on the straight line to the next good
// sample.
func (e *Estimator) Add(celsius float64) {
	switch {
	case math.IsNaN(celsius) || math.IsInf(celsius, 0):
		if e.good == 0 || e.gap >= e.maxGap {
			e.bad(ReasonNonFinite)
			return
		}
		e.gap++
		return
	case celsius < MinCelsius:
		e.bad(ReasonBelowRange)
		return
	case celsius > MaxCelsius:
		e.bad(ReasonAboveRange)
		return
	}
	if gap := e.gap; gap > 0 {
		e.gap = 0
		prev := e.ring[(e.head+len(e.ring)-1)%len(e.ring)]
		for j := 1; j <= gap; j++ {
			e.put(prev + (celsius-prev)*float64(j)/float64(gap+1))
		}
	}
	e.put(celsius)
}

func (e *Estimator) put(celsius float64) {
	e.ring[e.head] = celsius
	e.head++
	if e.head == len(e.ring) {
		e.head = 0
	}
	e.good = min(e.good+1, len(e.ring))
}

func (e *Estimator) bad(r Reason) {
	e.fault = r
	e.good, e.gap = 0, 0
}

// Estimate returns the smoothed temperature and its rate of change. At is
// left zero for the caller to stamp.
func (e *Estimator) Estimate() Reading {
	n := len(e.ring)
	if e.good == 0 {
		return Reading{Reason: e.fault}
	}
	if e.gap > 0 {
		return Reading{Reason: ReasonNonFinite}
	}
	if e.good < n {
		return Reading{Reason: ReasonFilling}
	}
	// The ring is full; head is its oldest sample. Least squares over
	// x = 0..n-1 samples: slope = Σ(x - x̄)(y - ȳ) / Σ(x - x̄)².
	var smooth, sxy float64
	xm := float64(n-1) / 2
	for k := range n {
		y := e.ring[(e.head+k)%n]
		sxy += (float64(k) - xm) * y
		if k >= n-e.smooth {
			smooth += y
		}
	}
	sxx := float64(n) * float64(n*n-1) / 12
	rate := sxy / sxx * e.fs * 60
	if math.Abs(rate) > MaxRateCelsiusPerMinute {
		return Reading{Reason: ReasonChangingFast}
	}
	r := Reading{
		Celsius:              smooth / float64(e.smooth),
		Age:                  time.Duration(float64(e.smooth-1) / 2 / e.fs * float64(time.Second)),
		RateCelsiusPerMinute: rate,
		Valid:                true,
	}
	stride := (e.smooth + MaxRecent - 1) / MaxRecent
	r.RecentStep = time.Duration(float64(stride) / e.fs * float64(time.Second))
	for k := 0; k < e.smooth && r.NumRecent < MaxRecent; k += stride {
		r.Recent[r.NumRecent] = e.ring[(e.head-1-k+2*n)%n]
		r.NumRecent++
	}
	return r
}
