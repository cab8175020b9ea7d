package uplink

import (
	"fmt"
	"testing"

	"github.com/sleegation/podd/hubcmd"
)

// The hub's merge/abort on the pod's cmd topic "is not let go behind other
// commands: at a full queue it lets the oldest other command go"; the
// requirement (issue 7, "a merge that turns into a nightmare must be ended
// by each pod on its own") is that it reaches the pod whatever junk fills
// the queue. Which message is an abort is decided by hubcmd.PeekName,
// unverified: junk that merely names merge/abort (anyone who may publish
// on the cmd topic can write any name, as PeekName's doc says; here
// unsigned aborts of a merge this pod is not in, which the pod refuses and
// which change nothing) fills the queue with "aborts", makeRoomForAbort
// finds nothing to let go, and the hub's own abort of the pod's merge is
// the one let go, never acted on.
func TestTheHubsMergeAbortIsNotLetGoBehindJunkNamingMergeAbort(t *testing.T) {
	u := newTestUplink(t, openStore(t, nil), nil)
	u.SetMergeSession("m-1")
	for i := range inboundQueue {
		junk, err := hubcmd.EncodeUnsignedAbort(fmt.Sprintf("junk-%d", i), []string{"p1"}, hubcmd.MergeAbort{Session: "not-this-one"})
		if err != nil {
			t.Fatal(err)
		}
		u.handle(nil, fakeMessage{topic: Root("p1") + TopicCmd, payload: junk})
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
		t.Fatalf("the hub's merge/abort of m-1 on the cmd topic was let go behind %d junk messages naming merge/abort (%d let go)", inboundQueue, full)
	}
}
