package uplink

import "testing"

// The merge-wide aborts are filtered on arrival by the merge the pod is in
// now. The hub's merge/start waits in the command queue until the command
// loop takes it; a merge-wide abort of that very merge arriving meanwhile
// (another pod of the merge aborted at once) finds the pod in no merge and
// is let go, without a trace. The pod then joins the merge the city has
// already aborted, and stays in it.
func TestAMergeAbortArrivingBeforeItsMergeStartIsHandledIsNotLost(t *testing.T) {
	u := newTestUplink(t, openStore(t, nil), nil)
	u.handle(nil, fakeMessage{topic: u.root + TopicCmd, payload: []byte("merge/start m-1 (a signed token)")})
	u.handle(nil, fakeMessage{topic: "sleegation/v1/merges/m-1/abort"})
	// The command loop takes the merge/start and the pod joins m-1.
	<-u.Commands()
	u.SetMergeSession("m-1")
	select {
	case in := <-u.MergeAborts():
		if in.Session != "m-1" {
			t.Fatalf("abort of %q delivered, want m-1", in.Session)
		}
	default:
		retained, full := u.InboundDropped()
		t.Fatalf("the merge-wide abort of m-1, received while its merge/start waited, was let go (counted: %d retained, %d full): the pod joins an aborted merge", retained, full)
	}
}
