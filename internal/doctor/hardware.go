package doctor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/i2c/i2creg"
	"periph.io/x/conn/v3/spi"
	"periph.io/x/conn/v3/spi/spireg"
	"periph.io/x/host/v3"
	"periph.io/x/host/v3/gpioioctl"

	"github.com/sleegation/podd/configs"
	"github.com/sleegation/podd/sensors/eda"
	"github.com/sleegation/podd/sim"
	"github.com/sleegation/podd/sim/scenario"
)

// Hardware is what the checks reach the chips and lines through, opened
// only while podd is not running (package doc). Buses are opened by their
// periph names at first use and closed by Close.
type Hardware interface {
	// I2C is the I²C bus of a periph i2creg name.
	I2C(name string) (i2c.Bus, error)
	// SPI is the SPI port of a periph spireg name.
	SPI(name string) (spi.Port, error)
	// Pin is the GPIO line of a periph gpioreg name, to read from.
	Pin(name string) (gpio.PinIO, error)
	// Line says who holds the GPIO line of a gpioreg name, without
	// requesting it.
	Line(name string) (LineInfo, error)
	// Run keeps what the hardware needs running (the simulator's models)
	// until ctx is done.
	Run(ctx context.Context) error
	// Simulated reports whether the hardware is the simulator's.
	Simulated() bool
	Close() error
}

// LineInfo is who holds a GPIO line: Consumer as the kernel reports it
// (periph names itself "<program>@<pid>", so podd's lines read
// "podd@1234"); "" for a free line.
type LineInfo struct {
	Consumer string
}

// errNoLine is a GPIO line name that resolves to nothing.
var errNoLine = errors.New("no such GPIO line")

// SimHardware is the simulator's pod as podd builds it from a sim
// configuration (cmd/podd, openSim): one I²C bus carrying the
// MAX30102, the TMP117 and the ADS1115 at their configured addresses,
// the PCA9685 and the DRV2605L when configured; the strip's SPI port and
// the EEG's with its DRDY line. Every line is simulated and free. HW is
// there for tests to inject faults.
type SimHardware struct {
	HW  *sim.Hardware
	cfg *configs.Config
}

// NewSim builds the simulated pod of cfg (hardware.mode sim), its
// sleeper from sim.scenario.
func NewSim(cfg *configs.Config) (*SimHardware, error) {
	sc, err := scenario.Load(cfg.Sim.Scenario)
	if err != nil {
		return nil, fmt.Errorf("sim.scenario: %w", err)
	}
	s := cfg.Sensors
	if s.ADS1115.Address == s.TMP117.Address {
		return nil, fmt.Errorf("sensors.ads1115.address and sensors.tmp117.address are both 0x%02X: the simulator has one I2C bus", s.ADS1115.Address)
	}
	hw, err := sim.NewHardwareWith(sc, cfg.Hardware.LEDCount, time.Now(), slog.New(slog.DiscardHandler), sim.HardwareOpts{
		SkinAddr:    uint16(s.ADS1115.Address),
		ThermoAddr:  uint16(s.TMP117.Address),
		SkinCircuit: eda.Divider{SupplyV: s.ADS1115.SupplyV, RefOhms: s.ADS1115.RefOhms},
	})
	if err != nil {
		return nil, err
	}
	if cfg.Lights.PCA9685.Enabled {
		if err := hw.AddPCA9685(uint16(cfg.Lights.PCA9685.Address)); err != nil {
			return nil, fmt.Errorf("lights.pca9685.address: %w", err)
		}
	}
	if usesDRV2605(cfg) {
		if err := hw.AddDRV2605(); err != nil {
			return nil, fmt.Errorf("haptics.places: %w", err)
		}
	}
	return &SimHardware{HW: hw, cfg: cfg}, nil
}

func usesDRV2605(cfg *configs.Config) bool {
	for _, p := range cfg.Haptics.Places {
		if p.Driver == "drv2605" {
			return true
		}
	}
	return false
}

// I2C is the simulator's one bus, whatever the name.
func (h *SimHardware) I2C(string) (i2c.Bus, error) { return h.HW.I2C, nil }

// SPI is the EEG's port for sensors.ads1299.spi_port, the strip's for
// any other name.
func (h *SimHardware) SPI(name string) (spi.Port, error) {
	if name == h.cfg.Sensors.ADS1299.SPIPort {
		return h.HW.EEGPort, nil
	}
	return h.HW.SPI, nil
}

// Pin is the EEG's DRDY line for sensors.ads1299.drdy, the PCA9685's OE
// and the DRV2605L's EN for theirs, a motor's line otherwise.
func (h *SimHardware) Pin(name string) (gpio.PinIO, error) {
	switch {
	case name == h.cfg.Sensors.ADS1299.DRDY:
		return h.HW.DRDY, nil
	case name == h.cfg.Lights.PCA9685.OE && h.HW.PWMOE != nil:
		return h.HW.PWMOE, nil
	case name == h.cfg.Haptics.DRV2605.EN && h.HW.HapticEN != nil:
		return h.HW.HapticEN, nil
	}
	return h.HW.MotorLine(name), nil
}

// Line: every simulated line is free.
func (h *SimHardware) Line(string) (LineInfo, error) { return LineInfo{}, nil }

// Run runs the simulator's models (sim.Hardware.Run).
func (h *SimHardware) Run(ctx context.Context) error { return h.HW.Run(ctx) }

// Simulated is true.
func (h *SimHardware) Simulated() bool { return true }

// Close closes the simulated buses.
func (h *SimHardware) Close() error {
	h.HW.I2C.Close()
	h.HW.SPI.Close()
	h.HW.EEGPort.Close()
	return nil
}

// LinuxHardware is the board's buses through periph (host.Init once).
type LinuxHardware struct {
	mu      sync.Mutex
	closers []func() error
}

var hostInit = sync.OnceValue(func() error {
	_, err := host.Init()
	return err
})

// NewLinux initialises periph's host drivers; nothing is opened yet.
func NewLinux() (*LinuxHardware, error) {
	if err := hostInit(); err != nil {
		return nil, fmt.Errorf("periph host.Init: %w", err)
	}
	return &LinuxHardware{}, nil
}

// I2C opens the bus.
func (h *LinuxHardware) I2C(name string) (i2c.Bus, error) {
	b, err := i2creg.Open(name)
	if err != nil {
		return nil, plainOpenError(err)
	}
	h.mu.Lock()
	h.closers = append(h.closers, b.Close)
	h.mu.Unlock()
	return b, nil
}

// plainOpenError drops periph's hint to call Init from a registry's
// error: host.Init was called, and the bus is missing because its device
// node is (the node line says so), which the hint would hide from a
// technician.
func plainOpenError(err error) error {
	const hint = "; did you forget to call Init()?"
	if msg := err.Error(); strings.HasSuffix(msg, hint) {
		return errors.New(strings.TrimSuffix(msg, hint))
	}
	return err
}

// SPI opens the port.
func (h *LinuxHardware) SPI(name string) (spi.Port, error) {
	p, err := spireg.Open(name)
	if err != nil {
		return nil, plainOpenError(err)
	}
	h.mu.Lock()
	h.closers = append(h.closers, p.Close)
	h.mu.Unlock()
	return p, nil
}

// Pin finds the line.
func (h *LinuxHardware) Pin(name string) (gpio.PinIO, error) {
	p := gpioreg.ByName(name)
	if p == nil {
		return nil, errNoLine
	}
	return p, nil
}

// Line reads the line's consumer as the kernel reported it when periph
// listed the lines (GPIO_V2_GET_LINEINFO): it requests nothing.
func (h *LinuxHardware) Line(name string) (LineInfo, error) {
	p := gpioreg.ByName(name)
	if p == nil {
		return LineInfo{}, errNoLine
	}
	for {
		r, ok := p.(gpio.RealPin)
		if !ok {
			break
		}
		p = r.Real()
	}
	if l, ok := p.(*gpioioctl.GPIOLine); ok {
		return LineInfo{Consumer: l.Consumer()}, nil
	}
	return LineInfo{}, fmt.Errorf("%s is not a GPIO character device line: who holds it cannot be told", strings.TrimSpace(p.Name()))
}

// Run has nothing to run.
func (h *LinuxHardware) Run(ctx context.Context) error {
	<-ctx.Done()
	return nil
}

// Simulated is false.
func (h *LinuxHardware) Simulated() bool { return false }

// Close closes every bus opened.
func (h *LinuxHardware) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	var errs []error
	for _, c := range h.closers {
		errs = append(errs, c())
	}
	h.closers = nil
	return errors.Join(errs...)
}
