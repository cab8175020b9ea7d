package eeg

import (
	"math"
	"testing"
)

// The summary's recent ratio is the median over the channels whose recent
// ratio is valid, a different set from the span's (every valid channel)
// whenever artefacts reject the newest segments of some channels only.
// Channels differ in beta/alpha (alpha is strongest at the back of the
// head): the safety watchdog compares the recent median with a baseline
// taken from the span's median, so a set that leaves out the alpha-rich
// channels reads as arousal with nothing changed in any channel. Three
// channels, two alpha-rich (beta/alpha 1/16) and one five times that; a
// movement artefact (the head on the pillow) in the newest segments of
// the two: the recent ratio summary is five times the span's, past
// eeg_arousal's factor of 3, from a sleeper whose every channel is as
// calm as before.
func TestRecentSummaryComparesTheSameChannelsAsTheSpan(t *testing.T) {
	const fs = 250
	opts := DefaultOpts
	opts.Channels, opts.SampleRateHz = 3, fs
	e := newTest(t, opts)
	rich := tones(fs, 0, bandTones[:])
	other := bandTones
	other[Beta].amp *= math.Sqrt(5)
	poor := tones(fs, 0, other[:])
	at := int(39.5 * fs) // in the segments 36-40 and 38-42 s
	feed(e, 42, 0, func(c, k int) float64 {
		if c == 2 {
			return poor(c, k)
		}
		if k == at {
			return 600
		}
		return rich(c, k)
	})
	s := e.Estimate().Summary
	if !s.Valid {
		t.Fatalf("summary invalid: %+v", s)
	}
	if s.RecentValid && s.RecentBetaAlpha > 1.5*s.BetaAlpha {
		t.Errorf("recent beta/alpha %.4f is %.1f times the span's %.4f with no channel's signal changed: the recent median is over channel 2 alone, the span's over all three",
			s.RecentBetaAlpha, s.RecentBetaAlpha/s.BetaAlpha, s.BetaAlpha)
	}
}
