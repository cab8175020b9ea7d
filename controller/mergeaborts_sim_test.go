package controller

import (
	"math"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/safety"
	"github.com/sleegation/podd/sensors/vitals"
	"github.com/sleegation/podd/sim/scenario"
	"github.com/sleegation/podd/uplink"
)

// hrLag is how late the estimator's heart rate follows a ramp: it is a
// mean over the newest beats (vitals.RecentSeconds), centred half of it
// back (package safety's doc measures 1.5 to 2.6 s).
const hrLag = time.Duration(vitals.RecentSeconds / 2 * float64(time.Second))

const mergeSkip = "minutes of a merge with every simulated sensor through the daemon: the race pass runs it, the short (armv7 emulated) pass leaves it out"

// A nightmare during a merge (sim/scenarios/nightmare-merge.yaml: from
// 2m, over 20 s, the EEG's beta over its alpha, the heart 60 to 88 bpm,
// the tonic skin conductance 2 to 3 µS, and 0.8 µS responses every 3 s)
// aborts on stability_low, medium priority, after its warning.
//
// When: the index of the sleeper's own values (the heart's rise, the
// tonic skin conductance over the baseline's, the EEG's beta/alpha over
// the baseline's: stabilityCrossing) falls below 0.3; the watchdog dates
// the index at the latest time the vitals in it describe (the heart's
// mean, the tonic filter's delay, the EEG's newest 8 s), so the condition
// begins within half a second before that and a second after, though it
// is seen seconds later, and the abort follows 10 s after it
// (StabilityDelay). eeg_arousal warns when it sees the EEG's recent ratio
// past 3 times the baseline's (the heart is 10 bpm up long before): after
// the sleeper's ratio passed it, by at most the 2.6 s the detection lag
// test allows and the recent ratio's age (up to 6 s), and has not run its
// 30 s. The abort carries the index and the deviations it was computed
// from.
func TestANightmareDuringAMergeAbortsOnTheStabilityIndex(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip(mergeSkip)
	}
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		r, sc := mergeScenario(t, start, "nightmare-merge")
		defer r.stop()
		limits := safety.DefaultLimits()
		cross := stabilityCrossing(sc)
		arousal := eegArousalCrossing(sc)
		until(start, cross+time.Second+limits.StabilityDelay+time.Second)

		ev, began, detected := abortedMerge(t, r, start, safety.RuleStabilityLow, safety.PriorityMedium)
		within(t, "stability_low's condition began", began, cross-500*time.Millisecond, cross+time.Second)
		tripAfter(t, began, detected, limits.StabilityDelay)
		warnedFirst(t, r.up, safety.RuleStabilityLow, began, 6500*time.Millisecond, start)
		arousalSeen := eventTime(t, firstWarning(t, r.up, safety.RuleEEGArousal), "detected_at", start)
		within(t, "eeg_arousal's warning", arousalSeen, arousal, arousal+8600*time.Millisecond)
		noHighWarnings(t, r.up)

		v, _ := ev.Fields["values"].(map[string]float64)
		hasKeys(t, v, "stability", "heart_rate_deviation_bpm", "spo2_deviation_pct", "body_temp_deviation_c", "skin_conductance_ratio", "beta_alpha_ratio")
		dev := safety.Deviations{
			HeartRateBPM: v["heart_rate_deviation_bpm"], SpO2Pct: v["spo2_deviation_pct"], BodyTempC: v["body_temp_deviation_c"],
			SkinConductanceRatio: v["skin_conductance_ratio"], BetaAlphaRatio: v["beta_alpha_ratio"],
		}
		if s := safety.Stability(dev); !(v["stability"] < limits.StabilityMin) || math.Abs(s-v["stability"]) > 0.002 {
			t.Errorf("values %v: the index %.3f, from the deviations %.3f: want one index below %v", v, v["stability"], s, limits.StabilityMin)
		}
		if rise := v["heart_rate_deviation_bpm"]; rise < safety.ArousalHeartRateBPM || rise > 28.5 {
			t.Errorf("heart rate %.1f bpm above the baseline, want the nightmare's rise (over 10, at most 28)", rise)
		}
		t.Logf("index below 0.3 at %v; began %v, detected %v; the ratio past 3 with the heart up at %v, eeg_arousal seen at %v: %v",
			cross, began, detected, arousal, arousalSeen, ev.Fields["detail"])
	})
}

// firstWarning is the first warning of rule.
func firstWarning(t *testing.T, up *fakeUplink, rule string) (w uplink.Event) {
	t.Helper()
	for _, e := range up.Events("warning") {
		if e.Fields["rule"] == rule {
			return e
		}
	}
	t.Fatalf("no warning of %s: %+v", rule, up.Events("warning"))
	return w
}

// Cortical arousal during a merge (sim/scenarios/eeg-arousal-merge.yaml:
// from 2m, over 20 s, alpha 40 to 20 µV², beta 8 to 16 µV², the heart 60
// to 75 bpm) aborts on eeg_arousal, medium priority, after its warning,
// with the ratio it judged and the baseline's.
//
// When: the condition needs the EEG's recent ratio (its newest 8 s of
// segments) above 3 times the baseline's and the heart more than 10 bpm
// above the baseline's; dated at the time that ratio describes, it begins
// within half a second before the sleeper's own ratio passes 3 with the
// heart up (eegArousalCrossing) and 2.5 s after (a new ratio every second,
// the threshold on the baseline as the pod measured it, the tick), is
// seen up to the ratio's age (6 s) later, and the
// abort follows 30 s after it (EEGArousalDelay). The stability index (the
// heart 15 bpm up, the ratio 4 times) stays above 0.3: no other rule
// warns.
func TestEEGArousalDuringAMergeAborts(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip(mergeSkip)
	}
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		r, sc := mergeScenario(t, start, "eeg-arousal-merge")
		defer r.stop()
		limits := safety.DefaultLimits()
		want := eegArousalCrossing(sc)
		lowest := 1.0
		for at := 81 * time.Second; at <= want+3*time.Second+limits.EEGArousalDelay+time.Second; at += time.Second {
			until(start, at)
			if s := r.pod.wd.Status().Stability; s != nil {
				lowest = min(lowest, *s)
			}
		}

		ev, began, detected := abortedMerge(t, r, start, safety.RuleEEGArousal, safety.PriorityMedium)
		within(t, "eeg_arousal's condition began", began, want-500*time.Millisecond, want+2500*time.Millisecond)
		tripAfter(t, began, detected, limits.EEGArousalDelay)
		warnedFirst(t, r.up, safety.RuleEEGArousal, began, 6500*time.Millisecond, start)
		if w := r.up.Events("warning"); len(w) != 1 {
			t.Errorf("warnings %+v, want eeg_arousal's alone", w)
		}
		if lowest < limits.StabilityMin {
			t.Errorf("the stability index fell to %.3f", lowest)
		}

		v, _ := ev.Fields["values"].(map[string]float64)
		hasKeys(t, v, "beta_alpha_ratio_to_baseline", "beta_alpha", "baseline_beta_alpha")
		b := sessionBaseline(t, r.up)
		if b.EEGBetaAlpha == nil || v["baseline_beta_alpha"] != *b.EEGBetaAlpha {
			t.Errorf("values %v, want the session's baseline beta/alpha %v", v, b.EEGBetaAlpha)
		}
		if ratio := v["beta_alpha_ratio_to_baseline"]; !(ratio > limits.EEGArousalRatio) || math.Abs(ratio-v["beta_alpha"]/v["baseline_beta_alpha"]) > 0.02 {
			t.Errorf("values %v: want a ratio above %v, beta_alpha over the baseline's", v, limits.EEGArousalRatio)
		}
		t.Logf("the sleeper's ratio and heart past their limits at %v; began %v, detected %v; lowest index %.3f: %v", want, began, detected, lowest, ev.Fields["detail"])
	})
}

// A stress response during a merge (sim/scenarios/stress-merge.yaml: from
// 2m, a 0.3 µS skin response every 4 s, 15 a minute, and the heart 60 to
// 76 bpm over 20 s) aborts on stress, medium priority, after its warning,
// with the responses a minute it judged (15) and the skin's levels.
//
// When: the condition needs 12 responses in the skin estimator's last
// minute and the heart more than 10 bpm up (at about 2m15s). The 12th
// response begins 44 s after the first; it is counted at its peak (the
// simulator's shape peaks 1.8 s after the onset), as the smoothed signal
// falls from it, and the condition is dated at the response's onset (the
// start of its rise, on the signal smoothed over half a second): it
// begins within half a second after the 12th response's onset, and the
// abort follows 2 min later (StressDelay). The index
// (the heart 16 bpm up, the tonic level a little) stays above 0.3.
func TestAStressResponseDuringAMergeAborts(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip(mergeSkip)
	}
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		r, sc := mergeScenario(t, start, "stress-merge")
		defer r.stop()
		limits := safety.DefaultLimits()
		base := sc.VitalsAt(0)
		var onsets []time.Duration
		for e := range sc.EventsBetween(0, sc.Duration()).All() {
			if e.Kind == scenario.EventSCR {
				onsets = append(onsets, e.At)
			}
		}
		n := int(limits.StressSCRPerMin)
		twelfth := onsets[n-1]
		if twelfth-onsets[0] >= time.Minute {
			t.Fatalf("the scenario's 12th response %v after the first: not a storm", twelfth-onsets[0])
		}
		heart := firstWhen(t, 2*time.Minute, 4*time.Minute, func(d time.Duration) bool {
			return sc.VitalsAt(d-hrLag).HeartRateBPM-base.HeartRateBPM > safety.ArousalHeartRateBPM
		})
		want := max(twelfth, heart)
		lowest := 1.0
		for at := 81 * time.Second; at <= want+2500*time.Millisecond+limits.StressDelay+time.Second; at += 5 * time.Second {
			until(start, at)
			if s := r.pod.wd.Status().Stability; s != nil {
				lowest = min(lowest, *s)
			}
		}

		ev, began, detected := abortedMerge(t, r, start, safety.RuleStress, safety.PriorityMedium)
		within(t, "stress's condition began", began, want, want+500*time.Millisecond)
		tripAfter(t, began, detected, limits.StressDelay)
		// Seen when the 12th response is counted, at its peak.
		warnedFirst(t, r.up, safety.RuleStress, began, 2500*time.Millisecond, start)
		if w := r.up.Events("warning"); len(w) != 1 {
			t.Errorf("warnings %+v, want stress's alone", w)
		}
		if lowest < limits.StabilityMin {
			t.Errorf("the stability index fell to %.3f", lowest)
		}

		v, _ := ev.Fields["values"].(map[string]float64)
		hasKeys(t, v, "scr_per_min", "phasic_us", "skin_conductance_us")
		every := onsets[1] - onsets[0]
		if perMin := float64(time.Minute / every); v["scr_per_min"] != perMin {
			t.Errorf("%v responses a minute, want the storm's %v", v["scr_per_min"], perMin)
		}
		storm := scrStormMeanUS(sc, onsets[0], onsets[len(onsets)-1]+every)
		if s := v["skin_conductance_us"]; s < base.SkinConductanceUS || s > base.SkinConductanceUS+storm+0.1 {
			t.Errorf("tonic level %v µS, want the baseline's %v and at most the storm's mean %.2f µS on it", s, base.SkinConductanceUS, storm)
		}
		t.Logf("12th response at %v, heart 10 bpm up at %v; began %v, detected %v: %v", twelfth, heart, began, detected, ev.Fields["detail"])
	})
}

// The EEG's electrodes off during a merge (sim/scenarios/
// eeg-leadoff-merge.yaml: every channel from 2m, for a minute) abort on
// sensor_stale, medium priority, naming the ads1299 in lead_off. The
// episode begins at the first batch read after the fault (the EEG is
// read every 0.1 s) and trips one stale limit (5 s) later; sensor_stale
// has no warning, and no other rule's condition begins. The EEG's fault
// event says lead_off (it said saturated, the state of the first batch's
// railed samples, before sensing judged that batch by its newest frame).
func TestEEGLeadOffDuringAMergeAborts(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip(mergeSkip)
	}
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		r, sc := mergeScenario(t, start, "eeg-leadoff-merge")
		defer r.stop()
		limits := safety.DefaultLimits()
		off := firstWhen(t, 0, sc.Duration(), func(d time.Duration) bool {
			return sc.FaultAt(scenario.DeviceADS1299, d) == scenario.FaultLeadOff
		})
		until(start, off+limits.StaleAfter-time.Second)
		if a := r.up.Events("abort"); len(a) != 0 {
			t.Fatalf("aborted before the stale limit: %+v", a)
		}
		until(start, off+limits.StaleAfter+time.Second)

		ev, began, detected := abortedMerge(t, r, start, safety.RuleSensorStale, safety.PriorityMedium)
		within(t, "the EEG's episode began", began, off, off+200*time.Millisecond)
		tripAfter(t, began, detected, limits.StaleAfter)
		if w := r.up.Events("warning"); len(w) != 0 {
			t.Errorf("warnings %+v, want none", w)
		}
		if d, _ := ev.Fields["detail"].(string); !strings.HasPrefix(d, "ads1299 lead_off for ") {
			t.Errorf("detail %q, want the ads1299 in lead_off", d)
		}
		v, _ := ev.Fields["values"].(map[string]float64)
		hasKeys(t, v, "stale_s")
		if s := v["stale_s"]; s < limits.StaleAfter.Seconds() || s > (limits.StaleAfter+safety.DefaultPeriod).Seconds()+0.05 {
			t.Errorf("stale_s %v, want the stale limit within an evaluation", s)
		}
		// The fault event names the state: the electrodes off, from the
		// first batch (in which the signal railed as they came off).
		f := r.up.Events("fault")
		if len(f) != 1 || f[0].Fields["device"] != scenario.DeviceADS1299 || f[0].Fields["active"] != true || f[0].Fields["state"] != "lead_off" {
			t.Errorf("fault events %+v, want the EEG's lead_off", f)
		}
		t.Logf("lead-off at %v; began %v, detected %v; faults %v", off, began, detected, f)
	})
}
