package controller

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/actuators/apa102"
	"github.com/sleegation/podd/actuators/light"
	"github.com/sleegation/podd/sim"
)

// cmd/podd opens the strip with controller.SafeColor(safe), which rounds a channel
// that has light but less than half a step up to 1 ("never dark when the
// level is above 0"), but gives the show the unrounded SafeLight; the show
// rounds it the plain way (show.setSafe: c.Clamp().Bytes()). With a dim
// safe light (lights.safe_color "#a08060" at safe_level 0.005, both
// within bounds: every channel under half a step), the strip's Halt shows
// (1,1,1), but once the wake ramp has moved the safe colour, the show sets it back
// to the plain rounding, (0,0,0): after the acknowledgement the strip goes
// dark, and every later abort's Halt shows darkness (apa102 sends black at
// global brightness 0). Correct: the safe light is never dark on any path:
// the show rounds the safe colour as the strip's was (SafeColor), or the
// wake ramp and the return to the safe light never set a colour darker
// than the strip's own safe colour.
func TestTheSafeLightIsNeverDarkAfterAWakeRamp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		safe, err := light.ParseHex("#a08060")
		if err != nil {
			t.Fatal(err)
		}
		safe = safe.Scale(0.005)
		if r, g, b := safe.Bytes(); r != 0 || g != 0 || b != 0 {
			t.Fatalf("the safe light rounds to (%d,%d,%d): the test is wrong", r, g, b)
		}
		stripSafe := apa102.Color{R: 1, G: 1, B: 1} // SafeColor of it
		r := newRigWith(t, tachycardia, &memStore{}, rigOpts{safe: stripSafe, show: func(strip *apa102.Dev, hw *sim.Hardware) *Show {
			s := showOn(t, nil, stripSafe, apa102.Color{R: 100, G: 40, B: 10}, time.Minute)(strip, hw)
			s.SafeLight = safe
			return s
		}})
		defer r.stop()
		dark := func(when string) bool {
			t.Helper()
			if l, ok := uniform(r.hw.Strip.Shown()); r.hw.Strip.Dark() || ok && l.R == 0 && l.G == 0 && l.B == 0 {
				t.Errorf("%s the strip is dark (%v), in the safe state", when, r.hw.Strip.Shown()[0])
				return true
			}
			return false
		}
		until(start, 139*time.Second)
		if r.pod.Status().Safety.Latched == nil {
			t.Fatal("no abort")
		}
		dark("at the end of the wake ramp")
		if _, err := r.pod.Ack(context.Background(), techAck); err != nil {
			t.Fatal(err)
		}
		for time.Since(start) < 170*time.Second {
			time.Sleep(10 * time.Millisecond)
			synctest.Wait()
			if st := r.pod.Status().Show; st != nil && st.Playing {
				break
			}
			if dark("after the ack, while the outputs are held,") {
				break
			}
		}
		until(start, 200*time.Second)
		r.pod.Panic("test")
		dark("after a panic")
	})
}
