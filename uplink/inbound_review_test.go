package uplink

import (
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// The pod subscribes to sleegation/v1/merges/+/abort: every merge-wide
// abort of the whole city reaches every pod, in the one queue of 16 that
// also carries the pod's commands, and the newest is let go when it is
// full. When the hub aborts many merges at once (a citywide emergency),
// the abort of this pod's own merge, arriving after 16 others, is dropped:
// the pod stays merged.
func TestOwnMergeAbortIsNotLostInACitywideBurst(t *testing.T) {
	u := newTestUplink(t, openStore(t, nil), nil)
	u.SetMergeSession("m-1")
	for i := range 40 {
		u.handle(nil, fakeMessage{topic: fmt.Sprintf("sleegation/v1/merges/other-%d/abort", i)})
	}
	u.handle(nil, fakeMessage{topic: "sleegation/v1/merges/m-1/abort"})
	got := false
	for len(u.MergeAborts()) > 0 {
		if in := <-u.MergeAborts(); in.Session == "m-1" {
			got = true
		}
	}
	if len(u.Commands()) != 0 {
		t.Fatalf("%d other merges' aborts queued for the pod", len(u.Commands()))
	}
	if !got {
		_, full := u.InboundDropped()
		t.Fatalf("the abort of merge m-1 was let go (%d messages dropped on a full queue)", full)
	}
}

// The same through the pod's own cmd topic: anyone who can publish there
// (an unsigned message needs no key) fills the queue with junk and the
// hub's merge/abort behind it is let go.
func TestCommandJunkCrowdsOutAMergeAbort(t *testing.T) {
	u := newTestUplink(t, openStore(t, nil), nil)
	u.SetMergeSession("m-1")
	for range inboundQueue {
		u.handle(nil, fakeMessage{topic: Root("p1") + TopicCmd, payload: []byte("x.y.z")})
	}
	u.handle(nil, fakeMessage{topic: Root("p1") + TopicCmd, payload: []byte("x.y.z")}) // one more: let go
	u.handle(nil, fakeMessage{topic: "sleegation/v1/merges/m-1/abort"})
	got := false
	for len(u.MergeAborts()) > 0 {
		if in := <-u.MergeAborts(); in.Session == "m-1" {
			got = true
		}
	}
	if !got {
		t.Fatal("the merge-wide abort was let go behind junk on the cmd topic")
	}
}

// A broker that refuses the subscriptions to the hub's commands and the
// merge-wide aborts (SUBACK 0x80: an ACL that lets the pod publish but not
// read them) leaves the pod deaf to every merge/abort, while it reads as
// connected: serve drops both Subscribe tokens unread, so nothing logs it,
// reports it or retries. (The status watch's refusal is checked and
// logged.)
func TestARefusedCommandSubscriptionIsReported(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		logs, withLogs := recordingLogger(t)
		u := newTestUplink(t, openStore(t, nil), withLogs)
		l := &fakeLink{refuse: true}
		stop, _ := serveInBackground(t, u, fakeConn(t, u, l))
		synctest.Wait()
		time.Sleep(10 * time.Second)
		synctest.Wait()
		connected := u.Connected()
		_ = stop()
		logs.mu.Lock()
		defer logs.mu.Unlock()
		for _, line := range logs.lines {
			if (strings.Contains(line, Root("p1")+TopicCmd) || strings.Contains(line, MergeAbortFilter)) && u.CommandsRefused() {
				return
			}
		}
		t.Fatalf("connected %v with both command subscriptions refused, and nothing says so; logged: %q", connected, logs.lines)
	})
}
