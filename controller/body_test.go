package controller

import (
	"math"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/safety"
)

// With every sensor simulated, the session's baseline has the skin
// conductance, the temperature and the EEG's beta/alpha besides the
// heart rate and SpO2, the watchdog is handed it (the rules compared with
// it are armed) and a calm sleeper's stability index stays near 1.
func TestTheBaselineHasEveryVitalAndArmsTheMergeRules(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("minutes of simulated sensors through the pod: the race pass runs it, the short (armv7 emulated) pass leaves it out")
	}
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		r := mergedRigWith(t, start, calm, rigOpts{simSensors: allSimSensors})
		defer r.stop()
		var b *Baseline
		for _, e := range r.up.Events("state") {
			if x, ok := e.Fields["baseline"].(Baseline); ok {
				b = &x
			}
		}
		if b == nil || b.SkinConductanceUS == nil || b.BodyTempC == nil || b.EEGBetaAlpha == nil {
			t.Fatalf("baseline %+v, want every vital", b)
		}
		// The scenario's 2 µS and 36.6 °C; the simulated EEG's beta/alpha
		// is about 0.2 awake.
		if math.Abs(*b.SkinConductanceUS-2) > 0.1 || math.Abs(*b.BodyTempC-36.6) > 0.1 || !(*b.EEGBetaAlpha > 0.01 && *b.EEGBetaAlpha < 10) {
			t.Fatalf("baseline %+v: skin %v µS, temperature %v °C, beta/alpha %v", b, *b.SkinConductanceUS, *b.BodyTempC, *b.EEGBetaAlpha)
		}
		until(start, 2*time.Minute)
		st := r.pod.wd.Status()
		for _, rule := range []string{safety.RuleHeartRateRise, safety.RuleEEGArousal, safety.RuleStabilityLow, safety.RuleStress, safety.RuleSensorStale} {
			if !slices.Contains(st.Armed, rule) {
				t.Fatalf("armed %v, want %s", st.Armed, rule)
			}
		}
		if st.Stability == nil || *st.Stability < 0.9 || st.Level != safety.LevelOK || len(r.up.Events("abort")) != 0 {
			t.Fatalf("status %+v, aborts %v: want a calm sleeper near the baseline", st, r.up.Events("abort"))
		}
		// Telemetry carries the index during the merge.
		tel := r.up.telemetrySnapshot()
		if last := tel[len(tel)-1]; last.Stability == nil || *last.Stability < 0.9 || *last.Stability > 1 {
			t.Fatalf("telemetry's stability %v, want the index", last.Stability)
		}
	})
}

// A fever through the simulated thermometer (36.6 to 39 °C over 3 min,
// slower than the estimator's 1 °C a minute) warns as the core passes
// 38.5 °C and aborts the idle pod with temperature_high 60 s later, with
// the values it judged.
func TestAFeverAbortsWithItsValues(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		r := newRigWith(t, calm+"timeline:\n  - {at: 1m, ramp: 3m, set: {body_temp_c: 39}}\n", &memStore{}, rigOpts{simSensors: []string{chipThermo}})
		defer r.stop()
		// 38.5 °C is reached at 1m + 3m·(1.9/2.4) = 3m22.5s; the
		// estimator smooths over 10 s, and the delay is 60 s.
		until(start, 4*time.Minute+15*time.Second)
		if a := r.up.Events("abort"); len(a) != 0 {
			t.Fatalf("aborted within the delay: %+v", a)
		}
		// The delay's start was a warning, once.
		w := r.up.Events("warning")
		if len(w) != 1 || w[0].Fields["rule"] != safety.RuleTempHigh || w[0].Fields["priority"] != safety.PriorityMedium ||
			w[0].Fields["limit"] != 38.5 || w[0].Fields["delay_s"] != 60.0 {
			t.Fatalf("warnings %+v, want one of temperature_high", w)
		}
		if v, _ := w[0].Fields["values"].(map[string]float64); v["body_temp_c"] <= 38.5 {
			t.Fatalf("warning values %v", w[0].Fields["values"])
		}
		until(start, 4*time.Minute+45*time.Second)
		a := r.up.Events("abort")
		if len(a) != 1 || a[0].Fields["rule"] != safety.RuleTempHigh || a[0].Fields["limit"] != 38.5 {
			t.Fatalf("aborts %+v, want one temperature_high at 38.5", a)
		}
		v, _ := a[0].Fields["values"].(map[string]float64)
		if v["body_temp_c"] <= 38.5 || v["body_temp_c"] != v["sensor_temp_c"] || v["core_offset_c"] != 0 {
			t.Fatalf("values %v: want the core above 38.5 °C, the reading, offset 0", v)
		}
	})
}
