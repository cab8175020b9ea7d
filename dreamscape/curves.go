package dreamscape

import "math"

// Ease is the curve that carries one keyframe's value to the next's: the
// weight of the next keyframe, 0 at the keyframe's time and 1 at the next
// one's, as a function of the fraction f (0..1) of the time between them.
type Ease uint8

const (
	// Linear: f. The default when a keyframe gives no ease.
	Linear Ease = iota
	// Step: 0 until the next keyframe, which takes over at its time.
	Step
	// In: cubic ease-in, f³ (starts slowly).
	In
	// Out: cubic ease-out, 1-(1-f)³ (ends slowly).
	Out
	// InOut: cubic ease-in-out, 4f³ up to f = 1/2, 1-(2-2f)³/2 after
	// (starts and ends slowly).
	InOut
	numEases
)

var easeNames = [numEases]string{Linear: "linear", Step: "step", In: "in", Out: "out", InOut: "in-out"}

// String is the ease's name in a program.
func (e Ease) String() string {
	if e < numEases {
		return easeNames[e]
	}
	return "invalid"
}

func parseEase(s string) (Ease, bool) {
	for e, name := range easeNames {
		if s == name {
			return Ease(e), true
		}
	}
	return 0, false
}

// weight is the next keyframe's weight at fraction f of the way to it,
// 0..1 (f outside 0..1 is clamped).
func (e Ease) weight(f float64) float64 {
	switch {
	case !(f > 0): // NaN too
		return 0
	case f >= 1:
		return 1
	}
	switch e {
	case Step:
		return 0
	case In:
		return f * f * f
	case Out:
		g := 1 - f
		return 1 - g*g*g
	case InOut:
		if f < 0.5 {
			return 4 * f * f * f
		}
		g := 2 - 2*f
		return 1 - g*g*g/2
	}
	return f
}

// Pattern is the envelope of a haptic motor's drive, 0..1, as a function of
// the phase p (0..1) within its period. The keyframe's Intensity scales it.
type Pattern uint8

const (
	// Off: 0, the motor still.
	Off Pattern = iota
	// Steady: 1, a constant drive.
	Steady
	// Pulse: a square wave, 1 for the first half of the period, 0 for the
	// second.
	Pulse
	// Breathe: a raised cosine, (1-cos 2πp)/2: 0 at the period's start,
	// rising to 1 at its middle and back.
	Breathe
	// Wave: a swell that rises slowly and falls fast: half a raised cosine
	// up over the first three quarters of the period, (1-cos(πp/0.75))/2,
	// and down over the last quarter, (1+cos(π(p-0.75)/0.25))/2.
	Wave
	numPatterns
)

var patternNames = [numPatterns]string{Off: "off", Steady: "steady", Pulse: "pulse", Breathe: "breathe", Wave: "wave"}

// String is the pattern's name in a program.
func (p Pattern) String() string {
	if p < numPatterns {
		return patternNames[p]
	}
	return "invalid"
}

func parsePattern(s string) (Pattern, bool) {
	for p, name := range patternNames {
		if s == name {
			return Pattern(p), true
		}
	}
	return 0, false
}

// periodic reports whether the pattern has a period.
func (p Pattern) periodic() bool { return p == Pulse || p == Breathe || p == Wave }

// waveShare is the part of a Wave's period spent rising.
const waveShare = 0.75

// level is the pattern's envelope at phase ph, 0..1 (ph is taken modulo 1).
func (p Pattern) level(ph float64) float64 {
	ph -= math.Floor(ph)
	switch p {
	case Steady:
		return 1
	case Pulse:
		if ph < 0.5 {
			return 1
		}
		return 0
	case Breathe:
		return (1 - math.Cos(2*math.Pi*ph)) / 2
	case Wave:
		if ph < waveShare {
			return (1 - math.Cos(math.Pi*ph/waveShare)) / 2
		}
		return (1 + math.Cos(math.Pi*(ph-waveShare)/(1-waveShare))) / 2
	}
	return 0
}
