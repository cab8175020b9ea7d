package ads1299

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/physic"
	"periph.io/x/conn/v3/spi"
)

// MaxChannels is how many channels the 8-channel part has.
const MaxChannels = 8

// FrameSize is the length in bytes of one RDATAC frame: 3 status bytes and
// 3 bytes per channel.
const FrameSize = 3 + 3*MaxChannels

// VREF is the internal reference, in volts: a channel's full scale is
// ±VREF/gain.
const VREF = 4.5

// Opcodes (datasheet, "SPI Command Definitions").
const (
	opWakeup  = 0x02
	opStandby = 0x04
	opReset   = 0x06
	opStart   = 0x08
	opStop    = 0x0A
	opRDATAC  = 0x10
	opSDATAC  = 0x11
	opRREG    = 0x20 // | address; then count − 1
	opWREG    = 0x40 // | address; then count − 1
)

// Registers and values (datasheet, "Register Map").
const (
	regID        = 0x00
	regConfig1   = 0x01 // CONFIG1, CONFIG2, CONFIG3, LOFF, CH1SET..CH8SET follow
	regLOFFSensP = 0x0F // LOFF_SENSN follows
	regConfig4   = 0x17

	idMask   = 0x1F // REV_ID in bits 7:5 varies with the silicon
	id8ch    = 0x1E // DEV_ID 11, NU_CH 10: ADS1299 (0x3E)
	id6ch    = 0x1D // ADS1299-6 (0x3D)
	id4ch    = 0x1C // ADS1299-4 (0x3C)
	config1  = 0x90 // bit 7 and bits 4:3 (10) reserved, written as the reset value has them; DR in 2:0
	dr500    = 0x05
	dr250    = 0x06
	config2  = 0xC0 // reset value: test signals off
	config3  = 0xEC // PD_REFBUF (internal reference), reserved 11, BIASREF_INT, PD_BIAS (bias buffer on)
	biasStat = 0x01 // CONFIG3's BIAS_STAT: read-only
	loffDC   = 0x00 // COMP_TH 95 %, ILEAD_OFF 6 nA, FLEAD_OFF DC
	chPD     = 0x80 // CHnSET: power-down
	muxShort = 0x01 // CHnSET: inputs shorted
	loffComp = 0x02 // CONFIG4: PD_LOFF_COMP, lead-off comparators on

	fCLK      = 2.048e6              // internal oscillator, Hz
	resetWait = 9 * time.Microsecond // 18 tCLK
	frameBits = 8 * FrameSize
)

// MaxSpeed is the fastest SCLK the driver uses: above it, bytes of a
// register command come faster than the chip decodes them (4 tCLK each).
const MaxSpeed = 4 * physic.MegaHertz

var gains = [...]int{1, 2, 4, 6, 8, 12, 24} // CHnSET GAIN[6:4] codes 0..6

var (
	// ErrNoDRDY is returned by Read when DRDY does not fall within the
	// timeout: the chip is not converting (unpowered, unplugged, reset, or
	// its clock stopped).
	ErrNoDRDY = errors.New("ads1299: no DRDY falling edge: the chip is not converting")
	// ErrBadStatus is returned for a frame whose status word does not start
	// with the nibble 0xC: a frame read out of step, or a bus that reads
	// 0x00 (nothing clocked in) or 0xFF (MISO floating high).
	ErrBadStatus = errors.New("ads1299: bad status word")
	// ErrHalted is returned by Read after Halt.
	ErrHalted = errors.New("ads1299: halted")
)

// Opts configures the chip.
type Opts struct {
	// RateHz is the conversion rate in samples per second: 250 or 500.
	RateHz int
	// Gain is the programmable amplifier's gain for every enabled channel:
	// 1, 2, 4, 6, 8, 12 or 24. The full scale is ±4.5 V/Gain (±187.5 mV at
	// 24).
	Gain int
	// Channels is how many channels are enabled, 1..8: channels 1 to
	// Channels; the others are powered down and read 0.
	Channels int
	// Speed is the SCLK: from the rate's minimum (108 kHz at 500 sps,
	// 54 kHz at 250) to MaxSpeed.
	Speed physic.Frequency
	// LeadOff turns DC lead-off detection on for the enabled channels: an
	// electrode that lost contact sets its bit in Frame.LeadOffP/N.
	LeadOff bool
}

// DefaultOpts returns 500 sps, gain 24 (the best resolution for EEG:
// 0.0224 µV per count), 8 channels, a 2 MHz SCLK and lead-off detection on.
func DefaultOpts() Opts {
	return Opts{RateHz: 500, Gain: 24, Channels: MaxChannels, Speed: 2 * physic.MegaHertz, LeadOff: true}
}

// config is what Opts encode to.
type config struct {
	block1 [12]byte // CONFIG1, CONFIG2, CONFIG3, LOFF, CH1SET..CH8SET
	loff   [2]byte  // LOFF_SENSP, LOFF_SENSN
	cfg4   byte
	mask   uint8 // enabled channels, bit n-1 for channel n
}

// minSpeed is the slowest SCLK that reads a frame within one conversion
// period at rate (datasheet, "SCLK": tSCLK < (tDR − 4 tCLK) / (NBITS ·
// NCHANNELS + 24)).
func minSpeed(rate int) physic.Frequency {
	tDR := 1 / float64(rate)
	return physic.Frequency(math.Ceil(frameBits/(tDR-4/fCLK))) * physic.Hertz
}

func (o *Opts) encode() (config, error) {
	var c config
	var dr byte
	switch o.RateHz {
	case 250:
		dr = dr250
	case 500:
		dr = dr500
	default:
		return c, fmt.Errorf("ads1299: invalid RateHz %d (want 250 or 500)", o.RateHz)
	}
	g := slices.Index(gains[:], o.Gain)
	if g < 0 {
		return c, fmt.Errorf("ads1299: invalid Gain %d (want 1, 2, 4, 6, 8, 12 or 24)", o.Gain)
	}
	if o.Channels < 1 || o.Channels > MaxChannels {
		return c, fmt.Errorf("ads1299: invalid Channels %d (want 1 to 8)", o.Channels)
	}
	if lo := minSpeed(o.RateHz); o.Speed < lo || o.Speed > MaxSpeed {
		return c, fmt.Errorf("ads1299: invalid Speed %s (want %s to %s at %d sps)", o.Speed, lo, MaxSpeed, o.RateHz)
	}
	c.mask = uint8(1<<o.Channels - 1)
	c.block1[0] = config1 | dr
	c.block1[1] = config2
	c.block1[2] = config3
	c.block1[3] = loffDC
	for i := range MaxChannels {
		c.block1[4+i] = chPD | muxShort
		if i < o.Channels {
			c.block1[4+i] = byte(g) << 4 // normal electrode input
		}
	}
	if o.LeadOff {
		c.loff = [2]byte{c.mask, c.mask}
		c.cfg4 = loffComp
	}
	return c, nil
}

// regNames names the registers New writes, by address.
var regNames = map[byte]string{
	0x01: "CONFIG1", 0x02: "CONFIG2", 0x03: "CONFIG3", 0x04: "LOFF",
	0x05: "CH1SET", 0x06: "CH2SET", 0x07: "CH3SET", 0x08: "CH4SET",
	0x09: "CH5SET", 0x0A: "CH6SET", 0x0B: "CH7SET", 0x0C: "CH8SET",
	0x0F: "LOFF_SENSP", 0x10: "LOFF_SENSN", 0x17: "CONFIG4",
}

// Dev is an ADS1299 streaming conversions. Its methods are safe for
// concurrent use; Read and Halt are serialised, so Halt waits for a Read in
// progress (at most its timeout).
type Dev struct {
	c       spi.Conn
	drdy    gpio.PinIn
	cfg     config
	rate    int
	gain    int
	n       int
	mask    uint8 // enabled channels
	leadOff bool
	lsb     float64       // µV per count
	period  time.Duration // between two conversions

	mu     sync.Mutex
	halted bool
	last   time.Time // the conversion grid (Read): the last conversion read, plus the least latency seen
	// Buffers reused by Read so that streaming does not allocate.
	tx, rx [FrameSize]byte
	cmd    [1]byte
}

// New resets the ADS1299 behind p, checks its ID, configures it with o
// (DefaultOpts if nil), checks the configuration took, arms DRDY's
// falling-edge detection and starts conversions in RDATAC mode. p must not
// have been connected yet (periph's ports connect once). Invalid Opts are
// refused before p is touched.
func New(p spi.Port, drdy gpio.PinIn, o *Opts) (*Dev, error) {
	c, err := Connect(p, o)
	if err != nil {
		return nil, err
	}
	return NewConn(c, drdy, o)
}

// Connect checks o (DefaultOpts if nil) and connects to p as the chip
// needs: SPI mode 1, 8-bit words, o.Speed. periph's ports connect once:
// a caller that must retry a chip that does not answer yet (unplugged, or
// its supply not up) connects once and calls NewConn again on the same
// connection.
func Connect(p spi.Port, o *Opts) (spi.Conn, error) {
	if o == nil {
		def := DefaultOpts()
		o = &def
	}
	if _, err := o.encode(); err != nil {
		return nil, err
	}
	c, err := p.Connect(o.Speed, spi.Mode1, 8)
	if err != nil {
		return nil, fmt.Errorf("ads1299: connect to %s: %w", p, err)
	}
	return c, nil
}

// NewConn is New on a connection made by Connect with the same o: a chip
// that fails its ID check or its configuration leaves c usable, for
// NewConn to try again.
func NewConn(c spi.Conn, drdy gpio.PinIn, o *Opts) (*Dev, error) {
	if o == nil {
		def := DefaultOpts()
		o = &def
	}
	cfg, err := o.encode()
	if err != nil {
		return nil, err
	}
	d := &Dev{
		c: c, drdy: drdy, cfg: cfg, rate: o.RateHz, gain: o.Gain, n: o.Channels, mask: cfg.mask, leadOff: o.LeadOff,
		lsb:    2 * VREF / float64(o.Gain) / (1 << 24) * 1e6,
		period: time.Second / time.Duration(o.RateHz),
	}
	if err := d.start(); err != nil {
		return nil, err
	}
	return d, nil
}

// Restart runs New's sequence again on the same connection, from RESET to
// RDATAC: for a chip that lost its supply or its configuration (Read
// returning ErrNoDRDY), once it answers again, or to stream again after
// Halt. On an error the Dev stays halted.
func (d *Dev) Restart() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.halted = true
	if err := d.start(); err != nil {
		return err
	}
	d.halted, d.last = false, time.Time{}
	return nil
}

// start resets, identifies, configures and starts the chip.
func (d *Dev) start() error {
	// In standby (after Halt) the chip takes no command but WAKEUP; awake,
	// WAKEUP does nothing.
	if err := d.command(opWakeup, "WAKEUP"); err != nil {
		return err
	}
	if err := d.command(opReset, "RESET"); err != nil {
		return err
	}
	time.Sleep(resetWait)
	// The chip wakes, and resets, in RDATAC mode, where it ignores RREG and
	// WREG.
	if err := d.command(opSDATAC, "SDATAC"); err != nil {
		return err
	}
	var id [1]byte
	if err := d.rreg(regID, id[:]); err != nil {
		return err
	}
	if err := checkID(id[0]); err != nil {
		return err
	}
	writes := []struct {
		addr byte
		v    []byte
	}{
		{regConfig1, d.cfg.block1[:]},
		{regLOFFSensP, d.cfg.loff[:]},
		{regConfig4, []byte{d.cfg.cfg4}},
	}
	for _, w := range writes {
		if err := d.wreg(w.addr, w.v); err != nil {
			return err
		}
	}
	for _, w := range writes {
		got := make([]byte, len(w.v))
		if err := d.rreg(w.addr, got); err != nil {
			return err
		}
		for i, want := range w.v {
			addr := w.addr + byte(i)
			v := got[i]
			if addr == regConfig1+2 {
				v &^= biasStat
			}
			if v != want {
				return fmt.Errorf("ads1299: %s reads 0x%02X after writing 0x%02X: the chip did not take its configuration", regNames[addr], got[i], want)
			}
		}
	}
	// In() also drops edges queued before: none is taken for a conversion
	// of this start.
	if err := d.drdy.In(gpio.Float, gpio.FallingEdge); err != nil {
		return fmt.Errorf("ads1299: DRDY %s: %w", d.drdy, err)
	}
	if err := d.command(opStart, "START"); err != nil {
		return err
	}
	return d.command(opRDATAC, "RDATAC")
}

// checkID accepts the 8-channel part whatever its revision.
func checkID(id byte) error {
	const want = "want 0x3E (ID & 0x1F == 0x1E)"
	switch {
	case id&idMask == id8ch:
		return nil
	case id&idMask == id4ch:
		return fmt.Errorf("ads1299: ID 0x%02X, %s: an ADS1299-4, a 4-channel part", id, want)
	case id&idMask == id6ch:
		return fmt.Errorf("ads1299: ID 0x%02X, %s: an ADS1299-6, a 6-channel part", id, want)
	case id == 0x00:
		return fmt.Errorf("ads1299: ID 0x00, %s: no chip answers (MISO held low)", want)
	case id == 0xFF:
		return fmt.Errorf("ads1299: ID 0xFF, %s: no chip answers (MISO held high)", want)
	}
	return fmt.Errorf("ads1299: ID 0x%02X, %s: not an ADS1299", id, want)
}

func (d *Dev) command(op byte, name string) error {
	d.cmd[0] = op
	if err := d.c.Tx(d.cmd[:], nil); err != nil {
		return fmt.Errorf("ads1299: %s: %w", name, err)
	}
	return nil
}

// rreg reads len(dst) registers from addr with one RREG.
func (d *Dev) rreg(addr byte, dst []byte) error {
	w := make([]byte, 2+len(dst))
	r := make([]byte, len(w))
	w[0], w[1] = opRREG|addr, byte(len(dst)-1)
	if err := d.c.Tx(w, r); err != nil {
		return fmt.Errorf("ads1299: RREG %s: %w", regName(addr), err)
	}
	copy(dst, r[2:])
	return nil
}

// wreg writes v to the registers from addr with one WREG.
func (d *Dev) wreg(addr byte, v []byte) error {
	w := append([]byte{opWREG | addr, byte(len(v) - 1)}, v...)
	if err := d.c.Tx(w, nil); err != nil {
		return fmt.Errorf("ads1299: WREG %s: %w", regName(addr), err)
	}
	return nil
}

func regName(addr byte) string {
	if addr == regID {
		return "ID"
	}
	return regNames[addr]
}

// Rate returns the conversion rate in samples per second.
func (d *Dev) Rate() int { return d.rate }

// Channels returns how many channels are enabled (channels 1 to Channels).
func (d *Dev) Channels() int { return d.n }

// Gain returns the amplifier's gain.
func (d *Dev) Gain() int { return d.gain }

// Microvolts converts a channel's code to µV at the input:
// raw × (2·VREF/gain)/2²⁴ (0.02235 µV per count at gain 24).
func (d *Dev) Microvolts(raw int32) float64 { return float64(raw) * d.lsb }

// Halt stops the stream and the conversions and puts the chip in standby
// (SDATAC, STOP, STANDBY): it draws little power and DRDY stops. Halting a
// halted Dev does nothing; a Halt that failed on the bus may be retried.
func (d *Dev) Halt() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.halted {
		return nil
	}
	for _, c := range []struct {
		op   byte
		name string
	}{{opSDATAC, "SDATAC"}, {opStop, "STOP"}, {opStandby, "STANDBY"}} {
		d.cmd[0] = c.op
		if err := d.c.Tx(d.cmd[:], nil); err != nil {
			return fmt.Errorf("ads1299: halt: %s: %w", c.name, err)
		}
	}
	d.halted = true
	return nil
}

// String implements conn.Resource.
func (d *Dev) String() string { return "ADS1299{" + d.c.String() + ", DRDY " + d.drdy.String() + "}" }
