package controller

import (
	"errors"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/actuators/apa102"
	"github.com/sleegation/podd/actuators/gpioout"
	"github.com/sleegation/podd/actuators/zones"
	"github.com/sleegation/podd/sim"
)

// selfTestShow is a show of two strip zones (LEDs 0-3 and 4-7) and one
// motor on a GPIO line.
func selfTestShow(t *testing.T, motor **sim.Line) func(*apa102.Dev, *sim.Hardware) *Show {
	return func(strip *apa102.Dev, hw *sim.Hardware) *Show {
		*motor = hw.MotorLine("GPIO5")
		m, err := gpioout.New(*motor, gpioout.Opts{Name: "motor feet"})
		if err != nil {
			t.Fatal(err)
		}
		o, err := zones.New(zones.Layout{Strip: strip, LEDs: ledCount,
			Lights: []zones.Light{{Name: "canopy", First: 0, Count: 4}, {Name: "sides", First: 4, Count: 4}},
			Places: []zones.Place{{Name: "feet", Motor: m}}})
		if err != nil {
			t.Fatal(err)
		}
		return &Show{Outputs: o, Rate: 50} // a dark ambient light: only the test lights a zone
	}
}

// The lights self-test lights each zone in turn and only that zone, then
// the ambient light plays again; the haptics self-test runs the motor for
// its second while the lights play on; an occupied pod refuses both.
func TestSelfTestPlaysEachZoneAndMotorInTurn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		var motor *sim.Line
		r := newRigWith(t, leftAt1m, &memStore{}, rigOpts{show: selfTestShow(t, &motor)})
		defer r.stop()
		until(start, 30*time.Second)
		var refused *RefusedError
		if _, err := r.pod.SelfTest(SelfTestLights); !errors.As(err, &refused) || !slices.Equal(refused.Reasons, []string{RefuseOccupied}) {
			t.Fatalf("SelfTest on an occupied pod = %v, want refused occupied", err)
		}
		until(start, 2*time.Minute)
		if _, err := r.pod.SelfTest("strobe"); !errors.As(err, &refused) || refused.Reasons[0] != RefuseBadRequest {
			t.Fatalf("SelfTest(strobe) = %v, want bad_request", err)
		}
		st, err := r.pod.SelfTest(SelfTestLights)
		if err != nil {
			t.Fatal(err)
		}
		if st.Takes != 7*time.Second || !slices.Equal(st.Order, []string{"canopy", "sides"}) {
			t.Fatalf("self-test %+v, want canopy then sides over 7 s", st)
		}
		lit := func(leds []sim.LED) (canopy, sides bool) {
			return leds[0].R > 0, leds[4].R > 0
		}
		// At 2 s canopy holds its dim white; sides is dark.
		time.Sleep(2 * time.Second)
		synctest.Wait()
		leds := r.hw.Strip.Shown()
		if c, s := lit(leds); !c || s || leds[0] != (sim.LED{R: 51, G: 51, B: 51, Brightness: 31}) {
			t.Fatalf("2 s into the test: %v, want canopy at 0.2 white (51), sides dark", leds)
		}
		// At 5 s sides holds it; canopy is dark again.
		time.Sleep(3 * time.Second)
		synctest.Wait()
		leds = r.hw.Strip.Shown()
		if c, s := lit(leds); c || !s {
			t.Fatalf("5 s into the test: %v, want sides lit, canopy dark", leds)
		}
		if motor.Read() {
			t.Fatal("the motor runs during the lights test")
		}
		if _, err := r.pod.SelfTest(SelfTestHaptics); !errors.As(err, &refused) || refused.Reasons[0] != RefuseBusy {
			t.Fatalf("a second self-test while the first runs = %v, want refused busy", err)
		}
		if got := r.pod.Status().Show.SelfTest; got != SelfTestLights {
			t.Fatalf("status says self-test %q, want lights", got)
		}
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if got := r.pod.Status().Show.SelfTest; got != "" {
			t.Fatalf("status says self-test %q after it ended, want none", got)
		}
		if _, err := r.pod.SelfTest(SelfTestHaptics); err != nil {
			t.Fatal(err)
		}
		time.Sleep(1500 * time.Millisecond)
		synctest.Wait()
		if !motor.Read() {
			t.Fatal("1.5 s into the haptics test the motor is still")
		}
		if c, s := lit(r.hw.Strip.Shown()); c || s {
			t.Fatalf("the lights changed during the haptics test: %v", r.hw.Strip.Shown())
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if motor.Read() {
			t.Fatal("the motor still runs after its second")
		}
	})
}

// failingPWM is a PWM controller whose bus refuses every write.
type failingPWM struct{}

func (failingPWM) SetAll([]float64) error { return errors.New("pca9685 at 0x40: nack") }
func (failingPWM) String() string         { return "pca9685" }

// failingMotor is a motor whose bus refuses every write.
type failingMotor struct{}

func (failingMotor) SetIntensity(float64) error { return errors.New("drv2605 at 0x5a: nack") }
func (failingMotor) String() string             { return "drv2605" }

// A self-test's outcome names each output whose device refused its
// frames, with the device's error, and those that took every frame; it
// is in the status while the test runs and after it ends.
func TestSelfTestOutcomeNamesTheOutputsThatFailed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		var motor *sim.Line
		r := newRigWith(t, leftAt1m, &memStore{}, rigOpts{show: func(strip *apa102.Dev, hw *sim.Hardware) *Show {
			motor = hw.MotorLine("GPIO5")
			m, err := gpioout.New(motor, gpioout.Opts{Name: "motor feet"})
			if err != nil {
				t.Fatal(err)
			}
			o, err := zones.New(zones.Layout{Strip: strip, LEDs: ledCount, PWM: failingPWM{},
				Lights: []zones.Light{{Name: "canopy", First: 0, Count: 4}, {Name: "floor", PWM: []int{0, 1, 2}}},
				Places: []zones.Place{{Name: "back", Motor: failingMotor{}}, {Name: "feet", Motor: m}}})
			if err != nil {
				t.Fatal(err)
			}
			return &Show{Outputs: o, Rate: 50}
		}})
		defer r.stop()
		until(start, 2*time.Minute)
		if got := r.pod.Status().Show.LastSelfTest; got != nil {
			t.Fatalf("an outcome %+v before any self-test", got)
		}
		began := time.Now()
		st, err := r.pod.SelfTest(SelfTestLights)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		o := r.pod.Status().Show.LastSelfTest
		if o == nil || !o.Ended.IsZero() || o.What != SelfTestLights || !o.Started.Equal(began) {
			t.Fatalf("1 s into the lights test: outcome %+v, want it running", o)
		}
		time.Sleep(st.Takes)
		synctest.Wait()
		o = r.pod.Status().Show.LastSelfTest
		want := []OutputOutcome{{Name: "canopy"}, {Name: "floor", Error: "pca9685 at 0x40: nack"}}
		if o == nil || o.Why != "done" || o.Ended.Sub(began) < st.Takes || o.Ended.Sub(began) > st.Takes+40*time.Millisecond ||
			!slices.Equal(o.Outputs, want) || !slices.Equal(o.Failed(), []string{"floor"}) {
			t.Fatalf("after the lights test: outcome %+v, want it done at %v with %+v", o, st.Takes, want)
		}
		// 50 frames a second for the test's 7 s.
		if o.Frames < 349 || o.Frames > 351 {
			t.Errorf("the lights test wrote %d frames, want 350", o.Frames)
		}
		if _, err := r.pod.SelfTest(SelfTestHaptics); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Second)
		synctest.Wait()
		o = r.pod.Status().Show.LastSelfTest
		want = []OutputOutcome{{Name: "back", Error: "drv2605 at 0x5a: nack"}, {Name: "feet"}}
		if o == nil || o.What != SelfTestHaptics || o.Why != "done" || !slices.Equal(o.Outputs, want) {
			t.Fatalf("after the haptics test: outcome %+v, want %+v", o, want)
		}
	})
}
