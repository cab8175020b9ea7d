package dreamscape

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sleegation/podd/actuators/light"
)

// Frame rates of a Player, in frames per second.
const (
	DefaultRate = 50
	MaxRate     = 1000
)

// ErrRunning is returned by Run while another Run of the same Player is
// playing.
var ErrRunning = errors.New("dreamscape: the player is already running")

// Player plays a bound program at a fixed frame rate: frame k is rendered
// at k/Rate seconds after Run started, on the monotonic clock, and handed
// to Sink. Set the exported fields before Run and leave them alone while it
// runs; a Player must not be copied once used.
type Player struct {
	// Program is the program played.
	Program *Bound
	// Rate is the frame rate in frames per second, 1..MaxRate; 0 means
	// DefaultRate.
	Rate int
	// Sink receives every frame: now is the frame's time since Run
	// started (its deadline, k/Rate, also the time it was rendered for),
	// lights and haptics the frame in the Program's zone and place order
	// (Bound.Render). The slices are the player's: they are valid during
	// the call only. Sink runs on Run's goroutine; while it runs no frame
	// is rendered, so a slow Sink makes later frames late or skipped
	// (Stats). An error from Sink is counted in Stats and does not stop
	// the player.
	Sink func(now time.Duration, lights []light.RGB, haptics []float64) error

	mu      sync.Mutex
	running bool
	st      counts
	late    [JitterWindow]time.Duration // ring of the last frames' lateness
	held    int                         // samples in late, up to JitterWindow
	next    int                         // where the next sample goes
}

type counts struct {
	frames, skipped, sinkErrors uint64
	lastErr                     error
}

// Run plays the program from its start until ctx is done, then returns
// nil. It returns an error at once, playing nothing, when Program or Sink
// is nil, Rate is outside 0..MaxRate, or the player is already running
// (ErrRunning). Each Run starts its Stats afresh.
//
// Frame k's deadline is start + k/Rate, computed from the start (never by
// adding up waits), so lateness does not accumulate. A frame is rendered
// and handed to Sink as soon as its deadline has passed; one that starts
// more than one frame period late is not played: the player skips to the
// latest frame whose deadline has passed and counts the frames it skipped.
// A Sink error is counted and the player keeps its rate. ctx is checked
// between frames: Run returns after the Sink call in progress returns.
func (p *Player) Run(ctx context.Context) error {
	rate := p.Rate
	switch {
	case p.Program == nil:
		return errors.New("dreamscape: a player without a program")
	case p.Sink == nil:
		return errors.New("dreamscape: a player without a sink")
	case rate == 0:
		rate = DefaultRate
	case rate < 0 || rate > MaxRate:
		return fmt.Errorf("dreamscape: frame rate %d/s is outside 1..%d", rate, MaxRate)
	}
	p.mu.Lock()
	if p.running {
		p.mu.Unlock()
		return ErrRunning
	}
	p.running, p.st, p.held, p.next = true, counts{}, 0, 0
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.running = false
		p.mu.Unlock()
	}()

	lights := make([]light.RGB, len(p.Program.lights))
	haptics := make([]float64, len(p.Program.haptics))
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	start := time.Now()
	for k := int64(0); ; k++ {
		due := frameTime(k, rate)
		if wait := due - time.Since(start); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return nil
			case <-timer.C:
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		elapsed := time.Since(start)
		late := elapsed - due
		var skipped int64
		if behind(late, rate) {
			cur := frameAt(elapsed, rate)
			skipped, k = cur-k, cur
			due = frameTime(k, rate)
			late = elapsed - due
		}
		p.Program.Render(due, lights, haptics)
		err := p.Sink(due, lights, haptics)
		p.record(late, skipped, err)
	}
}

// frameTime is frame k's time since the start at rate frames/s: k/rate s,
// exact to the nanosecond below, for any k a night (or a year) reaches.
func frameTime(k int64, rate int) time.Duration {
	r := int64(rate)
	return time.Duration(k/r)*time.Second + time.Duration(k%r)*time.Second/time.Duration(r)
}

// frameAt is the latest frame whose time is at or before elapsed.
func frameAt(elapsed time.Duration, rate int) int64 {
	r := int64(rate)
	s, rem := int64(elapsed/time.Second), int64(elapsed%time.Second)
	return s*r + rem*r/int64(time.Second)
}

// behind reports whether a frame late by late is more than one frame
// period (1/rate s) late.
func behind(late time.Duration, rate int) bool {
	return late > time.Second || late*time.Duration(rate) > time.Second
}

func (p *Player) record(late time.Duration, skipped int64, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.st.frames++
	p.st.skipped += uint64(skipped)
	if err != nil {
		p.st.sinkErrors++
		p.st.lastErr = err
	}
	p.late[p.next] = late
	p.next = (p.next + 1) % JitterWindow
	p.held = min(p.held+1, JitterWindow)
}
