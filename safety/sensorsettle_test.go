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
				if p := h.w.Status().Pending; tt.trips != (len(p) == 1 && p[0] == RuleSensorStale) {
					t.Errorf("pending %v after a healthy spell of %v: sensor_stale pending only while the episode has not settled", p, tt.spell)
				}
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

// A silent sensor trips stale_after after its last fresh data, not after
// its own StaleAfter plus stale_after (a thermometer judged stale 3 s
// after its last conversion tripped 13 s after it at stale_after 10 s),
// and the abort names the sensor in its Detail and has stale_after as its
// Limit.
func TestSensorStaleCountsASilentSensorFromItsLastFreshData(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := DefaultLimits()
		l.StaleAfter = 10 * time.Second
		h := newHarness(t, l)
		therm := newSensor("tmp117")
		h.w.WatchSensors(therm)
		h.feedFor(reading(60, 97), l.StartupGrace+time.Second)
		h.w.SetMerge(true)
		h.feedFor(reading(60, 97), 2*time.Second)
		last := time.Now() // the thermometer's last conversion
		therm.mu.Lock()
		therm.h.LastFresh = last
		therm.mu.Unlock()
		h.feedFor(reading(60, 97), 3*time.Second) // its loop's own StaleAfter
		therm.set(sensing.Stale)
		h.feedFor(reading(60, 97), 6500*time.Millisecond)
		if got := h.Aborts(); len(got) != 0 {
			t.Fatalf("aborts %+v within stale_after of the last conversion", got)
		}
		h.feedFor(reading(60, 97), time.Second)
		got := h.Aborts()
		if len(got) != 1 || got[0].Rule != RuleSensorStale {
			t.Fatalf("aborts %+v, want sensor_stale 10 s after the last conversion", got)
		}
		if d := got[0].At.Sub(last); d <= 10*time.Second || d > 10100*time.Millisecond {
			t.Errorf("tripped %v after the last conversion, want one period past 10 s", d)
		}
		if want := "tmp117 stale for 10.1 s (limit 10.0 s)"; got[0].Detail != want {
			t.Errorf("detail %q, want %q", got[0].Detail, want)
		}
		if got[0].Limit != 10 {
			t.Errorf("limit %g, want 10 (stale_after, s)", got[0].Limit)
		}
	})
}
