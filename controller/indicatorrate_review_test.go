package controller

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/actuators/apa102"
	"github.com/sleegation/podd/actuators/gpioout"
	"github.com/sleegation/podd/sim"
)

// show.indicate is documented as "set once a second", and motorFaults as
// reading the drivers' status "once a second at the default rate", but
// both count frames against motorStatusEvery = dreamscape.DefaultRate (50)
// whatever Show.Rate is. configs accepts dreamscape.rate_hz down to 10: at
// 10 frames a second the indicator lights up to 5 s after an abort latches
// (and goes dark up to 5 s after the acknowledgement), and a DRV2605L
// over-temperature or reset is noticed up to 5 s late, the motor playing
// on meanwhile. Correct: count time, not frames (every Rate frames, or
// on the show's clock), so both happen within a second at any rate.
func TestTheIndicatorFollowsTheLatchWithinASecondAtTheLowestFrameRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		safe, wake := apa102.Color{R: 10, G: 4, B: 1}, apa102.Color{R: 100, G: 40, B: 10}
		var indicator *sim.Line
		r := newRigWith(t, tachycardia, &memStore{}, rigOpts{safe: safe, show: func(strip *apa102.Dev, hw *sim.Hardware) *Show {
			s := showOn(t, nil, safe, wake, time.Minute)(strip, hw)
			s.Rate = 10 // configs.MinFrameRate
			indicator = hw.MotorLine("INDICATOR")
			d, err := gpioout.New(indicator, gpioout.Opts{Name: "indicator"})
			if err != nil {
				t.Fatal(err)
			}
			s.Indicator = d
			return s
		}})
		defer r.stop()
		var abortAt time.Time
		for time.Since(start) < 90*time.Second && abortAt.IsZero() {
			time.Sleep(100 * time.Millisecond)
			synctest.Wait()
			if r.pod.Status().Safety.Latched != nil {
				abortAt = time.Now()
			}
		}
		if abortAt.IsZero() {
			t.Fatal("no abort")
		}
		var litAfter time.Duration = -1
		for time.Since(abortAt) < 6*time.Second {
			if indicator.Read() {
				litAfter = time.Since(abortAt)
				break
			}
			time.Sleep(100 * time.Millisecond)
			synctest.Wait()
		}
		if litAfter < 0 || litAfter > 1100*time.Millisecond {
			t.Errorf("at 10 frames a second the indicator lit %v after the abort was seen latched (-1: not within 6 s); want within 1 s", litAfter)
		}
	})
}
