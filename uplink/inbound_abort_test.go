package uplink

import (
	"fmt"
	"slices"
	"testing"

	"github.com/sleegation/podd/hubcmd"
)

// unsignedAbort is a merge/abort on the cmd topic, as anyone may send one.
func unsignedAbort(t *testing.T, id string) []byte {
	t.Helper()
	b, err := hubcmd.EncodeUnsignedAbort(id, []string{"p1"}, hubcmd.MergeAbort{Session: "m-1"})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// queued takes every command waiting, as the pod reads them.
func queued(u *Uplink) []string {
	var out []string
	for len(u.Commands()) > 0 {
		out = append(out, string((<-u.Commands()).Payload))
	}
	return out
}

// A merge/abort arriving at a full queue lets the oldest command that is
// not a merge/abort go (counted), and the merge/aborts ahead of it move
// behind the others, in their order; the other commands keep theirs. A
// command that is not a merge/abort (a merge/abort's name in a payload
// that is not a JWS is not one) is let go at a full queue, as before.
func TestAMergeAbortAtAFullQueueLetsTheOldestOtherCommandGo(t *testing.T) {
	u := newTestUplink(t, openStore(t, nil), nil)
	cmd := Root("p1") + TopicCmd
	a1, a2, a3 := unsignedAbort(t, "a-1"), unsignedAbort(t, "a-2"), unsignedAbort(t, "a-3")
	u.handle(nil, fakeMessage{topic: cmd, payload: a1})
	u.handle(nil, fakeMessage{topic: cmd, payload: a2})
	var want []string
	for i := range inboundQueue - 2 {
		j := fmt.Sprintf("junk-%d.x.y", i)
		u.handle(nil, fakeMessage{topic: cmd, payload: []byte(j)})
		want = append(want, j)
	}
	u.handle(nil, fakeMessage{topic: cmd, payload: []byte(`{"cmd":"merge/abort"}`)}) // not a JWS: let go
	if _, full := u.InboundDropped(); full != 1 {
		t.Fatalf("%d let go, want 1: the payload that is not a JWS", full)
	}
	u.handle(nil, fakeMessage{topic: cmd, payload: a3})
	if _, full := u.InboundDropped(); full != 2 {
		t.Fatalf("%d let go, want 2: junk-0 for a-3", full)
	}
	want = append(want[1:], string(a1), string(a2), string(a3))
	if got := queued(u); !slices.Equal(got, want) {
		t.Fatalf("queue\n%q\nwant\n%q", got, want)
	}
}

// A queue of merge/aborts only: one more is let go, counted, and those
// waiting keep their order.
func TestAMergeAbortIsLetGoOnlyForOtherMergeAborts(t *testing.T) {
	u := newTestUplink(t, openStore(t, nil), nil)
	cmd := Root("p1") + TopicCmd
	var want []string
	for i := range inboundQueue {
		a := unsignedAbort(t, fmt.Sprintf("a-%d", i))
		u.handle(nil, fakeMessage{topic: cmd, payload: a})
		want = append(want, string(a))
	}
	u.handle(nil, fakeMessage{topic: cmd, payload: unsignedAbort(t, "a-late")})
	if _, full := u.InboundDropped(); full != 1 {
		t.Fatalf("%d let go, want 1", full)
	}
	if got := queued(u); !slices.Equal(got, want) {
		t.Fatalf("queue\n%q\nwant\n%q", got, want)
	}
}
