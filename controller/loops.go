package controller

import (
	"context"
	"sync"
	"time"

	"github.com/sleegation/podd/safety"
	"github.com/sleegation/podd/sensors/vitals"
	"github.com/sleegation/podd/uplink"
)

func (p *Pod) feed(r vitals.Reading) {
	p.latest.Store(r)
	p.wd.Feed(r)
}

// repeatingFault reports a fault that recurs on many polls (a FIFO that
// overflows on every read) when it starts, once a minute while it lasts
// (with counts) and when it ends (after repeatQuiet without it): never once
// per poll, which would fill an SD card with log lines.
type repeatingFault struct {
	pod                *Pod
	device, fault, msg string

	active         bool
	since, last    time.Time // of the episode's first and latest occurrence
	lastReport     time.Time
	polls, samples int // occurrences and samples lost in this episode
}

// Periods of a repeating fault's reports.
const (
	repeatReport = time.Minute
	repeatQuiet  = 10 * time.Second
)

// observe notes one poll; lost > 0 means the fault occurred on it.
func (f *repeatingFault) observe(lost int, now time.Time) {
	if lost <= 0 {
		if f.active && now.Sub(f.last) >= repeatQuiet {
			f.end(now)
		}
		return
	}
	f.polls++
	f.samples += lost
	f.last = now
	if !f.active {
		f.active, f.since, f.lastReport = true, now, now
		f.pod.log.Warn(f.msg, "device", f.device, "lost", lost)
		f.pod.post(uplink.Event{Type: "fault", Fields: map[string]any{"device": f.device, "fault": f.fault, "active": true}}, now)
		return
	}
	if now.Sub(f.lastReport) >= repeatReport {
		f.lastReport = now
		f.pod.log.Warn(f.msg+" continues", "device", f.device, "polls", f.polls, "lost", f.samples, "for", now.Sub(f.since).Round(time.Second))
	}
}

// end closes an episode, if one is open.
func (f *repeatingFault) end(now time.Time) {
	if !f.active {
		return
	}
	f.pod.log.Info(f.msg+" ended", "device", f.device, "polls", f.polls, "lost", f.samples, "for", f.last.Sub(f.since).Round(time.Second))
	f.pod.post(uplink.Event{Type: "fault", Fields: map[string]any{
		"device": f.device, "fault": f.fault, "active": false, "polls": f.polls, "lost_samples": f.samples,
	}}, now)
	*f = repeatingFault{pod: f.pod, device: f.device, fault: f.fault, msg: f.msg}
}

// telemetryLoop appends one telemetry record per interval. Telemetry the
// store refuses is not kept (the next record supersedes it); how many were
// lost, and when, is reported in a "dropped" event once the store takes
// them again.
func (p *Pod) telemetryLoop(ctx context.Context) error {
	t := time.NewTicker(time.Duration(p.telemetryEvery.Load()))
	defer t.Stop()
	var (
		lost        int
		first, last time.Time
	)
	for {
		select {
		case <-ctx.Done():
			if pt, ok := p.histWindow.close(); ok {
				p.keepPoint(pt)
			}
			return nil
		case <-p.intervalChanged:
			t.Reset(time.Duration(p.telemetryEvery.Load()))
			continue
		case <-t.C:
		}
		now := time.Now()
		tel := p.telemetry()
		if pt, ok := p.histWindow.add(now, p.historySample(tel)); ok {
			p.keepPoint(pt)
		}
		_, err := p.parts.Uplink.Telemetry(tel, now)
		switch {
		case err != nil:
			p.counters.drop(DropStoreRefused, 1)
			if lost == 0 {
				p.log.Error("telemetry not recorded", "err", err)
				first = now
			}
			lost++
			last = now
		case lost > 0:
			p.log.Info("telemetry recorded again", "lost", lost)
			p.post(uplink.Event{Type: "dropped", Fields: map[string]any{
				"reason": "store_refused", "count": lost, "types": map[string]any{"telemetry": lost},
				"first_at": uplink.FormatTime(first), "last_at": uplink.FormatTime(last),
			}}, now)
			lost = 0
		}
	}
}

func (p *Pod) telemetry() uplink.Telemetry {
	state, _ := p.State()
	ws := p.wd.Status()
	t := uplink.Telemetry{State: state, Safety: ws.Level}
	if ws.Stability != nil {
		t.Stability = ptr(round3(*ws.Stability))
	}
	if id := p.sessionID(); id != "" {
		t.Session = &id
	}
	if ws.Latched != nil {
		stored := sameAbort(ws.Latched, p.latch().stored)
		t.LatchStored = &stored
	}
	if oxi := p.sensorTelemetry(&t); !oxi.Healthy() {
		return t
	}
	if r, ok := p.latest.Load(); ok {
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
func round3(x float64) float64 { return float64(int64(x*1000+0.5)) / 1000 }

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
// sinceEvaluation is on the monotonic clock, so a step of the wall clock
// can neither keep a stalled watchdog pinged nor miss a ping.
func runKeepalive(ctx context.Context, stopping <-chan struct{}, notify Notifier, hw Pinger, sinceEvaluation func() time.Duration, log func(msg string, args ...any)) error {
	return keepaliveLoop(ctx, stopping, notify, hw, sinceEvaluation, watchdogInterval(), log)
}

// keepaliveLoop runs until ctx is done. Once stopping is closed (the daemon
// has begun its bounded stop: outputs sealed in their safe state, the safety
// core stopping) it says STOPPING=1 and pings on, whether or not the
// watchdog evaluates, so the stop's last steps cannot let the hardware
// watchdog reboot the board; it pings once more as it returns. A nil
// stopping never closes.
func keepaliveLoop(ctx context.Context, stopping <-chan struct{}, notify Notifier, hw Pinger, sinceEvaluation func() time.Duration, sdInterval time.Duration, log func(msg string, args ...any)) error {
	if notify == nil {
		notify = func(string) (bool, error) { return false, nil }
	}
	_, _ = notify("READY=1")
	saidStopping := false
	defer func() {
		if !saidStopping {
			_, _ = notify("STOPPING=1")
		}
	}()
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
	ping := func() {
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
	for {
		select {
		case <-ctx.Done():
			if saidStopping {
				ping()
			}
			return nil
		case <-stopping:
			stopping = nil
			saidStopping = true
			_, _ = notify("STOPPING=1")
			ping()
			continue
		case <-t.C:
		}
		// A stalled watchdog must stop the pings so systemd restarts the
		// daemon and, failing that, the hardware watchdog reboots the board.
		if !saidStopping && sinceEvaluation() >= stalledAfter {
			continue
		}
		ping()
	}
}

// latestReading is the oximeter's latest reading, written by its loop and
// read by the status, the telemetry and the session: a copy under a
// mutex, so that a poll allocates nothing (an atomic pointer would need
// a new Reading per poll).
type latestReading struct {
	mu  sync.Mutex
	r   vitals.Reading
	set bool
}

// Store keeps r as the latest reading.
func (l *latestReading) Store(r vitals.Reading) {
	l.mu.Lock()
	l.r, l.set = r, true
	l.mu.Unlock()
}

// Load returns the latest reading; false before the first.
func (l *latestReading) Load() (vitals.Reading, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r, l.set
}
