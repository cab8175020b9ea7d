package controller

import (
	"math"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/sim/scenario"
	"github.com/sleegation/podd/uplink"
)

// bandNames are the EEG bands in telemetry, in scenario.EEGBands' order.
var bandNames = [scenario.NumEEGBands]string{"delta", "theta", "alpha", "sigma", "beta", "gamma"}

// relativeBands is a stage's band powers as shares of their sum.
func relativeBands(t *testing.T, stage string) map[string]float64 {
	t.Helper()
	b, ok := scenario.StageBands(stage)
	if !ok {
		t.Fatalf("no stage %q", stage)
	}
	p := b.Array()
	var sum float64
	for _, x := range p {
		sum += x
	}
	out := map[string]float64{}
	for i, x := range p {
		out[bandNames[i]] = x / sum
	}
	return out
}

// bandsOff is the largest difference between two sets of relative band
// powers; +Inf when got lacks a band.
func bandsOff(got, want map[string]float64) float64 {
	var d float64
	for band, w := range want {
		g, ok := got[band]
		if !ok {
			return math.Inf(1)
		}
		d = max(d, math.Abs(g-w))
	}
	return d
}

// The simulated pod through the real drivers of its four chips (the
// oximeter, the EEG front end, the skin conductance ADC, the
// thermometer), read as cmd/podd reads them: once each estimator has
// filled its window (the skin conductance's minute is the longest), every
// telemetry record carries every vital, each near the scenario's value,
// and every sensor ok without a single failed poll or open.
func TestEveryVitalFromTheFourSimulatedChips(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		r := newRigWith(t, calm, &memStore{}, rigOpts{simSensors: allSimSensors})
		defer r.stop()
		until(start, 70*time.Second)
		from := len(r.up.telemetrySnapshot())
		until(start, 100*time.Second)
		awake := relativeBands(t, scenario.StageAwake)
		var worst struct{ hr, spo2, skin, temp, eeg float64 }
		records := r.up.telemetrySnapshot()[from:]
		if len(records) < 29 {
			t.Fatalf("%d telemetry records in 30 s", len(records))
		}
		for i, tm := range records {
			v := tm.Vitals
			if v.HeartRateBPM == nil || v.SpO2Pct == nil || v.SkinConductanceUS == nil || v.BodyTempC == nil || len(v.EEG) != len(bandNames) {
				t.Fatalf("record %d (of those from 70 s): vitals %+v, want every one", i, v)
			}
			worst.hr = max(worst.hr, math.Abs(*v.HeartRateBPM-58))
			worst.spo2 = max(worst.spo2, math.Abs(*v.SpO2Pct-97))
			worst.skin = max(worst.skin, math.Abs(*v.SkinConductanceUS-2)/2)
			worst.temp = max(worst.temp, math.Abs(*v.BodyTempC-36.6))
			worst.eeg = max(worst.eeg, bandsOff(v.EEG, awake))
			for _, chip := range []string{"max30102", chipEEG, chipSkin, chipThermo} {
				if h := tm.Sensors[chip]; h != (uplink.SensorHealth{State: "ok"}) {
					t.Fatalf("record %d: sensor %s %+v, want ok with no errors", i, chip, h)
				}
			}
		}
		t.Logf("largest differences from the scenario over 30 s: heart rate %.1f bpm, SpO2 %.1f points, skin conductance %.1f %%, body temperature %.2f °C, EEG relative band power %.3f",
			worst.hr, worst.spo2, 100*worst.skin, worst.temp, worst.eeg)
		// Measured: 0.1 bpm, 0.1 points, 1.5 %, 0.01 °C, 0.018; the
		// simulator adds a drift of up to 0.05 µS to the skin conductance
		// and a wander of up to 0.05 °C to the temperature.
		if worst.hr > 2 || worst.spo2 > 2 || worst.skin > 0.02 || worst.temp > 0.1 || worst.eeg > 0.03 {
			t.Errorf("a vital off the scenario's by more than 2 bpm, 2 points, 2 %%, 0.1 °C or 0.03 of the EEG's power")
		}
		if faults := r.up.Events("fault"); len(faults) != 0 {
			t.Errorf("fault events %+v on a healthy pod", faults)
		}
	})
}
