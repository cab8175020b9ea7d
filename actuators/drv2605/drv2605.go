package drv2605

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"periph.io/x/conn/v3"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/i2c"
)

// Startup is how long the chip needs after EN rises before it takes I²C
// commands (DRV2605L data sheet SLOS854D, "Initialization Procedure": wait
// 250 µs; TI's DRV2605 Setup Guide SLOA189: a 250 µs start-up sequence that
// ends in standby). New and a wake after Halt wait this long after driving
// EN high.
const Startup = 250 * time.Microsecond

// Addr is the chip's fixed 7-bit I²C address.
const Addr = 0x5A

// DeviceID is STATUS's DEVICE_ID of the DRV2605L.
const DeviceID = 7

// ErrHalted is returned by SetIntensity after Halt, until Resume.
var ErrHalted = errors.New("drv2605: halted")

// Registers and fields (DRV2605L data sheet SLOS854D, "Register Map").
const (
	regStatus   = 0x00
	regMode     = 0x01
	regRTPInput = 0x02
	regLibrary  = 0x03
	regODClamp  = 0x17
	regFeedback = 0x1A
	regControl3 = 0x1D
	regOLPeriod = 0x20 // OL_LRA_PERIOD

	modeActive  = 0x00 // STANDBY 0, internal trigger: awake, playing nothing
	modeRTP     = 0x05 // STANDBY 0, real-time playback
	modeStandby = 0x40 // STANDBY 1

	feedbackReset       = 0x36
	feedbackLRA         = 1 << 7 // N_ERM_LRA
	control3Base        = 0xA0   // NG_THRESH 4 %, ERM_OPEN_LOOP, signed RTP
	control3LRAOpenLoop = 1 << 0 // LRA_OPEN_LOOP

	libraryMask  = 0x17 // HI_Z and LIBRARY_SEL; the rest is reserved
	olPeriodMask = 0x7F

	deviceIDShift   = 5
	statusOverTemp  = 1 << 1
	statusOverCurr  = 1 << 0
	rtpFullScale    = 0x7F // signed: +127 is full-scale forward drive
	deviceIDDRV2605 = 3
)

// Dev is a DRV2605L driving one haptic motor in real-time playback. Its
// methods are safe for concurrent use.
type Dev struct {
	c    i2c.Dev
	name string
	cfg  config

	mu sync.Mutex // serialises bus use; held across each transfer
	// asleep (under mu) is set by Halt: the chip is, or may be, in
	// standby, and the next SetIntensity configures it anew before it
	// plays.
	asleep bool
	w      [2]byte
	r      [2]byte

	en gpio.PinOut // nil: EN tied high
	// enMu orders the writes of EN and the halted latch; it is never
	// held across a bus transfer, so Halt drives EN while a SetIntensity
	// holds mu on a hung bus.
	enMu   sync.Mutex
	enLow  bool        // under enMu: EN was driven low, or its last write failed
	halted atomic.Bool // set under enMu by Halt, cleared by Resume
}

// New checks that a DRV2605L answers at Addr on bus, configures it from opts
// (DefaultOpts if nil) and leaves it in real-time playback with the motor
// still (RTP_INPUT 0). Invalid options are refused before any bus or GPIO
// traffic.
//
// With opts.EN, New first drives EN high (an error there is returned
// before any bus traffic) and waits Startup; if anything after fails, it
// drives EN low again, shutting the chip down. The sequence on the bus: read
// STATUS (DEVICE_ID must be 7, the DRV2605L; a DRV2605,
// 3, is refused because its OD_CLAMP scale differs, and a chip reporting
// over-temperature or over-current is refused with ErrOverTemp or
// ErrOverCurrent); leave standby (MODE 0x00); write LIBRARY, FEEDBACK
// (N_ERM_LRA), OD_CLAMP (the cap from MaxIntensity), for an LRA
// OL_LRA_PERIOD, and CONTROL3 (open loop, signed RTP format); RTP_INPUT 0;
// MODE 5; then read every one back. A chip that does not hold them is
// refused, and New then tries to put it back in standby. Reading STATUS
// clears a latched OVER_TEMP whose condition has ended, so a New refused for
// an event already over succeeds when called again.
func New(bus i2c.Bus, opts *Opts) (*Dev, error) {
	if opts == nil {
		opts = &DefaultOpts
	}
	cfg, err := opts.encode()
	if err != nil {
		return nil, err
	}
	d := &Dev{
		c:     i2c.Dev{Bus: bus, Addr: Addr},
		name:  fmt.Sprintf("drv2605l at 0x%02X on %s", Addr, bus),
		cfg:   cfg,
		en:    opts.EN,
		enLow: opts.EN != nil,
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.enable(); err != nil {
		return nil, err
	}
	if err := d.start(); err != nil {
		return nil, errors.Join(err, d.shutDown())
	}
	return d, nil
}

// start checks the chip's STATUS and configures it. Called with mu held.
func (d *Dev) start() error {
	st, err := d.readReg(regStatus)
	if err != nil {
		return fmt.Errorf("%s: read STATUS: %w", d.name, err)
	}
	switch id := st >> deviceIDShift; id {
	case DeviceID:
	case deviceIDDRV2605:
		return fmt.Errorf("%s: DEVICE_ID 3 is a DRV2605, not the DRV2605L (7) this driver derives OD_CLAMP for: refused", d.name)
	default:
		return fmt.Errorf("%s: DEVICE_ID %d, want 7 (DRV2605L): not a DRV2605L", d.name, id)
	}
	if err := faults(st); err != nil {
		return fmt.Errorf("%s: STATUS 0x%02X at start: %w", d.name, st, err)
	}
	return d.configureOrSleep()
}

// configureOrSleep is configure that, when it fails, tries to put the chip
// back in standby: a half-configured chip must not play. Called with mu
// held.
func (d *Dev) configureOrSleep() error {
	err := d.configure()
	if err == nil {
		return nil
	}
	if serr := d.writeReg(regMode, modeStandby); serr != nil {
		err = errors.Join(err, fmt.Errorf("%s: back to standby: %w", d.name, serr))
	}
	return err
}

// configure wakes the chip, writes the configuration and RTP_INPUT 0,
// enters real-time playback and reads it all back. Called with mu held.
func (d *Dev) configure() error {
	writes := [...]struct {
		reg, v byte
	}{
		{regMode, modeActive},
		{regLibrary, d.cfg.library},
		{regFeedback, d.cfg.feedback},
		{regODClamp, d.cfg.odClamp},
		{regOLPeriod, d.cfg.olPeriod},
		{regControl3, d.cfg.control3},
		{regRTPInput, 0},
		{regMode, modeRTP},
	}
	for _, w := range writes {
		if w.reg == regOLPeriod && !d.cfg.lra {
			continue
		}
		if err := d.writeReg(w.reg, w.v); err != nil {
			return fmt.Errorf("%s: write %s: %w", d.name, regName(w.reg), err)
		}
	}
	checks := [...]struct {
		reg, mask, want byte
	}{
		{regLibrary, libraryMask, d.cfg.library},
		{regFeedback, 0xFF, d.cfg.feedback},
		{regODClamp, 0xFF, d.cfg.odClamp},
		{regOLPeriod, olPeriodMask, d.cfg.olPeriod},
		{regControl3, 0xFF, d.cfg.control3},
		{regRTPInput, 0xFF, 0},
		{regMode, 0xFF, modeRTP},
	}
	for _, c := range checks {
		if c.reg == regOLPeriod && !d.cfg.lra {
			continue
		}
		got, err := d.readReg(c.reg)
		if err != nil {
			return fmt.Errorf("%s: read %s back: %w", d.name, regName(c.reg), err)
		}
		if got&c.mask != c.want {
			return fmt.Errorf("%s: %s read back 0x%02X, want 0x%02X: the chip does not hold its configuration", d.name, regName(c.reg), got, c.want)
		}
	}
	return nil
}

// SetIntensity drives the motor at x, 0 (still) to 1 (full scale, which is
// the cap MaxIntensity × RatedVoltage): RTP_INPUT = round(127 × x), signed,
// so the drive moves in 127 steps. A NaN or an x outside [0, 1] is an error
// and nothing is written. After Halt it returns ErrHalted until Resume; the
// first call after Resume, or after Status reported ErrReset, drives EN high
// and waits Startup if Halt drove it low, then configures the chip anew and
// brings it out of standby (New's sequence, read-back included; back to
// standby and EN low if it fails) before it writes RTP_INPUT.
// Bus errors are wrapped with the chip's name. It does not allocate.
func (d *Dev) SetIntensity(x float64) error {
	if !(x >= 0 && x <= 1) {
		return fmt.Errorf("%s: intensity %g is outside [0, 1]", d.name, x)
	}
	v := byte(math.Round(x * rtpFullScale))
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.halted.Load() {
		return ErrHalted
	}
	if d.asleep || d.shutDownByEN() {
		if err := d.enable(); err != nil {
			return err
		}
		if err := d.configureOrSleep(); err != nil {
			return errors.Join(err, d.shutDown())
		}
		d.asleep = false
	}
	if err := d.writeReg(regRTPInput, v); err != nil {
		return fmt.Errorf("%s: write RTP_INPUT: %w", d.name, err)
	}
	return nil
}

// String implements conn.Resource.
func (d *Dev) String() string { return d.name }

func (d *Dev) writeReg(reg, v byte) error {
	d.w[0], d.w[1] = reg, v
	return d.c.Tx(d.w[:], nil)
}

func (d *Dev) readReg(reg byte) (byte, error) {
	d.w[0] = reg
	if err := d.c.Tx(d.w[:1], d.r[:1]); err != nil {
		return 0, err
	}
	return d.r[0], nil
}

func regName(reg byte) string {
	switch reg {
	case regStatus:
		return "STATUS"
	case regMode:
		return "MODE"
	case regRTPInput:
		return "RTP_INPUT"
	case regLibrary:
		return "LIBRARY"
	case regODClamp:
		return "OD_CLAMP"
	case regFeedback:
		return "FEEDBACK"
	case regControl3:
		return "CONTROL3"
	case regOLPeriod:
		return "OL_LRA_PERIOD"
	}
	return fmt.Sprintf("register 0x%02X", reg)
}

var _ conn.Resource = (*Dev)(nil)
