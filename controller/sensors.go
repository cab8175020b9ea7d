package controller

import (
	"context"
	"time"

	"github.com/sleegation/podd/sensing"
	"github.com/sleegation/podd/uplink"
)

// A sensor's faults are reported by episode, as the oximeter's repeating
// faults are: a fault event (active) when the sensor stops being healthy,
// with its state and error; a fault that comes back within repeatQuiet of
// its recovery is the same episode (counted in recurrences, not reported);
// and the end (active false, with recurrences) once the sensor has been
// healthy for repeatQuiet. A sensor whose health flickers (a dry wrist
// dipping under the contact threshold every second) is one episode, not
// two events a second in the outbox. A sensor that goes from one unhealthy
// state to another (bus_error to starting, when it is opened anew) is the
// same fault.
type sensorEpisode struct {
	active       bool
	healthySince time.Time // while active: when it last became healthy; zero while unhealthy
	recurrences  int
}

// sensorChanged notes a change of a biometric sensor's health (from its
// loop's goroutine; it does not block) and reports the start of a fault
// episode.
func (p *Pod) sensorChanged(h sensing.Health) {
	p.sensorMu.Lock()
	if p.sensorEp == nil {
		p.sensorEp = map[string]*sensorEpisode{}
	}
	ep := p.sensorEp[h.Sensor]
	if ep == nil {
		ep = &sensorEpisode{}
		p.sensorEp[h.Sensor] = ep
	}
	healthy := h.Healthy()
	start := false
	switch {
	case healthy:
		if ep.active && ep.healthySince.IsZero() {
			ep.healthySince = h.Since
		}
	case !ep.active:
		if h.State == sensing.Starting && h.UnhealthySince.Equal(h.Since) && h.PollErrors+h.OpenErrors == 0 {
			// A sensor opening for the first time is not a fault.
			break
		}
		ep.active, ep.healthySince, ep.recurrences, start = true, time.Time{}, 0, true
	case !ep.healthySince.IsZero():
		ep.healthySince = time.Time{}
		ep.recurrences++
	}
	p.sensorMu.Unlock()
	if !start {
		return
	}
	fields := map[string]any{"device": h.Sensor, "active": true, "state": string(h.State)}
	if h.Err != "" {
		fields["error"] = h.Err
	}
	p.log.Warn("sensor fault", "device", h.Sensor, "state", h.State, "err", h.Err)
	p.post(uplink.Event{Type: "fault", Fields: fields}, h.Since)
}

// endSensorEpisodes reports the end of every fault episode whose sensor
// has been healthy for repeatQuiet by now.
func (p *Pod) endSensorEpisodes(now time.Time) {
	type ended struct {
		name        string
		at          time.Time
		recurrences int
	}
	var done []ended
	p.sensorMu.Lock()
	for name, ep := range p.sensorEp {
		if ep.active && !ep.healthySince.IsZero() && now.Sub(ep.healthySince) >= repeatQuiet {
			done = append(done, ended{name, ep.healthySince, ep.recurrences})
			*ep = sensorEpisode{}
		}
	}
	p.sensorMu.Unlock()
	for _, e := range done {
		p.log.Info("sensor recovered", "device", e.name, "recurrences", e.recurrences)
		p.post(uplink.Event{Type: "fault", Fields: map[string]any{
			"device": e.name, "active": false, "recurrences": e.recurrences,
		}}, e.at)
	}
}

// runSensorEpisodes ends the sensors' fault episodes (endSensorEpisodes)
// every second until ctx is done.
func (p *Pod) runSensorEpisodes(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			p.endSensorEpisodes(now)
		}
	}
}

// sensorTelemetry adds the sensors' vitals (while each is healthy) and
// the health of every sensor, the pulse oximeter's included, to t. Each
// vital is judged by the same health the record shows. It returns the
// pulse oximeter's health, by which the caller judges its vitals.
func (p *Pod) sensorTelemetry(t *uplink.Telemetry) sensing.Health {
	var v sensing.Vitals
	t.Sensors = make(map[string]uplink.SensorHealth, 1+len(p.sensors))
	health := func(h sensing.Health) {
		t.Sensors[h.Sensor] = uplink.SensorHealth{
			State: string(h.State), PollErrors: h.PollErrors, OpenErrors: h.OpenErrors, Reopens: h.Reopens,
		}
	}
	oxi := p.oxiLoop.Health()
	health(oxi)
	for _, l := range p.sensors {
		health(l.Report(&v))
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
	return oxi
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
	stuck := func(l *sensing.Loop) (time.Duration, bool) {
		age := l.SinceTurn()
		return age, age >= loopStalledAfter && age != sensing.NotRunning
	}
	if age, ok := stuck(p.oxiLoop); ok {
		return p.oxiLoop.Name(), age
	}
	for _, l := range p.sensors {
		if age, ok := stuck(l); ok {
			return l.Name(), age
		}
	}
	return "", 0
}

// sinceCheckIn is what the keepalive judges the safety core by: the time
// since the safety watchdog last evaluated, or, when a sensor loop or the
// session loop is stuck (stuckLoop, stuckSession), the time since it last
// turned. The pings to systemd
// and to the hardware watchdog stop while either is stale: the watchdog
// has already made the pod safe on the vitals it lost (vitals_stale,
// sensor_stale), and a restart, or a reboot, is what may free a bus that
// hangs.
func (p *Pod) sinceCheckIn() time.Duration {
	d := p.wd.SinceEvaluation()
	if _, age := p.stuckLoop(); age > d {
		d = age
	}
	if age, stuck := p.stuckSession(); stuck && age > d {
		d = age
	}
	return d
}
