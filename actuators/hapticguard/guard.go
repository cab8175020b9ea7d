package hapticguard

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Hard bounds and defaults (see the package doc).
const (
	HardMaxCap     = 0.8
	DefaultCap     = 0.6
	HardMaxDuty    = 0.3
	DefaultDuty    = 0.2
	MinWindow      = 10 * time.Second
	MaxWindow      = 10 * time.Minute
	DefaultWindow  = time.Minute
	DefaultHold    = 100 * time.Millisecond
	MaxHold        = time.Second
	ResumeFraction = 0.9
	// Slots is the number of slots the window is kept in.
	Slots = 100
	// EpisodeGap is how long a place must go without a limited frame for
	// its episode to end.
	EpisodeGap = time.Second
	// MaxPlaces bounds the places of one guard.
	MaxPlaces = 64
)

// ErrPlaces is returned by Limit for a frame whose number of places is not
// the guard's.
var ErrPlaces = errors.New("hapticguard: frame has the wrong number of places")

// ErrTime is returned by Limit for a negative time.
var ErrTime = errors.New("hapticguard: negative time")

// Opts configures a Guard; a zero field takes its default.
type Opts struct {
	Cap    float64       // most intensity, 0..1 of full scale: (0, HardMaxCap]
	Duty   float64       // budget as a share of the window: (0, HardMaxDuty]
	Window time.Duration // MinWindow..MaxWindow
	Hold   time.Duration // longest interval between frames: (0, MaxHold]
}

// Guard keeps the haptic places within the cap and the budget. It is not
// safe for concurrent use: the frame loop owns it.
type Guard struct {
	cap, budget, resume float64
	hold                time.Duration
	slot                time.Duration // length of one slot
	cur                 int64         // index of the slot of lastT
	lastT               time.Duration
	started             bool
	out                 []float64   // output held since lastT
	ring                [][]float64 // per place, Slots+1 slots of intensity·seconds
	spent               []bool
	onOff               []bool
	eps                 []episode
}

// OnOffAt is the capped request from which an on-off place runs.
const OnOffAt = 0.5

// SetOnOff marks place p (0..places-1) as on-off (see "On-off places" in
// the package doc), or not. Out of range, it does nothing.
func (g *Guard) SetOnOff(p int, on bool) {
	if p >= 0 && p < len(g.onOff) {
		g.onOff[p] = on
	}
}

// New returns a guard of places places (1..MaxPlaces), every output 0. Bad
// options are an error naming the option, its value and what is allowed.
func New(places int, opts Opts) (*Guard, error) {
	if places < 1 || places > MaxPlaces {
		return nil, fmt.Errorf("hapticguard: %d places, want 1..%d", places, MaxPlaces)
	}
	if opts.Cap == 0 {
		opts.Cap = DefaultCap
	}
	if opts.Duty == 0 {
		opts.Duty = DefaultDuty
	}
	if opts.Window == 0 {
		opts.Window = DefaultWindow
	}
	if opts.Hold == 0 {
		opts.Hold = DefaultHold
	}
	var errs []error
	if !(opts.Cap > 0 && opts.Cap <= HardMaxCap) {
		errs = append(errs, fmt.Errorf("hapticguard: cap %v, want above 0 and at most %v of full scale", opts.Cap, HardMaxCap))
	}
	if !(opts.Duty > 0 && opts.Duty <= HardMaxDuty) {
		errs = append(errs, fmt.Errorf("hapticguard: duty %v, want above 0 and at most %v of the window", opts.Duty, HardMaxDuty))
	}
	if opts.Window < MinWindow || opts.Window > MaxWindow {
		errs = append(errs, fmt.Errorf("hapticguard: window %v, want %v..%v", opts.Window, MinWindow, MaxWindow))
	}
	if opts.Hold < 0 || opts.Hold > MaxHold {
		errs = append(errs, fmt.Errorf("hapticguard: hold %v, want above 0 and at most %v", opts.Hold, MaxHold))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	g := &Guard{
		cap:    opts.Cap,
		budget: opts.Duty * opts.Window.Seconds(),
		hold:   opts.Hold,
		slot:   (opts.Window + Slots - 1) / Slots,
		out:    make([]float64, places),
		ring:   make([][]float64, places),
		spent:  make([]bool, places),
		onOff:  make([]bool, places),
		eps:    make([]episode, places),
	}
	g.resume = ResumeFraction * g.budget
	for p := range g.ring {
		g.ring[p] = make([]float64, Slots+1)
	}
	return g, nil
}

// Cap is the intensity cap, 0..1 of full scale.
func (g *Guard) Cap() float64 { return g.cap }

// Budget is the most intensity·seconds a place may spend in any window.
func (g *Guard) Budget() float64 { return g.budget }

// Limit changes intensities (one per place, 0..1 of full scale) in place to
// what may be output at now (monotonic clock, from the guard's start, not
// negative) and remembers them as held from now. A NaN or negative request
// is 0; above the cap it is the cap; a place whose budget is spent is 0.
// limited says whether any place was changed. A frame of the wrong length is
// ErrPlaces, a negative time ErrTime, and either changes nothing. A time not
// after the last frame's adds nothing to the window.
func (g *Guard) Limit(now time.Duration, intensities []float64) (limited bool, err error) {
	if len(intensities) != len(g.out) {
		return false, ErrPlaces
	}
	if now < 0 {
		return false, ErrTime
	}
	switch {
	case !g.started:
		g.started, g.lastT, g.cur = true, now, int64(now/g.slot)
	case now > g.lastT:
		g.accrue(now)
	}
	for p, req := range intensities {
		x := req
		var byCap, byBudget bool
		if !(x > 0) { // NaN too
			x = 0
		}
		if x > g.cap {
			x, byCap = g.cap, true
		}
		want := req // what the output would be without the guard
		if g.onOff[p] {
			want = 0
			if req >= OnOffAt {
				want = 1
			}
			if x >= OnOffAt {
				x, byCap = 1, false
			} else {
				x, byCap = 0, want > 0
			}
		}
		used := g.used(p)
		if g.spent[p] && used <= g.resume {
			g.spent[p] = false
		}
		if !g.spent[p] && x > 0 && used+x*g.hold.Seconds() > g.budget {
			g.spent[p] = true
		}
		if g.spent[p] && x > 0 {
			x, byBudget = 0, true
		}
		if x != want {
			limited = true
			g.limited(p, now, req, x, byCap, byBudget)
		}
		intensities[p] = x
		g.out[p] = x
	}
	return limited, nil
}

// accrue adds the outputs held from lastT to now to the slots, and moves
// lastT to now.
func (g *Guard) accrue(now time.Duration) {
	a := g.lastT
	// Slots before now's slot less Slots are never read again.
	if first := (now/g.slot - Slots) * g.slot; a < first {
		a = first
	}
	for a < now {
		k := int64(a / g.slot)
		g.advance(k)
		end := min(now, time.Duration(k+1)*g.slot)
		d := (end - a).Seconds()
		i := k % (Slots + 1)
		for p, x := range g.out {
			g.ring[p][i] += x * d
		}
		a = end
	}
	g.advance(int64(now / g.slot))
	g.lastT = now
}

// advance makes k the current slot, emptying the slots it reuses.
func (g *Guard) advance(k int64) {
	if k <= g.cur {
		return
	}
	n := min(k-g.cur, Slots+1)
	for j := int64(1); j <= n; j++ {
		i := (g.cur + j) % (Slots + 1)
		for p := range g.ring {
			g.ring[p][i] = 0
		}
	}
	g.cur = k
}

// used is place p's integral over the slots overlapping the window ending
// at lastT.
func (g *Guard) used(p int) float64 {
	var s float64
	for _, v := range g.ring[p] {
		s += v
	}
	return s
}

// Used is place p's integral of intensity over the window ending at the last
// frame, in intensity·seconds (at most one slot's worth above the exact
// one; see the package doc).
func (g *Guard) Used(p int) float64 {
	if p < 0 || p >= len(g.ring) {
		return math.NaN()
	}
	return g.used(p)
}

// Spent says whether place p is held at 0 until its window frees.
func (g *Guard) Spent(p int) bool { return p >= 0 && p < len(g.spent) && g.spent[p] }
