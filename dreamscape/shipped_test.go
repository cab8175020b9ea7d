package dreamscape

import (
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/sleegation/podd/actuators/light"
)

// The zones and places the shipped programs are written for.
var (
	podZones  = []string{"canopy", "sides", "floor"}
	podPlaces = []string{"back", "feet"}
)

func loadBound(t *testing.T, path string) *Bound {
	t.Helper()
	p, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.Bind(podZones, podPlaces)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// frames renders b at 50 frames/s over d from 0 and calls f with each.
func frames(b *Bound, d time.Duration, f func(at time.Duration, lights []light.RGB, haptics []float64)) {
	lights, haptics := make([]light.RGB, len(b.Zones())), make([]float64, len(b.Places()))
	for at := time.Duration(0); at <= d; at += 20 * time.Millisecond {
		b.Render(at, lights, haptics)
		f(at, lights, haptics)
	}
}

// Every shipped program parses, binds to the pod's zones and places, and
// changes slowly enough never to flash: within any second (50 frames) no
// zone's relative luminance moves by 0.1 or more, the least change that a
// general flash needs.
func TestShippedPrograms(t *testing.T) {
	paths, err := filepath.Glob("../dreamscapes/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, path := range paths {
		b := loadBound(t, path)
		names = append(names, b.Name())
		if want := filepath.Base(path); b.Name()+".yaml" != want {
			t.Errorf("%s: named %q", path, b.Name())
		}
		window := make([][]float64, len(podZones)) // per zone, the last 50 frames' luminance
		frames(b, b.Duration()+5*time.Second, func(at time.Duration, lights []light.RGB, _ []float64) {
			for z, c := range lights {
				w := append(window[z], c.Luminance())
				if len(w) > 50 {
					w = w[1:]
				}
				window[z] = w
				if lo, hi := slices.Min(w), slices.Max(w); hi-lo >= 0.1 {
					t.Fatalf("%s: %s changes by %.3f within the second before %v", path, podZones[z], hi-lo, at)
				}
			}
		})
	}
	slices.Sort(names)
	if want := []string{"calm-night", "slow-ocean", "sunrise"}; !slices.Equal(names, want) {
		t.Errorf("shipped %v, want %v", names, want)
	}
}

func TestCalmNightIsWarmVeryDimAndLoops(t *testing.T) {
	b := loadBound(t, "../dreamscapes/calm-night.yaml")
	if !b.Loop() || b.Duration() != 30*time.Minute {
		t.Errorf("loop %v, duration %v", b.Loop(), b.Duration())
	}
	frames(b, b.Duration(), func(at time.Duration, lights []light.RGB, haptics []float64) {
		for z, c := range lights {
			if c.Luminance() > 0.02 || !(c.R > c.G && c.G > c.B) {
				t.Fatalf("at %v %s: %+v (luminance %.4f): not warm and very dim", at, podZones[z], c, c.Luminance())
			}
		}
		for p, v := range haptics {
			if v > 0.15+1e-12 {
				t.Fatalf("at %v %s: drive %v", at, podPlaces[p], v)
			}
		}
	})
}

func TestSunriseRisesFromDarkRedThroughAmberToWarmWhite(t *testing.T) {
	b := loadBound(t, "../dreamscapes/sunrise.yaml")
	if b.Loop() || b.Duration() < 20*time.Minute || b.Duration() > 30*time.Minute {
		t.Errorf("loop %v, duration %v", b.Loop(), b.Duration())
	}
	prev := make([]float64, len(podZones))
	frames(b, b.Duration(), func(at time.Duration, lights []light.RGB, _ []float64) {
		for z, c := range lights {
			if l := c.Luminance(); l < prev[z] {
				t.Fatalf("at %v %s: luminance falls from %v to %v", at, podZones[z], prev[z], l)
			}
			prev[z] = c.Luminance()
		}
	})
	lights, haptics := make([]light.RGB, 3), make([]float64, 2)
	b.Render(0, lights, haptics)
	for z, c := range lights {
		if c.RedRatio() < light.SaturatedRed || c.Luminance() > 0.002 {
			t.Errorf("start %s: %+v is not dark red", podZones[z], c)
		}
	}
	b.Render(16*time.Minute, lights, haptics)
	if c := lights[0]; !(c.R > c.G && c.G > 3*c.B && c.G > 0.25*c.R) {
		t.Errorf("16 min canopy: %+v is not amber", c)
	}
	b.Render(time.Hour, lights, haptics) // held
	for z, c := range lights {
		if !(c.R >= c.G && c.G >= c.B && c.B > 0.3*c.R) {
			t.Errorf("end %s: %+v is not warm white", podZones[z], c)
		}
	}
	if c := lights[0]; c.Luminance() < 0.3 {
		t.Errorf("end canopy: luminance %v", c.Luminance())
	}
	if haptics[0] != 0 || haptics[1] != 0 {
		t.Errorf("the held end drives the motors: %v", haptics)
	}
}

func TestSlowOceanIsBlueGreenWithAGentleWave(t *testing.T) {
	b := loadBound(t, "../dreamscapes/slow-ocean.yaml")
	if !b.Loop() {
		t.Error("does not loop")
	}
	p := b.Program()
	for _, tr := range p.Haptics {
		for _, k := range tr.Keys {
			if k.Pattern != Wave || k.Intensity > 0.25 || k.Period < 8*time.Second {
				t.Errorf("%s: %+v is not a gentle wave", tr.Place, k)
			}
		}
	}
	var peak float64
	frames(b, b.Duration(), func(at time.Duration, lights []light.RGB, haptics []float64) {
		for z, c := range lights {
			if !(c.G > 3*c.R && c.B > 3*c.R) {
				t.Fatalf("at %v %s: %+v is not blue-green", at, podZones[z], c)
			}
		}
		peak = max(peak, haptics[0])
	})
	if peak < 0.19 || peak > 0.2 {
		t.Errorf("back's peak drive %v, want 0.2", peak)
	}
}

// The strobe program flashes the canopy at 10 Hz: rendered at 1 kHz over
// a second of its loop, the canopy goes from white to dark ten times, each
// 50 ms after going white; the other zones stay dark.
func TestStrobeProgramFlashesAt10Hz(t *testing.T) {
	b := loadBound(t, "testdata/strobe-10hz.yaml")
	lights, haptics := make([]light.RGB, 3), make([]float64, 2)
	var offs []time.Duration
	on := false
	for at := 3 * time.Second; at < 4*time.Second; at += time.Millisecond {
		b.Render(at, lights, haptics)
		switch c := lights[0]; c {
		case light.RGB{R: 1, G: 1, B: 1}:
			on = true
		case light.RGB{}:
			if on {
				offs = append(offs, at-3*time.Second)
			}
			on = false
		default:
			t.Fatalf("at %v: canopy %+v, neither white nor dark", at, c)
		}
		if lights[1] != (light.RGB{}) || lights[2] != (light.RGB{}) {
			t.Fatalf("at %v: %+v", at, lights)
		}
	}
	want := make([]time.Duration, 10)
	for i := range want {
		want[i] = time.Duration(i)*100*time.Millisecond + 50*time.Millisecond
	}
	if !slices.Equal(offs, want) {
		t.Errorf("the canopy went dark at %v, want %v", offs, want)
	}
}
