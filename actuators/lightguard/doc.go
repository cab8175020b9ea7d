// Package lightguard is the photosensitivity guard: it runs on every light
// frame, per zone, after the frame is rendered and before it is encoded for
// the outputs, and changes the frame so that what the sleeper sees can never
// break the flashing-light rule, whatever the program asked for.
//
// # The rule
//
// The pod's light fills the whole field of view. In any 1 s: at most 3
// general flashes and 3 red flashes (a flash is a pair of opposing changes of
// relative luminance L of at least 0.1; general: the darker state below 0.8;
// red: the brighter state saturated red), and no periodic modulation of L
// between 3 and 60 Hz of peak-to-peak depth 0.1 or more (WCAG 2.3.1, ITU-R
// BT.1702; the project's FACTS.md, "Flashing light limits"). The package
// actuators/flashcheck states the rule in full and judges recorded streams;
// this package shares nothing with it but actuators/light.
//
// # The design: a slew-rate limit on every channel
//
// The guard limits how fast light may change, not what it may be: no linear
// channel (R, G or B of any zone, 0..1 of the channel's full light) moves
// more than MaxSlew per second. A frame at time t after the last output at
// t0 may move each channel by at most MaxSlew·(t−t0) from the last output;
// a requested channel beyond that is shown at the bound (it is "limited").
// MaxSlew is HardMaxSlew, 0.5 per second, unless configuration lowers it;
// nothing can raise it. Why 0.5/s makes the rule impossible to break:
//
//   - Luminance. L = 0.2126 R + 0.7152 G + 0.0722 B is a convex combination
//     of the channels (the weights are positive and sum to 1), so
//     |ΔL| ≤ max(|ΔR|, |ΔG|, |ΔB|): L changes by at most 0.5 per second too.
//   - The whole pod. What the pod shows as a whole is a weighted mean of its
//     zones (each zone's share of the light), again a convex combination:
//     its L moves at most 0.5 per second as well.
//   - Flashes. A change of 0.1 in L takes at least 0.1/0.5 = 0.2 s, so a
//     flash (two opposing changes) takes at least 0.4 s: at most 2.5 flashes
//     a second, and at most 5 changes end in any 1 s window [t, t+1 s) (ends
//     at least 0.2 s apart), against the 7 that make a 4th flash.
//   - Red flashes are flashes, so the same bound holds; for pure red
//     (L = 0.2126 R) a change of 0.1 in L needs R to move 0.1/0.2126 = 0.47,
//     which takes 0.94 s.
//   - Periodic modulation. A periodic L of peak-to-peak depth d at frequency
//     f rises by d and falls by d in each period 1/f, so its slope somewhere
//     is at least 2·d·f: 0.6 per second at d = 0.1, f = 3 Hz, more for a
//     deeper or faster one. A slope of at most 0.5 per second gives, at
//     3 Hz, a depth of at most 0.5/(2·3) = 0.083, and at f Hz at most
//     0.25/f; the deepest allowed modulation of 0.1 is at 2.5 Hz, below the
//     band.
//
// The frames themselves step: the output holds a frame until the next, so a
// channel jumps by up to MaxSlew times the frame interval at once (0.01 at
// 50 frames a second, 0.05 after a 100 ms stall). The jumps go one way while
// a ramp lasts and are far below the 0.1 of a change, and what they add at
// the frame rate is a ripple of at most that step in depth.
//
// A slew limit keeps artists' slow work intact: a sunrise over minutes or a
// slow ocean swell passes unchanged, and a frame that asks for no more than
// the limit is shown exactly as asked (by test). What it changes is the
// fast: a strobe becomes a slow ramp that never reaches the strobe's
// extremes (a 10 Hz full-scale strobe at 50 frames a second moves 0.05 in
// each half period: a triangle of depth 0.05 around its start), and a step
// from dark to white takes 2 s.
//
// # The start, other paths and time
//
// The strip starts dark: the first frame after New is limited from all
// zeros, and since no time has passed it is shown dark (the ramp starts with
// the second frame). A frame shown by another path (the safe state's warm
// frame, written straight to the strip) is told to the guard with Reset, so
// that the next frame starts from what the sleeper saw then. Times are on
// the monotonic clock; a frame whose time is not after the last one's moves
// nothing (it is shown as the last output).
//
// Bad requests never pass: a channel that is NaN is held at the last output,
// and every channel is clamped to 0..1 before the limit.
//
// # Episodes
//
// An episode is a run of limited frames in one zone, ended by 1 s
// (EpisodeGap) without limiting there. The caller takes ended episodes with
// Ended after each frame and emits one `guard` event per episode. An episode
// carries its zone, the time of its first and last limited frame, the
// number of limited frames, and the requested and shown colours of its most
// limited frame (the largest channel difference).
//
// # Loading a program
//
// Preview runs a rendered program (its frames and times) through a guard of
// its own from the program's first frame and returns every frame time and
// zone the guard would limit, so that a program that would be changed is
// reported, with the offending keyframes, before it plays.
//
// # Cost
//
// Limit allocates nothing and works on 3 numbers per zone: a frame of 8
// zones (300 LEDs' worth), every zone limited, with its episodes taken,
// costs about 1.5 µs on the project's 2-core development machine
// (go test -run '^$' -bench Limit -benchmem ./actuators/lightguard/).
package lightguard
