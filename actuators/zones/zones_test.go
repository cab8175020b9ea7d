package zones

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/sleegation/podd/actuators/apa102"
	"github.com/sleegation/podd/actuators/light"
)

type fakeStrip struct {
	frames [][]apa102.Color
	err    error
}

func (s *fakeStrip) Write(p []apa102.Color) error {
	s.frames = append(s.frames, slices.Clone(p))
	return s.err
}
func (s *fakeStrip) String() string { return "strip" }

type fakePWM struct{ frames [][]float64 }

func (p *fakePWM) SetAll(d []float64) error { p.frames = append(p.frames, slices.Clone(d)); return nil }
func (p *fakePWM) String() string           { return "pwm" }

type fakeMotor struct {
	writes []float64
	err    error
}

func (m *fakeMotor) SetIntensity(x float64) error {
	m.writes = append(m.writes, x)
	return m.err
}
func (m *fakeMotor) String() string { return "motor" }

func layout(s *fakeStrip, p *fakePWM, back, feet *fakeMotor) Layout {
	return Layout{
		Strip: s, LEDs: 6, PWM: p,
		Lights: []Light{{Name: "canopy", First: 0, Count: 3}, {Name: "floor", PWM: []int{0, 1, 2}}, {Name: "lamp", PWM: []int{5}}, {Name: "sides", First: 4, Count: 2}},
		Places: []Place{{Name: "back", Motor: back}, {Name: "feet", Motor: feet}},
	}
}

func TestShowEncodesEveryZoneAndPlace(t *testing.T) {
	s, p, back, feet := &fakeStrip{}, &fakePWM{}, &fakeMotor{}, &fakeMotor{}
	o, err := New(layout(s, p, back, feet))
	if err != nil {
		t.Fatal(err)
	}
	lights := []light.RGB{{R: 1, G: 0.5, B: 0}, {R: 0.25, G: 0.5, B: 0.75}, {R: 1, G: 1, B: 1}, {R: 2, G: -1, B: 0.2}, {R: 0.2}}
	if err := o.Show(lights, []float64{0.3, 0}); err != nil {
		t.Fatal(err)
	}
	// 0.5 of 255 rounds to 128; LED 3, in no zone, is the Unzoned zone's;
	// sides is clamped.
	wantStrip := []apa102.Color{{R: 255, G: 128}, {R: 255, G: 128}, {R: 255, G: 128}, {R: 51}, {R: 255, B: 51}, {R: 255, B: 51}}
	if len(s.frames) != 1 || !slices.Equal(s.frames[0], wantStrip) {
		t.Errorf("strip frames %v, want %v", s.frames, wantStrip)
	}
	wantPWM := make([]float64, PWMChannels)
	wantPWM[0], wantPWM[1], wantPWM[2], wantPWM[5] = 0.25, 0.5, 0.75, 1
	if len(p.frames) != 1 || !slices.Equal(p.frames[0], wantPWM) {
		t.Errorf("PWM frames %v, want %v", p.frames, wantPWM)
	}
	if !slices.Equal(back.writes, []float64{0.3}) || !slices.Equal(feet.writes, []float64{0}) {
		t.Errorf("motor writes %v %v, want [0.3] [0]", back.writes, feet.writes)
	}
	// The same intensities again are not written; a change is; after
	// Forget every motor is written again.
	if err := o.Show(lights, []float64{0.3, 0.7}); err != nil {
		t.Fatal(err)
	}
	o.Forget()
	if err := o.Show(lights, []float64{0.3, 0.7}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(back.writes, []float64{0.3, 0.3}) || !slices.Equal(feet.writes, []float64{0, 0.7, 0.7}) {
		t.Errorf("motor writes %v %v, want [0.3 0.3] [0 0.7 0.7]", back.writes, feet.writes)
	}
	if got := o.LightNames(); !slices.Equal(got, []string{"canopy", "floor", "lamp", "sides", Unzoned}) {
		t.Errorf("LightNames %v", got)
	}
	if got := o.Weights(); !slices.Equal(got, []float64{3, 3, 3, 2, 1}) {
		t.Errorf("Weights %v, want [3 3 3 2 1]", got)
	}
}

func TestShowWritesEveryDeviceWhenOneFailsAndRetriesTheMotor(t *testing.T) {
	s, p, back, feet := &fakeStrip{err: errors.New("bus down")}, &fakePWM{}, &fakeMotor{err: errors.New("nack")}, &fakeMotor{}
	o, err := New(layout(s, p, back, feet))
	if err != nil {
		t.Fatal(err)
	}
	lights := make([]light.RGB, 5)
	err = o.Show(lights, []float64{0.5, 0.5})
	if err == nil || !strings.Contains(err.Error(), "bus down") || !strings.Contains(err.Error(), "nack") {
		t.Fatalf("Show = %v, want both errors", err)
	}
	if len(p.frames) != 1 || len(feet.writes) != 1 {
		t.Fatalf("a failing device kept the others from their frame: pwm %d, feet %d", len(p.frames), len(feet.writes))
	}
	back.err = nil
	if err := o.Show(lights, []float64{0.5, 0.5}); err == nil {
		t.Fatal("the strip still fails")
	}
	if !slices.Equal(back.writes, []float64{0.5, 0.5}) {
		t.Errorf("back writes %v: a failed write must be tried again", back.writes)
	}
}

func TestAFrameOfTheWrongShapeWritesNothing(t *testing.T) {
	s, p, back, feet := &fakeStrip{}, &fakePWM{}, &fakeMotor{}, &fakeMotor{}
	o, err := New(layout(s, p, back, feet))
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Show(make([]light.RGB, 4), []float64{0, 0}); err == nil {
		t.Fatal("a frame of 4 colours for 5 zones accepted")
	}
	if len(s.frames)+len(p.frames)+len(back.writes)+len(feet.writes) != 0 {
		t.Fatal("a refused frame wrote")
	}
}

func TestNewRefusesAWrongLayout(t *testing.T) {
	m := &fakeMotor{}
	for _, c := range []struct {
		l    Layout
		want string
	}{
		{Layout{LEDs: 4, Strip: &fakeStrip{}, Lights: []Light{{Name: "a", First: 0, Count: 3}, {Name: "b", First: 2, Count: 2}}},
			`zones: light zone "b": LED 2 is also in "a"`},
		{Layout{LEDs: 4, Strip: &fakeStrip{}, Lights: []Light{{Name: "a", First: 2, Count: 3}}},
			`zones: light zone "a": LEDs 2-4 are not within the strip's 4`},
		{Layout{Lights: []Light{{Name: "a", PWM: []int{1}}}},
			`zones: light zone "a" is on PWM channels, and there is no PWM controller`},
		{Layout{PWM: &fakePWM{}, Lights: []Light{{Name: "a", PWM: []int{1, 16, 2}}}},
			`zones: light zone "a": PWM channel 16 is outside 0..15`},
		{Layout{Places: []Place{{Name: "p", Motor: m}, {Name: "p", Motor: m}}},
			`zones: haptic place "p" named twice`},
		{Layout{Places: []Place{{Name: "p"}}},
			`zones: haptic place "p" has no motor`},
	} {
		if _, err := New(c.l); err == nil || err.Error() != c.want {
			t.Errorf("New = %v, want %q", err, c.want)
		}
	}
}

// One frame of a 300-LED pod (three strip zones, an RGB fixture, two
// motors): encoding cost and allocations, writes to no-op devices.
func BenchmarkShow300LEDs(b *testing.B) {
	o, err := New(Layout{
		Strip: nopStrip{}, LEDs: 300, PWM: nopPWM{},
		Lights: []Light{{Name: "canopy", First: 0, Count: 200}, {Name: "sides", First: 200, Count: 80}, {Name: "floor", First: 280, Count: 20}, {Name: "lamp", PWM: []int{0, 1, 2}}},
		Places: []Place{{Name: "back", Motor: nopMotor{}}, {Name: "feet", Motor: nopMotor{}}, {Name: "arms", Motor: nopMotor{}}, {Name: "neck", Motor: nopMotor{}}},
	})
	if err != nil {
		b.Fatal(err)
	}
	lights := []light.RGB{{R: 0.2, G: 0.1}, {B: 0.3}, {G: 0.4}, {R: 0.1, G: 0.1, B: 0.1}}
	haptics := []float64{0.1, 0.2, 0.3, 0.4}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		haptics[i%4] = float64(i%10) / 10
		if err := o.Show(lights, haptics); err != nil {
			b.Fatal(err)
		}
	}
}

type nopStrip struct{}

func (nopStrip) Write([]apa102.Color) error { return nil }
func (nopStrip) String() string             { return "nop" }

type nopPWM struct{}

func (nopPWM) SetAll([]float64) error { return nil }
func (nopPWM) String() string         { return "nop" }

type nopMotor struct{}

func (nopMotor) SetIntensity(float64) error { return nil }
func (nopMotor) String() string             { return "nop" }

// LastErrors says which outputs a frame failed on: each strip zone has the
// strip's error, each PWM zone the controller's, each place its motor's;
// the next frame's outcome replaces it, a place whose unchanged intensity
// was not written has none.
func TestLastErrorsNamesTheFailedOutputs(t *testing.T) {
	stripErr, motorErr := errors.New("bus down"), errors.New("nack")
	s, p, back, feet := &fakeStrip{err: stripErr}, &fakePWM{}, &fakeMotor{err: motorErr}, &fakeMotor{}
	o, err := New(layout(s, p, back, feet))
	if err != nil {
		t.Fatal(err)
	}
	lights := make([]light.RGB, 5) // and the unzoned LED 3
	if err := o.Show(lights, []float64{0.5, 0.5}); err == nil {
		t.Fatal("Show = nil, want the strip's and the motor's errors")
	}
	ls, ps := o.LastErrors()
	if want := []error{stripErr, nil, nil, stripErr, stripErr}; !slices.Equal(ls, want) {
		t.Errorf("lights' errors %v, want %v (canopy, floor, lamp, sides, unzoned)", ls, want)
	}
	if want := []error{motorErr, nil}; !slices.Equal(ps, want) {
		t.Errorf("places' errors %v, want %v (back, feet)", ps, want)
	}
	s.err, back.err = nil, nil
	if err := o.Show(lights, []float64{0.5, 0.5}); err != nil {
		t.Fatal(err)
	}
	ls, ps = o.LastErrors()
	if !slices.Equal(ls, []error{nil, nil, nil, nil, nil}) || !slices.Equal(ps, []error{nil, nil}) {
		t.Errorf("after a frame every device took: lights %v, places %v", ls, ps)
	}
}
