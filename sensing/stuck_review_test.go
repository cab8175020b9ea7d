package sensing

import (
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/sensors/tmp117"
	"github.com/sleegation/podd/sim"
)

// A bus that replays its last answers (the simulator's stuck fault) must
// not pass an old temperature off as new. What is wrong: the loop polls
// the thermometer every half conversion cycle (Thermometer's Period), and
// the driver's guard against a replayed Data_Ready (tmp117.Read's
// ErrDataReadyTooSoon) refuses one only when it comes *sooner* than half a
// cycle after the last fresh result: at the loop's own pace the replayed
// Configuration (Data_Ready set) comes exactly half a cycle later, so
// every poll is "fresh", the sensor stays ok and the thermometer reports
// the temperature of the last real read for as long as the bus is stuck
// (here 36.6 °C while the sleeper is at 38.5 °C). Correct: a replayed
// Data_Ready at the poll pace is caught (a fresh result needs a whole
// cycle, less a tolerance, since the last one; or Data_Ready must be seen
// clear between two fresh results), so the sensor turns stale or
// bus_error within StaleAfter and no temperature is reported.
func TestReviewThermometerOnAStuckBusIsNotFresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		celsius := 36.6
		chip := sim.NewTMP117(func(time.Time) float64 { mu.Lock(); defer mu.Unlock(); return celsius })
		bus := sim.NewI2CBus("i2c")
		if err := bus.Attach(0x48, chip); err != nil {
			t.Fatal(err)
		}
		s, err := Thermometer(func() (*tmp117.Dev, error) { return tmp117.New(bus, &tmp117.DefaultOpts) }, 1)
		if err != nil {
			t.Fatal(err)
		}
		w := start(t, s)
		defer w.stop()

		time.Sleep(40 * time.Second)
		if v := w.report(); v.BodyTempC == nil {
			t.Fatalf("after 40 s: no body temperature, %+v", w.loop.Health())
		}
		// The bus sticks right after a fresh read: its last answer to a
		// read of Configuration has Data_Ready set.
		last := w.loop.Health().LastFresh
		for w.loop.Health().LastFresh.Equal(last) {
			time.Sleep(time.Millisecond)
		}
		bus.SetFault(0x48, sim.FaultStuck)
		mu.Lock()
		celsius = 38.5
		mu.Unlock()

		time.Sleep(2 * s.StaleAfter)
		h := w.loop.Health()
		v := w.report()
		if h.Healthy() || v.BodyTempC != nil {
			got := "none"
			if v.BodyTempC != nil {
				got = "reported"
			}
			t.Errorf("%v after the bus stuck: health %s (last fresh %v ago), temperature %s (%v); want not healthy and no temperature",
				2*s.StaleAfter, h.State, time.Since(h.LastFresh), got, deref(v.BodyTempC))
		}
	})
}

func deref(p *float64) float64 {
	if p == nil {
		return 0
	}
	return *p
}
