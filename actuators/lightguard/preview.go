package lightguard

import (
	"fmt"
	"time"

	"github.com/sleegation/podd/actuators/light"
)

// Frame is one rendered frame of a program: its time from the program's
// start and one linear-light colour per zone.
type Frame struct {
	T     time.Duration
	Zones []light.RGB
}

// Hit is a frame time and zone the guard would limit, with the colour asked
// for and the one that would be shown.
type Hit struct {
	T                time.Duration
	Zone             int
	Requested, Shown light.RGB
}

// Preview runs a rendered program through a guard with opts, starting from
// the program's own first frame (how the player enters a program is the
// player's transition, not the program's), and returns every frame time and
// zone the guard would limit, in order; none for a program that plays
// unchanged. The frames must have the same number of zones (1..MaxZones),
// strictly increasing times and every channel within 0..1; otherwise the
// error names the first bad frame. The frames are not changed.
func Preview(opts Opts, frames []Frame) ([]Hit, error) {
	if len(frames) == 0 {
		return nil, nil
	}
	zones := len(frames[0].Zones)
	g, err := New(zones, opts)
	if err != nil {
		return nil, err
	}
	for i, f := range frames {
		if len(f.Zones) != zones {
			return nil, fmt.Errorf("lightguard: frame %d at %v: %d zones, the first frame has %d", i, f.T, len(f.Zones), zones)
		}
		if i > 0 && f.T <= frames[i-1].T {
			return nil, fmt.Errorf("lightguard: frame %d at %v: not after frame %d at %v", i, f.T, i-1, frames[i-1].T)
		}
		for z, c := range f.Zones {
			if !(c.R >= 0 && c.R <= 1 && c.G >= 0 && c.G <= 1 && c.B >= 0 && c.B <= 1) {
				return nil, fmt.Errorf("lightguard: frame %d at %v, zone %d: colour %+v, want every channel in 0..1", i, f.T, z, c)
			}
		}
	}
	if err := g.Reset(frames[0].T, frames[0].Zones); err != nil {
		return nil, err
	}
	var hits []Hit
	buf := make([]light.RGB, zones)
	for _, f := range frames[1:] {
		copy(buf, f.Zones)
		limited, err := g.Limit(f.T, buf)
		if err != nil {
			return nil, err
		}
		if !limited {
			continue
		}
		for z := range buf {
			if buf[z] != f.Zones[z] {
				hits = append(hits, Hit{T: f.T, Zone: z, Requested: f.Zones[z], Shown: buf[z]})
			}
		}
	}
	return hits, nil
}
