package pca9685

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"periph.io/x/conn/v3"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/physic"
)

// Channels is how many PWM outputs the chip has, numbered 0 to 15.
const Channels = 16

// DefaultAddr is the chip's 7-bit I²C address with A5..A0 to ground.
const DefaultAddr = 0x40

// The accepted PWM frequencies: the data sheet's range with the internal
// 25 MHz oscillator (PRE_SCALE 253 to 3).
const (
	MinFrequency = 24 * physic.Hertz
	MaxFrequency = 1526 * physic.Hertz
)

// oscillator is the internal oscillator's frequency.
const oscillator = 25 * physic.MegaHertz

// ErrHalted is returned by Set and SetAll after Halt, until Resume.
var ErrHalted = errors.New("pca9685: halted")

// Registers and bits (data sheet tables 4 to 7).
const (
	regMode1    = 0x00
	regMode2    = 0x01
	regLED0     = 0x06 // LED0_ON_L; LEDn_ON_L is 0x06 + 4n
	regAllOffH  = 0xFD // ALL_LED_OFF_H
	regPreScale = 0xFE

	mode1Restart = 0x80
	mode1ExtClk  = 0x40
	mode1AI      = 0x20
	mode1Sleep   = 0x10

	mode2Invrt  = 0x10
	mode2OutDrv = 0x04 // totem pole; clear: open drain
	mode2OutNE1 = 0x01 // OUTNE 01: OE high puts LEDn at 1 (high-impedance when open-drain)

	fullBit = 0x10 // bit 4 of LEDn_ON_H (full on) and LEDn_OFF_H (full off)

	// oscillatorStart is how long SLEEP must be clear before RESTART
	// may be written (data sheet section 7.3.1.1).
	oscillatorStart = 500 * time.Microsecond
)

// Opts configures the chip.
type Opts struct {
	// Addr is the 7-bit I²C address, 0x40 to 0x7F (set by A5..A0) except
	// 0x70, the LED All Call address every PCA9685 answers at power-on.
	Addr uint16
	// Frequency is the PWM frequency, MinFrequency (24 Hz) to
	// MaxFrequency (1526 Hz); the chip runs at the frequency its
	// prescaler gives (Dev.Frequency: 1017 Hz for 1 kHz).
	Frequency physic.Frequency
	// Invert sets MODE2's INVRT: an output that is on drives low, for
	// LEDs wired from the supply to the pin with no external driver.
	Invert bool
	// OpenDrain clears MODE2's OUTDRV: the outputs are open-drain instead
	// of totem pole.
	OpenDrain bool
	// OE is the GPIO output wired to the chip's active-low OE pin, the
	// hardware kill line Halt drives high; nil when OE is tied low.
	OE gpio.PinOut
}

// DefaultOpts is the chip at 0x40 at 1 kHz (1017 Hz), far above visible
// flicker, totem pole, not inverted, with no OE line.
var DefaultOpts = Opts{Addr: DefaultAddr, Frequency: physic.KiloHertz}

// Dev is a PCA9685 on an I²C bus. Its methods are safe for concurrent use.
type Dev struct {
	c        i2c.Dev
	name     string // "pca9685 at 0x40", for errors
	oe       gpio.PinOut
	prescale byte
	mode2    byte

	mu  sync.Mutex // serialises bus use; held across every transfer
	buf [1 + 4*Channels]byte
	off [2]byte // ALL_LED_OFF_H, full off
	r   [2]byte

	// oeMu orders the writes of OE and the halted latch; it is never
	// held across a bus transfer, so Halt and Resume never wait on the
	// bus for it.
	oeMu   sync.Mutex
	oeHigh bool        // under oeMu: OE was driven high, or its last write failed
	halted atomic.Bool // written under oeMu
	// dark reports that every channel is known full off: the last write
	// to the chip was a full-off write that succeeded, and no Set or
	// SetAll has been attempted since.
	dark atomic.Bool
}

// prescale returns PRE_SCALE for frequency f: round(25 MHz / (4096 f)) − 1,
// in integers (µHz), halves rounded up. It refuses f outside MinFrequency
// to MaxFrequency.
func prescale(f physic.Frequency) (byte, error) {
	if f < MinFrequency || f > MaxFrequency {
		return 0, fmt.Errorf("pca9685: Frequency %s outside %s to %s (PRE_SCALE 3..255 with the 25 MHz oscillator)", f, MinFrequency, MaxFrequency)
	}
	num, den := int64(oscillator), 4096*int64(f)
	p := (2*num+den)/(2*den) - 1
	if p < 3 || p > 255 { // not within the range above; the chip's bound, kept with the formula
		return 0, fmt.Errorf("pca9685: Frequency %s gives PRE_SCALE %d, outside 3..255", f, p)
	}
	return byte(p), nil
}

// New opens the PCA9685 at opts.Addr on bus (DefaultOpts if opts is nil):
// it drives OE high, turns every channel full off, sets the prescaler
// while the chip sleeps, wakes it, waits 500 µs, sets auto-increment, reads
// MODE1, MODE2 and PRE_SCALE back (package doc, "Opening the chip"), then
// drives OE low: every channel is off. Invalid options are refused before
// any bus or GPIO traffic. On an error after OE went high, OE stays high.
func New(bus i2c.Bus, opts *Opts) (*Dev, error) {
	if opts == nil {
		opts = &DefaultOpts
	}
	if opts.Addr < 0x40 || opts.Addr > 0x7F || opts.Addr == 0x70 {
		return nil, fmt.Errorf("pca9685: invalid Addr 0x%02X (want 0x40 to 0x7F, not the All Call address 0x70)", opts.Addr)
	}
	pre, err := prescale(opts.Frequency)
	if err != nil {
		return nil, err
	}
	d := &Dev{
		c:        i2c.Dev{Bus: bus, Addr: opts.Addr},
		name:     fmt.Sprintf("pca9685 at 0x%02X", opts.Addr),
		oe:       opts.OE,
		prescale: pre,
		mode2:    mode2Of(opts),
		off:      [2]byte{regAllOffH, fullBit},
	}
	if d.oe != nil {
		d.oeHigh = true
		if err := d.oe.Out(gpio.High); err != nil {
			return nil, fmt.Errorf("%s: drive OE (%s) high: %w", d.name, d.oe, err)
		}
	}
	if err := d.c.Tx(d.off[:], nil); err != nil {
		return nil, fmt.Errorf("%s: ALL_LED_OFF_H full off: %w", d.name, err)
	}
	for _, s := range []struct {
		what     string
		reg, val byte
	}{
		{"sleep (MODE1)", regMode1, mode1Sleep},
		{"PRE_SCALE", regPreScale, pre},
		{"MODE2", regMode2, d.mode2},
		{"wake (MODE1)", regMode1, 0},
	} {
		if err := d.writeReg(s.reg, s.val); err != nil {
			return nil, fmt.Errorf("%s: write %s: %w", d.name, s.what, err)
		}
	}
	time.Sleep(oscillatorStart)
	if err := d.writeReg(regMode1, mode1Restart|mode1AI); err != nil {
		return nil, fmt.Errorf("%s: write RESTART and AI (MODE1): %w", d.name, err)
	}
	if err := d.readBack(); err != nil {
		return nil, err
	}
	d.dark.Store(true)
	d.oeMu.Lock()
	defer d.oeMu.Unlock()
	if d.oe != nil {
		if err := d.oe.Out(gpio.Low); err != nil {
			return nil, fmt.Errorf("%s: drive OE (%s) low: %w", d.name, d.oe, err)
		}
		d.oeHigh = false
	}
	return d, nil
}

// mode2Of is MODE2 for opts: INVRT, OUTDRV, and OUTNE putting the outputs
// where a duty of 0 puts them while OE is high; OCH clear (change on STOP).
func mode2Of(opts *Opts) byte {
	var m byte
	if opts.Invert {
		m |= mode2Invrt | mode2OutNE1
	}
	if !opts.OpenDrain {
		m |= mode2OutDrv
	}
	return m
}

func (d *Dev) writeReg(reg, v byte) error {
	d.buf[0], d.buf[1] = reg, v
	return d.c.Tx(d.buf[:2], nil)
}

// readBack checks that the chip holds what New wrote: MODE1 with AI alone
// (awake, RESTART cleared), MODE2 and PRE_SCALE.
func (d *Dev) readBack() error {
	d.buf[0] = regMode1
	if err := d.c.Tx(d.buf[:1], d.r[:2]); err != nil {
		return fmt.Errorf("%s: read MODE1 and MODE2 back: %w", d.name, err)
	}
	mode1, mode2 := d.r[0], d.r[1]
	d.buf[0] = regPreScale
	if err := d.c.Tx(d.buf[:1], d.r[:1]); err != nil {
		return fmt.Errorf("%s: read PRE_SCALE back: %w", d.name, err)
	}
	pre := d.r[0]
	if mode1 == mode1AI && mode2 == d.mode2 && pre == d.prescale {
		return nil
	}
	msg := fmt.Sprintf("%s: read back MODE1 0x%02X, MODE2 0x%02X, PRE_SCALE %d; want 0x%02X, 0x%02X, %d: not a PCA9685 holding what was written",
		d.name, mode1, mode2, pre, mode1AI, d.mode2, d.prescale)
	if mode1&mode1ExtClk != 0 && mode1&^mode1ExtClk == mode1AI {
		msg += "; MODE1's EXTCLK is set (only a power cycle clears it): the chip runs on an external clock, for which this PRE_SCALE is wrong"
	}
	return errors.New(msg)
}

// Frequency returns the PWM frequency the chip runs at: 25 MHz / (4096 ×
// (PRE_SCALE + 1)).
func (d *Dev) Frequency() physic.Frequency {
	return oscillator / physic.Frequency(4096*(int64(d.prescale)+1))
}

// String implements conn.Resource.
func (d *Dev) String() string { return d.name }

var _ conn.Resource = (*Dev)(nil)
