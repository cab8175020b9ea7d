package controller

import (
	"testing"
	"testing/synctest"
	"time"
)

// A calm night with every stage change (sim/scenarios/sleep-cycle.yaml:
// wake -> N1 -> N2 -> N3 -> REM, the heart slowing, the wrist warming,
// the skin drying), through the whole daemon on the simulated pod: no
// abort and no warning of stress, eeg_arousal or stability_low, the
// merge still on after 32 min, and the stability index near 1 throughout, though REM's EEG has a beta/alpha ratio well over 3
// times the awake baseline's (eeg_arousal's factor): the heart, 3 bpm
// below its baseline, says it is no arousal.
func TestACalmNightWithItsSleepStagesRaisesNoAbort(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("half an hour of simulated night through the daemon: the race pass runs it, the short (armv7 emulated) pass leaves it out")
	}
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		r := mergedRigWith(t, start, "", rigOpts{simSensors: allSimSensors, scenarioFile: "../sim/scenarios/sleep-cycle.yaml"})
		defer r.stop()
		var base *Baseline
		for _, e := range r.up.Events("state") {
			if x, ok := e.Fields["baseline"].(Baseline); ok {
				base = &x
			}
		}
		if base == nil || base.EEGBetaAlpha == nil || *base.EEGBetaAlpha <= 0 {
			t.Fatalf("baseline %+v, want the EEG's beta/alpha", base)
		}
		lowest, remRatio := 1.0, 0.0
		for at := 90 * time.Second; at <= 32*time.Minute; at += 10 * time.Second {
			until(start, at)
			tel := r.up.telemetrySnapshot()
			last := tel[len(tel)-1]
			if last.Stability == nil {
				t.Fatalf("at %v: telemetry %+v without the stability index", at, last)
			}
			lowest = min(lowest, *last.Stability)
			if e := last.Vitals.EEG; at >= 22*time.Minute && e["alpha"] > 0 {
				remRatio = max(remRatio, e["beta"]/e["alpha"]/(*base.EEGBetaAlpha))
			}
		}
		if a := r.up.Events("abort"); len(a) != 0 {
			t.Fatalf("a calm night was aborted: %+v", a)
		}
		for _, w := range r.up.Events("warning") {
			switch w.Fields["rule"] {
			case "stress", "eeg_arousal", "stability_low":
				t.Errorf("warning on a calm night: %+v", w)
			}
		}
		if st := r.pod.Status(); st.State != StateMerged {
			t.Fatalf("state %s after 32 min of a calm night, want merged", st.State)
		}
		if lowest < 0.95 {
			t.Errorf("stability index down to %.3f on a calm night, want at least 0.95", lowest)
		}
		if remRatio < 3.5 {
			t.Errorf("REM's beta/alpha at most %.2f times the baseline's: the scenario does not test what it is for (want over 3.5)", remRatio)
		}
		t.Logf("stability index at least %.3f; REM's beta/alpha up to %.2f times the awake baseline's", lowest, remRatio)
	})
}
