package safety

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/sensors/vitals"
)

// DEFECT: the floor (MinConditionSeen) is met by evaluations, not by
// readings. pastAt is set at every evaluation whose latest reading is past
// the limit, and evaluateLocked re-judges the same reading at each tick
// while no new one is fed. So one reading past spo2_critical's limit
// (values 2.5 s old), followed by a silence of the oximeter's loop shorter
// than pipeline_stall_after (a bus that hangs for a second, a read retried),
// meets the floor 1 s later on that one reading alone and trips
// spo2_critical: "a desaturation" latched on a single estimate, against
// the package doc ("one reading past the limit ... does not meet it", "a
// condition seen for less than the floor never trips"). Correct: the floor
// counts only readings fed at least MinConditionSeen after the one first
// seen past the limit (pastAt taken from the feed time of the reading
// judged, w.lastFeed, not from the evaluation); here nothing trips, the
// readings after the silence being back within the limit.
func TestReviewOneReadingReJudgedThroughASilenceDoesNotMeetTheFloor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := DefaultLimits()
		l.PipelineStallAfter = 2 * time.Second // within its bounds (0.5..2 s)
		h := newHarness(t, l)
		time.Sleep(50 * time.Millisecond)
		h.feedEvery(func() vitals.Reading { return dated(60, 97, 1500*time.Millisecond) }, 2*time.Second)
		T := time.Now()
		h.w.Feed(dated(60, 84.9, 2500*time.Millisecond)) // one reading past 85 %
		time.Sleep(1500 * time.Millisecond)              // the loop silent, less than pipeline_stall_after
		h.feedEvery(func() vitals.Reading { return dated(60, 97, 1500*time.Millisecond) }, 2*time.Second)
		if got := h.Aborts(); len(got) != 0 {
			t.Fatalf("one reading past the limit, then a %v silence, tripped %s %v after it (%s)",
				1500*time.Millisecond, got[0].Rule, got[0].At.Sub(T), got[0].Detail)
		}
	})
}
