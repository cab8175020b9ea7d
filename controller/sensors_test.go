package controller

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/safety"
	"github.com/sleegation/podd/sensing"
)

// thermometer is a fake body temperature sensor whose bus refuses every
// poll between failFrom and failTo after start, and whose electrodes are
// off (lead_off, standing in for any implausible state) from offFrom.
type thermometer struct {
	start                     time.Time
	failFrom, failTo, offFrom time.Duration
	polls                     atomic.Int64
}

func (th *thermometer) sensor() sensing.Sensor {
	temp := 36.6
	return sensing.Sensor{
		Name: "tmp117", Period: time.Second, StaleAfter: 3 * time.Second, ReopenAfter: 5 * time.Second,
		Open:   func() (sensing.Device, error) { return thermoDev{th}, nil },
		Report: func(v *sensing.Vitals) { v.BodyTempC = &temp },
	}
}

type thermoDev struct{ th *thermometer }

func (d thermoDev) Poll(now time.Time) (sensing.Poll, error) {
	d.th.polls.Add(1)
	since := now.Sub(d.th.start)
	switch {
	case since >= d.th.failFrom && since < d.th.failTo:
		return sensing.Poll{}, errors.New("tmp117: i2c 0x48: NACK")
	case d.th.offFrom > 0 && since >= d.th.offFrom:
		return sensing.Poll{Fresh: true, State: sensing.LeadOff}, nil
	}
	return sensing.Poll{Fresh: true}, nil
}

func (thermoDev) Halt() error { return nil }

// A sensor that fails on its bus outside a merge: its vital leaves
// telemetry (null, never its last value), its health and counts are in
// telemetry, a fault event says when it failed and when it recovered, and
// nothing aborts.
func TestASensorFailingOutsideAMerge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		th := &thermometer{start: start, failFrom: 30 * time.Second, failTo: 40 * time.Second}
		r := newRigWith(t, calm, &memStore{}, rigOpts{sensors: []sensing.Sensor{th.sensor()}})
		defer r.stop()

		until(start, 25*time.Second)
		tm := r.up.LastTelemetry()
		if tm.Vitals.BodyTempC == nil || *tm.Vitals.BodyTempC != 36.6 || tm.Sensors["tmp117"].State != "ok" {
			t.Fatalf("healthy: telemetry %+v", tm)
		}
		until(start, 36*time.Second)
		tm = r.up.LastTelemetry()
		if tm.Vitals.BodyTempC != nil {
			t.Errorf("failing: body temperature %v reported", *tm.Vitals.BodyTempC)
		}
		if h := tm.Sensors["tmp117"]; h.State != "bus_error" || h.PollErrors == 0 {
			t.Errorf("failing: sensor health %+v, want bus_error with its failed polls counted", h)
		}
		faults := r.up.Events("fault")
		if len(faults) != 1 || faults[0].Fields["device"] != "tmp117" || faults[0].Fields["active"] != true ||
			faults[0].Fields["state"] != "bus_error" || faults[0].Fields["error"] != "tmp117: i2c 0x48: NACK" {
			t.Fatalf("fault events %+v, want one active tmp117 bus_error", faults)
		}
		until(start, 45*time.Second)
		if faults = r.up.Events("fault"); len(faults) != 1 {
			t.Fatalf("5 s after the recovery: fault events %+v, want the episode still open (it ends 10 s after)", faults)
		}
		until(start, 52*time.Second)
		faults = r.up.Events("fault")
		if len(faults) != 2 || faults[1].Fields["device"] != "tmp117" || faults[1].Fields["active"] != false || faults[1].Fields["recurrences"] != 0 {
			t.Fatalf("fault events %+v, want the recovery reported", faults)
		}
		tm = r.up.LastTelemetry()
		if tm.Vitals.BodyTempC == nil || tm.Sensors["tmp117"].State != "ok" {
			t.Errorf("recovered: telemetry %+v", tm)
		}
		if a := r.up.Events("abort"); len(a) != 0 {
			t.Errorf("aborts %+v outside a merge", a)
		}
	})
}

// During a merge the watchdog sees the sensor: electrodes off for longer
// than stale_after abort it.
func TestASensorFailingDuringAMergeAborts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		th := &thermometer{start: start, failFrom: time.Hour, failTo: time.Hour, offFrom: 2 * time.Minute}
		r := mergedRigWith(t, start, calm, rigOpts{sensors: []sensing.Sensor{th.sensor()}})
		defer r.stop()
		until(start, 2*time.Minute+4*time.Second)
		if a := r.up.Events("abort"); len(a) != 0 {
			t.Fatalf("aborts %+v within stale_after", a)
		}
		until(start, 2*time.Minute+7*time.Second)
		a := r.up.Events("abort")
		if len(a) != 1 || a[0].Fields["rule"] != safety.RuleSensorStale {
			t.Fatalf("aborts %+v, want one sensor_stale", a)
		}
		if st := r.pod.Status(); st.State != StateAborted {
			t.Errorf("state %s, want aborted", st.State)
		}
	})
}

// hungThermo is a thermometer whose poll hangs in its bus transaction
// from hangFrom after start until release is closed.
type hungThermo struct {
	start    time.Time
	hangFrom time.Duration
	release  chan struct{}
}

func (h *hungThermo) sensor() sensing.Sensor {
	return sensing.Sensor{
		Name: "tmp117", Period: time.Second, StaleAfter: 3 * time.Second, ReopenAfter: 5 * time.Second,
		Open: func() (sensing.Device, error) { return hungDev{h}, nil },
	}
}

type hungDev struct{ h *hungThermo }

func (d hungDev) Poll(now time.Time) (sensing.Poll, error) {
	if now.Sub(d.h.start) >= d.h.hangFrom {
		<-d.h.release
	}
	return sensing.Poll{Fresh: true}, nil
}

func (hungDev) Halt() error { return nil }

// A sensor loop stuck in a bus transaction that never returns cannot say
// so itself: /healthz names it, and the keepalive's check-in goes stale,
// so systemd restarts the daemon and the hardware watchdog, failing that,
// reboots the board.
func TestAStuckSensorLoopStopsTheKeepalive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		h := &hungThermo{start: start, hangFrom: 20 * time.Second, release: make(chan struct{})}
		r := newRigWith(t, calm, &memStore{}, rigOpts{sensors: []sensing.Sensor{h.sensor()}})
		defer r.stop()
		defer close(h.release)

		until(start, 45*time.Second)
		if err := r.pod.Healthy(); err != nil {
			t.Fatalf("at 45 s (hung for 25 s): Healthy = %v, want nil", err)
		}
		if d := r.pod.sinceCheckIn(); d >= stalledAfter {
			t.Fatalf("at 45 s: check-in %v old, want fresh", d)
		}
		until(start, 51*time.Second)
		err := r.pod.Healthy()
		if err == nil || !strings.Contains(err.Error(), "the tmp117 sensor loop has not turned for 31s") {
			t.Fatalf("at 51 s (hung for 31 s): Healthy = %v, want the tmp117 loop named", err)
		}
		if d := r.pod.sinceCheckIn(); d < loopStalledAfter {
			t.Fatalf("at 51 s: check-in %v old, want the stuck loop's 31 s", d)
		}
	})
}
