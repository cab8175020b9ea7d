// Package eeg turns EEG samples (µV per channel, one frame per sample
// instant, as an ADS1299 delivers them) into band powers per channel and a
// pod-level summary.
//
// It owns the signal processing only: it never touches a bus, a clock or the
// network. Callers feed it frames and stamp the readings it returns.
//
// # Welch band powers
//
// The band powers follow scipy.signal.welch with its defaults for a 4 s
// segment, the convention of the reference eeg_bandpower.csv (testdata/):
// segments of SegmentSeconds with 50 % overlap, a periodic Hann window, the
// segment's mean removed (detrend "constant"), density scaling
// |X_k|² / (fs · Σw²), doubled for the one-sided spectrum, and the segment
// spectra averaged (average "mean"). A band's power is the PSD integrated
// over the band's bins, edges included, by Simpson's rule (as YASA's
// bandpower_from_psd does). With 4 s segments the bins lie 0.25 Hz apart,
// every band edge (0.5, 4, 8, 12, 16, 30, 40 Hz) falls on a bin and every
// band spans an even number of intervals, so the composite Simpson rule
// applies exactly and the bands' integrals add up to the integral over
// 0.5–40 Hz: the relative powers are each band over their sum.
//
// Simpson's weights (1, 4, 2, 4, …, 1) make the rule exact for a smooth
// spectrum such as the EEG's, but not for a line: a pure tone on a bin
// spreads over that bin and its two neighbours (a Hann window's main lobe),
// and integrates to 8/9 of its power when its bin is an even number of
// bins from the band's lower edge and 10/9 when odd. A simulator that
// checks this estimator with tones must expect that, or spread its power
// over a band.
//
// Simpson's rule is linear in the PSD, so integrating each segment's
// periodogram and averaging the band powers equals integrating the averaged
// PSD. The Estimator therefore computes one FFT per channel every
// RecentHopSeconds (1 s) once a segment is full, keeps only that segment's
// six band powers and its verdict (every other one, a hop of
// SegmentSeconds/2, in the span's ring), and an Estimate averages the
// segments of the analysis span (the last SpanSeconds) and of the recent
// ratio: Add does the work once, Estimate is a few hundred additions, and
// neither allocates.
//
// # Validity
//
// Each segment of a channel is judged before its spectrum is taken
// (thresholds are peak-to-peak within the segment, MNE's convention for
// epoch rejection):
//   - non-finite: a NaN or ±Inf sample (a lost sample: a caller that knows
//     samples were lost adds NaN frames for them to keep the time base);
//   - saturated: a sample at the amplifier's full scale (a railed input,
//     typical of a lead that came off);
//   - flat: less than FlatMicrovolts peak-to-peak (a shorted input, a
//     stuck converter: EEG on a scalp is never that still over 4 s);
//   - artefact: more than ArtefactMicrovolts peak-to-peak (movement, large
//     blinks, electrode pops; the sleep EEG's largest waves, K-complexes
//     and slow waves, stay under about 300 µV: 290 µV on the N2 recording
//     in testdata).
//
// A channel is valid when the span holds its full number of segments, the
// newest segment is neither flat nor saturated (a lead that is
// off now measures nothing now, whatever the span held before), and at
// least half of the span's segments are clean. The band powers are the mean
// over the clean segments only: a blink, a turn in bed or a glitch of the
// bus (lost samples, added as NaN) takes out the one or two segments that
// overlap it rather than the whole span. An invalid
// channel names the reason: the span not full yet, or the newest rejected
// segment's fault.
//
// # Summary and arousal indices
//
// The pod-level summary is the median, band by band and index by index,
// over the valid channels: one bad electrode the checks missed moves it
// less than a mean. Two indices of cortical arousal are given per channel
// and summarised. The AASM Manual for the Scoring of Sleep and Associated
// Events defines an arousal as an abrupt shift of EEG frequency to alpha,
// theta or frequencies above 16 Hz (not spindles) for at least 3 s, so:
//   - BetaAlpha, beta/alpha power: the fast activity against the alpha of
//     relaxed wakefulness;
//   - FastSlow, (beta+gamma)/(delta+theta): the activity above 16 Hz
//     against the slow activity of deep sleep; sigma, the spindle band,
//     is left out of both sides as the AASM rule leaves spindles out.
//
// The span's means are steady but slow: on a change they pass half way
// only some 15 s later. RecentBetaAlpha is beta/alpha over the clean
// segments among the newest RecentSegments, taken every second (8 s, at
// least MinRecentClean of them clean), with RecentAge, how long before the
// newest sample the mean of their midpoints lies, the time the ratio of
// means describes on a steady ramp of both powers; the safety watchdog
// judges arousal on it and dates it so (package safety, "Dated onsets").
package eeg
