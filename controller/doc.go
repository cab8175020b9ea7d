// Package controller is the pod itself: it wires the sensors, the safety
// watchdog, the actuators, the store and the uplink, owns every goroutine that
// joins them, and keeps the pod's state.
//
// # Safety outlives every other part
//
// Pod.Run starts the safety core first and stops it last:
//   - the safety watchdog (package safety), on its own ticker, whose abort
//     path is a direct call to the actuators' safe state;
//   - the sensor loops: each biometric sensor is kept read by a
//     sensing.Loop (open, poll, retry, reopen, health). The pulse
//     oximeter's (oximeter.go) polls its FIFO every SensorPeriod, feeds the
//     vitals estimator and hands each reading to the watchdog (Feed never
//     blocks). A read the bus refuses (a NACK) feeds an invalid reading but
//     keeps the estimator's window: the chip keeps sampling into its FIFO,
//     and the next good read returns those samples, the estimator bridging
//     the few the chip counted as dropped (vitals.Estimator.Bridge). The
//     refused read is retried at the next period, never later (sensing's
//     backoff capped at SensorPeriod), so the 32-sample FIFO, 1.28 s at
//     25 Hz, never overflows for want of a read; a bus that refuses for
//     longer than the chip can count (holdFIFO, 2.5 s) has the device
//     dropped (sensing.Poll.Reopen). A chip that answers but has delivered
//     no sample for a second (a brown-out reset it), or repeats its
//     samples, resets the estimator and feeds an invalid reading, and three
//     such reads in a row drop the device. A dropped device is opened anew
//     a period later and then every ReopenPeriod while that fails,
//     and meanwhile an invalid reading is fed every period (sensing's
//     Idle): the watchdog hears "unknown", never an old reading. The
//     oximeter's faults are fault events of their own shape (device,
//     active, error); its health and counts are in telemetry's sensors
//     map with the other sensors', whose loops report their own faults
//     by episode (sensorChanged: a fault back within 10 s of its recovery
//     is the same episode, counted) and are watched by the watchdog
//     (sensor_stale). A
//     FIFO overflow is a repeating fault: reported when it starts, when it
//     ends and as a count once a minute while it lasts, never once per
//     poll;
//   - the keepalive: READY=1 to systemd once started, then WATCHDOG=1 and a
//     ping to the hardware watchdog, only while the safety watchdog has
//     evaluated within stalledAfter, every sensor loop has turned (begun
//     an open or a poll) within loopStalledAfter (30 s) and the session
//     loop (which ends merges on their clocks and consent) within
//     sessionStalledAfter (5 s), on the monotonic clock: a loop stuck in
//     a bus transaction that never returns gets the daemon restarted and,
//     failing that, the board rebooted (the watchdog has made the pod safe
//     on the vitals it lost by then). /healthz names such a loop.
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
//   - Acknowledgement: only a local one clears the latch, and it says who
//     asked (AckSource): a caller of the local API, by the uid and pid the
//     kernel gives for its socket (package api, SO_PEERCRED) and the uid's
//     user name, with the caller's note (CleanAckNote: plain text, at most
//     MaxAckNote characters); or the acknowledgement button, held for its
//     hold time. No hub command clears it: package hubcmd has none, and
//     any other name is refused unknown_command and audited as every
//     command is. An ack is refused (ErrRefused) while an alarm condition
//     is still present, whoever asks. Ack hands the request to the
//     recorder and waits at most as long as its context. The recorder
//     stores the events queued before it, then deletes the stored latch
//     and stores the audited ack event in one transaction of the store
//     (uplink.Event.ClearLatch, journal.Store.ClearLatchAudited), and only
//     once that has committed acknowledges the watchdog and answers: no
//     moment, a power cut's or a failing card's, finds the latch gone
//     from the disk without the entry that says who cleared it, and a
//     store that refuses the transaction leaves the pod latched. A caller
//     that gives up before the transaction begins stops it; one that gives
//     up during it is told the ack is not confirmed, and once the
//     transaction commits the ack takes effect all the same, so the
//     watchdog's latch follows the disk's. If a condition came back
//     meanwhile, the watchdog refuses and the latch is written back at
//     once (the ack entry stays, followed in the store by the latch, and
//     is not shown as the last ack). The store interface has no other way
//     to clear the latch.
//     The audited ack event carries the cleared abort's rule
//     and detected_at, the source's kind, uid, pid, user and note, and the
//     time of the acknowledgement (the event's ts, wall clock); the
//     status's last_ack repeats the latest, found again after a start at
//     the end of the audit log (readLastAck: its last lastAckScan entries,
//     read once when the store opens).
//   - The outputs: the gate is closed at start (cmd/podd applies the safe
//     state before anything else) and the recorder opens it only when
//     nothing holds it: no latched abort, the stored latch read, and
//     evidence of safety (the watchdog's SafeFor: valid vitals within every
//     limit, deadbands included, for SettleTime). The same holds after an
//     acknowledgement. Opening uses the gate's generation, so an abort that
//     applies a safe state during the check keeps the outputs dark.
//
// # The night's history
//
// With Parts.History (the journal's Slot in podd) the pod keeps its own
// record of the night for the technician's report and event list; it
// never goes to the broker. The telemetry loop folds each telemetry turn
// into a window of Config.HistoryWindow (10 s), aligned on the wall clock
// (historyWindow): per vital (heart rate, SpO2, skin conductance, body
// temperature, each EEG band, the stability index) the least, mean and
// greatest of the samples that held it, the states seen, the worst safety
// level, the session, the share of samples with the outputs in their safe
// state, whether the show played and the wake ramp's progress. A sample
// in a later window closes the open one into a HistoryPoint; the stop
// closes the last. The recorder copies each event (and reply) once the
// store took it, with its time and the session under way then (an abort
// that ends a merge is recorded after the merge was left, so it carries
// none: the report finds it by time). Both go through AppendHistory, which
// never blocks: a slow or stuck store costs dropped entries, counted in
// HistoryStats, never a delay of the telemetry loop or the recorder, and
// the safety core never touches the history at all.
//
// # The audit log
//
// The store keeps a hash-chained audit log (package journal, "Audit
// log"): what the pod must be able to account for is an entry of it, and
// the event that reports it carries the entry's link (uplink.Event.Audit).
// Audited: every command received ("command": acted on or refused, and
// why; the first refusal of each signed command, and the unauthenticated
// ones as they are reported, within a budget of 5 refilled at 5 a minute;
// the others, and copies of signed commands answered before, are counted,
// and the counts reported in an "unreported" command event as soon as the
// budget allows, so a flood that stops is accounted for too), every
// consent change ("consent": granted, withdrawn, expired), the panic
// ("panic"), the abort ("abort"; again when a start finds its event may be
// lost), its acknowledgement ("ack"), the configuration at start
// ("config": the version and configs.Config.Settings, posted first by
// Run, so it heads each start's entries), a store set aside after damage
// (the "fault" cmd/podd reports; the fresh store's chain starts with the
// journal's own chain_restarted entry), and a loss of audited events from
// the recorder's queue ("dropped", unstored_overflow). State changes,
// other faults and telemetry are not. The entry and its event are stored
// in one transaction, in the recorder's order, so the log follows the
// events; an event kept in memory while the store refuses writes is
// audited when it is stored, with its original time; one the full queue
// lets go (never the config, kept as aborts are) is missing from the log,
// and the audited loss report says how many of which type. Pod.Audit
// reports the chain's extent and its first broken link (the local API's
// GET /v1/audit, podctl audit verify).
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
// # Sessions
//
// The pod's states, as telemetry's state and the status report them:
//
//	starting --latch read--> idle
//	idle --consent + merge/start--> baseline --baseline captured, start time--> merged
//	baseline, merged --merge/end, maximum duration, consent expired, city link lost > 30 s--> ending
//	ending --EndingDuration--> idle
//	baseline, merged, ending --panic, consent withdrawn, merge/abort--> idle (at once)
//	any --a safety rule trips--> aborted --acknowledged locally--> idle
//
// "aborted" is derived from the watchdog's latch, so it reads so from the
// instant of the abort, before the recorder has reported it; the merge
// under way is left (silently: the abort is the event) and consent is
// withdrawn, so a new merge needs the sleeper's consent again.
//
// Which rules are armed (package safety, "Arming"):
//
//	state              sensor sees someone     sensor sees no one        sensor fails
//	idle, aborted      heart rate, SpO2,       heart rate, SpO2,         as someone
//	                   temperature, stale,     temperature
//	                   pipeline
//	baseline..ending   every rule              every rule                every rule
//
// "Every rule" during a merge adds sensor_stale, and, once the baseline
// is captured (merged, ending), the rules compared with it:
// heart_rate_rise, stress, eeg_arousal and stability_low. The baseline, with the
// other sensors' vitals the controller keeps from their estimates
// (sensing.Estimates, body.go), is handed to the watchdog
// (safety.Watchdog.SetBaseline) as the pod joins; every estimate is
// passed on to the watchdog as it comes, without waiting.
//
// The heart-rate, SpO2 and temperature rules act only on valid readings,
// which need a finger on the sensor (the skin's range for the
// thermometer), so an empty pod never latches; vitals_stale and
// pipeline_stalled are what an empty pod disarms outside a merge. Outside a merge a finger off the
// sensor and a sleeper out of the pod look the same, and both disarm it;
// during a merge both trip it. A sensor that fails says nothing about the
// sleeper: its loss trips vitals_stale wherever the pod is.
//
// merge/start (StartMerge) is accepted only with the sleeper's current
// local consent, no latch, the stored latch read, valid vitals now and no
// sensor fault, and no merge under way; a refusal (RefusedError) names
// every condition that failed and changes nothing. The baseline is the
// mean of the valid readings of the last BaselineDuration (1 min) before
// the pod joins, each counted once, every rule armed: with a start time far
// ahead, the minute before it, not the whole wait. A baseline without one
// valid reading ends the merge.
//
// Consent is local: the consent button (a grant for ConsentDuration, 12 h)
// or the local API (a grant with its own expiry, or a withdrawal). It
// expires; an expiry during a merge ends it gracefully. The panic button,
// a withdrawal and a hub's merge/abort end a merge at once: the caller
// applies the outputs' safe state by the direct path (the gate, as the
// watchdog's abort does) before anything else, then the merge is left for
// idle. None of them latches: the panic and the withdrawal are the
// sleeper's choice, and a merge/abort reports no danger this pod found.
// The outputs are held in their safe state for SettleTime after such an
// end (HoldMergeLeft, set before the safe state is applied, so the
// recorder cannot reopen them in between), then light again by the usual
// rule (nothing latched and the vitals within every limit for
// SettleTime).
//
// A merge does not survive a restart of the daemon: the pod starts idle.
//
// # Identify
//
// The hub's identify (Identify) shows a steady IdentifyLight on the whole
// strip for a technician to find the pod, then the ambient light again.
// The sleeper comes first: it is accepted only when the sensor sees no one,
// no merge is under way, nothing is latched and the outputs are open; it
// never opens them, so a pod empty since its start (no evidence of safety)
// refuses it (outputs_held). The light goes through the gate like any
// normal output, so a safe state darkens it at once; the identify records
// the gate's generation when it begins and ends once it changes, and the
// only frame it writes afterwards is the ambient light, through the gate:
// the identify light never reappears after a safe state. The session loop
// ends it at its time, and at once when someone lies down, a merge starts
// or an abort latches. Photosensitivity: each identify is two frames (on,
// off); a second identify during one extends it without a frame, and one
// within IdentifyRest of the last end is refused, so no sequence of
// commands makes the strip flash.
//
// The session's state is guarded by its own mutex; it is changed by the
// callers of StartMerge, EndMerge, AbortMerge, Panic, GrantConsent and
// WithdrawConsent, and by the session loop (a goroutine of
// Run beside the telemetry loop, every 200 ms: the clocks, and leaving a merge on a latch, which the
// recorder also does when it records the abort and before it acknowledges
// one, so an acknowledgement can never resume a merge).
package controller
