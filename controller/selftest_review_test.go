package controller

import (
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/actuators"
	"github.com/sleegation/podd/actuators/apa102"
	"github.com/sleegation/podd/actuators/drv2605"
	"github.com/sleegation/podd/actuators/gpioout"
	"github.com/sleegation/podd/actuators/zones"
	"github.com/sleegation/podd/sim"
)

// haltProxy puts a motor made by the show into the gate.
type haltProxy struct{ d *gpioout.Dev }

func (h *haltProxy) Halt() error    { return h.d.Halt() }
func (h *haltProxy) Resume()        { h.d.Resume() }
func (h *haltProxy) String() string { return h.d.String() }

// abortingMotor is a healthy motor during whose first write of the test's
// drive the safety core applies the safe state (an abort: the panic
// button, a vital out of its limits), as it may at any moment of a frame:
// the gate closes and the motor's driver is halted before the show's
// write reaches it, which then fails with the driver's ErrHalted.
type abortingMotor struct {
	*gpioout.Dev
	gate  func() *actuators.Gate
	fired atomic.Bool
}

func (m *abortingMotor) SetIntensity(x float64) error {
	if x > 0 && m.fired.CompareAndSwap(false, true) {
		_ = m.gate().SafeState()
	}
	return m.Dev.SetIntensity(x)
}

// A safe state that halts the outputs while a self-test's frame is being
// written cuts the test short ("the outputs went to their safe state"),
// and the test's outcome says so. The frame's ErrHalted is the safety
// core's doing, not the device's: the place's motor took every frame it
// was given, yet the outcome records "halted" as its device's error, and
// podctl prints FAIL "its device refused frames" for a healthy motor,
// sending the technician to its chip and bus.
func TestSelfTestDoesNotBlameAnOutputForTheSafeStatesHalt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		proxy := &haltProxy{}
		var r *rig
		r = newRigWith(t, leftAt1m, &memStore{}, rigOpts{outputs: []actuators.Haltable{proxy}, show: func(strip *apa102.Dev, hw *sim.Hardware) *Show {
			d, err := gpioout.New(hw.MotorLine("GPIO5"), gpioout.Opts{Name: "motor feet"})
			if err != nil {
				t.Fatal(err)
			}
			proxy.d = d
			m := &abortingMotor{Dev: d, gate: func() *actuators.Gate { return r.pod.parts.Gate }}
			o, err := zones.New(zones.Layout{Strip: strip, LEDs: ledCount,
				Lights: []zones.Light{{Name: "canopy", First: 0, Count: 4}},
				Places: []zones.Place{{Name: "feet", Motor: m}}})
			if err != nil {
				t.Fatal(err)
			}
			return &Show{Outputs: o, Rate: 50}
		}})
		defer r.stop()
		until(start, 2*time.Minute)
		st, err := r.pod.SelfTest(SelfTestHaptics)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(st.Takes + time.Second)
		synctest.Wait()
		o := r.pod.Status().Show.LastSelfTest
		if o == nil || o.Ended.IsZero() || o.Why != "the outputs went to their safe state" {
			t.Fatalf("outcome %+v: want the test cut short by the safe state", o)
		}
		if f := o.Failed(); len(f) != 0 {
			t.Fatalf("outcome %+v: the safe state's halt is blamed on %v's device", o, f)
		}
	})
}

// hotMotor is a motor whose driver takes every write and reports
// over-temperature in its status (a drv2605 whose OVER_TEMP is set).
type hotMotor struct{}

func (hotMotor) SetIntensity(float64) error { return nil }
func (hotMotor) String() string             { return "drv2605" }
func (hotMotor) Status() (drv2605.Status, error) {
	return drv2605.Status{}, fmt.Errorf("drv2605 at 0x5a: %w", drv2605.ErrOverTemp)
}

// The haptics self-test's outcome gives a FAIL for "a motor driver's
// fault" (README). A driver reporting over-temperature during the test
// makes the show hold its motor still (motorFaults: MotorRest), so the
// motor never gets the test's drive; its writes of 0 succeed, and the
// outcome says its device took every frame: podctl prints PASS for a
// place whose motor the pod itself kept from running.
func TestSelfTestFailsAPlaceWhoseDriverReportsAFault(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		r := newRigWith(t, leftAt1m, &memStore{}, rigOpts{show: func(strip *apa102.Dev, hw *sim.Hardware) *Show {
			o, err := zones.New(zones.Layout{Strip: strip, LEDs: ledCount,
				Lights: []zones.Light{{Name: "canopy", First: 0, Count: 4}},
				Places: []zones.Place{{Name: "back", Motor: hotMotor{}}}})
			if err != nil {
				t.Fatal(err)
			}
			return &Show{Outputs: o, Rate: 50}
		}})
		defer r.stop()
		until(start, 2*time.Minute)
		st, err := r.pod.SelfTest(SelfTestHaptics)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(st.Takes + time.Second)
		synctest.Wait()
		o := r.pod.Status().Show.LastSelfTest
		if o == nil || o.Why != "done" {
			t.Fatalf("outcome %+v: want the test done", o)
		}
		if f := o.Failed(); !slices.Equal(f, []string{"back"}) {
			t.Fatalf("outcome %+v: failed %v, want back (its driver reports over-temperature; the show held its motor still)", o, f)
		}
	})
}

// A self-test accepted while identify shows: identify replaces every
// frame (the strip at the identify light, the motors cleared), so the
// haptics test's drive never reaches a motor. The outcome still counts
// those frames as the test's and ends "done" with every place passing:
// podctl prints PASS "its device took all N frames of the test" for
// motors that were held still throughout. Either the pod refuses the
// test while identify shows (busy), or the test is cut short.
func TestSelfTestDoesNotPassFramesIdentifyReplaced(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		var motor *sim.Line
		r := newRigWith(t, leftAt1m, &memStore{}, rigOpts{show: selfTestShow(t, &motor)})
		defer r.stop()
		until(start, 2*time.Minute)
		if err := r.pod.Identify(30 * time.Second); err != nil {
			t.Fatal(err)
		}
		st, err := r.pod.SelfTest(SelfTestHaptics)
		var refused *RefusedError
		if errors.As(err, &refused) {
			return // refused while identify shows
		}
		if err != nil {
			t.Fatal(err)
		}
		ran := false
		for range int((st.Takes + time.Second) / (100 * time.Millisecond)) {
			time.Sleep(100 * time.Millisecond)
			synctest.Wait()
			ran = ran || bool(motor.Read())
		}
		o := r.pod.Status().Show.LastSelfTest
		if o != nil && o.Why == "done" && len(o.Failed()) == 0 && !ran {
			t.Fatalf("outcome %+v: the test passed every place, yet identify held the motor still throughout (it never ran)", o)
		}
	})
}
