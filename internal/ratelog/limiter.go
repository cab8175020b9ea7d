package ratelog

import (
	"sync"
	"sync/atomic"
	"time"
)

// bucket is a token bucket counted in whole lines, so that a budget lets
// through exactly the lines its interval has earned, never a rounding more.
type bucket struct {
	tokens int       // negative while the global reserve is overdrawn
	last   time.Time // when tokens were last credited; now while full
}

func (b *bucket) refill(now time.Time, burst int, every time.Duration) {
	if b.tokens >= burst {
		b.last = now // the next line is earned one interval after one is spent
		return
	}
	n := now.Sub(b.last) / every
	if n <= 0 {
		return
	}
	if n >= time.Duration(burst-b.tokens) {
		b.tokens, b.last = burst, now
		return
	}
	b.tokens += int(n)
	b.last = b.last.Add(n * every) // keep the part of an interval already waited
}

// key separates the error budget of a message from its lower-level one.
type key struct {
	msg   string
	error bool
}

// entry is a tracked message, in a list from most to least recently seen.
type entry struct {
	key        key
	bucket     bucket
	suppressed uint64
	newer      *entry
	older      *entry
}

// limiter holds the budgets shared by a Handler and its children.
type limiter struct {
	opts    Options
	dropped atomic.Uint64 // read by Dropped without the lock

	mu               sync.Mutex
	global           bucket
	globalSuppressed uint64
	keys             map[key]*entry
	newest, oldest   *entry
}

func newLimiter(opts Options, now time.Time) *limiter {
	return &limiter{
		opts:   opts,
		global: bucket{tokens: opts.GlobalBurst, last: now},
		keys:   make(map[key]*entry),
	}
}

// admit decides whether a line of msg is written at now. If it is, admit
// spends its budgets and returns, and clears, the counts it must carry.
func (l *limiter) admit(now time.Time, msg string, isError bool) (report, bool) {
	burst, every := l.opts.Burst, l.opts.Interval
	if isError {
		burst, every = l.opts.ErrorBurst, l.opts.ErrorInterval
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.touch(key{msg, isError}, burst, now)
	e.bucket.refill(now, burst, every)
	if e.bucket.tokens < 1 {
		e.suppressed++
		l.dropped.Add(1)
		return report{}, false
	}
	floor := 0 // the global budget must stay above it after this line
	if isError || e.suppressed > 0 {
		floor = -l.opts.GlobalReserve
	}
	l.global.refill(now, l.opts.GlobalBurst, l.opts.GlobalInterval)
	if l.global.tokens-1 < floor {
		l.globalSuppressed++
		l.dropped.Add(1)
		return report{}, false
	}
	e.bucket.tokens--
	l.global.tokens--
	r := report{
		message: e.suppressed,
		global:  l.globalSuppressed,
		limited: e.bucket.tokens == 0 && e.suppressed == 0,
	}
	e.suppressed, l.globalSuppressed = 0, 0
	return r, true
}

// touch returns the entry of k, made the newest, tracking it with a full
// budget if it is new and forgetting the oldest to stay within MaxKeys.
func (l *limiter) touch(k key, burst int, now time.Time) *entry {
	if e, ok := l.keys[k]; ok {
		if e != l.newest {
			l.unlink(e)
			l.pushNewest(e)
		}
		return e
	}
	var e *entry
	if len(l.keys) >= l.opts.MaxKeys {
		e = l.oldest
		l.unlink(e)
		delete(l.keys, e.key)
		l.globalSuppressed += e.suppressed
		*e = entry{} // reused, so that a stream of new messages does not allocate
	} else {
		e = new(entry)
	}
	e.key = k
	e.bucket = bucket{tokens: burst, last: now}
	l.keys[k] = e
	l.pushNewest(e)
	return e
}

func (l *limiter) unlink(e *entry) {
	if e.newer != nil {
		e.newer.older = e.older
	} else {
		l.newest = e.older
	}
	if e.older != nil {
		e.older.newer = e.newer
	} else {
		l.oldest = e.newer
	}
	e.newer, e.older = nil, nil
}

func (l *limiter) pushNewest(e *entry) {
	e.older = l.newest
	if l.newest != nil {
		l.newest.newer = e
	}
	l.newest = e
	if l.oldest == nil {
		l.oldest = e
	}
}
