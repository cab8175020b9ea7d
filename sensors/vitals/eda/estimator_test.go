package eda

import (
	"errors"
	"math"
	"testing"
	"time"
)

// bateman is a skin conductance response of peak 1 starting at t = 0 s:
// the difference of two exponentials (Benedek & Kaernbach 2010's impulse
// response, τ rise 0.75 s, τ decay 2 s), which peaks at batemanPeakAt.
func bateman(t float64) float64 {
	if t <= 0 {
		return 0
	}
	return (math.Exp(-t/2) - math.Exp(-t/0.75)) / batemanMax
}

var (
	batemanPeakAt = math.Log(2/0.75) * 2 * 0.75 / (2 - 0.75)
	batemanMax    = math.Exp(-batemanPeakAt/2) - math.Exp(-batemanPeakAt/0.75)
)

// response is one synthetic SCR: its onset (s) and amplitude (µS).
type response struct{ at, amp float64 }

// synth is a tonic level drifting up slowly plus responses, quantised to
// the step of a 16-bit converter over 0-60 µS (about 0.001 µS).
func synth(tonic func(t float64) float64, rs []response) func(t float64) float64 {
	return func(t float64) float64 {
		v := tonic(t)
		for _, r := range rs {
			v += r.amp * bateman(t-r.at)
		}
		return math.Round(v/0.001) * 0.001
	}
}

func newTest(t testing.TB, fs float64) *Estimator {
	t.Helper()
	e, err := New(fs)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestResponsesRecovered(t *testing.T) {
	// Onsets 20 s apart, so that each response has recovered (e^-9) before
	// the next; 0.015 µS is under MinSCRMicrosiemens and must not count.
	// Responses of 0.1 µS and more are recovered within 2 %; smaller ones
	// within 0.003 µS: three steps of the converter, which is 3-6 % of
	// them.
	rs := []response{{30, 0.05}, {50, 0.1}, {70, 0.2}, {90, 0.015}, {110, 0.35}, {130, 0.5}, {150, 1.0}, {170, 0.03}, {190, 2.0}}
	tonic := func(t float64) float64 { return 4 + 0.0005*t } // 1.8 µS an hour
	for _, fs := range []float64{4, 10, 32} {
		e := newTest(t, fs)
		x := synth(tonic, rs)
		// SCRs holds the last minute's responses: collect them every 30 s.
		var got []SCR
		collect := func() {
			for _, s := range e.SCRs(nil) {
				if len(got) == 0 || s.Peak > got[len(got)-1].Peak {
					got = append(got, s)
				}
			}
		}
		n := int(220 * fs)
		for i := range n {
			e.Add(x(float64(i) / fs))
			if i%int(30*fs) == 0 {
				collect()
			}
		}
		collect()
		var want []response
		for _, r := range rs {
			if r.amp >= MinSCRMicrosiemens {
				want = append(want, r)
			}
		}
		if len(got) != len(want) {
			t.Fatalf("%g Hz: %d responses %+v, want %d", fs, len(got), got, len(want))
		}
		for k, s := range got {
			r := want[k]
			peakAt := float64(s.Peak) / fs
			if d := peakAt - (r.at + batemanPeakAt); math.Abs(d) > 0.5 {
				t.Errorf("%g Hz: response %d peaks at %.2f s, want %.2f s", fs, k, peakAt, r.at+batemanPeakAt)
			}
			d := s.AmplitudeMicrosiemens/r.amp - 1
			if r.amp >= 0.1 && math.Abs(d) > 0.02 || r.amp < 0.1 && math.Abs(s.AmplitudeMicrosiemens-r.amp) > 0.003 {
				t.Errorf("%g Hz: response %d amplitude %.4f µS, want %.4f µS within 2 %% (%+.2f %%)", fs, k, s.AmplitudeMicrosiemens, r.amp, 100*d)
			}
			t.Logf("%g Hz: response %d at %.2f s: %.4f µS (true %.3f, %+.2f %%)", fs, k, peakAt, s.AmplitudeMicrosiemens, r.amp, 100*(s.AmplitudeMicrosiemens/r.amp-1))
		}
		// The last minute (160-220 s) holds the peaks of 0.03 and 2.0 µS.
		rd := e.Estimate()
		wantMean := 0.0
		for _, s := range got[len(got)-2:] {
			wantMean += s.AmplitudeMicrosiemens / 2
		}
		if !rd.Valid || rd.SCRPerMinute != 2 || math.Abs(rd.SCRAmplitudeMicrosiemens-wantMean) > 1e-12 {
			t.Errorf("%g Hz: reading %+v, want valid with 2 SCRs a minute of mean amplitude %.4f", fs, rd, wantMean)
		}
		// At 220 s the tonic has lagged 4.5 s behind a level rising
		// 0.0005 µS/s, and the last response (2 µS at 190 s) has decayed
		// to 2·e^-15 under it, but the low-pass still holds part of it.
		if d := rd.TonicMicrosiemens - tonic(220); math.Abs(d) > 0.05 {
			t.Errorf("%g Hz: tonic %.4f µS, true level %.4f µS", fs, rd.TonicMicrosiemens, tonic(220))
		}
	}
}

func TestTonicFollowsSlowLevel(t *testing.T) {
	const fs = 4
	e := newTest(t, fs)
	tonic := func(t float64) float64 { return 2 + 0.002*t + 0.2*math.Sin(2*math.Pi*t/1200) }
	for i := range int(600 * fs) {
		e.Add(math.Round(tonic(float64(i)/fs)/0.001) * 0.001)
		if i >= int(60*fs) {
			r := e.Estimate()
			tt := float64(i) / fs
			if !r.Valid || r.SCRPerMinute != 0 {
				t.Fatalf("at %g s: %+v, want valid with no SCR", tt, r)
			}
			// A second-order Butterworth follows a ramp √2/(2π·fc) = 4.5 s
			// late: the tonic is the level 4.5 s earlier, to within the
			// converter's step.
			lag := math.Sqrt2 / (2 * math.Pi * TonicCutoffHz)
			if d := r.TonicMicrosiemens - tonic(tt-lag); math.Abs(d) > 0.001 {
				t.Fatalf("at %g s: tonic %.4f µS, level %.4f µS %.1f s earlier", tt, r.TonicMicrosiemens, tonic(tt-lag), lag)
			}
			// The phasic part of a ramp is what the tonic lags: at most
			// 4.5 s of 0.003 µS/s, the causal split's price.
			if math.Abs(r.PhasicMicrosiemens) > 0.015 {
				t.Fatalf("at %g s: phasic %.4f µS of a tonic signal", tt, r.PhasicMicrosiemens)
			}
		}
	}
}

func TestValidity(t *testing.T) {
	const fs = 4
	good := func(i int) float64 { return 3 + 0.01*math.Sin(float64(i)/7) }
	tests := []struct {
		name   string
		bad    []float64 // fed after 70 s of good signal, each for one sample
		reason Reason
	}{
		{"electrode off: 0 µS", []float64{0}, ReasonNoContact},
		{"below contact", []float64{0.049}, ReasonNoContact},
		{"negative", []float64{-1}, ReasonNoContact},
		{"above range", []float64{60.5}, ReasonOutOfRange},
		{"jump of 2.6 µS in 0.25 s", []float64{5.6}, ReasonJump},
		{"NaN for longer than MaxGapSeconds", nans(int(MaxGapSeconds*fs)+1, math.NaN()), ReasonNonFinite},
		{"+Inf for longer than MaxGapSeconds", nans(int(MaxGapSeconds*fs)+1, math.Inf(1)), ReasonNonFinite},
		{"stuck converter", func() []float64 {
			v := make([]float64, int(FlatSeconds*fs)-1) // with the sample before: FlatSeconds of one value
			for k := range v {
				v[k] = good(280 - 1)
			}
			return v
		}(), ReasonFlat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTest(t, fs)
			i := 0
			for ; i < 280; i++ {
				e.Add(good(i))
				if r := e.Estimate(); r.Valid != (i >= 239) {
					t.Fatalf("after sample %d: valid %v (%v); valid from sample 239 (60 s)", i, r.Valid, r.Reason)
				}
			}
			for k, v := range tt.bad {
				e.Add(v)
				i++
				r := e.Estimate()
				if k < len(tt.bad)-1 {
					if tt.reason == ReasonNonFinite {
						if r != (Reading{Reason: ReasonNonFinite}) {
							t.Fatalf("in a gap: %+v, want invalid non_finite", r)
						}
						continue
					}
					if !r.Valid {
						t.Fatalf("invalid (%v) %d samples before the fault", r.Reason, len(tt.bad)-1-k)
					}
					continue
				}
				if r.Valid || r.Reason != tt.reason || r != (Reading{Reason: tt.reason}) {
					t.Fatalf("after the fault: %+v, want invalid %v with zero values", r, tt.reason)
				}
			}
			if tt.reason == ReasonFlat {
				// Still stuck: still flat, not a fresh start.
				for range 200 {
					e.Add(tt.bad[0])
					i++
					if r := e.Estimate(); r != (Reading{Reason: ReasonFlat}) {
						t.Fatalf("still stuck: %+v, want flat", r)
					}
				}
			}
			// Good again: filling for a minute, then valid.
			for k := range 240 {
				e.Add(good(i))
				i++
				r := e.Estimate()
				if k < 239 && (r.Valid || r.Reason != ReasonFilling) {
					t.Fatalf("%d good samples after the fault: %+v, want filling", k+1, r)
				}
				if k == 239 && !r.Valid {
					t.Fatalf("a minute after the fault: %+v, want valid", r)
				}
			}
		})
	}
}

func nans(n int, v float64) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = v
	}
	return s
}

// TestShortGapBridged: missing samples (NaN) up to MaxGapSeconds make the
// reading invalid while they last and are bridged when samples flow again:
// the estimate is valid at once and goes on as if they had been there.
func TestShortGapBridged(t *testing.T) {
	const fs = 4
	x := synth(func(t float64) float64 { return 3 + 0.002*t }, []response{{80, 0.3}, {105, 0.2}})
	e, ref := newTest(t, fs), newTest(t, fs)
	for i := range int(120 * fs) {
		v := x(float64(i) / fs)
		ref.Add(v)
		gap := i >= 280 && i < 300 // 5 s, from 70 s
		if gap {
			e.Add(math.NaN())
		} else {
			e.Add(v)
		}
		r, want := e.Estimate(), ref.Estimate()
		if gap {
			if r != (Reading{Reason: ReasonNonFinite}) {
				t.Fatalf("sample %d, in the gap: %+v", i, r)
			}
			continue
		}
		if !r.Valid && i >= 240 {
			t.Fatalf("sample %d, after the gap: invalid (%v)", i, r.Reason)
		}
		// The bridge is a straight line where the signal rose by 0.01 µS:
		// the tonic differs by less than that, the responses (after the
		// gap) not at all.
		if math.Abs(r.TonicMicrosiemens-want.TonicMicrosiemens) > 0.002 || r.SCRPerMinute != want.SCRPerMinute ||
			math.Abs(r.SCRAmplitudeMicrosiemens-want.SCRAmplitudeMicrosiemens) > 1e-9 {
			t.Fatalf("sample %d: %+v, without the gap %+v", i, r, want)
		}
	}
	if r := e.Estimate(); r.SCRPerMinute != 2 {
		t.Fatalf("at the end: %+v, want both responses", r)
	}
}

func TestNewRejectsBadRate(t *testing.T) {
	for _, fs := range []float64{0, 0.5, -4, 1001, math.NaN(), math.Inf(1)} {
		if e, err := New(fs); e != nil || !errors.Is(err, ErrRate) {
			t.Errorf("New(%g) = %v, %v; want ErrRate", fs, e, err)
		}
	}
	_, err := New(0.5)
	if want := "eda: invalid sample rate: 0.5 Hz, want 1..1000"; err == nil || err.Error() != want {
		t.Errorf("New(0.5): %v, want %q", err, want)
	}
}

func TestAddAndEstimateDoNotAllocate(t *testing.T) {
	const fs = 10
	e := newTest(t, fs)
	x := synth(func(t float64) float64 { return 3 + 0.002*t }, []response{{62, 0.3}})
	i := 0
	for ; i < 70*fs; i++ {
		e.Add(x(float64(i) / fs))
	}
	if r := e.Estimate(); !r.Valid || r.SCRPerMinute != 1 {
		t.Fatalf("not past the early returns: %+v", r)
	}
	allocs := testing.AllocsPerRun(100, func() {
		e.Add(x(float64(i) / fs))
		i++
		if !e.Estimate().Valid {
			t.Fatal("estimate turned invalid")
		}
	})
	if allocs != 0 {
		t.Fatalf("%g allocations per Add and Estimate, want 0", allocs)
	}
}

// BenchmarkTenHz is one second of samples at 10 sps and one Estimate.
func BenchmarkTenHz(b *testing.B) {
	const fs = 10
	e := newTest(b, fs)
	x := synth(func(t float64) float64 { return 3 + 0.002*t }, []response{{30, 0.3}, {50, 0.2}})
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		for range fs {
			e.Add(x(float64(i%(90*fs)) / fs))
			i++
		}
		e.Estimate()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e9*100, "cpu-%")
}

// SCROnsetAge dates the newest counted response's onset: the newest
// sample less the age is that response's onset on the smoothed signal,
// at or after its true onset (the smoothing delays it, never advances
// it) and within 0.3 s of it; none counted, no age.
func TestSCROnsetAgeDatesTheNewestResponse(t *testing.T) {
	for _, fs := range []float64{4, 10, 32} {
		e := newTest(t, fs)
		rs := []response{{70, 0.3}, {90, 0.2}}
		x := synth(func(t float64) float64 { return 4 + 0.0005*t }, rs)
		var newestOnset float64 = -1
		for i := range int(100 * fs) {
			tt := float64(i) / fs
			e.Add(x(tt))
			r := e.Estimate()
			if !r.Valid {
				continue
			}
			if r.SCRPerMinute == 0 {
				if r.SCROnsetAge != 0 {
					t.Fatalf("%g Hz at %.2f s: no response counted, onset age %v", fs, tt, r.SCROnsetAge)
				}
				continue
			}
			scrs := e.SCRs(nil)
			want := time.Duration(float64(int64(i)-scrs[len(scrs)-1].Onset) / fs * float64(time.Second))
			if r.SCROnsetAge != want {
				t.Fatalf("%g Hz at %.2f s: onset age %v, want %v (the newest response's onset)", fs, tt, r.SCROnsetAge, want)
			}
			newestOnset = tt - r.SCROnsetAge.Seconds()
		}
		if d := newestOnset - rs[1].at; d < -1/fs || d > 0.3 {
			t.Errorf("%g Hz: the newest response dated at %.3f s, its onset at %g s (%+.3f s)", fs, newestOnset, rs[1].at, d)
		}
	}
}

// TonicDelay dates the tonic level: on a steady ramp (1.8 µS an hour) the
// tonic is the level TonicDelay before the newest sample, within a
// thousandth of the change over that delay.
func TestTonicDelayDatesTheTonicOnARamp(t *testing.T) {
	if TonicDelay < 4490*time.Millisecond || TonicDelay > 4510*time.Millisecond {
		t.Fatalf("TonicDelay %v, want 4.50 s", TonicDelay)
	}
	const slope = 0.0005 // µS/s
	for _, fs := range []float64{4, 32} {
		e := newTest(t, fs)
		level := func(s float64) float64 { return 4 + slope*s }
		n := int(600 * fs)
		for i := range n {
			e.Add(level(float64(i) / fs))
		}
		r := e.Estimate()
		newest := float64(n-1) / fs
		want := level(newest - TonicDelay.Seconds())
		if d := r.TonicMicrosiemens - want; !r.Valid || math.Abs(d) > slope*TonicDelay.Seconds()/1000 {
			t.Errorf("%g Hz: tonic %.6f µS, the level TonicDelay before the newest sample %.6f µS (%+.2e)", fs, r.TonicMicrosiemens, want, d)
		}
	}
}
