// Package gpioout drives an output on a GPIO line: a vibration motor
// switched by a transistor, or an indicator LED. It owns the line's level
// and its safe state (off), not the line, which the application opens.
//
// A line has two states, so a motor's intensity is a threshold: the motor
// runs while the intensity asked is at least OnAt (half of full scale),
// and a soft pattern below it leaves the motor still rather than turning a
// whisper into full drive.
package gpioout

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"periph.io/x/conn/v3/gpio"
)

// OnAt is the intensity from which a motor on a line runs.
const OnAt = 0.5

// ErrHalted is returned by Set and SetIntensity after Halt, until Resume.
var ErrHalted = errors.New("gpioout: halted")

// Opts configures an output.
type Opts struct {
	// ActiveLow: the output is on while the line is low.
	ActiveLow bool
	// Name names the output in errors and logs, e.g. "motor feet".
	Name string
}

// Dev is an output on a GPIO line. It is safe for concurrent use.
type Dev struct {
	pin    gpio.PinOut
	name   string
	on     gpio.Level
	mu     sync.Mutex // serialises line writes
	halted atomic.Bool
}

// New turns the output off and returns it.
func New(pin gpio.PinOut, opts Opts) (*Dev, error) {
	if pin == nil {
		return nil, errors.New("gpioout: no line")
	}
	d := &Dev{pin: pin, name: fmt.Sprintf("%s(%s)", opts.Name, pin), on: gpio.High}
	if opts.Name == "" {
		d.name = fmt.Sprintf("gpioout(%s)", pin)
	}
	if opts.ActiveLow {
		d.on = gpio.Low
	}
	if err := d.Halt(); err != nil {
		return nil, err
	}
	d.halted.Store(false)
	return d, nil
}

// Set turns the output on or off.
func (d *Dev) Set(on bool) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.halted.Load() {
		return ErrHalted
	}
	l := !d.on
	if on {
		l = d.on
	}
	if err := d.pin.Out(l); err != nil {
		return fmt.Errorf("gpioout: %s: %w", d.name, err)
	}
	return nil
}

// SetIntensity runs the output while x >= OnAt. x must be in 0..1.
func (d *Dev) SetIntensity(x float64) error {
	if !(x >= 0 && x <= 1) {
		return fmt.Errorf("gpioout: %s: intensity %v is outside 0..1", d.name, x)
	}
	return d.Set(x >= OnAt)
}

// Halt turns the output off and keeps it so: Set fails with ErrHalted
// until Resume. It is safe to call again.
func (d *Dev) Halt() error {
	d.halted.Store(true)
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.pin.Out(!d.on); err != nil {
		return fmt.Errorf("gpioout: %s: Halt: %w", d.name, err)
	}
	return nil
}

// Resume allows Set again after Halt. It takes no lock.
func (d *Dev) Resume() { d.halted.Store(false) }

// String names the output and its line.
func (d *Dev) String() string { return d.name }
