package safety

import (
	"testing"
	"testing/synctest"
	"time"
)

// ackBlockersLocked lets an Ack through when the vitals are not valid
// because the latest reading says ContactNone outside a merge ("an empty
// pod has no vitals to contradict the acknowledgement"). It judges the
// pod empty on that one reading: a sleeper at 150 bpm whose finger slips
// off the sensor for one poll (a contact that flickers, as
// arming_review_test.go shows it does near MinDC), or whose clip falls off
// as they move in distress, has the latch cleared by any ack at that
// moment, the acknowledgement button's included (a sleeper rolling onto
// it with the clip off): the audit records an acknowledgement "once the
// vitals are back in range" of a sleeper whose last valid reading, 500 ms
// before, was the tachycardia that latched. Correct: vacancy stands in
// for safe vitals only when it is established (the sensor has seen no
// one for at least StaleAfter, with no valid reading out of range in that
// time), otherwise the ack is refused as with invalid vitals.
func TestReviewOneEmptyReadingDoesNotAcknowledgeATachycardia(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, DefaultLimits())
		h.feedFor(occupied(60, 97), 5*time.Second)
		h.feedFor(occupied(150, 97), 11*time.Second)
		a := h.w.Status().Latched
		if a == nil {
			t.Fatal("not latched")
		}
		h.feedFor(occupied(150, 97), 3*time.Second) // still 150 bpm
		h.w.Feed(empty())                           // one poll: the finger off
		if err := h.w.Ack(*a); err == nil {
			t.Fatal("Ack succeeded 500 ms after a valid 150 bpm, on one reading of no contact; want refused")
		}
	})
}
