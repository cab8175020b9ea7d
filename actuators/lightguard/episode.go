package lightguard

import (
	"math"
	"time"

	"github.com/sleegation/podd/actuators/light"
)

// Episode is a run of limited frames in one zone (see "Episodes" in the
// package doc).
type Episode struct {
	Zone        int
	Since, Last time.Duration // times of the first and the last limited frame
	Frames      int           // limited frames
	// Requested and Shown are the colours (linear light) of the most limited
	// frame: the largest difference of one channel, Gap. A requested channel
	// that was not a number within 0..1 is given clamped (NaN as 0), and
	// Invalid says that some frame of the episode asked for one.
	Requested, Shown light.RGB
	Gap              float64
	Invalid          bool
}

type episode struct {
	open    bool
	cur     Episode
	pending bool // an ended episode not yet taken
	ended   Episode
}

func (g *Guard) limited(z int, now time.Duration, req, out light.RGB) {
	e := &g.eps[z]
	if e.open && now-e.cur.Last >= EpisodeGap {
		g.end(z)
	}
	if !e.open {
		e.open = true
		e.cur = Episode{Zone: z, Since: now}
	}
	e.cur.Last = now
	e.cur.Frames++
	clean := req.Clamp()
	if clean != req {
		e.cur.Invalid = true
	}
	if gap := gapOf(clean, out); gap > e.cur.Gap || e.cur.Frames == 1 {
		e.cur.Requested, e.cur.Shown, e.cur.Gap = clean, out, gap
	}
}

// gapOf is the largest difference of one channel.
func gapOf(a, b light.RGB) float64 {
	return math.Max(math.Abs(a.R-b.R), math.Max(math.Abs(a.G-b.G), math.Abs(a.B-b.B)))
}

// end closes zone z's episode. An ended episode still untaken (the caller
// did not call Ended in between) absorbs it: both become one episode.
func (g *Guard) end(z int) {
	e := &g.eps[z]
	e.open = false
	if !e.pending {
		e.pending, e.ended = true, e.cur
		return
	}
	p := &e.ended
	p.Last = e.cur.Last
	p.Frames += e.cur.Frames
	p.Invalid = p.Invalid || e.cur.Invalid
	if e.cur.Gap > p.Gap {
		p.Requested, p.Shown, p.Gap = e.cur.Requested, e.cur.Shown, e.cur.Gap
	}
}

// Ended appends to dst every episode that has ended by now (EpisodeGap
// after its last limited frame) and not been taken yet, in zone order, and
// returns it. With room in dst it allocates nothing. Call it after each
// Limit, and on a timer while no frames come.
func (g *Guard) Ended(now time.Duration, dst []Episode) []Episode {
	for z := range g.eps {
		e := &g.eps[z]
		if e.open && now-e.cur.Last >= EpisodeGap {
			g.end(z)
		}
		if e.pending {
			dst = append(dst, e.ended)
			e.pending = false
		}
	}
	return dst
}

// Open returns zone z's episode in progress, if any.
func (g *Guard) Open(z int) (Episode, bool) {
	if z < 0 || z >= len(g.eps) || !g.eps[z].open {
		return Episode{}, false
	}
	return g.eps[z].cur, true
}
