package controller

import (
	"sync/atomic"
	"time"
)

// checkin is when a loop last turned, for the keepalive and /healthz: a
// loop that has not turned for its bound is stuck in a call that never
// returns. The zero value has never turned.
type checkin struct {
	base time.Time    // the monotonic origin of last, set by the first turn
	last atomic.Int64 // nanoseconds from base to the last turn, plus one; 0 before the first
}

// start sets the origin; call it before any other method (Pod's New does).
func (c *checkin) start(now time.Time) { c.base = now }

// turn records a turn at now.
func (c *checkin) turn(now time.Time) { c.last.Store(int64(now.Sub(c.base)) + 1) }

// since is the time since the last turn, or notTurned before the first.
func (c *checkin) since(now time.Time) time.Duration {
	ns := c.last.Load()
	if ns == 0 {
		return notTurned
	}
	return now.Sub(c.base) - time.Duration(ns-1)
}

// notTurned is what since returns before the first turn: a loop not
// started yet is not stuck.
const notTurned = -1

// sessionStalledAfter is how long the session loop may go without a turn
// before it counts as stuck: 25 of its ticks. The session loop ends a
// merge at its time, when the sleeper's consent expires and when the city
// link is lost; stuck in a call that never returns (a frame to an output
// on a hung bus, the uplink), it would let a merge outlive the consent.
// Like a stuck sensor loop, it stops the keepalive: systemd restarts the
// daemon, which starts idle with its outputs safe.
const sessionStalledAfter = 5 * time.Second

// stuckSession reports how long the session loop has not turned, when
// that is sessionStalledAfter or more.
func (p *Pod) stuckSession() (time.Duration, bool) {
	age := p.sessionTurn.since(time.Now())
	return age, age >= sessionStalledAfter
}
