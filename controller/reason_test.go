package controller

import (
	"testing"
	"testing/synctest"
	"time"
)

// A refusal of hubcmd's is "reason: detail", as the pod's own refusals are
// ("no_consent: the sleeper has not given ...") and as the reply's schema
// says: the reason once, then the detail, without the Go package's name.
// Both the reply and the command event carry it.
func TestAHubcmdRefusalStatesItsReasonOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		h := newHub(t)
		r := commandRig(t, h, calm, true)
		defer r.stop()
		until(start, 20*time.Second)
		send(r, h.sign(h.trusted, start1()).Raw)
		const want = "clock_unsynced: the pod's clock is not synchronised, so exp and iat cannot be checked"
		if rep := lastReply(t, r); rep.OK || rep.Error != want {
			t.Errorf("reply error %q, want %q", rep.Error, want)
		}
		ev := r.up.Events("command")
		if len(ev) != 1 || ev[0].Fields["error"] != want {
			t.Errorf("command events %+v, want one with error %q", ev, want)
		}
	})
}
