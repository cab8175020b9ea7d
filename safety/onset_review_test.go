package safety

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/sensors/vitals"
)

// invalidReading is a reading of the oximeter whose estimate is not ready
// (an estimate changing fast, motion): nothing valid, no age.
func invalidReading() vitals.Reading {
	return vitals.Reading{At: time.Now(), Contact: vitals.ContactSkin}
}

// DEFECT: the bound "never before the time the last reading within the
// limit described" moves backwards when the values' age jumps up between
// two readings within the limit (noteWithinLocked assigns w.within[d] =
// within instead of keeping the later of the two). Here a reading at 125
// bpm (within heart_rate_high's 130) describes T-1.5 s; the next, also 125
// bpm, describes T-2.4 s (the age went from 1.5 to 2.5 s: the newest beat
// of the span dropped); the first reading past the limit describes
// T-2.3 s. Its onset is dated T-2.3 s, reaching 0.8 s back over the first
// reading, which said the sleeper was within the limit at T-1.5 s: the
// delay is cut short by 0.8 s (an early abort, Began before a time the
// sleeper is known to have been within the limit). Correct: the bound is
// the latest time any reading within the limit described since the
// condition last ran (w.within[d] = later(w.within[d], within)), so the
// onset is T-1.5 s.
func TestReviewADatedOnsetNeverReachesBackOverAnEarlierReadingWithinTheLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, DefaultLimits())
		time.Sleep(50 * time.Millisecond)
		h.feedEvery(func() vitals.Reading { return dated(100, 97, 1500*time.Millisecond) }, 2*time.Second)
		T := time.Now()
		h.w.Feed(dated(125, 97, 1500*time.Millisecond)) // within: describes T-1.5 s
		time.Sleep(100 * time.Millisecond)
		h.w.Feed(dated(125, 97, 2500*time.Millisecond)) // within: describes T-2.4 s
		time.Sleep(100 * time.Millisecond)
		h.feedEvery(func() vitals.Reading { return dated(131, 97, 2500*time.Millisecond) }, 10*time.Second)
		want := T.Add(-1500 * time.Millisecond)
		got := h.Aborts()
		if len(got) != 1 || got[0].Rule != RuleHeartRateHigh {
			t.Fatalf("aborts %+v, want heart_rate_high", got)
		}
		if got[0].Began.Before(want) {
			t.Errorf("heart_rate_high began %v after T, %v before the time a reading within the limit described (%v after T)",
				got[0].Began.Sub(T), want.Sub(got[0].Began), want.Sub(T))
		}
	})
}

// DEFECT: MinConditionSeen counts time since the evaluation that first
// saw the condition, not time the condition was seen. The package doc
// ("Dated onsets", "The floor") and docs/safety.md claim that with the
// floor "a transient must keep the 3.5 s mean past the limit for F" and
// that "a condition seen for less than 1 s never" trips. But one reading
// past spo2_critical's limit with values 2.5 s old, followed by readings
// that do not show it (invalid ones: the estimate lost to motion, the
// classic cause of a false desaturation; or readings back within the
// limit, in the deadband), trips spo2_critical 1 s later: the value was
// reported past the limit once (one poll, 0.1 s here). A spurious
// reading during motion aborts the session. Correct: the floor is met
// only by a condition seen past the limit at an evaluation at least F
// after the first sight (e.g. keep, per rule, the last evaluation whose
// valid value was past the limit and require it to be F after seen), so
// a single reading never trips a dated rule; neither subtest should
// abort within 1.5 s of the lone reading.
func TestReviewOneReadingPastTheLimitDoesNotMeetTheFloor(t *testing.T) {
	for _, c := range []struct {
		name  string
		after func() vitals.Reading
	}{
		{"then invalid readings", invalidReading},
		{"then readings within the limit, in the deadband", func() vitals.Reading { return dated(60, 86, 1500*time.Millisecond) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t, DefaultLimits())
				time.Sleep(50 * time.Millisecond)
				h.feedEvery(func() vitals.Reading { return dated(60, 97, 1500*time.Millisecond) }, 2*time.Second)
				T := time.Now()
				h.w.Feed(dated(60, 84.9, 2500*time.Millisecond)) // one reading past 85 %
				time.Sleep(100 * time.Millisecond)
				h.feedEvery(c.after, 1500*time.Millisecond)
				if got := h.Aborts(); len(got) != 0 {
					t.Fatalf("one reading past the limit tripped %s %v after it (%s): %+v",
						got[0].Rule, got[0].At.Sub(T), got[0].Detail, got)
				}
			})
		})
	}
}
