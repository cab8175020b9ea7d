package safety

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sleegation/podd/sensing"
	"github.com/sleegation/podd/sensors/vitals"
	"github.com/sleegation/podd/sensors/vitals/eda"
	"github.com/sleegation/podd/sensors/vitals/eeg"
	"github.com/sleegation/podd/sensors/vitals/temp"
)

// Rule names, as they appear in abort events.
const (
	RuleHeartRateHigh = "heart_rate_high"
	RuleHeartRateLow  = "heart_rate_low"
	RuleSpO2Low       = "spo2_low"
	RuleSpO2Critical  = "spo2_critical"
	RuleVitalsStale   = "vitals_stale"
	RuleSensorStale   = "sensor_stale"
	RuleHeartRateRise = "heart_rate_rise"
	RuleTempLow       = "temperature_low"
	RuleTempHigh      = "temperature_high"
	RuleStress        = "stress"
	RuleEEGArousal    = "eeg_arousal"
	RuleStabilityLow  = "stability_low"
	RulePipeline      = "pipeline_stalled"
)

// delayed is a rule with an alarm delay and hysteresis; its index is its
// slot in Watchdog.pending.
type delayed uint8

const (
	dHeartRateHigh delayed = iota
	dHeartRateLow
	dSpO2Low
	dSpO2Critical
	dHeartRateRise
	dTempLow
	dTempHigh
	dStress
	dEEGArousal
	dStabilityLow
	numDelayed
)

var delayedNames = [numDelayed]string{
	RuleHeartRateHigh, RuleHeartRateLow, RuleSpO2Low, RuleSpO2Critical, RuleHeartRateRise,
	RuleTempLow, RuleTempHigh, RuleStress, RuleEEGArousal, RuleStabilityLow,
}

// tripOrder is the order in which delayed rules whose delays ran out in
// the same evaluation are reported: the most urgent first.
var tripOrder = [numDelayed]delayed{
	dSpO2Critical, dHeartRateHigh, dHeartRateLow, dSpO2Low, dHeartRateRise,
	dTempHigh, dTempLow, dStabilityLow, dEEGArousal, dStress,
}

// Levels of the watchdog, as reported in telemetry.
const (
	LevelOK    = "ok"
	LevelWarn  = "warn"
	LevelAbort = "abort"
)

// Deadbands a value must come back past before its alarm condition clears.
const (
	heartRateDeadbandBPM = 5
	spo2DeadbandPct      = 2
	tempDeadbandC        = 0.3
	stressDeadbandSCR    = 3   // responses a minute
	eegArousalDeadband   = 0.5 // times the baseline's ratio
	stabilityDeadband    = 0.05
)

// DefaultPeriod is how often the watchdog evaluates its rules.
const DefaultPeriod = 100 * time.Millisecond

// ErrNotLatched is returned by Ack when there is nothing to acknowledge.
var ErrNotLatched = errors.New("safety: no latched abort")

// SafeStater puts every actuator into its safe state. It stops waiting for
// outputs that have not reached it when ctx is done, and says which.
type SafeStater interface {
	SafeStateContext(ctx context.Context) error
}

// DefaultSafeStateTimeout is how long the watchdog waits for the actuators to
// reach their safe state before it records and reports the abort anyway: a
// hung output must not keep the latch from being stored.
const DefaultSafeStateTimeout = time.Second

// Abort describes a tripped rule. It is what the pod latches and reports.
type Abort struct {
	Rule   string             `json:"rule"`
	Detail string             `json:"detail"`
	Values map[string]float64 `json:"values,omitempty"`
	// Limit is the threshold that was crossed, in the unit of the value
	// (seconds for pipeline_stalled and sensor_stale; 0 for
	// vitals_stale).
	Limit float64 `json:"limit"`
	// At is the wall-clock time of detection, from Options.Clock, without a
	// monotonic reading: a timestamp for people and the hub, never the base of
	// a duration.
	At time.Time `json:"at"`
	// Began is when the alarm condition began, on the same clock: At less
	// how long the condition had lasted (a rule's alarm delay and a little
	// more, from its onset: for the rules on the pulse oximeter's vitals
	// the time the first value past the limit describes, see "Dated
	// onsets" in the package doc; vitals_stale, sensor_stale and
	// pipeline_stalled: since the last valid, healthy or fed data). Zero
	// in a latch stored before it was recorded.
	Began time.Time `json:"began,omitzero"`
	// Priority is the rule's IEC 60601-1-8 alarm priority (Priority).
	Priority string `json:"priority,omitempty"`
	// lasted is how long the condition had lasted at detection.
	lasted time.Duration
	// LatencyMS is the time from detection to the safe state being reached.
	LatencyMS float64 `json:"latency_ms"`
	// SafeStateError is set when an actuator failed to reach its safe state.
	SafeStateError string `json:"safe_state_error,omitempty"`
	// Restored is true when the abort was latched by an earlier run.
	Restored bool `json:"-"`
}

// Status is a snapshot of the watchdog.
type Status struct {
	Level   string
	Pending []string // rules whose alarm delay is running
	Latched *Abort
	// Armed are the rules that can trip now (see Watchdog.SetMerge).
	Armed []string
	// Merge is what SetMerge last set.
	Merge bool
	// Stability is the stability index (Stability, 0..1) at the last
	// evaluation; nil outside a merge and before its baseline is set.
	Stability *float64
}

// Options configure a Watchdog.
type Options struct {
	// Period between evaluations; DefaultPeriod when zero.
	Period time.Duration
	// OnAbort is called by the watchdog goroutine after the safe state was
	// applied. It must not block.
	OnAbort func(Abort)
	// SafeStateTimeout bounds the wait for the safe state;
	// DefaultSafeStateTimeout when zero.
	SafeStateTimeout time.Duration
	// Clock is the wall clock, read only for timestamps a person or the hub
	// reads (Abort.At); time.Now when nil. No duration is measured with it.
	Clock func() time.Time
	// OnWarning, if not nil, is called by the watchdog goroutine when a
	// rule's alarm delay starts (an alarm condition begins), once per
	// episode: the condition must clear, past its deadband, before the
	// rule warns again. It is not called for an evaluation that trips a
	// rule (the abort is the report). It must not block.
	OnWarning func(Warning)
	// CoreOffsetC is the core temperature less the thermometer's reading
	// at its site, °C, in MinCoreOffsetC..MaxCoreOffsetC: the temperature
	// rules judge the reading plus it. New refuses one too large for the
	// limits' TemperatureLowC (CoreOffsetProblem).
	CoreOffsetC float64
}

// Watchdog evaluates the safety rules. Create it with New and run it with Run.
type Watchdog struct {
	limits      Limits
	safe        SafeStater
	period      time.Duration
	onAbort     func(Abort)
	onWarning   func(Warning)
	safeTimeout time.Duration
	clock       func() time.Time

	// fed wakes Run for an evaluation of each reading Feed hands over
	// (one pending wake at most: readings fed while one is pending are
	// judged together at it, the latest as any evaluation judges it).
	fed chan struct{}

	// base is the monotonic origin of lastEval: a time.Time from time.Now
	// carries the monotonic reading that Sub and Since use.
	base     time.Time
	lastEval atomic.Int64 // nanoseconds from base to the last evaluation; -1 before the first

	mu        sync.Mutex
	latest    vitals.Reading
	lastFeed  time.Time // when the last reading was fed (zero before the first)
	lastValid time.Time // when the last valid reading was fed (or start + grace)
	merge     bool      // SetMerge: a merge is under way, every rule is armed
	// emptySince is when the current run of readings with ContactNone
	// began (zero while the latest has another contact); alarmedAt when
	// the last valid reading with an alarm condition present was fed.
	// emptyForAckLocked judges vacancy on them.
	emptySince time.Time
	alarmedAt  time.Time
	// staleArmed is whether vitals_stale was armed at the last evaluation;
	// disarmedAt when it was last disarmed; staleFrom when it was last
	// armed anew after a disarm of at least StaleAfter: such a rule grants
	// StaleAfter from that moment, as the start grants StartupGrace. A
	// shorter disarm (a contact judgement flickering) grants nothing.
	staleArmed bool
	disarmedAt time.Time
	staleFrom  time.Time
	pending    [numDelayed]time.Time // when each delayed rule's alarm condition began (its onset, dated); zero when absent
	// seen is when each running condition was first seen (the evaluation
	// that started its delay) and pastAt when the last reading judged
	// past the rule's limit was fed; within, per rule, the time the last
	// value judged within the rule's limit described (condition, and for
	// the pulse oximeter's readings noteWithinLocked at each feed), or the
	// time SetBaseline armed a rule compared with the baseline: no onset
	// is dated before it (onset.go); described, the time the latest
	// reading describes.
	seen      [numDelayed]time.Time
	pastAt    [numDelayed]time.Time
	within    [numDelayed]time.Time
	described time.Time
	// judged is the value each delayed rule last judged (a valid, fresh
	// one: invalid readings are not judged), what its warning and abort
	// report; judgedSkin and judgedEEG are the readings stress and
	// eeg_arousal last judged, for the abort's other values.
	judged     [numDelayed]float64
	judgedSkin eda.Reading
	judgedEEG  eeg.Channel
	starting   uint16 // the delayed rules whose condition began at this evaluation
	latched    *Abort
	safeSince  time.Time     // first evaluation of the current run with no condition present; zero when one is
	safeFor    time.Duration // from safeSince to the last evaluation
	// sensors are the biometric sensors besides the pulse oximeter
	// (WatchSensors); mergeFrom is when the current merge armed
	// sensor_stale, graceEnd when the start-up grace ends.
	sensors   []SensorWatch
	episodes  []sensorEpisode // per sensor, sensor_stale's episode (sensors.go)
	mergeFrom time.Time
	graceEnd  time.Time

	// The other vitals (FeedBodyTemp, FeedSkinConductance, FeedEEG), the
	// core offset, the session's baseline (SetBaseline) and the lowest
	// valid heart rate of each recent second (heart_rate_rise). tempFed
	// is when the thermometer's reading was fed and tempDescribed the
	// time its value describes on the watchdog's clock (onset.go).
	temp          temp.Reading
	tempFed       time.Time
	tempDescribed time.Time
	// skinFed is when the skin conductance reading was fed and
	// skinDescribed when the newest response it counts began.
	skin          eda.Reading
	skinFed       time.Time
	skinDescribed time.Time
	// eegFed is when the EEG's summary was fed and eegDescribed the time
	// its recent ratio describes.
	eeg          eeg.Channel
	eegAt        time.Time
	eegFed       time.Time
	eegDescribed time.Time
	// raisedFrom is the time the first heart rate reading of the current
	// run above the baseline's by more than ArousalHeartRateBPM
	// described: when stress's and eeg_arousal's concurrent sign began
	// (onset.go); zero while the latest valid reading is not so raised.
	raisedFrom  time.Time
	coreOffset  float64
	baseline    Baseline
	hasBaseline bool
	hrWindow    heartRateWindow
	stability   float64 // the index at the last evaluation with a baseline; 1 without
}

// SensorWatch is a biometric sensor the watchdog watches besides the
// pulse oximeter, whose readings it is fed: its health as its own loop
// judges it (sensing.Loop). Health must not block.
type SensorWatch interface {
	Name() string
	Health() sensing.Health
}

// New returns a watchdog with the given limits. It panics on nothing: invalid
// limits are reported as an error.
func New(l Limits, safe SafeStater, opts Options) (*Watchdog, error) {
	if err := l.Validate(); err != nil {
		return nil, fmt.Errorf("safety.New: %w", err)
	}
	if safe == nil {
		return nil, errors.New("safety.New: no SafeStater")
	}
	if opts.Period <= 0 {
		opts.Period = DefaultPeriod
	}
	if opts.SafeStateTimeout <= 0 {
		opts.SafeStateTimeout = DefaultSafeStateTimeout
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if !(opts.CoreOffsetC >= MinCoreOffsetC && opts.CoreOffsetC <= MaxCoreOffsetC) {
		return nil, fmt.Errorf("safety.New: core offset %g °C is outside %d..%d °C", opts.CoreOffsetC, MinCoreOffsetC, MaxCoreOffsetC)
	}
	if err := CoreOffsetProblem(l, opts.CoreOffsetC); err != nil {
		return nil, fmt.Errorf("safety.New: %w", err)
	}
	now := time.Now()
	w := &Watchdog{
		limits:      l,
		safe:        safe,
		period:      opts.Period,
		onAbort:     opts.OnAbort,
		onWarning:   opts.OnWarning,
		safeTimeout: opts.SafeStateTimeout,
		clock:       opts.Clock,
		base:        now,
		fed:         make(chan struct{}, 1),
		lastValid:   now.Add(l.StartupGrace),
		graceEnd:    now.Add(l.StartupGrace),
		staleArmed:  true, // no reading yet: contact unknown
		coreOffset:  opts.CoreOffsetC,
		stability:   1,
	}
	w.lastEval.Store(-1)
	return w, nil
}

// WatchSensors sets the sensors the watchdog watches besides the pulse
// oximeter. During a merge (SetMerge), one that has not been healthy for
// StaleAfter trips sensor_stale: a sensor stale, unplugged, failing on its
// bus, flat, saturated, with its electrodes off or without contact says
// nothing of the sleeper it is there to watch. The time counts from the
// latest of: when the sensor stopped being healthy (Health.UnhealthySince,
// kept through its reopens), when the merge began, the end of the
// start-up grace; a sensor healthy again counts as recovered only once it
// has stayed healthy for SensorSettle of StaleAfter (see the package
// doc). Outside a merge it trips nothing. Call
// it before Run.
func (w *Watchdog) WatchSensors(s ...SensorWatch) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.sensors = append(w.sensors[:0], s...)
	w.episodes = make([]sensorEpisode, len(s))
}

// Feed hands the watchdog the latest reading and wakes Run to evaluate the
// rules on it at once, not at the next tick. It never blocks on the
// watchdog's evaluation or on the actuators.
func (w *Watchdog) Feed(r vitals.Reading) {
	w.store(r)
	select {
	case w.fed <- struct{}{}:
	default: // a wake is pending already
	}
}

// store keeps r as the latest reading; it takes w.mu.
func (w *Watchdog) store(r vitals.Reading) {
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.latest = r
	w.lastFeed = now
	w.described = describedAt(r, now)
	if r.Contact != vitals.ContactNone {
		w.emptySince = time.Time{}
	} else if w.emptySince.IsZero() {
		w.emptySince = now
	}
	if r.Valid() {
		// The first valid reading ends the start-up grace.
		w.lastValid = now
		if w.presentLocked(now) != 0 {
			w.alarmedAt = now
		}
	}
	if r.HeartRateValid {
		w.hrWindow.add(int64(now.Sub(w.base)/time.Second), r.HeartRateBPM)
		w.noteRaisedLocked(now)
	}
	w.noteWithinLocked(now)
}

// Run evaluates the rules every period, and on each reading Feed hands
// over, until ctx is done.
func (w *Watchdog) Run(ctx context.Context) error {
	t := time.NewTicker(w.period)
	defer t.Stop()
	w.evaluate()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			w.evaluate()
		case <-w.fed:
			w.evaluate()
		}
	}
}

// NeverEvaluated is what SinceEvaluation returns before the first
// evaluation: longer than any stall threshold, so a watchdog that never ran
// counts as stalled.
const NeverEvaluated = time.Duration(math.MaxInt64)

// SinceEvaluation is the time since the rules were last evaluated, on the
// monotonic clock, or NeverEvaluated before the first evaluation. The
// daemon's liveness checks (the systemd and hardware watchdogs, /healthz)
// use it to notice a stalled watchdog; a step of the wall clock, such as the
// first clock sync of a board that booted at 1970, changes nothing in it.
func (w *Watchdog) SinceEvaluation() time.Duration {
	ns := w.lastEval.Load()
	if ns < 0 {
		return NeverEvaluated
	}
	return time.Since(w.base) - time.Duration(ns)
}

// SafeFor is how long, as of the last evaluation, every alarm condition has
// been continuously absent, judged as Ack judges them: vitals valid and not
// stale, and each value past its clearing threshold (the limit and its
// deadband). It is 0 while any condition is present, while an abort is
// latched, and before the first valid reading, and it counts only up to
// the last valid reading (a sensor that stopped answering is not evidence).
// The absence of an abort is
// not evidence of safety: a pod restarted without its latch, with the
// sleeper still at 150 bpm, has no running delay yet. The controller keeps
// the outputs in their safe state after a start until SafeFor reaches a
// settling time.
func (w *Watchdog) SafeFor() time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.latched != nil {
		return 0
	}
	return w.safeFor
}

// evaluate runs the rules once; Run calls it every period.
func (w *Watchdog) evaluate() {
	now := time.Now()
	w.lastEval.Store(int64(now.Sub(w.base)))

	w.mu.Lock()
	if w.latched != nil {
		w.mu.Unlock()
		return
	}
	w.starting = 0
	a, tripped := w.evaluateLocked(now)
	if !tripped {
		if w.presentLocked(now) != 0 {
			w.resetSafeLocked()
		} else {
			if w.safeSince.IsZero() {
				w.safeSince = now
			}
			// The evidence ends at the last valid reading, not at this
			// evaluation: a reading still within StaleAfter says nothing
			// about the time since it was taken (a sensor that stopped
			// answering must not count toward the settling time).
			end := now
			if w.lastValid.Before(end) {
				end = w.lastValid
			}
			w.safeFor = max(0, end.Sub(w.safeSince))
		}
		var warn [numDelayed]Warning
		n := 0
		if w.onWarning != nil && w.starting != 0 {
			at := w.clock().Round(0)
			for d := range numDelayed {
				if w.starting&(1<<d) != 0 {
					warn[n] = w.warningLocked(d, now, at)
					n++
				}
			}
		}
		w.mu.Unlock()
		for _, x := range warn[:n] {
			w.onWarning(x)
		}
		return
	}
	latched := a // only a tripped abort moves to the heap, not every tick's
	latched.At = w.clock().Round(0)
	latched.Began = latched.At.Add(-a.lasted)
	latched.Priority = Priority(a.Rule)
	w.latched = &latched
	w.resetSafeLocked()
	w.mu.Unlock()

	w.applySafeState(now)
}

// applySafeState drives the actuators to safety, then records the latency and
// reports the abort. The watchdog's lock is not held while the actuators work,
// and the wait is bounded: an output that does not reach its safe state in
// time is named in SafeStateError and the abort is reported all the same.
func (w *Watchdog) applySafeState(detected time.Time) {
	err := w.safeState()
	latency := time.Since(detected)

	w.mu.Lock()
	w.latched.LatencyMS = float64(latency.Microseconds()) / 1000
	if err != nil {
		w.latched.SafeStateError = err.Error()
	}
	a := w.latched.clone()
	w.mu.Unlock()

	if w.onAbort != nil {
		w.onAbort(a)
	}
}

// evaluateLocked updates the alarm conditions and reports the first rule that
// tripped. It does not allocate unless a rule trips. w.mu must be held.
func (w *Watchdog) evaluateLocked(now time.Time) (Abort, bool) {
	l := w.limits
	r := w.latest

	// The rules on the pulse oximeter's vitals date their onsets at the
	// time the reading describes (onset.go).
	_, past := l.vitalsPast(r, 0, false)
	crossed := func(d delayed) bool { return past&(1<<d) != 0 }
	if r.HeartRateValid {
		w.condition(dHeartRateHigh, now, w.lastFeed, w.described, r.HeartRateBPM, crossed(dHeartRateHigh), r.HeartRateBPM <= l.HeartRateHighBPM-heartRateDeadbandBPM)
		w.condition(dHeartRateLow, now, w.lastFeed, w.described, r.HeartRateBPM, crossed(dHeartRateLow), r.HeartRateBPM >= l.HeartRateLowBPM+heartRateDeadbandBPM)
	}
	if r.SpO2Valid {
		w.condition(dSpO2Low, now, w.lastFeed, w.described, r.SpO2Pct, crossed(dSpO2Low), r.SpO2Pct >= l.SpO2LowPct+spo2DeadbandPct)
		w.condition(dSpO2Critical, now, w.lastFeed, w.described, r.SpO2Pct, crossed(dSpO2Critical), r.SpO2Pct >= l.SpO2CriticalPct+spo2DeadbandPct)
	}
	w.bodyConditionsLocked(now)

	switch armed := w.staleArmedLocked(now); {
	case !armed && w.staleArmed:
		w.staleArmed, w.disarmedAt = false, now
	case armed && !w.staleArmed:
		w.staleArmed = true
		if now.Sub(w.disarmedAt) >= l.StaleAfter {
			w.staleFrom = now
		}
	}
	// pipeline_stalled: armed as vitals_stale is, and granted the same
	// start-up grace and re-arming.
	if silent := now.Sub(later(later(w.lastFeed, w.graceEnd), w.staleFrom)); w.staleArmed && silent > l.PipelineStallAfter {
		return Abort{
			Rule:   RulePipeline,
			Detail: fmt.Sprintf("no reading fed for %.1f s (limit %.1f s)", silent.Seconds(), l.PipelineStallAfter.Seconds()),
			Values: map[string]float64{"stalled_s": round3(silent.Seconds())},
			Limit:  l.PipelineStallAfter.Seconds(),
			lasted: silent,
		}, true
	}
	if stale := now.Sub(later(w.lastValid, w.staleFrom)); w.staleArmed && stale > l.StaleAfter {
		return Abort{
			Rule:   RuleVitalsStale,
			Detail: fmt.Sprintf("no valid vitals for %.1f s (limit %.1f s)", stale.Seconds(), l.StaleAfter.Seconds()),
			Values: map[string]float64{"stale_s": round3(stale.Seconds())},
			lasted: stale,
		}, true
	}
	if a, ok := w.sensorStaleLocked(now); ok {
		return a, true
	}
	for _, d := range tripOrder {
		since := w.pending[d]
		if since.IsZero() || now.Sub(since) <= w.delay(d) || !w.floorMetLocked(d, now) {
			continue
		}
		return w.abortFor(d, now.Sub(since), now), true
	}
	return Abort{}, false
}

// delay is a delayed rule's alarm delay.
func (w *Watchdog) delay(d delayed) time.Duration {
	l := w.limits
	switch d {
	case dHeartRateHigh, dHeartRateLow, dHeartRateRise:
		return l.HeartRateDelay
	case dSpO2Low:
		return l.SpO2Delay
	case dSpO2Critical:
		return l.SpO2CriticalDelay
	case dTempLow, dTempHigh:
		return l.TemperatureDelay
	case dStress:
		return l.StressDelay
	case dEEGArousal:
		return l.EEGArousalDelay
	}
	return l.StabilityDelay
}

// staleArmedLocked reports whether vitals_stale is armed: always during a
// merge; outside one, unless the sensor answers and sees nobody (the latest
// reading, fed within StaleAfter, says ContactNone). A sensor that fails,
// says nothing (ContactUnknown) or stops being read keeps it armed: its
// silence says nothing about the sleeper. w.mu must be held.
func (w *Watchdog) staleArmedLocked(now time.Time) bool {
	return w.merge || !w.vacantLocked(now)
}

// vacantLocked reports whether the sensor, read within StaleAfter, sees no
// one. w.mu must be held.
func (w *Watchdog) vacantLocked(now time.Time) bool {
	return w.latest.Contact == vitals.ContactNone && !w.lastFeed.IsZero() && now.Sub(w.lastFeed) <= w.limits.StaleAfter
}

// SetMerge arms every rule while a merge is under way (active), whatever
// the sensor says of contact; outside a merge vitals_stale is disarmed while
// the sensor sees no one (an empty pod never latches). Arming it anew
// grants StaleAfter from that moment, so a merge started on a pod whose
// last valid reading is older than StaleAfter trips StaleAfter later, not
// at once. The heart rate and SpO2 rules are always armed: they act only on
// valid readings, and a reading is valid only with a finger on the sensor.
func (w *Watchdog) SetMerge(active bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if active && !w.merge {
		w.mergeFrom = time.Now()
	}
	if !active {
		w.baseline, w.hasBaseline, w.raisedFrom = Baseline{}, false, time.Time{}
	}
	w.merge = active
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// earlier returns the earlier of a and b.
func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// condition starts a rule's alarm delay when the limit is crossed and clears
// it once the value is back past the deadband; v is the valid value judged,
// kept as the rule's judged value for its warning and abort, fed when the
// reading that carries it was fed (an evaluation judges the latest reading
// again at each tick: the floor counts readings, not evaluations), and
// described the time it describes (zero or now for a value without an
// age). The delay runs from the onset (onsetLocked), and the condition
// counts as seen from now.
func (w *Watchdog) condition(d delayed, now, fed, described time.Time, v float64, crossed, cleared bool) {
	w.judged[d] = v
	if !crossed {
		// A value within the limit, or in the deadband, bounds the
		// dating of the next onset (onsetLocked).
		w.within[d] = later(w.within[d], cmp.Or(described, fed))
	}
	running := !w.pending[d].IsZero()
	switch {
	case crossed && !running:
		w.pending[d] = w.onsetLocked(d, now, described)
		w.seen[d], w.pastAt[d] = now, fed
		w.starting |= 1 << d
	case crossed:
		w.pastAt[d] = fed
	case cleared && running:
		w.pending[d] = time.Time{}
	}
}

// Latched reports whether an abort is latched: Status().Latched != nil,
// without building a Status (for callers asking at a frame rate).
func (w *Watchdog) Latched() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.latched != nil
}

// Status returns a snapshot of the watchdog.
func (w *Watchdog) Status() Status {
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	s := Status{Level: LevelOK, Merge: w.merge,
		Armed: []string{RuleHeartRateHigh, RuleHeartRateLow, RuleSpO2Low, RuleSpO2Critical, RuleTempLow, RuleTempHigh}}
	if w.staleArmedLocked(now) {
		s.Armed = append(s.Armed, RuleVitalsStale, RulePipeline)
	}
	if w.merge {
		if w.hasBaseline {
			s.Armed = append(s.Armed, RuleStress, RuleHeartRateRise, RuleEEGArousal, RuleStabilityLow)
			x := w.stability
			s.Stability = &x
		}
	}
	for d, since := range w.pending {
		if !since.IsZero() {
			s.Pending = append(s.Pending, delayedNames[d])
		}
	}
	if w.merge && len(w.sensors) > 0 {
		s.Armed = append(s.Armed, RuleSensorStale)
		for i, sw := range w.sensors {
			// An episode not yet settled is pending, healthy or not.
			if h := sw.Health(); !h.Healthy() || !w.episodes[i].from.IsZero() {
				s.Pending = append(s.Pending, RuleSensorStale)
				break
			}
		}
	}
	if len(s.Pending) > 0 {
		s.Level = LevelWarn
	}
	if w.latched != nil {
		a := w.latched.clone()
		s.Latched = &a
		s.Level = LevelAbort
	}
	return s
}

// ErrLatched is returned by Restore when an abort is already latched: the
// latched one is newer than any stored by an earlier run, and is kept.
var ErrLatched = errors.New("safety: an abort is already latched")

// Restore latches an abort recorded by an earlier run and applies the safe
// state again. It does not call OnAbort: the abort was already reported. It
// refuses with ErrLatched, changing nothing, if an abort is latched already.
func (w *Watchdog) Restore(a Abort) error {
	w.mu.Lock()
	if w.latched != nil {
		cur := w.latched.Rule
		w.mu.Unlock()
		return fmt.Errorf("%w (%s); not restoring %s", ErrLatched, cur, a.Rule)
	}
	a = a.clone()
	a.Restored = true
	w.latched = &a
	w.resetSafeLocked()
	w.mu.Unlock()
	if err := w.safeState(); err != nil {
		return fmt.Errorf("safety: restore latched %s: %w", a.Rule, err)
	}
	return nil
}

func (w *Watchdog) safeState() error {
	ctx, cancel := context.WithTimeout(context.Background(), w.safeTimeout)
	defer cancel()
	return w.safe.SafeStateContext(ctx)
}

// Ack clears the latched abort whose rule and detection time match a — so an
// acknowledgement can never clear a newer abort it did not see — provided no
// alarm condition is present now (the pulse oximeter's loop has fed a
// reading within PipelineStallAfter, its vitals are valid, fresh and past
// every deadband) and, for a rule on another sensor's vital
// (temperature_low, temperature_high, stress, eeg_arousal), a valid, fresh
// reading of that vital is back past the rule's deadband. Every alarm delay
// starts afresh, and so does SafeFor, from the next evaluation.
func (w *Watchdog) Ack(a Abort) error {
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.latched == nil {
		return ErrNotLatched
	}
	if w.latched.Rule != a.Rule || !w.latched.At.Equal(a.At) {
		return fmt.Errorf("safety: ack of %s at %s does not match the latched %s at %s",
			a.Rule, a.At.Format(time.RFC3339Nano), w.latched.Rule, w.latched.At.Format(time.RFC3339Nano))
	}
	if c := w.ackBlockersLocked(now); c != 0 {
		return fmt.Errorf("safety: cannot acknowledge while %s", w.describeLocked(now, c))
	}
	w.latched = nil
	w.pending = [numDelayed]time.Time{}
	w.resetSafeLocked()
	return nil
}

// CanAck reports why the latched abort cannot be acknowledged now, or nil.
func (w *Watchdog) CanAck() error {
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.latched == nil {
		return ErrNotLatched
	}
	if c := w.ackBlockersLocked(now); c != 0 {
		return fmt.Errorf("safety: cannot acknowledge while %s", w.describeLocked(now, c))
	}
	return nil
}

// conditions is a set of alarm conditions judged by their clearing
// thresholds, as Ack and SafeFor judge them.
type conditions uint16

const (
	condNotValid conditions = 1 << iota // no valid reading, or the last one is stale
	condHeartRateHigh
	condHeartRateLow
	condSpO2Low
	condTempLow
	condTempHigh
	condStress
	condHeartRateRise
	condEEGArousal
	condStabilityLow
	condStalled      // Ack only: no reading fed for longer than PipelineStallAfter
	condVitalUnknown // Ack only: no valid, fresh reading of the latched rule's vital
)

// presentLocked returns the alarm conditions present now, judged by the
// clearing thresholds: a value inside the deadband still counts. The
// merge-only rules count only during a merge (and those compared with the
// baseline only once it is set). It does not allocate, as evaluate calls
// it on every tick. w.mu must be held.
func (w *Watchdog) presentLocked(now time.Time) conditions {
	l, r := w.limits, w.latest
	if now.Sub(w.lastValid) > l.StaleAfter || !r.Valid() {
		return condNotValid
	}
	var c conditions
	if r.HeartRateBPM > l.HeartRateHighBPM-heartRateDeadbandBPM {
		c |= condHeartRateHigh
	}
	if r.HeartRateBPM < l.HeartRateLowBPM+heartRateDeadbandBPM {
		c |= condHeartRateLow
	}
	if r.SpO2Pct < l.SpO2LowPct+spo2DeadbandPct {
		c |= condSpO2Low
	}
	if t, ok := w.coreTempLocked(now); ok {
		if t < l.TemperatureLowC+tempDeadbandC {
			c |= condTempLow
		}
		if t > l.TemperatureHighC-tempDeadbandC {
			c |= condTempHigh
		}
	}
	if !w.merge {
		return c
	}
	if s, ok := w.skinLocked(now); ok && float64(s.SCRPerMinute) > l.StressSCRPerMin-stressDeadbandSCR {
		c |= condStress
	}
	if !w.hasBaseline {
		return c
	}
	if r.HeartRateBPM > w.riseReferenceLocked(now)+l.HeartRateRiseBPM-heartRateDeadbandBPM {
		c |= condHeartRateRise
	}
	if x, ok := w.arousalLocked(now); ok && x > l.EEGArousalRatio-eegArousalDeadband {
		c |= condEEGArousal
	}
	if w.stability < l.StabilityMin+stabilityDeadband {
		c |= condStabilityLow
	}
	return c
}

// ackBlockersLocked returns the alarm conditions that refuse an Ack: the
// pulse oximeter's loop silent for longer than PipelineStallAfter
// (condStalled: a stuck loop says nothing, and the next evaluation would
// latch pipeline_stalled again), those present now, and the latched
// rule's own vital unknown or not back past its deadband
// (latchedVitalLocked), except that vitals which are not valid because
// the pod is established empty outside a merge (emptyForAckLocked) do not
// refuse it: an empty pod has no vitals to contradict the
// acknowledgement. w.mu must be held, with an abort latched.
func (w *Watchdog) ackBlockersLocked(now time.Time) conditions {
	if !w.lastFeed.IsZero() && now.Sub(w.lastFeed) > w.limits.PipelineStallAfter {
		return condStalled
	}
	c := w.presentLocked(now)
	if c == condNotValid && !w.merge && w.emptyForAckLocked(now) {
		return 0
	}
	return c | w.latchedVitalLocked(now)
}

// latchedVitalLocked returns what refuses the Ack of a rule on one of the
// other sensors' vitals besides the conditions present: no valid, fresh
// reading of that vital (condVitalUnknown: a thermometer silent since a
// fever's abort is no evidence the fever has gone), and for stress a
// response rate not back past its deadband, judged outside a merge too (a
// merge's end does not end the sleeper's stress). The rules on the pulse
// oximeter's vitals need a valid reading already (condNotValid); those of
// the session's baseline (eeg_arousal) need the vital valid, as the
// baseline is gone with the merge. w.mu must be held, with an abort
// latched.
func (w *Watchdog) latchedVitalLocked(now time.Time) conditions {
	switch w.latched.Rule {
	case RuleTempLow, RuleTempHigh:
		if _, ok := w.coreTempLocked(now); !ok {
			return condVitalUnknown
		}
	case RuleStress:
		s, ok := w.skinLocked(now)
		if !ok {
			return condVitalUnknown
		}
		if float64(s.SCRPerMinute) > w.limits.StressSCRPerMin-stressDeadbandSCR {
			return condStress
		}
	case RuleEEGArousal:
		if _, ok := w.eegLocked(now); !ok {
			return condVitalUnknown
		}
	}
	return 0
}

// emptyForAckLocked reports whether the pod is established empty, as Ack
// judges it: the sensor, read within StaleAfter (vacantLocked), has seen
// no one on every reading for at least StaleAfter, and no valid reading
// with an alarm condition present (by the clearing thresholds) was fed in
// the last StaleAfter. One reading without contact (a finger that slips
// off for a poll, a clip that falls off a sleeper in distress) is not an
// empty pod. w.mu must be held.
func (w *Watchdog) emptyForAckLocked(now time.Time) bool {
	l := w.limits
	return w.vacantLocked(now) && !w.emptySince.IsZero() && now.Sub(w.emptySince) >= l.StaleAfter &&
		(w.alarmedAt.IsZero() || now.Sub(w.alarmedAt) >= l.StaleAfter)
}

// describeLocked says which conditions of c are present, with the latest
// values. w.mu must be held.
func (w *Watchdog) describeLocked(now time.Time, c conditions) string {
	l, r := w.limits, w.latest
	if c&condStalled != 0 {
		return fmt.Sprintf("no reading has been fed for %.1f s (limit %.1f s)", now.Sub(w.lastFeed).Seconds(), l.PipelineStallAfter.Seconds())
	}
	if c&condNotValid != 0 {
		return "vitals are not valid"
	}
	var p []string
	if c&condVitalUnknown != 0 {
		p = append(p, fmt.Sprintf("no valid %s has been fed within %.1f s", latchedVital(w.latched.Rule), l.StaleAfter.Seconds()))
	}
	if c&condHeartRateHigh != 0 {
		p = append(p, fmt.Sprintf("heart_rate_bpm %.1f is not below %g", r.HeartRateBPM, l.HeartRateHighBPM-heartRateDeadbandBPM))
	}
	if c&condHeartRateLow != 0 {
		p = append(p, fmt.Sprintf("heart_rate_bpm %.1f is not above %g", r.HeartRateBPM, l.HeartRateLowBPM+heartRateDeadbandBPM))
	}
	if c&condSpO2Low != 0 {
		p = append(p, fmt.Sprintf("spo2_pct %.1f is not above %g", r.SpO2Pct, l.SpO2LowPct+spo2DeadbandPct))
	}
	core, _ := w.coreTempLocked(now)
	if c&condTempLow != 0 {
		p = append(p, fmt.Sprintf("body_temp_c %.2f is not above %g", core, l.TemperatureLowC+tempDeadbandC))
	}
	if c&condTempHigh != 0 {
		p = append(p, fmt.Sprintf("body_temp_c %.2f is not below %g", core, l.TemperatureHighC-tempDeadbandC))
	}
	if c&condStress != 0 {
		p = append(p, fmt.Sprintf("scr_per_min %d is not below %g", w.skin.SCRPerMinute, l.StressSCRPerMin-stressDeadbandSCR+1))
	}
	if c&condHeartRateRise != 0 {
		p = append(p, fmt.Sprintf("heart_rate_bpm %.1f is not below %g", r.HeartRateBPM, w.riseReferenceLocked(now)+l.HeartRateRiseBPM-heartRateDeadbandBPM))
	}
	if c&condEEGArousal != 0 {
		x, _ := w.arousalLocked(now)
		p = append(p, fmt.Sprintf("beta/alpha %.2f times the baseline's is not below %g", x, l.EEGArousalRatio-eegArousalDeadband))
	}
	if c&condStabilityLow != 0 {
		p = append(p, fmt.Sprintf("stability %.2f is not above %g", w.stability, l.StabilityMin+stabilityDeadband))
	}
	return strings.Join(p, " and ")
}

// latchedVital names the vital rule judges, for describeLocked.
func latchedVital(rule string) string {
	switch rule {
	case RuleTempLow, RuleTempHigh:
		return "body temperature"
	case RuleStress:
		return "skin conductance"
	case RuleEEGArousal:
		return "EEG summary"
	}
	return rule + " vital"
}

// resetSafeLocked ends the current run of evaluations without a condition.
// w.mu must be held.
func (w *Watchdog) resetSafeLocked() {
	w.safeSince = time.Time{}
	w.safeFor = 0
}

func (a Abort) clone() Abort {
	if a.Values != nil {
		v := make(map[string]float64, len(a.Values))
		for k, x := range a.Values {
			v[k] = x
		}
		a.Values = v
	}
	return a
}

func round3(x float64) float64 {
	return float64(int64(x*1000+0.5)) / 1000
}
