package controller

import (
	"time"
)

// SensorCheck is the pod's sensors as a technician's self-test reads them
// (podctl selftest sensors, through the API while podd runs): each
// sensor's health with when it last delivered fresh data, and the pulse
// oximeter's latest reading with its ratio of ratios, for the check of
// swapped red and IR channels (ChannelsLookSwapped).
type SensorCheck struct {
	// At is when the check was read (wall clock, UTC).
	At time.Time `json:"at"`
	// Sensors are in Status.Sensors' order: the pulse oximeter first.
	Sensors []SensorCheckEntry `json:"sensors"`
	// Oximeter is the latest reading of the pulse oximeter; absent before
	// the first.
	Oximeter *OximeterReading `json:"oximeter,omitempty"`
}

// SensorCheckEntry is one sensor's health (sensing.Health) for a
// self-test.
type SensorCheckEntry struct {
	SensorStatus
	// LastFresh is when it last delivered fresh data; absent: never.
	LastFresh *time.Time `json:"last_fresh,omitempty"`
}

// OximeterReading is a reading of the pulse oximeter's estimator
// (vitals.Reading): a value is present only when valid.
type OximeterReading struct {
	At           time.Time `json:"at"`
	HeartRateBPM *float64  `json:"heart_rate_bpm,omitempty"`
	SpO2Pct      *float64  `json:"spo2_pct,omitempty"`
	// Ratio is the ratio of ratios, measured whenever the heart rate is
	// valid; 0 when not measured.
	Ratio float64 `json:"ratio"`
	// Contact is "skin", "none" or "unknown".
	Contact string `json:"contact"`
}

// SensorCheck reads the sensors' health and the oximeter's latest reading
// now. It touches no bus: the sensors' loops keep reading them.
func (p *Pod) SensorCheck() SensorCheck {
	c := SensorCheck{At: time.Now().UTC()}
	add := func(st SensorStatus, fresh time.Time) {
		e := SensorCheckEntry{SensorStatus: st}
		if !fresh.IsZero() {
			t := fresh.UTC()
			e.LastFresh = &t
		}
		c.Sensors = append(c.Sensors, e)
	}
	h := p.oxiLoop.Health()
	add(sensorStatus(h), h.LastFresh)
	for _, l := range p.sensors {
		h := l.Health()
		add(sensorStatus(h), h.LastFresh)
	}
	if r, ok := p.latest.Load(); ok {
		o := &OximeterReading{At: r.At.UTC(), Ratio: r.Ratio, Contact: r.Contact.String()}
		if r.HeartRateValid {
			o.HeartRateBPM = ptr(r.HeartRateBPM)
		}
		if r.SpO2Valid {
			o.SpO2Pct = ptr(r.SpO2Pct)
		}
		c.Oximeter = o
	}
	return c
}
