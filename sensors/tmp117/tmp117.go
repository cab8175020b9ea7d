package tmp117

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"periph.io/x/conn/v3/i2c"
)

// The chip's four 7-bit addresses, set by the ADD0 pin: GND, VDD, SDA, SCL.
const (
	AddrGND = 0x48
	AddrVDD = 0x49
	AddrSDA = 0x4A
	AddrSCL = 0x4B
)

// LSB is Temp_Result's resolution, °C.
const LSB = 0.0078125

var (
	// ErrHalted is returned by Read after Halt.
	ErrHalted = errors.New("tmp117: halted")
	// ErrNoConversion is wrapped by Read's error while Temp_Result holds
	// 0x8000: no conversion has ended since power-up.
	ErrNoConversion = errors.New("no conversion yet (Temp_Result 0x8000)")
	// ErrDataReadyTooSoon is wrapped by Read's error when Data_Ready is set
	// again sooner than half a conversion cycle after the last fresh
	// result.
	ErrDataReadyTooSoon = errors.New("Data_Ready set again too soon")
	// ErrReset is returned by Read when the chip's Configuration is not
	// the one New wrote: a brown-out or a soft reset put it back to its
	// power-on values (continuous conversions at its defaults). Open it
	// anew (New) to configure it again.
	ErrReset = errors.New("the chip was reset or reconfigured")
	// ErrNotCleared is returned by Read when Data_Ready, which reading
	// Configuration clears, reads set again at once: a bus that replays
	// its last answers, whose result is not new.
	ErrNotCleared = errors.New("Data_Ready did not clear when read: the bus repeats its answers")
)

// Registers and Configuration fields (datasheet, section 7.6).
const (
	regTempResult = 0x00
	regConfig     = 0x01
	regDeviceID   = 0x0F
	deviceID      = 0x0117
	idMask        = 0x0FFF // bits 15:12 are the revision
	noConversion  = 0x8000
	dataReady     = 1 << 13
	configMask    = 0x0FFC // MOD, CONV, AVG, T/nA, POL, DR/Alert
	modeShutdown  = 0b01 << 10
	convShift     = 7
	avgShift      = 5
)

var (
	averagings = [...]int{1, 8, 32, 64}
	// averagingTimes is how long each averaging's conversion takes.
	averagingTimes = [...]time.Duration{15500 * time.Microsecond, 125 * time.Millisecond, 500 * time.Millisecond, time.Second}
	// cycles is the cycle time of each CONV code when the averaging is
	// no longer (datasheet table 7-7).
	cycles = [...]time.Duration{15500 * time.Microsecond, 125 * time.Millisecond, 250 * time.Millisecond,
		500 * time.Millisecond, time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second}
)

// Opts configures continuous conversions.
type Opts struct {
	// Addr is the 7-bit I²C address, 0x48 to 0x4B (AddrGND to AddrSCL).
	Addr uint16
	// Averaging is how many 15.5 ms conversions the chip averages into
	// one result: 1, 8, 32 or 64 (taking 15.5 ms, 125 ms, 500 ms, 1 s).
	Averaging int
	// ConversionCycle is the time between results: 15.5 ms, 125 ms,
	// 250 ms, 500 ms, 1 s, 4 s, 8 s or 16 s, no shorter than the
	// averaging takes. The chip idles between conversions.
	ConversionCycle time.Duration
}

// DefaultOpts is the pod's wiring and the chip's reset configuration: ADD0 to
// GND (0x48, the ADS1115 moves to 0x49), 8 averages, a result a second.
var DefaultOpts = Opts{Addr: AddrGND, Averaging: 8, ConversionCycle: time.Second}

func (o *Opts) encode() (uint16, error) {
	if o.Addr < AddrGND || o.Addr > AddrSCL {
		return 0, fmt.Errorf("tmp117: invalid Addr 0x%02X (want 0x48, 0x49, 0x4A or 0x4B)", o.Addr)
	}
	avg := slices.Index(averagings[:], o.Averaging)
	if avg < 0 {
		return 0, fmt.Errorf("tmp117: invalid Averaging %d (want 1, 8, 32 or 64)", o.Averaging)
	}
	conv := slices.Index(cycles[:], o.ConversionCycle)
	if conv < 0 {
		return 0, fmt.Errorf("tmp117: invalid ConversionCycle %s (want 15.5ms, 125ms, 250ms, 500ms, 1s, 4s, 8s or 16s)", o.ConversionCycle)
	}
	if t := averagingTimes[avg]; o.ConversionCycle < t {
		return 0, fmt.Errorf("tmp117: ConversionCycle %s shorter than the %s that Averaging %d takes", o.ConversionCycle, t, o.Averaging)
	}
	// MOD 00: continuous; T/nA, POL and DR/Alert 0: ALERT pin in alert
	// mode, active low (unused by the driver).
	return uint16(conv)<<convShift | uint16(avg)<<avgShift, nil
}

// Dev is a TMP117 on an I²C bus. Its methods are safe for concurrent use.
type Dev struct {
	c     i2c.Dev
	name  string // "tmp117 at 0x48", for errors
	cfg   uint16
	cycle time.Duration

	mu        sync.Mutex
	halted    bool
	lastFresh time.Time // when Read last returned a fresh result
	w         [3]byte
	r         [2]byte
}

// New checks that a TMP117 answers at opts.Addr on bus (DefaultOpts if
// nil): Device_ID must be 0x0117 (any revision in bits 15:12); an ADS1115's
// power-on register values are named as such. It then starts continuous
// conversions with opts's averaging and cycle and reads the configuration
// back. Invalid options are refused before any bus traffic. The first result
// comes one averaging time later.
func New(bus i2c.Bus, opts *Opts) (*Dev, error) {
	if opts == nil {
		opts = &DefaultOpts
	}
	cfg, err := opts.encode()
	if err != nil {
		return nil, err
	}
	d := &Dev{
		c:     i2c.Dev{Bus: bus, Addr: opts.Addr},
		name:  fmt.Sprintf("tmp117 at 0x%02X", opts.Addr),
		cfg:   cfg,
		cycle: opts.ConversionCycle,
	}
	id, err := d.readReg(regDeviceID)
	if err != nil {
		return nil, fmt.Errorf("%s: read Device_ID: %w", d.name, err)
	}
	if id&idMask != deviceID {
		msg := fmt.Sprintf("%s: Device_ID 0x%04X, want 0x0117: not a TMP117", d.name, id)
		switch id {
		case 0x8583, 0x0583, 0x8000, 0x7FFF:
			// Config (idle or converting), Lo_thresh and Hi_thresh at
			// power-on: the ADS1115 decodes two pointer bits only.
			msg += "; 0x8583, 0x8000 and 0x7FFF are an ADS1115's power-on register values: an ADS1115 is at this address (both default to 0x48: strap one to another address)"
		}
		return nil, errors.New(msg)
	}
	if err := d.writeConfig(cfg); err != nil {
		return nil, fmt.Errorf("%s: write Configuration: %w", d.name, err)
	}
	got, err := d.readReg(regConfig)
	if err != nil {
		return nil, fmt.Errorf("%s: read Configuration back: %w", d.name, err)
	}
	if got&configMask != cfg {
		return nil, fmt.Errorf("%s: Configuration read back 0x%04X, want 0x%04X in bits 11:2", d.name, got, cfg)
	}
	return d, nil
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

// Read returns the latest result, in °C (a multiple of LSB, 7.8125 m°C), and
// whether it is fresh: the first read of a conversion's result (package doc,
// "Freshness"). A result that is not fresh is the one before, returned with
// fresh false and no error. Errors name the chip and its address: a bus
// error (wrapped), ErrNoConversion, ErrDataReadyTooSoon (with the value, not
// fresh), a Configuration that is not New's, or ErrHalted after Halt.
func (d *Dev) Read() (celsius float64, fresh bool, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.halted {
		return 0, false, ErrHalted
	}
	cfg, err := d.readReg(regConfig)
	if err != nil {
		return 0, false, fmt.Errorf("%s: read Configuration: %w", d.name, err)
	}
	if cfg&configMask != d.cfg {
		return 0, false, fmt.Errorf("%s: Configuration 0x%04X, want 0x%04X in bits 11:2: %w", d.name, cfg, d.cfg, ErrReset)
	}
	now := time.Now()
	raw, err := d.readReg(regTempResult)
	if err != nil {
		return 0, false, fmt.Errorf("%s: read Temp_Result: %w", d.name, err)
	}
	if cfg&dataReady != 0 {
		// Reading Configuration cleared Data_Ready on the chip: read
		// again, it is clear, unless a conversion ended in the
		// microseconds between (one in many thousands at a 1 s cycle,
		// then an error once). Still set is a bus replaying its last
		// answers: an old result must not pass for a new one.
		again, err := d.readReg(regConfig)
		if err != nil {
			return 0, false, fmt.Errorf("%s: read Configuration again: %w", d.name, err)
		}
		if again&dataReady != 0 {
			return float64(int16(raw)) * LSB, false, fmt.Errorf("%s: %w", d.name, ErrNotCleared)
		}
	}
	return d.decode(cfg, raw, now)
}

// decode turns Configuration and Temp_Result, read at now, into Read's
// results.
func (d *Dev) decode(cfg, raw uint16, now time.Time) (float64, bool, error) {
	if raw == noConversion {
		return 0, false, fmt.Errorf("%s: %w", d.name, ErrNoConversion)
	}
	celsius := float64(int16(raw)) * LSB
	if cfg&dataReady == 0 {
		return celsius, false, nil
	}
	if !d.lastFresh.IsZero() {
		if since := now.Sub(d.lastFresh); since < d.cycle/2 {
			return celsius, false, fmt.Errorf("%s: %w: %s after the last, the cycle is %s (a chip or bus repeating itself)", d.name, ErrDataReadyTooSoon, since, d.cycle)
		}
	}
	d.lastFresh = now
	return celsius, true, nil
}

// ConversionCycle returns the time between results.
func (d *Dev) ConversionCycle() time.Duration { return d.cycle }

// Halt puts the chip in shutdown (MOD 01: a conversion in progress ends,
// then it draws its shutdown current); later Reads return ErrHalted. Halting a halted Dev
// does nothing; a Halt that failed can be retried.
func (d *Dev) Halt() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.halted {
		return nil
	}
	if err := d.writeConfig(d.cfg | modeShutdown); err != nil {
		return fmt.Errorf("%s: halt: %w", d.name, err)
	}
	d.halted = true
	return nil
}

// String implements conn.Resource.
func (d *Dev) String() string { return "TMP117{" + d.c.String() + "}" }
