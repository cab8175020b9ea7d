package safety

import (
	"cmp"
	"time"

	"github.com/sleegation/podd/sensors/vitals"
	"github.com/sleegation/podd/sensors/vitals/eda"
	"github.com/sleegation/podd/sensors/vitals/eeg"
	"github.com/sleegation/podd/sensors/vitals/temp"
)

// MinConditionSeen is the least time a delayed rule's alarm condition must
// have been seen in the reported values, from the evaluation that first
// saw it, before the rule trips, whatever time the values describe: 1 s.
// A rule whose onset is dated back by the values' age (see "Dated
// onsets" in the package doc) trips once the delay has run from that
// onset and this floor has run from the first sight; for spo2_critical
// (2 s) the floor is what ends the wait. It is a constant, and the
// shortest alarm delay the bounds allow (1 s) is not shorter, so no
// configuration lowers it and none makes a rule wait longer on its
// reports than before the onsets were dated.
const MinConditionSeen = time.Second

// maxValueAge bounds how far back a reading's Describes may date an
// onset: the estimator's window (vitals.WindowSeconds). A larger age is a
// reading that cannot be right, and counts as that much.
const maxValueAge = time.Duration(vitals.WindowSeconds * float64(time.Second))

// maxTempAge bounds how far back the thermometer's reading may date an
// onset: the span its estimator averages (temp.SmoothSeconds).
const maxTempAge = time.Duration(temp.SmoothSeconds * float64(time.Second))

// maxSCROnsetAge bounds how far back the skin conductance's newest
// response may date stress's onset: its longest rise
// (eda.MaxRiseSeconds), and as long again for the detector to confirm its
// peak. When the count of responses reaches the limit, the response that
// made it has just been confirmed.
const maxSCROnsetAge = 2 * time.Duration(eda.MaxRiseSeconds*float64(time.Second))

// maxEEGAge bounds how far back the EEG's recent ratio may date
// eeg_arousal's onset: the span of the segments it averages, RecentSegments
// of SegmentSeconds, one every RecentHopSeconds (8 s).
const maxEEGAge = time.Duration((eeg.SegmentSeconds + (eeg.RecentSegments-1)*eeg.RecentHopSeconds) * float64(time.Second))

// agedAt is when a value age old, fed at fed, describes the sleeper on
// the watchdog's clock: fed less age, the age at most limit (a larger one
// cannot be right, and counts as limit); fed itself for an age of zero or
// less.
func agedAt(fed time.Time, age, limit time.Duration) time.Time {
	return fed.Add(-max(min(age, limit), 0))
}

// describedAt is when reading r, fed at now, describes the sleeper on the
// watchdog's clock: now less r's age (vitals.Reading.Age, at most
// maxValueAge); zero for a reading without an age, whose condition is
// dated as before, at the evaluation that sees it. Only the age is taken
// from the reading, never its clock.
func describedAt(r vitals.Reading, now time.Time) time.Time {
	a := min(r.Age(), maxValueAge)
	if a <= 0 {
		return time.Time{}
	}
	return now.Add(-a)
}

// vitalsPast returns the delayed rules on the pulse oximeter's heart rate
// and SpO2 (bit d for rule d) that r judges (its value valid) and those
// whose limit r is past; heart_rate_rise is judged against rise, the
// rise's reference plus HeartRateRiseBPM, when riseOK.
func (l Limits) vitalsPast(r vitals.Reading, rise float64, riseOK bool) (judged, past uint16) {
	var crossed [numDelayed]bool
	if r.HeartRateValid {
		judged |= 1<<dHeartRateHigh | 1<<dHeartRateLow
		crossed[dHeartRateHigh] = r.HeartRateBPM > l.HeartRateHighBPM
		crossed[dHeartRateLow] = r.HeartRateBPM < l.HeartRateLowBPM
		if riseOK {
			judged |= 1 << dHeartRateRise
			crossed[dHeartRateRise] = r.HeartRateBPM > rise
		}
	}
	if r.SpO2Valid {
		judged |= 1<<dSpO2Low | 1<<dSpO2Critical
		crossed[dSpO2Low] = r.SpO2Pct < l.SpO2LowPct
		crossed[dSpO2Critical] = r.SpO2Pct < l.SpO2CriticalPct
	}
	for d, c := range crossed {
		if c {
			past |= 1 << d
		}
	}
	return judged, past
}

// noteWithinLocked keeps, for each rule on the pulse oximeter's vitals
// that the latest reading judges and is not past the limit of, the time
// that reading describes: no onset of that rule may be dated before it.
// Feed calls it for every reading, so one the watchdog never evaluated
// still bounds the dating; condition does the same for every value an
// evaluation judges, of every rule. w.mu must be held.
func (w *Watchdog) noteWithinLocked(now time.Time) {
	rise, riseOK := 0.0, w.merge && w.hasBaseline
	if riseOK {
		rise = w.riseReferenceLocked(now) + w.limits.HeartRateRiseBPM
	}
	judged, past := w.limits.vitalsPast(w.latest, rise, riseOK)
	within := w.described
	if within.IsZero() {
		within = w.lastFeed // a reading without an age describes its feed
	}
	for d := range numDelayed {
		if judged&^past&(1<<d) != 0 {
			// A reading whose age jumps back describes an earlier time
			// than one before it did: the bound never moves back over
			// a time a reading said the sleeper was within the limit.
			w.within[d] = later(w.within[d], within)
		}
	}
}

// onsetLocked is when delayed rule d's alarm condition, first seen at
// now on a value describing the sleeper at described (zero: a value
// without an age, dated now), began: described, but not before the time
// the last value of the rule's vital within its limit described (a delay
// never reaches back over a reading that was within the limit), nor after
// now. w.mu must be held.
func (w *Watchdog) onsetLocked(d delayed, now, described time.Time) time.Time {
	if described.IsZero() {
		return now
	}
	o := later(described, w.within[d])
	if o.After(now) {
		return now
	}
	return o
}

// floor is the least time delayed rule d's condition must have been seen
// before it trips: MinConditionSeen, or the rule's delay if shorter.
func (w *Watchdog) floor(d delayed) time.Duration {
	return min(MinConditionSeen, w.delay(d))
}

// floorMetLocked reports whether delayed rule d, its delay run from its
// dated onset, may trip at now: a reading past its limit was fed at least
// the floor after the first sight (one reading judged again at each tick
// through a silence of the sensor does not count again), so one reading
// past the limit, followed by invalid readings or readings in the
// deadband, never trips early; or the delay has run from the first sight
// itself, the condition held through those readings, as an undated rule
// trips. A dated rule so never trips later than an undated one would.
// w.mu must be held.
func (w *Watchdog) floorMetLocked(d delayed, now time.Time) bool {
	return w.pastAt[d].Sub(w.seen[d]) >= w.floor(d) || now.Sub(w.seen[d]) > w.delay(d)
}

// noteRaisedLocked keeps raisedFrom for the latest reading, fed at now,
// whose heart rate is valid: the time it describes if it is the first of
// a run more than ArousalHeartRateBPM above the baseline's, zero if it is
// not that far above. An invalid heart rate leaves it, as it leaves the
// rules' conditions. w.mu must be held.
func (w *Watchdog) noteRaisedLocked(now time.Time) {
	switch {
	case !w.hasBaseline || w.latest.HeartRateBPM-w.baseline.HeartRateBPM <= ArousalHeartRateBPM:
		w.raisedFrom = time.Time{}
	case w.raisedFrom.IsZero():
		w.raisedFrom = cmp.Or(w.described, now)
	}
}

// tempOnsetLocked is when temperature_low (below) or temperature_high
// says the core passed limit (°C): the time the thermometer's mean
// describes (tempDescribed), but not before its newest sample within the
// limit. The reading carries its samples (temp.Reading.Recent, newest
// first, RecentStep apart, the newest taken at the reading's feed). On a
// ramp the midpoint lies after the last sample within the limit; on a
// step (a probe lifting off the skin) it would lie up to half the mean's
// span before the step, and the last sample within the limit, at most a
// sample period before the step, holds it. When every sample is past the
// limit, the midpoint alone; when the newest is within it (the mean
// lagging a sleeper on the way back), the feed. A reading without samples
// (made by other code) is dated by its midpoint. w.mu must be held.
func (w *Watchdog) tempOnsetLocked(limit float64, below bool) time.Time {
	r := &w.temp
	if r.NumRecent == 0 {
		return w.tempDescribed
	}
	sensor := limit - w.coreOffset
	k := 0
	for k < r.NumRecent && (below && r.Recent[k] < sensor || !below && r.Recent[k] > sensor) {
		k++
	}
	if k == r.NumRecent {
		return w.tempDescribed
	}
	return later(w.tempDescribed, w.tempFed.Add(-time.Duration(k)*r.RecentStep))
}
