package safety

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/sensors/vitals/eda"
	"github.com/sleegation/podd/sensors/vitals/eeg"
	"github.com/sleegation/podd/sensors/vitals/temp"
)

// stress and eeg_arousal are compared with the baseline: they have no
// condition outside a merge or before SetBaseline (package doc). A
// sleeper already past their limits when the merge starts (a merge
// restarted after a stop, a baseline set anew) has the condition from
// SetBaseline on. SetBaseline clears raisedFrom, but the first heart rate
// reading after it sets raisedFrom to the time that reading describes,
// its age (2.5 s here) before its feed, so before SetBaseline; with the
// skin's response and the EEG's ratio older still, the onset is dated
// there, into time the rule had no condition, and the alarm delay runs
// that much short of the delay from its arming. Began must not lie
// before SetBaseline.
func TestDatedOnsetsNotBeforeTheRuleIsArmed(t *testing.T) {
	for _, tt := range []struct {
		name  string
		rule  string
		limit float64
		delay time.Duration
		feed  func(w *Watchdog, now time.Time)
	}{
		{
			name: "eeg_arousal", rule: RuleEEGArousal, limit: 3, delay: 30 * time.Second,
			feed: func(w *Watchdog, now time.Time) {
				w.FeedEEG(now, eeg.Channel{BetaAlpha: 0.6, RecentBetaAlpha: 2.5, RecentValid: true, RecentAge: 5 * time.Second, Valid: true})
				w.FeedSkinConductance(eda.Reading{At: now, TonicMicrosiemens: 2, SCRPerMinute: 1, Valid: true})
			},
		},
		{
			name: "stress", rule: RuleStress, limit: 12, delay: 2 * time.Minute,
			feed: func(w *Watchdog, now time.Time) {
				w.FeedEEG(now, eeg.Channel{BetaAlpha: 0.5, RecentBetaAlpha: 0.5, RecentValid: true, Valid: true})
				w.FeedSkinConductance(eda.Reading{At: now, TonicMicrosiemens: 2, SCRPerMinute: 12, SCROnsetAge: 5 * time.Second, Valid: true})
			},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t, DefaultLimits())
				feed := func(d time.Duration) {
					for end := time.Now().Add(d); time.Now().Before(end); {
						now := time.Now()
						h.w.Feed(dated(71, 97, 2500*time.Millisecond))
						h.w.FeedBodyTemp(temp.Reading{At: now, Celsius: 36, Valid: true})
						tt.feed(h.w, now)
						time.Sleep(500 * time.Millisecond)
					}
					synctest.Wait()
				}
				feed(10 * time.Second)
				armed := time.Now()
				h.w.SetMerge(true)
				h.w.SetBaseline(mergeBaseline)
				feed(tt.delay + 5*time.Second)
				a := wantAbort(t, h, tt.rule, tt.limit, nil)
				if a.Began.Before(armed) {
					t.Errorf("%s began %v before SetBaseline armed it (tripped %v after arming, want no sooner than its %v delay)",
						tt.rule, armed.Sub(a.Began), a.At.Sub(armed), tt.delay)
				}
			})
		})
	}
}
