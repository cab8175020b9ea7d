// Package sensing owns the loop that keeps one biometric sensor read: it
// opens the device, polls it, retries a bus that refuses with backoff,
// opens the device anew after a loss, and judges the sensor's health for
// the safety watchdog and telemetry. Every sensor of the pod runs the same
// loop; what differs per chip (how to read it, what its data mean) is its
// Device.
//
// # Health
//
// A sensor is in one State at a time:
//
//   - starting: not read yet since the loop began or the device was opened
//     anew; it becomes stale once StaleAfter has passed without fresh data,
//     so a sensor that never answers is never "starting" for long;
//   - ok: the last poll succeeded and delivered fresh data within
//     StaleAfter, and the data are plausible. An estimate still filling
//     its window (after the start, or after a movement made it start
//     over) is ok: the chip works and the sleeper is there; the vital is
//     not reported until the estimate is valid (Sensor.Report);
//   - stale: polls succeed but nothing fresh came for StaleAfter (a chip
//     that stopped converting, a stuck data-ready flag). The device never
//     repeats an old value as new: freshness is the chip's own (a
//     data-ready bit, new FIFO samples, a DRDY edge), reported by Poll;
//   - bus_error: the last poll or open failed on the bus (a NACK, a
//     missing device, a failed ID check);
//   - flatline, saturated, lead_off, no_contact: the device answers with
//     fresh data that say nothing of the sleeper (Poll's judgement).
//
// Only ok is healthy. The loop reports each change of State (OnChange)
// and keeps counts (failed polls, failed opens, reopens) for telemetry.
//
// # Invalid estimates
//
// A sensor's estimate can be invalid while its chip works and the skin is
// there: after an open, and after a movement, the skin conductance
// estimator starts its minute's window over (a jump faster than a
// response) and the EEG's its 30 s span (artefacts). Sleepers move: a
// sensor that turned unhealthy on every movement would make the safety
// watchdog's sensor_stale abort a merge a few seconds after each one, on
// calm nights. So an invalid estimate leaves the sensor ok for the time
// the estimator takes to refill after a movement, and no longer: the skin
// conductance is no_contact after skinInvalidFor without a valid
// estimate (its 60 s window and 20 s for the movement itself), the EEG
// after eegInvalidFor (a minute: its span and as long again). The skin
// conductance counts that time from its open, its last valid estimate,
// or the end of a spell of 20 s or more in a state of its own (no
// contact, flat, saturated): a sleeper lying down in a pod that was
// empty is ok while the window fills, not no_contact for the time the
// pod was empty. A single
// movement never makes them unhealthy; movements that come faster than
// the window refills (a restless nightmare) keep the estimate invalid
// for good, and the sensor says so within those times, and a merge then
// aborts on sensor_stale StaleAfter later. What this costs: during those
// times the rules on that vital (stress, eeg_arousal) hold their
// conditions but start none; with the safety defaults a skin conductance
// blind from movements trips sensor_stale 85 s after its last valid
// estimate, not 5 s.
//
// # Retry and reopen
//
// A failed poll is retried after a backoff that starts at the sensor's
// Period and doubles up to Backoff.RetryMax (by default an eighth of
// StaleAfter, at least the Period and at most 2 s), so a bus
// that refuses for a moment (electrical noise) costs one or two polls and
// a dead one is not hammered. A chip that buffers what it samples sets a
// RetryMax shorter than its buffer takes to fill: the pulse oximeter's
// 32-sample FIFO fills in 1.28 s at 25 Hz, so its loop retries every
// Period, and the read after a refusal still finds every sample. Once
// polls have failed, or delivered nothing fresh, for ReopenAfter in a
// row, the device is halted and opened anew (a chip reset by a brown-out
// has lost its configuration); a failed open is retried after a backoff
// from Backoff.ReopenMin doubling to ReopenMax (0.5 s to 5 s by default),
// so a sensor plugged back in is healthy again within ReopenMax.
//
// A device that knows better than the loop when it is lost (the oximeter
// knows how long its FIFO keeps samples while the bus refuses, and that
// three faulty reads in a row mean a chip to set up again) says so with
// Poll.Reopen: the loop halts it at once and opens it anew after a
// Period, and no sooner than ReopenMin after the open before, so a device
// that fails as soon as it is opened is not opened in a busy loop.
// ReopenAfter then stays as a backstop longer than the device's own rules.
//
// While no device is open the loop has nothing to poll; Idle, when set,
// is called every Period meanwhile, so a consumer that must hear from the
// sensor at its pace (the safety watchdog fed by the oximeter) hears "no
// data" rather than nothing.
//
// # Concurrency
//
// A Loop's Run is its only goroutine and the only user of its Device;
// Health may be called from any goroutine. Time is read with time.Now and
// waited for with timers, on the monotonic clock.
package sensing

import (
	"context"
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sleegation/podd/sensors/vitals/eda"
	"github.com/sleegation/podd/sensors/vitals/eeg"
	"github.com/sleegation/podd/sensors/vitals/temp"
)

// State is a sensor's health.
type State string

// The states of a sensor (see the package doc).
const (
	Starting  State = "starting"
	OK        State = "ok"
	Stale     State = "stale"
	BusError  State = "bus_error"
	Flatline  State = "flatline"
	Saturated State = "saturated"
	LeadOff   State = "lead_off"
	NoContact State = "no_contact"
)

// Poll is what one poll of a device gave.
type Poll struct {
	// Fresh is true when the poll delivered data the chip produced since
	// the poll before (new samples, a new conversion).
	Fresh bool
	// State is OK, or the implausibility of the fresh data (Flatline,
	// Saturated, LeadOff, NoContact). The zero value means OK.
	State State
	// Reopen is true when the device judges itself lost, with or without
	// an error: the loop halts it and opens it anew (see the package
	// doc, "Retry and reopen").
	Reopen bool
}

// Device is an opened sensor. Poll reads what the chip has now and feeds
// the sensor's estimator; an error is a failure of the bus or of the
// device (it does not answer as the chip does). A Device whose Sensor has
// no Period paces itself: its Poll waits for the chip's data-ready signal,
// at most about a second. Halt leaves the chip in its low-power state; it
// is called once, by the loop, when the device is dropped or the loop
// ends.
type Device interface {
	Poll(now time.Time) (Poll, error)
	Halt() error
}

// Sensor describes one sensor to keep read.
type Sensor struct {
	// Name names the sensor in health reports, events and telemetry: the
	// chip's name (max30102, ads1299, ads1115, tmp117).
	Name string
	// Open opens (and opens anew after a loss) the device.
	Open func() (Device, error)
	// Period is the time from the start of one poll to the start of the
	// next (a poll that takes longer is followed at once); zero when Poll
	// paces itself.
	Period time.Duration
	// StaleAfter is how long the sensor may deliver nothing fresh before
	// it is stale: a few of its own sample periods.
	StaleAfter time.Duration
	// ReopenAfter is how long polls may fail, or deliver nothing fresh,
	// before the device is halted and opened anew. A Device that judges
	// its own loss (Poll.Reopen) is given a ReopenAfter longer than its
	// own rules, a backstop.
	ReopenAfter time.Duration
	// Backoff bounds the loop's waits after failures; its zero fields
	// take the defaults.
	Backoff Backoff
	// Idle, if not nil, is called from Run's goroutine every Period while
	// no device is open (after a failed open, after a device was
	// dropped), but not at the instants an open is tried: a sensor whose
	// consumers must keep hearing from it (the safety watchdog) tells
	// them it knows nothing. It must not block.
	Idle func(now time.Time)
	// Report, if not nil, writes the sensor's latest vitals into v. The
	// loop calls it only while the sensor is healthy (Loop.Report), so a
	// value the sensor no longer refreshes is never reported as current.
	// It is called from other goroutines than the loop's: the Device
	// publishes its vitals safely (an atomic value).
	Report func(v *Vitals)
	// SetEstimates, if not nil, sets where the sensor's device hands
	// every estimate it makes (Estimates). Call it before Run; nil stops
	// the handing.
	SetEstimates func(Estimates)
}

// Estimates receives every estimate the sensors besides the pulse
// oximeter make, valid or not, each stamped with the time of the poll
// that made it (time.Now, so with its monotonic reading), from the
// sensor's loop goroutine: the skin conductance estimator's reading
// (tonic, phasic, SCRs a minute), the thermometer's (°C at the sensor's
// site) and the EEG's pod summary (relative band powers, beta/alpha).
// Its methods must neither block nor keep what they are handed by
// reference (safety.Watchdog stores a copy of the latest under a short
// lock).
type Estimates interface {
	FeedSkinConductance(eda.Reading)
	FeedBodyTemp(temp.Reading)
	FeedEEG(at time.Time, summary eeg.Channel)
}

// estimatesSink is the Estimates a sensor's devices hand their estimates
// to, set by Sensor.SetEstimates while the loop may run.
type estimatesSink struct{ p atomic.Pointer[Estimates] }

func (s *estimatesSink) set(e Estimates) {
	if e == nil {
		s.p.Store(nil)
		return
	}
	s.p.Store(&e)
}

// get returns the Estimates set, or nil.
func (s *estimatesSink) get() Estimates {
	if e := s.p.Load(); e != nil {
		return *e
	}
	return nil
}

// Vitals are the vitals of the sensors besides the pulse oximeter, as the
// city may see them. A nil field is unknown.
type Vitals struct {
	// SkinConductanceUS is the tonic skin conductance, µS.
	SkinConductanceUS *float64
	// BodyTempC is the body temperature, °C.
	BodyTempC *float64
	// EEG is the relative power of each EEG band (delta, theta, alpha,
	// sigma, beta, gamma): its share, 0..1, of the power over 0.5–40 Hz,
	// the median over the valid channels.
	EEG map[string]float64
}

// Backoff bounds the waits of a sensor's loop after failures. A zero field
// takes its default.
type Backoff struct {
	// RetryMax is the longest wait before a failed poll is retried
	// (default: an eighth of StaleAfter, at least the Period, at most 2 s). The wait starts at the Period and doubles up to
	// RetryMax; a chip that buffers samples (a FIFO) needs a RetryMax
	// shorter than the time its buffer takes to fill, or a bus that
	// refuses for a moment costs samples the chip would have kept. When
	// set, it is at least the Period.
	RetryMax time.Duration
	// ReopenMin and ReopenMax bound the wait before a failed open is
	// tried again: from ReopenMin, doubling, to ReopenMax (defaults 0.5 s
	// and 5 s). ReopenMin is also the least time between two opens when
	// the device asks to be opened anew (Poll.Reopen). Equal values
	// retry at a fixed period.
	ReopenMin, ReopenMax time.Duration
}

// Backoff defaults.
const (
	// maxRetry is the default Backoff.RetryMax.
	maxRetry = 2 * time.Second
	// selfPacedRetry is the first wait before a self-paced device's
	// failed poll is retried.
	selfPacedRetry = 50 * time.Millisecond
	// reopenMin and reopenMax are the default Backoff.ReopenMin and
	// ReopenMax.
	reopenMin = 500 * time.Millisecond
	reopenMax = 5 * time.Second
)

// withDefaults returns b with its zero fields set to the defaults.
func (b Backoff) withDefaults() Backoff {
	if b.RetryMax == 0 {
		b.RetryMax = maxRetry
	}
	if b.ReopenMin == 0 {
		b.ReopenMin = reopenMin
		if b.ReopenMax > 0 {
			b.ReopenMin = min(reopenMin, b.ReopenMax)
		}
	}
	if b.ReopenMax == 0 {
		b.ReopenMax = max(reopenMax, b.ReopenMin)
	}
	return b
}

// Health is a snapshot of a sensor's health.
type Health struct {
	Sensor string
	State  State
	// Since is when the sensor entered State.
	Since time.Time
	// UnhealthySince is when the sensor stopped being healthy, kept
	// across the unhealthy states it goes through (bus_error, starting
	// when its chip is opened anew, bus_error again...); zero while it is
	// healthy. A loop begins unhealthy (starting) from New.
	UnhealthySince time.Time
	// LastFresh is when it last delivered fresh data (zero: never).
	LastFresh time.Time
	// Err is the last failure while State is BusError.
	Err string
	// PollErrors and OpenErrors count failed polls and opens since the
	// loop began; Reopens counts devices dropped to be opened anew.
	PollErrors, OpenErrors, Reopens uint64
}

// Healthy reports whether the sensor delivers fresh, plausible data.
func (h Health) Healthy() bool { return h.State == OK }

// Loop keeps one Sensor read. Create it with New; Run it once.
type Loop struct {
	s        Sensor
	onChange func(Health)

	// base is the monotonic origin of turned: nanoseconds from base to the
	// start of the loop's latest turn (an open or a poll); -1 before Run.
	base   time.Time
	turned atomic.Int64

	mu sync.Mutex
	h  Health
}

// NotRunning is what SinceTurn returns before Run's first turn.
const NotRunning = time.Duration(math.MaxInt64)

// SinceTurn is the time since the loop last began an open or a poll, on
// the monotonic clock, or NotRunning before Run. A loop waits at most
// reopenMax (or its Backoff's ReopenMax) between turns, plus the longest a
// transaction of its device takes: a loop far beyond that is stuck in a
// bus transaction that does not return, which its own Health cannot say.
func (l *Loop) SinceTurn() time.Duration {
	ns := l.turned.Load()
	if ns < 0 {
		return NotRunning
	}
	return time.Since(l.base) - time.Duration(ns)
}

func (l *Loop) turn() { l.turnAt(time.Now()) }

// turnAt records a turn begun at t (a time.Now reading).
func (l *Loop) turnAt(t time.Time) { l.turned.Store(int64(t.Sub(l.base))) }

// New returns a loop for s. onChange, if not nil, is called from Run's
// goroutine with each new State; it must not block.
func New(s Sensor, onChange func(Health)) (*Loop, error) {
	switch {
	case s.Name == "":
		return nil, errors.New("sensing: a sensor needs a name")
	case s.Open == nil:
		return nil, errors.New("sensing: sensor " + s.Name + ": no Open")
	case s.Period < 0 || s.StaleAfter <= 0 || s.ReopenAfter <= 0:
		return nil, errors.New("sensing: sensor " + s.Name + ": Period must be >= 0 and StaleAfter, ReopenAfter > 0")
	case s.Backoff.RetryMax < 0 || s.Backoff.ReopenMin < 0 || s.Backoff.ReopenMax < 0:
		return nil, errors.New("sensing: sensor " + s.Name + ": a negative backoff")
	case s.Backoff.RetryMax > 0 && s.Backoff.RetryMax < s.Period:
		return nil, errors.New("sensing: sensor " + s.Name + ": Backoff.RetryMax is shorter than the Period")
	case s.Backoff.ReopenMin > 0 && s.Backoff.ReopenMax > 0 && s.Backoff.ReopenMin > s.Backoff.ReopenMax:
		return nil, errors.New("sensing: sensor " + s.Name + ": Backoff.ReopenMin is longer than ReopenMax")
	}
	if s.Backoff.RetryMax == 0 {
		// Retried often enough that a bus answering again is noticed
		// within an eighth of StaleAfter: a refusal shorter than the
		// safety watchdog's stale limit must not outlast it.
		s.Backoff.RetryMax = min(max(s.StaleAfter/8, s.Period), maxRetry)
	}
	s.Backoff = s.Backoff.withDefaults()
	now := time.Now()
	l := &Loop{s: s, onChange: onChange, h: Health{Sensor: s.Name, State: Starting, Since: now, UnhealthySince: now}, base: now}
	l.turned.Store(-1)
	return l, nil
}

// Name is the sensor's name.
func (l *Loop) Name() string { return l.s.Name }

// Report writes the sensor's latest vitals into v while it is healthy, and
// nothing otherwise. It returns the health it judged by, so that a record
// that shows both never pairs a vital with a sensor state that is not ok
// (the loop may change its state between two separate calls).
func (l *Loop) Report(v *Vitals) Health {
	h := l.Health()
	if l.s.Report != nil && h.Healthy() {
		l.s.Report(v)
	}
	return h
}

// Health returns the sensor's health now. A sensor whose loop is blocked
// (a bus transaction that hangs) does not get to say so itself: a state
// of Starting or OK whose fresh data are older than StaleAfter is
// reported as Stale.
func (l *Loop) Health() Health {
	l.mu.Lock()
	h := l.h
	l.mu.Unlock()
	if h.State == OK || h.State == Starting {
		// Starting counts from the open that began it (the fresh data
		// before it were of the device dropped), ok from its last
		// fresh data.
		last := h.LastFresh
		if h.State == Starting && h.Since.After(last) {
			last = h.Since
		}
		if since := time.Since(last); since > l.s.StaleAfter {
			wasOK := h.State == OK
			h.State, h.Since = Stale, last.Add(l.s.StaleAfter)
			if wasOK {
				h.UnhealthySince = h.Since
			}
		}
	}
	return h
}

// set records a new state (and err for BusError) and reports a change.
func (l *Loop) set(st State, err error, now time.Time) {
	l.mu.Lock()
	changed := l.h.State != st
	if changed {
		switch {
		case st == OK:
			l.h.UnhealthySince = time.Time{}
		case l.h.State == OK:
			l.h.UnhealthySince = now
		}
		l.h.State, l.h.Since = st, now
	}
	if st == BusError && err != nil {
		l.h.Err = err.Error()
	} else if st != BusError {
		l.h.Err = ""
	}
	h := l.h
	l.mu.Unlock()
	if changed && l.onChange != nil {
		l.onChange(h)
	}
}

func (l *Loop) count(f func(h *Health)) {
	l.mu.Lock()
	f(&l.h)
	l.mu.Unlock()
}

// Run keeps the sensor read until ctx is done, then halts the device. It
// returns nil.
func (l *Loop) Run(ctx context.Context) error {
	var (
		dev        Device
		opened     time.Time // when dev, or the last device, was opened
		failing    time.Time // when polls began failing or delivering nothing fresh; zero while fine
		lastFresh  time.Time
		retry      time.Duration // wait after a failed poll
		reopenWait = l.s.Backoff.ReopenMin
		holdOff    time.Duration // the wait before the next open
	)
	defer func() {
		if dev != nil {
			_ = dev.Halt()
		}
	}()
	timer := time.NewTimer(0)
	defer timer.Stop()
	wait := func(d time.Duration) bool {
		timer.Reset(d)
		select {
		case <-ctx.Done():
			return false
		case <-timer.C:
			return true
		}
	}
	// idle waits d with no device open, calling Idle every Period before
	// its end.
	idle := func(d time.Duration) bool {
		if l.s.Idle != nil && l.s.Period > 0 {
			for ; d > l.s.Period; d -= l.s.Period {
				if !wait(l.s.Period) {
					return false
				}
				l.s.Idle(time.Now())
			}
		}
		return wait(d)
	}
	drop := func() {
		_ = dev.Halt() // best effort: the device is failing
		dev = nil
		l.count(func(h *Health) { h.Reopens++ })
	}
	for ctx.Err() == nil {
		if dev == nil {
			if holdOff > 0 && !idle(holdOff) {
				return nil
			}
			holdOff = 0
			l.turn()
			d, err := l.s.Open()
			now := time.Now()
			opened = now
			if err != nil {
				l.count(func(h *Health) { h.OpenErrors++ })
				l.set(BusError, err, now)
				holdOff = reopenWait
				reopenWait = min(2*reopenWait, l.s.Backoff.ReopenMax)
				continue
			}
			dev, failing, retry, reopenWait = d, time.Time{}, 0, l.s.Backoff.ReopenMin
			lastFresh = now // a fresh open is given StaleAfter to deliver
			l.set(Starting, nil, now)
		}
		polled := time.Now()
		l.turnAt(polled)
		p, err := dev.Poll(polled)
		now := time.Now()
		switch {
		case err != nil:
			l.count(func(h *Health) { h.PollErrors++ })
			l.set(BusError, err, now)
			retry = l.backoff(retry)
		case p.Fresh:
			lastFresh = now
			l.count(func(h *Health) { h.LastFresh = now })
			st := p.State
			if st == "" {
				st = OK
			}
			l.set(st, nil, now)
			retry = 0
		case now.Sub(lastFresh) > l.s.StaleAfter:
			l.set(Stale, nil, now)
			retry = 0
		default:
			retry = 0
		}
		if p.Reopen {
			// The device's own judgement: opened anew after a Period,
			// and no sooner than ReopenMin after the last open.
			drop()
			holdOff = max(l.s.Period, l.s.Backoff.ReopenMin-time.Since(opened))
			continue
		}
		// Failing: a failed poll, or nothing fresh for StaleAfter.
		if err != nil || now.Sub(lastFresh) > l.s.StaleAfter {
			if failing.IsZero() {
				failing = now
			}
		} else {
			failing = time.Time{}
		}
		if !failing.IsZero() && now.Sub(failing) >= l.s.ReopenAfter && now.Sub(opened) >= l.s.ReopenAfter {
			drop()
			continue
		}
		// Period runs from the start of the poll: a poll that takes
		// time (a conversion waited for) does not slow the sensor's
		// rate, which its estimator's time base assumes.
		next := l.s.Period - now.Sub(polled)
		if l.s.Period == 0 {
			next = 0
		}
		if retry > 0 {
			next = retry
		} else if l.s.Period == 0 && !p.Fresh {
			// A self-paced device that returned with nothing: do not
			// spin on it.
			next = selfPacedRetry
		}
		if next > 0 && !wait(next) {
			return nil
		}
	}
	return nil
}

// backoff returns the wait after a failed poll, given the one before (0
// after a good poll): the Period (selfPacedRetry without one), doubling up
// to Backoff.RetryMax.
func (l *Loop) backoff(prev time.Duration) time.Duration {
	if prev == 0 {
		if l.s.Period > 0 {
			return l.s.Period
		}
		return min(selfPacedRetry, l.s.Backoff.RetryMax)
	}
	return min(2*prev, l.s.Backoff.RetryMax)
}
