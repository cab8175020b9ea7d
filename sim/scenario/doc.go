// Package scenario owns the simulated sleeper's script: the YAML format of a
// scenario (a baseline of vitals, a timeline of ramps, device faults, button
// presses, occupancy and signal events, and recordings that replace a
// device's signal), its validation, and the answers the simulator asks of it
// while it runs: the vitals at a given time, the fault a device has, the
// presses and events since the last tick, the recording of a device.
//
// A Scenario is immutable once Parse or Load has built it, so one value can
// be shared by every simulated device without locking. Times are durations
// since the daemon started; the package has no clock of its own, which keeps
// every answer deterministic and makes runs reproducible.
//
// # The format
//
//	name: restless
//	baseline: {heart_rate_bpm: 58, spo2_pct: 97, skin_conductance_us: 2, body_temp_c: 36.6,
//	           eeg: {stage: awake}}                  # optional; awake when left out
//	occupied: true                                   # optional; true when left out
//	timeline:                                        # in time order
//	  - {at: 5m, ramp: 10m, set: {heart_rate_bpm: 52, eeg: {stage: n2}}}
//	  - {at: 20m, ramp: 1m, set: {eeg: {delta: 300, sigma: 30}}}      # µV²
//	  - {at: 21m, fault: {device: ads1299, kind: lead_off, channels: [1, 3], for: 30s}}
//	  - {at: 22m, event: {kind: blink, for: 300ms}}
//	  - {at: 23m, event: {kind: movement, for: 4s}}
//	  - {at: 23m, event: {kind: scr, amplitude_us: 0.4}}
//	  - {at: 30m, press: consent}                     # consent, panic or ack
//	  - {at: 40m, occupied: false}
//	playback:                                         # optional
//	  - {device: max30102, file: recordings/ppg.csv, rate_hz: 100, loop: true}
//	  - {device: tmp117, file: recordings/temp.csv, rate_hz: 4, offset: 4.5}  # added to every value
//
// Vitals ramp linearly from the value they have at the step's `at` (where an
// earlier ramp has got to) to the target; each EEG band is a vital of its
// own, and `eeg: {stage: n2}` targets all six bands at once (StageBands
// gives the powers and their sources). Faults name one of Devices() and a
// kind that applies to it (FaultKindsOf); a later fault of a device replaces
// its current one. Events start at their step; blinks and movements last
// their `for`, an scr's shape is the model's.
//
// # Validation
//
// Every problem is reported at once, one line each, naming the key as a
// path ("timeline[3].fault.channels[1]") and the line of the file. yaml.v3
// decodes strictly (unknown keys and wrong types are its errors, rewritten
// by nodeIndex.explain into the same words); then each top-level key has a
// piece of checker (baseline, timeline, recordings), and each kind of step
// one entry of stepKinds: the key that gives it and the function that
// validates it into a Step. A new kind of step is a new entry, its Step
// field and its case in compile; nothing else grows.
//
// # Answers without allocation
//
// The simulated chips ask for every sample, so Parse compiles the timeline
// into a plan of sorted tables: per vital, its segments by start time
// (VitalsAt binary-searches each: Vitals is a flat struct of floats, the EEG
// a fixed struct, so it is returned by value); per device, its fault spans
// (FaultAt and LeadOffAt, whose channels are a bit set, Channels); the
// presses and events by time (PressesBetween, EventsBetween, the latter
// returning a read-only view of the table, Events). Recordings are loaded
// into package playback's tables when the scenario is: a missing or bad
// file stops the daemon at start, not in the middle of a night, and
// (*playback.Playback).At indexes or binary-searches them.
//
// The shipped scenarios live in sim/scenarios/ as plain files a technician can
// read, copy and edit; the daemon loads one by path. Those that play a
// recording refer to sim/scenarios/recordings/, which names each file's
// source and licence.
package scenario
