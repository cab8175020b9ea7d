package lightguard

import (
	"math"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/sleegation/podd/actuators/flashcheck"
	"github.com/sleegation/podd/actuators/light"
)

// colour draws a colour: one of the extremes a strobe uses, or any.
func colour(rt *rapid.T, label string) light.RGB {
	switch rapid.IntRange(0, 5).Draw(rt, label+"_kind") {
	case 0:
		return light.RGB{}
	case 1:
		return light.RGB{R: 1, G: 1, B: 1}
	case 2:
		return light.RGB{R: 1}
	case 3:
		return light.RGB{B: 1}
	case 4:
		return light.RGB{G: 1}
	}
	f := rapid.Float64Range(0, 1)
	return light.RGB{R: f.Draw(rt, label+"_r"), G: f.Draw(rt, label+"_g"), B: f.Draw(rt, label+"_b")}
}

// pattern draws what one zone asks for over time.
func pattern(rt *rapid.T, z int) func(t time.Duration) light.RGB {
	l := func(s string) string { return s + "_" + string(rune('a'+z)) }
	a, b := colour(rt, l("a")), colour(rt, l("b"))
	switch rapid.IntRange(0, 5).Draw(rt, l("pattern")) {
	case 0: // steady
		return func(time.Duration) light.RGB { return a }
	case 1: // square wave between a and b, 3..60 Hz (a red/blue swap when they are)
		hz := rapid.Float64Range(3, 60).Draw(rt, l("hz"))
		return func(t time.Duration) light.RGB {
			if int(t.Seconds()*2*hz)%2 == 0 {
				return a
			}
			return b
		}
	case 2: // one step at a random time
		at := time.Duration(rapid.Int64Range(0, int64(4*time.Second)).Draw(rt, l("at")))
		return func(t time.Duration) light.RGB {
			if t < at {
				return a
			}
			return b
		}
	case 3: // sinusoid between a and b, 0.5..60 Hz
		hz := rapid.Float64Range(0.5, 60).Draw(rt, l("hz"))
		return func(t time.Duration) light.RGB {
			k := 0.5 + 0.5*math.Sin(2*math.Pi*hz*t.Seconds())
			return light.RGB{R: a.R + k*(b.R-a.R), G: a.G + k*(b.G-a.G), B: a.B + k*(b.B-a.B)}
		}
	case 4: // noise: a new colour each frame (a random strobe), seeded by the frame time
		seed := rapid.Uint64().Draw(rt, l("seed"))
		return func(t time.Duration) light.RGB {
			x := uint64(t) ^ seed
			x ^= x >> 33
			x *= 0xff51afd7ed558ccd
			x ^= x >> 33
			u := func(s uint) float64 { return float64(x>>s&0xffff) / 0xffff }
			return light.RGB{R: u(0), G: u(16), B: u(32)}
		}
	}
	// bursts: a strobe between a and b at 3..60 Hz for a random time, then steady
	hz := rapid.Float64Range(3, 60).Draw(rt, l("hz"))
	until := time.Duration(rapid.Int64Range(int64(100*time.Millisecond), int64(3*time.Second)).Draw(rt, l("until")))
	return func(t time.Duration) light.RGB {
		if t < until && int(t.Seconds()*2*hz)%2 == 1 {
			return b
		}
		return a
	}
}

// frameTimes draws the frame times of a stream of 2..8 s: a rate of 20..120
// frames a second with a jitter of up to half a frame, and now and then a
// stall of up to 100 ms.
func frameTimes(rt *rapid.T) []time.Duration {
	fps := rapid.SampledFrom([]int{120, 100, 60, 50, 30, 25, 20}).Draw(rt, "fps")
	period := time.Second / time.Duration(fps)
	span := time.Duration(rapid.SampledFrom([]int{8, 5, 3, 2}).Draw(rt, "span_s")) * time.Second
	jitter := rapid.Float64Range(0, 0.5).Draw(rt, "jitter")
	stalls := rapid.Float64Range(0, 0.05).Draw(rt, "stalls")
	seed := rapid.Uint64().Draw(rt, "time_seed")
	rnd := func(i uint64) float64 { // deterministic in the drawn seed
		x := (seed + i) * 0x9e3779b97f4a7c15
		x ^= x >> 31
		x *= 0xbf58476d1ce4e5b9
		x ^= x >> 29
		return float64(x>>11) / (1 << 53)
	}
	var ts []time.Duration
	t := time.Duration(0)
	for i := uint64(0); t <= span; i++ {
		ts = append(ts, t)
		d := period + time.Duration((2*rnd(2*i)-1)*jitter*float64(period))
		if rnd(2*i+1) < stalls {
			d = time.Duration(rnd(2*i+7) * float64(100*time.Millisecond))
		}
		if d < time.Millisecond {
			d = time.Millisecond
		}
		t += d
	}
	return ts
}

// Random programs, through the guard, checked by the independent checker on
// every zone's output and on the whole pod's (random zone weights): never a
// violation of the flash rule.
func TestGuardedStreamsNeverBreakTheFlashRule(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		zones := rapid.IntRange(1, 8).Draw(rt, "zones")
		slew := rapid.SampledFrom([]float64{0, HardMaxSlew, 0.3, 0.1}).Draw(rt, "slew")
		g, err := New(zones, Opts{MaxSlew: slew})
		if err != nil {
			rt.Fatal(err)
		}
		asks := make([]func(time.Duration) light.RGB, zones)
		weights := make([]float64, zones)
		for z := range asks {
			asks[z] = pattern(rt, z)
			weights[z] = rapid.Float64Range(1, 300).Draw(rt, "weight")
		}
		shown := make([][]flashcheck.Sample, zones)
		frame := make([]light.RGB, zones)
		for _, now := range frameTimes(rt) {
			for z := range frame {
				frame[z] = asks[z](now)
			}
			if _, err := g.Limit(now, frame); err != nil {
				rt.Fatal(err)
			}
			for z, c := range frame {
				shown[z] = append(shown[z], flashcheck.Sample{T: now, C: c})
			}
		}
		r, err := flashcheck.CheckZones(shown, weights)
		if err != nil {
			rt.Fatal(err)
		}
		if vs := r.Violations(); len(vs) != 0 {
			rt.Fatalf("violations %+v", vs)
		}
	})
}

// A stream that never asks any channel to move faster than the limit is
// shown exactly as asked: the guard does not alter what is already safe.
func TestAStreamWithinTheLimitPassesUnchanged(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		zones := rapid.IntRange(1, 8).Draw(rt, "zones")
		g, err := New(zones, Opts{})
		if err != nil {
			rt.Fatal(err)
		}
		start := make([]light.RGB, zones)
		for z := range start {
			start[z] = colour(rt, "start")
		}
		if err := g.Reset(0, start); err != nil {
			rt.Fatal(err)
		}
		was := append([]light.RGB(nil), start...)
		frame := make([]light.RGB, zones)
		last := time.Duration(0)
		frac := rapid.Float64Range(-1, 1)
		for _, now := range frameTimes(rt)[1:] {
			step := HardMaxSlew * (now - last).Seconds()
			for z := range frame {
				mv := func(v float64, label string) float64 {
					return math.Min(math.Max(v+frac.Draw(rt, label)*step, 0), 1)
				}
				frame[z] = light.RGB{R: mv(was[z].R, "dr"), G: mv(was[z].G, "dg"), B: mv(was[z].B, "db")}
			}
			asked := append([]light.RGB(nil), frame...)
			limited, err := g.Limit(now, frame)
			if err != nil {
				rt.Fatal(err)
			}
			for z := range frame {
				if frame[z] != asked[z] {
					rt.Fatalf("%v zone %d: asked %+v, shown %+v", now, z, asked[z], frame[z])
				}
			}
			if limited {
				rt.Fatalf("%v: limited", now)
			}
			copy(was, frame)
			last = now
		}
	})
}
