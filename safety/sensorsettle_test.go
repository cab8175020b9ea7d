package safety

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/sensing"
)

// A sensor healthy again counts as recovered for sensor_stale only once it
// has stayed healthy for StaleAfter/SensorSettle (1 s by default): a
// healthy spell shorter than that continues the episode, which trips
// StaleAfter after it began; a spell of the settling time ends it, and the
// next episode counts from its own start.
func TestSensorStaleCountsAHealthySpellOnlyOnceItSettled(t *testing.T) {
	settle := DefaultLimits().StaleAfter / SensorSettle
	if settle != time.Second {
		t.Fatalf("settling time %v, want 1 s at the default stale_after", settle)
	}
	for _, tt := range []struct {
		name  string
		spell time.Duration
		trips bool
	}{
		// feedFor feeds every 500 ms: the spells are multiples of it.
		{"a spell shorter than the settling time", settle / 2, true},
		{"a spell longer than the settling time", 3 * settle / 2, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t, DefaultLimits())
				eeg := newSensor("ads1299")
				h.w.WatchSensors(eeg)
				pastGrace(h)
				h.w.SetMerge(true)
				start := time.Now()
				eeg.set(sensing.LeadOff)
				h.feedFor(reading(60, 97), 3*time.Second)
				eeg.set(sensing.OK)
				h.feedFor(reading(60, 97), tt.spell)
				eeg.set(sensing.LeadOff)
				h.feedFor(reading(60, 97), 4500*time.Millisecond) // the second episode alone stays within 5 s
				got := h.Aborts()
				if !tt.trips {
					if len(got) != 0 {
						t.Fatalf("aborts %+v: a sensor healthy for %v had recovered", got, tt.spell)
					}
					return
				}
				if len(got) != 1 || got[0].Rule != RuleSensorStale {
					t.Fatalf("aborts %+v, want sensor_stale: a healthy spell of %v does not end the episode", got, tt.spell)
				}
				if d := got[0].At.Sub(start); d <= 5*time.Second || d > 5100*time.Millisecond {
					t.Errorf("tripped %v after the episode began, want one period past 5 s", d)
				}
			})
		})
	}
}
