package eeg

import (
	"testing"
	"time"
)

// RecentAge is the midpoint of the segments the recent ratio averages
// (safety dates eeg_arousal's onset there). When the oldest of the newest
// RecentSegments are rejected (a blink in them alone), the ratio averages
// only the newer ones, and so does the age: the midpoint of all five
// would date the ratio a second before the time it describes. 30 s of the
// band tones with a blink at 23 s: the newest five segments are 26-30,
// 25-29, 24-28, 23-27 and 22-26 s, the blink in the last two only; the
// newest three average to a midpoint 3 s before the newest sample.
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
		t.Fatalf("channel valid %v, recent valid %v: want both (three of the newest five segments are clean)", ch.Valid, ch.RecentValid)
	}
	if ch.RecentAge != 3*time.Second {
		t.Errorf("recent age %v with the oldest two of the newest five segments rejected, want 3s (the midpoint of the newest three, which the ratio averages)", ch.RecentAge)
	}
}
