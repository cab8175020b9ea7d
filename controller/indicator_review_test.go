package controller

import (
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/actuators"
	"github.com/sleegation/podd/actuators/apa102"
	"github.com/sleegation/podd/actuators/gpioout"
	"github.com/sleegation/podd/actuators/light"
	"github.com/sleegation/podd/actuators/zones"
	"github.com/sleegation/podd/dreamscape"
	"github.com/sleegation/podd/sim"
)

// hungMotor is a place's motor on the I2C bus the motors and the sensors
// share: once armed, SetIntensity blocks until release is closed (a
// transfer that does not return). Its Halt returns at once, as the
// DRV2605L's does by its EN line.
type hungMotor struct {
	mu      sync.Mutex
	armed   bool
	hungAt  time.Time // when the first write after arming hung
	release chan struct{}
}

func (m *hungMotor) SetIntensity(float64) error {
	m.mu.Lock()
	armed := m.armed
	if armed && m.hungAt.IsZero() {
		m.hungAt = time.Now()
	}
	m.mu.Unlock()
	if armed {
		<-m.release
	}
	return nil
}

// hung is when the first write after arming hung; zero before.
func (m *hungMotor) hung() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.hungAt
}

// lateTachycardia is tachycardia 20 s later: heart_rate_high trips about
// 73 s after the start, well after the show's first motor write after
// 18 s (about 54 s in, when the haptic guard's budget changes the
// motor's intensity), so the abort comes while that write hangs. With
// the onset dated at the time the value describes, tachycardia's abort
// (53.4 s) came before it.
const lateTachycardia = `
name: test-tachycardia-late
baseline: {heart_rate_bpm: 62, spo2_pct: 97, skin_conductance_us: 2, body_temp_c: 36.6}
timeline:
  - {at: 40s, ramp: 30s, set: {heart_rate_bpm: 150}}
`

func (m *hungMotor) Halt() error    { return nil }
func (m *hungMotor) String() string { return "motor back" }

// The indicator (Show.Indicator, "lit while an abort is latched") and the
// wake ramp are both driven from the show loop's frame alone (show.indicate
// and show.safeFrame run only inside show.frame). A frame stuck on a hung
// I2C transfer to a motor, which is exactly when checkShow and an abort
// take the outputs back, therefore freezes them: the abort latches, the
// strip's SPI bus is healthy, yet the indicator stays dark and the strip
// stays at the dim safe light for as long as the I2C bus hangs, so the
// technician sees no latch and the woken sleeper gets no wake light.
// Correct: the indicator follows the latch from the safety core
// (keepSafe), never waiting on the show's goroutine.
func TestTheIndicatorAndWakeRampFollowAnAbortWhileAMotorBusHangs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		safe, wake := apa102.Color{R: 10, G: 4, B: 1}, apa102.Color{R: 100, G: 40, B: 10}
		motor := &hungMotor{release: make(chan struct{})}
		var indicator *sim.Line
		prog := &dreamscape.Program{Source: "test", Name: "buzz", Duration: time.Hour, Loop: true,
			Lights:  []dreamscape.LightTrack{{Zone: "canopy", Keys: []dreamscape.LightKey{{At: 0, Hex: "#281204", Color: light.FromBytes(40, 18, 4), Level: 1, Ease: dreamscape.Step}}}},
			Haptics: []dreamscape.HapticTrack{{Place: "back", Keys: []dreamscape.HapticKey{{At: 0, Pattern: dreamscape.Steady, Intensity: 0.3, Ease: dreamscape.Step}}}},
		}
		r := newRigWith(t, lateTachycardia, &memStore{}, rigOpts{safe: safe, outputs: []actuators.Haltable{motor}, show: func(strip *apa102.Dev, hw *sim.Hardware) *Show {
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
			indicator = hw.MotorLine("INDICATOR")
			d, err := gpioout.New(indicator, gpioout.Opts{Name: "indicator"})
			if err != nil {
				t.Fatal(err)
			}
			return &Show{Outputs: o, Program: b, Rate: 50, Strip: strip, Indicator: d,
				SafeLight: light.FromBytes(safe.R, safe.G, safe.B), WakeLight: light.FromBytes(wake.R, wake.G, wake.B), WakeRamp: time.Minute}
		}})
		defer r.stop()
		defer close(motor.release)
		until(start, 18*time.Second)
		if st := r.pod.Status().Show; st == nil || !st.Playing {
			t.Fatalf("show %+v: want it playing", st)
		}
		motor.mu.Lock()
		motor.armed = true
		motor.mu.Unlock()
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
		if h := motor.hung(); h.IsZero() || !h.Before(abortAt) {
			t.Fatalf("the motor's write hung at %v after the start, the abort at %v: want the abort during the hang", h.Sub(start), abortAt.Sub(start))
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if !indicator.Read() {
			t.Error("2 s after the abort the indicator is dark: the latch is not shown while the motors' bus hangs")
		}
		// The wake ramp still runs in the show's frames, so it waits for
		// the hung frame: the strip holds the dim safe light meanwhile
		// (never dark). Moving the ramp off the show loop is not built.
		if l, ok := uniform(r.hw.Strip.Shown()); !ok || l != (sim.LED{R: safe.R, G: safe.G, B: safe.B, Brightness: 31}) {
			t.Errorf("during the hang the strip shows %v (uniform %v), want the safe light", l, ok)
		}
	})
}
