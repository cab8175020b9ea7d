// Package scenario owns the simulated sleeper's script: the YAML format of a
// scenario (a baseline of vitals and a timeline of ramps, device faults and
// button presses), its validation, and the answers the simulator asks of it
// while it runs: the vitals at a given time, the fault a device has, the
// presses that happened since the last tick.
//
// A Scenario is immutable once Parse or Load has built it, so one value can
// be shared by every simulated device without locking. Times are durations
// since the daemon started; the package has no clock of its own, which keeps
// every answer deterministic and makes runs reproducible.
//
// The shipped scenarios live in sim/scenarios/ as plain files a technician can
// read, copy and edit; the daemon loads one by path.
package scenario
