package controller

import (
	"errors"
	"slices"
	"time"

	"github.com/sleegation/podd/sensing"
	"github.com/sleegation/podd/sensors/max30102"
	"github.com/sleegation/podd/sensors/vitals"
	"github.com/sleegation/podd/uplink"
)

// failuresBeforeReopen is how many faulty reads in a row (no samples, or
// the same samples again) drop the oximeter so it is opened again from
// scratch (a chip that lost power lost its settings). Reads the bus
// refuses are judged by holdFIFO instead.
const failuresBeforeReopen = 3

// holdFIFO is how long after the last good read (which drained the FIFO)
// the bus may refuse the oximeter's reads before the chip is opened again
// from scratch (which clears its FIFO): as long as the
// chip can keep and count what it samples meanwhile, its 32-sample FIFO
// and then its overflow counter (below MaxLost), 2.48 s at 25 Hz. Within it a
// refused read loses nothing; the next good read returns what the chip
// kept and the estimator bridges what it dropped (vitals.Estimator.Bridge),
// so a bus that NACKs for a moment (electrical noise) does not restart the
// estimator, whose first estimate needs 4 s of signal: with vitals_stale at
// 5 s, that restart made a 1 s NACK a false abort.
func holdFIFO(rateHz float64) time.Duration {
	// MaxLost itself is a saturated counter (the loss unknown), so the
	// hold ends one sample before it.
	return time.Duration(float64(max30102.FIFODepth+max30102.MaxLost-1) / rateHz * float64(time.Second))
}

// noSamplesAfter is how long the oximeter may deliver no sample before it
// counts as failed. A chip reset by a brown-out answers every read without
// error but has stopped sampling; the estimator would keep reporting its old
// window as valid vitals. It is also the oximeter's sensing.Sensor.StaleAfter.
const noSamplesAfter = time.Second

// oximeterReopenAfter is the oximeter's sensing.Sensor.ReopenAfter, a
// backstop only: the oximeter's own rules (holdFIFO, failuresBeforeReopen)
// drop a failing device sooner (at 25 Hz within 8 s of its last good read)
// through sensing.Poll.Reopen.
const oximeterReopenAfter = time.Minute

// errNoSamples is the fault of an oximeter that answers but does not sample.
var errNoSamples = errors.New("max30102: no new samples: the chip is not sampling")

// errRepeating is the fault of a read that returns the very samples of the
// read before, repeatsBeforeFault times in a row: a bus that repeats its
// last answer (noise makes two real reads differ), whose samples say
// nothing of the sleeper.
var errRepeating = errors.New("max30102: every read returns the same samples: the bus repeats itself")

// repeatsBeforeFault is how many reads in a row may repeat the samples of
// the one before.
const repeatsBeforeFault = 2

// oximeter keeps the pulse oximeter read on a sensing.Loop and feeds the
// watchdog. What lasts across opens of the chip is here: the fault
// reported, the overflow episode, the swapped-channels check. Only the
// loop's goroutine touches it.
type oximeter struct {
	p        *Pod
	faulty   bool // a fault is active; reported once when it starts and once when it ends
	overflow repeatingFault
	swapped  swapCheck
	buf      []max30102.Sample
	prev     []max30102.Sample // the samples of the last read
}

func newOximeter(p *Pod) *oximeter {
	return &oximeter{
		p:        p,
		overflow: repeatingFault{pod: p, device: "max30102", fault: "fifo_overflow", msg: "oximeter FIFO overflow"},
		swapped:  swapCheck{pod: p},
		buf:      make([]max30102.Sample, max30102.FIFODepth),
		prev:     make([]max30102.Sample, 0, max30102.FIFODepth),
	}
}

// sensor is the oximeter as the sensing loop keeps it: polled every
// SensorPeriod and retried at the same pace (a longer wait would let its
// FIFO overflow), opened anew every ReopenPeriod while it fails, and fed an
// invalid reading every period while no device is open.
func (o *oximeter) sensor(cfg Config) sensing.Sensor {
	return sensing.Sensor{
		Name:        "max30102",
		Open:        o.open,
		Period:      cfg.SensorPeriod,
		StaleAfter:  noSamplesAfter,
		ReopenAfter: oximeterReopenAfter,
		Backoff:     sensing.Backoff{RetryMax: cfg.SensorPeriod, ReopenMin: cfg.ReopenPeriod, ReopenMax: cfg.ReopenPeriod},
		Idle:        func(time.Time) { o.invalid() },
	}
}

// open opens the chip; a failure is the oximeter's fault.
func (o *oximeter) open() (sensing.Device, error) {
	d, err := o.p.parts.OpenOximeter()
	if err != nil {
		o.report(err)
		o.invalid()
		return nil, err
	}
	o.prev = o.prev[:0]
	now := time.Now()
	return &oximeterDevice{o: o, dev: d, est: vitals.NewEstimator(d.SampleRate()), lastSample: now, lastRead: now}, nil
}

// stop closes what the loop leaves open when it ends.
func (o *oximeter) stop() { o.overflow.end(time.Now()) }

// report reports the start (err not nil) and the end of a fault; the
// start names its state, as the other sensors' faults do.
func (o *oximeter) report(err error) {
	if (err != nil) == o.faulty {
		return
	}
	o.faulty = err != nil
	o.p.sensorFault.Store(o.faulty)
	now := time.Now()
	if err != nil {
		o.p.log.Warn("sensor fault", "device", "max30102", "err", err)
		// The state its sensing loop reports in telemetry: a chip that
		// answers with nothing new is stale, any other failure a
		// failure of the bus.
		state := sensing.BusError
		if errors.Is(err, errNoSamples) {
			state = sensing.Stale
		}
		o.p.post(uplink.Event{Type: "fault", Fields: map[string]any{"device": "max30102", "active": true, "state": string(state), "error": err.Error()}}, now)
	} else {
		o.p.log.Info("sensor recovered", "device", "max30102")
		o.p.post(uplink.Event{Type: "fault", Fields: map[string]any{"device": "max30102", "active": false}}, now)
	}
}

// invalid tells the watchdog the vitals are unknown now.
func (o *oximeter) invalid() { o.p.feed(vitals.Reading{At: time.Now()}) }

// oximeterDevice is one open of the chip, with its estimator.
type oximeterDevice struct {
	o          *oximeter
	dev        Oximeter
	est        *vitals.Estimator
	failures   int       // faulty reads in a row
	repeats    int       // reads in a row that repeated the one before
	lastSample time.Time // when the chip last delivered a sample
	lastRead   time.Time // when a read last succeeded
}

// Poll reads the FIFO, judges the read and feeds the estimator's reading
// (an invalid one after any failure) to the watchdog. A read the bus
// refuses is an error; the device asks to be reopened once the bus has
// refused for longer than holdFIFO. A read that answers with no sample
// for noSamplesAfter is not fresh, one that repeats the samples before it
// is errRepeating; either resets the estimator, and failuresBeforeReopen
// of them in a row ask for a reopen.
func (d *oximeterDevice) Poll(time.Time) (sensing.Poll, error) {
	o := d.o
	n, lost, err := d.dev.ReadFIFO(o.buf)
	now := time.Now()
	if err != nil {
		// The bus refused the read. The chip keeps sampling into its
		// FIFO, and the next good read returns what it kept and
		// counts what is missing (ReadFIFO's lost): the estimator
		// keeps its window, for that read to continue or bridge.
		// Only a bus that refuses for longer than the chip can count
		// (holdFIFO) gets the chip opened from scratch.
		o.report(err)
		o.invalid()
		return sensing.Poll{Reopen: now.Sub(d.lastRead) > holdFIFO(d.dev.SampleRate())}, err
	}
	d.lastRead = now
	if n > 0 {
		d.lastSample = now
	}
	var fault error
	if time.Since(d.lastSample) > noSamplesAfter {
		fault = errNoSamples
	}
	if fault == nil && n > 0 {
		if slices.Equal(o.buf[:n], o.prev) {
			d.repeats++
		} else {
			d.repeats = 0
		}
		o.prev = append(o.prev[:0], o.buf[:n]...)
		if d.repeats >= repeatsBeforeFault {
			fault = errRepeating
		}
	}
	if fault != nil {
		o.report(fault)
		d.est.Reset()
		o.invalid()
		d.failures++
		p := sensing.Poll{Reopen: d.failures >= failuresBeforeReopen}
		if fault == errRepeating {
			// The bus answers with an old answer: a failure of the bus.
			return p, fault
		}
		// The chip answers but makes nothing new: stale.
		return p, nil
	}
	d.failures = 0
	o.report(nil)
	o.overflow.observe(lost, now)
	switch {
	case lost >= max30102.MaxLost:
		// The counter saturated: how many were lost is unknown, and
		// the window has no time base.
		d.est.Reset()
	case lost > 0:
		d.est.Bridge(lost)
	}
	for _, s := range o.buf[:n] {
		d.est.Add(s.Red, s.IR)
	}
	r := d.est.Estimate()
	r.Stamp(time.Now())
	o.p.feed(r)
	o.swapped.observe(r)
	return sensing.Poll{Fresh: n > 0}, nil
}

// Halt halts the chip: when the loop drops it (best effort, the device is
// failing) and when the loop ends.
func (d *oximeterDevice) Halt() error {
	err := d.dev.Halt()
	if err != nil {
		d.o.p.log.Warn("halt oximeter", "err", err)
	}
	return err
}
