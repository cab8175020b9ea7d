package safety

import (
	"fmt"
	"time"
)

// bodyConditionsLocked updates the alarm conditions of the rules fed by the
// thermometer, the skin conductance, the EEG and the session's baseline.
// Only valid readings fed within StaleAfter start or clear a condition.
// The merge-only rules (heart_rate_rise, stress, eeg_arousal,
// stability_low) have no condition outside a merge, and those compared with
// the baseline none before SetBaseline. w.mu must be held.
func (w *Watchdog) bodyConditionsLocked(now time.Time) {
	l := w.limits
	if c, ok := w.coreTempLocked(now); ok {
		w.condition(dTempLow, now, c < l.TemperatureLowC, c >= l.TemperatureLowC+tempDeadbandC)
		w.condition(dTempHigh, now, c > l.TemperatureHighC, c <= l.TemperatureHighC-tempDeadbandC)
	}
	if !w.merge {
		w.pending[dStress] = time.Time{}
	} else if s, ok := w.skinLocked(now); ok {
		n := float64(s.SCRPerMinute)
		w.condition(dStress, now, n >= l.StressSCRPerMin, n <= l.StressSCRPerMin-stressDeadbandSCR)
	}
	if !w.merge || !w.hasBaseline {
		w.pending[dHeartRateRise], w.pending[dEEGArousal], w.pending[dStabilityLow] = time.Time{}, time.Time{}, time.Time{}
		w.stability = 1
		return
	}
	b := w.baseline
	if r := w.latest; r.HeartRateValid && w.fresh(now, w.lastFeed) {
		ref := w.riseReferenceLocked(now)
		w.condition(dHeartRateRise, now, r.HeartRateBPM > ref+l.HeartRateRiseBPM, r.HeartRateBPM <= ref+l.HeartRateRiseBPM-heartRateDeadbandBPM)
	}
	if e, ok := w.eegLocked(now); ok && b.BetaAlphaValid && b.BetaAlpha > 0 {
		x := e.BetaAlpha / b.BetaAlpha
		w.condition(dEEGArousal, now, x > l.EEGArousalRatio, x <= l.EEGArousalRatio-eegArousalDeadband)
	}
	w.stability = Stability(w.deviationsLocked(now))
	w.condition(dStabilityLow, now, w.stability < l.StabilityMin, w.stability >= l.StabilityMin+stabilityDeadband)
}

// riseReferenceLocked is what heart_rate_rise measures a rise from: the
// higher of the baseline's heart rate and the lowest valid rate of the
// last RiseWindow (the current one included). w.mu must be held, with a
// baseline.
func (w *Watchdog) riseReferenceLocked(now time.Time) float64 {
	ref := w.baseline.HeartRateBPM
	if lo, ok := w.hrWindow.lowest(int64(now.Sub(w.base) / time.Second)); ok && lo > ref {
		ref = lo
	}
	return ref
}

// abortFor is the abort of delayed rule d, whose condition has lasted for,
// with the values it judged. w.mu must be held.
func (w *Watchdog) abortFor(d delayed, lasted time.Duration, now time.Time) Abort {
	l, r := w.limits, w.latest
	a := Abort{Rule: delayedNames[d], Values: map[string]float64{}}
	detail := func(name string, value float64, dir string, limit float64) {
		a.Detail = fmt.Sprintf("%s %.1f %s %g for %.1f s (delay %.1f s)", name, value, dir, limit, lasted.Seconds(), w.delay(d).Seconds())
		a.Values[name] = round3(value)
		a.Limit = limit
	}
	switch d {
	case dHeartRateHigh:
		detail("heart_rate_bpm", r.HeartRateBPM, "above", l.HeartRateHighBPM)
	case dHeartRateLow:
		detail("heart_rate_bpm", r.HeartRateBPM, "below", l.HeartRateLowBPM)
	case dSpO2Low:
		detail("spo2_pct", r.SpO2Pct, "below", l.SpO2LowPct)
	case dSpO2Critical:
		detail("spo2_pct", r.SpO2Pct, "below", l.SpO2CriticalPct)
	case dHeartRateRise:
		ref := w.riseReferenceLocked(now)
		detail("heart_rate_bpm", r.HeartRateBPM, "above", ref+l.HeartRateRiseBPM)
		a.Values["baseline_heart_rate_bpm"] = round3(w.baseline.HeartRateBPM)
		if lo, ok := w.hrWindow.lowest(int64(now.Sub(w.base) / time.Second)); ok {
			a.Values["lowest_heart_rate_bpm"] = round3(lo)
		}
	case dTempLow, dTempHigh:
		core := w.temp.Celsius + w.coreOffset
		if d == dTempLow {
			detail("body_temp_c", core, "below", l.TemperatureLowC)
		} else {
			detail("body_temp_c", core, "above", l.TemperatureHighC)
		}
		a.Values["sensor_temp_c"] = round3(w.temp.Celsius)
		a.Values["core_offset_c"] = round3(w.coreOffset)
	case dStress:
		detail("scr_per_min", float64(w.skin.SCRPerMinute), "at or above", l.StressSCRPerMin)
		a.Values["phasic_us"] = round3(w.skin.PhasicMicrosiemens)
		a.Values["skin_conductance_us"] = round3(w.skin.TonicMicrosiemens)
	case dEEGArousal:
		x := w.eeg.BetaAlpha / w.baseline.BetaAlpha
		detail("beta_alpha_ratio_to_baseline", x, "above", l.EEGArousalRatio)
		a.Values["beta_alpha"] = round3(w.eeg.BetaAlpha)
		a.Values["baseline_beta_alpha"] = round3(w.baseline.BetaAlpha)
	case dStabilityLow:
		detail("stability", w.stability, "below", l.StabilityMin)
		dev := w.deviationsLocked(now)
		for _, v := range []struct {
			name string
			x    float64
		}{
			{"heart_rate_deviation_bpm", dev.HeartRateBPM},
			{"spo2_deviation_pct", dev.SpO2Pct},
			{"body_temp_deviation_c", dev.BodyTempC},
			{"skin_conductance_ratio", dev.SkinConductanceRatio},
			{"beta_alpha_ratio", dev.BetaAlphaRatio},
		} {
			a.Values[v.name] = round3(v.x)
		}
	}
	return a
}

// Alarm priorities of IEC 60601-1-8 (Table 1), by the potential result of
// failing to respond and its onset.
const (
	// PriorityHigh: death or irreversible injury, with an immediate
	// onset (within seconds to minutes).
	PriorityHigh = "high"
	// PriorityMedium: reversible injury, or worse with a delayed onset;
	// or a technical condition that blinds part of the monitoring.
	PriorityMedium = "medium"
)

// Priority is a rule's alarm priority: high for the rules that catch an
// immediate danger (a deep desaturation, a heart rate beyond its limits
// or suddenly risen, and the pod blind to both: no valid vitals, no
// reading at all); medium for the slower ones (SpO2 below its first
// limit, the body temperature, stress, arousal, the stability index) and
// for a sensor besides the oximeter that stopped working. Every rule of
// the table aborts; the priority orders them. It returns "" for a name
// that is no rule.
func Priority(rule string) string {
	switch rule {
	case RuleSpO2Critical, RuleHeartRateHigh, RuleHeartRateLow, RuleHeartRateRise, RuleVitalsStale, RulePipeline:
		return PriorityHigh
	case RuleSpO2Low, RuleTempLow, RuleTempHigh, RuleStress, RuleEEGArousal, RuleStabilityLow, RuleSensorStale:
		return PriorityMedium
	}
	return ""
}
