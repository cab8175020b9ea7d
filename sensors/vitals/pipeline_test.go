package vitals_test

import (
	"math"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/sensors/max30102"
	"github.com/sleegation/podd/sensors/vitals"
	"github.com/sleegation/podd/sim"
)

// The whole chain as the daemon runs it: the simulated chip on the simulated
// bus, the real driver, the estimator; the sleeper's heart rate and SpO2
// change mid-run and the finger finally leaves the sensor.
func TestPipelineReportsTheSleepersVitals(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const change = 30 * time.Second
		start := time.Now()
		sleeper := func(at time.Time) (float64, float64) {
			if at.Sub(start) < change {
				return 62, 97
			}
			return 95, 91
		}
		bus := sim.NewI2CBus("sim-i2c")
		chip := sim.NewMAX30102(sleeper, 7)
		if err := bus.Attach(sim.MAX30102Addr, chip); err != nil {
			t.Fatal(err)
		}
		dev, err := max30102.New(bus, nil)
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		est := vitals.NewEstimator(dev.SampleRate())
		buf := make([]max30102.Sample, max30102.FIFODepth)

		// poll runs the daemon's loop until d after start and returns the
		// last estimate.
		poll := func(d time.Duration) vitals.Reading {
			var r vitals.Reading
			for time.Since(start) < d {
				time.Sleep(500 * time.Millisecond)
				n, lost, err := dev.ReadFIFO(buf)
				if err != nil || lost > 0 {
					t.Fatalf("at %v: ReadFIFO = %d, %d, %v", time.Since(start), n, lost, err)
				}
				for _, s := range buf[:n] {
					est.Add(s.Red, s.IR)
				}
				r = est.Estimate()
			}
			return r
		}
		check := func(r vitals.Reading, hr, spo2 float64) {
			t.Helper()
			if !r.HeartRateValid || math.Abs(r.HeartRateBPM-hr) > 2 || !r.SpO2Valid || math.Abs(r.SpO2Pct-spo2) > 1.5 {
				t.Errorf("at %v: got %+v, want %v ± 2 bpm and %v ± 1.5 %%", time.Since(start), r, hr, spo2)
			}
		}

		check(poll(20*time.Second), 62, simSpO2(97))
		// The new vitals are reported once a window holds only them.
		check(poll(change+time.Duration(vitals.WindowSeconds+1)*time.Second), 95, simSpO2(91))

		chip.SetFingerPresent(false)
		off := time.Since(start)
		if r := poll(off + time.Duration(vitals.WindowSeconds)*time.Second); r.HeartRateValid || r.SpO2Valid {
			t.Errorf("a window after the finger left: got %+v, want both invalid", r)
		}
		if err := dev.Halt(); err != nil {
			t.Fatal(err)
		}
	})
}

// pipelineTrace runs the daemon's loop (the simulated chip, the real driver,
// the estimator, an estimate every 200 ms as controller.Config's default
// SensorPeriod) for d, with the sleeper's vitals given as functions of the
// time since start, and returns every reading stamped with that time.
func pipelineTrace(t *testing.T, d time.Duration, sleeper func(since time.Duration) (hr, spo2 float64)) []vitals.Reading {
	t.Helper()
	var out []vitals.Reading
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		bus := sim.NewI2CBus("sim-i2c")
		chip := sim.NewMAX30102(func(at time.Time) (float64, float64) { return sleeper(at.Sub(start)) }, 7)
		if err := bus.Attach(sim.MAX30102Addr, chip); err != nil {
			t.Fatal(err)
		}
		dev, err := max30102.New(bus, nil)
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		est := vitals.NewEstimator(dev.SampleRate())
		buf := make([]max30102.Sample, max30102.FIFODepth)
		for time.Since(start) < d {
			time.Sleep(200 * time.Millisecond)
			n, lost, err := dev.ReadFIFO(buf)
			if err != nil || lost > 0 {
				t.Fatalf("at %v: ReadFIFO = %d, %d, %v", time.Since(start), n, lost, err)
			}
			for _, s := range buf[:n] {
				est.Add(s.Red, s.IR)
			}
			r := est.Estimate()
			r.At = time.Time{}.Add(time.Since(start))
			out = append(out, r)
		}
		if err := dev.Halt(); err != nil {
			t.Fatal(err)
		}
	})
	return out
}

// simSpO2 is the SpO2 the estimator reads from the simulated chip at a
// sleeper's spo2: the simulator writes the red channel in the ratio the
// linear 110 − 25·R inverts, the estimator reads it by its calibration.
func simSpO2(spo2 float64) float64 { return spo2 }

func since(r vitals.Reading) time.Duration { return r.At.Sub(time.Time{}) }

// A nightmare (sim/scenarios/tachycardia.yaml, nightmare.yaml): the heart
// rate climbs from 60 to 150 bpm at 10 bpm/s, holds, and falls back as
// fast. The watchdog must see the high heart rate, so the readings stay
// valid (it aborts for stale vitals after 5 s without one) and follow the
// rate closely.
func TestPipelineFollowsAHeartRateRamp(t *testing.T) {
	const (
		up, down = 20 * time.Second, 40 * time.Second
		maxGap   = 2 * time.Second // between valid readings
		tol      = 8.0             // bpm
		maxLag   = 3 * time.Second
	)
	hr := func(s time.Duration) float64 {
		switch {
		case s < up:
			return 60
		case s < down:
			return min(60+10*(s-up).Seconds(), 150)
		default:
			return max(150-10*(s-down).Seconds(), 60)
		}
	}
	rs := pipelineTrace(t, 60*time.Second, func(s time.Duration) (float64, float64) { return hr(s), 97 })

	last := 5 * time.Second // the first 4 s of signal give no reading
	var gap, lag, worst time.Duration
	for i, r := range rs {
		s := since(r)
		if s < last {
			continue
		}
		if r.Valid() || i == len(rs)-1 {
			gap, last = max(gap, s-last), s
		}
		if !r.HeartRateValid || s < up {
			continue
		}
		// The shortest delay at which the true rate is within tol of the
		// reading.
		d := time.Duration(0)
		for ; d <= 10*time.Second && math.Abs(r.HeartRateBPM-hr(s-d)) > tol; d += 10 * time.Millisecond {
		}
		if d > lag {
			lag, worst = d, s
		}
		if want := simSpO2(97); math.Abs(r.SpO2Pct-want) > 1.5 {
			t.Errorf("at %v: SpO2 %.1f %%, want %.1f ± 1.5", s, r.SpO2Pct, want)
		}
	}
	if gap > maxGap {
		t.Errorf("%v between valid readings, want at most %v", gap, maxGap)
	}
	if lag > maxLag {
		t.Errorf("at %v the reading is %v behind the true heart rate (± %v bpm), want at most %v", worst, lag, tol, maxLag)
	}
	t.Logf("longest time between valid readings %v; largest lag within %v bpm %v", gap, tol, lag)
}

// The pipeline test's change (62 bpm, 97 % → 95 bpm, 91 %) at several
// points of the cardiac cycle: the readings are valid again within 4 s and
// report the new vitals soon after.
func TestPipelineRecoversFromAJump(t *testing.T) {
	const validBy, settleBy = 4 * time.Second, 5 * time.Second
	var worstValid, worstSettle time.Duration
	for k := range 5 {
		change := 30*time.Second + time.Duration(k)*190*time.Millisecond
		rs := pipelineTrace(t, change+10*time.Second, func(s time.Duration) (float64, float64) {
			if s < change {
				return 62, 97
			}
			return 95, 91
		})
		var valid, settled time.Duration
		for _, r := range rs {
			s := since(r)
			if s <= change {
				if s > 10*time.Second && !r.Valid() {
					t.Errorf("before the change, at %v: got %+v, want valid", s, r)
				}
				continue
			}
			if !r.Valid() {
				valid = s - change
			}
			if !r.Valid() || math.Abs(r.HeartRateBPM-95) > 2 || math.Abs(r.SpO2Pct-simSpO2(91)) > 1.5 {
				settled = s - change
			}
		}
		if valid >= validBy {
			t.Errorf("change at %v: invalid reading %v after it, want none from %v on", change, valid, validBy)
		}
		if settled >= settleBy {
			t.Errorf("change at %v: reading not 95 ± 2 bpm and 91 ± 1.5 %% %v after it, want from %v on", change, settled, settleBy)
		}
		worstValid, worstSettle = max(worstValid, valid), max(worstSettle, settled)
	}
	t.Logf("last invalid reading %v after the change, last off the new vitals %v after it (worst of 5)", worstValid, worstSettle)
}

// A bus that refuses the oximeter's reads for a moment (a NACK) while the
// chip keeps sampling: the next good read returns the 32 samples the FIFO
// kept and counts those it dropped, which the estimator bridges. The driver
// runs the FIFO with FIFO_ROLLOVER_EN off, so a full FIFO drops the newest
// samples: the gap lies after the samples that read returns, and the
// driver reports it with the next read, as missing before its samples,
// where it is bridged, as the daemon's loop does. The readings are
// then valid again at the first or second good read, wherever in the
// cardiac cycle the NACK starts.
func TestPipelineBridgesANACK(t *testing.T) {
	for _, d := range []time.Duration{300 * time.Millisecond, time.Second, 1500 * time.Millisecond, 2 * time.Second} {
		var worst time.Duration
		for k := range 20 {
			nackAt := 30*time.Second + time.Duration(k)*53*time.Millisecond
			worst = max(worst, nackGap(t, nackAt, d))
		}
		t.Logf("a %v NACK: at most %v between valid readings (20 phases)", d, worst)
		if want := d + 400*time.Millisecond; worst > want {
			t.Errorf("a %v NACK: %v between valid readings, want at most %v", d, worst, want)
		}
	}
}

// nackGap runs the daemon's loop on a calm sleeper with the oximeter's bus
// refusing every read from nackAt for d, and returns the longest time
// between valid readings after the first 10 s. A valid heart rate off
// the sleeper's 58 bpm by more than 2 bpm is an error.
func nackGap(t *testing.T, nackAt, d time.Duration) time.Duration {
	var worst time.Duration
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		bus := sim.NewI2CBus("sim-i2c")
		chip := sim.NewMAX30102(func(time.Time) (float64, float64) { return 58, 97 }, 7)
		if err := bus.Attach(sim.MAX30102Addr, chip); err != nil {
			t.Fatal(err)
		}
		dev, err := max30102.New(bus, nil)
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		time.AfterFunc(nackAt, func() { bus.SetFault(sim.MAX30102Addr, sim.FaultNACK) })
		time.AfterFunc(nackAt+d, func() { bus.SetFault(sim.MAX30102Addr, sim.FaultNone) })
		est := vitals.NewEstimator(dev.SampleRate())
		buf := make([]max30102.Sample, max30102.FIFODepth)
		var lastValid time.Duration
		for time.Since(start) < nackAt+d+10*time.Second {
			time.Sleep(200 * time.Millisecond)
			s := time.Since(start)
			n, lost, err := dev.ReadFIFO(buf)
			if err != nil {
				continue
			}
			if lost > 0 {
				est.Bridge(lost) // missing before buf[0]
			}
			for _, smp := range buf[:n] {
				est.Add(smp.Red, smp.IR)
			}
			r := est.Estimate()
			if r.HeartRateValid && math.Abs(r.HeartRateBPM-58) > 2 {
				t.Errorf("NACK at %v for %v: at %v %.1f bpm, want 58 ± 2", nackAt, d, s, r.HeartRateBPM)
			}
			if r.Valid() && s >= 10*time.Second {
				if lastValid > 0 {
					worst = max(worst, s-lastValid)
				}
				lastValid = s
			}
		}
		if err := dev.Halt(); err != nil {
			t.Fatal(err)
		}
	})
	return worst
}
