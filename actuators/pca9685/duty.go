package pca9685

import (
	"fmt"
	"math"
)

// counts returns duty, 0..1 of full scale, in counts of the 4096-count
// period: 0 is full off, 4096 full on. NaN and values outside 0..1 are
// refused.
func counts(duty float64) (int, error) {
	if !(duty >= 0 && duty <= 1) {
		return 0, fmt.Errorf("pca9685: duty %v outside 0..1", duty)
	}
	return int(math.Round(duty * 4096)), nil
}

// encode writes a channel's LEDn_ON_L, LEDn_ON_H, LEDn_OFF_L and LEDn_OFF_H
// for n counts into b (package doc, "Frequency and duty").
func encode(b []byte, n int) {
	_ = b[3]
	switch n {
	case 0:
		b[0], b[1], b[2], b[3] = 0, 0, 0, fullBit
	case 4096:
		b[0], b[1], b[2], b[3] = 0, fullBit, 0, 0
	default:
		b[0], b[1], b[2], b[3] = 0, 0, byte(n), byte(n>>8)
	}
}

// Set sets one channel, 0..15, to duty, 0..1 of full scale, rounded to the
// nearest 1/4096, halves up (what rounds to 0 sets the channel's full-off
// bit, to 1 its full-on bit).
// An invalid channel or duty is refused and nothing is written. It returns
// ErrHalted after Halt until Resume, and bus errors naming the chip and the
// channel.
func (d *Dev) Set(channel int, duty float64) error {
	if channel < 0 || channel >= Channels {
		return fmt.Errorf("pca9685: channel %d outside 0..%d", channel, Channels-1)
	}
	n, err := counts(duty)
	if err != nil {
		return fmt.Errorf("pca9685: channel %d: %w", channel, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.enable(); err != nil {
		return err
	}
	w := d.buf[:5]
	w[0] = regLED0 + byte(4*channel)
	encode(w[1:], n)
	d.dark.Store(false)
	if err := d.c.Tx(w, nil); err != nil {
		return fmt.Errorf("%s: channel %d: %w", d.name, channel, err)
	}
	return nil
}

// SetAll sets every channel, duties[n] for channel n, in one auto-
// incremented write of LED0_ON_L to LED15_OFF_H; the outputs change
// together at its STOP. duties must hold Channels values, each 0..1 as for
// Set; otherwise nothing is written. It allocates nothing (a buffer of the
// Dev is reused) and returns ErrHalted after Halt until Resume.
func (d *Dev) SetAll(duties []float64) error {
	if len(duties) != Channels {
		return fmt.Errorf("pca9685: SetAll of %d duties; want %d", len(duties), Channels)
	}
	for i, v := range duties {
		if _, err := counts(v); err != nil {
			return fmt.Errorf("pca9685: channel %d: %w", i, err)
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.enable(); err != nil {
		return err
	}
	d.buf[0] = regLED0
	for i, v := range duties {
		n, _ := counts(v)
		encode(d.buf[1+4*i:5+4*i], n)
	}
	d.dark.Store(false)
	if err := d.c.Tx(d.buf[:], nil); err != nil {
		return fmt.Errorf("%s: SetAll: %w", d.name, err)
	}
	return nil
}
