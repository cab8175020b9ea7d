package flashcheck

import (
	"fmt"
	"time"

	"github.com/sleegation/podd/actuators/light"
)

// ZonesReport is the judgement of each zone's stream (Zones, in the order
// given) and of the whole pod's (Whole).
type ZonesReport struct {
	Zones []Report
	Whole Report
}

// ZoneViolation is a violation in one zone (Zone its index) or in the whole
// pod (Zone -1).
type ZoneViolation struct {
	Zone int
	Violation
}

// Violations lists every zone's violations, then the whole pod's.
func (r ZonesReport) Violations() []ZoneViolation {
	var vs []ZoneViolation
	for i, z := range r.Zones {
		for _, v := range z.Violations() {
			vs = append(vs, ZoneViolation{i, v})
		}
	}
	for _, v := range r.Whole.Violations() {
		vs = append(vs, ZoneViolation{-1, v})
	}
	return vs
}

// CheckZones judges each zone's stream and the whole pod's: at every time a
// zone has a sample, the weighted mean of every zone's colour held at that
// time (a zone that has not started yet counts as dark). weights are each
// zone's share of the pod's light (any positive finite numbers, normalised
// here; for instance LED counts), one per zone. An error (a bad stream,
// naming its zone; a weight missing or not positive and finite) gives no
// report.
func CheckZones(zones [][]Sample, weights []float64) (ZonesReport, error) {
	if len(zones) == 0 {
		return ZonesReport{}, fmt.Errorf("flashcheck: no zones")
	}
	if len(weights) != len(zones) {
		return ZonesReport{}, fmt.Errorf("flashcheck: %d weights for %d zones", len(weights), len(zones))
	}
	var total float64
	for i, w := range weights {
		if !(w > 0) || !isFinite(w) {
			return ZonesReport{}, fmt.Errorf("flashcheck: zone %d: weight %v, want a positive finite number", i, w)
		}
		total += w
	}
	r := ZonesReport{Zones: make([]Report, len(zones))}
	for i, z := range zones {
		rep, err := Check(z)
		if err != nil {
			return ZonesReport{}, fmt.Errorf("zone %d: %w", i, err)
		}
		r.Zones[i] = rep
	}
	whole, err := Check(mix(zones, weights, total))
	if err != nil {
		return ZonesReport{}, fmt.Errorf("whole pod: %w", err)
	}
	r.Whole = whole
	return r, nil
}

// mix merges the zones' streams into the whole pod's.
func mix(zones [][]Sample, weights []float64, total float64) []Sample {
	next := make([]int, len(zones)) // index of each zone's next sample
	held := make([]light.RGB, len(zones))
	var out []Sample
	for {
		t, any := time.Duration(0), false
		for i, z := range zones {
			if next[i] < len(z) && (!any || z[next[i]].T < t) {
				t, any = z[next[i]].T, true
			}
		}
		if !any {
			return out
		}
		var c light.RGB
		for i, z := range zones {
			if next[i] < len(z) && z[next[i]].T == t {
				held[i] = z[next[i]].C
				next[i]++
			}
			k := weights[i] / total
			c.R += k * held[i].R
			c.G += k * held[i].G
			c.B += k * held[i].B
		}
		out = append(out, Sample{T: t, C: c.Clamp()})
	}
}
