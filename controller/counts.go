package controller

import (
	"maps"
	"sync"
	"time"

	"github.com/sleegation/podd/safety"
	"github.com/sleegation/podd/sensing"
)

// Counts are totals since the daemon started; a restart sets them to zero
// (the store, the audit log and the hub keep the history).
type Counts struct {
	// Aborts counts the aborts the watchdog latched, by rule. An abort
	// restored from the store at start is not counted again.
	Aborts map[string]uint64 `json:"aborts"`
	// Dropped counts records let go before they were sent, by the reason
	// their "dropped" event gives: unstored_overflow (events the full
	// in-memory queue let go while the store refused writes),
	// store_refused (telemetry the store refused) and outbox_full (the
	// oldest records a full outbox let go; with an uplink that reports
	// them).
	Dropped map[string]uint64 `json:"dropped"`
}

// Reasons records are dropped for, as Counts.Dropped counts them.
const (
	DropUnstoredOverflow = "unstored_overflow"
	DropStoreRefused     = "store_refused"
	DropOutboxFull       = "outbox_full"
)

// outboxDrops is what an uplink that counts the records its full outbox
// let go tells of them (uplink.Uplink does).
type outboxDrops interface {
	OutboxDropped() uint64
}

// counters are the pod's running totals behind Counts. Their methods
// never block for longer than a map update: onAbort calls abort from the
// watchdog's goroutine.
type counters struct {
	mu      sync.Mutex
	aborts  map[string]uint64
	dropped map[string]uint64
}

func (c *counters) abort(rule string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.aborts == nil {
		c.aborts = map[string]uint64{}
	}
	c.aborts[rule]++
}

func (c *counters) drop(reason string, n uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dropped == nil {
		c.dropped = map[string]uint64{}
	}
	c.dropped[reason] += n
}

// counts returns a copy of the totals, with the queue's and the uplink's
// drops, each map non-nil.
func (p *Pod) counts() Counts {
	p.counters.mu.Lock()
	c := Counts{Aborts: maps.Clone(p.counters.aborts), Dropped: maps.Clone(p.counters.dropped)}
	p.counters.mu.Unlock()
	if c.Aborts == nil {
		c.Aborts = map[string]uint64{}
	}
	if c.Dropped == nil {
		c.Dropped = map[string]uint64{}
	}
	if n := p.queue.droppedTotal(); n > 0 {
		c.Dropped[DropUnstoredOverflow] += n
	}
	if u, ok := p.parts.Uplink.(outboxDrops); ok {
		if n := u.OutboxDropped(); n > 0 {
			c.Dropped[DropOutboxFull] += n
		}
	}
	return c
}

// LoopStatus is how recently one loop of the safety core turned.
type LoopStatus struct {
	// Name is "watchdog" (its evaluation), "session" (the session loop)
	// or a sensor's name (its loop's open or poll).
	Name string `json:"name"`
	// SinceTurnS is the time since the loop last turned, seconds on the
	// monotonic clock; absent before its first turn. The watchdog turns
	// every 100 ms, the session loop every 200 ms, a sensor loop every
	// period of its sensor; /healthz names a loop that stopped.
	SinceTurnS *float64 `json:"since_turn_s,omitempty"`
}

// Loop names besides the sensors', as LoopStatus.Name gives them.
const (
	LoopWatchdog = "watchdog"
	LoopSession  = "session"
)

// loops returns the safety core's loops: the watchdog, the session loop,
// then the sensors' loops in Status.Sensors' order.
func (p *Pod) loops() []LoopStatus {
	secs := func(d time.Duration, ok bool) *float64 {
		if !ok {
			return nil
		}
		return ptr(round3(d.Seconds()))
	}
	w := p.wd.SinceEvaluation()
	s := p.sessionTurn.since(time.Now())
	ls := []LoopStatus{
		{Name: LoopWatchdog, SinceTurnS: secs(w, w != safety.NeverEvaluated)},
		{Name: LoopSession, SinceTurnS: secs(s, s != notTurned)},
	}
	for _, l := range append([]*sensing.Loop{p.oxiLoop}, p.sensors...) {
		d := l.SinceTurn()
		ls = append(ls, LoopStatus{Name: l.Name(), SinceTurnS: secs(d, d != sensing.NotRunning)})
	}
	return ls
}
