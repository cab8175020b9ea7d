package controller

import (
	"fmt"
	"testing"
	"testing/synctest"
	"time"
)

// A bus that refuses the oximeter's reads for a moment (a NACK, as
// electrical noise can cause) costs the sleeper no false alarm: the chip
// keeps sampling into its FIFO meanwhile, so the samples are read once the
// bus answers again and the vitals stay valid, or a small overflow is
// bridged; no vitals_stale abort follows, in a merge or out of one.
func TestABriefNACKIsNoFalseAlarm(t *testing.T) {
	for _, d := range []time.Duration{300 * time.Millisecond, time.Second, 1500 * time.Millisecond, 2 * time.Second} {
		t.Run(d.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				r := mergedRig(t, start, calm+fmt.Sprintf("timeline:\n  - {at: 90s, fault: {device: max30102, kind: nack, for: %s}}\n", d))
				defer r.stop()
				until(start, 89*time.Second)
				var longest, streak time.Duration
				for time.Since(start) < 100*time.Second {
					time.Sleep(100 * time.Millisecond)
					if r.pod.Status().Vitals.HeartRateBPM == nil {
						streak += 100 * time.Millisecond
						longest = max(longest, streak)
					} else {
						streak = 0
					}
				}
				if longest > d+1500*time.Millisecond {
					t.Errorf("a %v NACK left the vitals unknown for %v, want at most %v", d, longest, d+1500*time.Millisecond)
				}
				until(start, 150*time.Second)
				if a := r.up.Events("abort"); len(a) != 0 {
					t.Fatalf("a %v NACK aborted: %+v", d, a)
				}
				if st := r.pod.Status(); st.State != StateMerged {
					t.Fatalf("state %s after a %v NACK, want merged", st.State, d)
				}
			})
		})
	}
}
