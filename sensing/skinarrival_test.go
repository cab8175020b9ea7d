package sensing

import (
	"math"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/sensors/ads1115"
	"github.com/sleegation/podd/sensors/eda"
	"github.com/sleegation/podd/sim"
)

// DEFECT (fixed): a sleeper lying down in an empty pod had the skin
// conductance sensor go no_contact 80 s after its open, in the middle of
// the estimator's first refill with the electrodes on: the time the pod
// was empty (no contact, a state of its own) counted towards
// skinInvalidFor. During a merge's baseline that tripped sensor_stale
// (controller.TestRecordingsDuringAMerge/ppg-no-finger: the sleeper
// arrives at 46 s, merge/start at 70 s, "ads1115 no_contact" at 80 s, an
// abort at 85 s). Now the refill after a no-contact spell of at least
// skinMovement counts from the contact: no contact until the electrodes
// are on, then ok through the window's minute, then a valid estimate.
func TestSkinConductanceOfASleeperWhoLiesDownIsOkWhileTheWindowFills(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		const arrives = 46.0 // s
		w, got := startSkinSignal(t, eda.DefaultDivider, t0, func(s float64) float64 {
			if s < arrives {
				return 0 // electrodes on no one: an open circuit
			}
			return 2 * (1 + 0.01*math.Sin(2*math.Pi*s/20))
		})
		defer w.stop()
		time.Sleep(40 * time.Second)
		if h := w.loop.Health(); h.State != NoContact {
			t.Fatalf("state %s in an empty pod, want no_contact", h.State)
		}
		// From a poll after the contact until the window (60 s) has
		// filled and a little beyond: ok throughout.
		time.Sleep(time.Duration((arrives+0.5)*float64(time.Second)) - time.Since(t0))
		for end := t0.Add(150 * time.Second); time.Now().Before(end); time.Sleep(250 * time.Millisecond) {
			if h := w.loop.Health(); !h.Healthy() {
				t.Fatalf("at %v: %s with the electrodes on since %v s, want ok", time.Since(t0), h.State, arrives)
			}
		}
		// The window is 60 s of samples at 4 Hz: 240, the first at the
		// contact, the last 59.75 s later.
		first := got.firstValid().Sub(t0).Seconds()
		if first < arrives+59.75 || first > arrives+60.5 {
			t.Errorf("first valid estimate at %.2f s, want the window's minute of samples after the contact at %v s", first, arrives)
		}
	})
}

// The other side: contact that drops for a moment (one poll) every 30 s
// starts the estimator's window over each time and never lets it fill.
// Those moments are too short to start the refill's count again, so the
// sensor is no_contact within skinInvalidFor of its last valid estimate,
// as with movements.
func TestSkinConductanceWhoseContactFlickersGoesUnhealthy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		w, got := startSkinSignal(t, eda.DefaultDivider, t0, func(s float64) float64 {
			if s >= 90 && math.Mod(s-90, 30) < 0.25 {
				return 0
			}
			return 2 * (1 + 0.01*math.Sin(2*math.Pi*s/20))
		})
		defer w.stop()
		time.Sleep(85 * time.Second)
		if got.get().IsZero() {
			t.Fatal("no valid estimate after 85 s of calm signal")
		}
		var worst time.Duration
		unhealthyLong := false
		for end := t0.Add(5 * time.Minute); time.Now().Before(end); time.Sleep(250 * time.Millisecond) {
			invalid := time.Since(got.get())
			h := w.loop.Health()
			if h.Healthy() && invalid > worst {
				worst = invalid
			}
			if !h.Healthy() && invalid > skinInvalidFor {
				unhealthyLong = true
			}
		}
		if !unhealthyLong {
			t.Error("never no_contact on a contact that flickers every 30 s")
		}
		if worst > skinInvalidFor+time.Second {
			t.Errorf("healthy with no valid estimate for %v, want unhealthy within %v of the last valid estimate", worst, skinInvalidFor)
		}
	})
}

// startSkinSignal is startSkin with the skin's conductance given, in µS
// at s seconds since t0 (0: no contact).
func startSkinSignal(t *testing.T, circuit eda.Divider, t0 time.Time, us func(s float64) float64) (*watch, *lastValidSkin) {
	t.Helper()
	chip := sim.NewADS1115(func(now time.Time) float64 { return circuit.Volts(us(now.Sub(t0).Seconds())) })
	bus := sim.NewI2CBus("i2c")
	if err := bus.Attach(0x49, chip); err != nil {
		t.Fatal(err)
	}
	s, err := SkinConductance(func() (*ads1115.Dev, error) { return ads1115.New(bus, &ads1115.DefaultOpts) }, circuit, 4)
	if err != nil {
		t.Fatal(err)
	}
	got := &lastValidSkin{}
	s.SetEstimates(got)
	return start(t, s), got
}
