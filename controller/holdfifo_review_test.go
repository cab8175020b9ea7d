package controller

import (
	"fmt"
	"testing"
	"testing/synctest"
	"time"
)

// holdFIFO's doc: within it "a refused read loses nothing; the next good
// read returns what the chip kept and the estimator bridges what it
// dropped ..., so a bus that NACKs for a moment ... does not restart the
// estimator". holdFIFO counts the overflow counter's whole range
// (32 + MaxLost samples, 2.52 s at 25 Hz), but a count of MaxLost is a
// saturated counter, unknown, which resets the estimator: a 2.51 s NACK,
// inside holdFIFO, restarts it, and the 4 s it then needs after the NACK
// make a vitals_stale abort of a calm merged sleeper. (Any NACK of 2.5 s
// or more does so here: the chip has dropped its 31st sample.) The hold
// counts from the last good read, which drained the FIFO: a NACK that
// starts up to a poll (200 ms) after it and ends within holdFIFO of it
// must cost no abort.
func TestANACKWithinHoldFIFOIsNoFalseAlarm(t *testing.T) {
	d := holdFIFO(25) - 200*time.Millisecond - 10*time.Millisecond
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		r := mergedRig(t, start, calm+fmt.Sprintf("timeline:\n  - {at: 90s, fault: {device: max30102, kind: nack, for: %s}}\n", d))
		defer r.stop()
		until(start, 150*time.Second)
		if a := r.up.Events("abort"); len(a) != 0 {
			t.Fatalf("a %v NACK (holdFIFO %v) aborted: %+v", d, holdFIFO(25), a)
		}
	})
}
