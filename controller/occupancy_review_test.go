package controller

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/safety"
)

// An empty pod whose oximeter's bus then sticks (it repeats its last
// answer: the same FIFO pointers, the same samples of an empty sensor)
// keeps reading "no one": the estimator sees a constant, dark signal and
// says ContactNone, the sensor loop reports no fault (samples keep
// coming), and vitals_stale stays disarmed. A sleeper who then lies down
// is unwatched for the rest of the night: no fault, no abort, no valid
// vitals. "A sensor that fails ... keeps it armed" (safety/doc.go).
func TestAStuckSensorOnAnEmptyPodDoesNotHideTheSleeper(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		r := connectedRig(t, `
name: stuck-empty
baseline: {heart_rate_bpm: 58, spo2_pct: 97, skin_conductance_us: 2, body_temp_c: 36.6}
occupied: false
timeline:
  - {at: 1m, fault: {device: max30102, kind: stuck}}
  - {at: 2m, occupied: true}
`)
		defer r.stop()
		// Without the fault the same scenario gives contact "skin", every
		// rule armed and valid vitals from 2 min on.
		until(start, 30*time.Minute)
		st := r.pod.Status()
		faults := r.up.Events("fault")
		aborts := r.up.Events("abort")
		if len(faults) == 0 && len(aborts) == 0 {
			t.Fatalf("28 min after a sleeper lay down on a stuck sensor: no fault, no abort; contact %q, armed %v, vitals hr %v",
				st.Vitals.Contact, st.Safety.Armed, st.Vitals.HeartRateBPM)
		}
		if len(aborts) > 0 && aborts[0].Fields["rule"] != safety.RuleVitalsStale {
			t.Fatalf("aborts %+v", aborts)
		}
	})
}
