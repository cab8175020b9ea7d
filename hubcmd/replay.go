package hubcmd

import (
	"container/heap"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ReplayCache remembers the jti of every signed command accepted until its
// exp. The Verifier calls Seen once per command, last, after every other
// check passed.
type ReplayCache interface {
	// Seen records jti until exp and reports whether it was already
	// recorded, in one atomic step: of two calls with the same jti, at most
	// one reports false. An error means nothing is known and the command
	// is refused.
	//
	// A recorded jti must be kept at least until the Verifier's clock reaches
	// exp: the Verifier accepts a command only while now is before exp, and
	// a jti forgotten earlier could be accepted twice.
	Seen(jti string, exp time.Time) (bool, error)
}

// ErrReplayCacheFull is MemoryReplayCache's error when every entry is still
// unexpired: it refuses to record rather than forget a live jti.
var ErrReplayCacheFull = errors.New("hubcmd: replay cache full of unexpired command ids")

// DefaultReplayCapacity is the capacity NewMemoryReplayCache takes for 0.
// Only validly signed commands are recorded, and each lives at most
// MaxLifetime, so 1024 is over 100 commands a minute from the hub, far more
// than it sends to one pod. Each entry costs about 100 bytes.
const DefaultReplayCapacity = 1024

// MemoryReplayCache is a ReplayCache in memory, for tests (the pod keeps
// its jtis in its store: journal.ReplayCache). It forgets everything when
// the process ends, so a command recorded only here can be replayed after
// a restart until its exp (at most MaxLifetime).
//
// It holds at most its capacity of jtis. Eviction is by exp only: on every
// Seen, each entry whose exp is at or before now() is dropped, so it is
// dropped only once the Verifier (on the same clock) refuses its command as
// expired. When the cache is full of unexpired entries Seen returns
// ErrReplayCacheFull: the command is refused, never a live jti forgotten.
type MemoryReplayCache struct {
	now func() time.Time
	max int

	mu    sync.Mutex
	byJTI map[string]*replayEntry
	byExp expHeap
}

type replayEntry struct {
	jti   string
	exp   time.Time
	index int
}

// NewMemoryReplayCache makes a cache of capacity entries (0 is
// DefaultReplayCapacity) reading the time from now, which must be the clock
// the Verifier is given (the wall clock, time.Now, on a pod).
func NewMemoryReplayCache(capacity int, now func() time.Time) *MemoryReplayCache {
	if capacity <= 0 {
		capacity = DefaultReplayCapacity
	}
	return &MemoryReplayCache{now: now, max: capacity, byJTI: make(map[string]*replayEntry)}
}

// Seen implements ReplayCache.
func (c *MemoryReplayCache) Seen(jti string, exp time.Time) (bool, error) {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.byExp) > 0 && !c.byExp[0].exp.After(now) {
		e := heap.Pop(&c.byExp).(*replayEntry)
		delete(c.byJTI, e.jti)
	}
	if e, ok := c.byJTI[jti]; ok {
		if exp.After(e.exp) { // keep it as long as any command with this jti lives
			e.exp = exp
			heap.Fix(&c.byExp, e.index)
		}
		return true, nil
	}
	if len(c.byJTI) >= c.max {
		return false, fmt.Errorf("%w (%d entries, the next expires at %s)", ErrReplayCacheFull, len(c.byJTI), c.byExp[0].exp.UTC().Format(time.RFC3339))
	}
	e := &replayEntry{jti: jti, exp: exp}
	heap.Push(&c.byExp, e)
	c.byJTI[jti] = e
	return false, nil
}

// Len is the number of jtis held.
func (c *MemoryReplayCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.byJTI)
}

// expHeap is a min-heap of entries by exp.
type expHeap []*replayEntry

func (h expHeap) Len() int           { return len(h) }
func (h expHeap) Less(i, j int) bool { return h[i].exp.Before(h[j].exp) }
func (h expHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *expHeap) Push(x any) {
	e := x.(*replayEntry)
	e.index = len(*h)
	*h = append(*h, e)
}
func (h *expHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return e
}
