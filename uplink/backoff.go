package uplink

import (
	"math/rand/v2"
	"time"
)

// BackoffPolicy spaces reconnection attempts: exponential from Initial,
// capped at Max, each delay shortened by a random fraction of up to Jitter so
// that the pods of a city that lost the hub together do not all come back in
// the same instant.
type BackoffPolicy struct {
	Initial time.Duration
	Max     time.Duration
	Jitter  float64 // 0..1
}

// DefaultBackoff is used for a zero BackoffPolicy.
var DefaultBackoff = BackoffPolicy{Initial: time.Second, Max: time.Minute, Jitter: 0.5}

// Delay is the wait before attempt (1 for the first retry). The undelayed
// value is Initial·2^(attempt-1), capped at Max; the result lies in
// [(1-Jitter)·that, that], so it never exceeds Max. It uses rng only for the
// jitter and is otherwise a pure function of its arguments.
func (p BackoffPolicy) Delay(attempt int, rng *rand.Rand) time.Duration {
	if attempt < 1 || p.Initial <= 0 {
		return 0
	}
	d := p.Initial
	for i := 1; i < attempt && d < p.Max; i++ {
		d *= 2
	}
	if p.Max > 0 && d > p.Max {
		d = p.Max
	}
	j := min(max(p.Jitter, 0), 1)
	if j == 0 || rng == nil {
		return d
	}
	return d - time.Duration(j*rng.Float64()*float64(d))
}

func (p BackoffPolicy) orDefault() BackoffPolicy {
	if p.Initial <= 0 {
		return DefaultBackoff
	}
	if p.Max < p.Initial {
		p.Max = p.Initial
	}
	return p
}
