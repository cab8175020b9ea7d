package safety

import (
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/sensors/vitals/eda"
	"github.com/sleegation/podd/sensors/vitals/eeg"
	"github.com/sleegation/podd/sensors/vitals/temp"
)

// stability_low's floor is meant to count readings past the limit, not
// evaluations judging one reading again through a silence of its sensor.
// stabilityAtLocked starts the index's "fed" at the heart rate reading's
// feed whether or not the heart counts in it, so with the heart at the
// baseline, the skin's tonic level a little above its baseline's (it
// counts, the index is 0.9), and one skin reading whose tonic (three
// times the baseline's) takes the index below 0.3, the pulse oximeter's
// readings meet the floor while the skin sensor is silent. With
// StaleAfter at its largest (10 s) the rule trips 10 s after the tonic's
// dated time (eda.TonicDelay, 4.5 s, before its feed), 5.5 s after the
// one reading, where an undated rule never trips (the reading goes stale
// before its delay has run from the sight, and the index recovers).
func TestStabilityFloorNotMetByTheHeartAlone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := DefaultLimits()
		l.StaleAfter = 10 * time.Second
		h := newHarness(t, l)
		// The oximeter's reading last: its Feed wakes the watchdog to
		// evaluate, which must see the other readings of the instant.
		rest := func(now time.Time) {
			h.w.FeedBodyTemp(temp.Reading{At: now, Celsius: 36, Valid: true})
			h.w.FeedEEG(now, eeg.Channel{BetaAlpha: 0.5, RecentBetaAlpha: 0.5, RecentValid: true, Valid: true})
			r := reading(60, 97)
			r.At = now
			h.w.Feed(r)
		}
		for range 10 {
			now := time.Now()
			h.w.FeedSkinConductance(eda.Reading{At: now, TonicMicrosiemens: 2, SCRPerMinute: 1, Valid: true})
			rest(now)
			time.Sleep(500 * time.Millisecond)
		}
		synctest.Wait()
		h.w.SetMerge(true)
		h.w.SetBaseline(mergeBaseline)
		for range 10 { // the skin a little above its baseline: it counts, the index is 0.9
			now := time.Now()
			h.w.FeedSkinConductance(eda.Reading{At: now, TonicMicrosiemens: 2.5, SCRPerMinute: 1, Valid: true})
			rest(now)
			time.Sleep(500 * time.Millisecond)
		}
		synctest.Wait()
		seen := time.Now()
		h.w.FeedSkinConductance(eda.Reading{At: seen, TonicMicrosiemens: 6, SCRPerMinute: 1, Valid: true})
		rest(seen)
		synctest.Wait()
		if s := h.w.Status(); s.Stability == nil || *s.Stability >= 0.3 {
			t.Fatalf("stability %s after a tonic of three times the baseline's, want below 0.3", fmtStability(s.Stability))
		}
		// The skin sensor says nothing more; the heart goes on.
		for time.Since(seen) < 12*time.Second {
			time.Sleep(500 * time.Millisecond)
			rest(time.Now())
		}
		synctest.Wait()
		if got := h.Aborts(); len(got) != 0 {
			t.Fatalf("one skin reading past the limit, then none: %s tripped %v after its only sight, before its 10 s delay had run from it",
				got[0].Rule, got[0].At.Sub(seen))
		}
	})
}

// fmtStability is a stability index or "none".
func fmtStability(s *float64) string {
	if s == nil {
		return "none"
	}
	return strconv.FormatFloat(*s, 'f', 3, 64)
}
