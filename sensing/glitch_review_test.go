package sensing

import (
	"math"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/sensors/ads1115"
	"github.com/sleegation/podd/sensors/eda"
	"github.com/sleegation/podd/sensors/tmp117"
	"github.com/sleegation/podd/sim"
)

// reviewStaleLimit is the safety watchdog's default stale_after
// (safety.DefaultLimits): during a merge a sensor unhealthy for longer
// trips sensor_stale and aborts the merge.
const reviewStaleLimit = 5 * time.Second

// unhealthyFor samples l's health every 10 ms for d and returns the
// longest run of samples that were not healthy, and when the last one
// ended.
func unhealthyFor(l *Loop, d time.Duration) (longest time.Duration, lastEnd time.Time) {
	var from time.Time
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		now := time.Now()
		if l.Health().Healthy() {
			if !from.IsZero() {
				longest, lastEnd = max(longest, now.Sub(from)), now
				from = time.Time{}
			}
		} else if from.IsZero() {
			from = now
		}
	}
	if !from.IsZero() {
		longest = max(longest, time.Since(from))
	}
	return longest, lastEnd
}

// A bus that NACKs the skin conductance ADC for 3.9 s, shorter than the
// watchdog's 5 s stale limit, must not leave the sensor unhealthy for the
// stale limit. What is wrong: a failed poll is retried after a backoff
// that doubles from the Period (250 ms) to Backoff.RetryMax (2 s), so the
// retries come at 0.25, 0.75, 1.75, 3.75 and 5.75 s: the bus answers
// again at 3.9 s but nobody asks until 5.75 s, the sensor stays bus_error
// past 5 s and a merge is aborted (sensor_stale) by a glitch shorter than
// the limit. Correct: retry at the Period (or a RetryMax well under the
// stale limit) while the failure is younger than the stale limit, so the
// sensor is healthy within a Period or two of the bus answering again.
func TestReviewSkinConductanceNACKShorterThanStaleLimitDoesNotOutlastIt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		circuit := eda.DefaultDivider
		chip := sim.NewADS1115(func(now time.Time) float64 {
			return circuit.Volts(2 * (1 + 0.01*math.Sin(2*math.Pi*now.Sub(t0).Seconds()/20)))
		})
		bus := sim.NewI2CBus("i2c")
		if err := bus.Attach(0x49, chip); err != nil {
			t.Fatal(err)
		}
		s, err := SkinConductance(func() (*ads1115.Dev, error) { return ads1115.New(bus, &ads1115.DefaultOpts) }, circuit, 4)
		if err != nil {
			t.Fatal(err)
		}
		w := start(t, s)
		defer w.stop()

		time.Sleep(10 * time.Second)
		if h := w.loop.Health(); h.State != OK {
			t.Fatalf("before the glitch: %+v, want ok", h)
		}
		var wg sync.WaitGroup
		wg.Go(func() {
			bus.SetFault(0x49, sim.FaultNACK)
			time.Sleep(3900 * time.Millisecond)
			bus.SetFault(0x49, sim.FaultNone)
		})
		busBack := time.Now().Add(3900 * time.Millisecond)
		longest, healthyAt := unhealthyFor(w.loop, 15*time.Second)
		wg.Wait()
		t.Logf("longest %v, healthy %v after the bus came back, %+v", longest, healthyAt.Sub(busBack), w.loop.Health())
		if longest >= reviewStaleLimit {
			t.Errorf("a 3.9 s NACK left the sensor unhealthy for %v, the stale limit is %v: a merge would abort (sensor_stale)", longest, reviewStaleLimit)
		}
		if d := healthyAt.Sub(busBack); d > time.Second {
			t.Errorf("healthy again %v after the bus answered again, want within 1 s", d)
		}
	})
}

// A TMP117 whose supply dipped (a brown-out resets its Configuration to
// 0x0220) answers again at once; the driver sees a Configuration that is
// not its own and fails every Read. What is wrong: the device does not ask
// to be opened anew (Poll.Reopen) and the loop waits ReopenAfter (5 s,
// max(5 periods, 5 s)) of failed polls, plus its backoff, before it
// reopens it: the sensor is bus_error for about 6 s, longer than the
// watchdog's 5 s stale limit, and a merge is aborted for a chip that a
// reopen sets right within one conversion. Correct: a Read that finds
// the chip reset asks for a reopen (or ReopenAfter is well under the
// stale limit), so the sensor is healthy again within about a second.
func TestReviewThermometerResetByBrownOutRecoversWithinStaleLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		chip := sim.NewTMP117(func(time.Time) float64 { return 36.6 })
		bus := sim.NewI2CBus("i2c")
		if err := bus.Attach(0x48, chip); err != nil {
			t.Fatal(err)
		}
		opts := tmp117.DefaultOpts
		opts.ConversionCycle = 500 * time.Millisecond // rate_hz: 2
		s, err := Thermometer(func() (*tmp117.Dev, error) { return tmp117.New(bus, &opts) }, 2)
		if err != nil {
			t.Fatal(err)
		}
		w := start(t, s)
		defer w.stop()

		time.Sleep(10 * time.Second)
		if h := w.loop.Health(); h.State != OK {
			t.Fatalf("before the brown-out: %+v, want ok", h)
		}
		// The chip's power-on reset: Configuration back to 0x0220.
		if err := bus.Tx(0x48, []byte{0x01, 0x02, 0x20}, nil); err != nil {
			t.Fatal(err)
		}
		longest, _ := unhealthyFor(w.loop, 20*time.Second)
		if longest >= reviewStaleLimit {
			t.Errorf("a chip reset by a brown-out left the sensor unhealthy for %v, the stale limit is %v: a merge would abort (sensor_stale)", longest, reviewStaleLimit)
		}
		if h := w.loop.Health(); h.State != OK || h.Reopens == 0 {
			t.Errorf("after the brown-out: %+v, want ok after a reopen", h)
		}
	})
}
