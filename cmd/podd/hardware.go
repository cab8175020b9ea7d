package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/i2c/i2creg"
	"periph.io/x/conn/v3/spi"
	"periph.io/x/conn/v3/spi/spireg"
	"periph.io/x/host/v3"

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
	services     []controller.Part
	simStatus    func() *controller.SimStatus
	close        func()
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
	return &hardware{
		simulated:    true,
		spi:          hw.SPI,
		openOximeter: oximeterOn(hw.I2C),
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
	return &hardware{
		spi:          port,
		openOximeter: oximeterOn(bus),
		close:        func() { port.Close(); bus.Close() },
	}, nil
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
