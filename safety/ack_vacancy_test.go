package safety

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/sensors/vitals"
)

// A valid reading with an alarm condition in the last StaleAfter refuses
// an Ack on a pod that otherwise reads empty for StaleAfter: the pod is
// established empty only once StaleAfter has passed since that reading.
func TestAnAlarmingReadingInTheWindowRefusesAnEmptyAck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, DefaultLimits())
		h.feedFor(occupied(60, 97), 5*time.Second)
		h.feedFor(occupied(150, 97), 11*time.Second)
		a := h.w.Status().Latched
		if a == nil {
			t.Fatal("not latched")
		}
		h.feedFor(empty(), 3*time.Second)
		alarming := reading(150, 97)
		alarming.Contact = vitals.ContactNone
		h.w.Feed(alarming)
		h.feedFor(empty(), 4500*time.Millisecond) // 7.5 s without contact, 4.5 s after 150 bpm
		if err := h.w.Ack(*a); err == nil {
			t.Fatal("Ack 4.5 s after a valid 150 bpm: want refused")
		}
		h.feedFor(empty(), 500*time.Millisecond)
		if err := h.w.Ack(*a); err != nil {
			t.Fatalf("Ack StaleAfter after the last alarming reading, empty since: %v", err)
		}
	})
}
