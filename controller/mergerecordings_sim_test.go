package controller

import (
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/safety"
	vitalseda "github.com/sleegation/podd/sensors/vitals/eda"
	"github.com/sleegation/podd/sensors/vitals/temp"
	"github.com/sleegation/podd/sim/scenario"
	"github.com/sleegation/podd/uplink"
)

// The real recordings of sim/scenarios/ played during a merge, through
// the whole daemon with every simulated sensor (the recording on its
// chip, the others at the scenario's baseline): an abort only where the
// signal, as the sensor gives it, blinds the pod, and then exactly that
// one. Each case's comment derives its window.
func TestRecordingsDuringAMerge(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("minutes of recordings with every simulated sensor through the daemon: the race pass runs it, the short (armv7 emulated) pass leaves it out")
	}
	limits := safety.DefaultLimits()
	quiet := func(t *testing.T, r *rig, _ time.Time, _ *scenario.Scenario) {
		if a := r.up.Events("abort"); len(a) != 0 {
			t.Errorf("aborts %+v, want none", a)
		}
		if w := r.up.Events("warning"); len(w) != 0 {
			t.Errorf("warnings %+v, want none", w)
		}
		if st := r.pod.Status(); st.State != StateMerged || st.Session == nil {
			t.Errorf("state %s, session %+v: want still merged", st.State, st.Session)
		}
	}
	// stale checks one abort of rule, its condition begun within [lo,
	// hi] and tripped one stale limit later, no warning before it, and
	// the detail naming what it says.
	stale := func(t *testing.T, r *rig, start time.Time, rule, priority string, lo, hi time.Duration, detail string) uplink.Event {
		ev, began, detected := abortedMerge(t, r, start, rule, priority)
		within(t, rule+"'s condition began", began, lo, hi)
		tripAfter(t, began, detected, limits.StaleAfter)
		if w := r.up.Events("warning"); len(w) != 0 {
			t.Errorf("warnings %+v, want none", w)
		}
		if d, _ := ev.Fields["detail"].(string); !strings.HasPrefix(d, detail) {
			t.Errorf("detail %q, want %q", d, detail)
		}
		t.Logf("%s: began %v, detected %v: %v", rule, began, detected, ev.Fields["detail"])
		return ev
	}
	for _, tt := range []struct {
		name string
		// chips are the simulated sensors besides the oximeter: every
		// one, or, for the long skin and temperature recordings, theirs
		// alone (the EEG's 2000 samples a second would cost minutes).
		chips []string
		// mergeAt is when consent and merge/start come; until, how long
		// the test runs.
		mergeAt, until time.Duration
		check          func(t *testing.T, r *rig, start time.Time, sc *scenario.Scenario)
	}{
		// HeartPy's fingertip PPG, looped: about 3 s without a valid
		// reading after each seam (every 24.8 s), under the stale limit.
		// The two quiet recordings run for minutes of a merge.
		{"ppg-heartpy", allSimSensors, 20 * time.Second, 4 * time.Minute, quiet},
		// YASA's N2 EEG, looped, with a blink and a movement during the
		// baseline's minute: the baseline is N2's, and nothing changes.
		{"eeg-n2", allSimSensors, 20 * time.Second, 3 * time.Minute, quiet},
		// a103l: the monitor's trace clips at both rails at about 165.5 s
		// and is flat from 168.96 to 172.92 s (playback_sim_test.go's
		// TestPlaybackOfAnAlternatingICUPleth). The estimator refuses
		// clipped beats, so the last valid reading comes at most 2.5 s
		// before the clip and no later than the flat line; vitals_stale
		// trips one stale limit after it. Its rate (120-128 bpm) stays
		// under heart_rate_high's 130: no warning.
		{"ppg-a103l", allSimSensors, 20 * time.Second, 200 * time.Second, func(t *testing.T, r *rig, start time.Time, _ *scenario.Scenario) {
			stale(t, r, start, safety.RuleVitalsStale, safety.PriorityHigh, 163*time.Second, 168960*time.Millisecond, "no valid vitals for ")
		}},
		// HeartPy's second PPG: no one in the pod until 46 s (the EEG's
		// span holds the empty pod's railed samples until about 63 s, and
		// merge/start is refused while it does), so the merge starts at
		// 70 s. The recording ends at 128.21 s, where the oximeter is lost
		// (unplugged): the last valid reading comes within 2 s before,
		// and vitals_stale trips one stale limit after it. The skin
		// conductance, whose electrodes are on from 46 s, stays ok while
		// its minute's window fills (sensing's fix; before it,
		// sensor_stale aborted at 85 s on "ads1115 no_contact").
		{"ppg-no-finger", allSimSensors, 70 * time.Second, 150 * time.Second, func(t *testing.T, r *rig, start time.Time, sc *scenario.Scenario) {
			end := sc.Playback(scenario.DeviceMAX30102).End()
			stale(t, r, start, safety.RuleVitalsStale, safety.PriorityHigh, end-2*time.Second, end, "no valid vitals for ")
		}},
		// The E4's dry wrist dips below the skin estimator's contact
		// floor (0.05 µS) for a sample or two, again within the minute,
		// and for 3.5 s: each dip starts its minute's window over, so
		// from the first dip the skin conductance has no valid estimate,
		// and sensing makes it no_contact once that has lasted the window
		// and 20 s for a movement (80 s, the dips themselves left out):
		// the pod is blind to the skin,
		// and sensor_stale trips one stale limit later. That abort is the
		// rule's, on a signal the pod cannot tell from electrodes off.
		{"eda-e4", []string{chipSkin}, 20 * time.Second, 7 * time.Minute, func(t *testing.T, r *rig, start time.Time, sc *scenario.Scenario) {
			pb := sc.Playback(scenario.DeviceADS1115)
			dip := firstWhen(t, 81*time.Second, pb.End(), func(d time.Duration) bool {
				s, ok := pb.At(d)
				// Below by the recording's resolution (0.001 µS): the
				// converter samples between the recording's samples.
				return ok && s[0] < vitalseda.MinContactMicrosiemens-0.001
			})
			// Only the time the skin sensor spends without a state of
			// its own counts towards no_contact: the time the skin reads
			// below the contact floor (no_contact by the estimator's own
			// judgement) is left out, polled at its 4 Hz.
			const poll = 250 * time.Millisecond
			blind := dip
			for counted := time.Duration(0); counted < time.Duration(vitalseda.WindowSeconds*float64(time.Second))+20*time.Second; blind += poll {
				if s, ok := pb.At(blind); !ok || s[0] >= vitalseda.MinContactMicrosiemens-0.001 {
					counted += poll
				}
			}
			// Up to a second later: the converter samples between the
			// recording's samples, and a state of the skin's own ends
			// on the first poll that reads contact again.
			stale(t, r, start, safety.RuleSensorStale, safety.PriorityMedium, blind-500*time.Millisecond, blind+time.Second, "ads1115 no_contact for ")
		}},
		// The E4's wrist temperature (a core level), looped: the
		// recording itself raises nothing for its 20.8 min; at the seam
		// it steps back by 1.28 °C, a rate the thermometer's estimator
		// takes for a sensor falling off (over 1 °C a minute over its
		// 30 s), so the thermometer is no_contact within those 30 s of
		// the seam and sensor_stale trips one stale limit later.
		{"temp-e4", []string{chipThermo}, 20 * time.Second, 1270 * time.Second, func(t *testing.T, r *rig, start time.Time, sc *scenario.Scenario) {
			seam := sc.Playback(scenario.DeviceTMP117).End()
			stale(t, r, start, safety.RuleSensorStale, safety.PriorityMedium, seam, seam+time.Duration(temp.RateSeconds*float64(time.Second)), "tmp117 no_contact for ")
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				file := "../sim/scenarios/" + tt.name + ".yaml"
				sc, err := scenario.Load(file)
				if err != nil {
					t.Fatal(err)
				}
				start := time.Now()
				r := connectedRigWith(t, rigOpts{simSensors: tt.chips, scenarioFile: file})
				defer r.stop()
				startMergeAt(t, r, start, tt.mergeAt, merge1)
				until(start, tt.until)
				tt.check(t, r, start, sc)
			})
		})
	}
}
