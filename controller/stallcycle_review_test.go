package controller

import (
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

// slowMotor is a motor on a flaky bus: once armed, every SetIntensity
// takes 1.5 s (a clock stretched past ShowStallAfter) and then succeeds.
type slowMotor struct {
	mu    sync.Mutex
	armed bool
	x     float64
}

func (m *slowMotor) SetIntensity(x float64) error {
	m.mu.Lock()
	armed := m.armed
	m.mu.Unlock()
	if armed {
		time.Sleep(1500 * time.Millisecond)
	}
	m.mu.Lock()
	m.x = x
	m.mu.Unlock()
	return nil
}

// Halt stops the motor at once, as the DRV2605L's EN line does.
func (m *slowMotor) Halt() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.x = 0
	return nil
}
func (m *slowMotor) String() string { return "motor back" }

// HoldShowStalled lifts the moment the show plays one frame again (holds:
// sinceFrame <= ShowStallAfter), and nothing else holds the outputs once
// the vitals have long been settled, so the recorder reopens the gate at
// once after every stall. A bus that stretches every motor write past
// ShowStallAfter makes the pod cycle without end: open, a frame stuck on
// the motor, checkShow's safe state, the frame returns, open again; each
// cycle restarts the motor, moves the strip between the safe light and the
// show, and posts two "fault" events (stalled active, then over). Correct:
// after a stall the show must play healthy frames for a while (or the
// reopening backs off) before the outputs open again, so a flaky bus holds
// the pod safe with one fault, not a flood of them.
func TestAFlakyBusDoesNotCycleTheOutputsOpenAndSafe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		motor := &slowMotor{} // the program moves it a little every frame, so every frame writes it
		prog := &dreamscape.Program{Source: "test", Name: "buzz", Duration: time.Hour, Loop: true,
			Lights: []dreamscape.LightTrack{{Zone: "canopy", Keys: []dreamscape.LightKey{{At: 0, Hex: "#281204", Color: light.FromBytes(40, 18, 4), Level: 1, Ease: dreamscape.Step}}}},
			Haptics: []dreamscape.HapticTrack{{Place: "back", Keys: []dreamscape.HapticKey{
				{At: 0, Pattern: dreamscape.Steady, Intensity: 0.1, Ease: dreamscape.Linear},
				{At: 30 * time.Minute, Pattern: dreamscape.Steady, Intensity: 0.15, Ease: dreamscape.Linear}}}},
		}
		r := newRigWith(t, calm, &memStore{}, rigOpts{outputs: []actuators.Haltable{motor}, show: func(strip *apa102.Dev, _ *sim.Hardware) *Show {
			o, err := zones.New(zones.Layout{Strip: strip, LEDs: ledCount,
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
		motor.mu.Lock()
		motor.armed = true
		motor.mu.Unlock()
		until(start, 80*time.Second)
		motor.mu.Lock()
		motor.armed = false
		motor.mu.Unlock()
		stalls := 0
		for _, f := range r.up.Events("fault") {
			if f.Fields["part"] == "dreamscape" && f.Fields["fault"] == "stalled" && f.Fields["active"] == true {
				stalls++
			}
		}
		if stalls > 2 {
			t.Errorf("a minute of a bus that stretches every motor write: %d stalls reported, the outputs reopened after each; want the pod held safe (at most 2)", stalls)
		}
	})
}
