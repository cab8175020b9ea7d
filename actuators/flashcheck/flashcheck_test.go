package flashcheck

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/sleegation/podd/actuators/light"
)

var (
	dark  = light.RGB{}
	white = light.RGB{R: 1, G: 1, B: 1}
	red   = light.RGB{R: 1}
)

// stream samples f every 1 s/fps from 0 to d inclusive.
func stream(fps int, d time.Duration, f func(t time.Duration) light.RGB) []Sample {
	step := time.Second / time.Duration(fps)
	var s []Sample
	for t := time.Duration(0); t <= d; t += step {
		s = append(s, Sample{T: t, C: f(t)})
	}
	return s
}

// square alternates a (first) and b every half period of a hz square wave.
func square(hz int, a, b light.RGB) func(time.Duration) light.RGB {
	half := time.Second / time.Duration(2*hz)
	return func(t time.Duration) light.RGB {
		if (t/half)%2 == 0 {
			return a
		}
		return b
	}
}

func grey(l float64) light.RGB { return light.RGB{R: l, G: l, B: l} }

func check(t *testing.T, s []Sample) Report {
	t.Helper()
	r, err := Check(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func rules(vs []Violation) string {
	var names []string
	for _, v := range vs {
		names = append(names, v.Rule)
	}
	return strings.Join(names, ",")
}

func TestSteadyLightHasNoChangeAndNoModulation(t *testing.T) {
	r := check(t, stream(100, 5*time.Second, func(time.Duration) light.RGB { return grey(0.5) }))
	if r.General.Changes != 0 || r.Red.Changes != 0 || r.Rate.Changes != 0 {
		t.Errorf("changes in steady light: %+v", r)
	}
	if !r.Mod.Judged || r.Mod.Depth > 1e-9 {
		t.Errorf("modulation %+v, want judged and 0", r.Mod)
	}
	if len(r.Violations()) != 0 {
		t.Errorf("violations %v", r.Violations())
	}
}

// A 10 Hz strobe between dark and white at 200 samples a second for 3 s:
// an edge every 50 ms, the first reached at 50 ms; the worst window
// [50 ms, 1050 ms) holds the edges at 50, 100, ..., 1000 ms: 20 changes, 10
// flashes. Its modulation is the square wave's fundamental at 10 Hz, of
// peak-to-peak 4/π (1.273) of the wave's.
func TestTenHertzStrobe(t *testing.T) {
	r := check(t, stream(200, 3*time.Second, square(10, dark, white)))
	want := Count{Changes: 20, Flashes: 10, At: 50 * time.Millisecond}
	if r.General != want {
		t.Errorf("general %+v, want %+v", r.General, want)
	}
	if r.Red.Changes != 0 {
		t.Errorf("red %+v, want none (white is not red)", r.Red)
	}
	if r.Rate.Changes != 20 {
		t.Errorf("rate %+v, want 20 changes", r.Rate)
	}
	if r.Mod.Hz != 10 || math.Abs(r.Mod.Depth-4/math.Pi) > 0.02 {
		t.Errorf("modulation %+v, want 10 Hz, depth %.3f", r.Mod, 4/math.Pi)
	}
	if got := rules(r.Violations()); got != "general_flashes,change_rate,modulation" {
		t.Errorf("violations %q", got)
	}
	if r.SampleRateHz != 200 || r.MaxVisibleHz != 100 || r.TooSlow {
		t.Errorf("rate %v, visible %v, too slow %v", r.SampleRateHz, r.MaxVisibleHz, r.TooSlow)
	}
}

// Flashing with an edge every 167 ms (2.99 Hz) is 3 flashes in any second:
// within WCAG, but 6 changes a second, a 3 Hz modulation, which the pod
// forbids.
func TestThreeHertzIsWithinTheFlashCountButBreaksTheModulationRule(t *testing.T) {
	r := check(t, stream(1000, 3*time.Second, func(t time.Duration) light.RGB {
		if (t/(167*time.Millisecond))%2 == 0 {
			return dark
		}
		return grey(0.5)
	}))
	if r.General.Flashes != 3 || r.General.Changes != 6 {
		t.Errorf("general %+v, want 6 changes, 3 flashes", r.General)
	}
	if got := rules(r.Violations()); got != "change_rate,modulation" {
		t.Errorf("violations %q", got)
	}
	if r.Mod.Hz != 3 {
		t.Errorf("modulation at %v Hz, want 3", r.Mod.Hz)
	}
}

// Flicker between 0.85 and 1.0: changes of 0.15 whose darker end is above
// 0.8 are no general flashes, but they are a 10 Hz modulation.
func TestBrightFlickerIsNoFlashButIsModulation(t *testing.T) {
	r := check(t, stream(200, 3*time.Second, square(10, grey(0.85), white)))
	if r.General.Changes != 0 {
		t.Errorf("general %+v, want none", r.General)
	}
	if r.Rate.Changes != 20 {
		t.Errorf("rate %+v, want 20", r.Rate)
	}
	if r.Mod.Hz != 10 || math.Abs(r.Mod.Depth-0.15*4/math.Pi) > 0.005 {
		t.Errorf("modulation %+v, want 10 Hz depth %.4f", r.Mod, 0.15*4/math.Pi)
	}
}

// Dark to pure red is a change of 0.2126 in luminance whose brighter end is
// saturated red: at 4 Hz, 8 changes in a second are 4 red flashes (and 4
// general ones). At 2 Hz, 2 flashes, within the count.
func TestRedFlashes(t *testing.T) {
	r := check(t, stream(200, 3*time.Second, square(4, dark, red)))
	if r.Red.Flashes != 4 || r.Red.Changes != 8 {
		t.Errorf("red %+v, want 8 changes, 4 flashes", r.Red)
	}
	if got := rules(r.Violations()); got != "general_flashes,red_flashes,change_rate,modulation" {
		t.Errorf("violations %q", got)
	}
	r = check(t, stream(200, 3*time.Second, square(2, dark, red)))
	if r.Red.Flashes != 2 || r.General.Flashes != 2 {
		t.Errorf("red %+v general %+v, want 2 flashes each", r.Red, r.General)
	}
	// A red whose ratio is just below 0.8 is not saturated.
	pink := light.RGB{R: 0.79, G: 0.105, B: 0.105}
	if pink.RedRatio() >= light.SaturatedRed {
		t.Fatal("test colour is saturated")
	}
	r = check(t, stream(200, 3*time.Second, square(4, dark, pink)))
	if r.Red.Changes != 0 || r.General.Flashes != 4 {
		t.Errorf("red %+v general %+v, want no red and 4 general flashes", r.Red, r.General)
	}
}

// alternate makes a stream that starts dark and reaches white and dark in
// turn at the given times (each held until the next).
func alternate(ms ...int) []Sample {
	s := []Sample{{T: 0, C: dark}}
	for i, m := range ms {
		c := white
		if i%2 == 1 {
			c = dark
		}
		s = append(s, Sample{T: time.Duration(m) * time.Millisecond, C: c})
	}
	return s
}

// The window is [t, t+1 s): a change exactly 1 s after the first is in the
// next window; 1 ms earlier, it makes the 7th change and a 4th flash.
func TestTheWindowIsHalfOpen(t *testing.T) {
	r := check(t, alternate(100, 250, 400, 550, 700, 850, 1100))
	if r.General.Changes != 6 || r.General.Flashes != 3 {
		t.Errorf("general %+v, want 6 changes, 3 flashes", r.General)
	}
	r = check(t, alternate(100, 250, 400, 550, 700, 850, 1099))
	want := Count{Changes: 7, Flashes: 4, At: 100 * time.Millisecond}
	if r.General != want {
		t.Errorf("general %+v, want %+v", r.General, want)
	}
}

// A rise of 0.15 with a dip of 0.05 in it is one change; a dip of 0.1 ends
// the excursion and is a change itself.
func TestTurningPointsNeedAReturnOfAChange(t *testing.T) {
	ls := func(vs ...float64) []Sample {
		var s []Sample
		for i, v := range vs {
			s = append(s, Sample{T: time.Duration(i) * 100 * time.Millisecond, C: grey(v)})
		}
		return s
	}
	cs := changes(ls(0.2, 0.3, 0.25, 0.35, 0.35))
	if len(cs) != 1 || cs[0].lo != 0.2 || cs[0].hi != 0.35 || cs[0].at != 300*time.Millisecond {
		t.Errorf("changes %+v, want one 0.2 -> 0.35 at 300 ms", cs)
	}
	cs = changes(ls(0.2, 0.35, 0.25, 0.4))
	if len(cs) != 1 {
		t.Errorf("changes %+v, want one", cs)
	}
	cs = changes(ls(0.2, 0.35, 0.25, 0.15, 0.3))
	if len(cs) != 3 || cs[1].lo != 0.15 || cs[1].hi != 0.35 || cs[1].at != 300*time.Millisecond {
		t.Errorf("changes %+v, want 3, the second 0.35 -> 0.15 at 300 ms", cs)
	}
	if cs := changes(ls(0.2, 0.29, 0.2, 0.29)); len(cs) != 0 {
		t.Errorf("changes %+v, want none below 0.1", cs)
	}
}

// A slow full-scale ramp is one change and no modulation; a 20 Hz sinusoid
// of depth 0.12 is modulation at 20 Hz of depth 0.12; the same at 2 Hz is
// outside the band.
func TestModulationIsMeasuredInTheBandOnly(t *testing.T) {
	r := check(t, stream(120, 4*time.Second, func(t time.Duration) light.RGB { return grey(t.Seconds() / 4) }))
	if r.Rate.Changes != 1 || r.Mod.Depth > 0.01 || len(r.Violations()) != 0 {
		t.Errorf("ramp: rate %+v, modulation %+v, violations %v", r.Rate, r.Mod, r.Violations())
	}
	sine := func(hz, depth float64) func(time.Duration) light.RGB {
		return func(t time.Duration) light.RGB {
			return grey(0.5 + depth/2*math.Sin(2*math.Pi*hz*t.Seconds()))
		}
	}
	r = check(t, stream(480, 3*time.Second, sine(20, 0.12)))
	if r.Mod.Hz != 20 || math.Abs(r.Mod.Depth-0.12) > 0.002 {
		t.Errorf("20 Hz: %+v, want 20 Hz depth 0.12", r.Mod)
	}
	if got := rules(r.Violations()); !strings.Contains(got, "modulation") {
		t.Errorf("20 Hz: violations %q, want modulation", got)
	}
	r = check(t, stream(480, 6*time.Second, sine(2, 0.12)))
	if r.Mod.Depth >= MaxDepth/4 {
		t.Errorf("2 Hz: %+v, want under %v in the band", r.Mod, MaxDepth/4)
	}
	if r.Mod = (Modulation{}); len(r.Violations()) != 0 {
		t.Errorf("2 Hz: violations %v", r.Violations())
	}
	// A 20 Hz modulation of depth 0.05 on top of a 0.2/s ramp: the ramp is
	// removed, the modulation measured.
	r = check(t, stream(480, 3*time.Second, func(t time.Duration) light.RGB {
		return grey(0.2 + 0.2*t.Seconds() + 0.025*math.Sin(2*math.Pi*20*t.Seconds()))
	}))
	if r.Mod.Hz != 20 || math.Abs(r.Mod.Depth-0.05) > 0.002 {
		t.Errorf("ramp + 20 Hz: %+v, want 20 Hz depth 0.05", r.Mod)
	}
}

func TestShortAndSlowStreams(t *testing.T) {
	r := check(t, stream(50, 900*time.Millisecond, square(10, dark, white)))
	if r.Mod.Judged {
		t.Errorf("a 0.9 s stream's modulation judged: %+v", r.Mod)
	}
	if r.General.Flashes != 9 || !r.TooSlow || r.SampleRateHz != 50 || r.MaxVisibleHz != 25 {
		t.Errorf("report %+v", r)
	}
	r = check(t, []Sample{{T: time.Second, C: white}})
	if r.Samples != 1 || r.Span != 0 || len(r.Violations()) != 0 || r.SampleRateHz != 0 {
		t.Errorf("one sample: %+v", r)
	}
}

func TestBadStreamsAreRefused(t *testing.T) {
	for _, c := range []struct {
		name string
		s    []Sample
		want string
	}{
		{"empty", nil, "no samples"},
		{"negative time", []Sample{{T: -1}}, "sample 0: time -1ns is negative"},
		{"same time", []Sample{{T: 0}, {T: 0}}, "sample 1: time 0s is not after sample 0's 0s"},
		{"backwards", []Sample{{T: 2}, {T: 1}}, "sample 1: time 1ns is not after"},
		{"NaN", []Sample{{T: 0}, {T: 1, C: light.RGB{G: math.NaN()}}}, "sample 1 at 1ns: channel G = NaN, want 0..1"},
		{"above 1", []Sample{{T: 0, C: light.RGB{B: 1.5}}}, "channel B = 1.5"},
		{"below 0", []Sample{{T: 0, C: light.RGB{R: -0.1}}}, "channel R = -0.1"},
	} {
		r, err := Check(c.s)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
		if r.Samples != 0 {
			t.Errorf("%s: a report with an error", c.name)
		}
	}
}

// A triangle wave of depth 0.105 with a turning point every 167 ms (2.99
// Hz): its fundamental measures only 8/π² of its depth (0.085, under 0.1),
// but its 6 changes a second break the rule through the rate of changes.
func TestATriangleAtThreeHertzIsCaughtByTheRateOfChanges(t *testing.T) {
	const half = 167 * time.Millisecond
	r := check(t, stream(1000, 4*time.Second, func(t time.Duration) light.RGB {
		ph := float64(t%half) / float64(half)
		if (t/half)%2 == 1 {
			ph = 1 - ph
		}
		return grey(0.3 + 0.105*ph)
	}))
	if math.Abs(r.Mod.Depth-0.105*8/(math.Pi*math.Pi)) > 0.003 || r.Mod.Hz != 3 {
		t.Errorf("modulation %+v, want depth %.4f at 3 Hz", r.Mod, 0.105*8/(math.Pi*math.Pi))
	}
	if r.Rate.Changes != 6 || r.General.Flashes != 3 {
		t.Errorf("rate %+v general %+v, want 6 changes, 3 flashes", r.Rate, r.General)
	}
	if got := rules(r.Violations()); got != "change_rate" {
		t.Errorf("violations %q, want change_rate only", got)
	}
}

func TestViolationsReadClearly(t *testing.T) {
	for _, c := range []struct {
		v    Violation
		want string
	}{
		{Violation{Rule: "general_flashes", At: time.Second, Value: 4, Limit: 3}, "general_flashes at 1s: 4 in 1 s (limit 3)"},
		{Violation{Rule: "modulation", At: 0, Value: 0.1234, Limit: 0.1, Hz: 12.5}, "modulation at 0s: depth 0.123 at 12.50 Hz (must stay below 0.10)"},
	} {
		if got := c.v.String(); got != c.want {
			t.Errorf("%q, want %q", got, c.want)
		}
	}
}
