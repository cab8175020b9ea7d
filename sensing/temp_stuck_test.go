package sensing

import (
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/sensors/tmp117"
	"github.com/sleegation/podd/sim"
)

// A thermometer whose bus replays its last answers (the scenario's stuck
// fault: the same Configuration, Data_Ready included, and the same
// Temp_Result at every read) delivers nothing new: within 10 s it is not
// ok and reports no temperature, whatever the phase of the conversions
// when the bus got stuck. The loop polls every half cycle, and Data_Ready
// "set again too soon" only catches replays closer than half a cycle: a
// stuck answer with Data_Ready set reads as a fresh result at every poll.
func TestThermometerOnAStuckBusIsNotOK(t *testing.T) {
	for offset := time.Duration(0); offset < time.Second; offset += 125 * time.Millisecond {
		t.Run(fmt.Sprint(offset), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				t0 := time.Now()
				chip := sim.NewTMP117(func(time.Time) float64 { return 36.6 })
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

				time.Sleep(time.Until(t0.Add(40*time.Second + offset)))
				if v := w.report(); v.BodyTempC == nil {
					t.Fatalf("after 40 s: no body temperature")
				}
				bus.SetFault(0x48, sim.FaultStuck)
				time.Sleep(10 * time.Second)
				h := w.loop.Health()
				v := w.report()
				if h.State == OK || v.BodyTempC != nil {
					t.Errorf("10 s on a stuck bus: %+v, body temperature %v; want not ok and none", h, v.BodyTempC)
				}
			})
		})
	}
}
