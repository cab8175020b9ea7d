package vitals

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// ppg synthesises a fingertip photoplethysmogram independently of the
// simulator's model: a steep systolic upstroke with a slower runoff (a
// skewed pulse), a dicrotic notch and wave, and small Gaussian noise.
// Counts fall at systole, as on the chip.
type ppg struct {
	fs        float64
	hr        func(t float64) float64 // bpm at time t seconds
	spo2      float64
	dcRed     float64
	dcIR      float64
	perfusion float64 // IR AC/DC
	noise     float64 // standard deviation, counts
	wander    float64 // respiratory baseline swing, fraction of DC
	rng       *rand.Rand
	phase     float64
	n         int
}

func newPPG(fs, hr, spo2 float64) *ppg {
	return &ppg{
		fs: fs, hr: func(float64) float64 { return hr }, spo2: spo2,
		dcRed: 90000, dcIR: 120000, perfusion: 0.015, noise: 8,
		rng: rand.New(rand.NewPCG(1, 2)),
	}
}

// shape is one beat, peak ≈ 1, with mean shapeMean.
func shape(phase float64) float64 {
	up := math.Min(phase/0.12, 1)                    // systolic upstroke over 12 % of the beat
	down := math.Exp(-math.Max(phase-0.12, 0) / 0.2) // runoff
	systole := math.Sin(up*math.Pi/2) * down
	dicrotic := 0.18 * math.Exp(-math.Pow((phase-0.45)/0.06, 2))
	return systole + dicrotic
}

var shapeMean = func() float64 {
	s := 0.0
	for i := range 1000 {
		s += shape((float64(i) + 0.5) / 1000)
	}
	return s / 1000
}()

func (g *ppg) next() (red, ir uint32) {
	t := float64(g.n) / g.fs
	g.n++
	g.phase = math.Mod(g.phase+g.hr(t)/60/g.fs, 1)
	p := shape(g.phase) - shapeMean
	r := ratioForSpO2(g.spo2)
	base := 1 + g.wander*math.Sin(2*math.Pi*0.25*t)
	red = uint32(math.Max(0, g.dcRed*(base-r*g.perfusion*p)+g.noise*g.rng.NormFloat64()))
	ir = uint32(math.Max(0, g.dcIR*(base-g.perfusion*p)+g.noise*g.rng.NormFloat64()))
	return red, ir
}

func (g *ppg) feed(e *Estimator, seconds float64) {
	for range int(seconds * g.fs) {
		e.Add(g.next())
	}
}

func TestEstimatorKnownVitals(t *testing.T) {
	for _, fs := range []float64{25, 100} {
		for _, hr := range []float64{40, 50, 60, 72, 90, 120, 150, 180} {
			for _, spo2 := range []float64{85, 90, 95, 98, 100} {
				t.Run(fmt.Sprintf("fs=%v/hr=%v/spo2=%v", fs, hr, spo2), func(t *testing.T) {
					e := NewEstimator(fs)
					newPPG(fs, hr, spo2).feed(e, 12)
					got := e.Estimate()
					if !got.HeartRateValid || math.Abs(got.HeartRateBPM-hr) > 2 {
						t.Errorf("heart rate = %.2f (valid %v), want %v ± 2", got.HeartRateBPM, got.HeartRateValid, hr)
					}
					if !got.SpO2Valid || math.Abs(got.SpO2Pct-spo2) > 1.5 {
						t.Errorf("SpO2 = %.2f (valid %v), want %v ± 1.5", got.SpO2Pct, got.SpO2Valid, spo2)
					}
					if !got.At.IsZero() {
						t.Errorf("At = %v, want zero", got.At)
					}
				})
			}
		}
	}
}

func TestEstimatorToleratesBreathingAndNoise(t *testing.T) {
	for _, fs := range []float64{25, 100} {
		g := newPPG(fs, 64, 93)
		g.wander = 0.003 // ±0.3 % of DC at 15 breaths a minute, a fifth of the pulse
		g.noise = 30
		e := NewEstimator(fs)
		g.feed(e, 20)
		got := e.Estimate()
		if !got.HeartRateValid || math.Abs(got.HeartRateBPM-64) > 2 || !got.SpO2Valid || math.Abs(got.SpO2Pct-93) > 1.5 {
			t.Errorf("fs %v: got %+v, want 64 ± 2 bpm and 93 ± 1.5 %%", fs, got)
		}
	}
}

func TestEstimatorSpO2Range(t *testing.T) {
	tests := []struct {
		spo2      float64 // what the synthetic finger has
		want      float64
		wantValid bool
	}{
		{spo2: 70, want: 70, wantValid: true},   // R 1.31: extrapolated, reported low rather than hidden
		{spo2: 80, want: 80, wantValid: true},   // R 0.99
		{spo2: 102, want: 100, wantValid: true}, // R 0.31: clamped
		{spo2: 50, wantValid: false},            // R 1.99: not physiological
		{spo2: 105, wantValid: false},           // R 0.22: not physiological
	}
	for _, tt := range tests {
		e := NewEstimator(25)
		newPPG(25, 70, tt.spo2).feed(e, 10)
		got := e.Estimate()
		if got.SpO2Valid != tt.wantValid || (tt.wantValid && math.Abs(got.SpO2Pct-tt.want) > 1.5) {
			t.Errorf("finger at %v %%: SpO2 %.2f valid %v, want %v valid %v", tt.spo2, got.SpO2Pct, got.SpO2Valid, tt.want, tt.wantValid)
		}
		if !got.HeartRateValid {
			t.Errorf("finger at %v %%: heart rate invalid, want valid", tt.spo2)
		}
	}
}

// ratioForSpO2 is the ratio of ratios SpO2FromRatio maps to spo2 (%),
// the root of the calibration quadratic on its falling branch, beyond 100 %
// too: what a synthetic finger at spo2 shows the sensor.
func ratioForSpO2(spo2 float64) float64 {
	return (-spo2B - math.Sqrt(spo2B*spo2B-4*spo2A*(spo2C-spo2))) / (2 * spo2A)
}

// The calibration curve at exact ratios: the values of
// 1.5958422·R² − 34.6596622·R + 112.6898759 worked out by hand, and 100 %
// where the curve passes it.
func TestSpO2FromRatio(t *testing.T) {
	for _, tt := range []struct{ r, want float64 }{
		{0.25, 100},       // 104.1247005, clamped
		{0.3, 100},        // 102.4356030, clamped
		{0.4, 99.0813458}, // 0.2553348 − 13.8638649 + 112.6898759
		{0.5, 95.7590054}, // 0.3989606 − 17.3298311 + 112.6898759
		{0.7, 89.2100750}, // 0.7819627 − 24.2617635 + 112.6898759
		{1, 79.6260559},   // 1.5958422 − 34.6596622 + 112.6898759
		{1.5, 64.2910276}, // 3.5906450 − 51.9894933 + 112.6898759
		{1.8, 55.4730127}, // 5.1705287 − 62.3873920 + 112.6898759
	} {
		if got := SpO2FromRatio(tt.r); math.Abs(got-tt.want) > 1e-6 {
			t.Errorf("SpO2FromRatio(%v) = %.7f, want %.7f", tt.r, got, tt.want)
		}
	}
	for _, s := range []float64{55.5, 70, 85, 90, 99} {
		if got := SpO2FromRatio(ratioForSpO2(s)); math.Abs(got-s) > 1e-9 {
			t.Errorf("SpO2FromRatio(ratioForSpO2(%v)) = %v", s, got)
		}
	}
}

func TestEstimatorInvalid(t *testing.T) {
	const fs = 25
	tests := []struct {
		name   string
		sample func(i int, rng *rand.Rand) (red, ir uint32)
	}{
		{"flat line", func(int, *rand.Rand) (uint32, uint32) { return 90000, 120000 }},
		{"flat line with ADC noise", func(_ int, rng *rand.Rand) (uint32, uint32) {
			return uint32(90000 + 3*rng.NormFloat64()), uint32(120000 + 3*rng.NormFloat64())
		}},
		{"noise as large as a pulse", func(_ int, rng *rand.Rand) (uint32, uint32) {
			return uint32(90000 + 600*rng.NormFloat64()), uint32(120000 + 800*rng.NormFloat64())
		}},
		{"no finger", scaled(newPPG(fs, 70, 97), 0.02)},
		{"red LED off", func() func(int, *rand.Rand) (uint32, uint32) {
			g := newPPG(fs, 70, 97)
			return func(int, *rand.Rand) (uint32, uint32) { _, ir := g.next(); return 0, ir }
		}()},
		{"clipped at diastole", scaled(newPPG(fs, 70, 97), 2.18)},
		{"regular peaks, waveform not repeating", func(i int, _ *rand.Rand) (uint32, uint32) {
			// A one-sample dip every second over swings at 0.5 and 1.5 Hz
			// that cross zero at each dip and stay below half its depth:
			// the peaks are regular, the waveform between them is not.
			t := float64(i) / fs
			v := 0.0
			if i%fs == 0 {
				v = 1
			}
			v += 0.24 * (math.Sin(math.Pi*t) + math.Sin(3*math.Pi*t))
			return uint32(90000 - 1000*v), uint32(120000 - 1500*v)
		}},
		{"too slow", pulse(newPPG(fs, 20, 97))},
		{"too fast", pulse(newPPG(fs, 280, 97))},
		{"irregular", func() func(int, *rand.Rand) (uint32, uint32) {
			g := newPPG(fs, 0, 97)
			g.hr = func(t float64) float64 { // beats alternately 0.5 s and 1 s apart
				if math.Mod(t, 1.5) < 0.5 {
					return 120
				}
				return 60
			}
			return pulse(g)
		}()},
	}
	for _, tt := range tests {
		for seed := range 20 {
			rng := rand.New(rand.NewPCG(uint64(seed), 7))
			e := NewEstimator(fs)
			for i := range 12 * fs {
				e.Add(tt.sample(i, rng))
			}
			if got := e.Estimate(); got.HeartRateValid || got.SpO2Valid {
				t.Errorf("%s, seed %d: got %+v, want both invalid", tt.name, seed, got)
			}
		}
	}
}

func pulse(g *ppg) func(int, *rand.Rand) (uint32, uint32) {
	return func(int, *rand.Rand) (uint32, uint32) { return g.next() }
}

// scaled is g with every count multiplied by k: less light (no finger) or
// more than the ADC can count (clipped at full scale).
func scaled(g *ppg, k float64) func(int, *rand.Rand) (uint32, uint32) {
	return func(int, *rand.Rand) (uint32, uint32) {
		red, ir := g.next()
		clip := func(v uint32) uint32 { return uint32(math.Min(float64(v)*k, 1<<18-1)) }
		return clip(red), clip(ir)
	}
}

func TestEstimatorNeedsFourSeconds(t *testing.T) {
	e := NewEstimator(25)
	g := newPPG(25, 120, 97)
	for i := range 99 {
		e.Add(g.next())
		want := Reading{}
		if i+1 >= 25 {
			want.Contact = ContactSkin // a second of signal is enough for that
		}
		if got := e.Estimate(); got != want {
			t.Fatalf("after %d samples: got %+v, want %+v", i+1, got, want)
		}
	}
	e.Add(g.next())
	if got := e.Estimate(); !got.Valid() {
		t.Errorf("after 100 samples (4 s, 8 beats): got %+v, want valid", got)
	}
}

func TestEstimatorReset(t *testing.T) {
	e := NewEstimator(25)
	g := newPPG(25, 72, 97)
	g.feed(e, 10)
	if got := e.Estimate(); !got.Valid() {
		t.Fatalf("before Reset: got %+v, want valid", got)
	}
	e.Reset()
	if got := e.Estimate(); got != (Reading{}) {
		t.Errorf("after Reset: got %+v, want zero Reading", got)
	}
	g.feed(e, 4)
	if got := e.Estimate(); !got.Valid() || math.Abs(got.HeartRateBPM-72) > 2 {
		t.Errorf("4 s after Reset: got %+v, want 72 ± 2 bpm", got)
	}
}

// A change of heart rate is followed within one window: after the change,
// the estimate is briefly invalid (the intervals disagree) or old, and once
// WindowSeconds of the new rhythm have arrived it reports the new rate. A
// jump this large (more than maxIntervalDeviation twice over) is never
// reported as a blend of both rates. TestEstimatorRecoversFromHeartRateJump
// bounds how briefly.
func TestEstimatorFollowsHeartRateChange(t *testing.T) {
	const fs, change = 25, 20.0
	g := newPPG(fs, 0, 96)
	g.hr = func(t float64) float64 {
		if t < change {
			return 60
		}
		return 100
	}
	e := NewEstimator(fs)
	g.feed(e, change)
	if got := e.Estimate(); !got.HeartRateValid || math.Abs(got.HeartRateBPM-60) > 2 {
		t.Fatalf("before the change: got %+v, want 60 ± 2 bpm", got)
	}
	for s := 1; s <= WindowSeconds+1; s++ {
		g.feed(e, 1)
		got := e.Estimate()
		if got.HeartRateValid && got.HeartRateBPM > 60+2 && math.Abs(got.HeartRateBPM-100) > 2 && s <= WindowSeconds {
			// A blend of both rates is never reported: the interval check
			// rejects the window instead.
			t.Errorf("%d s after the change: got %.1f bpm, want 60, 100 or invalid", s, got.HeartRateBPM)
		}
		if s == WindowSeconds+1 && (!got.HeartRateValid || math.Abs(got.HeartRateBPM-100) > 2) {
			t.Errorf("%d s after the change: got %+v, want 100 ± 2 bpm", s, got)
		}
	}
}

// The estimate measured is a valid one at the finger's rates: an invalid
// estimate returns before the work whose allocations count. Add is fed the
// pulse itself, since repeating one sample would flatten the window.
func TestEstimatorDoesNotAllocate(t *testing.T) {
	e := NewEstimator(25)
	g := newPPG(25, 72, 97)
	g.feed(e, 10)
	valid := func(r Reading) bool {
		return r.HeartRateValid && math.Abs(r.HeartRateBPM-72) <= 2 && r.SpO2Valid && math.Abs(r.SpO2Pct-97) <= 1.5
	}
	want := e.Estimate()
	if !valid(want) {
		t.Fatalf("Estimate = %+v; want 72 ± 2 bpm and 97 ± 1.5 %%, both valid", want)
	}
	var got Reading
	if n := testing.AllocsPerRun(100, func() { got = e.Estimate() }); n != 0 {
		t.Errorf("Estimate: %v allocations, want 0", n)
	}
	if got != want {
		t.Errorf("Estimate while measured = %+v; want %+v", got, want)
	}
	if n := testing.AllocsPerRun(100, func() { e.Add(g.next()) }); n != 0 {
		t.Errorf("Add: %v allocations, want 0", n)
	}
	if r := e.Estimate(); !valid(r) {
		t.Errorf("Estimate after the Adds measured = %+v; want 72 ± 2 bpm and 97 ± 1.5 %%, both valid", r)
	}
}

func TestNewEstimatorRejectsBadRate(t *testing.T) {
	for _, fs := range []float64{0, -25, math.NaN(), math.Inf(1)} {
		func() {
			defer func() {
				if r := recover(); r != "vitals: NewEstimator: invalid sample rate" {
					t.Errorf("NewEstimator(%v): recovered %v, want the invalid rate panic", fs, r)
				}
			}()
			NewEstimator(fs)
		}()
	}
}

// pollSeconds is how often the daemon estimates (controller.Config's
// default SensorPeriod).
const pollSeconds = 0.2

// trace is what the estimator reported while a synthetic finger's heart rate
// changed: one reading every pollSeconds.
type trace struct {
	at []float64 // seconds since the first sample
	r  []Reading
	hr func(t float64) float64 // the true heart rate
}

// record feeds g to a new estimator for seconds and estimates every
// pollSeconds, as the daemon does.
func record(g *ppg, seconds float64) trace {
	e := NewEstimator(g.fs)
	tr := trace{hr: g.hr}
	per := int(math.Round(pollSeconds * g.fs))
	for i := 1; i <= int(seconds*g.fs); i++ {
		e.Add(g.next())
		if i%per == 0 {
			tr.at = append(tr.at, float64(i)/g.fs)
			tr.r = append(tr.r, e.Estimate())
		}
	}
	return tr
}

// maxGap returns the longest time between two valid readings (heart rate and
// SpO2 both valid, as the watchdog's stale rule needs them) from `from` on,
// and when that gap ended. A reading at from counts as valid.
func (tr trace) maxGap(from float64) (gap, end float64) {
	last := from
	for i, at := range tr.at {
		if at < from {
			continue
		}
		if tr.r[i].Valid() || i == len(tr.at)-1 {
			if at-last > gap {
				gap, end = at-last, at
			}
			last = at
		}
	}
	return gap, end
}

// lag returns, for the valid reading i, the shortest delay d ≥ 0 such that the
// reported heart rate is within tol bpm of the true heart rate d seconds
// before the reading, or +Inf if there is none in the previous 20 s.
func (tr trace) lag(i int, tol float64) float64 {
	for d := 0.0; d <= 20; d += 0.01 {
		if math.Abs(tr.r[i].HeartRateBPM-tr.hr(tr.at[i]-d)) <= tol {
			return d
		}
	}
	return math.Inf(1)
}

// maxLag returns the largest lag(i, tol) over the valid readings in
// [from, to), and when it happened.
func (tr trace) maxLag(from, to, tol float64) (lag, at float64) {
	for i, t := range tr.at {
		if t < from || t >= to || !tr.r[i].HeartRateValid {
			continue
		}
		if d := tr.lag(i, tol); d > lag {
			lag, at = d, t
		}
	}
	return lag, at
}

// rampHR is a heart rate that holds at lo, ramps at rate bpm/s from up to hi,
// holds, ramps down from down to lo and holds again.
func rampHR(lo, hi, rate, up, down float64) func(float64) float64 {
	return func(t float64) float64 {
		switch {
		case t < up:
			return lo
		case t < down:
			return min(lo+rate*(t-up), hi)
		default:
			return max(hi-rate*(t-down), lo)
		}
	}
}

// A nightmare or an arousal raises the heart rate by 10 bpm a second. The
// estimator must follow it closely and keep reporting it: the watchdog
// aborts for stale vitals after 5 s without a valid reading, and it must see
// the high heart rate instead.
func TestEstimatorTracksHeartRateRamp(t *testing.T) {
	const (
		up, down = 20.0, 40.0 // 60→150 bpm from 20 s to 29 s, 150→60 from 40 s to 49 s
		end      = 60.0
		maxGap   = 2.0 // s between valid readings
		tol      = 8.0 // bpm
		maxLag   = 3.0 // s
	)
	for _, fs := range []float64{25, 100} {
		for _, noisy := range []bool{false, true} {
			t.Run(fmt.Sprintf("fs=%v/noisy=%v", fs, noisy), func(t *testing.T) {
				g := newPPG(fs, 0, 96)
				g.hr = rampHR(60, 150, 10, up, down)
				if noisy {
					g.wander, g.noise = 0.003, 30
				}
				tr := record(g, end)
				if gap, at := tr.maxGap(FirstEstimateSeconds); gap > maxGap {
					t.Errorf("%.1f s without a valid reading, until %.1f s; want at most %v s", gap, at, maxGap)
				} else {
					t.Logf("longest time between valid readings: %.1f s", gap)
				}
				for _, ramp := range []struct {
					name string
					from float64
				}{{"up", up}, {"down", down}} {
					lag, at := tr.maxLag(ramp.from, ramp.from+15, tol)
					if lag > maxLag {
						t.Errorf("ramp %s: at %.1f s the reading lags the true heart rate by %.2f s (± %v bpm), want at most %v s", ramp.name, at, lag, tol, maxLag)
					}
					exact, _ := tr.maxLag(ramp.from, ramp.from+15, 1)
					t.Logf("ramp %s: lag %.2f s within %v bpm, %.2f s within 1 bpm", ramp.name, lag, tol, exact)
				}
			})
		}
	}
}

// An instantaneous jump of the heart rate (62 → 95 bpm, the pipeline test's
// change, and others) leaves the estimator without a valid reading only
// briefly, wherever in the cardiac cycle it happens: from 4 s after the
// jump on every reading is valid, and soon after it is the new rate. In
// between a reading is either invalid or between the two rates.
func TestEstimatorRecoversFromHeartRateJump(t *testing.T) {
	const (
		change   = 20.0
		validBy  = 4.0 // s after the change
		settleBy = 5.0 // s after the change, at the new rate ± 2 bpm
	)
	for _, fs := range []float64{25, 100} {
		for _, hr := range [][2]float64{{62, 95}, {95, 62}, {60, 100}, {100, 60}, {60, 150}} {
			t.Run(fmt.Sprintf("fs=%v/%v→%v", fs, hr[0], hr[1]), func(t *testing.T) {
				var worstValid, worstSettle float64
				for k := range 10 {
					at := change + float64(k)/10*60/hr[0] // through one beat
					g := newPPG(fs, 0, 96)
					g.hr = func(t float64) float64 {
						if t < at {
							return hr[0]
						}
						return hr[1]
					}
					tr := record(g, at+10)
					var valid, settled float64 // when the readings were valid, and at the new rate, for good
					for i, ts := range tr.at {
						r := tr.r[i]
						if ts <= at {
							continue
						}
						if !r.Valid() {
							valid = ts - at
						}
						if !r.Valid() || math.Abs(r.HeartRateBPM-hr[1]) > 2 {
							settled = ts - at
						}
						if lo, hi := min(hr[0], hr[1])-2, max(hr[0], hr[1])+2; r.HeartRateValid && (r.HeartRateBPM < lo || r.HeartRateBPM > hi) {
							t.Errorf("jump at %.2f s: %.1f s after it %.1f bpm, outside both rates", at, ts-at, r.HeartRateBPM)
						}
					}
					if valid >= validBy {
						t.Errorf("jump at %.2f s: invalid reading %.1f s after it, want none from %v s on", at, valid, validBy)
					}
					if settled >= settleBy {
						t.Errorf("jump at %.2f s: reading not %v ± 2 bpm %.1f s after it, want from %v s on", at, hr[1], settled, settleBy)
					}
					worstValid, worstSettle = max(worstValid, valid), max(worstSettle, settled)
				}
				t.Logf("last invalid reading %.1f s after the jump, last off the new rate %.1f s after it (worst of 10 phases)", worstValid, worstSettle)
			})
		}
	}
}

// A few seconds of band-limited noise (motion) can line up a few peaks at a
// plausible rate by chance; the shorter span the estimate rests on must not
// make that common.
func TestEstimatorRejectsBandLimitedNoise(t *testing.T) {
	const fs = 25
	valid, total := 0, 0
	for seed := range 100 {
		rng := rand.New(rand.NewPCG(uint64(seed), 11))
		var red, ir float64
		e := NewEstimator(fs)
		for i := range 30 * fs {
			// Noise low-passed to about 2 Hz, as large as a pulse.
			red = 0.7*red + 600*rng.NormFloat64()
			ir = 0.7*ir + 800*rng.NormFloat64()
			e.Add(uint32(90000+red), uint32(120000+ir))
			if i%5 == 0 {
				total++
				if r := e.Estimate(); r.HeartRateValid || r.SpO2Valid {
					valid++
				}
			}
		}
	}
	if valid*1000 > total {
		t.Errorf("%d of %d readings of noise valid, want at most 1 in 1000", valid, total)
	}
}

// BenchmarkEstimate measures one estimate over a full window of a steady
// pulse, the work the daemon does on every poll besides Add.
func BenchmarkEstimate(b *testing.B) {
	for _, fs := range []float64{25, 100} {
		b.Run(fmt.Sprintf("fs=%v", fs), func(b *testing.B) {
			e := NewEstimator(fs)
			newPPG(fs, 72, 97).feed(e, 10)
			b.ReportAllocs()
			for b.Loop() {
				if !e.Estimate().Valid() {
					b.Fatal("invalid estimate: the benchmark measured an early exit")
				}
			}
		})
	}
}

// Contact is judged on the newest second of IR signal alone: unknown until
// a second has arrived (and again after Reset), none once a finger has left
// for a second, skin once it is back for a second, whatever the pulse.
func TestEstimatorContact(t *testing.T) {
	const fs = 25
	e := NewEstimator(fs)
	finger := newPPG(fs, 60, 97)
	empty := scaled(newPPG(fs, 60, 97), 0.01) // the light that reaches an empty sensor
	clipped := scaled(newPPG(fs, 60, 97), 3)
	add := func(n int, sample func(int, *rand.Rand) (uint32, uint32)) {
		for i := range n {
			e.Add(sample(i, nil))
		}
	}
	steps := []struct {
		what    string
		samples int
		sample  func(int, *rand.Rand) (uint32, uint32)
		want    Contact
	}{
		{"less than a second of a finger", fs - 1, pulse(finger), ContactUnknown},
		{"a second of a finger", 1, pulse(finger), ContactSkin},
		{"half a second without", fs / 2, empty, ContactSkin}, // the mean is still above MinDC
		{"a second without", fs / 2, empty, ContactNone},
		{"ten seconds without", 10 * fs, empty, ContactNone},
		{"a clipped second", fs, clipped, ContactSkin},
		{"a second of the same dark counts (a stuck bus)", fs, func(int, *rand.Rand) (uint32, uint32) { return 1200, 1200 }, ContactUnknown},
		{"dark counts with noise again", fs, empty, ContactNone},
	}
	for _, st := range steps {
		add(st.samples, st.sample)
		if got := e.Estimate().Contact; got != st.want {
			t.Fatalf("after %s: contact %v, want %v", st.what, got, st.want)
		}
	}
	e.Reset()
	if got := e.Estimate().Contact; got != ContactUnknown {
		t.Fatalf("after Reset: contact %v, want unknown", got)
	}
	for c, want := range map[Contact]string{ContactUnknown: "unknown", ContactNone: "none", ContactSkin: "skin"} {
		if c.String() != want {
			t.Errorf("Contact(%d).String() = %q, want %q", c, c.String(), want)
		}
	}
}

// A gap the chip counted (a FIFO overflow after a bus that refused reads
// for a moment) is bridged: the estimate stays valid and right at once,
// at every gap up to MaxBridgeSeconds and wherever it falls in the beat,
// even when it swallows a whole beat (the interval across the gap never
// counts); the same gap handled by Reset leaves the estimate invalid for
// FirstEstimateSeconds.
func TestEstimatorBridgesACountedGap(t *testing.T) {
	for _, hr := range []float64{50, 72, 140} {
		for _, gap := range []float64{0.04, 0.3, 0.6, 1.0, 1.24} {
			for _, offset := range []float64{0, 0.25, 0.5, 0.75} { // of a beat, where the gap starts
				e := NewEstimator(25)
				g := newPPG(25, hr, 97)
				g.feed(e, 10+offset*60/hr)
				lost := int(math.Round(gap * 25))
				for range lost {
					g.next() // sampled by the chip, dropped from its full FIFO
				}
				e.Bridge(lost)
				for i := range 25 { // the next second, read at 5 Hz
					e.Add(g.next())
					if i%5 != 4 {
						continue
					}
					r := e.Estimate()
					if !r.Valid() || math.Abs(r.HeartRateBPM-hr) > 2 || math.Abs(r.SpO2Pct-97) > 2 {
						t.Fatalf("%v bpm, a %v s gap %v of a beat in, %d samples after it: %+v; want %v ± 2 bpm, 97 ± 2 %%, valid", hr, gap, offset, i+1, r, hr)
					}
				}
			}
		}
	}
	e := NewEstimator(25)
	g := newPPG(25, 72, 97)
	g.feed(e, 10)
	for range 12 {
		g.next()
	}
	e.Reset()
	g.feed(e, 1)
	if r := e.Estimate(); r.HeartRateValid {
		t.Errorf("a Reset for the same gap: %+v a second later, want invalid", r)
	}
}

// Bridge with no sample before the gap, or a gap longer than
// MaxBridgeSeconds (in one report or several before the next Add), is a
// Reset.
func TestEstimatorBridgeLimits(t *testing.T) {
	e := NewEstimator(25)
	e.Bridge(10)
	g := newPPG(25, 72, 97)
	g.feed(e, 4)
	if r := e.Estimate(); !r.Valid() || e.count != 100 {
		t.Errorf("a Bridge before any sample: %+v over %d samples; want valid over the 100 added", r, e.count)
	}
	for _, reports := range [][]int{{38}, {20, 18}} {
		e := NewEstimator(25)
		g.feed(e, 10)
		for _, n := range reports {
			e.Bridge(n)
		}
		if e.count != 0 {
			t.Errorf("gaps %v (%.2f s): %d samples kept, want a Reset", reports, 38.0/25, e.count)
		}
	}
	e = NewEstimator(25)
	g.feed(e, 10)
	e.Bridge(20)
	e.Bridge(17) // 37 samples: 1.48 s, within MaxBridgeSeconds
	e.Add(g.next())
	if e.count != 200 || e.added != 250+37+1 || len(e.bridges) != 1 || e.bridges[0] != (span{250, 287}) {
		t.Errorf("gaps of 20 and 17: count %d, added %d, bridges %v; want 200, 288, [{250 287}]", e.count, e.added, e.bridges)
	}
}

// A finger placed on an empty sensor is a fresh start: no valid reading
// before FirstEstimateSeconds of it, as after Reset, and from then on (or
// once minPeaks beats and a poll have arrived, for a slow pulse) every
// reading valid and right. The step from the empty sensor's counts
// to the finger's stays out of the estimate: filtered with the pulse, it
// would look like a beat larger than any other and hide the beats near it.
func TestEstimatorFingerArrives(t *testing.T) {
	const fs = 25
	for _, hr := range []float64{40, 58, 72, 120, 180} {
		for _, offset := range []float64{0, 0.3, 0.6} { // of a beat, when the finger arrives
			e := NewEstimator(fs)
			empty := scaled(newPPG(fs, hr, 97), 0.01)
			for i := range 10 * fs {
				e.Add(empty(i, nil))
			}
			g := newPPG(fs, hr, 97)
			for range int(offset * 60 / hr * fs) {
				g.next()
			}
			validFrom := max(FirstEstimateSeconds, minPeaks*60/hr+pollSeconds)
			for i := 1; i <= 10*fs; i++ {
				e.Add(g.next())
				if i%5 != 0 {
					continue
				}
				r := e.Estimate()
				at := float64(i) / fs
				if at < FirstEstimateSeconds && (r.HeartRateValid || r.SpO2Valid) {
					t.Errorf("%v bpm, offset %v: valid at %.1f s, before %v s of finger", hr, offset, at, FirstEstimateSeconds)
				}
				if at >= validFrom && (!r.Valid() || math.Abs(r.HeartRateBPM-hr) > 2 || math.Abs(r.SpO2Pct-97) > 1.5) {
					t.Errorf("%v bpm, offset %v: at %.1f s of finger %+v, want %v ± 2 bpm and 97 ± 1.5 %%", hr, offset, at, r, hr)
				}
			}
		}
	}
}

// RatioFromSpO2 inverts SpO2FromRatio from 55.5 to 100 %.
func TestRatioFromSpO2InvertsTheCurve(t *testing.T) {
	for spo2 := 56.0; spo2 <= 100; spo2 += 0.5 {
		r := RatioFromSpO2(spo2)
		if r < 0.25 || r > 1.8 || math.Abs(SpO2FromRatio(r)-spo2) > 1e-9 {
			t.Errorf("RatioFromSpO2(%v) = %v, which maps to %v", spo2, r, SpO2FromRatio(r))
		}
	}
	if r := RatioFromSpO2(104); r != RatioFromSpO2(100) {
		t.Errorf("RatioFromSpO2(104) = %v, want the R of 100 %% (%v)", r, RatioFromSpO2(100))
	}
}
