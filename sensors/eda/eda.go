package eda

import (
	"errors"
	"fmt"
	"math"
)

// The limits of a conductance that skin gives: below MinMicrosiemens (an
// Rskin above 20 MΩ) the electrodes are taken to be off the skin; above
// MaxMicrosiemens (under 5 kΩ) they are taken to be shorted.
const (
	MinMicrosiemens = 0.05
	MaxMicrosiemens = 200.0
)

var (
	// ErrOpenCircuit means no contact: the voltage is at or near the supply.
	ErrOpenCircuit = errors.New("eda: open circuit (no skin contact)")
	// ErrShortCircuit means the electrodes are bridged: the voltage is at or
	// near 0.
	ErrShortCircuit = errors.New("eda: short circuit (electrodes bridged)")
)

// Divider is the measuring circuit of the package doc: a supply of SupplyV
// volts through a reference resistor of RefOhms ohms in series with the skin,
// the ADC reading the voltage across the skin.
type Divider struct {
	SupplyV float64 // V, > 0
	RefOhms float64 // Ω, > 0
}

// DefaultDivider is a 3.3 V supply through 200 kΩ: 1.65 V at 5 µS, at most
// 16.5 µA through the skin, within an ADS1115's 4.096 V range.
var DefaultDivider = Divider{SupplyV: 3.3, RefOhms: 200e3}

// Validate reports a supply or a resistance that is not a finite positive
// number.
func (d Divider) Validate() error {
	if !(d.SupplyV > 0) || math.IsInf(d.SupplyV, 0) {
		return fmt.Errorf("eda: invalid SupplyV %g V (want a finite voltage > 0)", d.SupplyV)
	}
	if !(d.RefOhms > 0) || math.IsInf(d.RefOhms, 0) {
		return fmt.Errorf("eda: invalid RefOhms %g Ω (want a finite resistance > 0)", d.RefOhms)
	}
	return nil
}

// Conductance returns the skin's conductance, in µS, from the voltage across
// it, in V: 10⁶ · (SupplyV − volts) / (RefOhms · volts). A conductance under
// MinMicrosiemens (volts at or above the supply included) is ErrOpenCircuit;
// one above MaxMicrosiemens (volts at or below 0 included) is
// ErrShortCircuit; both errors name the voltage. A NaN voltage or an invalid
// divider is an error of its own.
func (d Divider) Conductance(volts float64) (microsiemens float64, err error) {
	if err := d.Validate(); err != nil {
		return 0, err
	}
	if math.IsNaN(volts) {
		return 0, errors.New("eda: voltage is NaN")
	}
	if volts <= 0 {
		return 0, fmt.Errorf("%w: %g V across the skin", ErrShortCircuit, volts)
	}
	if volts >= d.SupplyV {
		return 0, fmt.Errorf("%w: %g V across the skin, supply %g V", ErrOpenCircuit, volts, d.SupplyV)
	}
	g := 1e6 * (d.SupplyV - volts) / (d.RefOhms * volts)
	switch {
	case g < MinMicrosiemens:
		return 0, fmt.Errorf("%w: %g V across the skin, supply %g V (%.3g µS, under %g µS)", ErrOpenCircuit, volts, d.SupplyV, g, MinMicrosiemens)
	case g > MaxMicrosiemens:
		return 0, fmt.Errorf("%w: %g V across the skin (%.4g µS, over %g µS)", ErrShortCircuit, volts, g, MaxMicrosiemens)
	}
	return g, nil
}

// Volts returns the voltage across a skin of the given conductance, in µS:
// SupplyV / (1 + RefOhms · 10⁻⁶ · microsiemens), the inverse of Conductance.
// A conductance ≤ 0 (no contact) gives SupplyV; +Inf gives 0.
func (d Divider) Volts(microsiemens float64) float64 {
	if !(microsiemens > 0) {
		return d.SupplyV
	}
	return d.SupplyV / (1 + d.RefOhms*1e-6*microsiemens)
}
