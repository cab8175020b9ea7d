package dreamscape

import (
	"math"
	"testing"
	"time"

	"github.com/sleegation/podd/actuators/light"
)

func sec(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }

func mustBind(t testing.TB, src string, zones, places []string) *Bound {
	t.Helper()
	b, err := mustParse(t, src).Bind(zones, places)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// renderZone renders a program of one zone, canopy, at t.
func renderZone(b *Bound, t time.Duration) light.RGB {
	lights, haptics := make([]light.RGB, 1), []float64{}
	b.Render(t, lights, haptics)
	return lights[0]
}

// renderPlace renders a program of one place, back, at t.
func renderPlace(b *Bound, t time.Duration) float64 {
	lights, haptics := []light.RGB{}, make([]float64, 1)
	b.Render(t, lights, haptics)
	return haptics[0]
}

func lightsProgram(loop string, keys string) string {
	return "name: t\nduration: 10s\nloop: " + loop + "\nlights:\n  canopy:\n" + keys
}

func TestRenderFadesInLinearLight(t *testing.T) {
	b := mustBind(t, lightsProgram("false", `    - {at: 0s, color: "#ff0000", level: 1}
    - {at: 10s, color: "#0000ff", level: 0.5}
`), []string{"canopy"}, nil)
	for _, c := range []struct {
		at   time.Duration
		want light.RGB
	}{
		{0, light.RGB{R: 1}},
		{sec(2.5), light.RGB{R: 0.75, B: 0.125}},
		{sec(5), light.RGB{R: 0.5, B: 0.25}}, // the midpoint in emitted light
		{sec(10), light.RGB{B: 0.5}},
	} {
		if got := renderZone(b, c.at); got != c.want {
			t.Errorf("at %v: %+v, want %+v", c.at, got, c.want)
		}
	}

	// Grey: the midpoint of black and white is half the light (0.5), not
	// the sRGB code #808080 (0.216 of the light).
	grey := mustBind(t, lightsProgram("false", `    - {at: 0s, color: "#000000", level: 1}
    - {at: 10s, color: "#ffffff", level: 1}
`), []string{"canopy"}, nil)
	if got := renderZone(grey, sec(5)); got != (light.RGB{R: 0.5, G: 0.5, B: 0.5}) {
		t.Errorf("grey midpoint %+v", got)
	}
}

func TestRenderLevelScalesLinearLight(t *testing.T) {
	b := mustBind(t, lightsProgram("false", `    - {at: 0s, color: "#ff8000", level: 0.5}
`), []string{"canopy"}, nil)
	want := light.RGB{R: 0.5, G: light.DecodeSRGB(128.0/255) * 0.5}
	if got := renderZone(b, sec(3)); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestRenderStepHoldsThenJumps(t *testing.T) {
	b := mustBind(t, lightsProgram("false", `    - {at: 0s, color: "#ffffff", level: 1, ease: step}
    - {at: 4s, color: "#000000", level: 1}
`), []string{"canopy"}, nil)
	white, black := light.RGB{R: 1, G: 1, B: 1}, light.RGB{}
	if got := renderZone(b, 4*time.Second-1); got != white {
		t.Errorf("1 ns before the next keyframe: %+v", got)
	}
	if got := renderZone(b, 4*time.Second); got != black {
		t.Errorf("at the next keyframe: %+v", got)
	}
}

// Each ease from black to white over 10 s, at a quarter, half and three
// quarters of the way: the values are the curves' own (dyadic, so exact).
func TestRenderEases(t *testing.T) {
	for _, c := range []struct {
		ease         string
		q1, half, q3 float64
	}{
		{ease: "linear", q1: 0.25, half: 0.5, q3: 0.75},
		{ease: "in", q1: 1.0 / 64, half: 1.0 / 8, q3: 27.0 / 64},     // f³
		{ease: "out", q1: 37.0 / 64, half: 7.0 / 8, q3: 63.0 / 64},   // 1-(1-f)³
		{ease: "in-out", q1: 1.0 / 16, half: 1.0 / 2, q3: 15.0 / 16}, // 4f³, 1-(2-2f)³/2
		{ease: "step", q1: 0, half: 0, q3: 0},                        // hold
	} {
		b := mustBind(t, lightsProgram("false", `    - {at: 0s, color: "#000000", level: 1, ease: `+c.ease+`}
    - {at: 10s, color: "#ffffff", level: 1}
`), []string{"canopy"}, nil)
		for _, at := range []struct {
			t    time.Duration
			want float64
		}{{sec(2.5), c.q1}, {sec(5), c.half}, {sec(7.5), c.q3}, {sec(10), 1}} {
			if got := renderZone(b, at.t); got != (light.RGB{R: at.want, G: at.want, B: at.want}) {
				t.Errorf("%s at %v: %+v, want %v", c.ease, at.t, got, at.want)
			}
		}
	}
}

// A looping program takes t modulo its duration, and its last keyframe
// fades into the first, reached again at the duration; one that does not
// loop holds its last keyframe, and the frame at its end.
func TestRenderLoopAndHold(t *testing.T) {
	keys := `    - {at: 0s, color: "#000000", level: 1}
    - {at: 5s, color: "#ffffff", level: 1}
`
	loop := mustBind(t, lightsProgram("true", keys), []string{"canopy"}, nil)
	hold := mustBind(t, lightsProgram("false", keys), []string{"canopy"}, nil)
	for _, c := range []struct {
		at         time.Duration
		loop, hold float64
	}{
		{-time.Second, 0, 0},
		{sec(2.5), 0.5, 0.5},
		{sec(5), 1, 1},
		{sec(7.5), 0.5, 1}, // fading back to the first keyframe; held
		{sec(10), 0, 1},    // the wrap; the end
		{sec(12.5), 0.5, 1},
		{sec(25), 1, 1},
		{sec(29), 0.2, 1},
		{100 * time.Hour, 0, 1},
	} {
		if got := renderZone(loop, c.at).R; math.Abs(got-c.loop) > 1e-12 {
			t.Errorf("loop at %v: %v, want %v", c.at, got, c.loop)
		}
		if got := renderZone(hold, c.at).R; got != c.hold {
			t.Errorf("hold at %v: %v, want %v", c.at, got, c.hold)
		}
	}
}

func hapticsProgram(loop string, keys string) string {
	return "name: t\nduration: 10s\nloop: " + loop + "\nhaptics:\n  back:\n" + keys
}

func TestRenderPatterns(t *testing.T) {
	for _, c := range []struct {
		key  string
		want map[time.Duration]float64
	}{
		{"{at: 0s, pattern: steady, intensity: 0.3}", map[time.Duration]float64{0: 0.3, sec(7): 0.3}},
		{"{at: 0s, pattern: off}", map[time.Duration]float64{0: 0, sec(7): 0}},
		// Raised cosine: half the intensity at a quarter period, all of it at half.
		{"{at: 0s, pattern: breathe, intensity: 0.4, period: 4s}", map[time.Duration]float64{
			0: 0, sec(1): 0.2, sec(2): 0.4, sec(3): 0.2, sec(4): 0, sec(5): 0.2}},
		{"{at: 0s, pattern: pulse, intensity: 0.5, period: 2s}", map[time.Duration]float64{
			0: 0.5, sec(1) - 1: 0.5, sec(1): 0, sec(2) - 1: 0, sec(2): 0.5}},
		// Up over three quarters of the period, down over the last.
		{"{at: 0s, pattern: wave, intensity: 1, period: 4s}", map[time.Duration]float64{
			0: 0, sec(1.5): 0.5, sec(3): 1, sec(3.5): 0.5, sec(4): 0}},
	} {
		b := mustBind(t, hapticsProgram("false", "    - "+c.key+"\n"), nil, []string{"back"})
		for at, want := range c.want {
			if got := renderPlace(b, at); math.Abs(got-want) > 1e-12 {
				t.Errorf("%s at %v: %v, want %v", c.key, at, got, want)
			}
		}
	}
}

// Between two haptic keyframes the envelopes crossfade, each pattern's
// phase counted from its own keyframe.
func TestRenderHapticCrossfade(t *testing.T) {
	b := mustBind(t, hapticsProgram("false", `    - {at: 0s, pattern: off}
    - {at: 8s, pattern: breathe, intensity: 0.8, period: 4s}
`), nil, []string{"back"})
	for _, c := range []struct {
		at   time.Duration
		want float64
	}{
		{sec(4), 0},            // w 1/2, breathe at phase -1: 0
		{sec(5), 0.25},         // w 5/8, phase -3/4 ≡ 1/4: 0.4
		{sec(6), 0.6},          // w 3/4, phase -1/2 ≡ 1/2: 0.8
		{sec(9), 0.4},          // held breathe at phase 1/4
		{100 * time.Hour, 0.8}, // the frame at 10 s held: breathe at phase 1/2
	} {
		if got := renderPlace(b, c.at); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("at %v: %v, want %v", c.at, got, c.want)
		}
	}
	steady := mustBind(t, hapticsProgram("true", `    - {at: 0s, pattern: off}
    - {at: 5s, pattern: steady, intensity: 0.6, ease: in-out}
`), nil, []string{"back"})
	for _, c := range []struct {
		at   time.Duration
		want float64
	}{{sec(2.5), 0.3}, {sec(5), 0.6}, {sec(6.25), 0.6 * 15 / 16}, {sec(10), 0}} {
		if got := renderPlace(steady, c.at); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("steady at %v: %v, want %v", c.at, got, c.want)
		}
	}
}

// The pod's zones and places come in the pod's order; those the program
// does not name are dark whatever the slices held.
func TestRenderUnnamedZonesAndPlacesAreDark(t *testing.T) {
	b := mustBind(t, example, []string{"floor", "canopy", "sides"}, []string{"feet", "back"})
	lights := []light.RGB{{R: 1, G: 1, B: 1}, {R: 1}, {G: 1}}
	haptics := []float64{1, 1}
	b.Render(10*time.Minute, lights, haptics)
	canopy := hex(t, "#ff7030").Scale(0.02)
	if lights[0] != (light.RGB{}) || lights[1] != canopy || lights[2] != (light.RGB{}) {
		t.Errorf("lights %+v, want canopy %+v and the rest dark", lights, canopy)
	}
	// breathe 0.2, 6 s, from 5m: at 10m, 50 periods in: phase 0.
	if haptics[0] != 0 || math.Abs(haptics[1]) > 1e-12 {
		t.Errorf("haptics %v", haptics)
	}
	b.Render(5*time.Minute+3*time.Second, lights, haptics)
	// Half a breathe period in (its peak, 0.2), 3 s of the 25 min fade back
	// to the first keyframe (off) gone.
	if want := 0.2 * (1 - 3.0/1500); haptics[0] != 0 || math.Abs(haptics[1]-want) > 1e-12 {
		t.Errorf("haptics %v, want [0 %v]", haptics, want)
	}
}

func TestRenderPanicsOnWrongLengths(t *testing.T) {
	b := mustBind(t, example, []string{"canopy", "sides"}, []string{"back"})
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	b.Render(0, make([]light.RGB, 1), make([]float64, 1))
}

func TestRenderDoesNotAllocate(t *testing.T) {
	b := benchBound(t)
	lights, haptics := make([]light.RGB, len(b.Zones())), make([]float64, len(b.Places()))
	var at time.Duration
	if n := testing.AllocsPerRun(1000, func() {
		at += 20 * time.Millisecond
		b.Render(at, lights, haptics)
	}); n != 0 {
		t.Errorf("%v allocations per frame", n)
	}
}

// benchBound is a program of 3 zones and 2 places of 1000 keyframes each.
func benchBound(t testing.TB) *Bound {
	p := &Program{Source: "bench", Name: "bench", Duration: time.Hour, Loop: true}
	eases := []Ease{Linear, Step, In, Out, InOut}
	patterns := []Pattern{Off, Steady, Pulse, Breathe, Wave}
	for _, z := range []string{"canopy", "sides", "floor"} {
		tr := LightTrack{Zone: z}
		for i := range MaxKeyframes {
			tr.Keys = append(tr.Keys, LightKey{At: time.Duration(i) * 3 * time.Second, Color: light.RGB{R: 1, G: 0.5, B: float64(i%7) / 7}, Level: 0.5, Ease: eases[i%5]})
		}
		p.Lights = append(p.Lights, tr)
	}
	for _, pl := range []string{"back", "feet"} {
		tr := HapticTrack{Place: pl}
		for i := range MaxKeyframes {
			k := HapticKey{At: time.Duration(i) * 3 * time.Second, Pattern: patterns[i%5], Intensity: 0.3, Ease: eases[i%5]}
			if k.Pattern == Off {
				k.Intensity = 0
			}
			if k.Pattern.periodic() {
				k.Period = 2 * time.Second
			}
			tr.Keys = append(tr.Keys, k)
		}
		p.Haptics = append(p.Haptics, tr)
	}
	b, err := p.Bind([]string{"canopy", "sides", "floor"}, []string{"back", "feet"})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// BenchmarkRender is one frame of 3 zones and 2 places, each a track of
// 1000 keyframes.
func BenchmarkRender(b *testing.B) {
	bound := benchBound(b)
	lights, haptics := make([]light.RGB, 3), make([]float64, 2)
	b.ReportAllocs()
	var at time.Duration
	for b.Loop() {
		at += 20 * time.Millisecond
		bound.Render(at, lights, haptics)
	}
}
