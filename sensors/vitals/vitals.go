// Package vitals turns raw sensor samples into the sleeper's vital signs.
//
// It owns the signal processing only: it never touches a bus, a clock or the
// network. Callers feed it samples and stamp the readings it returns.
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
