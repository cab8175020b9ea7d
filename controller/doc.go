// Package controller is the pod itself: it wires the sensors, the safety
// watchdog, the actuators, the store and the uplink, owns every goroutine that
// joins them, and keeps the pod's state.
//
// # Safety outlives every other part
//
// Pod.Run starts the safety core first and stops it last:
//   - the safety watchdog (package safety), on its own ticker, whose abort
//     path is a direct call to the actuators' safe state;
//   - the sensor loop: polls the pulse oximeter's FIFO every SensorPeriod,
//     feeds the vitals estimator and hands each reading to the watchdog
//     (Feed never blocks). A read error, or a chip that answers but has
//     delivered no sample for a second (a brown-out reset it), resets the
//     estimator and feeds an invalid reading; three failures in a row drop
//     the device, which is reopened every ReopenPeriod. A FIFO overflow is a
//     repeating fault: reported when it starts, when it ends and as a count
//     once a minute while it lasts, never once per poll;
//   - the keepalive: READY=1 to systemd once started, then WATCHDOG=1 and a
//     ping to the hardware watchdog, only while the safety watchdog has
//     evaluated within stalledAfter on the monotonic clock.
//
// Every other part (the store, the uplink, the local API, the metrics
// listener, the simulator) is a Part run by a supervisor: a part that fails
// (returns an error, or panics) is reported (log, Status.Parts, /healthz, and
// a fault event naming the part), then started again after a capped,
// jittered backoff (1 s doubling to 30 s). No part's failure reaches the
// safety core: the supervisor never returns an error to Run.
//
// # The recorder
//
// One goroutine, the recorder, is the only writer of the store and the only
// one that opens the outputs. Nothing on the safety path waits for it.
//
//   - Events (abort, state, fault, ack, dropped) are put on an in-memory
//     queue that never blocks the one who posts (loops, the watchdog's
//     OnAbort, the supervisor). The recorder appends them to the store in
//     order, with their original time; an append that fails leaves the
//     event at the head of the queue and is retried every second. The queue
//     holds maxUnstored events: when full, the oldest event that is not an
//     abort is let go, and a "dropped" event with the count and the types
//     lost is stored ahead of the rest once the store accepts writes again.
//   - The latch: the watchdog's latched abort is the truth; the recorder
//     writes it to the store until the store confirms it (Status says
//     "unsaved" meanwhile). When the store first opens, the recorder reads
//     the stored latch: an abort latched by an earlier run is restored into
//     the watchdog (which applies the safe state again); an unreadable one is
//     restored as latch_unreadable. Until that read, the latch is "unknown".
//     The latch is stored before its abort event, each in a commit of its
//     own, and marked reported once the event is stored too; a start that
//     restores a latch not marked reported (the run before was killed
//     between the two) posts its abort event again. A kill after the
//     event's commit and before the mark therefore sends the abort twice,
//     under two seqs, with the same detected_at.
//   - Acknowledgement: Ack hands the request to the recorder and waits at
//     most as long as its context. The recorder clears the stored latch
//     before the watchdog's, so a failing disk leaves the pod latched; if
//     the caller gave up while the store was being written, the latch is
//     written back and the watchdog is not acknowledged.
//   - The outputs: the gate is closed at start (cmd/podd applies the safe
//     state before anything else) and the recorder opens it only when
//     nothing holds it: no latched abort, the stored latch read, and
//     evidence of safety (the watchdog's SafeFor: valid vitals within every
//     limit, deadbands included, for SettleTime). The same holds after an
//     acknowledgement. Opening uses the gate's generation, so an abort that
//     applies a safe state during the check keeps the outputs dark.
//
// # Stopping
//
// When the context ends (SIGTERM), the gate is sealed (it can never open
// again) and the outputs' safe state is applied, waiting at most
// safeStateTimeout, by a goroutine that waits for nothing else. Run then
// waits for the safety core, the recorder and the parts at most stopGrace,
// stops the uplink (which publishes "offline" within its own StopTimeout)
// and waits for it at most uplinkGrace, then stops the parts marked
// AfterUplink (the embedded broker) within lateGrace. Parts still stuck then (a dead SD
// card, a frozen broker) are left behind: the process is exiting. The whole
// of Run's stop is bounded by stopBudget, which leaves the caller time to
// close the store and the hardware watchdog well within systemd's
// TimeoutStopSec (10 s in podd.service).
//
// # State
//
// "aborted" while the watchdog has a latched abort, "idle" otherwise. The
// state is derived from the watchdog, so it reads "aborted" from the
// instant of the abort, before the recorder has reported it.
package controller
