package safety

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/sensing"
)

// deadAfterOpen is a device that opens (its chip answers the set-up) but
// whose every poll fails: an ADS1299 whose DRDY line broke, a TMP117 that
// NACKs every read after its configuration was written.
type deadAfterOpen struct{}

func (deadAfterOpen) Poll(time.Time) (sensing.Poll, error) {
	return sensing.Poll{}, errors.New("no DRDY falling edge")
}
func (deadAfterOpen) Halt() error { return nil }

// A sensor that never delivers another sample during a merge must trip
// sensor_stale after StaleAfter. What is wrong: the watchdog counts from
// sensing.Health.Since, which is when the sensor entered its *current*
// state; the loop drops the failing device every ReopenAfter (3 s for the
// EEG) and opens it anew, so the state goes bus_error -> starting ->
// bus_error and Since moves forward every 3 s: with stale_after 5 s the
// rule never trips and the sleeper is merged with a dead sensor for the
// whole night. Correct: the time counts from when the sensor was last
// healthy (e.g. a Health field "unhealthy since" kept across unhealthy
// states, or LastFresh), so it trips 5 s after the failure.
func TestReviewSensorFailingThroughReopensTripsSensorStale(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, DefaultLimits())
		var mu sync.Mutex
		opens := 0
		l, err := sensing.New(sensing.Sensor{
			Name: "ads1299",
			Open: func() (sensing.Device, error) {
				mu.Lock()
				defer mu.Unlock()
				opens++
				return deadAfterOpen{}, nil
			},
			StaleAfter:  time.Second,
			ReopenAfter: 3 * time.Second, // as sensing.EEG sets it
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		h.w.WatchSensors(l)
		pastGrace(h)
		h.w.SetMerge(true)
		h.feedFor(reading(60, 97), 2*time.Second)

		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); _ = l.Run(ctx) }()
		defer func() { cancel(); <-done }()

		h.feedFor(reading(60, 97), 30*time.Second)
		mu.Lock()
		n := opens
		mu.Unlock()
		got := h.Aborts()
		if len(got) != 1 || got[0].Rule != RuleSensorStale {
			t.Fatalf("after 30 s of a sensor that delivers nothing (opened %d times), aborts = %+v; want one sensor_stale", n, got)
		}
	})
}
