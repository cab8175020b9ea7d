package safety

import (
	"fmt"
	"math"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/sensors/vitals/eda"
	"github.com/sleegation/podd/sensors/vitals/eeg"
	"github.com/sleegation/podd/sensors/vitals/temp"
)

// eeg_arousal dates its onset at the midpoint of the recent ratio's 8 s
// (eeg.Channel.RecentAge) when that ratio first passes the limit. That is
// the time the ratio describes on a steady ramp; on a step (beta's
// amplitude rising 2.8-fold at once, an arousal's burst of beta) the first
// recent ratio past 3 times the baseline's comes as soon as the step fills
// enough of the newest segments, and their midpoint can lie before the
// step: by 0.5 and 1 s here, when the step begins 0.5 or 1 s after a
// segment ended; a larger step, earlier. The package doc ("Dated onsets")
// bounds it: never more than half the recent ratio's span (4 s) before
// the step, so the 30 s delay is never cut by more than that. The heart
// is raised from the start, so it does not hold the onset later. The EEG
// is the real estimator (one channel, 250 sps), fed every 500 ms with the
// samples of that 500 ms; the step begins at a chunk, at each of the four
// offsets from a segment's end. stability_low is kept from tripping first
// (its floor at 0.2 and delay at 30 s: the index stays near 0.22).
func TestEEGArousalDatesAStepAtMostHalfItsSpanEarly(t *testing.T) {
	tones := [eeg.NumBands]struct{ amp, hz float64 }{
		eeg.Delta: {40, 2}, eeg.Theta: {15, 5.25}, eeg.Alpha: {20, 10},
		eeg.Sigma: {8, 14}, eeg.Beta: {5, 20}, eeg.Gamma: {2, 35},
	}
	const fs = 250
	for chunk := range 4 {
		t.Run(fmt.Sprintf("step %d chunks after a segment", chunk), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := DefaultLimits()
				l.StabilityMin, l.StabilityDelay = 0.2, 30*time.Second
				h := newHarness(t, l)
				opts := eeg.DefaultOpts
				opts.Channels, opts.SampleRateHz = 1, fs
				e, err := eeg.New(opts)
				if err != nil {
					t.Fatal(err)
				}
				frame := make([]float64, 1)
				i := 0
				betaGain := 1.0
				add := func() { // 500 ms of samples, then the summary
					for range fs / 2 {
						x := 0.0
						for b, tn := range tones {
							a := tn.amp
							if eeg.Band(b) == eeg.Beta {
								a *= betaGain
							}
							x += a * math.Sin(2*math.Pi*tn.hz*float64(i)/fs)
						}
						frame[0] = x
						e.Add(frame)
						i++
					}
				}
				feed := func(hr float64) {
					now := time.Now()
					h.w.FeedBodyTemp(temp.Reading{At: now, Celsius: 36, Valid: true})
					h.w.FeedSkinConductance(eda.Reading{At: now, TonicMicrosiemens: 2, SCRPerMinute: 1, Valid: true})
					h.w.FeedEEG(now, e.Estimate().Summary)
					h.w.Feed(reading(hr, 97)) // wakes the watchdog
				}
				// 40 s calm (the span fills), the heart at the baseline.
				for range 80 {
					add()
					feed(60)
					time.Sleep(500 * time.Millisecond)
				}
				s := e.Estimate().Summary
				if !s.Valid || !s.RecentValid {
					t.Fatalf("calm EEG: %+v, want valid with a recent ratio", s)
				}
				h.w.SetMerge(true)
				b := mergeBaseline
				b.BetaAlpha = s.BetaAlpha
				h.w.SetBaseline(b)
				// The heart rises to 71 bpm (its concurrent sign) and stays;
				// the EEG stays calm up to `chunk` chunks after a segment
				// ended (one ends every 4 chunks: 40 s of chunks so far).
				for range 20 + chunk {
					add()
					feed(71)
					time.Sleep(500 * time.Millisecond)
				}
				wantNoAbort(t, h, "calm EEG, raised heart")
				// The step's first sample is the first of the next chunk,
				// which describes the 500 ms before its feed.
				step := time.Now()
				betaGain = 2.8
				for range 2 * 45 {
					time.Sleep(500 * time.Millisecond)
					add()
					feed(71)
				}
				synctest.Wait()
				a := wantAbort(t, h, RuleEEGArousal, l.EEGArousalRatio, nil)
				if early := step.Sub(a.Began); early > maxEEGAge/2 || a.At.Sub(step) < l.EEGArousalDelay-maxEEGAge/2 {
					t.Errorf("eeg_arousal began %v before the step in beta (tripped %v after it), want at most %v before it",
						early, a.At.Sub(step), maxEEGAge/2)
				}
				t.Logf("began %v before the step, tripped %v after it", step.Sub(a.Began), a.At.Sub(step))
			})
		})
	}
}
