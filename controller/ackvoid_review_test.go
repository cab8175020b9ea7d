package controller

import (
	"context"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/uplink"
)

// commitThenDie is an uplink whose disk stops taking writes right after
// the ack's transaction (ClearLatch) commits: a card that fails, or power
// lost, a moment after it.
type commitThenDie struct {
	*fakeUplink
	d *disk
}

func (u commitThenDie) Event(e uplink.Event, at time.Time) (uint64, error) {
	n, err := u.fakeUplink.Event(e, at)
	if e.ClearLatch && err == nil {
		u.d.fail(syscall.EIO)
	}
	return n, err
}

// DEFECT: Pod.ack (recorder.go) commits the ack (latch deleted, ack event
// and audit entry stored) before it learns the caller gave up
// (fate.CompareAndSwap) or that wd.Ack refuses. The caller is told the ack
// failed and the watchdog stays latched, but the disk no longer holds the
// latch: it is only "written back by syncStore". A stuck disk makes this
// likely (the commit hangs past the caller's timeout, then completes); if
// the next write fails, or power is lost first, the pod restarts with no
// latch at all: an abort the technician was told is NOT acknowledged is
// gone, and the audit log records it as acknowledged. Correct: once the
// transaction that deletes the latch has committed, the ack is decided
// (the caller's timeout must not void it: decide fate before the commit
// and report success late), or ClearLatch happens only after wd.Ack
// succeeded (Ack before the commit, undone if the commit fails, the outputs
// closed meanwhile as they are while latched).
func TestReviewAnAbandonedAckLeavesNoLatchOnDisk(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		d := &disk{}
		ms := &memStore{disk: d}
		up := &fakeUplink{disk: d, latch: ms}
		r := newRigWith(t, tachycardia, ms, rigOpts{up: up, uplink: commitThenDie{up, d}})
		until(start, 125*time.Second)
		if a := r.pod.Status().Safety.Latched; a == nil {
			t.Fatal("not latched")
		}
		stuck := make(chan struct{})
		ms.mu.Lock()
		ms.clearStuck = stuck // the card stalls in the ack's commit
		ms.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := r.pod.Ack(ctx, techAck) // the caller gives up after 5 s
		if err == nil {
			t.Fatal("Ack succeeded with the commit stalled")
		}
		close(stuck) // the commit completes late; the card then fails
		synctest.Wait()
		time.Sleep(10 * time.Second) // the recorder retries what it can
		synctest.Wait()
		stillLatched := r.pod.Status().Safety.Latched != nil
		r.stop() // the restart
		_, onDisk, _ := ms.Latch()
		if stillLatched && !onDisk {
			t.Fatalf("Ack answered %v and the pod stayed latched, but the stored latch is gone (ack events stored: %d): a restart now starts unlatched", err, len(up.Events("ack")))
		}
	})
}
