package vitals

import (
	"math"
	"testing"
)

// faster returns rec played s times as fast: its pulse at s times its
// rate, the reference beats and spans scaled with it.
func faster(rec recording, s float64) recording {
	out := recording{name: rec.name}
	for i := 0; ; i++ {
		f := float64(i) * s
		j := int(f)
		if j+1 >= len(rec.x) {
			break
		}
		out.x = append(out.x, rec.x[j]+(f-float64(j))*(rec.x[j+1]-rec.x[j]))
	}
	for _, b := range rec.beats {
		out.beats = append(out.beats, b/s)
	}
	for _, e := range rec.excluded {
		out.excluded = append(out.excluded, [2]float64{e[0] / s, e[1] / s})
	}
	for _, e := range rec.noFinger {
		out.noFinger = append(out.noFinger, [2]float64{e[0] / s, e[1] / s})
	}
	return out
}

// MaxHeartRateBPM (250) is the top of what the estimator reads as a
// plausible rate; the upstroke reading stops at maxUpstrokeBPM (180). A
// real alternating pulse above that is not read as invalid but as a
// valid fraction of its rate: a103l (mean 108 bpm) played 1.75 times as
// fast, a supraventricular tachycardia of 190-220 bpm with a103l's
// alternation, reads a valid 55.1 bpm at 135 s (reference 220 bpm, a
// quarter); played twice as fast (216-254 bpm), valid 60-127 bpm on 24 of
// 687 polls, every one of them a half or a quarter. Measured with this
// recording's own reference beats, outside its excluded spans. Before the
// a103l merge the 2x case read no wrong rate (the 125-127 bpm halves come
// from the upstroke reading, whose bound caps the rate it reports, not
// the rate of the pulse it reads); the 1.75x quarter is older. The
// sleeper's tachycardia reads as a normal or low rate: heart_rate_high
// never trips. Correct: a valid rate is the heart's or none; above
// maxUpstrokeBPM an irregular pulse stays invalid (vitals_stale), and
// the systolic peaks' half-rate guard (midBeats) must also hold where
// the candidate bumps come more than once per interval.
func TestReviewAFastAlternatingPulseIsNotReadAsAFraction(t *testing.T) {
	rec := loadRecording(t, "a103l")
	for _, s := range []float64{1.75, 2} {
		sr := faster(rec, s)
		red, ir := sr.counts()
		e := NewEstimator(podRate)
		for i := range ir {
			e.Add(red[i], ir[i])
			if i%5 != 4 {
				continue
			}
			at := float64(i+1) / podRate
			r := e.Estimate()
			if !r.HeartRateValid || sr.inExcluded(at-WindowSeconds, at) {
				continue
			}
			if ref, ok := sr.referenceHR(at-RecentSeconds-0.5, at); ok && math.Abs(ref-r.HeartRateBPM) > 10 {
				t.Errorf("a103l at %.2fx: at %.1f s a valid %.1f bpm, the reference %.1f bpm", s, at, r.HeartRateBPM, ref)
				break
			}
		}
	}
}
