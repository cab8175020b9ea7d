package eeg

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// tone is one sinusoid: amplitude µV, frequency Hz.
type tone struct{ amp, hz float64 }

// bandTones put one tone in every band. Each lies on a bin of the 0.25 Hz
// grid, an even number of bins above its band's lower edge, except theta's,
// which lies an odd number above it (5.25 Hz: bin 21, its band starts at
// bin 16).
var bandTones = [NumBands]tone{
	Delta: {40, 2},
	Theta: {15, 5.25},
	Alpha: {20, 10},
	Sigma: {8, 14},
	Beta:  {5, 20},
	Gamma: {2, 35},
}

// toneBandPower is the band power the Welch-Simpson convention gives a tone
// on a bin: a periodic Hann window spreads it over that bin and its two
// neighbours with PSDs in the ratio 1/4 : 1 : 1/4, which sum (by Parseval)
// to the tone's power A²/2; Simpson's weights turn that into 8/9 of it
// when the bin is an even number of bins from the band's edge (weight 2,
// neighbours 4) and 10/9 when odd (4, neighbours 2).
func toneBandPower(t tone, b Band) float64 {
	lo, _ := b.Edges()
	if int(math.Round((t.hz-lo)*SegmentSeconds))%2 == 1 {
		return t.amp * t.amp / 2 * 10 / 9
	}
	return t.amp * t.amp / 2 * 8 / 9
}

func newTest(t testing.TB, opts Opts) *Estimator {
	t.Helper()
	e, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// feed adds seconds of frames, channel c's sample at frame i being
// f(c, i).
func feed(e *Estimator, seconds float64, start int, f func(c, i int) float64) int {
	frame := make([]float64, e.opts.Channels)
	n := int(seconds * e.opts.SampleRateHz)
	for i := start; i < start+n; i++ {
		for c := range frame {
			frame[c] = f(c, i)
		}
		e.Add(frame)
	}
	return start + n
}

func tones(fs, offset float64, ts []tone) func(c, i int) float64 {
	return func(_, i int) float64 {
		x := offset
		for _, tn := range ts {
			x += tn.amp * math.Sin(2*math.Pi*tn.hz*float64(i)/fs)
		}
		return x
	}
}

func TestTonesGiveExactBandPowers(t *testing.T) {
	for _, fs := range []float64{250, 500, 100, 200} {
		opts := DefaultOpts
		opts.Channels, opts.SampleRateHz = 2, fs
		e := newTest(t, opts)
		// A DC offset, as electrodes have, is removed by the detrend.
		feed(e, 30, 0, tones(fs, 1500, bandTones[:]))
		r := e.Estimate()
		total := 0.0
		var want Powers
		for b, tn := range bandTones {
			want[b] = toneBandPower(tn, Band(b))
			total += want[b]
		}
		for c := range 2 {
			ch := r.Channels[c]
			if !ch.Valid || ch.Segments != 14 {
				t.Fatalf("%g sps channel %d: valid %v (%v) over %d segments, want valid over 14", fs, c, ch.Valid, ch.Reason, ch.Segments)
			}
			for b := range NumBands {
				if d := math.Abs(ch.Abs[b]/want[b] - 1); d > 1e-9 {
					t.Errorf("%g sps %v: %.9g µV², want %.9g", fs, Band(b), ch.Abs[b], want[b])
				}
				if d := math.Abs(ch.Rel[b]/(want[b]/total) - 1); d > 1e-9 {
					t.Errorf("%g sps %v: relative %.9g, want %.9g", fs, Band(b), ch.Rel[b], want[b]/total)
				}
			}
			if d := math.Abs(ch.BetaAlpha/(want[Beta]/want[Alpha]) - 1); d > 1e-9 {
				t.Errorf("%g sps: beta/alpha %g, want %g", fs, ch.BetaAlpha, want[Beta]/want[Alpha])
			}
			fastSlow := (want[Beta] + want[Gamma]) / (want[Delta] + want[Theta])
			if d := math.Abs(ch.FastSlow/fastSlow - 1); d > 1e-9 {
				t.Errorf("%g sps: (beta+gamma)/(delta+theta) %g, want %g", fs, ch.FastSlow, fastSlow)
			}
		}
	}
}

func TestFillingUntilSpanHoldsItsSegments(t *testing.T) {
	opts := DefaultOpts
	opts.Channels = 1
	e := newTest(t, opts)
	// 30 s at 250 sps: 14 segments of 1000 samples, 500 apart: the 14th
	// ends at sample 1000 + 13·500 = 7500.
	f := tones(250, 0, bandTones[:])
	i := feed(e, 7499/250.0, 0, f)
	if i != 7499 {
		t.Fatalf("fed %d frames", i)
	}
	if ch := e.Estimate().Channels[0]; ch.Valid || ch.Reason != ReasonFilling {
		t.Fatalf("after 7499 samples: valid %v reason %v, want filling", ch.Valid, ch.Reason)
	}
	if s := e.Estimate().Summary; s.Valid || s.Reason != ReasonNoValidChannel {
		t.Fatalf("summary: valid %v reason %v, want no_valid_channel", s.Valid, s.Reason)
	}
	e.Add([]float64{f(0, i)})
	if ch := e.Estimate().Channels[0]; !ch.Valid || ch.Segments != 14 {
		t.Fatalf("after 7500 samples: valid %v (%v) segments %d, want valid over 14", ch.Valid, ch.Reason, ch.Segments)
	}
	e.Reset()
	if ch := e.Estimate().Channels[0]; ch.Valid || ch.Reason != ReasonFilling {
		t.Fatalf("after Reset: valid %v reason %v, want filling", ch.Valid, ch.Reason)
	}
}

// TestChannelFaults runs four channels: one clean, one with the fault
// under test from its start (or as the newest segment), and checks each
// verdict and that the summary rests on the clean ones.
func TestChannelFaults(t *testing.T) {
	const fs = 250
	clean := tones(fs, 0, bandTones[:])
	// The clean channels' amplitudes: at most 90 µV for ×1, so that ×2
	// stays under ArtefactMicrovolts peak-to-peak.
	scale := [4]float64{1, 1, 1.5, 2}
	rng := rand.New(rand.NewPCG(3, 4))
	tests := []struct {
		name   string
		signal func(i int) float64
		valid  bool
		reason Reason
		segs   int // clean segments when valid
	}{
		{"flat: a converter stuck near one value", func(i int) float64 { return 12.5 + 0.2*rng.Float64() }, false, ReasonFlat, 0},
		{"flat: shorted input, ADS1299 noise of 0.14 µV rms", func(i int) float64 { return 0.14 * rng.NormFloat64() }, false, ReasonFlat, 0},
		{"quiet EEG of 3.6 µV peak-to-peak is not flat", func(i int) float64 { return 0.02 * clean(0, i) }, true, ReasonNone, 14},
		{"saturated: railed at +full scale", func(i int) float64 { return 187500 }, false, ReasonSaturated, 0},
		{"saturated: railed at −full scale, within 0.01 %", func(i int) float64 { return -187490 + clean(0, i) }, false, ReasonSaturated, 0},
		{"lead comes off in the newest segment", func(i int) float64 {
			if i >= 7400 {
				return 187500
			}
			return clean(0, i)
		}, false, ReasonSaturated, 0},
		{"NaN in the newest segment: a lost sample, left out", func(i int) float64 {
			if i == 7300 { // in the segment from 6500 only
				return math.NaN()
			}
			return clean(0, i)
		}, true, ReasonNone, 13},
		{"lost samples in more than half of the span", func(i int) float64 {
			if i%1000 == 0 {
				return math.NaN()
			}
			return clean(0, i)
		}, false, ReasonNonFinite, 0},
		{"NaN long ago: its segments are left out", func(i int) float64 {
			if i == 2600 { // in the segments starting at 2000 and 2500
				return math.Inf(1)
			}
			return clean(0, i)
		}, true, ReasonNone, 12},
		{"one movement artefact: its segments are left out", func(i int) float64 {
			if i >= 4000 && i < 4250 { // 1 s of a 700 µV swing: in the segments from 3500 and 4000
				return clean(0, i) + 350*math.Sin(2*math.Pi*float64(i)/fs)
			}
			return clean(0, i)
		}, true, ReasonNone, 12},
		{"artefacts in more than half of the span", func(i int) float64 {
			if i%1000 < 50 { // a 600 µV step every 4 s, in every segment
				return clean(0, i) + 600
			}
			return clean(0, i)
		}, false, ReasonArtefact, 0},
		{"sleep waves of 290 µV peak-to-peak are not artefacts", func(i int) float64 {
			return clean(0, i) + 145*math.Sin(2*math.Pi*0.75*float64(i)/fs)
		}, true, ReasonNone, 14},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := DefaultOpts
			opts.Channels = 4
			e := newTest(t, opts)
			feed(e, 30, 0, func(c, i int) float64 {
				if c == 1 {
					return tt.signal(i)
				}
				return clean(c, i) * scale[c]
			})
			r := e.Estimate()
			got := r.Channels[1]
			if got.Valid != tt.valid || got.Reason != tt.reason || got.Segments != tt.segs {
				t.Fatalf("channel: valid %v reason %q segments %d, want %v %q %d", got.Valid, got.Reason, got.Segments, tt.valid, tt.reason, tt.segs)
			}
			for _, c := range []int{0, 2, 3} {
				if !r.Channels[c].Valid {
					t.Fatalf("clean channel %d invalid: %v", c, r.Channels[c].Reason)
				}
			}
			// The summary is the median over the valid channels.
			var alphas []float64
			for c := range 4 {
				if r.Channels[c].Valid {
					alphas = append(alphas, r.Channels[c].Abs[Alpha])
				}
			}
			slices.Sort(alphas)
			want := alphas[1] // three valid channels
			if len(alphas) == 4 {
				want = (alphas[1] + alphas[2]) / 2
			}
			s := r.Summary
			if !s.Valid || s.Segments != len(alphas) {
				t.Fatalf("summary valid %v over %d channels, want %d", s.Valid, s.Segments, len(alphas))
			}
			if s.Abs[Alpha] != want {
				t.Errorf("summary alpha %.9g µV², want the median %.9g of %v", s.Abs[Alpha], want, alphas)
			}
			if !tt.valid {
				// Channels 0, 2, 3: tones ×1, ×1.5, ×2, the median ×1.5
				// in amplitude: 2.25 in power.
				if d := math.Abs(s.Abs[Alpha]/r.Channels[0].Abs[Alpha] - 2.25); d > 1e-9 {
					t.Errorf("summary alpha %.9g × channel 0's, want 2.25", s.Abs[Alpha]/r.Channels[0].Abs[Alpha])
				}
			}
		})
	}
}

func TestNewRejectsBadOpts(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Opts)
		msg  string
	}{
		{"no channels", func(o *Opts) { o.Channels = 0 }, "eeg: invalid options: Channels 0, want 1..8"},
		{"nine channels", func(o *Opts) { o.Channels = 9 }, "eeg: invalid options: Channels 9, want 1..8"},
		{"rate too low for gamma", func(o *Opts) { o.SampleRateHz = 64 }, "eeg: invalid options: SampleRateHz 64, want 100..16000"},
		{"NaN rate", func(o *Opts) { o.SampleRateHz = math.NaN() }, "eeg: invalid options: SampleRateHz NaN, want 100..16000"},
		{"rate off the 0.25 Hz grid", func(o *Opts) { o.SampleRateHz = 250.1 }, "eeg: invalid options: SampleRateHz 250.1 gives 1000.4 samples per 4 s segment, want a whole number"},
		{"span shorter than a segment", func(o *Opts) { o.SpanSeconds = 3 }, "eeg: invalid options: SpanSeconds 3, want 4..3600"},
		{"full scale under the artefact threshold", func(o *Opts) { o.FullScaleMicrovolts = 400 }, "eeg: invalid options: FullScaleMicrovolts 400, want finite and above 500"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := DefaultOpts
			tt.mod(&o)
			e, err := New(o)
			if e != nil || !errors.Is(err, ErrOpts) || err.Error() != tt.msg {
				t.Fatalf("New = %v, %v; want nil, %q", e, err, tt.msg)
			}
		})
	}
	if _, err := New(Opts{}); err == nil || len(err.(interface{ Unwrap() []error }).Unwrap()) != 4 {
		t.Fatalf("New(Opts{}) = %v, want every option named", err)
	}
}

func TestAddPanicsOnWrongFrameLength(t *testing.T) {
	e := newTest(t, DefaultOpts)
	defer func() {
		if recover() == nil {
			t.Fatal("Add of a 7-sample frame to an 8-channel Estimator did not panic")
		}
	}()
	e.Add(make([]float64, 7))
}

func TestAddAndEstimateDoNotAllocate(t *testing.T) {
	opts := DefaultOpts
	opts.SampleRateHz = 500
	e := newTest(t, opts)
	f := tones(500, 0, bandTones[:])
	i := feed(e, 30, 0, f)
	if r := e.Estimate(); !r.Summary.Valid || r.Summary.Segments != 8 {
		t.Fatalf("not past the early returns: summary valid %v over %d channels", r.Summary.Valid, r.Summary.Segments)
	}
	frame := make([]float64, 8)
	// Each run adds 2 s of frames (one segment per channel) and estimates.
	allocs := testing.AllocsPerRun(5, func() {
		for range 1000 {
			for c := range frame {
				frame[c] = f(c, i)
			}
			e.Add(frame)
			i++
		}
		if !e.Estimate().Summary.Valid {
			t.Fatal("estimate turned invalid")
		}
	})
	if allocs != 0 {
		t.Fatalf("%g allocations per 2 s of frames and an Estimate, want 0", allocs)
	}
}

// BenchmarkEightChannels500 measures one second of an eight-channel 500 sps
// stream (500 Adds) and one Estimate, the pod's rate set for the EEG; the
// cpu-% metric is the share of one core that takes.
func BenchmarkEightChannels500(b *testing.B) {
	opts := DefaultOpts
	opts.SampleRateHz = 500
	e := newTest(b, opts)
	f := tones(500, 0, bandTones[:])
	i := feed(e, 30, 0, f)
	frames := make([][]float64, 1000)
	for k := range frames {
		frames[k] = make([]float64, 8)
		for c := range frames[k] {
			frames[k][c] = f(c, i+k)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	var r Reading
	for n := 0; b.Loop(); n++ {
		for _, fr := range frames[(n%2)*500 : (n%2)*500+500] {
			e.Add(fr)
		}
		r = e.Estimate()
	}
	b.StopTimer()
	if !r.Summary.Valid {
		b.Fatal("summary invalid")
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e9*100, "cpu-%")
}

// The recent ratio follows the newest RecentSegments segments, one a
// second: 30 s of the band tones, then 8 s with beta's amplitude doubled.
// The newest five segments hold only the doubled beta, so their beta/alpha
// is four times the first one's exactly, while the span's still mixes
// both; RecentAge is the midpoint of those 8 s (4 s) right after a
// segment, half a second more half a second later. A blink in three of
// the five makes the recent ratio invalid in a channel the span still
// holds valid.
func TestRecentBetaAlphaFollowsTheNewestSegments(t *testing.T) {
	const fs = 250
	opts := DefaultOpts
	opts.Channels, opts.SampleRateHz = 2, fs
	e := newTest(t, opts)
	loud := bandTones
	loud[Beta].amp *= 2
	calm := toneBandPower(bandTones[Beta], Beta) / toneBandPower(bandTones[Alpha], Alpha)
	i := feed(e, 30, 0, tones(fs, 0, bandTones[:]))
	if r := e.Estimate().Summary; !r.RecentValid || math.Abs(r.RecentBetaAlpha/calm-1) > 1e-9 || r.RecentAge != 4*time.Second {
		t.Fatalf("calm: recent %g (valid %v, age %v), want %g, age 4s", r.RecentBetaAlpha, r.RecentValid, r.RecentAge, calm)
	}
	i = feed(e, 8, i, tones(fs, 0, loud[:]))
	r := e.Estimate()
	for c := range 2 {
		ch := r.Channels[c]
		if !ch.RecentValid || math.Abs(ch.RecentBetaAlpha/(4*calm)-1) > 1e-9 || ch.RecentAge != 4*time.Second {
			t.Errorf("channel %d: recent %g (valid %v, age %v), want %g, age 4s", c, ch.RecentBetaAlpha, ch.RecentValid, ch.RecentAge, 4*calm)
		}
		if !(ch.BetaAlpha > calm && ch.BetaAlpha < 2*calm) {
			t.Errorf("channel %d: span ratio %g, want between %g and %g (the span mixes both)", c, ch.BetaAlpha, calm, 2*calm)
		}
	}
	if s := r.Summary; !s.RecentValid || math.Abs(s.RecentBetaAlpha/(4*calm)-1) > 1e-9 || s.RecentAge != 4*time.Second {
		t.Errorf("summary: recent %g (valid %v, age %v), want %g", s.RecentBetaAlpha, s.RecentValid, s.RecentAge, 4*calm)
	}
	i = feed(e, 0.5, i, tones(fs, 0, loud[:]))
	if s := e.Estimate().Summary; s.RecentAge != 4500*time.Millisecond {
		t.Errorf("half a second after the segment: recent age %v, want 4.5s", s.RecentAge)
	}
	// A blink at 38.5 s, then on to 41.5 s: it lies in the segments
	// 35-39, 36-40 and 37-41 s, three of the newest five.
	blink := tones(fs, 0, loud[:])
	at := i
	feed(e, 3, i, func(c, k int) float64 {
		if k == at {
			return 600
		}
		return blink(c, k)
	})
	r = e.Estimate()
	if ch := r.Channels[0]; !ch.Valid || ch.RecentValid || ch.RecentAge != 0 {
		t.Errorf("a blink in three of the newest five segments: valid %v, recent valid %v (age %v), want the span valid, the recent ratio not", ch.Valid, ch.RecentValid, ch.RecentAge)
	}
	if s := r.Summary; !s.Valid || s.RecentValid {
		t.Errorf("summary with no channel's recent ratio: valid %v, recent valid %v", s.Valid, s.RecentValid)
	}
}
