package controller

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/actuators/apa102"
	"github.com/sleegation/podd/actuators/lightguard"
	"github.com/sleegation/podd/sim"
)

// After an abort the wake ramp raises the safe light to the wake light.
// When the abort is acknowledged the latch clears, but the gate stays
// closed until the pod has settled; meanwhile show.safeFrame, seeing no
// latch, sets the strip's safe colour back to SafeLight: the strip drops
// from the wake light to the dim safe light in one frame, a change no
// guard slowed (100,40,10 to 10,4,1 here: 0.35 of full scale at once).
// The README promises the dreamscape comes back slowly from what the safe
// state showed. Correct: after the acknowledgement the strip keeps what
// the safe state shows (the wake light) until the gate opens, and every
// later change is within the light guard's slew; nothing moves a channel
// faster than lights.max_slew outside the abort itself.
func TestTheAckDoesNotDropTheWakeLightAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		safe, wake := apa102.Color{R: 10, G: 4, B: 1}, apa102.Color{R: 100, G: 40, B: 10}
		r := newRigWith(t, tachycardia, &memStore{}, rigOpts{safe: safe, show: showOn(t, nil, safe, wake, time.Minute)})
		defer r.stop()
		until(start, 139*time.Second)
		first, ok := uniform(r.hw.Strip.Shown())
		if !ok || first != (sim.LED{R: 100, G: 40, B: 10, Brightness: 31}) || r.pod.Status().Safety.Latched == nil {
			t.Fatalf("before the ack the strip shows %v (latched: %v), want the wake light", r.hw.Strip.Shown()[0], r.pod.Status().Safety.Latched != nil)
		}
		until(start, 140*time.Second)
		if _, err := r.pod.Ack(context.Background(), techAck); err != nil {
			t.Fatal(err)
		}
		const step = 10 * time.Millisecond
		prev := first
		for i := 0; time.Since(start) < 170*time.Second; i++ {
			time.Sleep(step)
			synctest.Wait()
			l, ok := uniform(r.hw.Strip.Shown())
			if !ok {
				t.Fatalf("the strip is not uniform: %v", r.hw.Strip.Shown())
			}
			// One frame of 20 ms may move a channel 0.01 of full scale, 2.55
			// of 255; a sample may see two frames.
			limit := 2 * lightguard.HardMaxSlew * 0.02 * 255
			for _, d := range []int{int(l.R) - int(prev.R), int(l.G) - int(prev.G), int(l.B) - int(prev.B)} {
				if float64(max(d, -d)) > limit+1 {
					t.Fatalf("%v after the ack the strip changed from %v to %v in %v: faster than the light guard allows", time.Since(start.Add(140*time.Second)).Round(time.Millisecond), prev, l, step)
				}
			}
			prev = l
		}
		if st := r.pod.Status().Show; st == nil || !st.Playing {
			t.Fatalf("30 s after the ack the show is %+v, want playing", st)
		}
	})
}
