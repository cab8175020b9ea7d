package controller

import (
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/actuators/apa102"
	"github.com/sleegation/podd/actuators/light"
	"github.com/sleegation/podd/actuators/zones"
	"github.com/sleegation/podd/dreamscape"
	"github.com/sleegation/podd/sim"
)

// panicStrip is the show's strip whose next Write panics once armed: a bug
// in a driver, which the supervisor turns into a restart of the show.
type panicStrip struct {
	*apa102.Dev
	mu    sync.Mutex
	armed bool
}

func (s *panicStrip) Write(px []apa102.Color) error {
	s.mu.Lock()
	armed := s.armed
	s.armed = false
	s.mu.Unlock()
	if armed {
		panic("strip driver bug")
	}
	return s.Dev.Write(px)
}

// The supervisor restarts the show after a panic: show.run calls
// Player.Run again, whose frame times start again at 0, while the show's
// guards are the same ones, their last frame at the old, later time.
// hapticguard.Limit adds nothing to the window for a time not after its
// last frame's, so for as long as the show had played before the panic,
// no drive is charged to the duty budget: a motor asked for 0.6 runs at
// 0.6 without limit (here 100 s on end, 60 intensity·s, against a budget
// of 12 a minute). (The light guard, likewise, freezes the light for as
// long.) Correct: a restarted show's frames are on a clock that continues
// the guards' (or the guards start afresh from what the outputs show),
// and no motor exceeds its budget across a restart.
func TestARestartedShowKeepsTheHapticBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		motor := &recMotor{}
		var ps *panicStrip
		prog := &dreamscape.Program{Source: "test", Name: "buzz", Duration: time.Hour,
			Lights: []dreamscape.LightTrack{{Zone: "canopy", Keys: []dreamscape.LightKey{{At: 0, Hex: "#281204", Color: light.FromBytes(40, 18, 4), Level: 1, Ease: dreamscape.Step}}}},
			// 0.6 from 20 s to 120 s: five times the default budget of 12
			// intensity·s a minute.
			Haptics: []dreamscape.HapticTrack{{Place: "back", Keys: []dreamscape.HapticKey{
				{At: 0, Pattern: dreamscape.Off, Ease: dreamscape.Step},
				{At: 20 * time.Second, Pattern: dreamscape.Steady, Intensity: 0.6, Ease: dreamscape.Step},
				{At: 120 * time.Second, Pattern: dreamscape.Off, Ease: dreamscape.Step},
			}}},
		}
		r := newRigWith(t, calm, &memStore{}, rigOpts{show: func(strip *apa102.Dev, _ *sim.Hardware) *Show {
			ps = &panicStrip{Dev: strip}
			o, err := zones.New(zones.Layout{Strip: ps, LEDs: ledCount,
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
		// Before the panic the guard keeps the motor within its budget.
		on := func(from, to time.Duration) (longest time.Duration) {
			const tick = 100 * time.Millisecond
			var samples []bool
			for time.Since(start) < to {
				time.Sleep(tick)
				synctest.Wait()
				samples = append(samples, motor.now() > 0)
			}
			// The longest run time in any 60 s window, in ticks.
			w := int(time.Minute / tick)
			n := 0
			for i, s := range samples {
				if s {
					n++
				}
				if i >= w && samples[i-w] {
					n--
				}
				longest = max(longest, time.Duration(n)*tick)
			}
			return longest
		}
		if l := on(0, 300*time.Second); l > 21*time.Second {
			t.Fatalf("before the restart the motor ran %v in a minute: the guard's budget is 20 s at 0.6", l)
		}
		ps.mu.Lock()
		ps.armed = true
		ps.mu.Unlock()
		if l := on(300*time.Second, 600*time.Second); l > 21*time.Second {
			t.Errorf("after the show's restart the motor ran %v in a minute at 0.6; the budget (12 intensity·s a minute) allows 20 s", l)
		}
		if st := r.pod.Status().Show; st == nil || !st.Playing {
			t.Fatalf("show %+v: want it playing again", st)
		}
	})
}
