// Package controller is the pod itself: it wires the sensors, the safety
// watchdog, the actuators, the store and the uplink, owns every goroutine that
// joins them, and keeps the pod's state.
//
// # Goroutines
//
// Pod.Run starts, under one errgroup, and stops them all before it returns:
//   - the sensor loop: polls the pulse oximeter's FIFO every SensorPeriod,
//     feeds the vitals estimator and hands each reading to the watchdog
//     (Feed never blocks). A read error, or a chip that answers but has
//     delivered no sample for a second (a brown-out reset it), resets the
//     estimator and feeds an invalid reading; three failures in a row drop
//     the device, which is reopened (ID check and init again) every
//     ReopenPeriod. Faults and recoveries are posted to the recorder, once
//     each, without waiting: the sensor loop never touches the store;
//   - the safety watchdog (package safety), on its own ticker;
//   - the recorder: takes aborts from the watchdog (through a buffered
//     channel filled without blocking), stores the latch (retrying every
//     second if the store refuses), reports the abort and the state change,
//     records the events the loops post, and retries reopening the outputs
//     when an ack found one still halting;
//   - the telemetry loop: every telemetry interval appends one record to the
//     outbox through the uplink;
//   - the keepalive: READY=1 to systemd once started, then WATCHDOG=1 to
//     systemd and a ping to the hardware watchdog, only while the safety
//     watchdog is evaluating;
//   - any extra services (the local API, the simulated hardware).
//
// Before any of them starts, Run reads the stored latch and re-latches the
// watchdog (the outputs stay dark meanwhile); the recorder reports the
// starting state once everything runs, so a store or uplink that hangs at
// start-up cannot keep the watchdog from running.
//
// # Shutdown
//
// When the context ends (SIGTERM) or a part fails, the first thing done is
// the outputs' safe state, by a goroutine that waits for nothing else (and at
// most two seconds for the outputs). Then Run waits for its parts, at most
// stopGrace: a part stuck on a dying SD card or a wedged bus is left behind,
// since the process is exiting. Then the uplink, which runs on its own
// context, is stopped and publishes "offline"; then the caller closes the
// store.
//
// # State
//
// The state is derived, never stored twice: "aborted" while the watchdog has
// a latched abort, "idle" otherwise. The latch itself is persisted by the
// recorder so that a restart comes back aborted. Safety never waits on the
// recorder: the actuators are already safe when it hears of an abort.
//
// # Acknowledgement
//
// A local Ack clears a latch only once it is recorded (so the store never
// keeps a latch the watchdog has cleared), only while no alarm condition is
// present (the watchdog decides), and clears the stored latch before the
// watchdog's: if the disk fails, the pod stays latched. It reopens the
// outputs only if no safe state was applied since it began (a new abort, the
// shutdown): actuators.Gate counts them.
package controller
