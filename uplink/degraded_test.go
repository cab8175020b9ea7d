package uplink

import (
	"slices"
	"testing"
	"testing/synctest"
)

func TestTheRetainedStatusNamesTheDegradedParts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := newTestUplink(t, openStore(t, nil), nil)
		u.SetDegraded([]string{"store"})
		l := &fakeLink{}
		stop, _ := serveInBackground(t, u, fakeConn(t, u, l))
		synctest.Wait()
		u.SetDegraded([]string{"store"}) // unchanged: nothing published
		synctest.Wait()
		u.SetDegraded(nil)
		synctest.Wait()
		st := l.statuses(t)
		if len(st) != 2 || !slices.Equal(st[0].Degraded, []string{"store"}) || st[1].Degraded != nil || !st[1].Online {
			t.Fatalf("statuses = %+v, want the birth naming the store, then one without", st)
		}
		_ = stop()
	})
}
