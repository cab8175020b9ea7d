package dreamscape

import (
	"time"

	"github.com/sleegation/podd/actuators/light"
)

// Limits of a program. A file that exceeds one is refused with the limit in
// the error.
const (
	// MaxFileSize bounds a program file, in bytes (1 MiB): room for about
	// 17 tracks of MaxKeyframes keyframes written one a line (some 60
	// bytes each), and small enough that parsing one cannot exhaust a
	// 512 MB board.
	MaxFileSize = 1 << 20
	// MinDuration and MaxDuration bound a program's duration.
	MinDuration = time.Second
	MaxDuration = 24 * time.Hour
	// MaxKeyframes bounds the keyframes of one track.
	MaxKeyframes = 1000
	// MaxTracks bounds the light zones, and separately the haptic places, a
	// program names.
	MaxTracks = 64
	// MaxNameLen bounds a program's name and a zone's or place's name, in
	// bytes.
	MaxNameLen = 64
	// MinPeriod is the shortest haptic pattern period: 1 Hz is already a
	// fast buzz to a sleeper, and anything faster belongs to the motor's
	// own vibration, not to a pattern.
	MinPeriod = time.Second
	// MaxPeriod is the longest haptic pattern period; slower changes are
	// written as keyframes.
	MaxPeriod = 10 * time.Minute
)

// Program is a validated dreamscape: light and haptic keyframes over a
// duration. Parse and Load return only programs that pass Validate; a
// Program built or changed in code is checked again by Bind.
type Program struct {
	// Source names where the program came from (the name given to Parse,
	// the path given to Load); it starts every error about the program.
	Source string
	// Name is the program's own name (its `name` key).
	Name string
	// Duration is the program's length, MinDuration..MaxDuration.
	Duration time.Duration
	// Loop plays the program again from its start at its end; without it
	// the frame at Duration is held.
	Loop bool
	// Lights has one track per light zone, sorted by zone name.
	Lights []LightTrack
	// Haptics has one track per haptic place, sorted by place name.
	Haptics []HapticTrack
}

// LightTrack is the keyframes of one light zone, sorted by At (strictly
// increasing), the first at 0.
type LightTrack struct {
	Zone string
	Keys []LightKey
}

// LightKey is one light keyframe.
type LightKey struct {
	// At is the keyframe's time from the program's start, 0..Duration.
	At time.Duration
	// Hex is the sRGB colour as written ("#rrggbb").
	Hex string
	// Color is Hex's linear light per channel, each 0..1 (light.ParseHex).
	Color light.RGB
	// Level scales Color's linear light, 0..1.
	Level float64
	// Ease is the curve from this keyframe to the next.
	Ease Ease
}

// HapticTrack is the keyframes of one haptic place, sorted by At (strictly
// increasing), the first at 0.
type HapticTrack struct {
	Place string
	Keys  []HapticKey
}

// HapticKey is one haptic keyframe.
type HapticKey struct {
	// At is the keyframe's time from the program's start, 0..Duration.
	At time.Duration
	// Pattern is the envelope of the motor's drive.
	Pattern Pattern
	// Intensity is the pattern's peak drive, 0..1 of the motor's full
	// drive; 0 for Off.
	Intensity float64
	// Period is one cycle of Pulse, Breathe and Wave, MinPeriod..MaxPeriod;
	// 0 for Off and Steady.
	Period time.Duration
	// Ease is the curve from this keyframe to the next.
	Ease Ease
}

// Zones is the light zones the program names, sorted.
func (p *Program) Zones() []string {
	zs := make([]string, len(p.Lights))
	for i, t := range p.Lights {
		zs[i] = t.Zone
	}
	return zs
}

// Places is the haptic places the program names, sorted.
func (p *Program) Places() []string {
	ps := make([]string, len(p.Haptics))
	for i, t := range p.Haptics {
		ps[i] = t.Place
	}
	return ps
}
