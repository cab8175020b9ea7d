package controller

import (
	"context"
	"errors"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/safety"
)

// clearThenDie is a store whose disk stops taking writes right after the
// latch's deletion commits: the power cut, the SD card that fails, the
// process killed, a moment after ClearLatch.
type clearThenDie struct {
	*memStore
	d *disk
}

func (s clearThenDie) ClearLatch() error {
	if err := s.memStore.ClearLatch(); err != nil {
		return err
	}
	s.d.fail(syscall.EIO)
	return nil
}

// Pod.ack clears the stored latch (Store.ClearLatch, one write), then
// answers the caller "acknowledged", then posts the ack event, whose
// audit entry is written later from the in-memory queue (p.post). The
// two writes are not one: when the store takes the first and not the
// second (power lost, the card failing, the daemon killed in between),
// the latch is gone from the disk, the caller was told it was recorded,
// and no ack event or audit entry exists anywhere durable; after the
// restart the pod starts unlatched and nothing says who cleared the
// sleeper's abort, or that anyone did (the issue: "clearing is an
// audited event with who and when"). Measured: Ack returns the abort
// cleared, the store holds no latch, and no ack event was ever stored.
// Correct: the latch's deletion and the ack's audit entry (and event)
// are one store transaction, and Ack answers only once it committed; if
// it fails the latch stays and the ack is refused.
func TestReviewAnAckIsNeverClearedWithoutItsAuditEntry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		d := &disk{}
		ms := &memStore{disk: d}
		up := &fakeUplink{disk: d}
		r := newRigWith(t, tachycardia, ms, rigOpts{up: up, store: clearThenDie{ms, d}})
		until(start, 125*time.Second)
		a := r.pod.Status().Safety.Latched
		if a == nil || a.Rule != safety.RuleHeartRateHigh {
			t.Fatalf("latched %+v, want heart_rate_high", a)
		}
		cleared, err := r.pod.Ack(context.Background(), techAck)
		synctest.Wait()
		time.Sleep(10 * time.Second) // the recorder retries what it can
		synctest.Wait()
		r.stop() // the restart: what was not stored is lost
		_, latched, _ := ms.Latch()
		acks := len(up.Events("ack"))
		if err == nil && !latched && acks == 0 {
			t.Fatalf("Ack answered %s cleared (err %v); the stored latch is gone and no ack event was stored: after a restart nothing records the acknowledgement", cleared.Rule, err)
		}
		if err != nil && !errors.Is(err, ErrRefused) && !latched {
			t.Fatalf("Ack failed (%v) but the stored latch is gone", err)
		}
	})
}
