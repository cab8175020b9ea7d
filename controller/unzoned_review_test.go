package controller

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/actuators/apa102"
	"github.com/sleegation/podd/actuators/light"
	"github.com/sleegation/podd/actuators/lightguard"
	"github.com/sleegation/podd/actuators/zones"
	"github.com/sleegation/podd/sim"
)

// LEDs of the strip in no zone are dark while the show plays (zones'
// encoding), but the safe state lights the whole strip (apa102's safe
// frame), and the wake ramp raises all of it. When the gate opens again,
// the show's first frame writes those LEDs black at once: no guard sees
// them (the light guard works on zones), so the part of the strip outside
// the zones goes from the safe (or wake) light to dark in one frame, and
// outputcheck, which judges zones only, never sees it. Correct: every LED
// the show writes changes within lights.max_slew (the unzoned LEDs fade
// out through the guard, or the safe light covers only the zones' LEDs).
func TestLEDsInNoZoneDoNotGoDarkAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		safe, wake := apa102.Color{R: 40, G: 16, B: 4}, apa102.Color{R: 100, G: 40, B: 10}
		r := newRigWith(t, tachycardia, &memStore{}, rigOpts{safe: safe, show: func(strip *apa102.Dev, _ *sim.Hardware) *Show {
			o, err := zones.New(zones.Layout{Strip: strip, LEDs: ledCount, Lights: []zones.Light{{Name: "canopy", First: 0, Count: ledCount / 2}}})
			if err != nil {
				t.Fatal(err)
			}
			return &Show{Outputs: o, Rate: 50, Ambient: light.FromBytes(40, 18, 4), Strip: strip,
				SafeLight: light.FromBytes(safe.R, safe.G, safe.B), WakeLight: light.FromBytes(wake.R, wake.G, wake.B), WakeRamp: time.Minute}
		}})
		defer r.stop()
		const step = 10 * time.Millisecond
		limit := 2*lightguard.HardMaxSlew*0.02*255 + 1
		until(start, 140*time.Second)
		if r.pod.Status().Safety.Latched == nil {
			t.Fatal("no abort")
		}
		if _, err := r.pod.Ack(context.Background(), techAck); err != nil {
			t.Fatal(err)
		}
		// The drop of the whole strip at the ack is another defect
		// (TestTheAckDoesNotDropTheWakeLightAtOnce): only a step of an
		// unzoned LED that the zone's LED 0 does not take is counted here.
		last := ledCount - 1
		prev, prevZone := r.hw.Strip.Shown()[last], r.hw.Strip.Shown()[0]
		fast := func(a, b sim.LED) bool {
			for _, d := range []int{int(a.R) - int(b.R), int(a.G) - int(b.G), int(a.B) - int(b.B)} {
				if float64(max(d, -d)) > limit {
					return true
				}
			}
			return false
		}
		for time.Since(start) < 170*time.Second {
			time.Sleep(step)
			synctest.Wait()
			l, z := r.hw.Strip.Shown()[last], r.hw.Strip.Shown()[0]
			if fast(l, prev) && !fast(z, prevZone) {
				t.Fatalf("%v after the ack LED %d, in no zone, changed from %v to %v in %v (the zone's LED 0 from %v to %v): faster than the light guard allows", time.Since(start.Add(140*time.Second)).Round(time.Millisecond), last, prev, l, step, prevZone, z)
			}
			prev, prevZone = l, z
		}
	})
}
