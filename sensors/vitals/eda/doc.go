// Package eda turns skin-conductance samples (µS at a few Hz, as the pod's
// ADS1115 measuring circuit delivers them) into a tonic level and phasic
// activity: the skin conductance level (SCL) and responses (SCRs).
//
// It owns the signal processing only: it never touches a bus, a clock or the
// network. Callers feed it samples and stamp the readings it returns.
//
// # Tonic and phasic
//
// The tonic level is the signal low-passed at TonicCutoffHz (0.05 Hz) by a
// second-order Butterworth filter; the phasic component is the signal less
// the tonic. This is the high-pass split of Biopac's AcqKnowledge that
// NeuroKit2 offers as eda_phasic(method="highpass"), made causal (one
// biquad, started at the first sample's level so that it does not ring in):
// a pod has no future samples to filter backwards with. Its group delay at
// 0 Hz is √2/(2π·0.05 Hz) ≈ 4.5 s, which a level that drifts over minutes
// does not notice; on a level that climbs steadily the phasic component
// shows the slope times that lag (0.014 µS at 0.003 µS/s). Deconvolution methods (cvxEDA, Ledalab's CDA) separate
// overlapping responses better but solve an optimisation over a whole
// recording.
//
// SCRs are found trough-to-peak (TTP), the classic method (Boucsein,
// Electrodermal Activity, 2nd ed., 2012; Ledalab's TTP analysis) on the
// signal smoothed over smoothSeconds: a peak is a maximum the signal has
// fallen from by hysteresisFraction of MinSCRMicrosiemens; its trough is
// the lowest point within MaxRiseSeconds before it (and after the previous
// peak), and its amplitude is peak minus trough. Its onset, where the rise
// began, is the last point before the peak within 10 % of the amplitude
// above the trough (the start of the 10-90 % rise time), so that a level
// drifting up before the response, whose lowest point lies at the start
// of the search, does not date it seconds early; Reading.SCROnsetAge is
// how old the newest counted response's onset is. A response counts when its
// amplitude is at least MinSCRMicrosiemens (0.02 µS; the Society for
// Psychophysiological Research's recommendations, Boucsein et al. 2012,
// Psychophysiology 49:1017-1034, name 0.01-0.05 µS as the usual minimum).
// Limiting the rise to MaxRiseSeconds keeps a slow climb of the tonic level
// out: it rises by less than MinSCRMicrosiemens within 5 s unless it climbs
// faster than 0.004 µS/s (0.24 µS a minute). Responses that overlap are
// measured from the trough between them, so the second is measured short
// by the first one's recovery under it: TTP's known bias.
//
// # Validity
//
// The quality rules are Kleckner et al. 2018 ("Simple, transparent, and
// flexible automated quality assessment procedures for ambulatory
// electrodermal activity data", IEEE Trans. Biomed. Eng. 65(7):1460-1467):
// a sample below MinContactMicrosiemens (0.05 µS) is no contact (an
// electrode off the skin, or not on it yet), above MaxMicrosiemens (60 µS)
// out of range, and a change faster than MaxSlopeMicrosiemensPerSecond
// (10 µS/s) an implausible jump (an electrode moving or coming off; a real
// response rises by at most a few µS/s). Added here: a flat signal (the
// same value for FlatSeconds: a stuck converter; real conductance wanders
// by more than a converter's step within seconds). A bad sample starts the
// estimate over: a reading is valid once WindowSeconds of good samples
// have followed the last bad one, so that the SCR count is always over a
// whole minute of skin contact, and until then it says why (the newest
// fault, or "filling" once the samples are good again).
//
// A missing sample (NaN or ±Inf: a failed read) says nothing about the
// skin. Up to MaxGapSeconds of them in a row (the safety watchdog's stale
// limit) make the reading invalid while they last and are then bridged on
// the straight line to the next good sample (judged for a jump over the
// whole gap), so the estimate is valid again with the first sample after
// a glitch; a longer gap starts it over.
//
// The E4 wristband recording in testdata (a very dry wrist, 0.00-0.12 µS)
// is mostly above 0.05 µS: 56 of its 9998 samples lie below, and each such
// dip makes the reading invalid for the minute after it. A measuring circuit
// that reads a dry wrist at 0.02 µS cannot tell it from an electrode off
// the skin; Kleckner et al. chose 0.05 µS on E4 data for that reason.
package eda
