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

	mu   sync.Mutex // serialises frames; held across the bus transfer
	c    spi.Conn
	buf  []byte // one frame, reused by every Write
	dark []byte // the safe-state frame, built once

	halted atomic.Bool // set under mu by Halt, checked under mu by Write
}

// New connects to the strip on port in SPI mode 0, 8 bits per word, and
// turns every LED dark: strips power up showing random colours, and a strip
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
	// A frame is one transfer (see Write), so it must fit spidev's buffer.
	if l, ok := c.(conn.Limits); ok {
		if m := l.MaxTxSize(); m > 0 && size > m {
			return nil, fmt.Errorf("apa102: %s: a frame of %d LEDs is %d bytes, more than the port's %d-byte transfer limit (raise spidev.bufsiz)", port, n, size, m)
		}
	}
	d := &Dev{
		name: fmt.Sprintf("apa102(%s, %d LEDs)", port, n),
		n:    n,
		c:    c,
		buf:  make([]byte, size),
		dark: make([]byte, size),
	}
	for i := range n {
		d.dark[4+4*i] = 0xE0 // header, brightness 0, colour 0
	}
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

// Write shows pixels, which must hold one colour per LED.
//
// The frame, latching start frame included, goes out as one transfer: the
// strip has no chip select, so splitting it changes nothing on the wire
// except the gap, and one transfer means a failed or preempted second
// transfer can never leave SK9822 clones showing the previous frame.
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
	if err := d.c.Tx(d.buf, nil); err != nil {
		return fmt.Errorf("apa102: %s: Tx: %w", d.name, err)
	}
	return nil
}

// Halt turns every LED dark on APA102 and SK9822 alike and keeps the strip
// dark: later Writes fail with ErrHalted until Resume, so a frame computed
// before an abort cannot relight the strip after it. Halt waits for a Write
// in progress, then sends the dark frame; it is safe to call again.
func (d *Dev) Halt() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.halted.Store(true)
	if err := d.c.Tx(d.dark, nil); err != nil {
		return fmt.Errorf("apa102: %s: Halt: %w", d.name, err)
	}
	return nil
}

// Resume allows Write again after Halt. It takes no lock, so it returns at
// once even while a Halt waits on a hung bus.
func (d *Dev) Resume() { d.halted.Store(false) }

// String implements conn.Resource.
func (d *Dev) String() string { return d.name }

var _ conn.Resource = (*Dev)(nil)
