package drv2605

import (
	"errors"
	"fmt"
	"time"

	"periph.io/x/conn/v3/gpio"
)

// Halt is the safe state, by two paths (package doc, "Safe state, two
// paths"). With an EN line it first drives EN low, without waiting for the
// bus: the chip shuts down and its output stage stops driving the motor.
// Then, once a transfer in progress has ended, it writes RTP_INPUT 0 (no
// drive) and MODE 0x40 (STANDBY), attempting both whatever the first
// returned; after EN went low, only if the bus is free (no transfer in
// progress), and Halt returns at once otherwise. It latches from its first step: SetIntensity returns ErrHalted
// until Resume, so a value computed before an abort cannot restart the motor
// after it.
//
// The error: nil once EN was driven low, whatever the bus did, since the
// motor is then still and the chip is configured anew before it plays again
// (the bus errors are then dropped, reported nowhere: the next SetIntensity
// or Status meets a bus still failing). Without an EN line, or when driving
// it failed, the EN error and the two writes' errors, joined. It is safe to
// call again, and concurrently with SetIntensity.
func (d *Dev) Halt() error {
	var enErr error
	enOff := false
	d.enMu.Lock()
	d.halted.Store(true)
	if d.en != nil {
		d.enLow = true
		if err := d.en.Out(gpio.Low); err != nil {
			enErr = fmt.Errorf("%s: halt: drive EN (%s) low: %w", d.name, d.en, err)
		} else {
			enOff = true
		}
	}
	d.enMu.Unlock()

	if enOff {
		// The motor is still. The register writes are best effort, and
		// only on a free bus: waiting for a transfer hung on it would keep
		// the gate from seeing this motor safe. The next SetIntensity
		// configures the chip anew (EN is low).
		if !d.mu.TryLock() {
			return nil
		}
	} else {
		d.mu.Lock()
	}
	defer d.mu.Unlock()
	d.asleep = true
	var errRTP, errMode error
	if err := d.writeReg(regRTPInput, 0); err != nil {
		errRTP = fmt.Errorf("%s: halt: write RTP_INPUT 0: %w", d.name, err)
	}
	if err := d.writeReg(regMode, modeStandby); err != nil {
		errMode = fmt.Errorf("%s: halt: write MODE 0x40 (standby): %w", d.name, err)
	}
	if enOff {
		return nil
	}
	return errors.Join(enErr, errRTP, errMode)
}

// Resume allows SetIntensity again after Halt. It takes no bus lock and
// touches neither the bus nor EN, so it returns at once even while a Halt
// waits on a hung bus. EN stays low until the next SetIntensity, which
// drives it high and configures the chip in one step under the bus lock:
// raised alone, EN could wake a chip that kept a drive in its registers
// (package doc, "Safe state, two paths").
func (d *Dev) Resume() {
	d.enMu.Lock()
	defer d.enMu.Unlock()
	d.halted.Store(false)
}

// enable drives EN high if it is low and waits Startup; ErrHalted if a Halt
// came first. Called with mu held.
func (d *Dev) enable() error {
	if d.en == nil {
		return nil
	}
	d.enMu.Lock()
	if d.halted.Load() {
		d.enMu.Unlock()
		return ErrHalted
	}
	if !d.enLow {
		d.enMu.Unlock()
		return nil
	}
	if err := d.en.Out(gpio.High); err != nil {
		d.enMu.Unlock()
		return fmt.Errorf("%s: drive EN (%s) high: %w", d.name, d.en, err)
	}
	d.enLow = false
	d.enMu.Unlock()
	time.Sleep(Startup)
	return nil
}

// shutDown drives EN low after a failed start or wake: a chip that is not
// known configured must not play. Called with mu held; nil without EN.
func (d *Dev) shutDown() error {
	if d.en == nil {
		return nil
	}
	d.enMu.Lock()
	defer d.enMu.Unlock()
	d.enLow = true
	if err := d.en.Out(gpio.Low); err != nil {
		return fmt.Errorf("%s: drive EN (%s) low: %w", d.name, d.en, err)
	}
	return nil
}

// shutDownByEN reports whether EN was driven low: the chip is off and its
// registers can be neither read nor written.
func (d *Dev) shutDownByEN() bool {
	d.enMu.Lock()
	defer d.enMu.Unlock()
	return d.en != nil && d.enLow
}
