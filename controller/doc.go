// Package controller is the pod itself: it wires the sensors, the safety
// watchdog, the actuators, the store and the uplink, owns every goroutine that
// joins them, and keeps the pod's state.
//
// # Goroutines
//
// Pod.Run starts, under one errgroup, and stops them all before it returns:
//   - the sensor loop: polls the pulse oximeter's FIFO every SensorPeriod,
//     feeds the vitals estimator and hands each reading to the watchdog
//     (Feed never blocks). A read error resets the estimator and feeds an
//     invalid reading; three failures in a row drop the device, which is
//     reopened (ID check and init again, as after a power loss) every
//     ReopenPeriod. Faults and recoveries are reported once each, as events;
//   - the safety watchdog (package safety), on its own ticker;
//   - the recorder: takes aborts from the watchdog (through a buffered
//     channel filled without blocking), persists the latch, and reports the
//     abort and the state change;
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
// The uplink runs beside them on its own context, cancelled last, so that on
// shutdown the order is: every actuator to its safe state, then the
// "offline" status, then (by the caller) the store is closed.
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
// watchdog's: if the disk fails, the pod stays latched.
package controller
