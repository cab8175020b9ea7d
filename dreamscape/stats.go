package dreamscape

import (
	"slices"
	"time"
)

// JitterWindow is how many of the last frames Stats summarises: 500, 10 s
// at the default rate.
const JitterWindow = 500

// Stats is what a Player has done since its Run started.
type Stats struct {
	// Frames is the frames handed to the Sink.
	Frames uint64
	// Skipped is the frames not played because the player was more than
	// a frame period late for them.
	Skipped uint64
	// SinkErrors is the Sink calls that returned an error; LastSinkError
	// the last such error.
	SinkErrors    uint64
	LastSinkError error
	// Window is the frames P50, P99 and Max summarise: the last ones
	// played, up to JitterWindow.
	Window int
	// P50, P99 and Max are the frames' lateness over the window: how long
	// after its deadline each frame was rendered, on the monotonic clock.
	// The percentiles are nearest-rank (the smallest lateness that at least
	// 50 % or 99 % of the window's frames do not exceed); 0 with no frame.
	P50, P99, Max time.Duration
}

// Stats returns the player's counts and frame jitter. It is safe to call
// from any goroutine, while Run runs or after it returned.
func (p *Player) Stats() Stats {
	var window [JitterWindow]time.Duration
	p.mu.Lock()
	st := Stats{
		Frames:        p.st.frames,
		Skipped:       p.st.skipped,
		SinkErrors:    p.st.sinkErrors,
		LastSinkError: p.st.lastErr,
		Window:        p.held,
	}
	w := window[:p.held]
	copy(w, p.late[:p.held])
	p.mu.Unlock()
	if len(w) == 0 {
		return st
	}
	slices.Sort(w)
	st.P50, st.P99, st.Max = nearestRank(w, 50), nearestRank(w, 99), w[len(w)-1]
	return st
}

// nearestRank is the pct-th percentile of sorted (not empty): its
// ceil(pct/100·n)-th value.
func nearestRank(sorted []time.Duration, pct int) time.Duration {
	n := len(sorted)
	return sorted[(pct*n+99)/100-1]
}
