package safety

import (
	"cmp"
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
		fed := w.tempFed
		w.condition(dTempLow, now, fed, w.tempOnsetLocked(l.TemperatureLowC, true), c, c < l.TemperatureLowC, c >= l.TemperatureLowC+tempDeadbandC)
		w.condition(dTempHigh, now, fed, w.tempOnsetLocked(l.TemperatureHighC, false), c, c > l.TemperatureHighC, c <= l.TemperatureHighC-tempDeadbandC)
	}
	if !w.merge || !w.hasBaseline {
		w.pending[dHeartRateRise], w.pending[dStress], w.pending[dEEGArousal], w.pending[dStabilityLow] = time.Time{}, time.Time{}, time.Time{}, time.Time{}
		w.stability = 1
		return
	}
	raised, calm, hrOK := w.heartRaisedLocked(now)
	if r := w.latest; hrOK {
		ref := w.riseReferenceLocked(now)
		w.condition(dHeartRateRise, now, w.lastFeed, w.described, r.HeartRateBPM, r.HeartRateBPM > ref+l.HeartRateRiseBPM, r.HeartRateBPM <= ref+l.HeartRateRiseBPM-heartRateDeadbandBPM)
	}
	// stress and eeg_arousal need the heart's concurrent rise: it starts
	// their condition only together with the skin's or the EEG's, and its
	// fall back past its deadband clears it as theirs does. Without a
	// valid heart rate neither starts nor clears.
	// Their onsets are dated at the later of the times their two signs
	// began: the skin's newest response or the time the EEG's recent
	// ratio describes, and the time the first reading of the heart's
	// current rise described (onset.go, "Dated onsets" in the package
	// doc). Their readings count for the floor when both signs have been
	// fed again: the earlier of the two feeds.
	heartAt := cmp.Or(w.raisedFrom, w.described, w.lastFeed)
	if s, ok := w.skinLocked(now); ok && hrOK {
		n := float64(s.SCRPerMinute)
		w.judgedSkin = s
		w.condition(dStress, now, earlier(w.skinFed, w.lastFeed), later(w.skinDescribed, heartAt), n,
			n >= l.StressSCRPerMin && raised, n <= l.StressSCRPerMin-stressDeadbandSCR || calm)
	}
	if x, ok := w.arousalLocked(now); ok && hrOK {
		w.judgedEEG = w.eeg
		w.condition(dEEGArousal, now, earlier(w.eegFed, w.lastFeed), later(w.eegDescribed, heartAt), x,
			x > l.EEGArousalRatio && raised, x <= l.EEGArousalRatio-eegArousalDeadband || calm)
	}
	dev := w.deviationsLocked(now)
	w.stability = Stability(dev)
	at, fed := w.stabilityAtLocked(dev)
	w.condition(dStabilityLow, now, fed, at, w.stability, w.stability < l.StabilityMin, w.stability >= l.StabilityMin+stabilityDeadband)
}

// ArousalHeartRateBPM is the concurrent sign stress and eeg_arousal
// need, bpm: the heart rate more than this above the session baseline's
// while the skin conductance responses or the EEG are past their limits.
// Sleep slows the heart below the relaxed wakefulness of the baseline,
// in REM and slow-wave sleep alike, while REM's EEG and slow-wave sleep's
// skin look aroused; an arousal, a stress response or a nightmare speeds
// it. See the package doc, "Concurrent heart rate".
const ArousalHeartRateBPM = 10

// heartRaisedLocked judges the latest heart rate against the baseline's
// for stress and eeg_arousal: raised, more than ArousalHeartRateBPM
// above it; calm, at or below it less the heart rate's deadband; ok,
// whether there is a valid, fresh heart rate to judge. w.mu must be
// held, with a baseline.
func (w *Watchdog) heartRaisedLocked(now time.Time) (raised, calm, ok bool) {
	r := w.latest
	if !r.HeartRateValid || !w.fresh(now, w.lastFeed) {
		return false, false, false
	}
	rise := r.HeartRateBPM - w.baseline.HeartRateBPM
	return rise > ArousalHeartRateBPM, rise <= ArousalHeartRateBPM-heartRateDeadbandBPM, true
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

// Warning is the start of a rule's alarm delay: its condition began, and
// the rule aborts if it lasts Delay from its onset (an IEC 60601-1-8
// alarm condition whose signal is delayed; the onset may be dated before
// At, see "Dated onsets" in the package doc). A dreamscape may calm down
// on it.
type Warning struct {
	Rule     string
	Priority string // PriorityHigh or PriorityMedium
	// Name and Value are the value judged (as in Abort.Values), Limit the
	// threshold it crossed, in its unit.
	Name  string
	Value float64
	Limit float64
	// Delay is the rule's alarm delay.
	Delay time.Duration
	// At is the wall-clock time the condition was seen (Options.Clock).
	At time.Time
}

// warningLocked is delayed rule d's warning. w.mu must be held.
func (w *Watchdog) warningLocked(d delayed, now, at time.Time) Warning {
	name, value, _, limit := w.valueLocked(d, now)
	return Warning{Rule: delayedNames[d], Priority: Priority(delayedNames[d]), Name: name, Value: round3(value), Limit: limit, Delay: w.delay(d), At: at}
}

// valueLocked is the value delayed rule d last judged (a valid, fresh
// reading: an estimate that went invalid since is not what the condition
// holds on), its name, the direction of its crossing and the threshold.
// w.mu must be held.
func (w *Watchdog) valueLocked(d delayed, now time.Time) (name string, value float64, dir string, limit float64) {
	l, v := w.limits, w.judged[d]
	switch d {
	case dHeartRateHigh:
		return "heart_rate_bpm", v, "above", l.HeartRateHighBPM
	case dHeartRateLow:
		return "heart_rate_bpm", v, "below", l.HeartRateLowBPM
	case dSpO2Low:
		return "spo2_pct", v, "below", l.SpO2LowPct
	case dSpO2Critical:
		return "spo2_pct", v, "below", l.SpO2CriticalPct
	case dHeartRateRise:
		return "heart_rate_bpm", v, "above", w.riseReferenceLocked(now) + l.HeartRateRiseBPM
	case dTempLow:
		return "body_temp_c", v, "below", l.TemperatureLowC
	case dTempHigh:
		return "body_temp_c", v, "above", l.TemperatureHighC
	case dStress:
		return "scr_per_min", v, "at or above", l.StressSCRPerMin
	case dEEGArousal:
		return "beta_alpha_ratio_to_baseline", v, "above", l.EEGArousalRatio
	}
	return "stability", v, "below", l.StabilityMin
}

// abortFor is the abort of delayed rule d, whose condition has lasted for,
// with the values it judged. w.mu must be held.
func (w *Watchdog) abortFor(d delayed, lasted time.Duration, now time.Time) Abort {
	name, value, dir, limit := w.valueLocked(d, now)
	format := "%s %.1f %s %g for %.1f s (delay %.1f s)"
	if d == dStabilityLow || d == dEEGArousal {
		format = "%s %.3f %s %g for %.1f s (delay %.1f s)" // an index and a factor near their limits
	}
	a := Abort{Rule: delayedNames[d], Values: map[string]float64{name: round3(value)}, Limit: limit, lasted: lasted,
		Detail: fmt.Sprintf(format, name, value, dir, limit, lasted.Seconds(), w.delay(d).Seconds())}
	switch d {
	case dHeartRateRise:
		a.Values["baseline_heart_rate_bpm"] = round3(w.baseline.HeartRateBPM)
		if lo, ok := w.hrWindow.lowest(int64(now.Sub(w.base) / time.Second)); ok {
			a.Values["lowest_heart_rate_bpm"] = round3(lo)
		}
	case dTempLow, dTempHigh:
		a.Values["sensor_temp_c"] = round3(value - w.coreOffset)
		a.Values["core_offset_c"] = round3(w.coreOffset)
	case dStress:
		a.Values["phasic_us"] = round3(w.judgedSkin.PhasicMicrosiemens)
		a.Values["skin_conductance_us"] = round3(w.judgedSkin.TonicMicrosiemens)
	case dEEGArousal:
		a.Values["beta_alpha"] = round3(w.judgedEEG.RecentBetaAlpha)
		a.Values["baseline_beta_alpha"] = round3(w.baseline.BetaAlpha)
	case dStabilityLow:
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
