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

	// Contact says whether the sensor sees a body: the pod's evidence that
	// someone lies in it. ContactUnknown when the reading says nothing of
	// it (a sensor that did not answer, or too little signal yet).
	Contact Contact
}

// Contact is what a reading says of the sensor's contact with the sleeper.
type Contact uint8

const (
	// ContactUnknown: no judgement (no samples, a failed read, less than
	// ContactSeconds of signal since the estimator was reset, or a dark
	// second of identical counts: a sensor repeating itself). A
	// sensor that fails says nothing about the sleeper, so the safety
	// watchdog treats this as contact.
	ContactUnknown Contact = iota
	// ContactNone: the sensor answers and sees no finger: the mean IR
	// count of the last ContactSeconds is below MinDC.
	ContactNone
	// ContactSkin: the mean IR count of the last ContactSeconds is at or
	// above MinDC (a clipped signal included: light that saturates the
	// photodiode is not proof of an empty pod).
	ContactSkin
)

// String returns "unknown", "none" or "skin".
func (c Contact) String() string {
	switch c {
	case ContactNone:
		return "none"
	case ContactSkin:
		return "skin"
	}
	return "unknown"
}

// Valid reports whether every vital the safety rules need is known.
func (r Reading) Valid() bool { return r.HeartRateValid && r.SpO2Valid }
