package controller

import (
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/actuators"
	"github.com/sleegation/podd/actuators/apa102"
	"github.com/sleegation/podd/actuators/light"
	"github.com/sleegation/podd/actuators/zones"
	"github.com/sleegation/podd/dreamscape"
	"github.com/sleegation/podd/sim"
)

// stallStrip is the show's strip whose Write blocks, once armed, until
// release is closed: a frame stuck on the strip's bus (an SPI transfer
// that does not return, a slow sink).
type stallStrip struct {
	*apa102.Dev
	mu      sync.Mutex
	armed   bool
	release chan struct{}
}

func (s *stallStrip) Write(px []apa102.Color) error {
	s.mu.Lock()
	armed := s.armed
	s.mu.Unlock()
	if armed {
		<-s.release
	}
	return s.Dev.Write(px)
}

// recMotor records what a place's motor was last told.
type recMotor struct {
	mu sync.Mutex
	x  float64
}

func (m *recMotor) SetIntensity(x float64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.x = x
	return nil
}
func (m *recMotor) String() string { return "motor back" }

// Halt stops the motor, as a driver's safe state does.
func (m *recMotor) Halt() error { return m.SetIntensity(0) }
func (m *recMotor) now() float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.x
}

// The haptic guard bounds a motor's duty only at frames: between two
// frames the motor holds what it was last told (hapticguard's package doc:
// "a frame loop that stalls longer than Hold can overspend ... The frame
// loop is the owner of that bound (and the safe state stops every motor
// when the loop stops)"). The show loop owns no such bound: a frame that
// hangs in Outputs.Show (here on the strip, before the motors are
// written) leaves every motor running at its last intensity for as long
// as the stall lasts, with nothing to stop it: no deadline on the frame,
// no safe state, no event. A sleeper gets the cap's drive for minutes or
// all night, far beyond haptics.duty_budget. Correct: a frame loop that
// stalls beyond the guard's Hold stops the motors by a path that does not
// wait on the stalled frame (a watchdog on the show's frames that halts
// the motors, or a motor driver whose drive times out on its own).
func TestAStalledShowDoesNotLeaveAMotorRunning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		motor := &recMotor{}
		var ss *stallStrip
		prog := &dreamscape.Program{Source: "test", Name: "buzz", Duration: time.Hour, Loop: true,
			Lights:  []dreamscape.LightTrack{{Zone: "canopy", Keys: []dreamscape.LightKey{{At: 0, Hex: "#281204", Color: light.FromBytes(40, 18, 4), Level: 1, Ease: dreamscape.Step}}}},
			Haptics: []dreamscape.HapticTrack{{Place: "back", Keys: []dreamscape.HapticKey{{At: 0, Pattern: dreamscape.Steady, Intensity: 0.6, Ease: dreamscape.Step}}}},
		}
		r := newRigWith(t, calm, &memStore{}, rigOpts{outputs: []actuators.Haltable{motor}, show: func(strip *apa102.Dev, _ *sim.Hardware) *Show {
			ss = &stallStrip{Dev: strip, release: make(chan struct{})}
			o, err := zones.New(zones.Layout{Strip: ss, LEDs: ledCount,
				Lights: []zones.Light{{Name: "canopy", First: 0, Count: ledCount}},
				Places: []zones.Place{{Name: "back", Motor: motor}}})
			if err != nil {
				t.Fatal(err)
			}
			b, err := prog.Bind(o.LightNames(), o.PlaceNames())
			if err != nil {
				t.Fatal(err)
			}
			return &Show{Outputs: o, Program: b, Rate: 50, Strip: strip,
				SafeLight: light.FromBytes(10, 4, 1), WakeLight: light.FromBytes(10, 4, 1)}
		}})
		defer r.stop()
		until(start, 20*time.Second)
		if st := r.pod.Status().Show; st == nil || !st.Playing {
			t.Fatalf("show %+v: want it playing", st)
		}
		if x := motor.now(); x != 0.6 {
			t.Fatalf("the motor runs at %v, want 0.6 before the stall", x)
		}
		ss.mu.Lock()
		ss.armed = true
		ss.mu.Unlock()
		// The default budget is 0.2 of a 60 s window: 12 intensity·s, 20 s
		// at 0.6. Five minutes into the stall the motor has run for 300 s.
		until(start, 320*time.Second)
		x := motor.now()
		st := r.pod.Status()
		close(ss.release)
		if x != 0 {
			t.Errorf("five minutes into a stalled frame the motor still runs at %v: nothing stops it (budget 12 intensity·s a minute)", x)
		}
		if !st.Outputs.Safe || !slices.Contains(st.Outputs.Holds, HoldShowStalled) {
			t.Errorf("outputs during the stall %+v, want safe, held by the stalled show", st.Outputs)
		}
		faults := r.up.Events("fault")
		if len(faults) != 1 || faults[0].Fields["part"] != "dreamscape" || faults[0].Fields["fault"] != "stalled" {
			t.Fatalf("fault events %+v, want one: the dreamscape stalled", faults)
		}
		// Once the frame returns the show plays again, the hold goes, and
		// the outputs open after the settling time.
		until(start, 340*time.Second)
		if st := r.pod.Status(); st.Outputs.Safe || !st.Show.Playing {
			t.Errorf("after the stall: outputs %+v, show %+v; want open and playing", st.Outputs, st.Show)
		}
		if faults := r.up.Events("fault"); len(faults) != 2 || faults[1].Fields["active"] != false {
			t.Errorf("fault events %+v, want the stall's end", faults)
		}
	})
}
