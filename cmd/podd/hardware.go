package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/i2c/i2creg"
	"periph.io/x/conn/v3/spi"
	"periph.io/x/conn/v3/spi/spireg"
	"periph.io/x/host/v3"

	"github.com/sleegation/podd/button"
	"github.com/sleegation/podd/configs"
	"github.com/sleegation/podd/controller"
	"github.com/sleegation/podd/sensors/max30102"
	"github.com/sleegation/podd/sim"
	"github.com/sleegation/podd/sim/scenario"
)

// hardware is what the pod runs on: real buses or the simulator. cmd owns the
// buses; drivers only borrow them.
type hardware struct {
	simulated    bool
	spi          spi.Port
	openOximeter func() (controller.Oximeter, error)
	// consentButton and panicButton are nil when not configured.
	consentButton, panicButton controller.Button
	services                   []controller.Part
	simStatus                  func() *controller.SimStatus
	close                      func()
}

func openHardware(cfg *configs.Config, log *slog.Logger) (*hardware, error) {
	switch cfg.Hardware.Mode {
	case configs.ModeSim:
		return openSim(cfg, log)
	case configs.ModeLinux:
		return openLinux(cfg)
	}
	return nil, fmt.Errorf("hardware.mode: %q is not sim or linux", cfg.Hardware.Mode)
}

func openSim(cfg *configs.Config, log *slog.Logger) (*hardware, error) {
	sc, err := scenario.Load(cfg.Sim.Scenario)
	if err != nil {
		return nil, err
	}
	hw, err := sim.NewHardware(sc, cfg.Hardware.LEDCount, time.Now(), log.With("component", "sim"))
	if err != nil {
		return nil, err
	}
	log.Warn("SIMULATED hardware: every reading comes from a scenario", "scenario", sc.Name)
	consent, err := button.New(hw.ConsentLine, &button.DefaultOpts)
	if err != nil {
		return nil, err
	}
	panicB, err := button.New(hw.PanicLine, &button.DefaultOpts)
	if err != nil {
		return nil, err
	}
	return &hardware{
		consentButton: consent,
		panicButton:   panicB,
		simulated:     true,
		spi:           hw.SPI,
		openOximeter:  oximeterOn(hw.I2C),
		services: []controller.Part{{Name: "sim", Run: func(ctx context.Context, up func()) error {
			up()
			return hw.Run(ctx)
		}}},
		simStatus: func() *controller.SimStatus {
			return &controller.SimStatus{StripFrames: hw.Strip.Frames(), StripDark: hw.Strip.Dark()}
		},
		close: func() { hw.I2C.Close(); hw.SPI.Close() },
	}, nil
}

func openLinux(cfg *configs.Config) (*hardware, error) {
	if _, err := host.Init(); err != nil {
		return nil, fmt.Errorf("periph host.Init: %w", err)
	}
	bus, err := i2creg.Open(cfg.Hardware.I2CBus)
	if err != nil {
		return nil, fmt.Errorf("hardware.i2c_bus %q: %w", cfg.Hardware.I2CBus, err)
	}
	port, err := spireg.Open(cfg.Hardware.SPIPort)
	if err != nil {
		bus.Close()
		return nil, fmt.Errorf("hardware.spi_port %q: %w", cfg.Hardware.SPIPort, err)
	}
	hw := &hardware{
		spi:          port,
		openOximeter: oximeterOn(bus),
		close:        func() { port.Close(); bus.Close() },
	}
	opts := button.DefaultOpts
	opts.ActiveLow = cfg.Hardware.ButtonsActiveLow
	if !opts.ActiveLow {
		opts.Pull = gpio.PullDown
	}
	for _, b := range []struct {
		key, line string
		dst       *controller.Button
	}{
		{"hardware.consent_button", cfg.Hardware.ConsentButton, &hw.consentButton},
		{"hardware.panic_button", cfg.Hardware.PanicButton, &hw.panicButton},
	} {
		if b.line == "" {
			continue
		}
		pin := gpioreg.ByName(b.line)
		if pin == nil {
			hw.close()
			return nil, fmt.Errorf("%s %q: no such GPIO line", b.key, b.line)
		}
		d, err := button.New(pin, &opts)
		if err != nil {
			hw.close()
			return nil, fmt.Errorf("%s %q: %w", b.key, b.line, err)
		}
		*b.dst = d
	}
	return hw, nil
}

func oximeterOn(bus i2c.Bus) func() (controller.Oximeter, error) {
	return func() (controller.Oximeter, error) {
		d, err := max30102.New(bus, &max30102.DefaultOpts)
		if err != nil {
			return nil, err
		}
		return d, nil
	}
}
