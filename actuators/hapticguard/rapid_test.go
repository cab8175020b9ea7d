package hapticguard

import (
	"math"
	"sort"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// held is one place's output stream: out[i] held from ts[i] to ts[i+1] (the
// last until end); cum[i] is its integral from 0 to ts[i].
type held struct {
	ts  []time.Duration
	out []float64
	cum []float64
	end time.Duration
}

func (h *held) add(t time.Duration, x float64) {
	c := 0.0
	if n := len(h.ts); n > 0 {
		c = h.cum[n-1] + h.out[n-1]*(t-h.ts[n-1]).Seconds()
	}
	h.ts, h.out, h.cum = append(h.ts, t), append(h.out, x), append(h.cum, c)
}

// integral is the exact integral of the stream from 0 to t (t <= end).
func (h *held) integral(t time.Duration) float64 {
	i := sort.Search(len(h.ts), func(i int) bool { return h.ts[i] > t }) - 1
	if i < 0 {
		return 0
	}
	return h.cum[i] + h.out[i]*(t-h.ts[i]).Seconds()
}

// worstWindow is the largest exact integral over any window of length w
// ending within the stream: the integral is piecewise linear in the
// window's end, so its largest value is at an end on a frame time or a
// window length after one.
func (h *held) worstWindow(w time.Duration) float64 {
	ends := append([]time.Duration{h.end}, h.ts...)
	for _, t := range h.ts {
		if t+w <= h.end {
			ends = append(ends, t+w)
		}
	}
	sort.Slice(ends, func(i, j int) bool { return ends[i] < ends[j] })
	best := 0.0
	for _, t := range ends {
		best = math.Max(best, h.integral(t)-h.integral(max(t-w, 0)))
	}
	return best
}

// Random requests (bursts at full scale, steady levels, noise, NaN and
// out-of-range values) at uneven frame times no further apart than Hold,
// for random options within the bounds: no output above the cap or below
// 0, and no window of the exact output stream (each frame's output held
// until the next, the last for Hold more) over the budget.
func TestOutputsStayWithinTheCapAndTheBudget(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		places := rapid.IntRange(1, 4).Draw(rt, "places")
		o := Opts{
			Cap:    rapid.Float64Range(0.05, HardMaxCap).Draw(rt, "cap"),
			Duty:   rapid.Float64Range(0.01, HardMaxDuty).Draw(rt, "duty"),
			Window: time.Duration(rapid.SampledFrom([]int{10, 11, 17, 30}).Draw(rt, "window_s")) * time.Second,
			Hold:   time.Duration(rapid.Int64Range(int64(10*time.Millisecond), int64(200*time.Millisecond)).Draw(rt, "hold")),
		}
		g, err := New(places, o)
		if err != nil {
			rt.Fatal(err)
		}
		span := time.Duration(rapid.SampledFrom([]int{25, 40, 60}).Draw(rt, "span_s")) * time.Second
		kinds := make([]int, places)
		levels := make([]float64, places)
		for p := range kinds {
			kinds[p] = rapid.IntRange(0, 3).Draw(rt, "kind")
			levels[p] = rapid.Float64Range(0, 1.5).Draw(rt, "level")
		}
		hs := make([]held, places)
		f := make([]float64, places)
		seed := rapid.Uint64().Draw(rt, "seed")
		rnd := func(i uint64) float64 {
			x := (seed + i) * 0x9e3779b97f4a7c15
			x ^= x >> 31
			x *= 0xbf58476d1ce4e5b9
			x ^= x >> 29
			return float64(x>>11) / (1 << 53)
		}
		now := time.Duration(0)
		for i := uint64(0); now <= span; i++ {
			for p := range f {
				switch kinds[p] {
				case 0: // steady
					f[p] = levels[p]
				case 1: // bursts of 0.5..5 s at full scale
					if int(now.Seconds()/(0.5+4.5*levels[p]/1.5))%2 == 0 {
						f[p] = 1
					} else {
						f[p] = 0
					}
				case 2: // noise, with NaN and out-of-range values
					f[p] = 1.6*rnd(i*8+uint64(p)) - 0.2
					if rnd(i*8+uint64(p)+4) < 0.02 {
						f[p] = math.NaN()
					}
				default: // a slow sine
					f[p] = levels[p] * (0.5 + 0.5*math.Sin(now.Seconds()))
				}
			}
			if _, err := g.Limit(now, f); err != nil {
				rt.Fatal(err)
			}
			for p, x := range f {
				if !(x >= 0 && x <= o.Cap) {
					rt.Fatalf("%v place %d: output %v outside 0..%v", now, p, x, o.Cap)
				}
				hs[p].add(now, x)
			}
			// uneven frames: 1 ms .. Hold
			now += time.Millisecond + time.Duration(rnd(i*8+7)*float64(o.Hold-time.Millisecond))
		}
		for p := range hs {
			hs[p].end = hs[p].ts[len(hs[p].ts)-1] + o.Hold
			if w := hs[p].worstWindow(o.Window); w > g.Budget()+1e-9 {
				rt.Fatalf("place %d: %v intensity·s in a window of %v, budget %v", p, w, o.Window, g.Budget())
			}
		}
	})
}
