package sim

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"sync"
	"time"
)

// EEGBand is one of the EEG's frequency bands.
type EEGBand int

// The bands, with their edges in Hz: [Lo, Hi).
const (
	Delta EEGBand = iota // 0.5-4 Hz
	Theta                // 4-8 Hz
	Alpha                // 8-12 Hz
	Sigma                // 12-16 Hz (sleep spindles)
	Beta                 // 16-30 Hz
	Gamma                // 30-40 Hz
	// EEGBands is how many bands there are.
	EEGBands
)

// EEGBandEdges are each band's lower and upper edge in Hz, [lo, hi).
var EEGBandEdges = [EEGBands][2]float64{{0.5, 4}, {4, 8}, {8, 12}, {12, 16}, {16, 30}, {30, 40}}

// eegMargin is the width, Hz, kept clear of sinusoids at each edge of a
// band (see EEGSignal).
const eegMargin = 0.5

// eegSpacing is the width, Hz, of the slice of a band each sinusoid
// stands for: narrower in the slow bands, where sleep EEG has its
// structure.
var eegSpacing = [EEGBands]float64{0.25, 0.25, 0.25, 0.25, 0.5, 0.5}

// EEGOpts configures an EEGSignal.
type EEGOpts struct {
	// Bands is each band's power in µV² (the variance of the signal
	// band-limited to it), indexed by EEGBand.
	Bands [EEGBands]float64
	// PinkNoise is the level K (µV²) of 1/f noise: its spectral density
	// is K/f µV²/Hz inside each band's core (see EEGSignal), so it adds
	// K·ln((hi−m)/(lo+m)) to the power of a band [lo, hi), m its margin.
	PinkNoise float64
	// BlinksPerMinute is the mean rate of eye blinks (a Poisson process):
	// each a 0.3 s raised-cosine deflection of 100-200 µV on the
	// Frontal channels.
	BlinksPerMinute float64
	// Frontal are the channels (1..8) whose electrodes are frontal, where
	// blinks show; nil means channels 1 and 2.
	Frontal []int
	// MovementsPerMinute is the mean rate of movement artefacts (a
	// Poisson process): each a 0.5-2 s burst of slow (1-3 Hz) swings of
	// 200-600 µV on every channel, under a Hann window.
	MovementsPerMinute float64
	// Start is when the artefact processes start; none come before. It
	// is also the origin of the sinusoids' phases; without it their
	// origin is the Unix epoch (a time.Time's zero is too far back for a
	// time.Duration, and every time would read as the same instant).
	Start time.Time
	// Seed makes the signal reproducible: the same options give the same
	// signal.
	Seed uint64
}

// EEGSignal synthesises 8 channels of EEG as a function of time, to use as
// an ADS1299 model's signal (its At method).
//
// Each band [lo, hi) of power P (µV²) keeps a margin m = eegMargin
// (0.5 Hz) clear at each edge, and its core [lo+m, hi−m) is cut into
// slices Δ wide (0.25 Hz up to 16 Hz, 0.5 Hz above); each slice [a, a+Δ)
// is one sinusoid at a random frequency inside it (at least 0.1·Δ from its
// edges, so a periodogram of a long window sees it within the slice) with
// power P·Δ/(hi−lo−2m) + K·ln((a+Δ)/a), K the PinkNoise level: amplitude
// √(2·power). So the band's power is exactly P + K·ln((hi−m)/(lo+m)) (its
// BandPower), its core's spectrum flat plus 1/f, and a window much longer
// than 1/Δ (4 s) resolves it. The margin keeps a strong band from leaking
// into a weak neighbour through a Welch estimate's window: a 4 s Hann
// window's main lobe reaches ±0.5 Hz, so with it a band's estimate sees
// only the −31 dB side lobes of its neighbours' sinusoids (without it,
// delta at 386 µV² put 40 % more power into a theta of 24.5 µV²). The frequencies are shared by all channels, the phases drawn for each
// channel: the channels have the same spectra and are uncorrelated.
// Artefacts add to this: blinks and movements, whose times and shapes are
// drawn from Seed in order of time. An EEGSignal keeps the artefacts it has
// drawn (a few hundred kilobytes a night); a query more than an hour past
// the last one skips the time between (no artefact is drawn for it), so a
// clock that jumps does not draw years of blinks. Its methods are safe for
// concurrent use.
type EEGSignal struct {
	freq    []float64                 // Hz, one per sinusoid
	power   []float64                 // µV²
	band    []EEGBand                 // the band of each sinusoid
	quad    [][MaxEEGChannels]float64 // amplitude·cos(phase), per channel
	inph    [][MaxEEGChannels]float64 // amplitude·sin(phase)
	frontal [MaxEEGChannels]bool
	start   time.Time
	blinks  artefacts
	moves   artefacts

	mu     sync.Mutex
	scale  func(time.Time) [EEGBands]float64 // SetBandScale
	cached bool
	at     time.Time
	values [MaxEEGChannels]float64
	// The instant queried before at, if hasPrev.
	prevAt  time.Time
	hasPrev bool
	// The block ahead (see At): blockN values from blockAt, step apart;
	// blockN 0: none.
	blockAt   time.Time
	step      time.Duration
	blockN    int
	blockVals [eegBlock][MaxEEGChannels]float64
}

// eegBlock is how many instants At computes at once once its queries
// step regularly (128 ms at 250 sps); eegMaxStep the longest step it
// counts as regular.
const (
	eegBlock   = 32
	eegMaxStep = 50 * time.Millisecond
)

// MaxEEGChannels is how many channels an EEGSignal has.
const MaxEEGChannels = 8

// NewEEGSignal returns the signal o describes. Negative or non-finite
// powers and rates, and frontal channels outside 1..8, are errors.
func NewEEGSignal(o EEGOpts) (*EEGSignal, error) {
	var errs []error
	for b, p := range o.Bands {
		if !(p >= 0) || math.IsInf(p, 0) {
			errs = append(errs, fmt.Errorf("band %d power %v µV², want a finite value ≥ 0", b, p))
		}
	}
	for _, v := range []struct {
		name string
		v    float64
	}{{"PinkNoise", o.PinkNoise}, {"BlinksPerMinute", o.BlinksPerMinute}, {"MovementsPerMinute", o.MovementsPerMinute}} {
		if !(v.v >= 0) || math.IsInf(v.v, 0) {
			errs = append(errs, fmt.Errorf("%s %v, want a finite value ≥ 0", v.name, v.v))
		}
	}
	frontal := o.Frontal
	if frontal == nil {
		frontal = []int{1, 2}
	}
	for _, ch := range frontal {
		if ch < 1 || ch > MaxEEGChannels {
			errs = append(errs, fmt.Errorf("frontal channel %d, want 1 to 8", ch))
		}
	}
	if (o.BlinksPerMinute > 0 || o.MovementsPerMinute > 0) && o.Start.IsZero() {
		errs = append(errs, errors.New("artefacts need a Start time"))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("sim: eeg: %w", errors.Join(errs...))
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0xEE6))
	s := &EEGSignal{
		start:  origin(o.Start),
		blinks: artefacts{rate: o.BlinksPerMinute / 60, rng: rand.New(rand.NewPCG(o.Seed, 0xB11))},
		moves:  artefacts{rate: o.MovementsPerMinute / 60, rng: rand.New(rand.NewPCG(o.Seed, 0x30E))},
	}
	s.blinks.draw = drawBlink
	s.moves.draw = drawMovement
	for _, ch := range frontal {
		s.frontal[ch-1] = true
	}
	for b, edges := range EEGBandEdges {
		lo, hi, d := edges[0]+eegMargin, edges[1]-eegMargin, eegSpacing[b]
		for a := lo; a < hi-1e-9; a += d {
			p := o.Bands[b]*d/(hi-lo) + o.PinkNoise*math.Log((a+d)/a)
			if p == 0 {
				continue
			}
			amp := math.Sqrt(2 * p)
			s.freq = append(s.freq, a+(0.1+0.8*rng.Float64())*d)
			s.power = append(s.power, p)
			s.band = append(s.band, EEGBand(b))
			var q, i [MaxEEGChannels]float64
			for ch := range MaxEEGChannels {
				ph := 2 * math.Pi * rng.Float64()
				q[ch], i[ch] = amp*math.Cos(ph), amp*math.Sin(ph)
			}
			s.quad, s.inph = append(s.quad, q), append(s.inph, i)
		}
	}
	return s, nil
}

// origin is the time the sinusoids' phases count from: start, or the Unix
// epoch without one.
func origin(start time.Time) time.Time {
	if start.IsZero() {
		return time.Unix(0, 0)
	}
	return start
}

// BandPower returns the power, in µV², the signal has in band b without its
// artefacts: the band's configured power plus its share of the 1/f noise.
func (s *EEGSignal) BandPower(b EEGBand) float64 {
	lo, hi := EEGBandEdges[b][0], EEGBandEdges[b][1]
	p := 0.0
	for i, f := range s.freq {
		if f >= lo && f < hi {
			p += s.power[i]
		}
	}
	return p
}

// SetBandScale makes the bands' amplitudes follow scale: at time t each
// band's sinusoids (its configured power and its share of the 1/f noise)
// are multiplied by scale(t)[band], so its power by the square. A scenario
// whose band powers change through the night builds the signal with 1 µV²
// in each band and scales each by the square root of its power. scale is
// called with the signal's lock held; nil restores constant bands.
func (s *EEGSignal) SetBandScale(scale func(t time.Time) [EEGBands]float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scale, s.cached, s.hasPrev, s.blockN = scale, false, false, 0
}

// At returns channel ch's (1..8) value in µV at time t; 0 for another ch.
//
// A model reads its channels at instants a fixed step apart (an ADC's
// conversions). Once two queries in a row each came the same step (at most
// eegMaxStep) after the one before, At computes eegBlock instants on that
// grid at once, the sinusoids' parameters read once for all of them, and
// answers the following queries on the grid from the block; a query just
// past the block starts the next. A reader whose steps vary (one slower
// than the chip, two readers on grids of their own) gets each instant
// computed alone, as before blocks. A value is the same, to the bit,
// however it was computed (TestEEGSignalBlocksGiveTheSameValues).
func (s *EEGSignal) At(t time.Time, ch int) float64 {
	if ch < 1 || ch > MaxEEGChannels {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cached && t.Equal(s.at) {
		return s.values[ch-1]
	}
	if k, ok := s.inBlock(t); ok {
		s.prevAt, s.hasPrev = s.at, s.cached
		s.values, s.at, s.cached = s.blockVals[k], t, true
		return s.values[ch-1]
	}
	step, regular := t.Sub(s.at), false
	switch {
	case s.blockN > 0 && t.Equal(s.blockAt.Add(time.Duration(s.blockN)*s.step)):
		step, regular = s.step, true // the instant after the block: the next block
	case s.cached && s.hasPrev:
		regular = step > 0 && step <= eegMaxStep && step == s.at.Sub(s.prevAt)
	}
	s.prevAt, s.hasPrev = s.at, s.cached
	if regular {
		s.compute(t, step, eegBlock)
		s.values = s.blockVals[0]
	} else {
		s.compute(t, 0, 1)
		s.blockN = 0
	}
	s.at, s.cached = t, true
	return s.values[ch-1]
}

// inBlock says which of the block's instants t is, if it is one.
func (s *EEGSignal) inBlock(t time.Time) (int, bool) {
	if s.blockN == 0 || t.Before(s.blockAt) {
		return 0, false
	}
	k := t.Sub(s.blockAt) / s.step
	if k >= time.Duration(s.blockN) || !s.blockAt.Add(k*s.step).Equal(t) {
		return 0, false
	}
	return int(k), true
}

// compute evaluates every channel at n instants from t, step apart:
// sin(ωt + φ) = sin ωt·cos φ + cos ωt·sin φ, one Sincos per sinusoid and
// instant for all channels. One instant (n 1) goes to s.values, a block
// (n eegBlock) to the block ahead.
//
// The loops work on local arrays: each sinusoid's frequency, band and
// amplitudes are read from the heap once for all n instants, not once per
// instant and channel, which the race detector would otherwise check one
// read at a time. Each value's arithmetic, in its order, is that of the
// instant computed alone, so no value depends on which instants were read
// before it.
func (s *EEGSignal) compute(t time.Time, step time.Duration, n int) {
	var (
		secs  [eegBlock]float64
		gains [eegBlock][EEGBands]float64
		acc   [eegBlock][MaxEEGChannels]float64
	)
	for k := range n {
		at := t.Add(time.Duration(k) * step)
		secs[k] = at.Sub(s.start).Seconds()
		gains[k] = [EEGBands]float64{1, 1, 1, 1, 1, 1}
		if s.scale != nil {
			gains[k] = s.scale(at)
		}
	}
	for i, f := range s.freq {
		b := s.band[i]
		q, in := s.quad[i], s.inph[i]
		for k := range n {
			sn, cs := math.Sincos(2 * math.Pi * f * secs[k])
			sn, cs = sn*gains[k][b], cs*gains[k][b]
			for ch := range MaxEEGChannels {
				acc[k][ch] += sn*q[ch] + cs*in[ch]
			}
		}
	}
	for k := range n {
		sec := secs[k]
		if sec < 0 {
			continue
		}
		for _, e := range s.blinks.around(sec) {
			b := e.value(sec, 0)
			for ch := range MaxEEGChannels {
				if s.frontal[ch] {
					acc[k][ch] += b
				}
			}
		}
		for _, e := range s.moves.around(sec) {
			for ch := range MaxEEGChannels {
				acc[k][ch] += e.value(sec, ch)
			}
		}
	}
	if n == 1 {
		s.values = acc[0]
		return
	}
	s.blockVals, s.blockAt, s.step, s.blockN = acc, t, step, n
}

// artefact is one blink or movement: a windowed waveform from start for
// dur seconds.
type artefact struct {
	start, dur float64 // s since EEGOpts.Start
	amp        float64 // µV
	freq       float64 // Hz of a movement's swings; 0 for a blink
	phase      [MaxEEGChannels]float64
}

const (
	maxArtefact     = 2.0    // s, the longest artefact
	artefactHorizon = 3600.0 // s: a query further past the drawn artefacts skips ahead
)

// value is the artefact's contribution at sec on channel ch (0-based).
func (e *artefact) value(sec float64, ch int) float64 {
	x := (sec - e.start) / e.dur
	if x < 0 || x > 1 {
		return 0
	}
	w := (1 - math.Cos(2*math.Pi*x)) / 2 // Hann window, peak 1 at the middle
	if e.freq == 0 {
		return e.amp * w
	}
	return e.amp * w * math.Sin(2*math.Pi*e.freq*(sec-e.start)+e.phase[ch])
}

func drawBlink(rng *rand.Rand, start float64) artefact {
	return artefact{start: start, dur: 0.3, amp: 100 + 100*rng.Float64()}
}

func drawMovement(rng *rand.Rand, start float64) artefact {
	e := artefact{start: start, dur: 0.5 + 1.5*rng.Float64(), amp: 200 + 400*rng.Float64(), freq: 1 + 2*rng.Float64()}
	for ch := range e.phase {
		e.phase[ch] = 2 * math.Pi * rng.Float64()
	}
	return e
}

// artefacts is a Poisson process of artefacts, drawn in order of time as
// far as it has been asked about.
type artefacts struct {
	rate   float64 // per second
	rng    *rand.Rand
	draw   func(*rand.Rand, float64) artefact
	events []artefact // by start
	until  float64    // events are drawn up to here
}

// around returns the artefacts that may be under way at sec.
func (a *artefacts) around(sec float64) []artefact {
	if a.rate == 0 {
		return nil
	}
	if sec > a.until+artefactHorizon {
		// A jump of the clock: nothing is drawn for the time skipped.
		a.until = sec - maxArtefact
	}
	for a.until <= sec {
		a.until += a.rng.ExpFloat64() / a.rate
		a.events = append(a.events, a.draw(a.rng, a.until))
	}
	i := sort.Search(len(a.events), func(i int) bool { return a.events[i].start > sec })
	j := sort.Search(i, func(j int) bool { return a.events[j].start >= sec-maxArtefact })
	return a.events[j:i]
}
