package controller

import (
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/hubcmd"
)

// Issue 7: "every command received (acted on or refused, and why) ... is
// appended to a hash-chained log"; README: the unauthenticated ones "as
// they are reported, within their budget of 5 refilled at 5 a minute, the
// others counted". The count goes only into the event of the next
// unauthenticated message: a flood that stops leaves five entries and no
// trace of the rest, in the audit log or at the hub, for as long as
// nothing else is sent. Once the budget is back, the count must be
// recorded.
func TestAFloodThatStopsIsCountedInTheAuditLog(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		h := newHub(t)
		r := commandRig(t, h, calm, false)
		defer r.stop()
		until(start, 20*time.Second)
		before := len(r.up.Events("command"))
		const n = 100
		for i := range n {
			junk, err := hubcmd.EncodeUnsignedAbort(fmt.Sprintf("junk-%d", i), []string{"pod-1"}, hubcmd.MergeAbort{Session: "m-none"})
			if err != nil {
				t.Fatal(err)
			}
			send(r, junk)
		}
		until(start, 20*time.Second+2*unauthenticatedRefill)
		reported := 0
		for _, e := range r.up.Events("command")[before:] {
			if msg, _ := e.Fields["error"].(string); !strings.HasPrefix(msg, ReasonUnreported+": ") {
				reported++ // a command reported; the other events only count
			}
			if c, ok := e.Fields["unreported_before"].(int); ok {
				reported += c
			}
		}
		if reported != n {
			t.Fatalf("%d unauthenticated commands, then nothing for %v: the command events account for %d", n, 2*unauthenticatedRefill, reported)
		}
	})
}
