package drv2605

import (
	"fmt"
	"math"

	"periph.io/x/conn/v3/gpio"
)

// Actuator is the kind of motor on the chip's outputs.
type Actuator int

// The two kinds the chip drives (FEEDBACK's N_ERM_LRA bit).
const (
	// ERM is an eccentric rotating-mass motor (a coin or bar vibration
	// motor), driven with a DC voltage.
	ERM Actuator = 1
	// LRA is a linear resonant actuator, driven with an AC voltage at its
	// resonant frequency.
	LRA Actuator = 2
)

func (a Actuator) String() string {
	switch a {
	case ERM:
		return "ERM"
	case LRA:
		return "LRA"
	}
	return fmt.Sprintf("Actuator(%d)", int(a))
}

// Volts per OD_CLAMP step at full-scale open-loop drive (DRV2605L data
// sheet SLOS854D, "Overdrive Voltage-Clamp Programming", equations 6 and 7; package
// doc, "Intensity cap").
const (
	ermOpenLoopVoltsPerStep = 21.59e-3 // average volts, ERM
	lraOpenLoopVoltsPerStep = 21.32e-3 // peak volts before the LRA's RMS factor
	lraRMSSeconds           = 800e-6   // the 800 µs in sqrt(1 − f × 800 µs)
	olLRAPeriodStep         = 98.46e-6 // seconds per OL_LRA_PERIOD step
)

// Bounds of the options.
const (
	// MinLRAFrequency and MaxLRAFrequency bound Opts.LRAFrequency, in Hz:
	// OL_LRA_PERIOD holds 7 bits (at most 127 × 98.46 µs, 80 Hz), and
	// the RMS formula needs f × 800 µs well below 1.
	MinLRAFrequency = 80.0
	MaxLRAFrequency = 1000.0
)

// Opts configures the chip for real-time playback.
type Opts struct {
	// Actuator is the motor's kind: ERM or LRA.
	Actuator Actuator
	// Library is the ROM waveform library selected (LIBRARY_SEL): 1 to 5
	// (TouchSense 2200 libraries A to E) for an ERM, 6 for an LRA.
	// Real-time playback does not play from it; the chip is left with
	// the library that matches its motor.
	Library uint8
	// RatedVoltage is the motor's rated drive, in volts: the average
	// (DC) voltage for an ERM, the RMS voltage at LRAFrequency for an
	// LRA, as the motor's data sheet gives it.
	RatedVoltage float64
	// MaxIntensity is the hardware intensity cap, as a fraction of
	// RatedVoltage, 0 < MaxIntensity <= 1: OD_CLAMP is set to full-scale
	// drive at MaxIntensity × RatedVoltage (rounded down to a step), so
	// the chip cannot drive the motor harder whatever the software asks.
	MaxIntensity float64
	// LRAFrequency is the LRA's resonant frequency in Hz,
	// MinLRAFrequency to MaxLRAFrequency; it sets the open-loop drive
	// period (OL_LRA_PERIOD) and enters the RMS formula. Ignored, and
	// may be 0, for an ERM.
	LRAFrequency float64
	// EN is the GPIO output wired to the chip's EN pin (active high; low
	// shuts the chip down, its output stage off): the second path to a
	// still motor that Halt drives first, without the bus. nil when EN
	// is tied to VDD.
	EN gpio.PinOut
}

// DefaultOpts is a 3 V coin ERM (library A, the one for open-loop ERMs)
// capped at its rated voltage: OD_CLAMP 138 (2.979 V).
var DefaultOpts = Opts{Actuator: ERM, Library: 1, RatedVoltage: 3.0, MaxIntensity: 1}

// config is the register values Opts encode to.
type config struct {
	library  byte
	feedback byte
	odClamp  byte
	control3 byte
	olPeriod byte // OL_LRA_PERIOD, LRA only
	lra      bool
}

// encode checks o and returns the registers it sets; it touches no bus.
func (o *Opts) encode() (config, error) {
	var c config
	switch o.Actuator {
	case ERM:
		if o.Library < 1 || o.Library > 5 {
			return c, fmt.Errorf("drv2605: Library %d is not an ERM library (want 1 to 5)", o.Library)
		}
	case LRA:
		if o.Library != 6 {
			return c, fmt.Errorf("drv2605: Library %d is not the LRA library (want 6)", o.Library)
		}
		if !(o.LRAFrequency >= MinLRAFrequency && o.LRAFrequency <= MaxLRAFrequency) {
			return c, fmt.Errorf("drv2605: LRAFrequency %g Hz is outside %g to %g Hz", o.LRAFrequency, MinLRAFrequency, MaxLRAFrequency)
		}
		c.lra = true
	default:
		return c, fmt.Errorf("drv2605: Actuator %d is neither ERM (1) nor LRA (2)", int(o.Actuator))
	}
	if !(o.MaxIntensity > 0 && o.MaxIntensity <= 1) {
		return c, fmt.Errorf("drv2605: MaxIntensity %g is outside (0, 1]", o.MaxIntensity)
	}
	if !(o.RatedVoltage > 0) || math.IsInf(o.RatedVoltage, 0) {
		return c, fmt.Errorf("drv2605: RatedVoltage %g V must be a positive number of volts", o.RatedVoltage)
	}
	step := o.voltsPerStep()
	capV := o.MaxIntensity * o.RatedVoltage
	code := math.Floor(capV / step)
	if code < 1 {
		return c, fmt.Errorf("drv2605: MaxIntensity × RatedVoltage = %.4g V is below one OD_CLAMP step (%.4g V)", capV, step)
	}
	if code > 255 {
		return c, fmt.Errorf("drv2605: MaxIntensity × RatedVoltage = %.4g V is above the chip's full scale (OD_CLAMP 255, %.4g V)", capV, 255*step)
	}
	c.library = o.Library
	c.odClamp = byte(code)
	// FEEDBACK at its reset value 0x36 (brake factor 4x, medium loop
	// gain, BEMF gain 2: closed-loop settings, unused in open loop) with
	// N_ERM_LRA for the motor.
	c.feedback = feedbackReset
	// CONTROL3: NG_THRESH at its reset 4 %, ERM_OPEN_LOOP, supply
	// compensation on, DATA_FORMAT_RTP 0 (signed), and LRA_OPEN_LOOP for
	// an LRA (package doc, "Open loop and the RTP format").
	c.control3 = control3Base
	if c.lra {
		c.feedback |= feedbackLRA
		c.control3 |= control3LRAOpenLoop
		c.olPeriod = byte(math.Round(1 / (o.LRAFrequency * olLRAPeriodStep)))
	}
	return c, nil
}

// voltsPerStep is the full-scale open-loop drive one OD_CLAMP step gives:
// average volts for an ERM, RMS volts at LRAFrequency for an LRA.
func (o *Opts) voltsPerStep() float64 {
	if o.Actuator == LRA {
		return lraOpenLoopVoltsPerStep * math.Sqrt(1-o.LRAFrequency*lraRMSSeconds)
	}
	return ermOpenLoopVoltsPerStep
}
