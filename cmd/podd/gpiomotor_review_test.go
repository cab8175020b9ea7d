package main

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/physic"

	"github.com/sleegation/podd/actuators/apa102"
	"github.com/sleegation/podd/actuators/hapticguard"
	"github.com/sleegation/podd/actuators/light"
	"github.com/sleegation/podd/configs"
	"github.com/sleegation/podd/sim"
)

// A gpio motor (haptics.places {driver: gpio}) only runs or stops, at the
// drive its wiring gives it: the pod cannot scale it to the cap. The show
// marks it an on-off place for the haptic guard (zones.Place.OnOff), which
// runs it at 1 only when the capped request reaches half of full scale and
// charges its duty budget 1 a second while it runs: what the motor really
// gets. Without that, a program asking 0.5 ran the motor at full drive
// while the guard charged half of it, twice the budget. The guard is built
// here as the show builds it.
func TestAGPIOMotorIsDrivenWithinTheCapAndItsBudget(t *testing.T) {
	cfg, err := configs.Parse([]byte(`
pod:
  id: pod-7
hardware:
  mode: linux
uplink:
  broker: tcp://hub.local:1883
storage:
  path: /var/lib/podd/podd.db
api:
  socket: /run/podd/podd.sock
haptics:
  places: {feet: {driver: gpio, line: GPIO5}}
  max_intensity: 0.8
  duty_budget: 0.3
  duty_window: 60s
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	strip, err := apa102.New(sim.NewSPIPort("strip", sim.NewAPA102(cfg.Hardware.LEDCount)), &apa102.Opts{NumPixels: cfg.Hardware.LEDCount, Speed: 4 * physic.MegaHertz})
	if err != nil {
		t.Fatal(err)
	}
	line := sim.NewLine("GPIO5", 5)
	_, show, err := openOutputs(cfg, strip, outputBuses{
		i2c:  func(string, string) (i2c.Bus, error) { t.Fatal("no I2C output configured"); return nil, nil },
		line: func(string) (gpio.PinIO, error) { return line, nil },
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	hg, err := hapticguard.New(1, show.HapticGuard)
	if err != nil {
		t.Fatal(err)
	}
	if !show.Outputs.OnOff(0) {
		t.Fatal("the gpio motor's place is not on-off")
	}
	hg.SetOnOff(0, show.Outputs.OnOff(0))
	// The show loop's path for one place: the guard, then the outputs.
	// The program asks for 0.5 for a minute at 50 frames a second.
	const period = 20 * time.Millisecond
	lights := make([]light.RGB, len(show.Outputs.LightNames()))
	var drive, granted float64 // full-scale seconds the motor ran; intensity·s the guard granted
	maxGranted := 0.0
	for now := time.Duration(0); now < time.Minute; now += period {
		h := []float64{0.5}
		if _, err := hg.Limit(now, h); err != nil {
			t.Fatal(err)
		}
		if err := show.Outputs.Show(lights, h); err != nil {
			t.Fatal(err)
		}
		granted += h[0] * period.Seconds()
		maxGranted = max(maxGranted, h[0])
		if line.Read() == gpio.High {
			drive += period.Seconds()
		}
	}
	budget := 0.3 * 60.0
	if granted > budget+0.5 {
		t.Fatalf("the guard granted %.1f intensity·s in 60 s, over its budget %.1f: the test is wrong", granted, budget)
	}
	if maxGranted != 1 || drive == 0 {
		t.Errorf("the guard granted at most %.2f and the motor ran %.1f s: an on-off place is granted 1 while it runs", maxGranted, drive)
	}
	if drive != granted {
		t.Errorf("the motor ran at full drive for %.2f s while the guard charged %.2f intensity·s", drive, granted)
	}
	if drive > budget+0.5 {
		t.Errorf("the gpio motor ran at full scale for %.1f s of a 60 s window; the duty budget is %.1f full-scale seconds (duty_budget 0.3)", drive, budget)
	}
}
