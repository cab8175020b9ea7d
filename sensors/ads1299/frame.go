package ads1299

import (
	"fmt"
	"time"

	"periph.io/x/conn/v3/gpio"
)

// Frame is one conversion of every channel, as the chip sends it in RDATAC.
type Frame struct {
	// LeadOffP and LeadOffN are LOFF_STATP and LOFF_STATN: bit n-1 is set
	// when channel n's positive (INnP) or negative (INnN) electrode is off.
	// They are 0 unless lead-off detection is on; use Dev.LeadOff for the
	// enabled channels only.
	LeadOffP, LeadOffN uint8
	// GPIO is the levels of the chip's GPIO4..GPIO1 pins (bits 3..0).
	GPIO uint8
	// Raw is each channel's code, channel n at index n-1: 24-bit two's
	// complement, −8 388 608 to 8 388 607. Powered-down channels read
	// about 0. Dev.Microvolts converts a code; Saturated tells a code at
	// either end of the range.
	Raw [MaxChannels]int32
	// Skipped is how many conversions were overwritten, unread, between
	// the previous frame Read returned and this one; an estimate (see the
	// package doc). DecodeFrame leaves it as it was.
	Skipped int
}

const (
	statusNibble = 0xC
	codeMax      = 1<<23 - 1
	codeMin      = -1 << 23
)

// DecodeFrame decodes one RDATAC frame b of FrameSize bytes into f: the
// status word (1100, LOFF_STATP, LOFF_STATN, GPIO[7:4]) and 8 channels of
// 24-bit two's complement, MSB first. A b of another length is an error,
// and a status word not starting with 0xC is ErrBadStatus; f is untouched
// on an error.
func DecodeFrame(b []byte, f *Frame) error {
	if len(b) != FrameSize {
		return fmt.Errorf("ads1299: frame of %d bytes, want %d", len(b), FrameSize)
	}
	if b[0]>>4 != statusNibble {
		return fmt.Errorf("%w 0x%02X%02X%02X (want 0xC in its top 4 bits)", ErrBadStatus, b[0], b[1], b[2])
	}
	f.LeadOffP = b[0]<<4 | b[1]>>4
	f.LeadOffN = b[1]<<4 | b[2]>>4
	f.GPIO = b[2] & 0x0F
	for i := range MaxChannels {
		s := b[3+3*i:]
		// Place the 24 bits at the top of an int32, then shift back with
		// sign extension.
		f.Raw[i] = int32(uint32(s[0])<<24|uint32(s[1])<<16|uint32(s[2])<<8) >> 8
	}
	return nil
}

// Saturated reports whether a code is at either end of the range
// (0x7FFFFF or 0x800000): the input was at or beyond the full scale, as an
// electrode that came off or a large artefact drives it.
func Saturated(raw int32) bool { return raw == codeMax || raw == codeMin }

// LeadOff returns the enabled channels with an electrode off (positive or
// negative), bit n-1 for channel n; 0 when lead-off detection is off.
func (d *Dev) LeadOff(f *Frame) uint8 {
	if !d.leadOff {
		return 0
	}
	return (f.LeadOffP | f.LeadOffN) & d.mask
}

// Read waits up to timeout (> 0) for the next conversion (DRDY falling)
// and reads it into f. A conversion that was not read before the next one
// is lost, as on the chip: Read returns the newest, and f.Skipped estimates
// how many were lost. On an error f is untouched: ErrNoDRDY (wrapped) when
// DRDY did not fall in time, ErrBadStatus (wrapped) for a frame whose
// status word is wrong, ErrHalted after Halt, or the bus's error.
func (d *Dev) Read(f *Frame, timeout time.Duration) error {
	if timeout <= 0 {
		return fmt.Errorf("ads1299: Read timeout %s, want > 0", timeout)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.halted {
		return ErrHalted
	}
	// One clock read before the wait and one after each edge, 500 a
	// second (time.Now is a system call where the kernel's clock source
	// has no vDSO): the first wait is the whole timeout, a later one what
	// is left of it.
	start := time.Now()
	left := timeout
	var now time.Time
	for {
		if left <= 0 || !d.drdy.WaitForEdge(left) {
			return fmt.Errorf("%w within %s on %s", ErrNoDRDY, timeout, d.drdy)
		}
		now = time.Now()
		// DRDY still low: a conversion not read yet. High: the edge was of
		// a conversion a previous Read already took.
		if d.drdy.Read() == gpio.Low {
			break
		}
		left = timeout - now.Sub(start)
	}
	clear(d.rx[:])
	if err := d.c.Tx(d.tx[:], d.rx[:]); err != nil {
		return fmt.Errorf("ads1299: read frame: %w", err)
	}
	if err := DecodeFrame(d.rx[:], f); err != nil {
		return err
	}
	f.Skipped = 0
	if d.last.IsZero() {
		d.last = now
		return nil
	}
	// d.last is the conversion grid: the time of the conversion read
	// last, plus the least latency seen (see the package doc). Whole
	// periods since it, with a tenth of one for a read a little earlier
	// than every one before; one is the normal step.
	n := max(int((now.Sub(d.last)+d.period/10)/d.period), 1)
	f.Skipped = n - 1
	d.last = d.last.Add(time.Duration(n) * d.period)
	switch {
	case now.Before(d.last):
		d.last = now // a read earlier in its period than any before
	case now.Sub(d.last) > d.period/2:
		// A chip whose oscillator runs slow (±2.5 % over temperature)
		// converts later than the nominal grid: the grid follows, no
		// more than half a period behind the read.
		d.last = now.Add(-d.period / 2)
	}
	return nil
}
