package controller

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"github.com/sleegation/podd/uplink"
)

// Part is a part of the pod that safety does not depend on: the store, the
// uplink, the local API, the metrics listener, the simulator.
type Part struct {
	// Name names the part in logs, Status.Parts and fault events.
	Name string
	// Run runs the part until ctx is done, then returns nil. It calls up once
	// it works (listening, open), which clears a reported failure. Any
	// return while ctx is not done is a failure; so is a panic.
	Run func(ctx context.Context, up func()) error
	// AfterUplink parts are stopped after the uplink (the embedded broker
	// the uplink reports to, so its "offline" status gets through).
	AfterUplink bool
}

// Backoff between restarts of a failed part.
const (
	partBackoffMin = time.Second
	partBackoffMax = 30 * time.Second
	// partStableAfter is how long a part must have run before its failure
	// counts as a new episode, so a part failing once a day does not wait
	// 30 s each time.
	partStableAfter = time.Minute
)

// partBackoff is the wait before attempt n (n >= 1) of a failed part:
// partBackoffMin doubling, with ±20 % jitter so pods that lost the same
// service come back spread out, and never above partBackoffMax. u is a
// uniform draw in [0, 1).
func partBackoff(n int, u float64) time.Duration {
	d := partBackoffMin
	for i := 1; i < n && d < partBackoffMax; i++ {
		d *= 2
	}
	return min(time.Duration(float64(d)*(0.8+0.4*u)), partBackoffMax)
}

// parts keeps the status of every supervised part.
type parts struct {
	mu  sync.Mutex
	all []*PartStatus
}

func (ps *parts) add(name string) *PartStatus {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	st := &PartStatus{Name: name, State: PartStarting, Since: time.Now()}
	ps.all = append(ps.all, st)
	return st
}

// snapshot copies every part's status.
func (ps *parts) snapshot() []PartStatus {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	out := make([]PartStatus, len(ps.all))
	for i, st := range ps.all {
		out[i] = *st
	}
	return out
}

// starting reports whether any of sts is still starting (neither up nor
// failed).
func (ps *parts) starting(sts []*PartStatus) bool {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	for _, st := range sts {
		if st.State == PartStarting {
			return true
		}
	}
	return false
}

// lateUpWait bounds how long the uplink waits at its start for the parts
// stopped after it (the embedded broker it reports to) to come up or
// fail, so that its first connection attempt finds the broker listening
// rather than keeping a "connection refused" as the run's last error.
const lateUpWait = 2 * time.Second

// awaitStarted returns once none of sts is starting, after lateUpWait, or
// when ctx is done, whichever comes first; it checks every 10 ms.
func (ps *parts) awaitStarted(ctx context.Context, sts []*PartStatus) {
	if !ps.starting(sts) {
		return
	}
	deadline := time.NewTimer(lateUpWait)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for ps.starting(sts) {
		select {
		case <-ctx.Done():
			return
		case <-deadline.C:
			return
		case <-tick.C:
		}
	}
}

// set changes a part's state and reports whether it changed.
func (ps *parts) set(st *PartStatus, state, errText string) (from string, changed bool) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	from = st.State
	if state == PartFailed {
		st.Failures++
	}
	st.Error = errText
	if from == state {
		return from, false
	}
	st.State, st.Since = state, time.Now()
	return from, true
}

// supervise runs part until ctx is done, restarting it after each failure.
// It never returns an error: a part's failure is reported, not propagated.
func (p *Pod) supervise(ctx context.Context, part Part, st *PartStatus) {
	attempt := 0
	for {
		started := time.Now()
		up := func() {
			if from, changed := p.partsState.set(st, PartUp, ""); changed {
				p.log.Info("part up", "part", part.Name)
				if from == PartFailed {
					p.post(uplink.Event{Type: "fault", Fields: map[string]any{"part": part.Name, "active": false}}, time.Now())
				}
			}
		}
		err := p.runPart(ctx, part, up)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			err = errors.New("stopped unexpectedly")
		}
		if time.Since(started) >= partStableAfter {
			attempt = 0
		}
		attempt++
		wait := partBackoff(attempt, p.jitter())
		if from, _ := p.partsState.set(st, PartFailed, err.Error()); from != PartFailed {
			p.post(uplink.Event{Type: "fault", Fields: map[string]any{"part": part.Name, "active": true, "error": err.Error()}}, time.Now())
		}
		p.log.Error("part failed; retrying", "part", part.Name, "err", err, "retry_in", wait.Round(time.Millisecond))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// runPart runs part once, turning a panic into an error so that a bug in a
// part cannot take the process, and with it the watchdog, down.
func (p *Pod) runPart(ctx context.Context, part Part, up func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			p.log.Error("part panicked", "part", part.Name, "panic", r, "stack", string(debug.Stack()))
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return part.Run(ctx, up)
}
