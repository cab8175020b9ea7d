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
//
// Systolic peaks are found by their rise (height above the lowest point
// since the last higher sample), each compared with the rises of the beats
// within 1.5 s of it rather than with the tallest peak of the span: a
// dicrotic wave rises only from its notch and stays out, and neither an
// artefact nor a strong beat seconds away hides the current pulse. The
// signal before a finger arrived (IR below MinDC) is left out of the
// window, since its step to a finger's level would otherwise be the
// largest "beat" of all.
//
// SpO2 is mapped from the ratio of ratios by Maxim's AN6845 curve, chosen
// over the linear 110 − 25·R and Maxim's older reference curve because on
// red/IR recordings of a Maxim chip against a reference oximeter it reads
// nearest the truth in a desaturation (see SpO2FromRatio).
//
// When the systolic peaks are no regular pulse, because some beats of an
// alternating pulse are too weak to pass against their neighbours and
// others are not, the pulse is read by its upstrokes instead (the local
// maxima of its slope: every beat has one, also a weak beat whose top is
// only a shoulder), at most 180 bpm, with checks on the beats' shape in
// place of their amplitude (upstroke.go). A regular pulse with a bump of
// at least altRise (15 %) of its beats in the middle of every interval
// stays invalid: the bump may be the weak beat of alternans (the rate
// twice the peaks') or a diastolic wave (the rate the peaks'); so does
// one with a weak beat's upstroke half way between every two beats read,
// or more upstrokes per beat than a pulse has (halfrate.go). A weaker
// bump is not seen: weak beats of 10 % of the strong ones under noise of
// about 5 % of the pulse are read as a valid half rate (measured at 120
// and 140 bpm), a limit of this estimator; so is a weak beat whose foot
// falls on the top of the strong beat's diastolic wave (at 150-160 bpm
// with the wave 0.25-0.3 s after systole): the two merge into one hump
// that looks like a diastolic wave, and the pulse reads half its rate.
// Above 152 bpm a reading whose every other beat is weaker is invalid:
// it may be a pulse of half that rate with its diastolic waves counted.
//
// A reading is invalid once its next beat is overdue (more than 1.25
// intervals after the newest), so a pulse that stops is seen within
// about a beat rather than after the old beats leave RecentSeconds.
//
// recordings_test.go plays real recordings (testdata/) to the Estimator as
// the pod plays its chip and scores it against reference beats; the
// figures are in docs/sensing.md.
package vitals

import "time"

// Reading is one estimate of the sleeper's vital signs. A value is meaningful
// only when its Valid flag is set; an invalid value is unknown, never zero.
type Reading struct {
	// At is when the reading was made (monotonic clock of the caller).
	At time.Time
	// Describes is when the sleeper had the values reported, on At's
	// clock: the midpoint of the span of beats the heart rate and SpO2
	// were measured over (the mean over a steady ramp is the value at its
	// midpoint), 1.5 to 2.5 s before At at RecentSeconds (3.5 s), up to
	// about 5 s for a pulse near MinHeartRateBPM. Stamp sets it from the
	// Estimator's span. Zero when the reading says nothing of it (an
	// invalid reading, one made by other code): the values are then taken
	// to describe At (Age 0).
	Describes time.Time

	HeartRateBPM   float64
	HeartRateValid bool

	SpO2Pct   float64
	SpO2Valid bool
	// Ratio is the ratio of ratios R = (AC_red/DC_red)/(AC_ir/DC_ir) the
	// SpO2 is computed from, measured whenever the heart rate is valid,
	// also when it lies outside the range SpO2 is given for (then
	// SpO2Valid is false); 0 when not measured. A ratio far above any a
	// sleeper who is well shows is how swapped red and IR channels show.
	Ratio float64

	// age is how long before the newest sample the values describe, set by
	// Estimate with a valid heart rate; Stamp turns it into Describes.
	age time.Duration

	// Contact says whether the sensor sees a body: the pod's evidence that
	// someone lies in it. ContactUnknown when the reading says nothing of
	// it (a sensor that did not answer, or too little signal yet).
	Contact Contact
}

// Contact is what a reading says of the sensor's contact with the sleeper.
type Contact uint8

const (
	// ContactUnknown: no judgement (no samples, a failed read, less than
	// ContactSeconds of signal since the estimator was reset, a dark
	// second of identical counts: a sensor repeating itself, or a dark IR
	// channel while red sees a finger: a failed IR LED). A
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

// Stamp sets At to at, the time the newest sample was read on the caller's
// clock, and, for a reading whose Estimator measured a span of beats,
// Describes to at less the age of the values: how long before the newest
// sample the span's midpoint lies. A reading from anything but Estimate
// gets At only.
func (r *Reading) Stamp(at time.Time) {
	r.At = at
	r.Describes = time.Time{}
	if r.age > 0 {
		r.Describes = at.Add(-r.age)
	}
}

// Age is how long before At the reported values describe the sleeper:
// At less Describes, never negative: 0 when Describes is zero or
// not before At (a reading that says nothing of its age is taken to
// describe the moment it was made).
func (r Reading) Age() time.Duration {
	if r.Describes.IsZero() || !r.Describes.Before(r.At) {
		return 0
	}
	return r.At.Sub(r.Describes)
}
