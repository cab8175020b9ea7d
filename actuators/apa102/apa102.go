package apa102

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"periph.io/x/conn/v3"
	"periph.io/x/conn/v3/physic"
	"periph.io/x/conn/v3/spi"
)

// MaxPixels is the longest strip the driver accepts.
const MaxPixels = 1024

// ErrHalted is returned by Write after Halt, until Resume.
var ErrHalted = errors.New("apa102: halted")

// Opts configures a strip.
type Opts struct {
	NumPixels int              // LEDs on the strip, 1..MaxPixels
	Speed     physic.Frequency // SPI clock; long strips and long wires need less
	// Safe is the colour every LED shows in the safe state (Halt); the
	// zero value is dark.
	Safe Color
}

// DefaultOpts is a 60-LED strip at 4 MHz, a clock that holds up over the
// pod's cable runs; a 60-LED frame then takes about 0.5 ms.
var DefaultOpts = Opts{NumPixels: 60, Speed: 4 * physic.MegaHertz}

// Color is one LED's colour. The driver always sends full global
// brightness, so the colour values alone set the light output.
type Color struct {
	R, G, B uint8
}

// Dev is a strip of APA102 or SK9822 LEDs. It is safe for concurrent use.
type Dev struct {
	name string
	n    int

	mu    sync.Mutex // serialises frames; held across the bus transfer
	c     spi.Conn
	maxTx int    // the port's transfer limit in bytes; 0: none
	buf   []byte // one frame, reused by every Write
	safe  []byte // the safe-state frame (under mu)

	halted atomic.Bool // set under mu by Halt, checked under mu by Write
}

// New connects to the strip on port in SPI mode 0, 8 bits per word, and
// shows the safe colour on every LED: strips power up showing random colours, and a strip
// left lit by a previous run must not stay lit. A nil opts means DefaultOpts.
func New(port spi.Port, opts *Opts) (*Dev, error) {
	if opts == nil {
		opts = &DefaultOpts
	}
	if opts.NumPixels < 1 || opts.NumPixels > MaxPixels {
		return nil, fmt.Errorf("apa102: NumPixels %d is outside 1..%d", opts.NumPixels, MaxPixels)
	}
	if opts.Speed <= 0 {
		return nil, fmt.Errorf("apa102: Speed %s must be positive", opts.Speed)
	}
	n := opts.NumPixels
	size := frameSize(n)
	c, err := port.Connect(opts.Speed, spi.Mode0, 8)
	if err != nil {
		return nil, fmt.Errorf("apa102: %s: Connect: %w", port, err)
	}
	d := &Dev{
		name: fmt.Sprintf("apa102(%s, %d LEDs)", port, n),
		n:    n,
		c:    c,
		buf:  make([]byte, size),
		safe: make([]byte, size),
	}
	if l, ok := c.(conn.Limits); ok {
		d.maxTx = l.MaxTxSize()
	}
	d.fill(d.safe, opts.Safe)
	if err := d.Halt(); err != nil {
		return nil, err
	}
	d.halted.Store(false)
	return d, nil
}

// frameSize is the length of one frame of n LEDs: a start frame of 32 zero
// bits; 4 bytes per LED; an end frame of n/2 clocks rounded up to bytes,
// which pushes the data through the strip (each LED delays it by half a
// clock); then a start frame that makes SK9822 clones latch what they got.
//
// The end frame is zeros, not the datasheet's ones: extra clocks of zeros
// leave an LED beyond NumPixels dark, where ones would light it white at full
// brightness.
func frameSize(n int) int {
	return 4 + 4*n + (n+15)/16 + 4
}

// fill writes the LED frames of a strip showing c everywhere into frame.
// Dark is sent at global brightness 0 as well as colour 0.
func (d *Dev) fill(frame []byte, c Color) {
	hdr := byte(0xFF) // 0b111 + brightness 31
	if c == (Color{}) {
		hdr = 0xE0 // 0b111 + brightness 0
	}
	for i := range d.n {
		f := frame[4+4*i : 8+4*i : 8+4*i]
		f[0], f[1], f[2], f[3] = hdr, c.B, c.G, c.R
	}
}

// tx sends one frame. A frame that fits the port's transfer limit (spidev's
// bufsiz, 4096 bytes by default: up to 1006 LEDs) goes out as one transfer;
// a longer one in chunks of the limit. The strip has no chip select, so the
// chunks make the same bit stream with pauses in the clock, which the LEDs
// ignore. A chunk that fails leaves the strip with a partial frame that the
// next frame (or the safe state, retried by the watchdog until it succeeds)
// replaces.
func (d *Dev) tx(frame []byte) error {
	if d.maxTx <= 0 || len(frame) <= d.maxTx {
		return d.c.Tx(frame, nil)
	}
	for len(frame) > 0 {
		k := min(len(frame), d.maxTx)
		if err := d.c.Tx(frame[:k], nil); err != nil {
			return err
		}
		frame = frame[k:]
	}
	return nil
}

// Write shows pixels, which must hold one colour per LED, at full global
// brightness (see the package doc).
func (d *Dev) Write(pixels []Color) error {
	if len(pixels) != d.n {
		return fmt.Errorf("apa102: Write of %d colours to a strip of %d LEDs", len(pixels), d.n)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.halted.Load() {
		return ErrHalted
	}
	for i, p := range pixels {
		f := d.buf[4+4*i : 8+4*i : 8+4*i]
		f[0], f[1], f[2], f[3] = 0xFF, p.B, p.G, p.R // 0b111 + brightness 31
	}
	if err := d.tx(d.buf); err != nil {
		return fmt.Errorf("apa102: %s: Tx: %w", d.name, err)
	}
	return nil
}

// Halt shows the safe colour (Opts.Safe, dark by default) on every LED, on
// APA102 and SK9822 alike, and keeps the strip so: later Writes fail with
// ErrHalted until Resume, so a frame computed before an abort cannot change
// the strip after it. Halt waits for a Write in progress, then sends the
// safe frame; it is safe to call again.
func (d *Dev) Halt() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.halted.Store(true)
	if err := d.tx(d.safe); err != nil {
		return fmt.Errorf("apa102: %s: Halt: %w", d.name, err)
	}
	return nil
}

// SetSafe changes the safe colour, and shows it at once if the strip is
// halted: the safe state's slow wake ramp runs through it. It never lifts
// the halt. A bus error is returned; the new colour is kept for the next
// Halt either way.
func (d *Dev) SetSafe(c Color) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.fill(d.safe, c)
	if !d.halted.Load() {
		return nil
	}
	if err := d.tx(d.safe); err != nil {
		return fmt.Errorf("apa102: %s: SetSafe: %w", d.name, err)
	}
	return nil
}

// Resume allows Write again after Halt. It takes no lock, so it returns at
// once even while a Halt waits on a hung bus.
func (d *Dev) Resume() { d.halted.Store(false) }

// String implements conn.Resource.
func (d *Dev) String() string { return d.name }

var _ conn.Resource = (*Dev)(nil)
