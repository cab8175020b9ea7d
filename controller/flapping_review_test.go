package controller

import (
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/sensing"
)

// dippingSkin is a skin conductance sensor on a dry wrist: one sample in
// four dips under the no-contact threshold (0.05 µS), the rest are good.
type dippingSkin struct{ polls atomic.Int64 }

func (d *dippingSkin) Poll(time.Time) (sensing.Poll, error) {
	if d.polls.Add(1)%4 == 0 {
		return sensing.Poll{Fresh: true, State: sensing.NoContact}, nil
	}
	return sensing.Poll{Fresh: true}, nil
}

func (*dippingSkin) Halt() error { return nil }

// A sensor whose health flickers must not flood the outbox with fault
// events. What is wrong: sensorChanged posts a fault event at every
// change between healthy and not, with no episode or rate limit (unlike
// the oximeter's repeatingFault): a dry wrist dipping under 0.05 µS once a
// second (sensors/vitals/eda's doc: the E4 recording does) posts two
// events a second, 7 200 an hour, each a record in the store's outbox
// that a pod away from its hub keeps (max_outbox_records 200 000, where
// telemetry is dropped first): a night of it crowds out the telemetry the
// outbox is there to keep, and the hub's fault log cries wolf. Correct:
// a fault that comes back within a hold time is one episode (reported at
// its start, once more when it has been over for the hold time, and with
// a count), as the oximeter's FIFO overflow is.
func TestReviewFlickeringSensorDoesNotFloodFaultEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		skin := &dippingSkin{}
		s := sensing.Sensor{
			Name: "ads1115", Period: 250 * time.Millisecond, StaleAfter: 3 * time.Second, ReopenAfter: 5 * time.Second,
			Open: func() (sensing.Device, error) { return skin, nil },
		}
		r := newRigWith(t, calm, &memStore{}, rigOpts{sensors: []sensing.Sensor{s}})
		defer r.stop()

		until(start, 5*time.Minute)
		if n := len(r.up.Events("fault")); n > 20 {
			t.Errorf("%d fault events in 5 min from one flickering sensor (%d polls), want one episode (at most a few)", n, skin.polls.Load())
		}
	})
}
