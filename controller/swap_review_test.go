package controller

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/sensors/vitals"
)

// The channels_swapped fault is "30 s of a ratio of ratios no sleeper who
// is well shows, with a regular pulse" (the commit that made it), and its
// message says "ratio of ratios ... for 30s with a regular pulse ... set
// hardware.oximeter_leds_swapped". Two single suspect readings an hour
// apart, with nothing measured between them (the finger off the sensor),
// are not 30 s of anything: one artefact each. The run's start is kept
// across the hour without a ratio, so the second one reports the fault,
// and a technician told to set oximeter_leds_swapped on a correctly wired
// board makes every ratio the inverse of the true one: a sleeper at 60 %
// then reads about 92 %.
func TestSwapCheckNeedsThirtySecondsOfSuspectRatios(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		r := newRig(t, calm, &memStore{})
		defer r.stop()
		until(start, 10*time.Second)
		c := swapCheck{pod: r.pod}
		suspect := vitals.Reading{At: time.Now(), HeartRateBPM: 60, HeartRateValid: true, Ratio: 1.6}
		c.observe(suspect)
		for i := range 3600 {
			c.observe(vitals.Reading{At: suspect.At.Add(time.Duration(i) * time.Second)}) // no finger: no ratio
		}
		suspect.At = suspect.At.Add(time.Hour)
		c.observe(suspect)
		until(start, 20*time.Second)
		for _, e := range r.up.Events("fault") {
			if e.Fields["fault"] == FaultChannelsSwapped {
				t.Fatalf("channels_swapped reported after two single suspect readings an hour apart: %+v", e.Fields)
			}
		}
	})
}
