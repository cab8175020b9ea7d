package eeg

import (
	"testing"
	"time"
)

// RecentAge is meant to be the midpoint of the segments the recent ratio
// averages (safety dates eeg_arousal's onset there). When the oldest of
// the newest RecentSegments is rejected (a blink in it alone), the ratio
// averages only the newest two, whose midpoint is 3 s before the newest
// sample right after a segment; RecentAge still says 4 s, the midpoint of
// all three, so the ratio is dated a second before the time it
// describes. (With the newest rejected it says 4 s for a midpoint of 5 s,
// late, which is safe.) 30 s of the band tones with a blink at 23 s: the
// newest three segments are 26-30, 24-28 and 22-26 s, the blink in the
// last only.
func TestRecentAgeIsTheMidpointOfTheCleanSegments(t *testing.T) {
	const fs = 250
	opts := DefaultOpts
	opts.Channels, opts.SampleRateHz = 1, fs
	e := newTest(t, opts)
	calm := tones(fs, 0, bandTones[:])
	blink := 23 * fs
	feed(e, 30, 0, func(c, k int) float64 {
		if k == blink {
			return 600
		}
		return calm(c, k)
	})
	r := e.Estimate()
	ch := r.Channels[0]
	if !ch.Valid || !ch.RecentValid {
		t.Fatalf("channel valid %v, recent valid %v: want both (two of the newest three segments are clean)", ch.Valid, ch.RecentValid)
	}
	if ch.RecentAge != 3*time.Second {
		t.Errorf("recent age %v with the oldest of the newest three segments rejected, want 3s (the midpoint of the newest two, which the ratio averages)", ch.RecentAge)
	}
}
