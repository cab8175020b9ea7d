package main

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/configs"
	"github.com/sleegation/podd/sim"
)

// An EEG front end that does not answer when podd starts (unplugged, or
// its supply not up yet) must be opened once it answers. What is wrong:
// biometricSensors' open calls ads1299.New, which connects the SPI port
// (periph's ports connect once) before it checks the chip; when the check
// fails, the connection is dropped with the failed Dev and every later
// open calls New again, whose Connect fails ("can only be called exactly
// once" on spidev, "already called" here): the sensor stays bus_error for
// the life of the process, every merge is aborted by sensor_stale and no
// EEG is ever reported, however often the chip is plugged back. Correct:
// connect the port once (outside the retried open) and retry only the
// chip's start-up on that connection (as Restart does).
func TestReviewEEGUnpluggedAtStartOpensOncePluggedIn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg, err := configs.Parse([]byte(`
pod: {id: pod-7}
hardware: {mode: linux}
uplink: {broker: tcp://hub.local:1883}
storage: {path: /var/lib/podd/podd.db}
api: {socket: /run/podd/podd.sock}
sensors:
  ads1299: {enabled: true, spi_port: SPI1.0, drdy: GPIO25, rate_hz: 250, gain: 24, channels: 8}
`), nil)
		if err != nil {
			t.Fatal(err)
		}
		drdy := sim.NewLine("DRDY", 25)
		chip := sim.NewADS1299(func(time.Time, int) float64 { return 0 }, drdy)
		port := sim.NewSPIPort("spi1-eeg", chip)
		ctx, cancel := context.WithCancel(context.Background())
		var models sync.WaitGroup
		models.Go(func() { _ = chip.Run(ctx) })
		defer func() { cancel(); models.Wait() }()

		chip.SetPowered(false) // unplugged when podd starts
		sensors, err := biometricSensors(cfg, sensorBuses{eegPort: port, drdy: drdy})
		if err != nil || len(sensors) != 1 {
			t.Fatalf("biometricSensors = %d sensors, %v", len(sensors), err)
		}
		eeg := sensors[0]
		if _, err := eeg.Open(); err == nil {
			t.Fatal("Open of an unpowered chip succeeded")
		}
		chip.SetPowered(true) // plugged in
		time.Sleep(200 * time.Millisecond)
		d, err := eeg.Open()
		if err != nil {
			t.Fatalf("Open once the chip answers: %v; want the chip opened", err)
		}
		_ = d.Halt()
	})
}
