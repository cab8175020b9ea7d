// Package vitals turns raw sensor samples into the sleeper's vital signs.
//
// It owns the signal processing only: it never touches a bus, a clock or the
// network. Callers feed it samples and stamp the readings it returns.
//
// The Estimator keeps WindowSeconds (8 s) of samples but measures and checks
// only the beats of the newest RecentSeconds (3.5 s). The safety watchdog
// aborts for stale vitals after 5 s without a valid reading, so a reading
// must follow a fast change of the heart rate (10 bpm/s in a nightmare)
// rather than turn invalid until a whole window has passed: it stays valid
// through such a ramp, lagging about 2.5 s, and is valid again within about
// 3.5 s of an instant jump. See the Estimator's constants for the reasoning.
package vitals

import "time"

// Reading is one estimate of the sleeper's vital signs. A value is meaningful
// only when its Valid flag is set; an invalid value is unknown, never zero.
type Reading struct {
	// At is when the reading was made (monotonic clock of the caller).
	At time.Time

	HeartRateBPM   float64
	HeartRateValid bool

	SpO2Pct   float64
	SpO2Valid bool
}

// Valid reports whether every vital the safety rules need is known.
func (r Reading) Valid() bool { return r.HeartRateValid && r.SpO2Valid }
