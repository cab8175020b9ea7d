package eeg

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// Parameters of the estimate; see the package doc for the reasoning.
const (
	// MaxChannels is the most channels an Estimator takes (an ADS1299).
	MaxChannels = 8
	// SegmentSeconds is the Welch segment: 0.25 Hz bins, the resolution
	// of the reference band powers.
	SegmentSeconds = 4
	// MinSampleRateHz is the lowest rate whose Nyquist frequency lies
	// above the gamma band's 40 Hz with room for the anti-alias filter's
	// roll-off.
	MinSampleRateHz = 100
	// MaxSampleRateHz bounds the FFT size (16 kSPS, the ADS1299's
	// fastest).
	MaxSampleRateHz = 16000
	// FlatMicrovolts is the peak-to-peak amplitude over a segment below
	// which a channel is flat. The background EEG of a scalp, asleep or
	// awake, spans tens of µV over 4 s; an ADS1299 input shorted at gain
	// 24 shows about 1 µV peak-to-peak of noise (its datasheet's
	// input-referred noise), and a converter or driver that repeats a
	// value shows none. A lead that comes off mostly floats to a rail or
	// picks up mains hum: saturated or artefact rather than flat.
	FlatMicrovolts = 2.0
	// ArtefactMicrovolts is the peak-to-peak amplitude over a segment
	// above which the segment is an artefact.
	ArtefactMicrovolts = 500.0
	// RecentSegments is how many of the newest segments, taken every
	// RecentHopSeconds, the recent beta/alpha ratio
	// (Channel.RecentBetaAlpha) averages: 8 s of signal, longer than the
	// AASM's 3 s arousal, a new ratio every second. MinRecentClean of
	// them must be clean.
	RecentSegments   = 5
	RecentHopSeconds = 1
	MinRecentClean   = 3
)

// Opts configures an Estimator.
type Opts struct {
	// Channels is how many samples each frame holds, 1..MaxChannels.
	Channels int
	// SampleRateHz is the frames' rate, MinSampleRateHz..MaxSampleRateHz,
	// with a whole number of samples in SegmentSeconds (so that the
	// bins fall on the band edges).
	SampleRateHz float64
	// SpanSeconds is the analysis span the band powers average, at least
	// SegmentSeconds: its segments are the last (SpanSeconds −
	// SegmentSeconds)/(SegmentSeconds/2) + 1, rounded down.
	SpanSeconds float64
	// FullScaleMicrovolts is the amplifier's full scale: a sample whose
	// magnitude reaches it to within 0.01 % is saturated. An ADS1299 at
	// gain 24 with its 4.5 V reference: 4.5 V / 24 = 187 500 µV.
	FullScaleMicrovolts float64
}

// DefaultOpts are an ADS1299 at 250 sps, gain 24, eight channels, over the
// last 30 s (14 segments, a new one every 2 s).
var DefaultOpts = Opts{
	Channels:            8,
	SampleRateHz:        250,
	SpanSeconds:         30,
	FullScaleMicrovolts: 187500,
}

// ErrOpts is wrapped by every error of New about its options.
var ErrOpts = errors.New("eeg: invalid options")

// Estimator computes Welch band powers of each channel over a sliding span.
// It is not safe for concurrent use; its one owner feeds and reads it. Add
// and Estimate do not allocate.
type Estimator struct {
	opts     Opts
	n        int // samples per segment
	hop      int // samples between segment starts
	span     int // segments in the analysis span
	minClean int // clean segments a valid channel needs
	clipAt   float64

	ring [][]float64 // per channel, the last n samples
	head int         // next slot to write
	due  int         // samples until the next span segment is complete

	// The recent segments, one every recentHop samples, in a ring of
	// RecentSegments per channel (recDue counts down to the next).
	recentHop int
	recDue    int
	recPow    [][]Powers
	recReason [][]Reason
	recHead   int
	recCount  int
	curPow    []Powers // the newest segment's, per channel
	curReason []Reason

	// Per channel, the span's segments in a ring: their band powers and
	// verdicts. segHead is the next slot, segCount the segments held.
	segPow    [][]Powers
	segReason [][]Reason
	segHead   int
	segCount  int

	welch *welch
	seg   []float64 // one segment in time order
}

// New returns an Estimator for opts, or an error wrapping ErrOpts that
// names every option out of range.
func New(opts Opts) (*Estimator, error) {
	var errs []error
	if opts.Channels < 1 || opts.Channels > MaxChannels {
		errs = append(errs, fmt.Errorf("%w: Channels %d, want 1..%d", ErrOpts, opts.Channels, MaxChannels))
	}
	n := opts.SampleRateHz * SegmentSeconds
	switch {
	case !(opts.SampleRateHz >= MinSampleRateHz && opts.SampleRateHz <= MaxSampleRateHz):
		errs = append(errs, fmt.Errorf("%w: SampleRateHz %g, want %d..%d", ErrOpts, opts.SampleRateHz, MinSampleRateHz, MaxSampleRateHz))
	case n != math.Trunc(n):
		errs = append(errs, fmt.Errorf("%w: SampleRateHz %g gives %g samples per %d s segment, want a whole number", ErrOpts, opts.SampleRateHz, n, SegmentSeconds))
	}
	if !(opts.SpanSeconds >= SegmentSeconds && opts.SpanSeconds <= 3600) {
		errs = append(errs, fmt.Errorf("%w: SpanSeconds %g, want %d..3600", ErrOpts, opts.SpanSeconds, SegmentSeconds))
	}
	if !(opts.FullScaleMicrovolts > ArtefactMicrovolts) || math.IsInf(opts.FullScaleMicrovolts, 0) {
		errs = append(errs, fmt.Errorf("%w: FullScaleMicrovolts %g, want finite and above %g", ErrOpts, opts.FullScaleMicrovolts, ArtefactMicrovolts))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	seg := int(n)
	span := int((opts.SpanSeconds-SegmentSeconds)/(SegmentSeconds/2.0)) + 1
	e := &Estimator{
		opts:      opts,
		n:         seg,
		hop:       seg / 2,
		span:      span,
		minClean:  (span + 1) / 2,
		clipAt:    opts.FullScaleMicrovolts * (1 - 1e-4),
		ring:      make([][]float64, opts.Channels),
		segPow:    make([][]Powers, opts.Channels),
		segReason: make([][]Reason, opts.Channels),
		welch:     newWelch(seg, opts.SampleRateHz),
		seg:       make([]float64, seg),
		due:       seg,
		recentHop: int(opts.SampleRateHz * RecentHopSeconds),
		recDue:    seg,
		recPow:    make([][]Powers, opts.Channels),
		recReason: make([][]Reason, opts.Channels),
		curPow:    make([]Powers, opts.Channels),
		curReason: make([]Reason, opts.Channels),
	}
	for c := range opts.Channels {
		e.ring[c] = make([]float64, seg)
		e.segPow[c] = make([]Powers, span)
		e.segReason[c] = make([]Reason, span)
		e.recPow[c] = make([]Powers, RecentSegments)
		e.recReason[c] = make([]Reason, RecentSegments)
	}
	return e, nil
}

// Opts returns the options the Estimator was made with.
func (e *Estimator) Opts() Opts { return e.opts }

// Add appends one frame: one sample per channel in µV, in the order the
// amplifier produced them. It panics if len(frame) is not Opts.Channels (a
// wiring error). Once a segment is full, every RecentHopSeconds of frames
// it judges and transforms the newest segment of every channel, and keeps
// it for the recent ratio; every SegmentSeconds/2, for the span too.
func (e *Estimator) Add(frame []float64) {
	if len(frame) != len(e.ring) {
		panic("eeg: Add: frame length differs from Opts.Channels")
	}
	for c, v := range frame {
		e.ring[c][e.head] = v
	}
	e.head++
	if e.head == e.n {
		e.head = 0
	}
	e.due--
	e.recDue--
	span, recent := e.due == 0, e.recDue == 0
	if !span && !recent {
		return
	}
	e.segment()
	if recent {
		e.recDue = e.recentHop
		for c := range e.ring {
			e.recPow[c][e.recHead], e.recReason[c][e.recHead] = e.curPow[c], e.curReason[c]
		}
		e.recHead = (e.recHead + 1) % RecentSegments
		e.recCount = min(e.recCount+1, RecentSegments)
	}
	if span {
		e.due = e.hop
		e.keepSpan()
	}
}

// Reset forgets every sample and segment: after a gap of unknown length.
func (e *Estimator) Reset() {
	e.head, e.due, e.segHead, e.segCount = 0, e.n, 0, 0
	e.recDue, e.recHead, e.recCount = e.n, 0, 0
}

// segment judges the newest segment of every channel and takes its band
// powers when it is clean (curPow, curReason).
func (e *Estimator) segment() {
	for c, ring := range e.ring {
		// The ring holds exactly one segment; head is its oldest sample.
		k := copy(e.seg, ring[e.head:])
		copy(e.seg[k:], ring[:e.head])
		r := e.judge(e.seg)
		e.curReason[c] = r
		if r == ReasonNone {
			e.curPow[c] = e.welch.bandPowers(e.seg)
		} else {
			e.curPow[c] = Powers{}
		}
	}
}

// keepSpan keeps the newest segment of every channel in the span's ring.
func (e *Estimator) keepSpan() {
	for c := range e.ring {
		e.segPow[c][e.segHead], e.segReason[c][e.segHead] = e.curPow[c], e.curReason[c]
	}
	e.segHead++
	if e.segHead == e.span {
		e.segHead = 0
	}
	if e.segCount < e.span {
		e.segCount++
	}
}

// judge returns the segment's fault, ReasonNone when it is clean.
func (e *Estimator) judge(seg []float64) Reason {
	lo, hi := math.Inf(1), math.Inf(-1)
	clipped := false
	for _, v := range seg {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return ReasonNonFinite
		}
		if math.Abs(v) >= e.clipAt {
			clipped = true
		}
		lo, hi = min(lo, v), max(hi, v)
	}
	switch {
	case clipped:
		return ReasonSaturated
	case hi-lo < FlatMicrovolts:
		return ReasonFlat
	case hi-lo > ArtefactMicrovolts:
		return ReasonArtefact
	}
	return ReasonNone
}

// Estimate returns the band powers of every channel over the span and
// their summary. At is left zero for the caller to stamp.
func (e *Estimator) Estimate() Reading {
	var r Reading
	r.NumChannels = len(e.ring)
	for c := range e.ring {
		r.Channels[c] = e.channel(c)
		if r.Channels[c].Valid {
			ch := &r.Channels[c]
			ch.RecentBetaAlpha, ch.RecentAge, ch.RecentValid = e.recent(c)
		}
	}
	r.Summary = summarise(r.Channels[:r.NumChannels])
	return r
}

// recent returns channel c's beta/alpha over the clean segments among its
// newest RecentSegments recent ones, how long before the newest sample the
// time lies that it describes, and whether at least MinRecentClean of them
// were clean (with power in both bands). The time is the mean of the
// clean segments' midpoints: on a steady ramp of both powers the ratio of
// their means is the ratio there.
func (e *Estimator) recent(c int) (float64, time.Duration, bool) {
	var beta, alpha float64
	clean, hops := 0, 0
	for i := range e.recCount {
		j := (e.recHead - 1 - i + RecentSegments) % RecentSegments
		if e.recReason[c][j] != ReasonNone {
			continue
		}
		clean++
		hops += i
		beta += e.recPow[c][j][Beta]
		alpha += e.recPow[c][j][Alpha]
	}
	if clean < MinRecentClean || !(alpha > 0) || math.IsInf(beta, 0) {
		return 0, 0, false
	}
	// Samples from the newest segment's end to now, then from there back
	// to the mean of the clean segments' midpoints.
	since := e.recentHop - e.recDue
	samples := float64(since) + float64(e.n)/2 + float64(e.recentHop)*float64(hops)/float64(clean)
	return beta / alpha, time.Duration(samples / e.opts.SampleRateHz * float64(time.Second)), true
}

// channel estimates channel c over the span.
func (e *Estimator) channel(c int) Channel {
	var ch Channel
	if e.segCount < e.span {
		ch.Reason = ReasonFilling
		return ch
	}
	newest := e.segHead - 1
	if newest < 0 {
		newest = e.span - 1
	}
	switch r := e.segReason[c][newest]; r {
	case ReasonFlat, ReasonSaturated:
		ch.Reason = r
		return ch
	}
	// The newest rejected segment names the fault when too few are clean.
	var sum Powers
	clean, fault := 0, ReasonNone
	for i := range e.span {
		j := newest - i
		if j < 0 {
			j += e.span
		}
		if r := e.segReason[c][j]; r != ReasonNone {
			if fault == ReasonNone {
				fault = r
			}
			continue
		}
		clean++
		for b, p := range e.segPow[c][j] {
			sum[b] += p
		}
	}
	if clean < e.minClean {
		ch.Reason = fault
		return ch
	}
	total := 0.0
	for b := range sum {
		ch.Abs[b] = sum[b] / float64(clean)
		total += ch.Abs[b]
	}
	// A clean segment has at least FlatMicrovolts peak-to-peak, but all
	// of it may lie outside 0.5–40 Hz, or a band may hold no power at all
	// (a synthetic or stuck input, never a scalp): the ratios would be
	// undefined.
	if math.IsInf(total, 0) || slices.Contains(ch.Abs[:], 0) {
		return Channel{Reason: ReasonFlat}
	}
	for b := range sum {
		ch.Rel[b] = ch.Abs[b] / total
	}
	ch.BetaAlpha = ch.Abs[Beta] / ch.Abs[Alpha]
	ch.FastSlow = (ch.Abs[Beta] + ch.Abs[Gamma]) / (ch.Abs[Delta] + ch.Abs[Theta])
	ch.Segments = clean
	ch.Valid = true
	return ch
}
