package sensing

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/sleegation/podd/sensors/ads1115"
	"github.com/sleegation/podd/sensors/eda"
	vitalseda "github.com/sleegation/podd/sensors/vitals/eda"
)

// SkinConductance is the skin conductance sensor: an ADS1115 reading the
// voltage across the skin in a divider circuit, converted to µS and read
// into an eda.Estimator at rateHz.
func SkinConductance(open func() (*ads1115.Dev, error), circuit eda.Divider, rateHz int) (Sensor, error) {
	if rateHz <= 0 {
		return Sensor{}, fmt.Errorf("sensing: skin conductance: rate %d Hz", rateHz)
	}
	if _, err := vitalseda.New(float64(rateHz)); err != nil {
		return Sensor{}, fmt.Errorf("sensing: skin conductance: %w", err)
	}
	if err := circuit.Validate(); err != nil {
		return Sensor{}, fmt.Errorf("sensing: skin conductance: %w", err)
	}
	latest := newLatestValue()
	sink := new(estimatesSink)
	period := time.Second / time.Duration(rateHz)
	return Sensor{
		Name: "ads1115",
		Open: func() (Device, error) {
			d, err := open()
			if err != nil {
				return nil, err
			}
			est, _ := vitalseda.New(float64(rateHz)) // the rate was checked above
			latest.clear()
			return &skin{dev: d, circuit: circuit, est: est, latest: latest, sink: sink, lastValid: time.Now()}, nil
		},
		Period:      period,
		StaleAfter:  max(3*period, 3*time.Second),
		ReopenAfter: max(5*period, 5*time.Second),
		Report: func(v *Vitals) {
			if us, ok := latest.get(); ok {
				v.SkinConductanceUS = &us
			}
		},
		SetEstimates: sink.set,
	}, nil
}

// skinInvalidFor is how long the skin conductance may have no valid
// estimate before it is no_contact: the estimator's window
// (vitalseda.WindowSeconds, a minute), which a movement (a jump) starts
// over, and skinMovement for the movement itself. One movement, or a
// start, never makes the sensor unhealthy; movements that come faster
// than the window refills keep the estimate invalid for good, and the
// sensor says so (see the package doc, "Invalid estimates").
const skinInvalidFor = time.Duration(vitalseda.WindowSeconds*float64(time.Second)) + skinMovement

// skinMovement is the longest a sleep movement keeps the skin
// conductance jumping: turning over with the electrodes pressed takes a
// few seconds; 20 s covers a restless one.
const skinMovement = 20 * time.Second

type skin struct {
	dev     *ads1115.Dev
	circuit eda.Divider
	est     *vitalseda.Estimator
	latest  *latestValue
	sink    *estimatesSink
	// lastValid is when the estimate was last valid or the device was
	// opened, moved on by the length of each state of its own since (see
	// unexplained): the time without a state of its own since it counts
	// towards skinInvalidFor.
	lastValid time.Time
	// explainedSince is when the current spell of the estimator's own
	// judgements (no contact, flat, out of range) or of a saturated input
	// began; zero outside one.
	explainedSince time.Time
}

// explained notes a poll whose state says why there is no estimate.
func (s *skin) explained(now time.Time) {
	if s.explainedSince.IsZero() {
		s.explainedSince = now
	}
}

// unexplained notes a poll without a state of its own (a valid estimate,
// or one filling its window). A spell of stated polls that ends here
// moves the start of the window's refill on by the spell's length (up to
// now): electrodes put on an empty pod's sleeper have no contact for as
// long as the pod was empty, and that time is the no_contact state's, not
// the refill's. Only time without a state of its own counts towards
// skinInvalidFor, whatever the spells' lengths, so a longer loss of
// contact never leaves more room than a shorter one; a contact that
// flickers is no_contact during each spell.
func (s *skin) unexplained(now time.Time) {
	if !s.explainedSince.IsZero() {
		if t := s.lastValid.Add(now.Sub(s.explainedSince)); t.Before(now) {
			s.lastValid = t
		} else {
			s.lastValid = now
		}
	}
	s.explainedSince = time.Time{}
}

// Poll takes one conversion. A saturated input, or electrodes bridged, is
// saturated; an open circuit is no contact (fed to the estimator as 0 µS,
// which it judges so too); the estimator's own judgement of the stream
// (a flat line, out of range) is passed on; an estimate invalid for
// longer than skinInvalidFor for any other reason (jumps, filling) is no
// contact, counting only the time outside stated spells (electrodes put
// on after an empty pod refill as after an open).
func (s *skin) Poll(now time.Time) (Poll, error) {
	v, err := s.dev.Read()
	switch {
	case errors.Is(err, ads1115.ErrSaturated):
		s.explained(now)
		s.est.Reset()
		s.latest.clear()
		return Poll{Fresh: true, State: Saturated}, nil
	case err != nil:
		return Poll{}, err
	}
	us, err := s.circuit.Conductance(v)
	switch {
	case errors.Is(err, eda.ErrShortCircuit):
		s.explained(now)
		s.est.Reset()
		s.latest.clear()
		return Poll{Fresh: true, State: Saturated}, nil
	case errors.Is(err, eda.ErrOpenCircuit):
		us = 0
	case err != nil:
		us = math.NaN()
	}
	s.est.Add(us)
	r := s.est.Estimate()
	if e := s.sink.get(); e != nil {
		r.At = now
		e.FeedSkinConductance(r)
	}
	if !r.Valid {
		s.latest.clear()
		switch r.Reason {
		case vitalseda.ReasonNoContact:
			s.explained(now)
			return Poll{Fresh: true, State: NoContact}, nil
		case vitalseda.ReasonFlat:
			s.explained(now)
			return Poll{Fresh: true, State: Flatline}, nil
		case vitalseda.ReasonOutOfRange:
			s.explained(now)
			return Poll{Fresh: true, State: Saturated}, nil
		}
		s.unexplained(now)
		if now.Sub(s.lastValid) > skinInvalidFor {
			// Movements keep starting the window over: the sensor
			// says nothing of the sleeper.
			return Poll{Fresh: true, State: NoContact}, nil
		}
		// Filling its window, after the start or after a jump (a
		// movement) or a lost sample: the sensor works and the skin is
		// there; the estimate is not ready, and nothing is reported.
		return Poll{Fresh: true}, nil
	}
	s.unexplained(now)
	s.lastValid = now
	s.latest.set(r.TonicMicrosiemens)
	return Poll{Fresh: true}, nil
}

func (s *skin) Halt() error { return s.dev.Halt() }
