package safety

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/sensors/vitals/eda"
	"github.com/sleegation/podd/sensors/vitals/eeg"
	"github.com/sleegation/podd/sensors/vitals/temp"
)

// The floor (MinConditionSeen) lets a dated rule trip at its dated onset
// plus its delay only if a reading past the limit was fed at least 1 s
// after the first sight: one reading past the limit followed by invalid
// readings never trips early, it trips as an undated rule would, the
// delay run from the first sight. stress and eeg_arousal count as "fed"
// the later of their own sensor's feed and the heart rate reading's
// (later(w.skinFed, w.lastFeed), later(w.eegFed, w.lastFeed)), so the
// pulse oximeter's readings, fed every 500 ms, meet the floor for a
// single skin or EEG reading judged again until its sensor's next reading
// comes (invalid): the rule trips its reading's age (5 s) before the
// delay has run from the only sight of the condition.
func TestSkinAndEEGFloorNotMetByTheHeartsReadings(t *testing.T) {
	for _, tt := range []struct {
		name  string
		rule  string
		limit float64
		delay time.Duration
		past  func(w *Watchdog, now time.Time)
		bad   func(w *Watchdog, now time.Time)
		calm  func(w *Watchdog, now time.Time)
	}{
		{
			name: "eeg_arousal", rule: RuleEEGArousal, limit: 3, delay: 30 * time.Second,
			calm: func(w *Watchdog, now time.Time) {
				w.FeedEEG(now, eeg.Channel{BetaAlpha: 0.5, RecentBetaAlpha: 0.5, RecentValid: true, RecentAge: 5 * time.Second, Valid: true})
				w.FeedSkinConductance(eda.Reading{At: now, TonicMicrosiemens: 2, SCRPerMinute: 1, Valid: true})
			},
			past: func(w *Watchdog, now time.Time) {
				w.FeedEEG(now, eeg.Channel{BetaAlpha: 0.6, RecentBetaAlpha: 2.5, RecentValid: true, RecentAge: 5 * time.Second, Valid: true})
			},
			bad: func(w *Watchdog, now time.Time) {
				w.FeedEEG(now, eeg.Channel{Reason: eeg.ReasonArtefact})
				w.FeedSkinConductance(eda.Reading{At: now, TonicMicrosiemens: 2, SCRPerMinute: 1, Valid: true})
			},
		},
		{
			name: "stress", rule: RuleStress, limit: 12, delay: 2 * time.Minute,
			calm: func(w *Watchdog, now time.Time) {
				w.FeedEEG(now, eeg.Channel{BetaAlpha: 0.5, RecentBetaAlpha: 0.5, RecentValid: true, Valid: true})
				w.FeedSkinConductance(eda.Reading{At: now, TonicMicrosiemens: 2, SCRPerMinute: 11, SCROnsetAge: 5 * time.Second, Valid: true})
			},
			past: func(w *Watchdog, now time.Time) {
				w.FeedSkinConductance(eda.Reading{At: now, TonicMicrosiemens: 2, SCRPerMinute: 12, SCROnsetAge: 5 * time.Second, Valid: true})
			},
			bad: func(w *Watchdog, now time.Time) {
				w.FeedEEG(now, eeg.Channel{BetaAlpha: 0.5, RecentBetaAlpha: 0.5, RecentValid: true, Valid: true})
				w.FeedSkinConductance(eda.Reading{At: now, Reason: eda.ReasonJump})
			},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newMergeHarness(t, DefaultLimits())
				heart := func(now time.Time) { // raised: the concurrent sign
					r := reading(71, 97)
					r.At = now
					h.w.Feed(r)
					h.w.FeedBodyTemp(temp.Reading{At: now, Celsius: 36, Valid: true})
				}
				for range 10 {
					now := time.Now()
					heart(now)
					tt.calm(h.w, now)
					time.Sleep(500 * time.Millisecond)
				}
				synctest.Wait()
				// One reading past the limit, the first sight.
				seen := time.Now()
				heart(seen)
				tt.past(h.w, seen)
				time.Sleep(500 * time.Millisecond)
				// The sensor's next reading comes 2 s later, invalid, and so
				// do all after it; the heart goes on every 500 ms.
				for range 3 {
					heart(time.Now())
					time.Sleep(500 * time.Millisecond)
				}
				for time.Since(seen) < tt.delay-500*time.Millisecond {
					now := time.Now()
					heart(now)
					tt.bad(h.w, now)
					time.Sleep(500 * time.Millisecond)
				}
				synctest.Wait()
				if got := h.Aborts(); len(got) != 0 {
					t.Fatalf("one %s reading past the limit, then invalid ones: %s tripped %v after its only sight, before its %v delay had run from it",
						tt.name, got[0].Rule, got[0].At.Sub(seen), tt.delay)
				}
			})
		})
	}
}
