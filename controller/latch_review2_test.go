package controller

import (
	"context"
	"syscall"
	"testing"
	"testing/synctest"
	"time"
)

// The latch says whether its abort event is stored, so that a restart
// before the event is stored reports it again. An acknowledgement clears
// the latch without looking at that: when the events cannot be stored
// (the seq file cannot be rewritten, a full outbox bound refusing) while
// the latch can, the ack is accepted, the latch cleared, and the abort
// event lives in memory only. A restart then (a power cut, systemd) loses
// it for good: the hub is never told this pod aborted.
func TestAnAckDoesNotLoseAnAbortEventNotYetStored(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		events := &disk{}
		store := &memStore{}
		r := newRigWith(t, tachycardia, store, rigOpts{up: &fakeUplink{disk: events}})
		until(start, 18*time.Second)
		events.fail(syscall.ENOSPC) // events refused; the latch is stored
		until(start, 125*time.Second)
		if st := r.pod.Status(); st.Safety.Latched == nil {
			t.Fatalf("no abort latched: %+v", st)
		}
		_, ackErr := r.pod.Ack(context.Background(), techAck)
		r.stop() // the pod restarts before the store takes events again
		events.fail(nil)

		again := newRigWith(t, tachycardia, store, rigOpts{up: &fakeUplink{}})
		defer again.stop()
		until(start, 130*time.Second)
		if got := again.up.Events("abort"); len(got) == 0 && len(r.up.Events("abort")) == 0 {
			t.Fatalf("ack = %v; no abort event was ever stored, in either run: the abort is lost to the hub", ackErr)
		}
	})
}
