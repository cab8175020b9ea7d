package sensing

import (
	"errors"
	"fmt"
	"time"

	"github.com/sleegation/podd/sensors/tmp117"
	"github.com/sleegation/podd/sensors/vitals/temp"
)

// Thermometer is the body temperature sensor: a TMP117 read into a
// temp.Estimator. open opens the chip (at start and after a loss); the
// chip converts rateHz times a second, and is polled twice as often so
// that no conversion is missed.
func Thermometer(open func() (*tmp117.Dev, error), rateHz int) (Sensor, error) {
	if rateHz <= 0 {
		return Sensor{}, fmt.Errorf("sensing: thermometer: rate %d Hz", rateHz)
	}
	if _, err := temp.New(float64(rateHz)); err != nil {
		return Sensor{}, fmt.Errorf("sensing: thermometer: %w", err)
	}
	latest := newLatestValue()
	sink := new(estimatesSink)
	period := time.Second / time.Duration(rateHz)
	return Sensor{
		Name: "tmp117",
		Open: func() (Device, error) {
			d, err := open()
			if err != nil {
				return nil, err
			}
			est, _ := temp.New(float64(rateHz)) // the rate was checked above
			latest.clear()
			return &thermometer{dev: d, est: est, latest: latest, sink: sink}, nil
		},
		Period:      period / 2,
		StaleAfter:  max(3*period, 3*time.Second),
		ReopenAfter: max(5*period, 5*time.Second),
		Report: func(v *Vitals) {
			if c, ok := latest.get(); ok {
				v.BodyTempC = &c
			}
		},
		SetEstimates: sink.set,
	}, nil
}

type thermometer struct {
	dev    *tmp117.Dev
	est    *temp.Estimator
	latest *latestValue
	sink   *estimatesSink
}

// Poll reads a conversion the chip finished since the last poll. A
// temperature the estimator does not trust (out of the skin's range,
// changing faster than a body does) is no contact: a sensor off the body.
func (t *thermometer) Poll(now time.Time) (Poll, error) {
	c, fresh, err := t.dev.Read()
	switch {
	case errors.Is(err, tmp117.ErrNoConversion):
		return Poll{}, nil
	case errors.Is(err, tmp117.ErrReset):
		// A brown-out put the chip back to its power-on configuration:
		// open it anew now rather than after ReopenAfter.
		return Poll{Reopen: true}, err
	case err != nil:
		return Poll{}, err
	case !fresh:
		return Poll{}, nil
	}
	t.est.Add(c)
	r := t.est.Estimate()
	if e := t.sink.get(); e != nil {
		r.At = now
		e.FeedBodyTemp(r)
	}
	if !r.Valid {
		t.latest.clear()
		if r.Reason == temp.ReasonFilling {
			// The sensor works; the estimate is not ready, and nothing
			// is reported.
			return Poll{Fresh: true}, nil
		}
		return Poll{Fresh: true, State: NoContact}, nil
	}
	t.latest.set(r.Celsius)
	return Poll{Fresh: true}, nil
}

func (t *thermometer) Halt() error { return t.dev.Halt() }
