// Package playback plays a recording of a real sensor's signal: a CSV file of
// samples that a simulated chip reports instead of the signal it would make
// from the scenario's vitals.
//
// # The file
//
// The first line is a header naming the columns; every other line is one
// row of numbers (a decimal point, optional exponent; surrounding spaces
// and a final \r are ignored, blank lines are skipped). A column `t` holds
// each row's time in seconds, strictly increasing; without it the rows are
// evenly spaced at the rate the caller gives (Options.RateHz, the
// scenario's `rate_hz`). Exactly one of the two gives the timing. The other
// columns are the caller's (Options.Columns): which names a device's file
// may have, and which it must. Values keep the file's units, plus
// Options.Offset (the scenario's `offset`: a recording played at another
// level, its shape kept); scaling them to a chip's range is the chip
// model's job.
//
// Everything is checked when the file is read, so that a bad recording
// stops the simulator before it starts rather than in the middle of a
// night: the file must exist and be a regular file of at most MaxFileBytes,
// the header must name known columns once each, every value must be a
// finite number within ±MaxAbsValue, t must increase, and there must be at
// least two rows. Each error names the file, the line and, for a value, the
// column by number and name.
//
// # Time and interpolation
//
// The first row plays at d = 0, the time the simulator starts; a `t` column
// is taken relative to its first value. At(d) interpolates linearly between
// the two rows around d, so a model samples the recording at whatever rate
// it runs at: an EEG recorded at 200 Hz feeds a 500 sps ADS1299 model, a
// 4 Hz skin conductance feeds a 10 sps ADS1115 model. Linear interpolation
// adds no new extremes (each value lies between its two rows'), which
// matters for a signal a vital sign is computed from; it does low-pass the
// signal a little between rows, which the rates above tolerate.
//
// After the last row At reports ok = false: the recording has ended and
// the device must behave as unplugged (the simulator's hardware maps it to
// a `disconnect` fault on the device's bus). With Options.Loop the
// recording repeats instead; the wrap from the last row to the first takes
// one row interval (1/RateHz, or the mean interval of a `t` column), and is
// interpolated like any other.
//
// A Playback is immutable after Read or Load: At keeps no cursor, so one
// value can be shared by goroutines without locking, and At does not
// allocate (a model calls it for every sample). It finds the row by index
// arithmetic for evenly spaced rows and by binary search over `t`.
package playback
