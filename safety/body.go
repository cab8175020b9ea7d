package safety

import (
	"cmp"
	"fmt"
	"math"
	"time"

	"github.com/sleegation/podd/sensors/vitals/eda"
	"github.com/sleegation/podd/sensors/vitals/eeg"
	"github.com/sleegation/podd/sensors/vitals/temp"
)

// Bounds of Options.CoreOffsetC, °C: no skin site the TMP117 can be
// placed on reads more than 5 °C below the core, nor above it.
const (
	MinCoreOffsetC = 0
	MaxCoreOffsetC = 5
)

// TempLowSeenC is how far below temperature_low_c, °C, the watchdog must
// still see the core: the thermometer's estimator reports a reading below
// temp.MinCelsius (30 °C) as invalid (not skin: the bedding's or the
// room's air), so at a site CoreOffsetC below the core it sees no core
// below temp.MinCelsius + CoreOffsetC. A sleeper whose core lies below the
// limit but beyond what the estimator sees never starts temperature_low's
// delay. 1 °C covers the mild hypothermia the default limit bounds (34 to
// 35 °C), so a cooling sleeper crosses the limit, and one already below it
// lies down within sight of the rule.
const TempLowSeenC = 1.0

// CoreOffsetProblem returns why a thermometer CoreOffsetC °C below the
// core cannot go with l's TemperatureLowC, or nil: the core TempLowSeenC
// below the limit must read at least temp.MinCelsius at the sensor's
// site. The error names the configuration keys
// (sensors.tmp117.core_offset_c first) and what would do.
func CoreOffsetProblem(l Limits, offsetC float64) error {
	// 1e-9: decimal settings (35.3 less 4.3) are not exact in binary.
	if seen := l.TemperatureLowC - TempLowSeenC - offsetC; seen < temp.MinCelsius-1e-9 {
		r := func(x float64) float64 { return math.Round(x*100) / 100 }
		return fmt.Errorf("sensors.tmp117.core_offset_c: %g °C with safety.temperature_low_c %g °C reads a core of %g °C as %g °C, below the %g °C the thermometer's estimator takes for skin: temperature_low could never see a sleeper %g °C below its limit; put the thermometer on warmer skin (a smaller offset, at most %g °C) or raise safety.temperature_low_c to %g °C",
			offsetC, l.TemperatureLowC, r(l.TemperatureLowC-TempLowSeenC), r(seen), temp.MinCelsius, TempLowSeenC,
			r(l.TemperatureLowC-TempLowSeenC-temp.MinCelsius), r(offsetC+TempLowSeenC+temp.MinCelsius))
	}
	return nil
}

// RiseWindow is how far back heart_rate_rise looks for the lowest valid
// heart rate: a rise counts only if it happened within this window.
const RiseWindow = 60 * time.Second

// Baseline is the sleeper's vitals captured before a merge joined: what
// heart_rate_rise, eeg_arousal and stability_low compare the vitals with.
// The heart rate and SpO2 are always there (a baseline has at least one
// valid oximeter reading); each other vital only when its sensor gave a
// valid reading during the capture (its *Valid field).
type Baseline struct {
	HeartRateBPM float64 // bpm
	SpO2Pct      float64 // %
	// SkinConductanceUS is the tonic skin conductance, µS.
	SkinConductanceUS    float64
	SkinConductanceValid bool
	// BodyTempC is the thermometer's reading at its site, °C (not the
	// core: the offset cancels in a deviation).
	BodyTempC      float64
	BodyTempCValid bool
	// BetaAlpha is the EEG summary's beta/alpha power ratio.
	BetaAlpha      float64
	BetaAlphaValid bool
}

// SetBaseline hands the watchdog the session's baseline when the pod joins
// the merge; heart_rate_rise, eeg_arousal and stability_low are armed from
// then until SetMerge(false), which forgets it. Outside a merge it does
// nothing. It does not block.
func (w *Watchdog) SetBaseline(b Baseline) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.merge {
		return
	}
	w.baseline, w.hasBaseline, w.raisedFrom = b, true, time.Time{}
	// The rules compared with the baseline have no condition before it:
	// none of their onsets is dated before now.
	now := time.Now()
	for _, d := range []delayed{dHeartRateRise, dStress, dEEGArousal, dStabilityLow} {
		w.within[d] = later(w.within[d], now)
	}
}

// heartRateWindow keeps the lowest valid heart rate of each of the last
// RiseWindow's seconds, without allocating: slot s%len holds second s
// (counted from the watchdog's base).
type heartRateWindow [61]struct {
	sec int64 // 0: empty (seconds are stored plus one)
	bpm float64
}

func (h *heartRateWindow) add(sec int64, bpm float64) {
	s := &h[sec%int64(len(h))]
	switch {
	case s.sec != sec+1:
		s.sec, s.bpm = sec+1, bpm
	case bpm < s.bpm:
		s.bpm = bpm
	}
}

// lowest returns the lowest rate stored for the seconds within RiseWindow
// of sec, and whether there was one.
func (h *heartRateWindow) lowest(sec int64) (float64, bool) {
	lo, ok := 0.0, false
	from := sec - int64(RiseWindow/time.Second)
	for _, s := range h {
		if s.sec == 0 || s.sec-1 < from || s.sec-1 > sec {
			continue
		}
		if !ok || s.bpm < lo {
			lo, ok = s.bpm, true
		}
	}
	return lo, ok
}

// FeedBodyTemp hands the watchdog the thermometer's latest estimate,
// valid or not, with r.At its time on the monotonic clock (temp.Estimator
// leaves it zero: the caller stamps it). Only a valid estimate fed within
// StaleAfter is judged by temperature_low and temperature_high; an
// invalid one neither starts nor clears their delays. Their onsets are
// dated r.Age (at most temp.SmoothSeconds) before the feed, on the
// watchdog's own clock ("Dated onsets" in the package doc). It stores the
// estimate under a short lock and never blocks on the evaluation.
func (w *Watchdog) FeedBodyTemp(r temp.Reading) {
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.temp, w.tempFed = r, now
	w.tempDescribed = agedAt(now, r.Age, maxTempAge)
}

// FeedSkinConductance hands the watchdog the skin conductance
// estimator's latest reading (tonic level, phasic component, SCRs in the
// last minute), valid or not, with r.At its time on the monotonic clock.
// Only a valid reading fed within StaleAfter is judged (stress, and the
// stability index). stress dates its onset at the newest response's onset
// (r.SCROnsetAge before the feed, at most maxSCROnsetAge), on the
// watchdog's own clock. It never blocks on the evaluation.
func (w *Watchdog) FeedSkinConductance(r eda.Reading) {
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.skin, w.skinFed = r, now
	w.skinDescribed = agedAt(now, r.SCROnsetAge, maxSCROnsetAge)
}

// FeedEEG hands the watchdog the EEG's latest pod summary (relative band
// powers, beta/alpha ratio), valid or not, made at at on the monotonic
// clock. Only a valid summary fed within StaleAfter, with a valid recent
// ratio, is judged (eeg_arousal, and the stability index): its
// RecentBetaAlpha, which describes the time s.RecentAge (at most
// maxEEGAge) before the feed on the watchdog's own clock. It never blocks
// on the evaluation.
func (w *Watchdog) FeedEEG(at time.Time, s eeg.Channel) {
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.eeg, w.eegAt, w.eegFed = s, at, now
	w.eegDescribed = agedAt(now, s.RecentAge, maxEEGAge)
}

// arousalLocked returns the EEG's recent beta/alpha over the baseline's,
// and whether there is one to judge: a valid, fresh summary with a valid
// recent ratio, and a baseline with a positive ratio. w.mu must be held.
func (w *Watchdog) arousalLocked(now time.Time) (float64, bool) {
	e, ok := w.eegLocked(now)
	if !ok || !e.RecentValid || !(e.RecentBetaAlpha > 0) || !w.hasBaseline || !w.baseline.BetaAlphaValid || !(w.baseline.BetaAlpha > 0) {
		return 0, false
	}
	return e.RecentBetaAlpha / w.baseline.BetaAlpha, true
}

// fresh reports whether a reading made at at is recent enough to judge.
func (w *Watchdog) fresh(now, at time.Time) bool {
	return !at.IsZero() && now.Sub(at) <= w.limits.StaleAfter
}

// coreTempLocked returns the core temperature (the thermometer's valid,
// fresh reading plus the core offset) and whether there is one. w.mu must
// be held.
func (w *Watchdog) coreTempLocked(now time.Time) (float64, bool) {
	if !w.temp.Valid || !w.fresh(now, w.temp.At) {
		return 0, false
	}
	return w.temp.Celsius + w.coreOffset, true
}

// skinLocked returns the valid, fresh skin conductance reading, if any.
// w.mu must be held.
func (w *Watchdog) skinLocked(now time.Time) (eda.Reading, bool) {
	return w.skin, w.skin.Valid && w.fresh(now, w.skin.At)
}

// eegLocked returns the valid, fresh EEG summary, if any. w.mu must be
// held.
func (w *Watchdog) eegLocked(now time.Time) (eeg.Channel, bool) {
	return w.eeg, w.eeg.Valid && w.fresh(now, w.eegAt)
}

// stabilityAtLocked is when the stability index computed from d describes
// the sleeper, and when the readings it rests on were all fed again: the
// later of the times each vital that counts in it (a deviation towards
// danger, Stability's) describes, the heart rate's reading for the heart
// rate and SpO2, the thermometer's mean, the tonic skin conductance's
// level (eda.TonicDelay before its feed) and the EEG's recent ratio, and
// the earliest of their feeds (the floor counts an index past the limit
// only once every vital in it was fed again); a vital that counts for
// nothing bears on neither. With none, the heart rate reading's. w.mu
// must be held.
func (w *Watchdog) stabilityAtLocked(d Deviations) (described, fed time.Time) {
	heart := cmp.Or(w.described, w.lastFeed)
	count := func(at, f time.Time) {
		described = later(described, at)
		if fed.IsZero() || f.Before(fed) {
			fed = f
		}
	}
	if d.HeartRateBPM > 0 || d.SpO2Pct < 0 {
		count(heart, w.lastFeed)
	}
	if math.Abs(d.BodyTempC) > stabilityTempBandC {
		count(w.tempDescribed, w.tempFed)
	}
	if d.SkinConductanceRatio > 1 {
		count(agedAt(w.skinFed, eda.TonicDelay, eda.TonicDelay), w.skinFed)
	}
	if d.BetaAlphaRatio > 1 && d.HeartRateBPM > 0 {
		count(w.eegDescribed, w.eegFed)
	}
	return cmp.Or(described, heart), cmp.Or(fed, w.lastFeed)
}

// deviationsLocked are the current vitals' deviations from the baseline,
// for Stability: each vital valid now and in the baseline counts. w.mu
// must be held, with a baseline.
func (w *Watchdog) deviationsLocked(now time.Time) Deviations {
	var d Deviations
	b := w.baseline
	if r := w.latest; r.HeartRateValid && w.fresh(now, w.lastFeed) {
		d.HeartRateBPM = r.HeartRateBPM - b.HeartRateBPM
	}
	if r := w.latest; r.SpO2Valid && w.fresh(now, w.lastFeed) {
		d.SpO2Pct = r.SpO2Pct - b.SpO2Pct
	}
	if b.BodyTempCValid && w.temp.Valid && w.fresh(now, w.temp.At) {
		d.BodyTempC = w.temp.Celsius - b.BodyTempC
	}
	if s, ok := w.skinLocked(now); ok && b.SkinConductanceValid && b.SkinConductanceUS > 0 && s.TonicMicrosiemens > 0 {
		d.SkinConductanceRatio = s.TonicMicrosiemens / b.SkinConductanceUS
	}
	if x, ok := w.arousalLocked(now); ok {
		d.BetaAlphaRatio = x
	}
	return d
}
