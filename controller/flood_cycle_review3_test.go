package controller

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/hubclient"
	"github.com/sleegation/podd/hubcmd"
)

// handleCommand's doc: "a flood on the cmd topic is not turned into
// records on the SD card", and "any later copy (anyone who read the token
// on the broker can publish it again, expired or not) is only counted ...
// copies of one token are not turned into a record each". Which tokens
// were answered is remembered for the last answeredMax (256) jtis only: a
// hub that commands a city of pods puts far more signed tokens on the
// broker in a night, and copies of answeredMax+1 of them, published again
// in a cycle, each find their jti forgotten and become an audited command
// event and a reply every time, without end: the audit log
// (storage.max_audit_entries, oldest pruned) and the outbox fill with
// them. After the first round, the copies must only be counted.
func TestCopiesOfManySignedTokensInACycleAreNotRecordedAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		h := newHub(t)
		r := commandRig(t, h, calm, false)
		defer r.stop()
		until(start, 20*time.Second)
		// The hub's commands to other pods of the city, read on the broker.
		const tokens = answeredMax + 44
		toks := make([]hubclient.Token, tokens)
		for i := range toks {
			tok, err := h.trusted.Sign(hubcmd.TelemetryInterval{Interval: 5 * time.Second}, "pod-2")
			if err != nil {
				t.Fatal(err)
			}
			toks[i] = tok
		}
		for _, tok := range toks { // the first round: each new to this pod
			send(r, tok.Raw)
		}
		before, beforeRep := len(r.up.Events("command")), len(r.up.Replies())
		const rounds = 2
		for range rounds {
			for _, tok := range toks {
				send(r, tok.Raw)
			}
		}
		time.Sleep(time.Second)
		synctest.Wait()
		ev := r.up.Events("command")[before:]
		rep := r.up.Replies()[beforeRep:]
		if len(ev) > 2*unauthenticatedBurst || len(rep) > 2*unauthenticatedBurst {
			t.Fatalf("%d more copies of %d signed tokens already answered made %d audited command events and %d replies, want at most %d of each",
				rounds*tokens, tokens, len(ev), len(rep), 2*unauthenticatedBurst)
		}
	})
}
