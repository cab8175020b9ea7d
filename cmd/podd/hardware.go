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
	"github.com/sleegation/podd/internal/wiring"
	"github.com/sleegation/podd/sensing"
	"github.com/sleegation/podd/sensors/eda"
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
	// consentButton, panicButton and ackButton are nil when not
	// configured.
	consentButton, panicButton, ackButton controller.Button
	// sensors are the biometric sensors besides the oximeter.
	sensors []sensing.Sensor
	// outputs open the outputs besides the strip.
	outputs   outputBuses
	services  []controller.Part
	simStatus func() *controller.SimStatus
	close     func()
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
	if s := cfg.Sensors; s.ADS1115.Address == s.TMP117.Address {
		// The loader allows them on two buses; the simulator has one.
		return nil, fmt.Errorf("sensors.ads1115.address and sensors.tmp117.address are both 0x%02X: the simulator has one I2C bus, so in sim mode give them different addresses", s.ADS1115.Address)
	}
	hw, err := sim.NewHardwareWith(sc, cfg.Hardware.LEDCount, time.Now(), log.With("component", "sim"), sim.HardwareOpts{
		SkinAddr:    uint16(cfg.Sensors.ADS1115.Address),
		ThermoAddr:  uint16(cfg.Sensors.TMP117.Address),
		SkinCircuit: eda.Divider{SupplyV: cfg.Sensors.ADS1115.SupplyV, RefOhms: cfg.Sensors.ADS1115.RefOhms},
		// A scenario's ack press holds the button a second past the hold.
		AckPressHold: cfg.Hardware.AckHold + time.Second,
	})
	if err != nil {
		return nil, err
	}
	// The simulator has one I²C bus: every sensor is on it, whatever bus
	// the configuration names.
	sensors, err := biometricSensors(cfg, sensorBuses{
		i2c:     func(string, string) (i2c.Bus, error) { return hw.I2C, nil },
		eegPort: hw.EEGPort,
		drdy:    hw.DRDY,
	})
	if err != nil {
		return nil, err
	}
	if cfg.Lights.PCA9685.Enabled {
		if err := hw.AddPCA9685(uint16(cfg.Lights.PCA9685.Address)); err != nil {
			return nil, fmt.Errorf("lights.pca9685.address: %w", err)
		}
	}
	for _, p := range cfg.Haptics.Places {
		if p.Driver == "drv2605" {
			if err := hw.AddDRV2605(); err != nil {
				return nil, fmt.Errorf("haptics.places %q: %w", p.Name, err)
			}
		}
	}
	safe, _, err := safeLights(cfg.Lights)
	if err != nil {
		return nil, err
	}
	safeLED := controller.SafeColor(safe)
	var rec *sim.OutputRecorder
	if path := cfg.Sim.RecordOutputs; path != "" {
		if rec, err = sim.CreateOutputRecord(path); err != nil {
			return nil, fmt.Errorf("sim.record_outputs: %w", err)
		}
		hw.Record(rec)
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
	ackOpts := button.DefaultOpts
	ackOpts.Hold = cfg.Hardware.AckHold
	ackB, err := button.New(hw.AckLine, &ackOpts)
	if err != nil {
		return nil, err
	}
	return &hardware{
		consentButton: consent,
		panicButton:   panicB,
		ackButton:     ackB,
		simulated:     true,
		spi:           hw.SPI,
		sensors:       sensors,
		openOximeter:  oximeterOn(hw.I2C, wiring.MAX30102(cfg)),
		services: []controller.Part{{Name: "sim", Run: func(ctx context.Context, up func()) error {
			up()
			return hw.Run(ctx)
		}}},
		simStatus: func() *controller.SimStatus {
			shown := hw.Strip.Shown()
			isSafe := len(shown) > 0
			for _, l := range shown {
				isSafe = isSafe && l == sim.LED{R: safeLED.R, G: safeLED.G, B: safeLED.B, Brightness: 31}
			}
			return &controller.SimStatus{StripFrames: hw.Strip.Frames(), StripDark: hw.Strip.Dark(), StripSafe: isSafe}
		},
		// The simulator has one I²C bus; a line is the PCA9685's OE, the
		// DRV2605L's EN or a motor's.
		outputs: outputBuses{
			i2c: func(string, string) (i2c.Bus, error) { return hw.I2C, nil },
			line: func(name string) (gpio.PinIO, error) {
				if name == cfg.Lights.PCA9685.OE && hw.PWMOE != nil {
					return hw.PWMOE, nil
				}
				if name == cfg.Haptics.DRV2605.EN && hw.HapticEN != nil {
					return hw.HapticEN, nil
				}
				return hw.MotorLine(name), nil
			},
		},
		close: func() {
			hw.I2C.Close()
			hw.SPI.Close()
			hw.EEGPort.Close()
			if rec != nil {
				if err := rec.Close(); err != nil {
					log.Error("sim.record_outputs", "err", err)
				}
			}
		},
	}, nil
}

func openLinux(cfg *configs.Config) (*hardware, error) {
	if _, err := host.Init(); err != nil {
		return nil, fmt.Errorf("periph host.Init: %w", err)
	}
	bus, err := i2creg.Open(cfg.Hardware.I2CBus)
	if err != nil {
		return nil, busError(busI2C, "hardware.i2c_bus", cfg.Hardware.I2CBus, err, openRW)
	}
	port, err := spireg.Open(cfg.Hardware.SPIPort)
	if err != nil {
		bus.Close()
		return nil, busError(busSPI, "hardware.spi_port", cfg.Hardware.SPIPort, err, openRW)
	}
	// The sensors' buses, opened once each by name; hardware.i2c_bus is
	// open already.
	buses := map[string]i2c.BusCloser{cfg.Hardware.I2CBus: bus}
	var closers []func() error
	hw := &hardware{
		spi: port,
		close: func() {
			for _, c := range closers {
				_ = c()
			}
			for _, b := range buses {
				_ = b.Close()
			}
			_ = port.Close()
		},
	}
	sb := sensorBuses{i2c: func(key, name string) (i2c.Bus, error) {
		if b, ok := buses[name]; ok {
			return b, nil
		}
		b, err := i2creg.Open(name)
		if err != nil {
			return nil, busError(busI2C, key, name, err, openRW)
		}
		buses[name] = b
		return b, nil
	}}
	oxBusName := cfg.Bus(cfg.Sensors.MAX30102.I2CBus)
	oxBus, err := sb.i2c("sensors.max30102.i2c_bus", oxBusName)
	if err != nil {
		hw.close()
		return nil, err
	}
	openOx := oximeterOn(oxBus, wiring.MAX30102(cfg))
	hw.openOximeter = func() (controller.Oximeter, error) {
		d, err := openOx()
		if err != nil {
			return nil, chipError("sensors.max30102", max30102.Addr, oxBusName, err)
		}
		return d, nil
	}
	if e := cfg.Sensors.ADS1299; e.Enabled {
		p, err := spireg.Open(e.SPIPort)
		if err != nil {
			hw.close()
			return nil, busError(busSPI, "sensors.ads1299.spi_port", e.SPIPort, err, openRW)
		}
		closers = append(closers, p.Close)
		pin := gpioreg.ByName(e.DRDY)
		if pin == nil {
			hw.close()
			return nil, fmt.Errorf("sensors.ads1299.drdy %q: %s", e.DRDY, noLineFix)
		}
		sb.eegPort, sb.drdy = p, namedPin{pin}
	}
	sensors, err := biometricSensors(cfg, sb)
	if err != nil {
		hw.close()
		return nil, err
	}
	for i, sn := range sensors {
		switch sn.Name {
		case "tmp117":
			sensors[i] = explainChip(sn, "sensors.tmp117", uint16(cfg.Sensors.TMP117.Address), cfg.Bus(cfg.Sensors.TMP117.I2CBus))
		case "ads1115":
			sensors[i] = explainChip(sn, "sensors.ads1115", uint16(cfg.Sensors.ADS1115.Address), cfg.Bus(cfg.Sensors.ADS1115.I2CBus))
		}
	}
	hw.sensors = sensors
	hw.outputs = outputBuses{i2c: sb.i2c, line: func(name string) (gpio.PinIO, error) {
		pin := gpioreg.ByName(name)
		if pin == nil {
			return nil, errNoLine
		}
		return pin, nil
	}}
	opts := button.DefaultOpts
	opts.ActiveLow = cfg.Hardware.ButtonsActiveLow
	if !opts.ActiveLow {
		opts.Pull = gpio.PullDown
	}
	names := [numButtons]string{cfg.Hardware.ConsentButton, cfg.Hardware.PanicButton, cfg.Hardware.AckButton}
	pins, err := buttonLines(names)
	if err != nil {
		hw.close()
		return nil, err
	}
	for i, dst := range []*controller.Button{&hw.consentButton, &hw.panicButton, &hw.ackButton} {
		if pins[i] == nil {
			continue
		}
		o := opts
		if i == buttonAck {
			o.Hold = cfg.Hardware.AckHold
		}
		d, err := button.New(namedPin{pins[i]}, &o)
		if err != nil {
			hw.close()
			return nil, fmt.Errorf("%s %q: %w", buttonKeys[i], names[i], err)
		}
		*dst = d
	}
	return hw, nil
}

// namedPin is a GPIO line that prints as its name: periph's Linux GPIO
// lines (gpioioctl) print as a multi-line JSON document, which the drivers'
// and the buttons' errors would carry into the log.
type namedPin struct{ gpio.PinIO }

func (p namedPin) String() string { return p.Name() }

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

// noLineFix is the message for a GPIO line name that resolves to nothing.
const noLineFix = "no such GPIO line: name a line by its periph name (GPIO17 on a Raspberry Pi) or by its kernel line name (gpioinfo lists the lines of /dev/gpiochip*); podd needs read and write access to /dev/gpiochip* (group gpio)"

// The buttons, in the order of buttonKeys.
const (
	buttonConsent = iota
	buttonPanic
	buttonAck
	numButtons
)

var buttonKeys = [numButtons]string{"hardware.consent_button", "hardware.panic_button", "hardware.ack_button"}

// buttonLines resolves the buttons' lines (names, in the order of
// buttonKeys) by their gpioreg names (nil for a name left empty), and
// refuses a name that resolves to nothing and two names of one line (a
// number and a header-pin alias, say): one press would be both a panic and
// a grant of consent, or an acknowledgement.
func buttonLines(names [numButtons]string) ([numButtons]gpio.PinIO, error) {
	var pins [numButtons]gpio.PinIO
	for i, name := range names {
		if name == "" {
			continue
		}
		if pins[i] = gpioreg.ByName(name); pins[i] == nil {
			return pins, fmt.Errorf("%s %q: %s", buttonKeys[i], name, noLineFix)
		}
	}
	for i := range pins {
		for j := i + 1; j < len(pins); j++ {
			if pins[i] == nil || pins[j] == nil {
				continue
			}
			a, b := realPin(pins[i]), realPin(pins[j])
			if a == b || a.Name() == b.Name() {
				return pins, fmt.Errorf("%s %q and %s %q are one line (%s): each button needs its own", buttonKeys[i], names[i], buttonKeys[j], names[j], a.Name())
			}
		}
	}
	return pins, nil
}

// oximeterOn opens the pulse oximeter on bus with opts (wiring.MAX30102).
func oximeterOn(bus i2c.Bus, opts max30102.Opts) func() (controller.Oximeter, error) {
	return func() (controller.Oximeter, error) {
		d, err := max30102.New(bus, &opts)
		if err != nil {
			return nil, err
		}
		return d, nil
	}
}
