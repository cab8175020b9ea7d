package hapticguard

import (
	"math"
	"time"
)

// Episode is a run of limited frames in one place (see "Episodes" in the
// package doc).
type Episode struct {
	Place       int
	Since, Last time.Duration // times of the first and the last limited frame
	Frames      int           // limited frames
	// Cap and Budget say what limited it: the cap, the budget, or both.
	Cap, Budget bool
	// Requested and Shown are the intensities of the most limited frame. A
	// request that was not a number within 0..1 is given clamped (NaN as 0),
	// and Invalid says that some frame of the episode asked for one.
	Requested, Shown float64
	Invalid          bool
}

type episode struct {
	open    bool
	cur     Episode
	pending bool
	ended   Episode
}

func (g *Guard) limited(p int, now time.Duration, req, out float64, byCap, byBudget bool) {
	e := &g.eps[p]
	if e.open && now-e.cur.Last >= EpisodeGap {
		g.end(p)
	}
	if !e.open {
		e.open = true
		e.cur = Episode{Place: p, Since: now}
	}
	c := &e.cur
	c.Last = now
	c.Frames++
	c.Cap = c.Cap || byCap
	c.Budget = c.Budget || byBudget
	clean := req
	if !(clean > 0) { // NaN too
		clean = 0
	}
	clean = math.Min(clean, 1)
	if clean != req {
		c.Invalid = true
	}
	if c.Frames == 1 || gap(clean, out) > gap(c.Requested, c.Shown) {
		c.Requested, c.Shown = clean, out
	}
}

// gap is how much a request was cut.
func gap(req, out float64) float64 { return math.Abs(req - out) }

// end closes place p's episode; an ended one still untaken absorbs it.
func (g *Guard) end(p int) {
	e := &g.eps[p]
	e.open = false
	if !e.pending {
		e.pending, e.ended = true, e.cur
		return
	}
	x := &e.ended
	x.Last = e.cur.Last
	x.Frames += e.cur.Frames
	x.Cap = x.Cap || e.cur.Cap
	x.Budget = x.Budget || e.cur.Budget
	x.Invalid = x.Invalid || e.cur.Invalid
	if gap(e.cur.Requested, e.cur.Shown) > gap(x.Requested, x.Shown) {
		x.Requested, x.Shown = e.cur.Requested, e.cur.Shown
	}
}

// Ended appends to dst every episode that has ended by now (EpisodeGap
// after its last limited frame) and not been taken yet, in place order, and
// returns it. With room in dst it allocates nothing.
func (g *Guard) Ended(now time.Duration, dst []Episode) []Episode {
	for p := range g.eps {
		e := &g.eps[p]
		if e.open && now-e.cur.Last >= EpisodeGap {
			g.end(p)
		}
		if e.pending {
			dst = append(dst, e.ended)
			e.pending = false
		}
	}
	return dst
}

// Open returns place p's episode in progress, if any.
func (g *Guard) Open(p int) (Episode, bool) {
	if p < 0 || p >= len(g.eps) || !g.eps[p].open {
		return Episode{}, false
	}
	return g.eps[p].cur, true
}
