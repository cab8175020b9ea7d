// Package outputcheck judges a simulated pod's output record (package sim,
// sim.record_outputs) against the flash rules, zone by zone and for the
// whole pod (package flashcheck), with the zones of the pod's
// configuration: what the sleeper saw, checked outside the daemon that
// showed it.
//
// A strip zone's light is the mean of its LEDs (each channel colour/255 ×
// brightness/31 of its full output); a PWM zone's is its channels' duty
// cycles (red, green, blue; a one-channel zone white at its duty, as the
// pod encodes a one-colour light by its luminance). The whole pod weighs a
// strip zone by its LEDs and a PWM zone as the largest strip zone, as
// zones.Outputs.Weights does.
package outputcheck

import (
	"fmt"
	"time"

	"github.com/sleegation/podd/actuators/flashcheck"
	"github.com/sleegation/podd/actuators/light"
	"github.com/sleegation/podd/sim"
)

// Device names in a record made by podd in sim mode.
const (
	StripDevice = "strip"
	PWMDevice   = "pca9685"
)

// Zone is one light zone: LEDs First..First+Count-1 of the strip, or the
// PWM channels PWM (one, or red, green, blue), as the configuration's
// lights.zones gives them.
type Zone struct {
	Name         string
	First, Count int
	PWM          []int
}

// Streams are the light zones' streams made from a record.
type Streams struct {
	Names   []string
	Zones   [][]flashcheck.Sample
	Weights []float64
	// Start is the time of the record's first frame; samples count from it.
	Start time.Time
}

// FromRecord makes each zone's stream from frames. A zone
// whose device never showed anything is dark from the start. A strip frame
// of another length than the zones need is an error naming its time.
func FromRecord(zones []Zone, frames []sim.OutputFrame) (Streams, error) {
	s := Streams{}
	if len(frames) > 0 {
		s.Start = frames[0].T
	}
	largest := 1
	for _, z := range zones {
		if z.PWM == nil {
			largest = max(largest, z.Count)
		}
	}
	for _, z := range zones {
		s.Names = append(s.Names, z.Name)
		w := float64(largest)
		if z.PWM == nil {
			w = float64(z.Count)
		}
		s.Weights = append(s.Weights, w)
		var samples []flashcheck.Sample
		for _, f := range frames {
			var c light.RGB
			switch {
			case z.PWM == nil && f.Device == StripDevice:
				if z.First < 0 || z.Count < 1 || z.First > len(f.LEDs) || z.Count > len(f.LEDs)-z.First {
					return Streams{}, fmt.Errorf("outputcheck: strip frame at %s has %d LEDs; zone %q needs %d", f.T.Format(time.RFC3339Nano), len(f.LEDs), z.Name, z.First+z.Count)
				}
				for _, led := range f.LEDs[z.First : z.First+z.Count] {
					k := float64(led[3]) / 31 / 255 / float64(z.Count)
					c.R += float64(led[0]) * k
					c.G += float64(led[1]) * k
					c.B += float64(led[2]) * k
				}
			case z.PWM != nil && f.Device == PWMDevice:
				d := func(ch int) float64 {
					if ch < len(f.Duty) {
						return f.Duty[ch]
					}
					return 0
				}
				if len(z.PWM) == 3 {
					c = light.RGB{R: d(z.PWM[0]), G: d(z.PWM[1]), B: d(z.PWM[2])}
				} else {
					v := d(z.PWM[0])
					c = light.RGB{R: v, G: v, B: v}
				}
			default:
				continue
			}
			t := f.T.Sub(s.Start)
			if n := len(samples); n > 0 && samples[n-1].T >= t {
				samples[n-1].C = c.Clamp() // the same instant: the later frame stands
				continue
			}
			samples = append(samples, flashcheck.Sample{T: t, C: c.Clamp()})
		}
		if len(samples) == 0 {
			samples = []flashcheck.Sample{{T: 0}}
		}
		s.Zones = append(s.Zones, samples)
	}
	return s, nil
}

// Check judges the record's light, zone by zone and for the whole pod.
func Check(zones []Zone, frames []sim.OutputFrame) (Streams, flashcheck.ZonesReport, error) {
	s, err := FromRecord(zones, frames)
	if err != nil {
		return Streams{}, flashcheck.ZonesReport{}, err
	}
	r, err := flashcheck.CheckZones(s.Zones, s.Weights)
	return s, r, err
}
