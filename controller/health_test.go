package controller

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

// A part that never comes up and never fails (journal.Open blocked on a dead
// SD card) is a health problem once it has been starting for partStartBound:
// the pod can store nothing and holds its outputs dark for the unknown latch.
func TestAPartThatNeverComesUpIsNotHealthy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		release := make(chan struct{})
		store := &memStore{ready: make(chan struct{})}
		hung := Part{Name: "store", Run: func(ctx context.Context, up func()) error {
			<-release // journal.Open blocked in the kernel
			return nil
		}}
		r := newRigWith(t, tachycardia, store, rigOpts{services: []Part{hung}})
		until(start, 60*time.Second)
		st := r.pod.Status()
		err := r.pod.Healthy()
		close(release)
		close(store.ready)
		r.stop()
		if err == nil {
			t.Fatalf("Healthy = nil after 60 s with the store part %+v and outputs %+v, latch %s", st.Parts[len(st.Parts)-1], st.Outputs, st.Safety.Latch)
		}
	})
}
