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
		openOximeter:  oximeterOn(hw.I2C, cfg.Hardware.OximeterLEDsSwapped),
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
		openOximeter: oximeterOn(bus, cfg.Hardware.OximeterLEDsSwapped),
		close:        func() { port.Close(); bus.Close() },
	}
	opts := button.DefaultOpts
	opts.ActiveLow = cfg.Hardware.ButtonsActiveLow
	if !opts.ActiveLow {
		opts.Pull = gpio.PullDown
	}
	pins, err := buttonLines(cfg.Hardware.ConsentButton, cfg.Hardware.PanicButton)
	if err != nil {
		hw.close()
		return nil, err
	}
	names := [2]string{cfg.Hardware.ConsentButton, cfg.Hardware.PanicButton}
	for i, dst := range []*controller.Button{&hw.consentButton, &hw.panicButton} {
		if pins[i] == nil {
			continue
		}
		d, err := button.New(pins[i], &opts)
		if err != nil {
			hw.close()
			return nil, fmt.Errorf("%s %q: %w", buttonKeys[i], names[i], err)
		}
		*dst = d
	}
	return hw, nil
}

// realPin is the line behind p's aliases (gpio.RealPin).
func realPin(p gpio.PinIO) gpio.PinIO {
	for {
		r, ok := p.(gpio.RealPin)
		if !ok {
			return p
		}
		p = r.Real()
	}
}

var buttonKeys = [2]string{"hardware.consent_button", "hardware.panic_button"}

// buttonLines resolves the buttons' lines by their gpioreg names (nil for
// a name left empty), and refuses a name that resolves to nothing and two
// names of one line (a number and a header-pin alias, say): one press would
// be both a panic and a grant of consent.
func buttonLines(consent, panicName string) ([2]gpio.PinIO, error) {
	var pins [2]gpio.PinIO
	for i, name := range []string{consent, panicName} {
		if name == "" {
			continue
		}
		if pins[i] = gpioreg.ByName(name); pins[i] == nil {
			return pins, fmt.Errorf("%s %q: no such GPIO line", buttonKeys[i], name)
		}
	}
	if pins[0] != nil && pins[1] != nil {
		a, b := realPin(pins[0]), realPin(pins[1])
		if a == b || a.Name() == b.Name() {
			return pins, fmt.Errorf("%s %q and %s %q are one line (%s): each button needs its own", buttonKeys[0], consent, buttonKeys[1], panicName, a.Name())
		}
	}
	return pins, nil
}

func oximeterOn(bus i2c.Bus, swapRedIR bool) func() (controller.Oximeter, error) {
	opts := max30102.DefaultOpts
	opts.SwapRedIR = swapRedIR
	return func() (controller.Oximeter, error) {
		d, err := max30102.New(bus, &opts)
		if err != nil {
			return nil, err
		}
		return d, nil
	}
}
