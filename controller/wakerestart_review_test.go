package controller

import (
	"encoding/json"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/actuators/apa102"
	"github.com/sleegation/podd/safety"
	"github.com/sleegation/podd/sim"
)

// The wake ramp is timed from the show's first safe frame that sees the
// latch (show.safeFrame: rampFrom = now), not from the abort. A daemon
// restarted with a stored latch therefore starts the ramp over: a sleeper
// woken an hour ago, lying in the wake light (lights.wake_level), sees the
// strip drop at once to the dim safe light and climb again over the whole
// lights.wake_ramp (10 min by default). A restart mid-ramp steps the light
// down the same way. Correct: the ramp's progress follows the latched
// abort's time (safety.Abort.At), so a restart resumes where the ramp is
// (here: at the wake light, the ramp long over).
func TestARestartWithAStoredLatchKeepsTheWakeLight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		safe, wake := apa102.Color{R: 10, G: 4, B: 1}, apa102.Color{R: 100, G: 40, B: 10}
		stored := safety.Abort{Rule: safety.RuleSpO2Low, Detail: "spo2_pct 84.0 below 90", At: start.Add(-time.Hour)}
		b, err := json.Marshal(stored)
		if err != nil {
			t.Fatal(err)
		}
		r := newRigWith(t, tachycardia, &memStore{latch: b}, rigOpts{safe: safe, show: showOn(t, nil, safe, wake, time.Minute)})
		defer r.stop()
		until(start, 5*time.Second)
		if st := r.pod.Status(); st.Safety.Latched == nil {
			t.Fatalf("status after the restart %+v: want the stored latch", st.Safety)
		}
		l, ok := uniform(r.hw.Strip.Shown())
		if !ok || l != (sim.LED{R: 100, G: 40, B: 10, Brightness: 31}) {
			t.Errorf("5 s after a restart, an hour after the abort (1 min ramp), the strip shows %v (uniform %v); want the wake light {100 40 10 31}: the ramp started over from the safe light", l, ok)
		}
	})
}
