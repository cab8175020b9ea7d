package ads1115

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"periph.io/x/conn/v3/i2c"
)

// The chip's four 7-bit addresses, set by the ADDR pin: GND, VDD, SDA, SCL.
const (
	AddrGND = 0x48
	AddrVDD = 0x49
	AddrSDA = 0x4A
	AddrSCL = 0x4B
)

var (
	// ErrHalted is returned by Read after Halt.
	ErrHalted = errors.New("ads1115: halted")
	// ErrSaturated is wrapped by Read's error when the code is at full
	// scale: the input is at or beyond the volts Read returns with it.
	ErrSaturated = errors.New("saturated at full scale")
	// ErrDoneTooSoon is wrapped by Read's error when OS reads 1 (not
	// converting) at the poll right after the start, sooner than half a
	// conversion time: no conversion was made, and Conversion holds an
	// older result.
	ErrDoneTooSoon = errors.New("conversion done too soon")
)

// Register pointers and Config fields (datasheet, section 9.6).
const (
	regConversion = 0x00
	regConfig     = 0x01
	regTMP117ID   = 0x0F // a TMP117's Device_ID, for naming one found instead

	cfgOS         = 1 << 15
	cfgMUXSingle0 = 0b100 << 12 // MUX: AIN0 against GND; +1 for each next input
	cfgMUXShift   = 12
	cfgPGAShift   = 9
	cfgModeSingle = 1 << 8
	cfgDRShift    = 5
	cfgCompOff    = 0b11 // COMP_QUE: comparator disabled

	// probe is the identification value: MUX AIN2-AIN3, PGA ±0.256 V,
	// single shot, 8 sps, window comparator, active high, latching,
	// COMP_QUE 01 (assert after two conversions); OS 0 starts nothing.
	// Bit 1 is 0: a TMP117 reads it as Soft_Reset.
	probe   = 0b0_011_111_1_000_1_1_1_01
	cfgMask = 0x7FFF // what reads back as written: all but OS

	codeMax = 32767
	codeMin = -32768
)

var (
	fullScales = [...]float64{6.144, 4.096, 2.048, 1.024, 0.512, 0.256}
	rates      = [...]int{8, 16, 32, 64, 128, 250, 475, 860}
)

// Opts configures the conversions.
type Opts struct {
	// Addr is the 7-bit I²C address, 0x48 to 0x4B (AddrGND to AddrSCL).
	Addr uint16
	// Channel is the single-ended input: 0 to 3 for AIN0 to AIN3 against GND.
	Channel int
	// FullScaleV is the PGA's full-scale range, V: 6.144, 4.096, 2.048,
	// 1.024, 0.512 or 0.256.
	FullScaleV float64
	// RateSPS is the data rate, samples per second: 8, 16, 32, 64, 128,
	// 250, 475 or 860. A conversion takes 1/RateSPS; a slower rate
	// averages more noise away.
	RateSPS int
}

// FullScaleFor returns the narrowest full-scale range (Opts.FullScaleV,
// V) that holds 0 V to v: a divider from a supply of v volts reads up to
// v with the electrodes open. Above 6.144 V it returns 6.144 (the inputs
// may not exceed VDD + 0.3 V anyway; data sheet SBAS444, "Absolute
// Maximum Ratings").
func FullScaleFor(v float64) float64 {
	for i := len(fullScales) - 1; i > 0; i-- {
		if v < fullScales[i] {
			return fullScales[i]
		}
	}
	return fullScales[0]
}

// DefaultOpts is the pod's wiring: ADDR tied to VDD (0x49, leaving 0x48 to
// the TMP117), AIN0, ±4.096 V (a 3.3 V divider fits), 128 sps (the reset
// rate).
var DefaultOpts = Opts{Addr: AddrVDD, Channel: 0, FullScaleV: 4.096, RateSPS: 128}

func (o *Opts) encode() (cfg uint16, lsb float64, period time.Duration, err error) {
	if o.Addr < AddrGND || o.Addr > AddrSCL {
		return 0, 0, 0, fmt.Errorf("ads1115: invalid Addr 0x%02X (want 0x48, 0x49, 0x4A or 0x4B)", o.Addr)
	}
	if o.Channel < 0 || o.Channel > 3 {
		return 0, 0, 0, fmt.Errorf("ads1115: invalid Channel %d (want 0 to 3 for AIN0 to AIN3)", o.Channel)
	}
	pga := slices.Index(fullScales[:], o.FullScaleV)
	if pga < 0 {
		return 0, 0, 0, fmt.Errorf("ads1115: invalid FullScaleV %g (want 6.144, 4.096, 2.048, 1.024, 0.512 or 0.256 V)", o.FullScaleV)
	}
	dr := slices.Index(rates[:], o.RateSPS)
	if dr < 0 {
		return 0, 0, 0, fmt.Errorf("ads1115: invalid RateSPS %d (want 8, 16, 32, 64, 128, 250, 475 or 860)", o.RateSPS)
	}
	cfg = cfgMUXSingle0 + uint16(o.Channel)<<cfgMUXShift | uint16(pga)<<cfgPGAShift | cfgModeSingle | uint16(dr)<<cfgDRShift | cfgCompOff
	return cfg, o.FullScaleV / 32768, time.Second / time.Duration(o.RateSPS), nil
}

// Dev is an ADS1115 on an I²C bus. Its methods are safe for concurrent use.
type Dev struct {
	c      i2c.Dev
	name   string // "ads1115 at 0x49", for errors
	cfg    uint16 // Config without OS
	lsb    float64
	period time.Duration // one conversion

	mu     sync.Mutex
	halted bool
	// Buffers reused by Read so that polling does not allocate.
	w [3]byte
	r [2]byte
}

// New identifies the ADS1115 at opts.Addr on bus (package doc,
// "Identification"), and leaves it powered down in single-shot mode with
// opts's configuration (DefaultOpts if nil). Invalid options are refused
// before any bus traffic.
func New(bus i2c.Bus, opts *Opts) (*Dev, error) {
	if opts == nil {
		opts = &DefaultOpts
	}
	cfg, lsb, period, err := opts.encode()
	if err != nil {
		return nil, err
	}
	d := &Dev{
		c:      i2c.Dev{Bus: bus, Addr: opts.Addr},
		name:   fmt.Sprintf("ads1115 at 0x%02X", opts.Addr),
		cfg:    cfg,
		lsb:    lsb,
		period: period,
	}
	if err := d.identify(); err != nil {
		return nil, err
	}
	if err := d.writeConfig(cfg); err != nil {
		return nil, fmt.Errorf("%s: write Config: %w", d.name, err)
	}
	got, err := d.readReg(regConfig)
	if err != nil {
		return nil, fmt.Errorf("%s: read Config back: %w", d.name, err)
	}
	if got&cfgMask != cfg {
		return nil, fmt.Errorf("%s: Config read back 0x%04X, want 0x%04X (OS aside)", d.name, got, cfg)
	}
	return d, nil
}

func (d *Dev) identify() error {
	if err := d.writeConfig(probe); err != nil {
		return fmt.Errorf("%s: write Config: %w", d.name, err)
	}
	got, err := d.readReg(regConfig)
	if err != nil {
		return fmt.Errorf("%s: read Config: %w", d.name, err)
	}
	if got&cfgMask == probe {
		return nil
	}
	msg := fmt.Sprintf("%s: Config read back 0x%04X after writing 0x%04X (OS aside): not an ADS1115", d.name, got, probe)
	if id, err := d.readReg(regTMP117ID); err == nil && id&0x0FFF == 0x0117 {
		msg += fmt.Sprintf(" but a TMP117 (Device_ID 0x%04X); both default to 0x48: strap one to another address", id)
	}
	return errors.New(msg)
}

func (d *Dev) writeConfig(v uint16) error {
	d.w = [3]byte{regConfig, byte(v >> 8), byte(v)}
	return d.c.Tx(d.w[:], nil)
}

func (d *Dev) readReg(reg byte) (uint16, error) {
	d.w[0] = reg
	if err := d.c.Tx(d.w[:1], d.r[:]); err != nil {
		return 0, err
	}
	return uint16(d.r[0])<<8 | uint16(d.r[1]), nil
}

// Read makes one single-shot conversion (package doc, "A conversion") and
// returns the input's voltage against GND, in V, with a resolution of
// FullScaleV/32768. At full scale (code 32767 or −32768) it returns the
// code's voltage, FullScaleV − LSB or −FullScaleV, and an error wrapping
// ErrSaturated. Bus errors name the chip and its address and wrap the bus's
// error; a conversion that has not ended after two conversion times is an
// error, and one done sooner than half of one is ErrDoneTooSoon. After Halt
// it returns ErrHalted.
func (d *Dev) Read() (volts float64, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.halted {
		return 0, ErrHalted
	}
	start := time.Now()
	if err := d.writeConfig(d.cfg | cfgOS); err != nil {
		return 0, fmt.Errorf("%s: start a conversion: %w", d.name, err)
	}
	deadline := start.Add(2 * d.period)
	wait := d.period
	for first := true; ; first = false {
		v, err := d.readReg(regConfig)
		if err != nil {
			return 0, fmt.Errorf("%s: poll the conversion: %w", d.name, err)
		}
		if v&cfgOS != 0 {
			if since := time.Since(start); first && since < d.period/2 {
				return 0, fmt.Errorf("%s: %w: %s after it was started, the conversion takes %s (a chip or bus repeating itself)", d.name, ErrDoneTooSoon, since, d.period)
			}
			break
		}
		if !time.Now().Before(deadline) {
			return 0, fmt.Errorf("%s: conversion not done after %s (Config 0x%04X)", d.name, 2*d.period, v)
		}
		time.Sleep(min(wait, time.Until(deadline)))
		wait = d.period / 8
	}
	c, err := d.readReg(regConversion)
	if err != nil {
		return 0, fmt.Errorf("%s: read Conversion: %w", d.name, err)
	}
	return d.decode(c)
}

// decode turns a Conversion register into volts; a full-scale code is
// ErrSaturated.
func (d *Dev) decode(c uint16) (float64, error) {
	code := int16(c)
	v := float64(code) * d.lsb
	if code == codeMax || code == codeMin {
		return v, fmt.Errorf("%s: %w: code %d (%g V)", d.name, ErrSaturated, code, v)
	}
	return v, nil
}

// LSB returns the voltage of one code, V: FullScaleV/32768.
func (d *Dev) LSB() float64 { return d.lsb }

// ConversionTime returns how long one conversion takes: 1/RateSPS.
func (d *Dev) ConversionTime() time.Duration { return d.period }

// Halt leaves the chip powered down in single-shot mode (it draws about
// 0.5 µA and converts nothing until the next Read would start it); later
// Reads return ErrHalted. Halting a halted Dev does nothing; a Halt that
// failed can be retried.
func (d *Dev) Halt() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.halted {
		return nil
	}
	if err := d.writeConfig(d.cfg); err != nil {
		return fmt.Errorf("%s: halt: %w", d.name, err)
	}
	d.halted = true
	return nil
}

// String implements conn.Resource.
func (d *Dev) String() string { return "ADS1115{" + d.c.String() + "}" }
