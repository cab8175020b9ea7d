package lightguard

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/sleegation/podd/actuators/light"
)

// HardMaxSlew is the fastest any linear channel may move: 0.5 of its full
// light per second. Configuration may only lower it (see the package doc for
// why this bound keeps the flash rule).
const HardMaxSlew = 0.5

// EpisodeGap is how long a zone must go without a limited frame for its
// episode to end.
const EpisodeGap = time.Second

// MaxZones bounds the zones of one guard.
const MaxZones = 1024

// ErrZones is returned by Limit and Reset for a frame whose number of zones
// is not the guard's.
var ErrZones = errors.New("lightguard: frame has the wrong number of zones")

// Opts configures a Guard.
type Opts struct {
	// MaxSlew is the fastest a channel may move, in full scale per second:
	// 0 for HardMaxSlew, else in (0, HardMaxSlew].
	MaxSlew float64
}

// Guard limits the light frames of a fixed number of zones. It is not safe
// for concurrent use: the frame loop owns it.
type Guard struct {
	slew    float64
	last    []light.RGB // the last output
	lastT   time.Duration
	started bool
	eps     []episode
}

// New returns a guard of zones zones (1..MaxZones) whose last output is dark.
// Bad options are an error naming the option.
func New(zones int, opts Opts) (*Guard, error) {
	if zones < 1 || zones > MaxZones {
		return nil, fmt.Errorf("lightguard: %d zones, want 1..%d", zones, MaxZones)
	}
	slew := opts.MaxSlew
	switch {
	case slew == 0:
		slew = HardMaxSlew
	case !(slew > 0) || slew > HardMaxSlew:
		return nil, fmt.Errorf("lightguard: max slew %v per second, want above 0 and at most %v", opts.MaxSlew, HardMaxSlew)
	}
	return &Guard{
		slew: slew,
		last: make([]light.RGB, zones),
		eps:  make([]episode, zones),
	}, nil
}

// MaxSlew is the guard's limit, in full scale per second.
func (g *Guard) MaxSlew() float64 { return g.slew }

// Limit changes frame (one linear-light colour per zone) in place to what
// may be shown at now (monotonic clock) and remembers it as the last output.
// limited says whether any zone was changed. A frame of the wrong length is
// ErrZones and changes nothing.
func (g *Guard) Limit(now time.Duration, frame []light.RGB) (limited bool, err error) {
	if len(frame) != len(g.last) {
		return false, ErrZones
	}
	var step float64
	if g.started && now > g.lastT {
		step = g.slew * (now - g.lastT).Seconds()
	}
	for z := range frame {
		req := frame[z]
		was := g.last[z]
		out := light.RGB{
			R: move(was.R, req.R, step),
			G: move(was.G, req.G, step),
			B: move(was.B, req.B, step),
		}
		if out != req {
			limited = true
			g.limited(z, now, req, out)
		}
		frame[z] = out
		g.last[z] = out
	}
	if now > g.lastT || !g.started {
		g.lastT = now
	}
	g.started = true
	return limited, nil
}

// move is the channel value shown after was when req is asked for and the
// channel may move by step: req clamped to 0..1 (NaN: was), then to
// was±step.
func move(was, req, step float64) float64 {
	if math.IsNaN(req) {
		return was
	}
	req = math.Min(math.Max(req, 0), 1)
	switch {
	case req > was+step:
		return was + step
	case req < was-step:
		return was - step
	}
	return req
}

// Reset tells the guard that frame was shown at now by another path (the
// safe state): the next frame is limited from it. Channels are clamped to
// 0..1, NaN taken as 0. A frame of the wrong length is ErrZones and changes
// nothing.
func (g *Guard) Reset(now time.Duration, frame []light.RGB) error {
	if len(frame) != len(g.last) {
		return ErrZones
	}
	for z, c := range frame {
		g.last[z] = c.Clamp()
	}
	g.lastT, g.started = now, true
	return nil
}

// Last copies the last output into dst (one colour per zone) and returns it.
func (g *Guard) Last(dst []light.RGB) []light.RGB { return append(dst[:0], g.last...) }
