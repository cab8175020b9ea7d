package pca9685

import (
	"errors"
	"fmt"

	"periph.io/x/conn/v3/gpio"
)

// Halt puts every output in the safe state, off, by two paths (package
// doc, "Safe state, two paths"): it drives OE high at once, without waiting
// for the bus, then writes ALL_LED_OFF_H's full-off bit once a transfer in
// progress has ended. Both are attempted even if one fails; the error joins
// both failures. Set and SetAll return ErrHalted from the moment Halt is
// called until Resume. It is safe to call again, and concurrently with Set
// or SetAll.
func (d *Dev) Halt() error {
	var oeErr, busErr error
	d.oeMu.Lock()
	d.halted.Store(true)
	if d.oe != nil {
		d.oeHigh = true
		if err := d.oe.Out(gpio.High); err != nil {
			oeErr = fmt.Errorf("%s: halt: drive OE (%s) high: %w", d.name, d.oe, err)
		}
	}
	d.oeMu.Unlock()

	d.mu.Lock()
	if err := d.c.Tx(d.off[:], nil); err != nil {
		busErr = fmt.Errorf("%s: halt: ALL_LED_OFF_H full off: %w", d.name, err)
	} else {
		d.dark.Store(true)
	}
	d.mu.Unlock()
	return errors.Join(oeErr, busErr)
}

// Resume allows Set and SetAll again after Halt. It never waits on the bus:
// it drives OE low only if every channel is known off (Halt's full-off
// write succeeded and nothing was written since); otherwise OE stays high
// until the next Set or SetAll has turned every channel off again.
func (d *Dev) Resume() {
	d.oeMu.Lock()
	defer d.oeMu.Unlock()
	// dark is read while the latch still holds: no Set can have
	// cleared it since.
	dark := d.dark.Load()
	d.halted.Store(false)
	if d.oe == nil || !d.oeHigh || !dark {
		return
	}
	if d.oe.Out(gpio.Low) == nil {
		d.oeHigh = false
	}
}

// enable is called by Set and SetAll under mu before they write: it returns
// ErrHalted while halted and, when a Resume left OE high, turns every
// channel full off and then drives OE low.
func (d *Dev) enable() error {
	d.oeMu.Lock()
	halted, high := d.halted.Load(), d.oeHigh
	d.oeMu.Unlock()
	if halted {
		return ErrHalted
	}
	if !high {
		return nil
	}
	if err := d.c.Tx(d.off[:], nil); err != nil {
		return fmt.Errorf("%s: ALL_LED_OFF_H full off before OE goes low: %w", d.name, err)
	}
	d.dark.Store(true)
	d.oeMu.Lock()
	defer d.oeMu.Unlock()
	if d.halted.Load() {
		return ErrHalted
	}
	if err := d.oe.Out(gpio.Low); err != nil {
		return fmt.Errorf("%s: drive OE (%s) low: %w", d.name, d.oe, err)
	}
	d.oeHigh = false
	return nil
}
