// Package temp turns a body-contact temperature sensor's samples (°C, about
// one a second, as the pod's TMP117 delivers them) into the sleeper's skin
// temperature, with a validity that tells a sensor on the body from one
// that is not.
//
// It owns the signal processing only: it never touches a bus, a clock or the
// network. Callers feed it samples and stamp the readings it returns.
//
// The temperature is the mean of the last SmoothSeconds of samples: it takes
// a converter's step and the sensor's noise off the reading (the E4's
// steps are 0.01-0.02 °C; the TMP117's 0.0078 °C) and lags a real change by
// SmoothSeconds/2, nothing against how slowly skin temperature moves.
//
// Validity:
//   - a sample outside MinCelsius..MaxCelsius (30-40 °C) is not skin: the
//     range Kleckner et al. 2018 (IEEE Trans. Biomed. Eng. 65(7):1460-1467)
//     use for a wrist sensor's skin temperature; a sensor in the bedding's
//     or the room's air reads below it. Core temperature lies above skin
//     temperature, so a fever of up to about 42 °C core still reads within
//     range on the skin;
//   - a rate of change over RateSeconds faster than MaxRateCelsiusPerMinute
//     (1 °C a minute) either way: a sensor falling off the body cools
//     towards the room at several °C a minute, one put on warms as fast,
//     while a sleeper's skin temperature changes over tens of minutes (the
//     distal warming at sleep onset, Kräuchi et al. 1999, Nature 401:36,
//     is 1-2 °C in half an hour or more). The rate is the least-squares
//     slope of the raw samples over RateSeconds, so one noisy sample does
//     not make it; a sensor that falls off is caught by its slope within
//     seconds, before it cools out of range.
//
// A bad sample starts the estimate over: a reading is valid once RateSeconds
// of good samples have followed it (the slope needs them), and the rate
// check holds it invalid for as long as the temperature moves too fast.
//
// A missing sample (NaN or ±Inf: a failed read) says nothing about the
// skin. Up to MaxGapSeconds of them in a row (the safety watchdog's stale
// limit) make the reading invalid while they last and are then bridged on
// the straight line to the next good sample, so the estimate is valid
// again with the first sample after a glitch; a longer gap starts it over.
package temp
