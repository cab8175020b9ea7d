package controller

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/journal"
)

// An acknowledgement the store does not take is no acknowledgement: with
// the bbolt file gone from under the pod (its store closed, as a card that
// stops answering), Ack fails, the pod stays aborted and latched, and the
// file, opened again as after a restart, still holds the latch and no ack
// entry.
func TestAnAckTheStoreDoesNotTakeLeavesTheLatch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "podd.db")
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		r, slot, _ := journalRig(t, path, tachycardia, rigOpts{})
		until(start, 125*time.Second)
		if st := r.pod.Status(); st.Safety.Latched == nil || st.Safety.Latch != LatchStored {
			t.Fatalf("status %+v, want latched and stored", st.Safety)
		}
		if err := slot.Close(); err != nil {
			t.Fatal(err)
		}
		_, err := r.pod.Ack(context.Background(), techAck)
		if err == nil || errors.Is(err, ErrRefused) {
			t.Fatalf("Ack with the store closed = %v, want a failure", err)
		}
		if st := r.pod.Status(); st.State != StateAborted || st.Safety.Latched == nil || !r.hw.Strip.Dark() {
			t.Fatalf("status after the failed ack %+v, want aborted, latched, dark", st)
		}
		if got := r.up.Events("ack"); len(got) != 0 {
			t.Fatalf("ack events %+v, want none", got)
		}
		r.stop()
	})
	s, err := journal.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, set, err := s.Latch(); err != nil || !set {
		t.Fatalf("stored latch after the failed ack: %v, %v; want set", set, err)
	}
	es, err := s.AuditEntries(0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		if v := string(e.Raw); strings.Contains(v, `"type":"ack"`) {
			t.Fatalf("an ack entry %s after a failed ack", v)
		}
	}
}
