package flashcheck

import (
	"time"

	"github.com/sleegation/podd/actuators/light"
)

// change is one monotonic excursion of luminance of at least Change: it
// happens at at, between lo and hi; red says its brighter end is
// saturated red.
type change struct {
	at     time.Duration
	lo, hi float64
	red    bool
}

type point struct {
	t   time.Duration
	l   float64
	red bool
}

// changes finds the stream's changes (see the package doc): turning points
// are the running extremes from which luminance came back by Change or more.
func changes(samples []Sample) []change {
	var out []change
	emit := func(from, to point) {
		c := change{at: to.t, lo: from.l, hi: to.l, red: to.red}
		if from.l > to.l {
			c.lo, c.hi, c.red = to.l, from.l, from.red
		}
		out = append(out, c)
	}
	var dir int         // +1 rising, -1 falling, 0 not yet known
	var turn, ext point // last turning point, running extreme since it
	var lo, hi point    // while dir == 0: the lowest and highest so far
	for i, s := range samples {
		p := point{t: s.T, l: s.C.Luminance(), red: s.C.RedRatio() >= light.SaturatedRed}
		if i == 0 {
			lo, hi = p, p
			continue
		}
		switch dir {
		case 0:
			switch {
			case p.l-lo.l >= Change:
				dir, turn, ext = 1, lo, p
			case hi.l-p.l >= Change:
				dir, turn, ext = -1, hi, p
			}
			if p.l < lo.l {
				lo = p
			}
			if p.l > hi.l {
				hi = p
			}
		case 1:
			if p.l > ext.l {
				ext = p
			} else if ext.l-p.l >= Change {
				emit(turn, ext)
				dir, turn, ext = -1, ext, p
			}
		case -1:
			if p.l < ext.l {
				ext = p
			} else if p.l-ext.l >= Change {
				emit(turn, ext)
				dir, turn, ext = 1, ext, p
			}
		}
	}
	if dir != 0 {
		emit(turn, ext)
	}
	return out
}
