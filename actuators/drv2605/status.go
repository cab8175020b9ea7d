package drv2605

import (
	"errors"
	"fmt"
)

var (
	// ErrOverTemp is wrapped by Status's error when STATUS's OVER_TEMP is
	// set: the chip overheated and shut its output down. The flag latches
	// and clears when read, so each event is reported once.
	ErrOverTemp = errors.New("over-temperature (OVER_TEMP)")
	// ErrOverCurrent is wrapped by Status's error when STATUS's OC_DETECT
	// is set: the load's impedance fell below the chip's threshold (a
	// shorted motor or wiring) and the chip shut its output down; it
	// retries on its own until the short is gone.
	ErrOverCurrent = errors.New("over-current (OC_DETECT)")
	// ErrReset is wrapped by Status's error when MODE reads standby while
	// the driver has not halted the chip: it was reset (a brown-out, the
	// EN pin dropped) and lost its configuration, the intensity cap
	// included. The motor is still; the next SetIntensity configures it
	// anew before it plays.
	ErrReset = errors.New("the chip was reset: MODE reads standby")
)

// Status is what STATUS (0x00) reported.
type Status struct {
	// DeviceID is DEVICE_ID, STATUS bits 7:5 (7 for the DRV2605L).
	DeviceID uint8
	// OverTemp is OVER_TEMP (bit 1).
	OverTemp bool
	// OverCurrent is OC_DETECT (bit 0).
	OverCurrent bool
}

// Status reads STATUS and MODE (one two-byte read from 0x00; the chip
// advances the register address) and returns STATUS decoded. The error
// names the chip and wraps ErrOverTemp and ErrOverCurrent for the flags
// set, ErrReset if MODE reads standby (0x40) though the driver has not
// halted the chip, or a bus error (then Status is zero). Reading clears
// OVER_TEMP on the chip. Status works after Halt; while Halt (or a failed
// wake) holds EN low the chip is shut down and cannot be read (DRV2605L
// data sheet SLOS854D, "Operation With EN Control"), so Status returns a
// zero Status and nil without touching the bus: a chip shut down drives
// nothing, and the next SetIntensity configures it anew, read-back
// included.
func (d *Dev) Status() (Status, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.shutDownByEN() {
		return Status{}, nil
	}
	d.w[0] = regStatus
	if err := d.c.Tx(d.w[:1], d.r[:2]); err != nil {
		return Status{}, fmt.Errorf("%s: read STATUS: %w", d.name, err)
	}
	st, mode := d.r[0], d.r[1]
	s := Status{
		DeviceID:    st >> deviceIDShift,
		OverTemp:    st&statusOverTemp != 0,
		OverCurrent: st&statusOverCurr != 0,
	}
	err := faults(st)
	if !d.asleep && mode == modeStandby {
		// Play nothing more until the chip is configured anew.
		d.asleep = true
		err = errors.Join(err, ErrReset)
	}
	if err != nil {
		return s, fmt.Errorf("%s: STATUS 0x%02X, MODE 0x%02X: %w", d.name, st, mode, err)
	}
	return s, nil
}

// faults returns the errors STATUS's flags report, nil if none.
func faults(st byte) error {
	var errs []error
	if st&statusOverTemp != 0 {
		errs = append(errs, ErrOverTemp)
	}
	if st&statusOverCurr != 0 {
		errs = append(errs, ErrOverCurrent)
	}
	return errors.Join(errs...)
}
