package controller

import (
	"context"
	"errors"
	"time"

	"github.com/sleegation/podd/safety"
	"github.com/sleegation/podd/sensors/max30102"
	"github.com/sleegation/podd/sensors/vitals"
	"github.com/sleegation/podd/uplink"
)

// failuresBeforeReopen is how many read errors in a row drop the oximeter so
// it is opened again from scratch (a chip that lost power lost its settings).
const failuresBeforeReopen = 3

// noSamplesAfter is how long the oximeter may deliver no sample before it
// counts as failed. A chip reset by a brown-out answers every read without
// error but has stopped sampling; the estimator would keep reporting its old
// window as valid vitals.
const noSamplesAfter = time.Second

// errNoSamples is the fault of an oximeter that answers but does not sample.
var errNoSamples = errors.New("max30102: no new samples: the chip is not sampling")

// sensorLoop polls the oximeter and feeds the watchdog. It owns the device
// between opens and halts it when it stops.
func (p *Pod) sensorLoop(ctx context.Context) error {
	var (
		dev        Oximeter
		est        *vitals.Estimator
		failures   int
		lastOpen   time.Time
		faulty     bool      // a fault is active; reported once when it starts and once when it ends
		lastSample time.Time // when the oximeter last delivered a sample
		buf        = make([]max30102.Sample, 32)
	)
	report := func(err error) {
		if (err != nil) == faulty {
			return
		}
		faulty = err != nil
		now := time.Now()
		if err != nil {
			p.log.Warn("sensor fault", "device", "max30102", "err", err)
			p.post(uplink.Event{Type: "fault", Fields: map[string]any{"device": "max30102", "active": true, "error": err.Error()}}, now)
		} else {
			p.log.Info("sensor recovered", "device", "max30102")
			p.post(uplink.Event{Type: "fault", Fields: map[string]any{"device": "max30102", "active": false}}, now)
		}
	}
	invalid := func() { p.feed(vitals.Reading{At: time.Now()}) }
	defer func() {
		if dev != nil {
			if err := dev.Halt(); err != nil {
				p.log.Warn("halt oximeter", "err", err)
			}
		}
	}()

	t := time.NewTicker(p.cfg.SensorPeriod)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if dev == nil {
			if !lastOpen.IsZero() && time.Since(lastOpen) < p.cfg.ReopenPeriod {
				invalid()
				continue
			}
			lastOpen = time.Now()
			d, err := p.parts.OpenOximeter()
			if err != nil {
				report(err)
				invalid()
				continue
			}
			dev, failures = d, 0
			est = vitals.NewEstimator(d.SampleRate())
			lastSample = time.Now()
		}
		n, lost, err := dev.ReadFIFO(buf)
		if err == nil && n > 0 {
			lastSample = time.Now()
		}
		if err == nil && time.Since(lastSample) > noSamplesAfter {
			err = errNoSamples
		}
		if err != nil {
			report(err)
			est.Reset()
			invalid()
			if failures++; failures >= failuresBeforeReopen {
				_ = dev.Halt() // best effort: the device is not answering
				dev = nil
			}
			continue
		}
		failures = 0
		report(nil)
		if lost > 0 {
			// Samples were dropped: the window no longer has a time base.
			p.log.Warn("oximeter FIFO overflow", "lost", lost)
			est.Reset()
		}
		for _, s := range buf[:n] {
			est.Add(s.Red, s.IR)
		}
		r := est.Estimate()
		r.At = time.Now()
		p.feed(r)
	}
}

func (p *Pod) feed(r vitals.Reading) {
	p.latest.Store(&r)
	p.wd.Feed(r)
}

// telemetryLoop appends one telemetry record per interval.
func (p *Pod) telemetryLoop(ctx context.Context) error {
	t := time.NewTicker(p.cfg.TelemetryInterval)
	defer t.Stop()
	var failing bool
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		now := time.Now()
		_, err := p.parts.Uplink.Telemetry(p.telemetry(), now)
		switch {
		case err != nil && !failing:
			p.log.Error("telemetry not recorded", "err", err)
		case err == nil && failing:
			p.log.Info("telemetry recorded again")
		}
		failing = err != nil
	}
}

func (p *Pod) telemetry() uplink.Telemetry {
	state, _ := p.State()
	t := uplink.Telemetry{State: state, Safety: p.wd.Status().Level}
	if r := p.latest.Load(); r != nil {
		if r.HeartRateValid {
			t.Vitals.HeartRateBPM = ptr(round1(r.HeartRateBPM))
		}
		if r.SpO2Valid {
			t.Vitals.SpO2Pct = ptr(round1(r.SpO2Pct))
		}
	}
	return t
}

func round1(x float64) float64 { return float64(int64(x*10+0.5)) / 10 }

// Notifier sends one sd_notify message (go-systemd's daemon.SdNotify).
type Notifier func(state string) (bool, error)

// Pinger is a watchdog that must be pinged, such as the kernel's hardware
// watchdog (safety.HardwareWatchdog).
type Pinger interface {
	Ping() error
}

// keepaliveMax is the longest time between two keepalives.
const keepaliveMax = time.Second

// stalledAfter is how long without an evaluation makes the safety watchdog
// count as stalled: ten of its periods.
const stalledAfter = 10 * safety.DefaultPeriod

// runKeepalive tells systemd the pod is ready, then keeps systemd's watchdog
// (when its unit sets WatchdogSec) and the hardware watchdog (when there is
// one) alive while, and only while, the safety watchdog is evaluating. It
// says STOPPING=1 on the way out. Outside systemd, notify sends nothing.
func runKeepalive(ctx context.Context, notify Notifier, hw Pinger, lastEvaluation func() time.Time, log func(msg string, args ...any)) error {
	return keepaliveLoop(ctx, notify, hw, lastEvaluation, watchdogInterval(), log)
}

func keepaliveLoop(ctx context.Context, notify Notifier, hw Pinger, lastEvaluation func() time.Time, sdInterval time.Duration, log func(msg string, args ...any)) error {
	if notify == nil {
		notify = func(string) (bool, error) { return false, nil }
	}
	_, _ = notify("READY=1")
	defer notify("STOPPING=1")
	if sdInterval <= 0 && hw == nil {
		<-ctx.Done()
		return nil
	}
	period := keepaliveMax
	if sdInterval > 0 && sdInterval/2 < period {
		period = sdInterval / 2
	}
	t := time.NewTicker(period)
	defer t.Stop()
	pingFailing := false
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		// A stalled watchdog must stop the pings so systemd restarts the
		// daemon and, failing that, the hardware watchdog reboots the board.
		if time.Since(lastEvaluation()) >= stalledAfter {
			continue
		}
		if sdInterval > 0 {
			_, _ = notify("WATCHDOG=1")
		}
		if hw != nil {
			err := hw.Ping()
			if (err != nil) != pingFailing {
				pingFailing = err != nil
				if err != nil {
					log("hardware watchdog ping failed", "err", err)
				}
			}
		}
	}
}
