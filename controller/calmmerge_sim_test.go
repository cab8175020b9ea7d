package controller

import (
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/safety"
	"github.com/sleegation/podd/sim/scenario"
)

// startMergeAt grants consent and sends req's merge/start at d after
// start, as the sleeper and the hub would, on a rig whose uplink is
// connected.
func startMergeAt(t *testing.T, r *rig, start time.Time, d time.Duration, req MergeRequest) {
	t.Helper()
	until(start, d)
	if _, err := r.pod.GrantConsent("api", 0); err != nil {
		t.Fatal(err)
	}
	if err := r.pod.StartMerge(req); err != nil {
		t.Fatalf("StartMerge at %v: %v", d, err)
	}
}

// connectedRigWith is newRigWith with an uplink connected to the city.
func connectedRigWith(t *testing.T, opts rigOpts) *rig {
	t.Helper()
	opts.up = &fakeUplink{}
	opts.up.connected.Store(true)
	return newRigWith(t, "", &memStore{}, opts)
}

// stateTimes are the pod's state changes ("from>to") with their times
// since start.
func stateTimes(up *fakeUplink, start time.Time) (changes []string, at []time.Duration) {
	up.mu.Lock()
	defer up.mu.Unlock()
	for i, e := range up.events {
		if e.Type == "state" {
			changes = append(changes, e.Fields["from"].(string)+">"+e.Fields["to"].(string))
			at = append(at, up.times[i].Sub(start))
		}
	}
	return changes, at
}

// A calm merge (sim/scenarios/merge-calm.yaml): a sleeper who joins awake
// and sleeps through N1, N2, N3, REM and N2 again, with movements, blinks,
// an EEG electrode off for 2 s, the oximeter silent on its bus for 1 s, a
// slow-wave skin storm (15 responses a minute for 4 min, the heart 14 bpm
// below the baseline) and REM with little alpha (beta/alpha over 3 times
// the baseline's, the heart 3 bpm below it). The merge, started for
// 22 min, runs to its end on its own clock: merged, ending ("maximum
// duration reached") 36 min after the baseline's capture, idle a minute
// later (the ending's gentle wake), with no abort and no warning at all:
// none of a high-priority rule, and none of stress, eeg_arousal or
// stability_low, whose signs the storm and REM show without the heart's
// rise. REM's beta/alpha is read from telemetry once the EEG's span holds
// REM alone, to show the scenario tests what it is for.
func TestACalmMergeOfSleepEndsWithoutAnAbort(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("a 24 min merge with every simulated sensor through the daemon: the race pass runs it, the short (armv7 emulated) pass leaves it out")
	}
	synctest.Test(t, func(t *testing.T) {
		const file = "../sim/scenarios/merge-calm.yaml"
		sc, err := scenario.Load(file)
		if err != nil {
			t.Fatal(err)
		}
		// What the scenario is for: a storm of at least stress's
		// responses a minute with the heart under the baseline's.
		limits := safety.DefaultLimits()
		base := sc.VitalsAt(0)
		storm := 0
		for from := time.Duration(0); from < sc.Duration(); from += 10 * time.Second {
			n := 0
			for e := range sc.EventsBetween(from, from+time.Minute).All() {
				if e.Kind == scenario.EventSCR {
					n++
				}
			}
			if float64(n) >= limits.StressSCRPerMin && sc.VitalsAt(from+time.Minute).HeartRateBPM < base.HeartRateBPM {
				storm++
			}
		}
		if storm == 0 {
			t.Fatal("the scenario has no skin storm with a calm heart")
		}

		start := time.Now()
		r := connectedRigWith(t, rigOpts{simSensors: allSimSensors, scenarioFile: file})
		defer r.stop()
		const length = 22 * time.Minute
		remBands, _ := scenario.StageBands(scenario.StageREM)
		inREM := func(d time.Duration) bool {
			return sc.VitalsAt(d).EEG == remBands && sc.VitalsAt(d-30*time.Second).EEG == remBands
		}
		startMergeAt(t, r, start, 20*time.Second, MergeRequest{Session: "m-calm", Dreamscape: "tide", MaxDuration: length})
		until(start, 81*time.Second)
		b := sessionBaseline(t, r.up)
		if b.EEGBetaAlpha == nil || b.SkinConductanceUS == nil || b.BodyTempC == nil {
			t.Fatalf("baseline %+v, want every vital", b)
		}
		lowest, remRatio := 1.0, 0.0
		end := 80*time.Second + length + DefaultEndingDuration + 10*time.Second
		for at := 90 * time.Second; at <= end; at += 10 * time.Second {
			until(start, at)
			tel := r.up.telemetrySnapshot()
			last := tel[len(tel)-1]
			if last.Stability != nil {
				lowest = min(lowest, *last.Stability)
			}
			if e := last.Vitals.EEG; inREM(at) && e["alpha"] > 0 {
				remRatio = max(remRatio, e["beta"]/e["alpha"]/(*b.EEGBetaAlpha))
			}
		}
		if a := r.up.Events("abort"); len(a) != 0 {
			t.Fatalf("a calm merge was aborted: %+v", a)
		}
		if w := r.up.Events("warning"); len(w) != 0 {
			t.Errorf("warnings on a calm merge: %+v", w)
		}
		changes, at := stateTimes(r.up, start)
		if want := []string{"offline>idle", "idle>baseline", "baseline>merged", "merged>ending", "ending>idle"}; !slices.Equal(changes, want) {
			t.Fatalf("states %v, want %v", changes, want)
		}
		if d := at[3] - at[2]; d < length || d > length+time.Second {
			t.Errorf("ending %v after the baseline's capture, want the merge's %v (within the session loop's second)", d, length)
		}
		if d := at[4] - at[3]; d < DefaultEndingDuration || d > DefaultEndingDuration+time.Second {
			t.Errorf("idle %v after the ending began, want its %v", d, DefaultEndingDuration)
		}
		ends := r.up.Events("state")
		if ends[3].Fields["reason"] != "maximum duration reached" || ends[4].Fields["reason"] != "merge ended" {
			t.Errorf("ended for %v, then %v", ends[3].Fields["reason"], ends[4].Fields["reason"])
		}
		if st := r.pod.Status(); st.State != StateIdle || st.Session != nil {
			t.Errorf("state %s, session %+v after the merge", st.State, st.Session)
		}
		if remRatio < limits.EEGArousalRatio {
			t.Errorf("REM's beta/alpha at most %.2f times the baseline's: the scenario does not test what it is for (want over %v)", remRatio, limits.EEGArousalRatio)
		}
		t.Logf("stability index at least %.3f; REM's beta/alpha up to %.2f times the baseline's; states %v at %v", lowest, remRatio, changes, at)
	})
}
