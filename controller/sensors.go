package controller

import (
	"time"

	"github.com/sleegation/podd/sensing"
	"github.com/sleegation/podd/uplink"
)

// sensorChanged reports a change of a biometric sensor's health (from its
// loop's goroutine; it does not block): a fault event when the sensor
// stops being healthy, with its state and error, and one when it is
// healthy again. A sensor that goes from one unhealthy state to another
// (bus_error to starting, when it is opened anew) is one fault, reported
// once with the state it began in.
func (p *Pod) sensorChanged(h sensing.Health) {
	healthy := h.Healthy()
	was, known := p.sensorHealthy(h.Sensor)
	if known && was == healthy || !known && (healthy || h.State == sensing.Starting) {
		p.setSensorHealthy(h.Sensor, healthy)
		return
	}
	p.setSensorHealthy(h.Sensor, healthy)
	fields := map[string]any{"device": h.Sensor, "active": !healthy}
	if !healthy {
		fields["state"] = string(h.State)
		if h.Err != "" {
			fields["error"] = h.Err
		}
		p.log.Warn("sensor fault", "device", h.Sensor, "state", h.State, "err", h.Err)
	} else {
		p.log.Info("sensor recovered", "device", h.Sensor)
	}
	p.post(uplink.Event{Type: "fault", Fields: fields}, h.Since)
}

func (p *Pod) sensorHealthy(name string) (healthy, known bool) {
	p.sensorMu.Lock()
	defer p.sensorMu.Unlock()
	healthy, known = p.sensorOK[name]
	return healthy, known
}

func (p *Pod) setSensorHealthy(name string, healthy bool) {
	p.sensorMu.Lock()
	defer p.sensorMu.Unlock()
	if p.sensorOK == nil {
		p.sensorOK = map[string]bool{}
	}
	p.sensorOK[name] = healthy
}

// sensorTelemetry adds the sensors' vitals (while each is healthy) and
// the health of every sensor, the pulse oximeter's included, to t.
func (p *Pod) sensorTelemetry(t *uplink.Telemetry) {
	var v sensing.Vitals
	t.Sensors = make(map[string]uplink.SensorHealth, 1+len(p.sensors))
	health := func(h sensing.Health) {
		t.Sensors[h.Sensor] = uplink.SensorHealth{
			State: string(h.State), PollErrors: h.PollErrors, OpenErrors: h.OpenErrors, Reopens: h.Reopens,
		}
	}
	health(p.oxiLoop.Health())
	for _, l := range p.sensors {
		l.Report(&v)
		health(l.Health())
	}
	if v.SkinConductanceUS != nil {
		t.Vitals.SkinConductanceUS = ptr(round2(*v.SkinConductanceUS))
	}
	if v.BodyTempC != nil {
		t.Vitals.BodyTempC = ptr(round2(*v.BodyTempC))
	}
	if len(v.EEG) > 0 {
		t.Vitals.EEG = make(map[string]float64, len(v.EEG))
		for band, x := range v.EEG {
			t.Vitals.EEG[band] = float64(int64(x*1000+0.5)) / 1000
		}
	}
}

// loopStalledAfter is how long a sensor loop may go without a turn (an
// open or a poll) before it counts as stuck: beyond the longest wait
// between its turns (a reopen's backoff, 5 s) and the longest poll (an
// EEG batch whose DRDY edges come late), so only a bus transaction that
// never returns reaches it.
const loopStalledAfter = 30 * time.Second

// stuckLoop names a sensor loop (the pulse oximeter's first) that has not
// turned for loopStalledAfter, with how long; "" when every loop turns.
func (p *Pod) stuckLoop() (string, time.Duration) {
	loops := append([]*sensing.Loop{p.oxiLoop}, p.sensors...)
	for _, l := range loops {
		if age := l.SinceTurn(); age >= loopStalledAfter && age != sensing.NotRunning {
			return l.Name(), age
		}
	}
	return "", 0
}

// sinceCheckIn is what the keepalive judges the safety core by: the time
// since the safety watchdog last evaluated, or, when a sensor loop is
// stuck (stuckLoop), the time since it last turned. The pings to systemd
// and to the hardware watchdog stop while either is stale: the watchdog
// has already made the pod safe on the vitals it lost (vitals_stale,
// sensor_stale), and a restart, or a reboot, is what may free a bus that
// hangs.
func (p *Pod) sinceCheckIn() time.Duration {
	d := p.wd.SinceEvaluation()
	if _, age := p.stuckLoop(); age > d {
		return age
	}
	return d
}
