package outputcheck

import (
	"strings"
	"testing"
	"time"

	"github.com/sleegation/podd/sim"
)

var lights = []Zone{
	{Name: "canopy", First: 0, Count: 2},
	{Name: "floor", PWM: []int{0, 1, 2}},
	{Name: "lamp", PWM: []int{5}},
}

var t0 = time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)

func strip(at time.Duration, v uint8) sim.OutputFrame {
	return sim.OutputFrame{T: t0.Add(at), Device: StripDevice, LEDs: [][4]uint8{{v, v, v, 31}, {v, v, v, 31}, {0, 0, 0, 0}}}
}

func pwm(at time.Duration, d ...float64) sim.OutputFrame {
	return sim.OutputFrame{T: t0.Add(at), Device: PWMDevice, Duty: d}
}

// A 10 Hz full-scale strobe on the strip breaks the rules in its zone and
// in the whole pod; the PWM zones that stayed dark do not.
func TestAStrobeBreaksTheRules(t *testing.T) {
	var frames []sim.OutputFrame
	for i := range 40 {
		v := uint8(0)
		if i%2 == 0 {
			v = 255
		}
		frames = append(frames, strip(time.Duration(i)*50*time.Millisecond, v))
	}
	frames = append(frames, pwm(0, 0, 0, 0, 0, 0, 0))
	s, r, err := Check(lights, frames)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Zones[0]) != 40 || s.Weights[0] != 2 || s.Weights[1] != 2 {
		t.Fatalf("streams %d samples, weights %v", len(s.Zones[0]), s.Weights)
	}
	if r.Zones[0].General.Flashes != 10 || len(r.Zones[0].Violations()) == 0 {
		t.Errorf("canopy: %d flashes, violations %v; want 10 and violations", r.Zones[0].General.Flashes, r.Zones[0].Violations())
	}
	if len(r.Zones[1].Violations())+len(r.Zones[2].Violations()) != 0 {
		t.Errorf("dark PWM zones break the rules: %v %v", r.Zones[1].Violations(), r.Zones[2].Violations())
	}
	if len(r.Whole.Violations()) == 0 {
		t.Error("the whole pod (half of it strobing) passes")
	}
}

// A slow ramp passes; LED brightness and a one-channel PWM zone count as
// the package doc says.
func TestASlowRampPassesAndLightIsMeasuredAsDocumented(t *testing.T) {
	var frames []sim.OutputFrame
	for i := range 100 {
		frames = append(frames, strip(time.Duration(i)*20*time.Millisecond, uint8(i)), pwm(time.Duration(i)*20*time.Millisecond, 0.5, 0.25, 0, 0, 0, float64(i)/200))
	}
	frames = append(frames, sim.OutputFrame{T: t0.Add(2 * time.Second), Device: StripDevice, LEDs: [][4]uint8{{255, 0, 0, 31}, {255, 0, 0, 0}, {9, 9, 9, 31}}})
	s, r, err := Check(lights, frames)
	if err != nil {
		t.Fatal(err)
	}
	if vs := r.Violations(); len(vs) != 0 {
		t.Errorf("a slow ramp breaks the rules: %v", vs)
	}
	last := s.Zones[0][len(s.Zones[0])-1]
	if last.T != 2*time.Second || last.C.R != 0.5 || last.C.G != 0 {
		t.Errorf("last canopy sample %+v, want R 0.5 (one LED red at full brightness, one at brightness 0)", last)
	}
	lamp := s.Zones[2][99]
	if lamp.C.R != 99.0/200 || lamp.C.G != lamp.C.R || lamp.C.B != lamp.C.R {
		t.Errorf("lamp sample %+v, want white at 0.495", lamp)
	}
}

func TestAStripFrameTooShortIsAnError(t *testing.T) {
	_, _, err := Check(lights, []sim.OutputFrame{{T: t0, Device: StripDevice, LEDs: [][4]uint8{{1, 1, 1, 31}}}})
	if err == nil || !strings.Contains(err.Error(), `zone "canopy" needs 2`) {
		t.Fatalf("Check = %v", err)
	}
}
