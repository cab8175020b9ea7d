// Package safety is the pod's local watchdog: it decides, from the pod's own
// vitals and its own clock, whether the sleeper is safe, and when a rule trips
// it puts every actuator into its safe state by a direct call and latches.
//
// # Design
//
// The watchdog is one goroutine (Run) with its own ticker. Sensor code hands it
// readings with Feed (the pulse oximeter), FeedBodyTemp, FeedSkinConductance
// and FeedEEG (the other sensors' estimates, as sensing.Estimates), each of
// which only stores the latest reading under a short lock:
// a slow or stuck sensor loop can never block the watchdog, and the watchdog
// can never block a sensor loop. Each tick evaluates every rule against the
// latest reading and the watchdog's own clock, so a sensor loop that stops
// feeding is caught by the stale rule, not by the sensor loop itself. Feed
// also wakes the goroutine to evaluate the pulse oximeter's reading at
// once, by a send on a channel of one that never blocks (a wake already
// pending takes the reading along), so a crossing is judged as it is fed
// rather than up to a period later; the safe state is still applied by
// the watchdog's goroutine, never the sensor loop's.
//
// Rules (defaults from adult bedside monitors, bounds in Limits):
//   - heart_rate_high / heart_rate_low: a valid heart rate beyond its limit for
//     longer than HeartRateDelay;
//   - spo2_low: a valid SpO2 below its limit for longer than SpO2Delay;
//   - spo2_critical: a valid SpO2 below SpO2CriticalPct (85 %) for longer
//     than SpO2CriticalDelay (2 s): a deep desaturation, acted on before
//     spo2_low's delay has run (checked first when both trip at once);
//   - vitals_stale: no valid reading (heart rate and SpO2 both valid) for
//     longer than StaleAfter. At start the first valid reading is granted
//     StartupGrace on top, because the estimator needs a window of samples
//     before it can report anything: with the defaults the pod aborts for
//     missing vitals 20 s after start at the earliest;
//   - sensor_stale: during a merge, a biometric sensor besides the pulse
//     oximeter (WatchSensors: the EEG front end, the skin conductance ADC,
//     the thermometer) not healthy (sensing.Health: stale, failing on its
//     bus, flat, saturated, electrodes off, no contact) for longer than
//     StaleAfter, counted from the latest of when it stopped being
//     healthy (for a stale sensor, its last fresh data), when the merge
//     began and the end of the start-up grace. The abort's Detail names
//     the sensor and its state; its Limit is StaleAfter, in seconds. The
//     watchdog asks each sensor's loop for its health on every tick, so a
//     loop stuck in a bus transaction is seen as stale too. Outside a
//     merge it is not armed: those sensors watch the merge's sleeper, and
//     an empty pod's electrodes are off. The EEG's electrodes off
//     (lead_off) is such a state: during a merge it trips sensor_stale.
//     A sensor healthy again ends its episode only once it has stayed
//     healthy for StaleAfter/SensorSettle (1 s by default; see
//     "sensor_stale's episodes");
//   - pipeline_stalled: no reading fed at all, valid or not, for longer
//     than PipelineStallAfter (1 s), armed as vitals_stale is and granted
//     the same start-up grace. The pulse oximeter's loop feeds a reading
//     every period even while its chip fails (sensing's Idle), so silence
//     means the loop itself is stuck: caught in a second, not in
//     StaleAfter;
//   - heart_rate_rise: during a merge, once the session's baseline is set
//     (SetBaseline), a valid heart rate more than HeartRateRiseBPM (40)
//     above both the baseline's and the lowest valid rate of the last
//     RiseWindow (60 s, kept per second without allocating), for longer
//     than HeartRateDelay. The second reference makes it a rise within
//     the minute: a rate that climbed slowly is heart_rate_high's;
//   - temperature_low / temperature_high: the core temperature (a valid
//     thermometer estimate plus Options.CoreOffsetC: the TMP117 reads the
//     skin where it lies, a wrist 3 to 5 °C below the core) below 35.0 or
//     above 38.5 °C for longer than TemperatureDelay (60 s). Always armed,
//     as the heart-rate rules are: the estimator reports a valid
//     temperature only in the skin's range (30..40 °C), so a thermometer
//     in an empty pod's air trips nothing. For the same reason New (and
//     the configuration) refuses a CoreOffsetC that would hide a core
//     TempLowSeenC (1 °C) below TemperatureLowC under 30 °C at the site
//     (CoreOffsetProblem): temperature_low could never trip;
//   - stress: during a merge with a baseline, a valid skin conductance
//     reading with at least StressSCRPerMin (12) responses in its last
//     minute, with the heart rate more than ArousalHeartRateBPM (10)
//     above the baseline's, for longer than StressDelay (2 min).
//     Responses per minute, not the phasic amplitude: the count does not
//     depend on the electrodes' site and contact (a dry wrist reads 0.1
//     µS, a palm 10 µS), and the rate of non-specific responses is the
//     classic index of arousal (Boucsein, Electrodermal Activity, 2012: 1
//     to 3 a minute at rest, above 10 under strain). The E4 recording
//     (sim/scenarios/eda-e4.yaml) reaches 2 a minute at most. The heart's
//     rise is there for slow-wave sleep (see "Concurrent heart rate");
//   - eeg_arousal: during a merge with a baseline, the EEG summary's
//     recent beta/alpha power ratio (eeg.Channel.RecentBetaAlpha, its
//     newest 8 s; the baseline's is the 30 s span's) above
//     EEGArousalRatio (3) times the baseline's, with the heart rate more
//     than ArousalHeartRateBPM above the baseline's, for longer than
//     EEGArousalDelay (30 s): cortical arousal shifts power from alpha to
//     beta. The alarm delay, not a long average, is what makes it
//     sustained. The heart's rise is there for REM sleep (see
//     "Concurrent heart rate");
//   - stability_low: during a merge with a baseline, the stability index
//     below StabilityMin (0.3) for longer than StabilityDelay (10 s).
//
// Every delayed rule has an IEC 60601-1-8 priority (Priority): high for
// an immediate danger, medium for the slower ones; the rule table shows
// it. When a delayed rule's delay starts, the watchdog calls OnWarning
// (after releasing its lock, never for an evaluation that trips), once
// per episode: the condition must clear past its deadband before the rule
// warns again. The controller posts it as a "warning" event. Only valid readings judged fresh (fed within StaleAfter) start or
// clear a condition of the thermometer, skin conductance and EEG rules;
// an estimate that stops coming is sensor_stale's.
//
// # Concurrent heart rate
//
// The baseline is the minute before the join: relaxed wakefulness, eyes
// closed, alpha at its strongest. Two normal stages of every night look
// aroused against it on one sensor alone:
//   - REM sleep's EEG is low-amplitude, mixed-frequency, theta and little
//     alpha (the AASM Manual for the Scoring of Sleep and Associated
//     Events), so beta/alpha runs 3 to 6 times the baseline's for the
//     whole REM period, 10 to 30 min several times a night. The AASM
//     manual itself scores an arousal in REM only with a concurrent rise
//     of the chin's EMG, because REM's EEG alone resembles wakefulness;
//   - slow-wave sleep has bursts of skin conductance responses ("storms")
//     above 12 a minute that last many minutes (Sano, Picard and
//     Stickgold, Int J Psychophysiol 2014), in the stage whose heart rate
//     is the lowest of the night.
//
// The pod has no EMG; what it has is the heart. A cortical arousal from
// sleep comes with a rise of the heart rate within a few beats (Sforza,
// Jouny and Ibanez, Clin Neurophysiol 2000), a stress response speeds
// the heart as it makes the skin respond, and sleep itself brings the
// heart below the waking baseline in every stage. So stress and eeg_arousal need the heart rate
// more than ArousalHeartRateBPM (10 bpm) above the baseline's along with
// their own sign: a condition starts only when both hold, and clears
// when either comes back past its deadband (the heart rate's is 5 bpm).
// A nightmare or strain with a racing heart trips them as before; REM
// and a storm with a calm heart do not. A heart rate that is not valid
// neither starts nor clears them. The price: an arousal with a heart
// less than 10 bpm above the relaxed-wake baseline is not caught by
// these two rules; the stability index still weighs the tonic skin
// conductance on its own.
//
// # Stability index
//
// Stability(d) = 1 / (1 + D²), D² = Σ uᵢ²: each vital's deviation from
// the session's baseline towards danger, uᵢ, in units of a scale, the
// deviation at which that vital alone halves the index:
//   - the heart rate's rise, per 40 bpm (the rise heart_rate_rise acts on);
//   - SpO2's fall, per 5 % (a sleeper's 95 % to spo2_low's 90 %);
//   - the thermometer's site more than 2 °C from the baseline either way,
//     per 1 °C beyond those 2: the distal skin warms by 1 to 2 °C as
//     sleep begins and swings as much through the night (Kräuchi et al.,
//     Nature 1999; Sarabia et al., Physiol Behav 2008), so only a move
//     beyond a sleeping body's range counts;
//   - the tonic skin conductance's rise, per factor 2, on a log scale;
//   - the EEG's recent beta/alpha ratio's rise, per factor 3 (eeg_arousal's), on
//     a log scale, weighed by the heart rate's rise up to
//     ArousalHeartRateBPM (0 with a calm heart, whole from 10 bpm on), for
//     REM's sake as eeg_arousal (see "Concurrent heart rate").
//
// A deviation away from danger is no deviation: a slower heart, a higher
// SpO2, a drier skin and less beta are what falling asleep looks like
// against a baseline of relaxed wakefulness (heart rate 66 to 52 bpm,
// tonic conductance 2.0 to 0.8 µS, beta/alpha a half), and counting them
// would abort a merge for a sleeper who only sleeps. So the index is 1 at
// the baseline and on a calming sleeper, non-increasing in each deviation
// towards danger, unchanged by any deviation away from it. D² is a
// squared distance from the baseline with the vitals taken as
// independent, one-sided; 1/(1+D²) maps it onto (0, 1] without a cliff. A
// vital not valid now or not in the baseline counts as no deviation (its
// loss is sensor_stale's or vitals_stale's). The limit 0.3 is D² > 7/3:
// one vital 1.53 scales off (a heart rate 61 bpm above the baseline), two
// each 1.08 off, three each 0.88 off. So several moderate deviations that
// no single rule catches abort together, which is what the index is for:
// a sleeper whose heart races a little, whose skin conductance doubles
// and whose EEG arouses is in a nightmare before any one vital says so.
//
// # sensor_stale's episodes
//
// sensing's loop judges each poll: one good batch of an EEG whose
// electrodes are loose is ok, and its Health.UnhealthySince starts over.
// Counting from it alone, an EEG off 4 s of every 4.15 s would be blind
// 97 % of the time and never trip. So the watchdog, and only it, keeps
// each watched sensor's episode: it begins when the sensor is first seen
// unhealthy (from its UnhealthySince) and ends only when the sensor has
// stayed healthy for a settling time, StaleAfter/SensorSettle (1 s with
// the default 5 s, 2 s at the longest 10 s); a shorter healthy spell
// continues it. The settling time is a fraction of the limit, not a fixed
// time, so it scales with what the configuration allows a sensor to be
// blind; a fifth of it is several polls of every sensor (the EEG's 0.1 s
// batches, the skin conductance at 4 Hz, the thermometer's conversions at
// 1 Hz), so a sensor that settled delivered fresh data the rules judge.
// What it bounds: a sensor that flickers without tripping has been healthy
// for at least a settling time after every StaleAfter at most, so each
// rule on its vital sees a fresh value at least every StaleAfter plus the
// settling time (6 s by default). A sensor that is unhealthy for less
// than StaleAfter at a time and settled in between is not tripped on:
// that is the loss the rules on its vital already bridge (they hold their
// conditions through invalid readings).
//
// # Arming
//
// The heart-rate and SpO2 rules are always armed: they act only on valid
// readings, and the estimator reports a reading valid only with a finger
// on the sensor, so an empty pod cannot trip them. vitals_stale is armed
// during a merge (SetMerge) whatever the sensor says, and outside one
// unless the sensor answers and sees no one (the latest reading, fed
// within StaleAfter, has vitals.ContactNone): an empty pod never latches.
// A sensor that fails, or says nothing of contact, or a reading that stops
// being refreshed, keeps it armed: silence is not evidence of an empty pod.
// A rule armed anew after a disarm of at least StaleAfter (someone lay down
// in an empty pod) grants StaleAfter from that moment; after a shorter one
// (a contact judgement flickering, a finger half on the sensor) it grants
// nothing, and staleness counts from the last valid reading as before. A
// dark signal of identical counts (a sensor repeating itself) is never
// judged "no one" (vitals.ContactUnknown). Outside a merge a
// sleeper whose finger leaves the sensor cannot be told from one who left
// the pod; both disarm vitals_stale. During a merge both trip it.
// Status.Armed lists the rules armed now.
//
// An alarm condition starts its delay when a valid reading crosses the limit.
// It clears only when a valid reading comes back past a deadband (hysteresis:
// 5 bpm for heart rate and its rise, 2 % for SpO2, 0.3 °C for the
// temperature, 3 responses a minute for stress, 0.5 times the baseline's
// beta/alpha for arousal, 0.05 for the stability index); readings that are
// invalid neither start nor clear it, so a flickering sensor cannot reset a
// running delay. Any running delay reports the level "warn". The
// merge-only rules have no condition outside a merge, and those compared
// with the baseline (all but sensor_stale) none before SetBaseline.
//
// # Dated onsets
//
// The estimator's heart rate and SpO2 are means over the newest beats
// (vitals.RecentSeconds, 3.5 s): on a steady change they describe the
// sleeper as they were at the midpoint of those beats, 1.5 to 2.6 s
// before the watchdog sees them. IEC 60601-1-8 counts the alarm condition
// delay from the triggering event in the patient, the monitor's averaging
// included; counted from the evaluation that saw the value, the pod's 10 s
// delays were 11.7 to 12.8 s and its 2 s delay 3.9 s. So a reading carries
// the time its values describe (vitals.Reading.Describes), and the rules
// on the pulse oximeter's vitals (heart_rate_high, heart_rate_low,
// spo2_low, spo2_critical, heart_rate_rise) start a delay at that time:
//   - the onset is the time the first reading past the limit describes,
//     taken as its age (At less Describes, at most maxValueAge, the
//     estimator's 8 s window) before it was fed, on the watchdog's own
//     clock; never after the evaluation that saw it, and never before the
//     time the last reading of that vital within the limit described (a
//     reading in the deadband included): a delay never reaches back over
//     a reading that says the sleeper was within the limit. A reading
//     without Describes (age 0) is dated as before, at the evaluation
//     that saw it;
//   - the rule trips when the delay has run from the onset and a reading
//     past the limit was fed at least MinConditionSeen (1 s) after the
//     evaluation that first saw the condition, the floor: one reading past
//     the limit followed by invalid readings, readings in the deadband or
//     none at all (judged again at each tick, it counts once) does not
//     meet it. Without that evidence the rule trips as an undated
//     one does, once the delay has run from the first sight, the
//     condition held through those readings, so dating never makes a rule
//     trip later than before. Hysteresis and clearing are unchanged.
//     Abort.Began is the onset; a warning is sent when the condition is
//     seen.
//
// The thermometer's reading is dated the same way: temperature_low and
// temperature_high start their delay at the time its mean describes
// (temp.Reading.Age, the midpoint of the samples averaged, at most
// temp.SmoothSeconds, before the feed), never before the time the last
// reading within the limit described nor before the newest sample within
// it (the reading carries its samples, temp.Reading.Recent), with the
// same floor. What is left
// is the sampling: the first mean past the limit describes a time up to
// one sample period (1 s at 1 Hz) after the crossing, and is read up to
// one poll (half a sample period) after its conversion, which is not
// counted, so the dating is never early by it. stress dates its onset at
// the later of the onset of the newest response the skin's count holds
// (eda.Reading.SCROnsetAge: when the count reaches the limit, the response
// that made it began up to its rise before it was counted at its peak,
// at most maxSCROnsetAge) and the time the heart rate's reading
// describes, its concurrent sign; never before the time the last
// evaluation within the limit described. The heart's part in that, and
// in eeg_arousal's, is the time the first reading of its current rise
// above the baseline described (raisedFrom), so that a heart raised long
// before does not hold the onset to its latest reading. eeg_arousal dates
// its onset at the later of that and the time the EEG's recent ratio
// describes: the midpoint of its newest 8 s of segments
// (eeg.Channel.RecentAge, 4 to 5 s before the feed, at most maxEEGAge);
// a new ratio comes every second, so the first past the limit describes a
// time up to 1 s after the sleeper's ratio crossed it. stability_low
// dates its index at the latest of the times the vitals that count in it
// describe (the heart rate's reading, the thermometer's mean, the tonic
// skin conductance eda.TonicDelay before its feed, the EEG's recent
// ratio): a vital at its baseline does not bear on when the index
// crossed. Every dated rule keeps the bound and the floor above; for the
// rules on more than one sign (stress, eeg_arousal, stability_low) a
// reading counts for the floor only once every sign in it has been fed
// again after the first sight (the earliest of their feeds), so the
// oximeter's readings alone never meet it for a skin or EEG reading
// judged again. No onset of a rule compared with the baseline is dated
// before SetBaseline. sensor_stale and pipeline_stalled count from the
// evaluation, as before.
//
// A midpoint is the time a mean describes on a steady ramp. On a step
// (an arousal's abrupt burst of beta, a probe lifting off the skin) the
// first mean past the limit can come while the step fills only part of
// the window, and its midpoint lies before the step by up to half the
// window: 1.75 s for the oximeter's 3.5 s, 4 s for the EEG's 8 s. The
// alarm delay is then cut by at most that much, against delays of 10 and
// 30 s (the test of a step in safety's eegstep review test); the floor
// still keeps a condition seen for less than a second from tripping. The
// thermometer's samples bound its rules' onsets to the newest sample
// within the limit, at most one sample period (1 s at 1 Hz) before a
// step (tempstep's test); on a ramp the midpoint lies after that sample.
//
// Evaluating every rule allocates nothing, so the tick creates no
// garbage; a trip allocates (the abort's detail and values).
//
// The floor. Without it a rule waits on its reports only for its delay
// less the values' age: 8.4 s of 10 s, and 0.5 s of spo2_critical's 2 s,
// two or three of the oximeter's readings, so that its protection against
// a transient would rest on the estimator's averaging alone. With the
// floor F a transient must keep the 3.5 s mean past the limit for F. A
// dip of the true value A below its usual level, where the limit lies m
// below that level, moves the mean past the limit only once c = 3.5 s ·
// m/A of it lies within the mean's span, and keeps it there for
// d + 3.5 s - 2c, d the dip's length; so the shortest dip that trips
// lasts max(c, 2c + F - 3.5 s). For spo2_critical from 97 % (m = 12 points):
// a dip to 80 % (c = 2.5 s) trips from 2.5 s with F = 1 s, 2.9 s with
// 1.5 s, 3.4 s with the 2 s the reports had to last before dating; a dip
// to 69 % or deeper (c <= 1.5 s) from c whichever of them; a condition
// seen for less than the floor never trips. F = 1 s is the shortest
// alarm delay the bounds allow, so no configuration makes a rule wait on
// its reports longer than before dating, and none can lower the floor; on
// the desaturation of scripts/detection-lag.sh it leaves spo2_critical
// 0.8 s of lag where 1.5 s would leave 1.3 s (the floor runs from the
// sight, 1.8 s after the crossing, against the 2 s delay from the
// crossing). The detection lags it leaves are in docs/safety.md.
//
// A warning and an abort carry the value the rule last judged, kept per
// rule at each evaluation that judged one: a condition holds through
// invalid readings, so the reading at the trip may be invalid (an
// estimate changing fast, a bridged gap: its value is zero) and says
// nothing of what the rule saw.
//
// # The abort path
//
// When a rule trips, the watchdog goroutine latches the abort, then calls
// SafeState on the actuators itself, without holding its lock, before anything
// else: no network, disk, log or channel stands between detection and the safe
// state. Only then does it hand a copy of the abort, with the measured latency
// from detection to safe state, to the OnAbort callback, which must not block
// (the controller records it). The wait for the actuators is bounded
// (SafeStateTimeout, 1 s): an output whose bus hangs is named in the abort's
// SafeStateError, and the abort is still latched, stored and reported.
// While latched, further trips are ignored and the level stays "abort"
// until Ack, which a local acknowledgement calls and which is refused while
// any alarm condition is still present (outside a merge, a sensor that sees
// no one is not a condition once the pod is established empty: every
// reading without contact for at least StaleAfter, and no valid reading
// with an alarm condition in that time; an empty pod has no vitals to
// contradict the acknowledgement, but one reading without contact is a
// finger that slipped as often as a sleeper who left). A pulse oximeter's
// loop that has fed nothing for PipelineStallAfter is such a condition,
// and so is, for a rule on another sensor's vital (the temperature rules,
// stress, eeg_arousal), no valid reading of that vital within StaleAfter:
// the latch is cleared only on evidence that its own vital is back past
// the deadband, never on a sensor's silence (after the abort the merge is
// over, and sensor_stale no longer watches it). Restore re-latches a
// stored abort at start and
// re-applies the safe state.
//
// # Evidence of safety
//
// The absence of an abort is not evidence that the sleeper is safe: a pod
// restarted after losing its latch, with the sleeper still at 150 bpm, has
// no running delay and would light its outputs for the whole alarm delay.
// SafeFor is the positive evidence: how long, as of the last evaluation,
// every alarm condition has been continuously absent, judged as Ack judges
// them (valid vitals that are not stale, each value past its clearing
// threshold, deadband included). Any reading that fails that judgement, a
// latch, or the lack of any valid reading yet puts it back to 0, and after
// an Ack it starts again from 0. It is judged on every evaluation against
// the latest reading, as the rules are, and it ends at the time of the last
// valid reading, not at the evaluation: a reading that is not yet stale says
// nothing about the time since it was taken, so a sensor that stops
// answering adds nothing to the evidence. After a start the controller keeps
// the outputs in their safe state until SafeFor reaches a settling time.
//
// # Clocks
//
// Every duration the watchdog measures (alarm delays, staleness, the start-up
// grace, the abort latency, SafeFor and SinceEvaluation) is taken from the
// monotonic clock of time.Now. A Raspberry Pi boots with its wall clock at
// 1970 and a clock sync then steps it by decades; such a step must neither
// trip a rule, nor hide one, nor make a stalled watchdog look alive. The wall
// clock (Options.Clock) is read only for Abort.At, the timestamp people and
// the hub read. SinceEvaluation is what the daemon's liveness checks use: the
// systemd and hardware watchdogs are pinged only while it is short.
//
// The watchdog owns no actuator and no store: it is handed a SafeStater.
package safety
