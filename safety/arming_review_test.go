package safety

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/sensors/vitals"
)

// A sleeper whose sensor sees skin but no pulse (no valid vitals: the one
// case only vitals_stale can catch) must trip vitals_stale outside a merge
// too (safety/doc.go, "Arming": idle + sensor sees someone = every rule).
// A contact judgement that flickers to "none" for one reading every 4 s (a
// finger half off the sensor, a noisy DC near MinDC) disarms the rule for
// that reading, and arming it anew grants StaleAfter again: the rule never
// trips, however long the sleeper has had no valid vitals.
func TestAFlickeringContactKeepsVitalsStaleFromEverTripping(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, DefaultLimits())
		h.feedFor(occupied(60, 97), 30*time.Second)
		lastValid := time.Now()
		skinNoPulse := func() vitals.Reading { return vitals.Reading{At: time.Now(), Contact: vitals.ContactSkin} }
		for time.Since(lastValid) < 10*time.Minute && len(h.Aborts()) == 0 {
			h.feedFor(skinNoPulse(), 4*time.Second) // 8 readings: skin, no valid vitals
			h.w.Feed(empty())                       // one reading: "none"
			time.Sleep(200 * time.Millisecond)      // the sensor loop's next poll
		}
		if got := h.Aborts(); len(got) != 1 || got[0].Rule != RuleVitalsStale {
			t.Fatalf("aborts %+v after %v of skin without valid vitals (contact flickering to none every 4 s), want one vitals_stale", got, time.Since(lastValid).Round(time.Second))
		}
	})
}
