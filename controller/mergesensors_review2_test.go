package controller

import (
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/safety"
)

// StartMerge refuses a merge while "a sensor is in fault" (RefuseSensors),
// but the flag it reads (Pod.sensorFault) is the pulse oximeter's alone
// (oximeter.report); the EEG, skin conductance ADC and thermometer, which
// the watchdog watches during a merge (sensor_stale), are not asked. What
// is wrong: with a sensor already unplugged (here the thermometer, off
// its bus for minutes and reported bus_error in telemetry), the merge is
// accepted, the watchdog arms sensor_stale from the merge's start, and 5 s
// later it aborts the merge it just let begin: a certain abort, the
// sleeper taken into the baseline and out again, the outputs forced safe,
// a latch to acknowledge, for a fault that was known before the start.
// Correct: StartMerge refuses (RefuseSensors, naming the sensor) while
// any sensor the watchdog watches in a merge is not healthy, as it
// refuses while the oximeter is in fault.
func TestReviewMergeIsRefusedWhileAWatchedSensorIsDown(t *testing.T) {
	t.Parallel()
	for _, chip := range allSimSensors {
		t.Run(chip, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				sc := "name: down-" + chip + "\nbaseline: {heart_rate_bpm: 58, spo2_pct: 97, skin_conductance_us: 2, body_temp_c: 36.6}\n" +
					"timeline:\n  - {at: 25s, fault: {device: " + chip + ", kind: disconnect, for: 600s}}\n"
				up := &fakeUplink{}
				up.connected.Store(true)
				r := newRigWith(t, sc, &memStore{}, rigOpts{up: up, simSensors: allSimSensors})
				defer r.stop()
				until(start, 40*time.Second)
				if _, err := r.pod.GrantConsent("api", 0); err != nil {
					t.Fatal(err)
				}
				var state string
				for _, l := range r.pod.sensors {
					if h := l.Health(); h.Sensor == chip {
						state = string(h.State)
					}
				}
				if state == "ok" {
					t.Fatalf("%s ok 15 s after it was unplugged", chip)
				}
				err := r.pod.StartMerge(merge1)
				if err != nil {
					if reasons := refusal(t, err); !slices.Contains(reasons, RefuseSensors) {
						t.Errorf("refused for %v, want %s", reasons, RefuseSensors)
					}
					return
				}
				until(start, 50*time.Second)
				a := r.up.Events("abort")
				rule := "none"
				if len(a) > 0 {
					rule, _ = a[0].Fields["rule"].(string)
				}
				t.Errorf("merge accepted with %s %s for 15 s; aborts 10 s later: %d (first %s, want refusal instead of %s)",
					chip, state, len(a), rule, safety.RuleSensorStale)
			})
		})
	}
}
