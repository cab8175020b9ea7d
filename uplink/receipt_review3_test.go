package uplink

import (
	"slices"
	"testing"
	"testing/synctest"
)

// The package doc ("The hub's receipts") ignores a receipt at or above the
// journal's next seq because "clamping it would delete records the hub
// never saw". A receipt over records this pod has never handed to any
// broker names records the hub never saw just as surely, yet it deletes
// them unsent: anyone who can publish on the pod's receipt topic (no
// signature, unlike a command) erases the backlog the pod holds while the
// hub is offline, an abort event among it, with no dropped event; that is
// worse than without require_hub, where an outbox leaves only on a
// broker's PUBACK. A fresh store, nothing ever sent: the records must
// reach the hub once it is online.
func TestAReceiptOverRecordsNeverSentDeletesNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := openStore(t, nil)
		u := newTestUplink(t, store, requireHub)
		telemetry(t, u, 3)

		l := &fakeLink{}
		serveInBackground(t, u, fakeConn(t, u, l))
		synctest.Wait()
		l.deliver(HubStatusTopic, hubStatusMsg(false), true)
		synctest.Wait()
		// Not the hub's: it is offline and has read nothing of this pod.
		l.deliver("sleegation/v1/pods/p1/receipt", receiptMsg("3"), false)
		synctest.Wait()
		if got := outbox(t, store); !slices.Equal(got, []uint64{1, 2, 3}) {
			t.Fatalf("outbox %v after a receipt over records never sent, want [1 2 3] kept", got)
		}
		l.deliver(HubStatusTopic, hubStatusMsg(true), false)
		synctest.Wait()
		if got := seqsOf(t, l.records()); !slices.Equal(got, []uint64{1, 2, 3}) {
			t.Fatalf("sent %v once the hub is online, want [1 2 3]: no broker ever had them", got)
		}
	})
}
