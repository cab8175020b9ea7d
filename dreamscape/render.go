package dreamscape

import (
	"fmt"
	"time"

	"github.com/sleegation/podd/actuators/light"
)

// Render fills the frame at time t since the program started: lights[i]
// the linear light of the pod's zone i (each channel 0..1) and haptics[j]
// the drive of place j (0..1), in the orders given to Bind. A zone or place
// the program does not name is dark (black, 0). With Loop, t is taken
// modulo the duration; without, a t past the duration renders the frame
// at the duration, held. A negative t renders the frame at 0.
//
// Between a keyframe A and the next one B, with w the ease's weight of B
// (Ease), a zone's colour is (1-w)·A + w·B, each keyframe's colour being
// its linear light times its level: the fade runs in linear light, the
// light the LEDs emit. A place's drive is (1-w)·a + w·b, where a is A's
// intensity times its pattern at A's phase and b likewise for B, each
// pattern's phase counted from its own keyframe's time. In a looping
// program the last keyframe fades into the first, reached again at the
// duration; in one that does not loop the last keyframe holds.
//
// Render does not allocate. It panics if lights or haptics is not as long
// as the pod's zones or places.
func (b *Bound) Render(t time.Duration, lights []light.RGB, haptics []float64) {
	if len(lights) != len(b.lights) || len(haptics) != len(b.haptics) {
		panic(fmt.Sprintf("dreamscape: Render of %d zones and %d places into %d lights and %d haptics",
			len(b.lights), len(b.haptics), len(lights), len(haptics)))
	}
	tau := b.local(t)
	for i := range b.lights {
		lights[i] = b.lights[i].value(tau, b.duration, b.loop)
	}
	for i := range b.haptics {
		haptics[i] = b.haptics[i].value(tau, b.duration, b.loop)
	}
}

// local is t within the program: 0..duration (loop: 0..duration-1).
func (b *Bound) local(t time.Duration) time.Duration {
	switch {
	case t <= 0:
		return 0
	case b.loop:
		return t % b.duration
	case t > b.duration:
		return b.duration
	}
	return t
}

// segment finds the keyframes around tau: a, the last one at or before it,
// and the next one, next, reached at end (the duration for a looping
// program's wrap to its first keyframe), and the fraction f of the way
// from a to next. A held last keyframe has next == a and f = 0.
func segment(at []time.Duration, tau, duration time.Duration, loop bool) (a, next int, end time.Duration, f float64) {
	lo, hi := 0, len(at) // at[0] = 0 <= tau: find the last at[i] <= tau
	for hi-lo > 1 {
		mid := int(uint(lo+hi) >> 1)
		if at[mid] <= tau {
			lo = mid
		} else {
			hi = mid
		}
	}
	a = lo
	switch {
	case a+1 < len(at):
		next, end = a+1, at[a+1]
	case loop && duration > at[a]:
		next, end = 0, duration
	default:
		return a, a, at[a], 0
	}
	return a, next, end, float64(tau-at[a]) / float64(end-at[a])
}

func (l *boundLights) value(tau, duration time.Duration, loop bool) light.RGB {
	if len(l.at) == 0 {
		return light.RGB{}
	}
	a, next, _, f := segment(l.at, tau, duration, loop)
	w := l.ease[a].weight(f)
	ca, cb := l.color[a], l.color[next]
	return light.RGB{
		R: (1-w)*ca.R + w*cb.R,
		G: (1-w)*ca.G + w*cb.G,
		B: (1-w)*ca.B + w*cb.B,
	}.Clamp()
}

func (h *boundHaptics) value(tau, duration time.Duration, loop bool) float64 {
	if len(h.at) == 0 {
		return 0
	}
	a, next, end, f := segment(h.at, tau, duration, loop)
	w := h.ease[a].weight(f)
	v := (1 - w) * h.drive(a, tau-h.at[a])
	if w > 0 {
		v += w * h.drive(next, tau-end)
	}
	return clamp01(v)
}

// drive is keyframe k's intensity times its pattern, since the keyframe's
// time (negative before it).
func (h *boundHaptics) drive(k int, since time.Duration) float64 {
	var ph float64
	if p := h.period[k]; p > 0 {
		ph = since.Seconds() / p
	}
	return h.intensity[k] * h.pattern[k].level(ph)
}

func clamp01(v float64) float64 {
	switch {
	case !(v > 0):
		return 0
	case v > 1:
		return 1
	}
	return v
}
