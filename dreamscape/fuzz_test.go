package dreamscape

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sleegation/podd/actuators/light"
)

// FuzzParse checks that Parse never panics; that an error comes without a
// program and names the source on every line; and that a program it
// returns validates, binds to its own zones and places plus one more, and
// renders within 0..1 everywhere (the extra zone and place dark), with
// each light keyframe's colour times its level at its own time.
func FuzzParse(f *testing.F) {
	paths, err := filepath.Glob("../dreamscapes/*.yaml")
	if err != nil || len(paths) == 0 {
		f.Fatalf("no shipped programs to seed from: %v", err)
	}
	paths = append(paths, "testdata/strobe-10hz.yaml")
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(example))
	f.Add([]byte(`{"name": "j", "duration": "1s", "haptics": {"back": [{"at": "0s", "pattern": "pulse", "intensity": 1, "period": "1s"}]}}`))
	f.Add([]byte(head + "lights:\n  canopy:\n    - {at: 0s, color: \"#ffffff\", level: 1, ease: out}\n    - {at: 30m, color: \"#000000\", level: 0}\n"))
	f.Add([]byte(head + "loop: true\nhaptics:\n  back:\n    - {at: 0s, pattern: wave, intensity: 1, period: 1s, ease: in}\n    - {at: 1ns, pattern: steady, intensity: 1, ease: step}\n"))
	f.Add([]byte(head + "lights: {canopy: [{at: 1s, color: \"#fff\", level: 2}], \"\": []}\nhaptic: 1\n"))

	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("fuzz.yaml", data)
		if err != nil {
			if p != nil {
				t.Fatalf("a program with error %v", err)
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, "fuzz.yaml: ") {
					t.Fatalf("an error line without the source: %q", line)
				}
			}
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("Parse returned a program that does not validate: %v", err)
		}
		zones, places := append(p.Zones(), "pod only"), append(p.Places(), "pod only")
		b, err := p.Bind(zones, places)
		if err != nil {
			t.Fatalf("Bind to its own zones and places: %v", err)
		}
		lights, haptics := make([]light.RGB, len(zones)), make([]float64, len(places))
		check := func(at time.Duration) {
			b.Render(at, lights, haptics)
			for i, c := range lights {
				if !unit(c.R) || !unit(c.G) || !unit(c.B) {
					t.Fatalf("at %v zone %s: %+v outside 0..1", at, zones[i], c)
				}
			}
			for i, v := range haptics {
				if !unit(v) {
					t.Fatalf("at %v place %s: %v outside 0..1", at, places[i], v)
				}
			}
			if lights[len(lights)-1] != (light.RGB{}) || haptics[len(haptics)-1] != 0 {
				t.Fatalf("at %v the zone and place the program does not name are not dark", at)
			}
		}
		d := p.Duration
		for _, at := range []time.Duration{-1, 0, 1, d / 3, d / 2, d - 1, d, d + 1, 2*d + d/7, 1000 * d} {
			check(at)
		}
		for _, tr := range p.Haptics {
			for _, k := range tr.Keys {
				check(k.At - 1)
				check(k.At)
				check(k.At + k.Period/4)
			}
		}
		for z, tr := range p.Lights {
			for _, k := range tr.Keys {
				check(k.At - 1)
				check(k.At)
				if p.Loop && k.At == d {
					continue // shown as the first keyframe of the next loop
				}
				if want := k.Color.Scale(k.Level).Clamp(); lights[z] != want {
					t.Fatalf("%s at its keyframe %v: %+v, want %+v", tr.Zone, k.At, lights[z], want)
				}
			}
		}
	})
}
