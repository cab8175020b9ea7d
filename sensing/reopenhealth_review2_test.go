package sensing

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

// Health's guard against a loop stuck in a bus transaction turns a
// Starting state whose LastFresh is older than StaleAfter into Stale. But
// LastFresh survives a reopen: a device opened anew (after ReopenAfter of
// nothing fresh, or Poll.Reopen) is Starting in the loop, which grants it
// StaleAfter to deliver (lastFresh = the open), while Health, read by
// telemetry, podctl status and the safety watchdog, says Stale at once,
// with a Since in the past (the old LastFresh plus StaleAfter). What is
// wrong: every reopen is reported as stale rather than starting, against
// the package doc ("starting: not read yet since ... the device was
// opened anew") and against the loop's own OnChange (starting). Correct:
// the guard counts from the later of LastFresh and the Since of a
// Starting state (the open), so a freshly opened device reads Starting
// for StaleAfter.
func TestReviewAReopenedSensorIsStartingNotStale(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, sensor(), nil, func(d time.Duration) (Poll, error) {
			// Fresh for 0.5 s, then a chip that converts nothing.
			return Poll{Fresh: d < 500*time.Millisecond}, nil
		})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { r.loop.Run(ctx); close(done) }()
		defer func() { cancel(); <-done }()

		// Stale from 1.5 s; dropped and opened anew 3 s later (4.5 s).
		time.Sleep(4700 * time.Millisecond)
		r.mu.Lock()
		opens, last := len(r.opens), r.changes[len(r.changes)-1]
		r.mu.Unlock()
		if opens != 2 || last.state != Starting {
			t.Fatalf("%d opens, last change %+v; want the second open at 4.5 s, starting", opens, last)
		}
		if h := r.loop.Health(); h.State != Starting {
			t.Errorf("0.2 s after the device was opened anew: Health %s since %v, want starting since %v (the loop's own state)",
				h.State, h.Since.Sub(r.t0), last.at)
		}
	})
}
