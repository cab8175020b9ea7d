package vitals

import "testing"

// The Estimator's doc: "An estimate must therefore be valid again well
// within 5 s of any change of rhythm" (the safety watchdog's
// vitals_stale after 5 s without a valid reading, armed throughout a
// merge); Contact's doc judges a finger on a second of IR (ContactSeconds),
// so one dark sample is not a finger that left. Yet Estimate starts its
// window after the last IR sample below MinDC, as if a finger had just
// arrived: one dark sample (a 40 ms slip of the fingertip, one corrupted
// read) leaves the reading invalid for about 4 s while Contact stays "skin",
// and two of them 2 s apart leave it invalid for 6 s: a vitals_stale
// abort of a merge with a steady 70 bpm, 97 % sleeper on the sensor.
// Polled every 200 ms, as the daemon does (controller.Config.SensorPeriod).
func TestEstimatorStaysValidAcrossSingleDarkSamples(t *testing.T) {
	const fs, stale = 25.0, 5.0 // safety.DefaultLimits' StaleAfter, seconds
	g := newPPG(fs, 70, 97)
	e := NewEstimator(fs)
	g.feed(e, 10)
	invalid, longest := 0.0, 0.0
	for i := range int(10 * fs) {
		red, ir := g.next()
		if i == 0 || i == int(2*fs) {
			ir = 0 // one dark IR sample; red as it was
		}
		e.Add(red, ir)
		if (i+1)%5 != 0 {
			continue
		}
		r := e.Estimate()
		if r.Contact != ContactSkin {
			t.Fatalf("at %.2f s: contact %v, want skin", float64(i+1)/fs, r.Contact)
		}
		if r.Valid() {
			invalid = 0
			continue
		}
		invalid += 5 / fs
		longest = max(longest, invalid)
	}
	if longest >= stale {
		t.Errorf("readings invalid for %.1f s in a row after two single dark samples 2 s apart; want under the watchdog's %.0f s", longest, stale)
	}
}
