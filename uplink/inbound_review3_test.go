package uplink

import (
	"testing"

	"github.com/sleegation/podd/hubcmd"
)

// "A merge that turns into a nightmare must be ended by each pod on its
// own" (issue 7); the hub ends one pod's merge with merge/abort on the
// pod's cmd topic, "accepted even unsigned, since it only makes the pod
// safer". Merge-wide aborts have their own queue so that "no command ...
// can crowd one out" (MergeAborts), but the pod's own merge/abort shares
// the cmd queue with whatever anyone publishes there: sixteen junk
// messages ahead of it and the hub's abort is let go, counted as a full
// queue, never acted on. A merge/abort on the cmd topic must reach the pod
// whatever junk fills the command queue.
func TestTheHubsMergeAbortOnTheCmdTopicIsNotLetGoBehindJunk(t *testing.T) {
	u := newTestUplink(t, openStore(t, nil), nil)
	u.SetMergeSession("m-1")
	for range inboundQueue {
		u.handle(nil, fakeMessage{topic: Root("p1") + TopicCmd, payload: []byte("x.y.z")})
	}
	abort, err := hubcmd.EncodeUnsignedAbort("hub-abort-1", []string{"p1"}, hubcmd.MergeAbort{Session: "m-1"})
	if err != nil {
		t.Fatal(err)
	}
	u.handle(nil, fakeMessage{topic: Root("p1") + TopicCmd, payload: abort})
	got := false
	for len(u.Commands()) > 0 {
		if in := <-u.Commands(); string(in.Payload) == string(abort) {
			got = true
		}
	}
	for len(u.MergeAborts()) > 0 {
		<-u.MergeAborts()
		got = true
	}
	if !got {
		_, full := u.InboundDropped()
		t.Fatalf("the hub's merge/abort on the cmd topic was let go behind %d junk messages (%d let go)", inboundQueue, full)
	}
}
